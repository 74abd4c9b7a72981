//! keyboard-shortcuts-inhibit: a client (a VM console, a remote desktop) may
//! ask for the compositor's window-management chords while its surface has
//! keyboard focus. Privileged bindings are never affected: `match_binding`
//! matches them before it looks at the inhibitor.

use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::keyboard_shortcuts_inhibit::{
    KeyboardShortcutsInhibitHandler, KeyboardShortcutsInhibitState, KeyboardShortcutsInhibitor,
    KeyboardShortcutsInhibitorSeat,
};
use tracing::info;

use crate::state::{ClientState, Palisade, State};

impl KeyboardShortcutsInhibitHandler for State {
    fn keyboard_shortcuts_inhibit_state(&mut self) -> &mut KeyboardShortcutsInhibitState {
        &mut self.pal.protocols.keyboard_shortcuts_inhibit_state
    }

    fn new_inhibitor(&mut self, inhibitor: KeyboardShortcutsInhibitor) {
        // Granted at once: what it can take (focus cycling, close, app
        // shortcuts) costs the user nothing they cannot get back with the
        // pointer, and the privileged chords stay out of its reach.
        let identity = self
            .pal
            .display_handle
            .get_client(inhibitor.wl_surface().id())
            .ok()
            .and_then(|c| c.get_data::<ClientState>().map(|d| d.identity.id.clone()));
        info!(
            identity = identity.as_deref().unwrap_or("?"),
            "keyboard shortcuts inhibited"
        );
        inhibitor.activate();
    }

    fn inhibitor_destroyed(&mut self, _inhibitor: KeyboardShortcutsInhibitor) {
        info!("keyboard shortcuts inhibitor destroyed");
    }
}

impl Palisade {
    /// Whether `focus` (the keyboard focus) holds an active inhibitor: then
    /// only privileged bindings are matched.
    pub fn shortcuts_inhibited(&self, focus: Option<&WlSurface>) -> bool {
        focus.is_some_and(|surface| {
            self.seat
                .keyboard_shortcuts_inhibitor_for_surface(surface)
                .is_some_and(|i| i.is_active())
        })
    }
}
