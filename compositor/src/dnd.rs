//! Drag and drop stays inside the identity that started it.
//!
//! The clipboard moves between identities only through the trusted transfer
//! (`clipboard.rs`); a drag would be a way around it. Smithay's drag grab
//! offers the data to whatever surface the pointer focus says is under the
//! pointer, so while a client's drag runs, surfaces of other identities are
//! simply not under the pointer: they get no `enter`, no offer and no drop.
//! Drags inside one app (Chromium's tabs) and between windows of the same
//! identity work as before.

use smithay::input::Seat;
use smithay::reexports::wayland_server::protocol::wl_data_source::WlDataSource;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::utils::{Logical, Point};
use smithay::wayland::selection::data_device::ClientDndGrabHandler;
use tracing::debug;

use crate::state::{ClientState, State};

fn identity_id(resource: &impl Resource) -> Option<String> {
    let client = resource.client()?;
    Some(client.get_data::<ClientState>()?.identity.id.clone())
}

impl ClientDndGrabHandler for State {
    fn started(&mut self, source: Option<WlDataSource>, _icon: Option<WlSurface>, _: Seat<Self>) {
        // Without a source Smithay keeps the drag inside its own client.
        self.pal.drag_identity = source.as_ref().and_then(identity_id);
        debug!(identity = ?self.pal.drag_identity, "a drag started");
    }

    fn dropped(&mut self, _target: Option<WlSurface>, _validated: bool, _: Seat<Self>) {
        self.pal.drag_identity = None;
    }
}

impl State {
    /// What the pointer is over, as a running drag may see it: nothing, if
    /// the surface belongs to another identity than the drag's.
    pub fn drag_filter(
        &mut self,
        under: Option<(WlSurface, Point<f64, Logical>)>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        let grabbed = self.pal.seat.get_pointer().is_some_and(|p| p.is_grabbed());
        if !grabbed {
            // The drag ended without a drop (its client went away).
            self.pal.drag_identity = None;
        }
        let Some(dragging) = &self.pal.drag_identity else {
            return under;
        };
        under.filter(|(surface, _)| identity_id(surface).as_ref() == Some(dragging))
    }
}
