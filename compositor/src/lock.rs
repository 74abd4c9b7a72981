//! The lock, as the compositor enforces it. The state machine and the
//! drawing live in `palisade-lockscreen`; this module decides what that
//! means here: from the moment a lock is requested no client surface is
//! composited and no client gets input, the lock counts as engaged once
//! every output has rendered a locked frame (then the helper is told), and
//! only the helper's "accepted" for the current generation unlocks.

use smithay::backend::allocator::Fourcc;
use smithay::backend::renderer::element::memory::{
    MemoryRenderBuffer, MemoryRenderBufferRenderElement,
};
use smithay::backend::renderer::{ImportMem, Renderer};
use smithay::desktop::{PopupKind, PopupManager};
use smithay::output::Output;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::RegistrationToken;
use smithay::utils::Transform;
use smithay::wayland::seat::WaylandFocus;
use std::time::{Duration, Instant};
use tracing::{info, warn};

use palisade_lockscreen::{
    outcome_message, Answer, Lock, LockScreen, LockView, PasswordField, Phase,
};
use palisade_shortcuts::proto::{AuthOutcome, Request};

use crate::state::{Palisade, State};

/// The lock session: the state machine, what is typed, what the lock
/// screen says. Private, so that everything that can change the lock is
/// in this file; everyone else asks [`LockSession::is_locked`].
pub struct LockSession {
    state: Lock,
    screen: LockScreen,
    /// What is typed on the lock screen: zeroized, only ever counted.
    password: PasswordField,
    message: Option<String>,
    /// The last answer to a password, for scenario waits.
    last_auth: Option<(u64, AuthOutcome)>,
    /// Lock requests seen, from any trigger (tests count them).
    requests: u64,
    /// When the last lock was engaged (on every output), for tests to
    /// check what came first.
    engaged_at: Option<Instant>,
    /// Repaints the retry countdown once a second while it shows.
    retry_ticker: Option<RegistrationToken>,
    /// The session user's name, shown on the lock screen.
    user: String,
}

impl LockSession {
    pub fn new(theme: &palisade_themes::Theme) -> LockSession {
        LockSession {
            state: Lock::new_unlocked(),
            screen: LockScreen::new(theme),
            password: PasswordField::new(),
            message: None,
            last_auth: None,
            requests: 0,
            engaged_at: None,
            retry_ticker: None,
            user: std::env::var("USER").unwrap_or_else(|_| "user".into()),
        }
    }

    /// Locked, locking or authenticating: anything but unlocked. The stack,
    /// the keyboard's focus, key routing and the selection all ask this.
    pub fn is_locked(&self) -> bool {
        !self.state.is_unlocked()
    }

    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    pub fn generation(&self) -> u64 {
        self.state.generation()
    }

    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn engaged_at(&self) -> Option<Instant> {
        self.engaged_at
    }

    pub fn last_auth(&self) -> Option<(u64, AuthOutcome)> {
        self.last_auth
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// How many characters are typed (the dots the lock screen shows).
    pub fn typed_chars(&self) -> usize {
        self.password.len_chars()
    }

    /// Whether the retry countdown's repaint timer runs.
    pub fn retry_ticking(&self) -> bool {
        self.retry_ticker.is_some()
    }

    pub(crate) fn password_push(&mut self, text: &str) {
        self.password.push_str(text);
    }

    pub(crate) fn password_backspace(&mut self) {
        self.password.backspace();
    }

    pub(crate) fn password_clear(&mut self) {
        self.password.clear();
    }
}

impl std::fmt::Debug for LockSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockSession")
            .field("phase", &self.state.phase())
            .field("generation", &self.state.generation())
            .finish_non_exhaustive()
    }
}

/// Per-output lock-screen pixels, redrawn only when what they show changes.
#[derive(Default)]
pub struct OutputLock {
    /// A locked frame has been rendered on this output since the lock began.
    pub shown: bool,
    buffer: Option<MemoryRenderBuffer>,
    drawn: Option<(LockView, (i32, i32))>,
}

impl std::fmt::Debug for OutputLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputLock")
            .field("shown", &self.shown)
            .finish()
    }
}

impl Palisade {
    /// Locked, locking or authenticating: anything but unlocked.
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// Starts the session locked: the lock screen is also the login screen.
    pub fn start_locked(&mut self) {
        self.lock.state = Lock::new_locked();
        self.lock_began();
    }

    /// Every lock request arrives here: the bindings, the panel's button,
    /// idle time and logind.
    pub fn request_lock(&mut self) {
        self.lock.requests += 1;
        if self.lock.state.lock() {
            info!(generation = self.lock.generation(), "locking");
            self.lock_began();
        }
    }

    /// What happens the moment a lock begins, before the next frame. The
    /// rest follows from `is_locked` alone: the stack holds only the lock
    /// (nothing of a client is drawn or under the pointer), the keyboard
    /// goes to nobody (`State::sync_focus`, which also ends any pointer
    /// grab a client held), keys edit the password (`route_key`) and no
    /// selection can be set (`SelectionHandler`).
    fn lock_began(&mut self) {
        self.lock.password.clear();
        self.lock.message = None;
        // Every grab ends, and every popup is dismissed: they must not be
        // there on unlock either.
        self.focus.end_grab();
        for window in self.shell.top_first() {
            if let Some(surface) = window.wl_surface() {
                for (popup, _) in PopupManager::popups_for_surface(&surface) {
                    if let PopupKind::Xdg(p) = popup {
                        p.send_popup_done();
                    }
                }
            }
        }
        for entry in &mut self.outputs {
            entry.lock.shown = false;
        }
        // The clipboard does not survive a lock: its owner is told its
        // selection is cancelled (and drops it), so an offer some client
        // kept from before has nothing left to read.
        smithay::wayland::selection::data_device::clear_data_device_selection(
            &self.display_handle,
            &self.seat,
        );
        // A clipboard transfer being read, in transit or being pasted is
        // dropped with it.
        self.clipboard_lock_began();
        self.idle_lock_began();
        self.queue_redraw_all();
        if self.outputs.is_empty() {
            self.lock_engaged();
        }
    }

    /// A frame was rendered on `output`; `locked` says whether it was a
    /// locked frame. Once all outputs showed one, the lock is engaged.
    pub fn locked_frame_rendered(&mut self, output: &Output, locked: bool) {
        if !locked {
            return;
        }
        if let Some(entry) = self.outputs.iter_mut().find(|o| &o.output == output) {
            entry.lock.shown = true;
        }
        if self.lock.phase() == Phase::Locking && self.outputs.iter().all(|o| o.lock.shown) {
            self.lock_engaged();
        } else if self.sleep_pending && self.lock_shown_everywhere() {
            // An output added while locked has now shown the lock too: a
            // suspend that waited for it may go ahead.
            self.release_sleep_delay();
        }
    }

    /// The lock is engaged and nothing but the lock screen can be seen:
    /// every output has rendered a locked frame since the lock began, or
    /// the outputs are switched off.
    pub fn lock_shown_everywhere(&self) -> bool {
        matches!(self.lock.phase(), Phase::Locked | Phase::Authenticating)
            && (!self.idle.outputs_on || self.outputs.iter().all(|o| o.lock.shown))
    }

    fn lock_engaged(&mut self) {
        if self.lock.state.engaged() {
            self.lock.engaged_at = Some(Instant::now());
            info!(
                generation = self.lock.generation(),
                "lock engaged on every output"
            );
            if !self.send_helper(&Request::Lock) {
                warn!("the helper is not connected: it was not told about the lock");
            }
            // A suspend waiting for this lock may go ahead now.
            self.release_sleep_delay();
        }
    }

    /// Enter on the lock screen.
    pub fn submit_password(&mut self) -> Option<u64> {
        let generation = self.lock.state.submit()?;
        let password = self.lock.password.take();
        if !self.send_helper(&Request::Authenticate {
            generation,
            password,
        }) {
            // No helper, no unlock.
            self.lock.state.helper_lost();
            self.lock.message = Some("Cannot check the password: no helper".into());
        }
        self.queue_redraw_all();
        Some(generation)
    }

    /// The helper answered a password.
    pub fn auth_answered(&mut self, generation: u64, outcome: AuthOutcome) {
        self.lock.last_auth = Some((generation, outcome));
        match self.lock.state.answer(generation, outcome) {
            Answer::Stale => {}
            Answer::Unlocked => {
                // Focus needs no restoring: its value waited through the
                // lock, and the keyboard follows it again.
                info!(generation, "unlocked");
                self.lock.message = None;
                self.idle_unlocked();
            }
            Answer::StillLocked => {
                self.lock.message = outcome_message(outcome).map(String::from);
            }
        }
        self.queue_redraw_all();
    }

    /// The helper link went away: an authentication in flight can never
    /// be answered, so it fails closed.
    pub fn lock_helper_lost(&mut self) {
        if self.lock.phase() == Phase::Authenticating {
            self.lock.state.helper_lost();
            self.lock.message = Some("Cannot check the password: no helper".into());
        }
    }

    /// Milliseconds before the helper looks at the next password, counted
    /// down locally from its last state.
    fn retry_remaining_ms(&self) -> u64 {
        (self.helper.as_ref())
            .and_then(|l| l.state_at(std::time::Instant::now()))
            .map_or(0, |s| s.retry_after_ms)
    }

    /// While a retry wait shows on the lock screen, repaint it once a
    /// second so the countdown moves; the timer ends with the wait (no
    /// wakeups otherwise).
    fn arm_retry_ticker(&mut self) {
        if self.lock.retry_ticker.is_some() {
            return;
        }
        let tick = Duration::from_millis(self.retry_remaining_ms() % 1000 + 1);
        let inserted = self.loop_handle.insert_source(
            Timer::from_duration(tick),
            |_, _, state: &mut State| {
                state.pal.queue_redraw_all();
                let left = state.pal.retry_remaining_ms();
                if state.pal.is_locked() && left > 0 {
                    // Land just after the shown seconds change.
                    TimeoutAction::ToDuration(Duration::from_millis(left % 1000 + 1))
                } else {
                    state.pal.lock.retry_ticker = None;
                    TimeoutAction::Drop
                }
            },
        );
        match inserted {
            Ok(token) => self.lock.retry_ticker = Some(token),
            Err(err) => warn!("starting the retry countdown: {err}"),
        }
    }

    fn lock_view(&self) -> LockView {
        let state = self
            .helper
            .as_ref()
            .and_then(|l| l.state_at(std::time::Instant::now()));
        LockView {
            time: self.clock_text(),
            user: self.lock.user.clone(),
            dots: self.lock.password.len_chars(),
            message: self.lock.message.clone(),
            retry_in_s: state
                .as_ref()
                .map(|s| s.retry_after_ms.div_ceil(1000))
                .filter(|s| *s > 0),
            reboot_in_s: state
                .as_ref()
                .and_then(|s| s.reboot_in_ms)
                .map(|ms| ms / 1000),
            usb: self.usb_state(),
            // Only "checking the password" looks different; unlocked,
            // locking and locked all draw alike, so one buffer serves them.
            phase: match self.lock.phase() {
                Phase::Authenticating => Phase::Authenticating,
                _ => Phase::Locked,
            },
        }
    }

    /// The full-output lock screen element for `output`.
    pub fn lock_element<R>(
        &mut self,
        renderer: &mut R,
        output: &Output,
    ) -> Option<MemoryRenderBufferRenderElement<R>>
    where
        R: Renderer + ImportMem,
        R::TextureId: Send + Clone + 'static,
    {
        let view = self.lock_view();
        if view.retry_in_s.is_some() {
            self.arm_retry_ticker();
        }
        self.lock_buffer_element(renderer, output, view)
    }

    /// While unlocked, on every frame: redraws and uploads `output`'s lock
    /// screen if what it would show has changed (the clock, once a minute),
    /// so the lock's first frame finds it ready. Costs nothing otherwise.
    pub fn prepare_lock_element<R>(&mut self, renderer: &mut R, output: &Output)
    where
        R: Renderer + ImportMem,
        R::TextureId: Send + Clone + 'static,
    {
        let mut view = self.lock_view();
        // What a fresh lock shows: nothing typed, no message.
        view.dots = 0;
        view.message = None;
        drop(self.lock_buffer_element(renderer, output, view));
    }

    fn lock_buffer_element<R>(
        &mut self,
        renderer: &mut R,
        output: &Output,
        view: LockView,
    ) -> Option<MemoryRenderBufferRenderElement<R>>
    where
        R: Renderer + ImportMem,
        R::TextureId: Send + Clone + 'static,
    {
        let geo = self.output_geometry(output)?;
        let scale = output.current_scale().fractional_scale();
        let mode = output.current_mode()?;
        let size = (mode.size.w, mode.size.h);
        let entry = self.outputs.iter_mut().find(|o| &o.output == output)?;
        let lock = &mut entry.lock;
        let fresh = lock.drawn.as_ref() != Some(&(view.clone(), size));
        if fresh || lock.buffer.is_none() {
            let mut pixels =
                self.lock
                    .screen
                    .render(&view, size.0.max(0) as u32, size.1.max(0) as u32, scale);
            if pixels.len() != (size.0.max(0) * size.1.max(0) * 4) as usize {
                warn!("the lock screen has the wrong size; using a plain fill");
                return None;
            }
            // The outputs' own byte order (XRGB8888 is B, G, R, X in
            // memory): compositing then is a plain copy, about three times
            // faster than swizzling every pixel of every locked frame.
            for px in pixels.chunks_exact_mut(4) {
                px.swap(0, 2);
            }
            lock.buffer = Some(MemoryRenderBuffer::from_slice(
                &pixels,
                Fourcc::Xrgb8888,
                size,
                1,
                Transform::Normal,
                None,
            ));
            lock.drawn = Some((view, size));
        }
        let buffer = lock.buffer.as_ref()?;
        crate::panel::full_buffer_element(renderer, buffer, size, geo.size, "the lock screen")
    }
}
