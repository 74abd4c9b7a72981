//! Event handling: `Dispatch` impls that record what the server sends into [`State`], and
//! binding the globals the registry announces.

use wayland_client::protocol::wl_buffer::{self, WlBuffer};
use wayland_client::protocol::wl_callback::{self, WlCallback};
use wayland_client::protocol::wl_compositor::WlCompositor;
use wayland_client::protocol::wl_keyboard::{self, WlKeyboard};
use wayland_client::protocol::wl_pointer::{self, WlPointer};
use wayland_client::protocol::wl_registry::{self, WlRegistry};
use wayland_client::protocol::wl_seat::{self, WlSeat};
use wayland_client::protocol::wl_shm::WlShm;
use wayland_client::protocol::wl_shm_pool::WlShmPool;
use wayland_client::protocol::wl_subcompositor::WlSubcompositor;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{delegate_noop, Connection, Dispatch, Proxy, QueueHandle, WEnum};
use wayland_protocols::wp::viewporter::client::wp_viewporter::WpViewporter;
use wayland_protocols::xdg::decoration::zv1::client::zxdg_decoration_manager_v1::ZxdgDecorationManagerV1;
use wayland_protocols::xdg::decoration::zv1::client::zxdg_toplevel_decoration_v1::{
    self, ZxdgToplevelDecorationV1,
};
use wayland_protocols::xdg::shell::client::xdg_popup::{self, XdgPopup};
use wayland_protocols::xdg::shell::client::xdg_positioner::XdgPositioner;
use wayland_protocols::xdg::shell::client::xdg_surface::{self, XdgSurface};
use wayland_protocols::xdg::shell::client::xdg_toplevel::{self, XdgToplevel};
use wayland_protocols::xdg::shell::client::xdg_wm_base::{self, XdgWmBase};

use super::state::{CallbackKind, State, SurfaceKey};
use super::{Configure, KeyboardEvent, PopupConfigure, PopupId, WindowId};

/// Highest versions we bind. wl_compositor 4 is the minimum for `damage_buffer`; newer versions
/// only add events we ignore. wl_seat stays at 7 so wl_keyboard never sends `repeated` key states.
const COMPOSITOR_MAX: u32 = 6;
const SEAT_MAX: u32 = 7;
/// wl_data_device_manager 3 adds drag-and-drop actions; the clipboard needs nothing newer.
const DATA_DEVICE_MANAGER_MAX: u32 = 3;

impl State {
    fn bind_globals(&mut self, qh: &QueueHandle<Self>) {
        let Some(registry) = &self.registry else {
            return;
        };
        // Only the first global of each interface is bound, capped at the versions we handle.
        for &(name, ref interface, version) in &self.globals {
            match interface.as_str() {
                "wl_compositor" if self.compositor.is_none() => {
                    let version = version.min(COMPOSITOR_MAX);
                    self.compositor = Some(registry.bind(name, version, qh, ()));
                }
                "wl_shm" if self.shm.is_none() => {
                    self.shm = Some(registry.bind(name, 1, qh, ()));
                }
                "xdg_wm_base" if self.wm_base.is_none() => {
                    let version = version.min(XdgWmBase::interface().version);
                    self.wm_base = Some(registry.bind(name, version, qh, ()));
                }
                "wl_seat" if self.seat.is_none() => {
                    self.seat = Some(registry.bind(name, version.min(SEAT_MAX), qh, ()));
                }
                "wl_subcompositor" if self.subcompositor.is_none() => {
                    self.subcompositor = Some(registry.bind(name, 1, qh, ()));
                }
                "zxdg_decoration_manager_v1" if self.decoration_manager.is_none() => {
                    self.decoration_manager = Some(registry.bind(name, 1, qh, ()));
                }
                "wp_viewporter" if self.viewporter.is_none() => {
                    self.viewporter = Some(registry.bind(name, 1, qh, ()));
                }
                "zwp_keyboard_shortcuts_inhibit_manager_v1"
                    if self.shortcuts_inhibit_manager.is_none() =>
                {
                    self.shortcuts_inhibit_manager = Some(registry.bind(name, 1, qh, ()));
                }
                "zwp_idle_inhibit_manager_v1" if self.idle_inhibit_manager.is_none() => {
                    self.idle_inhibit_manager = Some(registry.bind(name, 1, qh, ()));
                }
                "wl_data_device_manager" if self.data_device_manager.is_none() => {
                    let version = version.min(DATA_DEVICE_MANAGER_MAX);
                    self.data_device_manager = Some(registry.bind(name, version, qh, ()));
                }
                _ => {}
            }
        }
        self.create_data_device(qh);
    }
}

/// Implements `Dispatch<$iface, $udata>` for `State` from a closure-like body; the trait's
/// full signature would otherwise dwarf the few lines each interface needs.
macro_rules! on_event {
    ($iface:ty, $udata:ty, |$state:pat_param, $proxy:pat_param, $event:pat_param, $data:pat_param, $conn:pat_param, $qh:pat_param| $body:block) => {
        impl Dispatch<$iface, $udata> for State {
            fn event(
                $state: &mut Self,
                $proxy: &$iface,
                $event: <$iface as Proxy>::Event,
                $data: &$udata,
                $conn: &Connection,
                $qh: &QueueHandle<Self>,
            ) $body
        }
    };
}

on_event!(WlRegistry, (), |state, _, event, _, _, _| {
    match event {
        wl_registry::Event::Global {
            name,
            interface,
            version,
        } => state.globals.push((name, interface, version)),
        wl_registry::Event::GlobalRemove { name } => state.globals.retain(|g| g.0 != name),
        _ => {}
    }
});

on_event!(
    WlCallback,
    CallbackKind,
    |state, _, event, kind, conn, qh| {
        let wl_callback::Event::Done { .. } = event else {
            return;
        };
        match *kind {
            CallbackKind::Registry => {
                state.bind_globals(qh);
                conn.display().sync(qh, CallbackKind::Bound);
            }
            CallbackKind::Bound => state.ready = true,
            CallbackKind::User(id) => state.syncs_done[id] = true,
            CallbackKind::Frame(key) => state.shell_mut(key).frames_done += 1,
        }
    }
);

// Every draw uses a fresh buffer, so a released one is never needed again.
on_event!(WlBuffer, (), |_, buffer, event, _, _, _| {
    if let wl_buffer::Event::Release = event {
        buffer.destroy();
    }
});

// Unanswered pings make compositors treat us as hung (and may kill us).
on_event!(XdgWmBase, (), |_, wm_base, event, _, _, _| {
    if let xdg_wm_base::Event::Ping { serial } = event {
        wm_base.pong(serial);
    }
});

// xdg_surface.configure completes the role-specific configure that preceded it.
on_event!(XdgSurface, SurfaceKey, |state, _, event, key, _, _| {
    let xdg_surface::Event::Configure { serial } = event else {
        return;
    };
    match *key {
        // The protocol-violation toplevel uses an id outside the window list.
        SurfaceKey::Window(w) => {
            if let Some(window) = state.windows.get_mut(w) {
                let pending = std::mem::take(&mut window.pending);
                window.configures.push(Configure { serial, ..pending });
            }
        }
        SurfaceKey::Popup(p) => {
            let popup = &mut state.popups[p];
            let pending = popup.pending.clone();
            popup.configures.push(PopupConfigure { serial, ..pending });
        }
    }
});

on_event!(XdgToplevel, WindowId, |state, _, event, w, _, _| {
    let Some(window) = state.windows.get_mut(*w) else {
        return;
    };
    match event {
        xdg_toplevel::Event::Configure {
            width,
            height,
            states,
        } => {
            // `states` is an array of native-endian u32 enum values; unknown ones are skipped.
            let states = states
                .chunks_exact(4)
                .filter_map(|c| c.try_into().ok().map(u32::from_ne_bytes))
                .filter_map(|v| xdg_toplevel::State::try_from(v).ok())
                .collect();
            window.pending = Configure {
                size: (width, height),
                states,
                serial: 0,
            };
        }
        xdg_toplevel::Event::Close => window.closed = true,
        _ => {}
    }
});

on_event!(XdgPopup, PopupId, |state, _, event, p, _, _| {
    let popup = &mut state.popups[*p];
    match event {
        xdg_popup::Event::Configure {
            x,
            y,
            width,
            height,
        } => {
            popup.pending = PopupConfigure {
                x,
                y,
                width,
                height,
                serial: 0,
            }
        }
        xdg_popup::Event::PopupDone => popup.done = true,
        _ => {}
    }
});

on_event!(
    ZxdgToplevelDecorationV1,
    WindowId,
    |state, _, event, w, _, _| {
        if let zxdg_toplevel_decoration_v1::Event::Configure { mode } = event {
            state.windows[*w].decoration_mode = mode.into_result().ok();
        }
    }
);

on_event!(WlSeat, (), |state, seat, event, _, _, qh| {
    let wl_seat::Event::Capabilities { capabilities } = event else {
        return;
    };
    let pointer_bit = u32::from(wl_seat::Capability::Pointer);
    if u32::from(capabilities) & pointer_bit != 0 && state.pointer.is_none() {
        state.pointer = Some(seat.get_pointer(qh, ()));
    }
    let keyboard_bit = u32::from(wl_seat::Capability::Keyboard);
    let has_keyboard = u32::from(capabilities) & keyboard_bit != 0;
    if has_keyboard && state.keyboard.is_none() {
        state.keyboard = Some(seat.get_keyboard(qh, ()));
    } else if !has_keyboard {
        if let Some(keyboard) = state.keyboard.take() {
            if keyboard.version() >= 3 {
                keyboard.release();
            }
            state.keyboard_focus = None;
        }
    }
});

on_event!(WlKeyboard, (), |state, _, event, _, _, _| {
    let recorded = match event {
        // Dropping the event's OwnedFd closes the keymap; tests never need its contents.
        wl_keyboard::Event::Keymap { .. } => return,
        wl_keyboard::Event::Enter {
            serial, surface, ..
        } => {
            state.keyboard_focus = Some(surface);
            state.keyboard_enter_serial = Some(serial);
            KeyboardEvent::Enter
        }
        wl_keyboard::Event::Leave { .. } => {
            state.keyboard_focus = None;
            KeyboardEvent::Leave
        }
        wl_keyboard::Event::Key {
            key,
            state: key_state,
            serial,
            ..
        } => {
            let pressed = matches!(key_state, WEnum::Value(wl_keyboard::KeyState::Pressed));
            if pressed {
                state.input_serials.key = Some(serial);
                state.input_serials.latest = Some(serial);
            }
            KeyboardEvent::Key { key, pressed }
        }
        wl_keyboard::Event::Modifiers { mods_depressed, .. } => KeyboardEvent::Modifiers {
            depressed: mods_depressed,
        },
        _ => return,
    };
    state.keyboard_events.push(recorded);
});

// Interfaces without events, or whose events (shm formats, surface enter/leave, preferred
// scale) no test needs.
delegate_noop!(State: WlCompositor);
delegate_noop!(State: wayland_client::protocol::wl_region::WlRegion);
delegate_noop!(State: wayland_client::protocol::wl_subsurface::WlSubsurface);
delegate_noop!(State: wayland_protocols::wp::viewporter::client::wp_viewport::WpViewport);

on_event!(WlPointer, (), |state, _, event, _, _, _| {
    match event {
        wl_pointer::Event::Enter {
            serial, surface, ..
        } => {
            state.pointer_enter = Some((serial, surface));
            state.pointer_history.enters += 1;
            state.pointer_history.last_enter_serial = Some(serial);
        }
        wl_pointer::Event::Leave { .. } => state.pointer_enter = None,
        wl_pointer::Event::Button {
            serial,
            state: button_state,
            ..
        } => {
            state.pointer_history.buttons += 1;
            if matches!(button_state, WEnum::Value(wl_pointer::ButtonState::Pressed)) {
                state.button_serial = Some(serial);
                state.input_serials.latest = Some(serial);
            }
        }
        _ => {}
    }
});
delegate_noop!(State: WlShmPool);
delegate_noop!(State: WlSubcompositor);
delegate_noop!(State: ZxdgDecorationManagerV1);
delegate_noop!(State: WpViewporter);
delegate_noop!(State: XdgPositioner);
delegate_noop!(State: ignore WlShm);
delegate_noop!(State: ignore WlSurface);
