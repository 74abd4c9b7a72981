//! xdg_wm_base (toplevels and popups) and xdg-decoration.
//!
//! Where windows go is decided in `layout.rs`; this file only turns protocol
//! requests into calls there. Client requests to move, resize, maximize or
//! minimize are ignored: on Palisade the compositor places every window.

use smithay::desktop::{find_popup_root_surface, get_popup_toplevel_coords, PopupKind, Window};
use smithay::reexports::wayland_protocols::xdg::decoration::zv1::server::zxdg_toplevel_decoration_v1::Mode as DecorationMode;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel;
use smithay::reexports::wayland_server::protocol::{wl_output, wl_seat, wl_surface::WlSurface};
use smithay::utils::{Rectangle, Serial};

use smithay::wayland::shell::xdg::decoration::XdgDecorationHandler;
use smithay::wayland::shell::xdg::{
    PopupSurface, PositionerState, ToplevelSurface, XdgShellHandler, XdgShellState,
};
use tracing::debug;

use crate::state::{Palisade, State};

impl XdgShellHandler for State {
    fn xdg_shell_state(&mut self) -> &mut XdgShellState {
        &mut self.pal.protocols.xdg_shell_state
    }

    fn new_toplevel(&mut self, surface: ToplevelSurface) {
        // Server-side decorations: the compositor owns window chrome.
        surface.with_pending_state(|s| s.decoration_mode = Some(DecorationMode::ServerSide));
        let window = Window::new_wayland_window(surface);
        let output = self
            .pal
            .active_output()
            .map(|o| o.name())
            .unwrap_or_default();
        self.pal.shell.add(window, output);
    }

    fn toplevel_destroyed(&mut self, surface: ToplevelSurface) {
        let Some(mapped) = self.pal.shell.remove(surface.wl_surface()) else {
            return;
        };
        self.pal.focus_after_unmap(&mapped.window);
        self.pal.queue_redraw_all();
    }

    fn new_popup(&mut self, surface: PopupSurface, positioner: PositionerState) {
        let kind = PopupKind::Xdg(surface.clone());
        let geometry = self.pal.unconstrained_popup_geometry(&kind, positioner);
        surface.with_pending_state(|s| s.geometry = geometry);
        self.pal.shell.track_popup(kind);
    }

    fn reposition_request(
        &mut self,
        surface: PopupSurface,
        positioner: PositionerState,
        token: u32,
    ) {
        let kind = PopupKind::Xdg(surface.clone());
        let geometry = self.pal.unconstrained_popup_geometry(&kind, positioner);
        surface.with_pending_state(|s| {
            s.geometry = geometry;
            s.positioner = positioner;
        });
        surface.send_repositioned(token);
    }

    fn grab(&mut self, surface: PopupSurface, _seat: wl_seat::WlSeat, serial: Serial) {
        // A grab takes the keyboard: focus decides whether it may (only the
        // focused window's menu, for a press its client received, never
        // while locked), and keeps it (`crate::focus`).
        if !self.pal.grant_popup_grab(&surface, serial) {
            surface.send_popup_done();
            return;
        }
        self.sync_focus();
    }

    fn fullscreen_request(
        &mut self,
        surface: ToplevelSurface,
        _output: Option<wl_output::WlOutput>,
    ) {
        // The requested output is ignored: a window stays where the user has it.
        self.pal.set_fullscreen(surface.wl_surface(), true);
    }

    fn unfullscreen_request(&mut self, surface: ToplevelSurface) {
        self.pal.set_fullscreen(surface.wl_surface(), false);
    }

    fn maximize_request(&mut self, surface: ToplevelSurface) {
        // Windows are always work-area sized; answer with that configure.
        if surface.is_initial_configure_sent() {
            surface.send_configure();
        }
    }

    fn move_request(&mut self, _surface: ToplevelSurface, _seat: wl_seat::WlSeat, _serial: Serial) {
    }

    fn resize_request(
        &mut self,
        _surface: ToplevelSurface,
        _seat: wl_seat::WlSeat,
        _serial: Serial,
        _edges: xdg_toplevel::ResizeEdge,
    ) {
    }

    fn parent_changed(&mut self, surface: ToplevelSurface) {
        // A toplevel that becomes a dialog is re-placed over its parent.
        if let Some(index) = self.pal.shell.index_of(surface.wl_surface()) {
            self.pal.layout_window(index);
        }
    }

    fn title_changed(&mut self, _surface: ToplevelSurface) {
        self.pal.queue_redraw_all();
    }
}

impl XdgDecorationHandler for State {
    fn new_decoration(&mut self, toplevel: ToplevelSurface) {
        toplevel.with_pending_state(|s| s.decoration_mode = Some(DecorationMode::ServerSide));
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
    }

    fn request_mode(&mut self, toplevel: ToplevelSurface, _mode: DecorationMode) {
        // Client-side decorations would let a client draw a fake title bar;
        // Palisade always answers server-side.
        self.new_decoration(toplevel);
    }

    fn unset_mode(&mut self, toplevel: ToplevelSurface) {
        self.new_decoration(toplevel);
    }
}

/// Popups get their first configure on their first commit.
pub(crate) fn popup_initial_configure(pal: &Palisade, surface: &WlSurface) {
    if let Some(PopupKind::Xdg(popup)) = pal.shell.popups().find_popup(surface) {
        if !popup.is_initial_configure_sent() {
            if let Err(err) = popup.send_configure() {
                debug!("popup configure failed: {err}");
            }
        }
    }
}

impl Palisade {
    /// Place a popup so it stays inside the work area of its window's output:
    /// the positioner's constraint adjustments are applied against it, and
    /// whatever still sticks out is clipped at render time.
    fn unconstrained_popup_geometry(
        &self,
        popup: &PopupKind,
        positioner: PositionerState,
    ) -> Rectangle<i32, smithay::utils::Logical> {
        let fallback = positioner.get_geometry();
        let Ok(root) = find_popup_root_surface(popup) else {
            return fallback;
        };
        let Some(mapped) = self.shell.index_of(&root).and_then(|i| self.shell.get(i)) else {
            return fallback;
        };
        let (Some(window_loc), Some(area)) = (
            self.shell.element_location(&mapped.window),
            self.output_by_name(&mapped.output)
                .and_then(|o| self.work_area(o)),
        ) else {
            return fallback;
        };
        // The target in the popup parent's coordinate space.
        let mut target = area;
        target.loc -= window_loc;
        target.loc -= get_popup_toplevel_coords(popup);
        positioner.get_unconstrained_geometry(target)
    }
}
