//! What input this client was given: the serials of its key and button
//! presses (a popup grab must carry one), where its keyboard and pointer
//! focus are, how often it got the pointer at all, and the input region it
//! declares for a window.

use super::{PopupId, TestClient, WindowId};

/// One rectangle of a region: x, y, width, height in surface coordinates.
pub type RegionRect = (i32, i32, i32, i32);

impl TestClient {
    /// The serial of the latest key or button press we received, the one a
    /// well-behaved client passes to xdg_popup.grab. None before any press.
    pub fn last_input_serial(&self) -> Option<u32> {
        self.state.input_serials.latest
    }

    /// The serial of the latest wl_keyboard.key press.
    pub fn last_key_serial(&self) -> Option<u32> {
        self.state.input_serials.key
    }

    /// The serial of the latest wl_pointer.button press.
    pub fn last_button_serial(&self) -> Option<u32> {
        self.state.button_serial
    }

    /// The serial of the latest wl_keyboard.enter.
    pub fn keyboard_enter_serial(&self) -> Option<u32> {
        self.state.keyboard_enter_serial
    }

    /// The popup whose surface has keyboard focus, if any (a grab put it there).
    pub fn keyboard_focus_popup(&self) -> Option<PopupId> {
        let focus = self.state.keyboard_focus.as_ref()?;
        self.state
            .popups
            .iter()
            .position(|p| !p.shell.destroyed && p.shell.surface == *focus)
    }

    /// The toplevel whose surface the pointer is over (wl_pointer.enter), if
    /// it is one of our windows (not a popup or subsurface).
    pub fn pointer_focus_window(&self) -> Option<WindowId> {
        let (_, surface) = self.state.pointer_enter.as_ref()?;
        self.state
            .windows
            .iter()
            .position(|w| w.shell.surface == *surface)
    }

    /// wl_pointer.enter events received so far, on any of our surfaces.
    pub fn pointer_enters(&self) -> usize {
        self.state.pointer_history.enters
    }

    /// wl_pointer.button events received so far, presses and releases.
    pub fn pointer_buttons(&self) -> usize {
        self.state.pointer_history.buttons
    }

    /// Sets window `w`'s input region (wl_surface.set_input_region) to the
    /// union of `rects`; an empty slice is an empty region, so the window
    /// asks for no pointer input at all. Committed at once.
    pub fn set_input_region(&mut self, w: WindowId, rects: &[RegionRect]) {
        let Some(compositor) = self.state.compositor.clone() else {
            tracing::warn!("test client: no wl_compositor");
            return;
        };
        let shell = &self.state.windows[w].shell;
        if shell.destroyed {
            return;
        }
        let region = compositor.create_region(&self.qh, ());
        for &(x, y, width, height) in rects {
            region.add(x, y, width, height);
        }
        shell.surface.set_input_region(Some(&region));
        // The surface keeps a copy of the region's state.
        region.destroy();
        shell.surface.commit();
    }
}

impl TestClient {
    /// The protocol id of window `w`'s wl_surface. The compositor's object
    /// for that surface has the same id on this client's connection, so a
    /// test can tell which of our windows a compositor-side window is.
    pub fn window_surface_id(&self, w: WindowId) -> u32 {
        use wayland_client::Proxy;
        self.state.windows[w].shell.surface.id().protocol_id()
    }

    /// Asks for an interactive move (`resize` false) or a resize from the
    /// bottom-right corner of window `w`, with the serial of our last
    /// button press (0 if none): what a client-side title bar sends.
    pub fn request_move_or_resize(&mut self, w: WindowId, resize: bool) {
        use wayland_protocols::xdg::shell::client::xdg_toplevel::ResizeEdge;
        let (Some(seat), serial) = (self.state.seat.clone(), self.state.button_serial) else {
            return;
        };
        let window = &self.state.windows[w];
        if window.shell.destroyed {
            return;
        }
        let serial = serial.unwrap_or(0);
        match resize {
            true => window
                .toplevel
                .resize(&seat, serial, ResizeEdge::BottomRight),
            false => window.toplevel._move(&seat, serial),
        }
    }
}
