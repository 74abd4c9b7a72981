//! No focus stealing. A window that appears while another identity has
//! keyboard focus does not take it: the user may be typing a password into
//! the focused window, and the newcomer would receive the rest of it. The
//! newcomer stays behind the focused window and its panel entry is marked
//! as wanting attention until the user focuses it.
//!
//! A window that appears takes focus only if
//! - nothing has focus,
//! - the focused window belongs to the same identity (an app's own new
//!   window or dialog), or
//! - it is the first window of an app the user just launched (a shortcut, a
//!   panel action, a scenario step), and the user has not moved focus by
//!   hand since the launch.
//!
//! Autostart apps, a second window an app opens on its own, a page's popup
//! window and anything started by something other than the user do not.
//! xdg-activation, which would let clients hand focus to each other, is not
//! offered.

use std::time::{Duration, Instant};

use smithay::desktop::Window;
use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::utils::IsAlive;
use smithay::wayland::seat::WaylandFocus;
use tracing::info;

use crate::state::{ClientState, Palisade};

/// How long after a user's launch the app's first window may still take
/// focus. Chromium shows its first window within about 1.5 s on two cores;
/// much later, the user has likely moved on to something else.
pub const USER_LAUNCH_WINDOW: Duration = Duration::from_secs(15);

/// Clients the user launched whose first window has not appeared yet.
#[derive(Debug, Default)]
pub struct UserLaunches {
    list: Vec<(ClientId, Instant)>,
}

impl UserLaunches {
    /// The user launched the app behind `client`.
    pub fn record(&mut self, client: ClientId, now: Instant) {
        self.forget_expired(now);
        self.list.push((client, now));
    }

    /// Whether `client` was launched by the user within the window; the
    /// record is used up either way, so only the first window benefits.
    pub fn take(&mut self, client: &ClientId, now: Instant) -> bool {
        self.forget_expired(now);
        match self.list.iter().position(|(c, _)| c == client) {
            Some(i) => {
                self.list.remove(i);
                true
            }
            None => false,
        }
    }

    /// The user moved focus by hand: launches that have not shown a window
    /// yet no longer speak for what the user wants focused.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn forget_expired(&mut self, now: Instant) {
        self.list
            .retain(|(_, at)| now.saturating_duration_since(*at) <= USER_LAUNCH_WINDOW);
    }
}

impl Palisade {
    /// The user launched the app behind `client` (see [`UserLaunches`]).
    pub fn note_user_launch(&mut self, client: &Client) {
        self.user_launches.record(client.id(), Instant::now());
    }

    /// The user focused `window` by hand (a click, the panel, Super+Tab).
    pub fn focus_by_user(&mut self, window: &Window) {
        self.user_launches.clear();
        self.focus_window(Some(window));
    }

    /// The toplevel at `index` has just been mapped: it takes focus, or it
    /// stays behind the focused window and wants attention.
    pub fn window_mapped(&mut self, index: usize) {
        let Some(mapped) = self.windows.get(index) else {
            return;
        };
        let window = mapped.window.clone();
        let client = window.wl_surface().and_then(|s| s.client());
        let user_launched = client
            .as_ref()
            .is_some_and(|c| self.user_launches.take(&c.id(), Instant::now()));
        let focus = self.focus_to_keep();
        let takes = user_launched
            || match (&focus, &client) {
                (None, _) => true,
                (Some(f), Some(c)) => f.client().is_some_and(|fc| same_identity(&fc, c)),
                (Some(_), None) => false,
            };
        if takes {
            if self.is_locked() && self.lock_focus_dropped {
                // The focus that comes back on unlock is this window's.
                self.focus_before_lock = window.wl_surface().map(|s| s.into_owned());
            }
            self.focus_window(Some(&window));
            return;
        }
        let identity = self.identity_of(&window).map(|i| i.id);
        info!(
            ?identity,
            "a window appeared while another identity had focus: it wants attention"
        );
        self.windows[index].attention = true;
        // Mapping put it on top; the focused window goes back above it, so
        // what the user sees is still what the keys go to.
        if let Some(focused) = focus.and_then(|s| self.window_of_surface(&s)) {
            self.raise_with_dialogs(&focused, false);
        }
        self.queue_redraw_all();
    }

    /// The keyboard focus a new window would take away: while locked, the
    /// focus the unlock gives back; otherwise a focus decided but not yet
    /// applied, else the current one.
    fn focus_to_keep(&self) -> Option<WlSurface> {
        let focus = if self.is_locked() && self.lock_focus_dropped {
            self.focus_before_lock.clone()
        } else if let Some(pending) = &self.pending_focus {
            pending.clone()
        } else {
            self.seat.get_keyboard().and_then(|k| k.current_focus())
        };
        focus.filter(|s| s.alive())
    }

    /// The toplevel whose tree holds `surface` (a popup's or subsurface's
    /// too).
    pub fn window_of_surface(&self, surface: &WlSurface) -> Option<Window> {
        let mut root = surface.clone();
        while let Some(parent) = smithay::wayland::compositor::get_parent(&root) {
            root = parent;
        }
        if let Some(popup) = self.popups.find_popup(&root) {
            root = smithay::desktop::find_popup_root_surface(&popup).ok()?;
        }
        let index = self.window_index_for_surface(&root)?;
        Some(self.windows[index].window.clone())
    }
}

/// Two clients count as the same identity when the compositor gave them the
/// same app id. "unknown" is not one app but whoever came through the public
/// socket, so those only count as themselves.
fn same_identity(a: &Client, b: &Client) -> bool {
    if a.id() == b.id() {
        return true;
    }
    let (Some(a), Some(b)) = (a.get_data::<ClientState>(), b.get_data::<ClientState>()) else {
        return false;
    };
    a.identity.id == b.identity.id && a.identity.id != crate::Identity::unknown().id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_launch_counts_once_and_expires() {
        let mut launches = UserLaunches::default();
        let t0 = Instant::now();
        let (a, b) = fake_ids();
        launches.record(a.clone(), t0);
        assert!(!launches.take(&b, t0), "another client was not launched");
        assert!(launches.take(&a, t0), "the first window of a user launch");
        assert!(!launches.take(&a, t0), "only the first window");

        launches.record(a.clone(), t0);
        let late = t0 + USER_LAUNCH_WINDOW + Duration::from_millis(1);
        assert!(!launches.take(&a, late), "too long after the launch");
        assert!(launches.is_empty());

        launches.record(b.clone(), t0);
        launches.clear();
        assert!(!launches.take(&b, t0), "the user moved focus since");
    }

    /// Two distinct client ids, from a real display.
    fn fake_ids() -> (ClientId, ClientId) {
        use smithay::reexports::wayland_server::Display;
        use std::os::unix::net::UnixStream;
        use std::sync::Arc;
        let mut display: Display<()> = Display::new().expect("a display");
        let mut dh = display.handle();
        let mut insert = || {
            let (ours, _theirs) = UnixStream::pair().expect("socketpair");
            dh.insert_client(ours, Arc::new(NoData))
                .expect("inserting a client")
                .id()
        };
        let ids = (insert(), insert());
        let _ = display.dispatch_clients(&mut ());
        ids
    }

    struct NoData;
    impl smithay::reexports::wayland_server::backend::ClientData for NoData {}
}
