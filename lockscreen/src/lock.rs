//! The lock state machine.
//!
//! Four phases and a generation number. Every lock gets a new generation and
//! every password sent to the helper carries it, so an answer to a password
//! typed during an earlier lock can never end a later one. The only way to
//! `Unlocked` is [`Lock::answer`] with `Accepted` for the password in flight;
//! everything else that can go wrong (helper gone, odd answers, answers that
//! arrive late) leaves the screen locked.
//!
//! A compositor that restarts (or crashes and is restarted by the helper)
//! does not carry its old `Lock` over: it starts with [`Lock::new_locked`],
//! so a restart can only ever add a lock, and an answer addressed to the dead
//! compositor's generation has no password in flight to match.

use palisade_shortcuts::proto::AuthOutcome;

/// Where the lock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Clients are shown and get input.
    Unlocked,
    /// A lock was requested: no client pixel or input any more, but not
    /// every output has shown a locked frame yet.
    Locking,
    /// Every output shows the lock screen; a password may be submitted.
    Locked,
    /// A password is with the helper; waiting for its answer.
    Authenticating,
}

/// What [`Lock::answer`] did with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The password was accepted: the session is unlocked.
    Unlocked,
    /// The answer was for the password in flight and did not unlock.
    StillLocked,
    /// Not for the password in flight (old generation, or none in flight):
    /// ignored, nothing changed.
    Stale,
}

/// The lock state machine. Invariant: it reaches Unlocked ONLY through
/// `answer(g, AuthOutcome::Accepted)` where g is the current generation and
/// the phase is Authenticating for that same g.
#[derive(Debug, Clone)]
pub struct Lock {
    phase: Phase,
    generation: u64,
    retry_after_ms: Option<u64>,
}

impl Lock {
    /// Session start (and every compositor restart): Locking, generation 1.
    /// The lock screen is also the login screen.
    pub fn new_locked() -> Lock {
        Lock {
            phase: Phase::Locking,
            generation: 1,
            retry_after_ms: None,
        }
    }

    /// Unlocked at generation 0. Only for runs without a helper-backed
    /// session (nested development, tests): with no helper nothing could
    /// ever unlock a session started locked.
    pub fn new_unlocked() -> Lock {
        Lock {
            phase: Phase::Unlocked,
            generation: 0,
            retry_after_ms: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The current lock's number; 0 only before the first lock of a
    /// [`Lock::new_unlocked`] run.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn is_unlocked(&self) -> bool {
        self.phase == Phase::Unlocked
    }

    /// The wait the helper asked for after the last wrong (or too early)
    /// password of this lock, as it sent it; the compositor turns it into a
    /// deadline. Cleared by the next submit, by unlocking and by a new lock.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }

    /// A lock request (shortcut, SAK, idle, logind, panel button). From
    /// Unlocked: Locking, generation+1, returns true. From any other phase:
    /// no change, false — the screen is already locked, and a password in
    /// flight stays valid because it was typed on this lock's screen.
    pub fn lock(&mut self) -> bool {
        if self.phase != Phase::Unlocked {
            return false;
        }
        self.phase = Phase::Locking;
        // 2^64 locks cannot happen; saturating merely rules out a wrap back
        // to generations that were used before.
        self.generation = self.generation.saturating_add(1);
        self.retry_after_ms = None;
        true
    }

    /// Every output has shown a locked frame: Locking -> Locked. Otherwise a
    /// no-op. Returns true on the transition. Outputs added later start
    /// locked from their first frame, so they do not move the phase back.
    pub fn engaged(&mut self) -> bool {
        if self.phase != Phase::Locking {
            return false;
        }
        self.phase = Phase::Locked;
        true
    }

    /// The user pressed Enter with a password: Locked -> Authenticating,
    /// returns the generation to send with it. None in any other phase, and
    /// then nothing is sent: before the lock is engaged the user cannot be
    /// sure what they typed into, and one password at a time is checked.
    pub fn submit(&mut self) -> Option<u64> {
        if self.phase != Phase::Locked {
            return None;
        }
        self.phase = Phase::Authenticating;
        self.retry_after_ms = None;
        Some(self.generation)
    }

    /// The helper's answer. Ignored (returns Stale) unless the phase is
    /// Authenticating and `generation` is the current one. Accepted ->
    /// Unlocked. Rejected/Throttled -> Locked with the retry-after recorded.
    /// Busy/Unavailable -> Locked.
    pub fn answer(&mut self, generation: u64, outcome: AuthOutcome) -> Answer {
        if self.phase != Phase::Authenticating || generation != self.generation {
            return Answer::Stale;
        }
        match outcome {
            AuthOutcome::Accepted => {
                self.phase = Phase::Unlocked;
                self.retry_after_ms = None;
                Answer::Unlocked
            }
            AuthOutcome::Rejected { retry_after_ms }
            | AuthOutcome::Throttled { retry_after_ms } => {
                self.phase = Phase::Locked;
                self.retry_after_ms = Some(retry_after_ms);
                Answer::StillLocked
            }
            AuthOutcome::Busy | AuthOutcome::Unavailable => {
                self.phase = Phase::Locked;
                Answer::StillLocked
            }
        }
    }

    /// The helper link died: Authenticating -> Locked. Fails closed: the
    /// password in flight will never be answered, and without a helper
    /// nothing unlocks. A no-op in every other phase.
    pub fn helper_lost(&mut self) {
        if self.phase == Phase::Authenticating {
            self.phase = Phase::Locked;
        }
    }
}

/// The line the lock screen shows for an answer that did not unlock; None
/// for `Accepted`. Kept here so every caller words it the same way.
pub fn outcome_message(outcome: AuthOutcome) -> Option<&'static str> {
    match outcome {
        AuthOutcome::Accepted => None,
        AuthOutcome::Rejected { .. } => Some("Wrong password"),
        AuthOutcome::Throttled { .. } => Some("Too soon after a wrong password"),
        AuthOutcome::Busy => Some("Still checking the previous password"),
        AuthOutcome::Unavailable => Some("Passwords cannot be checked right now"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REJECTED: AuthOutcome = AuthOutcome::Rejected {
        retry_after_ms: 2000,
    };

    /// A lock at generation 1 with a password in flight.
    fn authenticating() -> Lock {
        let mut l = Lock::new_locked();
        assert!(l.engaged());
        assert_eq!(l.submit(), Some(1));
        l
    }

    #[test]
    fn constructors() {
        let l = Lock::new_locked();
        assert_eq!((l.phase(), l.generation()), (Phase::Locking, 1));
        assert!(!l.is_unlocked());
        let u = Lock::new_unlocked();
        assert_eq!((u.phase(), u.generation()), (Phase::Unlocked, 0));
        assert!(u.is_unlocked());
    }

    #[test]
    fn lock_only_from_unlocked_and_bumps_generation() {
        let mut l = Lock::new_unlocked();
        assert!(l.lock());
        assert_eq!((l.phase(), l.generation()), (Phase::Locking, 1));
        assert!(!l.lock());
        assert!(l.engaged());
        assert!(!l.lock());
        assert_eq!(l.submit(), Some(1));
        assert!(!l.lock());
        assert_eq!((l.phase(), l.generation()), (Phase::Authenticating, 1));
    }

    #[test]
    fn engaged_only_from_locking() {
        let mut l = Lock::new_unlocked();
        assert!(!l.engaged());
        assert_eq!(l.phase(), Phase::Unlocked);
        let mut l = authenticating();
        assert!(!l.engaged());
        assert_eq!(l.phase(), Phase::Authenticating);
        l.helper_lost();
        assert!(!l.engaged());
        assert_eq!(l.phase(), Phase::Locked);
    }

    #[test]
    fn submit_only_from_locked() {
        let mut l = Lock::new_locked();
        assert_eq!(l.submit(), None, "not engaged yet");
        assert_eq!(l.phase(), Phase::Locking);
        let mut l = authenticating();
        assert_eq!(l.submit(), None, "one password at a time");
        let mut u = Lock::new_unlocked();
        assert_eq!(u.submit(), None);
        assert_eq!(u.phase(), Phase::Unlocked);
    }

    #[test]
    fn accepted_for_the_current_generation_unlocks() {
        let mut l = authenticating();
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Unlocked);
        assert!(l.is_unlocked());
        assert_eq!(l.generation(), 1);
        assert!(l.lock());
        assert_eq!(l.generation(), 2);
    }

    #[test]
    fn failures_stay_locked_and_record_the_wait() {
        for (outcome, retry) in [
            (REJECTED, Some(2000)),
            (
                AuthOutcome::Throttled {
                    retry_after_ms: 500,
                },
                Some(500),
            ),
            (AuthOutcome::Busy, None),
            (AuthOutcome::Unavailable, None),
        ] {
            let mut l = authenticating();
            assert_eq!(l.answer(1, outcome), Answer::StillLocked, "{outcome:?}");
            assert_eq!(l.phase(), Phase::Locked);
            assert_eq!(l.retry_after_ms(), retry);
            // The next attempt clears the old wait.
            assert_eq!(l.submit(), Some(1));
            assert_eq!(l.retry_after_ms(), None);
        }
    }

    #[test]
    fn stale_answers_are_ignored() {
        // Wrong generation while a password is in flight.
        let mut l = authenticating();
        for g in [0, 2, u64::MAX] {
            assert_eq!(l.answer(g, AuthOutcome::Accepted), Answer::Stale);
            assert_eq!(l.phase(), Phase::Authenticating);
        }
        // Right generation but nothing in flight.
        let mut l = Lock::new_locked();
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
        assert_eq!(l.phase(), Phase::Locking);
        l.engaged();
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
        assert_eq!(l.phase(), Phase::Locked);
        // A second answer to one password.
        let mut l = authenticating();
        assert_eq!(l.answer(1, REJECTED), Answer::StillLocked);
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
        assert_eq!(l.phase(), Phase::Locked);
        // Already unlocked: nothing to do.
        let mut u = Lock::new_unlocked();
        assert_eq!(u.answer(0, REJECTED), Answer::Stale);
        assert!(u.is_unlocked());
    }

    #[test]
    fn an_answer_from_an_earlier_lock_cannot_end_a_later_one() {
        let mut l = authenticating();
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Unlocked);
        l.lock();
        l.engaged();
        assert_eq!(l.submit(), Some(2));
        // A duplicate of generation 1's acceptance arrives late.
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
        assert_eq!(l.phase(), Phase::Authenticating);
    }

    #[test]
    fn helper_lost_never_unlocks() {
        let mut l = authenticating();
        l.helper_lost();
        assert_eq!(l.phase(), Phase::Locked);
        // The answer to the lost request, should it still turn up, is stale.
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
        assert_eq!(l.phase(), Phase::Locked);
        for mut l in [Lock::new_locked(), Lock::new_unlocked()] {
            let before = l.phase();
            l.helper_lost();
            assert_eq!(l.phase(), before);
        }
    }

    #[test]
    fn a_restart_comes_up_locked() {
        let mut l = authenticating();
        l.answer(1, AuthOutcome::Accepted);
        // The compositor restarts: its state is not carried over.
        let mut l = Lock::new_locked();
        assert_eq!(l.phase(), Phase::Locking);
        assert_eq!(l.answer(1, AuthOutcome::Accepted), Answer::Stale);
    }

    #[test]
    fn messages() {
        assert_eq!(outcome_message(AuthOutcome::Accepted), None);
        assert_eq!(outcome_message(REJECTED), Some("Wrong password"));
        assert!(outcome_message(AuthOutcome::Busy).is_some());
    }
}
