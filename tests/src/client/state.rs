//! Client-side bookkeeping: the objects each test surface owns and everything the event
//! handlers in `super::events` record for [`super::TestClient`] to report.

use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_compositor::WlCompositor;
use wayland_client::protocol::wl_keyboard::WlKeyboard;
use wayland_client::protocol::wl_registry::WlRegistry;
use wayland_client::protocol::wl_seat::WlSeat;
use wayland_client::protocol::wl_shm::WlShm;
use wayland_client::protocol::wl_subcompositor::WlSubcompositor;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::client::zwp_keyboard_shortcuts_inhibit_manager_v1::ZwpKeyboardShortcutsInhibitManagerV1;
use wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::client::zwp_keyboard_shortcuts_inhibitor_v1::ZwpKeyboardShortcutsInhibitorV1;
use wayland_protocols::wp::viewporter::client::wp_viewporter::WpViewporter;
use wayland_protocols::xdg::decoration::zv1::client::zxdg_decoration_manager_v1::ZxdgDecorationManagerV1;
use wayland_protocols::xdg::decoration::zv1::client::zxdg_toplevel_decoration_v1::{
    self, ZxdgToplevelDecorationV1,
};
use wayland_protocols::xdg::shell::client::xdg_popup::XdgPopup;
use wayland_protocols::xdg::shell::client::xdg_surface::XdgSurface;
use wayland_protocols::xdg::shell::client::xdg_toplevel::XdgToplevel;
use wayland_protocols::xdg::shell::client::xdg_wm_base::XdgWmBase;

use super::{Configure, KeyboardEvent, PopupConfigure, PopupId, SyncId, WindowId};

/// Which surface a callback or xdg_surface belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum SurfaceKey {
    Window(WindowId),
    Popup(PopupId),
}

/// User data of every wl_callback we create.
#[derive(Debug, Clone, Copy)]
pub(super) enum CallbackKind {
    /// After get_registry: fires once every global has been announced.
    Registry,
    /// After binding: fires once the bound globals' initial events (seat capabilities) arrived.
    Bound,
    User(SyncId),
    Frame(SurfaceKey),
}

/// What toplevels and popups have in common.
pub(super) struct ShellSurface {
    pub(super) surface: WlSurface,
    pub(super) xdg_surface: XdgSurface,
    /// Smithay treats acking an already-acked serial as an invalid serial, so remember it.
    pub(super) last_acked: Option<u32>,
    pub(super) destroyed: bool,
    pub(super) frames_done: u32,
    /// The buffer of the last draw: destroyed once the next one is committed,
    /// so a client that draws every frame holds one buffer, not thousands.
    pub(super) shown: Option<WlBuffer>,
}

pub(super) struct Window {
    pub(super) shell: ShellSurface,
    pub(super) toplevel: XdgToplevel,
    pub(super) decoration: Option<ZxdgToplevelDecorationV1>,
    pub(super) decoration_mode: Option<zxdg_toplevel_decoration_v1::Mode>,
    /// Filled by xdg_toplevel.configure, completed by xdg_surface.configure's serial.
    pub(super) pending: Configure,
    pub(super) configures: Vec<Configure>,
    pub(super) closed: bool,
}

pub(super) struct Popup {
    pub(super) shell: ShellSurface,
    pub(super) parent: WindowId,
    pub(super) popup: XdgPopup,
    pub(super) requested_size: (i32, i32),
    pub(super) pending: PopupConfigure,
    pub(super) configures: Vec<PopupConfigure>,
    pub(super) done: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) registry: Option<WlRegistry>,
    /// (name, interface, version) as advertised.
    pub(super) globals: Vec<(u32, String, u32)>,
    pub(super) ready: bool,
    pub(super) syncs_done: Vec<bool>,

    pub(super) compositor: Option<WlCompositor>,
    pub(super) shm: Option<WlShm>,
    pub(super) wm_base: Option<XdgWmBase>,
    pub(super) seat: Option<WlSeat>,
    pub(super) subcompositor: Option<WlSubcompositor>,
    pub(super) decoration_manager: Option<ZxdgDecorationManagerV1>,
    pub(super) viewporter: Option<WpViewporter>,

    pub(super) keyboard: Option<WlKeyboard>,
    pub(super) keyboard_events: Vec<KeyboardEvent>,
    /// Surface between wl_keyboard.enter and leave (or until we destroy it ourselves: the
    /// server cannot send leave for a dead surface).
    pub(super) keyboard_focus: Option<WlSurface>,
    /// Serial of the last wl_keyboard.enter, for wl_data_device.set_selection.
    pub(super) keyboard_enter_serial: Option<u32>,

    pub(super) data_device_manager:
        Option<wayland_client::protocol::wl_data_device_manager::WlDataDeviceManager>,
    pub(super) clipboard: super::clipboard::Clipboard,

    pub(super) windows: Vec<Window>,
    pub(super) popups: Vec<Popup>,

    pub(super) pointer: Option<wayland_client::protocol::wl_pointer::WlPointer>,
    /// Serial and surface of the last wl_pointer.enter, for set_cursor.
    pub(super) pointer_enter: Option<(u32, WlSurface)>,
    /// Serial of the last button press, for wl_data_device.start_drag.
    pub(super) button_serial: Option<u32>,
    /// Serials of the user input we were sent, for xdg_popup.grab.
    pub(super) input_serials: InputSerials,
    pub(super) pointer_history: PointerHistory,
    /// Kept alive so their buffers stay attached.
    pub(super) extra_surfaces: Vec<WlSurface>,
    pub(super) subsurfaces: Vec<wayland_client::protocol::wl_subsurface::WlSubsurface>,
    pub(super) viewports: Vec<wayland_protocols::wp::viewporter::client::wp_viewport::WpViewport>,

    pub(super) shortcuts_inhibit_manager: Option<ZwpKeyboardShortcutsInhibitManagerV1>,
    /// Each inhibitor and whether its last event was `active`.
    pub(super) inhibitors: Vec<(ZwpKeyboardShortcutsInhibitorV1, bool)>,
    pub(super) idle_inhibit_manager: Option<
        wayland_protocols::wp::idle_inhibit::zv1::client::zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1,
    >,
    pub(super) idle_inhibitors:
        Vec<wayland_protocols::wp::idle_inhibit::zv1::client::zwp_idle_inhibitor_v1::ZwpIdleInhibitorV1>,
}

/// Serials of input events (presses only: a grab is meant to answer a press).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct InputSerials {
    /// The last wl_keyboard.key press.
    pub(super) key: Option<u32>,
    /// The last key or button press, whichever came later.
    pub(super) latest: Option<u32>,
}

/// How much of the pointer this client was ever given, so a test can say
/// "it never had the pointer" after the fact.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PointerHistory {
    pub(super) enters: usize,
    /// wl_pointer.button events, presses and releases.
    pub(super) buttons: usize,
    /// The serial of the last wl_pointer.enter, kept after the leave: a
    /// hostile client may still use it for set_cursor.
    pub(super) last_enter_serial: Option<u32>,
}

impl ShellSurface {
    pub(super) fn new(surface: WlSurface, xdg_surface: XdgSurface) -> Self {
        Self {
            surface,
            xdg_surface,
            last_acked: None,
            destroyed: false,
            frames_done: 0,
            shown: None,
        }
    }

    /// Destroys the objects after the role object (toplevel/popup) is gone.
    pub(super) fn destroy(&self, keyboard_focus: &mut Option<WlSurface>) {
        self.xdg_surface.destroy();
        self.surface.destroy();
        if keyboard_focus.as_ref() == Some(&self.surface) {
            *keyboard_focus = None;
        }
    }
}

impl State {
    pub(super) fn shell_mut(&mut self, key: SurfaceKey) -> &mut ShellSurface {
        match key {
            SurfaceKey::Window(w) => &mut self.windows[w].shell,
            SurfaceKey::Popup(p) => &mut self.popups[p].shell,
        }
    }
}
