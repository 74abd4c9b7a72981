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
use smithay::desktop::PopupKind;
use smithay::input::pointer::MotionEvent;
use smithay::output::Output;
use smithay::utils::{IsAlive, Transform, SERIAL_COUNTER};
use smithay::wayland::seat::WaylandFocus;
use std::time::Duration;

use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use tracing::{info, warn};

use palisade_lockscreen::{outcome_message, Answer, Lock, LockView, Phase};
use palisade_shortcuts::proto::{AuthOutcome, Request};

use crate::state::{Palisade, State};

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
        !self.lock.is_unlocked()
    }

    /// Starts the session locked: the lock screen is also the login screen.
    pub fn start_locked(&mut self) {
        self.lock = Lock::new_locked();
        self.lock_began();
    }

    /// Every lock request arrives here: the bindings, the panel's button,
    /// idle time and logind.
    pub fn request_lock(&mut self) {
        self.lock_requests += 1;
        if self.lock.lock() {
            info!(generation = self.lock.generation(), "locking");
            self.lock_began();
        }
    }

    /// What happens the moment a lock begins, before the next frame.
    fn lock_began(&mut self) {
        self.password.clear();
        self.lock_message = None;
        // Popups are dismissed: they must not be there on unlock either.
        for window in self.space.elements() {
            if let Some(surface) = window.wl_surface() {
                for (popup, _) in smithay::desktop::PopupManager::popups_for_surface(&surface) {
                    if let PopupKind::Xdg(p) = popup {
                        p.send_popup_done();
                    }
                }
            }
        }
        for entry in &mut self.outputs {
            entry.lock.shown = false;
        }
        self.lock_focus_dropped = false;
        // The clipboard does not survive a lock: its owner is told its
        // selection is cancelled (and drops it), so an offer some client
        // kept from before has nothing left to read. While locked no client
        // has keyboard focus, so none may set a new selection either.
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
        if self.lock.engaged() {
            self.lock_engaged_at = Some(std::time::Instant::now());
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
        let generation = self.lock.submit()?;
        let password = self.password.take();
        if !self.send_helper(&Request::Authenticate {
            generation,
            password,
        }) {
            // No helper, no unlock.
            self.lock.helper_lost();
            self.lock_message = Some("Cannot check the password: no helper".into());
        }
        self.queue_redraw_all();
        Some(generation)
    }

    /// The helper answered a password.
    pub fn auth_answered(&mut self, generation: u64, outcome: AuthOutcome) {
        self.last_auth = Some((generation, outcome));
        match self.lock.answer(generation, outcome) {
            Answer::Stale => {}
            Answer::Unlocked => {
                info!(generation, "unlocked");
                self.lock_message = None;
                self.restore_focus = true;
                self.idle_unlocked();
            }
            Answer::StillLocked => {
                self.lock_message = outcome_message(outcome).map(String::from);
            }
        }
        self.queue_redraw_all();
    }

    /// The helper link went away: an authentication in flight can never
    /// be answered, so it fails closed.
    pub fn lock_helper_lost(&mut self) {
        if self.lock.phase() == Phase::Authenticating {
            self.lock.helper_lost();
            self.lock_message = Some("Cannot check the password: no helper".into());
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
        if self.retry_ticker.is_some() {
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
                    state.pal.retry_ticker = None;
                    TimeoutAction::Drop
                }
            },
        );
        match inserted {
            Ok(token) => self.retry_ticker = Some(token),
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
            user: self.session_user.clone(),
            dots: self.password.len_chars(),
            message: self.lock_message.clone(),
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
                self.lock_screen
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

impl State {
    /// Keeps clients away from input while locked, and gives focus back
    /// after an unlock. Runs every loop iteration, before rendering.
    pub fn enforce_lock(&mut self) {
        if self.pal.is_locked() {
            if self.pal.lock_focus_dropped {
                return;
            }
            self.pal.lock_focus_dropped = true;
            // A focus decided but not applied yet (a window that mapped
            // since the lock request and may take focus) is the one the
            // unlock gives back.
            let decided = self.pal.pending_focus.take().flatten();
            let serial = SERIAL_COUNTER.next_serial();
            let time = self.pal.now_ms();
            if let Some(keyboard) = self.pal.seat.get_keyboard() {
                self.pal.focus_before_lock = decided.or_else(|| keyboard.current_focus());
                keyboard.set_focus(self, None, serial);
            }
            if let Some(pointer) = self.pal.seat.get_pointer() {
                pointer.unset_grab(self, serial, time);
                let location = self.pal.pointer_location;
                pointer.motion(
                    self,
                    None,
                    &MotionEvent {
                        location,
                        serial,
                        time,
                    },
                );
                pointer.frame(self);
            }
        } else if std::mem::take(&mut self.pal.restore_focus) {
            let target = self.pal.focus_before_lock.take().filter(|s| s.alive());
            let window = target.and_then(|s| {
                self.pal
                    .space
                    .elements()
                    .find(|w| w.wl_surface().as_deref() == Some(&s))
                    .cloned()
            });
            let window = window.or_else(|| self.pal.space.elements().next_back().cloned());
            self.pal.focus_window(window.as_ref());
        }
    }
}
