//! Idle: after a while without input the screen locks by itself, and once a
//! lock has lasted a while without input the outputs are switched off. The
//! key that switches them on again is swallowed: it was meant to wake the
//! screen, not to start the password.
//!
//! There is one timer, armed only while a deadline exists. Input only stamps
//! an `Instant`; the timer, when it fires early, moves itself to the new
//! deadline, so a moving pointer costs no timer churn.
//!
//! Idle inhibitors (zwp_idle_inhibit_manager_v1, held by video players and
//! calls) follow `[lock] idle_inhibit`: by default they keep the outputs on
//! but never keep the session unlocked.

use std::time::{Duration, Instant};

use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::RegistrationToken;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::IsAlive;
use smithay::wayland::compositor::get_parent;
use smithay::wayland::idle_inhibit::IdleInhibitHandler;
use smithay::wayland::seat::WaylandFocus;
use tracing::{debug, info, warn};

use crate::config::IdleInhibit;
use crate::state::{Palisade, State};

/// The idle bookkeeping, one per compositor.
#[derive(Debug)]
pub struct Idle {
    /// The last keyboard or pointer input.
    pub last_input: Instant,
    /// False while the outputs are switched off.
    pub outputs_on: bool,
    /// How often the outputs have been switched off (tests count it).
    pub times_off: u64,
    /// How often an idle inhibitor held a deadline back (tests count it).
    pub inhibitor_holds: u64,
    /// When the current lock began.
    locked_since: Option<Instant>,
    timer: Option<RegistrationToken>,
    /// Surfaces with an idle inhibitor, once per inhibitor.
    inhibitors: Vec<WlSurface>,
}

impl Default for Idle {
    fn default() -> Self {
        Idle {
            last_input: Instant::now(),
            outputs_on: true,
            times_off: 0,
            inhibitor_holds: 0,
            locked_since: None,
            timer: None,
            inhibitors: Vec::new(),
        }
    }
}

/// What the next idle deadline brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Lock,
    OutputsOff,
}

impl Palisade {
    /// The next idle deadline, if any.
    fn idle_due(&self) -> Option<(Instant, Due)> {
        let lock = &self.config.lock;
        if self.is_locked() {
            if !self.idle.outputs_on {
                return None;
            }
            let since = self.idle.locked_since.unwrap_or(self.idle.last_input);
            let quiet_since = since.max(self.idle.last_input);
            Some((quiet_since + lock.outputs_off_after?, Due::OutputsOff))
        } else {
            Some((self.idle.last_input + lock.idle_after?, Due::Lock))
        }
    }

    /// When the idle timer will next act, if ever (for tests and the
    /// state dump).
    pub fn idle_next_deadline(&self) -> Option<Instant> {
        self.idle_due().map(|(at, _)| at)
    }

    /// Whether an idle inhibitor is in force: its surface belongs to a
    /// mapped window (the protocol honours inhibitors of visible surfaces
    /// only; a window hidden by the lock still counts, as it shows again on
    /// unlock).
    pub fn idle_inhibited(&self) -> bool {
        self.idle.inhibitors.iter().any(|surface| {
            if !surface.alive() {
                return false;
            }
            let mut root = surface.clone();
            while let Some(parent) = get_parent(&root) {
                root = parent;
            }
            (self.shell.space().elements()).any(|w| w.wl_surface().as_deref() == Some(&root))
        })
    }

    /// A lock began: the outputs-off countdown starts now.
    pub fn idle_lock_began(&mut self) {
        self.idle.locked_since = Some(Instant::now());
        self.idle_rearm();
    }

    /// The session unlocked: the idle countdown starts from the last input.
    pub fn idle_unlocked(&mut self) {
        self.idle.locked_since = None;
        self.idle_rearm();
    }

    /// Puts the timer at the current deadline (or removes it if there is
    /// none). Called when the deadline may have moved earlier: a lock, an
    /// unlock, a config change; later moves are left to the timer itself.
    pub fn idle_rearm(&mut self) {
        if let Some(token) = self.idle.timer.take() {
            self.loop_handle.remove(token);
        }
        let Some((at, _)) = self.idle_due() else {
            return;
        };
        let timer = Timer::from_deadline(at);
        match (self.loop_handle).insert_source(timer, |_, _, state: &mut State| state.idle_fire()) {
            Ok(token) => self.idle.timer = Some(token),
            Err(err) => warn!("arming the idle timer: {err}"),
        }
    }
}

impl State {
    /// Every keyboard and pointer event comes here first. Returns true when
    /// the event switched the outputs back on: then it must not do anything
    /// else (a key is not typed, a click not delivered).
    pub fn note_input(&mut self) -> bool {
        self.pal.idle.last_input = Instant::now();
        if !self.pal.idle.outputs_on {
            self.set_outputs_power(true);
            self.pal.idle_rearm();
            return true;
        }
        if self.pal.idle.timer.is_none() {
            self.pal.idle_rearm();
        }
        false
    }

    fn idle_fire(&mut self) -> TimeoutAction {
        let now = Instant::now();
        let Some((at, due)) = self.pal.idle_due() else {
            self.pal.idle.timer = None;
            return TimeoutAction::Drop;
        };
        if at > now {
            // Input came since the timer was set: wait for the new deadline.
            return TimeoutAction::ToInstant(at);
        }
        let policy = self.pal.config.lock.idle_inhibit;
        let inhibited = policy != IdleInhibit::Ignore && self.pal.idle_inhibited();
        match due {
            Due::Lock if inhibited && policy == IdleInhibit::PreventLock => {
                debug!("idle, but an idle inhibitor holds the lock back");
                self.pal.idle.inhibitor_holds += 1;
                return TimeoutAction::ToDuration(self.recheck_after(due));
            }
            Due::Lock => {
                info!("idle: locking");
                // `request_lock` re-arms the timer for the outputs-off
                // deadline; this registration ends.
                self.pal.idle.timer = None;
                self.pal.request_lock();
                return TimeoutAction::Drop;
            }
            Due::OutputsOff if inhibited => {
                debug!("an idle inhibitor keeps the outputs on");
                self.pal.idle.inhibitor_holds += 1;
                return TimeoutAction::ToDuration(self.recheck_after(due));
            }
            Due::OutputsOff => {
                info!("locked and idle: switching the outputs off");
                self.set_outputs_power(false);
            }
        }
        self.pal.idle.timer = None;
        TimeoutAction::Drop
    }

    /// While an inhibitor holds a deadline back, look again one period
    /// later (inhibitors can vanish with their window, unannounced).
    fn recheck_after(&self, due: Due) -> Duration {
        let lock = &self.pal.config.lock;
        let period = match due {
            Due::Lock => lock.idle_after,
            Due::OutputsOff => lock.outputs_off_after,
        };
        period.unwrap_or(Duration::from_secs(60))
    }

    /// Switches every output off (DPMS off on DRM; the virtual and nested
    /// outputs go black) or back on, redrawing everything.
    pub fn set_outputs_power(&mut self, on: bool) {
        if self.pal.idle.outputs_on == on {
            return;
        }
        self.pal.idle.outputs_on = on;
        if !on {
            self.pal.idle.times_off += 1;
        }
        self.backend.set_power(&mut self.pal, on);
        if on {
            self.pal.queue_redraw_all();
        }
    }
}

impl IdleInhibitHandler for State {
    fn inhibit(&mut self, surface: WlSurface) {
        debug!("idle inhibitor created");
        // One entry per inhibitor: a surface may hold several.
        self.pal.idle.inhibitors.retain(|s| s.alive());
        self.pal.idle.inhibitors.push(surface);
    }

    fn uninhibit(&mut self, surface: WlSurface) {
        debug!("idle inhibitor destroyed");
        let inhibitors = &mut self.pal.idle.inhibitors;
        if let Some(pos) = inhibitors.iter().position(|s| *s == surface) {
            inhibitors.swap_remove(pos);
        }
        inhibitors.retain(|s| s.alive());
    }
}
