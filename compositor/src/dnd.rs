//! Drag and drop stays inside the identity that started it.
//!
//! The clipboard moves between identities only through the trusted transfer
//! (`clipboard.rs`); a drag would be a way around it. Smithay's drag grab
//! offers the data to whatever surface the pointer routing says is under the
//! pointer, so while a client's drag runs, surfaces of other identities are
//! simply not under the pointer for it (`drag_may_enter`, applied in
//! `input/pointer.rs`): they get no `enter`, no offer and no drop. Drags
//! inside one app (Chromium's tabs) and between windows of the same
//! identity work as before. The drag's icon is drawn by the stack, cropped
//! to the work area and never while locked.

use smithay::input::Seat;
use smithay::reexports::wayland_server::protocol::wl_data_source::WlDataSource;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::selection::data_device::ClientDndGrabHandler;
use tracing::debug;

use crate::input::InputState;
use crate::state::{ClientState, State};

fn identity_id(client: &Client) -> Option<String> {
    Some(client.get_data::<ClientState>()?.identity.id.clone())
}

impl ClientDndGrabHandler for State {
    fn started(&mut self, source: Option<WlDataSource>, icon: Option<WlSurface>, _: Seat<Self>) {
        // Without a source Smithay keeps the drag inside its own client.
        let identity = source
            .as_ref()
            .and_then(|s| s.client())
            .and_then(|c| identity_id(&c));
        debug!(?identity, "a drag started");
        self.pal.input.drag_started(identity, icon);
    }

    fn dropped(&mut self, _target: Option<WlSurface>, _validated: bool, _: Seat<Self>) {
        self.pal.input.drag_ended();
        self.pal.queue_redraw_all();
    }
}

/// Whether a running drag (if any) may reach `client`'s surfaces.
pub fn drag_may_enter(input: &InputState, client: &Client) -> bool {
    match input.drag_identity() {
        None => true,
        Some(dragging) => identity_id(client).as_deref() == Some(dragging),
    }
}
