//! Focus is one value: the window the user works in. The panel shows it as
//! focused, it is the only window told it is activated, and it (or a popup
//! of its own holding a grab) is the only surface that receives keys. While
//! locked nobody receives keys, and the value waits for the unlock.
//!
//! Keyboard focus is never set anywhere else: [`State::sync_focus`] derives
//! it from this value (and the lock) and hands it to Smithay. Smithay's
//! popup grabs are not used at all, because `PopupKeyboardGrab` ignores
//! focus changes and ending `PopupPointerGrab` hands the keyboard back to
//! the grabbing client (see SMITHAY-NOTES.md). Palisade keeps the grab
//! itself: it is granted only to the focused window's popups, for a serial
//! of a press that client received since it was focused, and every change
//! of the value ends it first.
//!
//! No focus stealing: a window that appears takes focus only if
//! - nothing has focus,
//! - the focused window belongs to the same identity (an app's own new
//!   window or dialog), or
//! - it is the first window of an app the user just launched (a shortcut,
//!   a scenario step), and the user has not moved focus by hand since.
//!
//! Otherwise it stays behind the focused window and its panel entry wants
//! attention: the user may be typing a password into the focused window,
//! and a newcomer would receive the rest of it. xdg-activation, which would
//! let clients hand focus to each other, is not offered.

use std::time::{Duration, Instant};

use smithay::desktop::{PopupKind, PopupManager, Window};
use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::utils::{IsAlive, Serial, SERIAL_COUNTER};
use smithay::wayland::seat::WaylandFocus;
use smithay::wayland::shell::xdg::PopupSurface;
use tracing::{debug, info};

use crate::state::{ClientState, Palisade, State};

/// How long after a user's launch the app's first window may still take
/// focus. Chromium shows its first window within about 1.5 s on two cores;
/// much later, the user has likely moved on to something else.
pub const USER_LAUNCH_WINDOW: Duration = Duration::from_secs(15);

/// How many of the focused client's press serials are kept for grabs: a
/// menu is opened by one of the last few presses, never by an old one.
const RECENT_PRESSES: usize = 8;

/// The one focus value and what depends on it.
#[derive(Debug, Default)]
pub struct Focus {
    window: Option<Window>,
    /// Popups of `window` holding an xdg_popup grab, outermost first.
    grab: Vec<PopupSurface>,
    /// Serials of key and button presses the focused window's client
    /// received since it was focused: the only serials a grab may carry.
    presses: Vec<Serial>,
    user_launches: UserLaunches,
}

impl Focus {
    /// The focused window, if it is still alive.
    pub fn window(&self) -> Option<&Window> {
        self.window.as_ref().filter(|w| w.alive())
    }

    /// Whether a popup grab holds the keyboard.
    pub fn grabbed(&self) -> bool {
        self.grab.iter().any(|p| p.alive())
    }

    /// The client owning the focused window.
    fn client(&self) -> Option<Client> {
        self.window()?.wl_surface()?.client()
    }

    /// Whether `client` owns the focused window.
    pub fn is_focused_client(&self, client: &ClientId) -> bool {
        self.client().is_some_and(|c| c.id() == *client)
    }

    /// The client holding a popup grab, if any: while it lasts, the
    /// pointer reaches only that client's surfaces.
    pub fn grab_client(&self) -> Option<ClientId> {
        self.grabbed()
            .then(|| self.client().map(|c| c.id()))
            .flatten()
    }

    /// Where keys go: nowhere while locked, else the topmost grabbing
    /// popup, else the focused window.
    pub fn keyboard_target(&self, locked: bool) -> Option<WlSurface> {
        if locked {
            return None;
        }
        if let Some(popup) = self.grab.iter().rev().find(|p| p.alive()) {
            return Some(popup.wl_surface().clone());
        }
        self.window()?.wl_surface().map(|s| s.into_owned())
    }

    /// The one setter. A change ends the grab first (its popups are
    /// dismissed) and forgets the old client's presses. Returns whether
    /// the value changed.
    fn set(&mut self, window: Option<Window>) -> bool {
        let window = window.filter(|w| w.alive());
        if self.window() == window.as_ref() {
            return false;
        }
        self.end_grab();
        self.presses.clear();
        self.window = window;
        true
    }

    /// Dismiss every grabbing popup, outermost first (which dismisses the
    /// ones inside it too).
    pub fn end_grab(&mut self) {
        let grab = std::mem::take(&mut self.grab);
        let Some(outer) = grab.into_iter().find(|p| p.alive()) else {
            return;
        };
        match find_root(&outer) {
            Some(root) => {
                let _ = PopupManager::dismiss_popup(&root, &PopupKind::Xdg(outer));
            }
            None => outer.send_popup_done(),
        }
        debug!("popup grab ended");
    }

    /// A press went to `client` with `serial`: remembered if the client
    /// owns the focused window, for a grab it may ask for next.
    pub fn note_press(&mut self, client: &ClientId, serial: Serial) {
        if !self.is_focused_client(client) {
            return;
        }
        if self.presses.len() == RECENT_PRESSES {
            self.presses.remove(0);
        }
        self.presses.push(serial);
    }

    /// A client asks for an xdg_popup grab. Granted only while unlocked,
    /// for a popup of the focused window that has not been mapped yet,
    /// nested only on the topmost grabbing popup, with the serial of a
    /// press that client received since it was focused.
    fn grant(&mut self, popup: &PopupSurface, serial: Serial, locked: bool) -> Result<(), &str> {
        if locked {
            return Err("locked");
        }
        let root = find_root(popup).ok_or("its window is gone")?;
        let focused = self
            .window()
            .and_then(|w| w.wl_surface().map(|s| s.into_owned()));
        if focused.as_ref() != Some(&root) {
            return Err("its window does not have focus");
        }
        if !self.presses.contains(&serial) {
            return Err("the serial is not of a press its client received while focused");
        }
        if committed(popup) {
            return Err("the popup is already mapped");
        }
        self.grab.retain(|p| p.alive());
        let parent = popup.get_parent_surface();
        let expected = match self.grab.last() {
            Some(top) => Some(top.wl_surface().clone()),
            None => Some(root),
        };
        if parent != expected {
            return Err("it is not a child of the topmost grabbing popup");
        }
        self.grab.push(popup.clone());
        Ok(())
    }

    /// Forget what died: a destroyed popup's grab passes to its parent
    /// grab, a destroyed window's focus to nobody (see `sync_focus`).
    fn cleanup(&mut self) {
        self.grab.retain(|p| p.alive());
        if self.window.as_ref().is_some_and(|w| !w.alive()) {
            self.window = None;
            self.grab.clear();
            self.presses.clear();
        }
    }
}

fn find_root(popup: &PopupSurface) -> Option<WlSurface> {
    smithay::desktop::find_popup_root_surface(&PopupKind::Xdg(popup.clone())).ok()
}

fn committed(popup: &PopupSurface) -> bool {
    smithay::wayland::compositor::with_states(popup.wl_surface(), |states| {
        states
            .data_map
            .get::<smithay::wayland::shell::xdg::XdgPopupSurfaceData>()
            .and_then(|d| d.lock().ok().map(|d| d.committed))
            .unwrap_or(true)
    })
}

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
    /// The window the user works in (see [`Focus`]).
    pub fn focused_window(&self) -> Option<Window> {
        self.focus.window().cloned()
    }

    /// The user launched the app behind `client` (see [`UserLaunches`]).
    pub fn note_user_launch(&mut self, client: &Client) {
        (self.focus.user_launches).record(client.id(), Instant::now());
    }

    /// The user focused `window` by hand (a click, the panel, Super+Tab).
    pub fn focus_by_user(&mut self, window: &Window) {
        self.focus.user_launches.clear();
        self.focus_window(Some(window));
    }

    /// Focus `window` (or nobody), raise it and clear its attention mark.
    /// Every focus change goes through here; the keyboard follows in
    /// [`State::sync_focus`], before the next input event.
    pub fn focus_window(&mut self, window: Option<&Window>) {
        if let Some(window) = window {
            self.shell.raise_with_dialogs(window);
            // It has what it wanted: the panel stops asking for attention.
            self.shell.set_attention(window, false);
        }
        if self.focus.set(window.cloned()) {
            self.queue_redraw_all();
        }
    }

    /// A client asked for a popup grab; false: refused (the caller
    /// dismisses the popup).
    pub fn grant_popup_grab(&mut self, popup: &PopupSurface, serial: Serial) -> bool {
        let locked = self.lock.is_locked();
        match self.focus.grant(popup, serial, locked) {
            Ok(()) => true,
            Err(why) => {
                let identity = popup
                    .wl_surface()
                    .client()
                    .and_then(|c| (c.get_data::<ClientState>()).map(|d| d.identity.id.clone()));
                info!(?identity, "popup grab refused: {why}");
                false
            }
        }
    }

    /// The toplevel at `index` has just been mapped: it takes focus, or it
    /// stays behind the focused window and wants attention.
    pub fn window_mapped(&mut self, index: usize) {
        let Some(mapped) = self.shell.get(index) else {
            return;
        };
        let window = mapped.window.clone();
        let client = window.wl_surface().and_then(|s| s.client());
        let user_launched = client
            .as_ref()
            .is_some_and(|c| self.focus.user_launches.take(&c.id(), Instant::now()));
        let focused = self.focus.window().cloned();
        let takes = user_launched
            || match (&focused, &client) {
                (None, _) => true,
                (Some(f), Some(c)) => (f.wl_surface().and_then(|s| s.client()))
                    .is_some_and(|fc| same_identity(&fc, c)),
                (Some(_), None) => false,
            };
        if takes {
            self.focus_window(Some(&window));
            return;
        }
        let identity = self.identity_of(&window).map(|i| i.id);
        info!(
            ?identity,
            "a window appeared while another identity had focus: it wants attention"
        );
        self.shell.set_attention(&window, true);
        // Mapping put it on top; the focused window goes back above it, so
        // what the user sees is still what the keys go to.
        if let Some(focused) = focused {
            self.shell.raise_with_dialogs(&focused);
        }
        self.queue_redraw_all();
    }

    /// After a window goes away: if it had focus, the topmost mapped window
    /// takes it.
    pub fn focus_after_unmap(&mut self, gone: &Window) {
        let had_focus = self.focus.window().is_none_or(|f| f == gone);
        if had_focus {
            let next = (self.shell.top_first())
                .find(|w| *w != gone && w.alive())
                .cloned();
            self.focus_window(next.as_ref());
        }
    }
}

impl State {
    /// Hand the keyboard to where the focus value says, and activate
    /// exactly the focused window. The only place keyboard focus is set;
    /// runs before and after every input event and on every refresh.
    pub fn sync_focus(&mut self) {
        self.pal.focus.cleanup();
        // Never left on nothing while a mapped window exists.
        if self.pal.focus.window().is_none() {
            if let Some(top) = self.pal.shell.topmost() {
                self.pal.focus_window(Some(&top));
            }
        }
        let locked = self.pal.lock.is_locked();
        if locked {
            // Nobody holds a grab over the lock.
            self.pal.focus.end_grab();
        }
        let target = self.pal.focus.keyboard_target(locked);
        if let Some(keyboard) = self.pal.seat.get_keyboard() {
            if keyboard.current_focus() != target {
                keyboard.set_focus(self, target, SERIAL_COUNTER.next_serial());
            }
        }
        let activated = (!locked)
            .then(|| self.pal.focus.window().cloned())
            .flatten();
        self.pal.shell.set_activated(activated.as_ref());
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
