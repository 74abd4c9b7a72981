//! Test-client requests that try to reach outside the window: subsurfaces
//! placed anywhere, viewport destinations larger than the window, a client
//! cursor image, keyboard-shortcuts inhibitors and idle inhibitors.

use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{delegate_noop, Connection, Dispatch, QueueHandle};
use wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::client::zwp_keyboard_shortcuts_inhibit_manager_v1::ZwpKeyboardShortcutsInhibitManagerV1;
use wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::client::zwp_keyboard_shortcuts_inhibitor_v1::{
    self, ZwpKeyboardShortcutsInhibitorV1,
};

use super::state::State;
use super::{shm, TestClient, WindowId};

/// Handle returned by [`TestClient::inhibit_shortcuts`].
pub type InhibitorId = usize;

impl TestClient {
    /// A new surface with a solid `size` buffer attached and damaged, not
    /// committed: the caller gives it a role first or commits it itself.
    pub(super) fn solid_surface(&mut self, size: (i32, i32), rgba: [u8; 4]) -> Option<WlSurface> {
        let compositor = self.state.compositor.clone()?;
        let shm = self.state.shm.clone()?;
        let surface = compositor.create_surface(&self.qh, ());
        let buffer = shm::solid_buffer(&shm, &self.qh, size, rgba);
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, size.0, size.1);
        Some(surface)
    }

    /// A subsurface of the window at `pos` (relative to the window, may be
    /// negative) filled with `rgba`; the parent is committed so it applies.
    pub fn add_subsurface(
        &mut self,
        w: WindowId,
        pos: (i32, i32),
        size: (i32, i32),
        rgba: [u8; 4],
    ) {
        let Some(subcompositor) = self.state.subcompositor.clone() else {
            tracing::warn!("test client: no wl_subcompositor");
            return;
        };
        let Some(surface) = self.solid_surface(size, rgba) else {
            return;
        };
        let parent = self.state.windows[w].shell.surface.clone();
        let sub = subcompositor.get_subsurface(&surface, &parent, &self.qh, ());
        sub.set_position(pos.0, pos.1);
        sub.place_above(&parent);
        surface.commit();
        parent.commit();
        self.state.subsurfaces.push(sub);
        self.state.extra_surfaces.push(surface);
    }

    /// Scale the window's current buffer to `size` with wp_viewport.
    pub fn set_viewport_destination(&mut self, w: WindowId, size: (i32, i32)) {
        let Some(viewporter) = self.state.viewporter.clone() else {
            tracing::warn!("test client: no wp_viewporter");
            return;
        };
        let surface = self.state.windows[w].shell.surface.clone();
        let viewport = viewporter.get_viewport(&surface, &self.qh, ());
        viewport.set_destination(size.0, size.1);
        surface.commit();
        self.state.viewports.push(viewport);
    }

    /// Whether the pointer is over one of our surfaces (wl_pointer.enter).
    /// A surface we destroyed no longer counts: the server cannot send a
    /// leave for it.
    pub fn has_pointer_focus(&self) -> bool {
        use wayland_client::Proxy;
        (self.state.pointer_enter.as_ref()).is_some_and(|(_, surface)| surface.is_alive())
    }

    /// Set a cursor image of `size` in `rgba`, using the last enter serial.
    pub fn set_cursor(&mut self, size: (i32, i32), rgba: [u8; 4]) -> bool {
        let (Some(pointer), Some((serial, _))) =
            (self.state.pointer.clone(), self.state.pointer_enter.clone())
        else {
            return false;
        };
        let Some(surface) = self.solid_surface(size, rgba) else {
            return false;
        };
        surface.commit();
        pointer.set_cursor(serial, Some(&surface), 0, 0);
        self.state.extra_surfaces.push(surface);
        true
    }
}

impl TestClient {
    /// Asks the compositor to pass its shortcuts to window `w` while it has
    /// keyboard focus. None when the global is not offered.
    pub fn inhibit_shortcuts(&mut self, w: WindowId) -> Option<InhibitorId> {
        let manager = self.state.shortcuts_inhibit_manager.clone()?;
        let seat = self.state.seat.clone()?;
        let id = self.state.inhibitors.len();
        let surface = &self.state.windows[w].shell.surface;
        let inhibitor = manager.inhibit_shortcuts(surface, &seat, &self.qh, id);
        self.state.inhibitors.push((inhibitor, false));
        Some(id)
    }

    /// Whether the compositor said `active` (and not `inactive` since).
    pub fn inhibitor_active(&self, id: InhibitorId) -> bool {
        self.state
            .inhibitors
            .get(id)
            .is_some_and(|(_, active)| *active)
    }

    pub fn destroy_inhibitor(&mut self, id: InhibitorId) {
        if let Some((inhibitor, active)) = self.state.inhibitors.get_mut(id) {
            inhibitor.destroy();
            *active = false;
        }
    }
}

impl Dispatch<ZwpKeyboardShortcutsInhibitorV1, InhibitorId> for State {
    fn event(
        state: &mut Self,
        _: &ZwpKeyboardShortcutsInhibitorV1,
        event: zwp_keyboard_shortcuts_inhibitor_v1::Event,
        id: &InhibitorId,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Some((_, active)) = state.inhibitors.get_mut(*id) else {
            return;
        };
        match event {
            zwp_keyboard_shortcuts_inhibitor_v1::Event::Active => *active = true,
            zwp_keyboard_shortcuts_inhibitor_v1::Event::Inactive => *active = false,
            _ => {}
        }
    }
}

delegate_noop!(State: ZwpKeyboardShortcutsInhibitManagerV1);

use wayland_protocols::wp::idle_inhibit::zv1::client::zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1;
use wayland_protocols::wp::idle_inhibit::zv1::client::zwp_idle_inhibitor_v1::ZwpIdleInhibitorV1;

impl TestClient {
    /// Holds the screen on (zwp_idle_inhibitor_v1) while window `w` is
    /// visible. False when the global is not offered.
    pub fn inhibit_idle(&mut self, w: WindowId) -> bool {
        let Some(manager) = self.state.idle_inhibit_manager.clone() else {
            return false;
        };
        let surface = &self.state.windows[w].shell.surface;
        let inhibitor = manager.create_inhibitor(surface, &self.qh, ());
        self.state.idle_inhibitors.push(inhibitor);
        true
    }

    /// Destroys every idle inhibitor this client holds.
    pub fn release_idle_inhibitors(&mut self) {
        for inhibitor in self.state.idle_inhibitors.drain(..) {
            inhibitor.destroy();
        }
    }
}

delegate_noop!(State: ZwpIdleInhibitManagerV1);
delegate_noop!(State: ignore ZwpIdleInhibitorV1);
