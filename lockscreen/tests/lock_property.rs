//! A property test of the lock state machine: random sequences of lock
//! requests, engagement, submits, answers (for the current, the previous and
//! the next generation), helper losses, compositor crashes and idle
//! timeouts never reach Unlocked without an accepted password for the
//! current generation, checked after every step against the test's own
//! model of the rules.

use palisade_lockscreen::{Answer, AuthOutcome, Lock, Phase};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A lock request: shortcut, SAK, logind, panel button.
    Lock,
    /// Every output has shown a locked frame.
    Engaged,
    /// Enter with a password.
    Submit,
    /// The helper's answer for current generation + `delta`.
    Answer {
        delta: i8,
        outcome: AuthOutcome,
    },
    HelperLost,
    /// The compositor died; the helper starts a new one.
    Crash,
    /// The idle timer fired: another lock request.
    Timeout,
}

fn outcome() -> impl Strategy<Value = AuthOutcome> {
    prop_oneof![
        3 => Just(AuthOutcome::Accepted),
        1 => any::<u64>().prop_map(|retry_after_ms| AuthOutcome::Rejected { retry_after_ms }),
        1 => any::<u64>().prop_map(|retry_after_ms| AuthOutcome::Throttled { retry_after_ms }),
        1 => Just(AuthOutcome::Busy),
        1 => Just(AuthOutcome::Unavailable),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Lock),
        2 => Just(Op::Engaged),
        3 => Just(Op::Submit),
        5 => (-1i8..=1, outcome()).prop_map(|(delta, outcome)| Op::Answer { delta, outcome }),
        1 => Just(Op::HelperLost),
        1 => Just(Op::Crash),
        1 => Just(Op::Timeout),
    ]
}

/// The rules, written independently of the implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Model {
    phase: Phase,
    generation: u64,
}

impl Model {
    fn lock(&mut self) -> bool {
        if self.phase != Phase::Unlocked {
            return false;
        }
        *self = Model {
            phase: Phase::Locking,
            generation: self.generation + 1,
        };
        true
    }
}

fn run(start_locked: bool, ops: &[Op]) -> Result<Lock, TestCaseError> {
    let mut lock = if start_locked {
        Lock::new_locked()
    } else {
        Lock::new_unlocked()
    };
    let mut model = if start_locked {
        Model {
            phase: Phase::Locking,
            generation: 1,
        }
    } else {
        Model {
            phase: Phase::Unlocked,
            generation: 0,
        }
    };
    for (step, op) in ops.iter().enumerate() {
        let before = Model {
            phase: lock.phase(),
            generation: lock.generation(),
        };
        let mut crashed = false;
        let mut unlocked_by_answer: Option<u64> = None;
        match op {
            Op::Lock | Op::Timeout => {
                let expected = model.lock();
                prop_assert_eq!(lock.lock(), expected, "step {}: {:?}", step, op);
            }
            Op::Engaged => {
                let expected = model.phase == Phase::Locking;
                if expected {
                    model.phase = Phase::Locked;
                }
                prop_assert_eq!(lock.engaged(), expected, "step {}", step);
            }
            Op::Submit => {
                let got = lock.submit();
                // Submit only returns Some from Locked, with the current
                // generation.
                if before.phase == Phase::Locked {
                    prop_assert_eq!(got, Some(before.generation), "step {}", step);
                    model.phase = Phase::Authenticating;
                } else {
                    prop_assert_eq!(got, None, "step {}: submit from {:?}", step, before);
                }
            }
            Op::Answer { delta, outcome } => {
                let g = before.generation.saturating_add_signed(i64::from(*delta));
                let got = lock.answer(g, *outcome);
                let for_us = model.phase == Phase::Authenticating && g == model.generation;
                let expected = match (for_us, outcome) {
                    (false, _) => Answer::Stale,
                    (true, AuthOutcome::Accepted) => {
                        model.phase = Phase::Unlocked;
                        unlocked_by_answer = Some(g);
                        Answer::Unlocked
                    }
                    (true, _) => {
                        model.phase = Phase::Locked;
                        Answer::StillLocked
                    }
                };
                prop_assert_eq!(got, expected, "step {}: {:?} in {:?}", step, op, before);
            }
            Op::HelperLost => {
                if model.phase == Phase::Authenticating {
                    model.phase = Phase::Locked;
                }
                lock.helper_lost();
            }
            Op::Crash => {
                lock = Lock::new_locked();
                model = Model {
                    phase: Phase::Locking,
                    generation: 1,
                };
                crashed = true;
            }
        }
        let after = Model {
            phase: lock.phase(),
            generation: lock.generation(),
        };
        prop_assert_eq!(after, model, "step {}: {:?} from {:?}", step, op, before);
        prop_assert_eq!(lock.is_unlocked(), after.phase == Phase::Unlocked);

        // The generation never goes back, except that a crash restarts the
        // count at 1, locking.
        if crashed {
            prop_assert_eq!((after.phase, after.generation), (Phase::Locking, 1));
        } else {
            prop_assert!(after.generation >= before.generation, "step {}", step);
        }

        // Unlocked only through an accepted answer for the generation that
        // was current, with that generation's password in flight.
        if after.phase == Phase::Unlocked && before.phase != Phase::Unlocked {
            let g = unlocked_by_answer;
            prop_assert!(g.is_some(), "step {}: unlocked by {:?}", step, op);
            prop_assert_eq!(before.phase, Phase::Authenticating);
            prop_assert_eq!(g, Some(before.generation));
            prop_assert_eq!(after.generation, before.generation);
        }
        // Still unlocked from before: only an unlocked start (generation 0)
        // or an accepted answer can have put it there, which the check
        // above has seen at the step it happened.
        if after.phase == Phase::Unlocked && before.phase == Phase::Unlocked {
            prop_assert_eq!(after.generation, before.generation);
        }
    }
    Ok(lock)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        // Failures are reported with the shrunk sequence; no files written
        // next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_unlocked_without_an_accepted_password_for_the_current_generation(
        start_locked in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(start_locked, &ops)?;
    }
}

/// The generator does reach Unlocked from a lock, so the property above is
/// not passing vacuously.
#[test]
fn the_happy_path_is_reachable() {
    let ops = [
        Op::Engaged,
        Op::Submit,
        Op::Answer {
            delta: 0,
            outcome: AuthOutcome::Accepted,
        },
        Op::Timeout,
        Op::Engaged,
        Op::Submit,
        Op::Answer {
            delta: -1,
            outcome: AuthOutcome::Accepted,
        },
        Op::HelperLost,
        Op::Submit,
        Op::Answer {
            delta: 0,
            outcome: AuthOutcome::Accepted,
        },
    ];
    let lock = run(true, &ops).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((lock.phase(), lock.generation()), (Phase::Unlocked, 2));
}
