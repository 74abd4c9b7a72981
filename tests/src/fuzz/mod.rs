//! A seeded, deterministic property test of the trusted path (DESIGN.md
//! rules 3, 4, 6, 8 and 9). A case is a handful of in-process clients of
//! distinct identities and a sequence of [`ops::Op`]s, some by hostile
//! clients (windows, popups grabbing with any serial, subsurfaces and
//! cursors anywhere, drags, fullscreen, huge sizes, other identities'
//! names, the clipboard), some by the user (focus keys, clicks on windows,
//! the strip and panel entries, typing, lock and unlock, output hotplug at
//! scales 1, 1.5 and 2). After every op the world is settled and the
//! invariants of [`check`] are checked; a failing case is shrunk
//! ([`shrink`]) and printed as Rust for a regression test.
//!
//! - `gen`: cases from seeds; `rng`: SplitMix64.
//! - `runner`: the world a case runs in and what each op does.
//! - `check`: the invariants.
//! - `view`: every read of compositor internals (adapt it, and only it,
//!   to run against another version of the compositor).

pub mod check;
pub mod gen;
pub mod ops;
pub mod rng;
pub mod runner;
pub mod shrink;
pub mod view;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use check::{Breach, Invariant};
use ops::Op;
use runner::World;

/// One case: how many clients (one identity each) and what happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub clients: usize,
    pub ops: Vec<Op>,
}

/// The first op after which an invariant did not hold, and every breach
/// seen then.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub op: usize,
    pub breaches: Vec<Breach>,
}

impl Failure {
    /// The invariant this failure is filed under: its first breach's.
    pub fn invariant(&self) -> Invariant {
        self.breaches
            .first()
            .map_or(Invariant::Harness, |b| b.invariant)
    }

    /// Whether this failure breaks the invariant `like` broke (the
    /// shrinker keeps a smaller case only if it does); with `same_kind`,
    /// also through the same check. A harness failure must be the same
    /// wait or panic.
    pub fn breaks(&self, like: &Failure, same_kind: bool) -> bool {
        let Some(first) = like.breaches.first() else {
            return false;
        };
        if first.invariant == Invariant::Harness {
            let key = |f: &Failure| f.breaches.first().map(|b| harness_key(&b.what));
            return self.invariant() == Invariant::Harness && key(self) == key(like);
        }
        (self.breaches.iter())
            .any(|b| b.invariant == first.invariant && (!same_kind || b.kind == first.kind))
    }

    /// The check that saw the first breach.
    pub fn kind(&self) -> &'static str {
        self.breaches.first().map_or("none", |b| b.kind)
    }

    pub fn report(&self, case: &Case) -> String {
        let op = case
            .ops
            .get(self.op)
            .map_or("(setup)".into(), |o| format!("{o:?}"));
        let mut text = format!(
            "{} broken after op {} (counting from 0) of {}: {op}\n",
            self.invariant().describe(),
            self.op,
            case.ops.len()
        );
        for b in &self.breaches {
            text.push_str(&format!("  - [{:?} {}] {}\n", b.invariant, b.kind, b.what));
        }
        text
    }
}

/// What identifies a harness failure: its message up to the state dump.
fn harness_key(what: &str) -> String {
    let head = what.split("; state").next().unwrap_or(what);
    head.chars().take(120).collect()
}

/// What one run covered.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ops: usize,
    pub frames: u64,
    pub coverage: runner::Coverage,
    pub failure: Option<Failure>,
}

thread_local! {
    /// Set while a case runs: its panics are failures the runner reports
    /// itself, so the default hook's message would only be noise (above
    /// all while shrinking, which fails on purpose hundreds of times).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

impl Case {
    /// Run from a fresh compositor, stopping at the first breach.
    pub fn run(&self) -> Outcome {
        install_quiet_hook();
        let progress = Cell::new((0usize, 0u64, runner::Coverage::default()));
        QUIET.with(|q| q.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut world = World::new(self.clients);
            for (i, op) in self.ops.iter().enumerate() {
                progress.set((i, world.frames(), world.coverage));
                let before = check::before(&mut world);
                world.apply(op);
                let breaches = check::check(&mut world, op, &before);
                if !breaches.is_empty() {
                    let failure = Failure { op: i, breaches };
                    return (i + 1, world.frames(), world.coverage, Some(failure));
                }
            }
            (self.ops.len(), world.frames(), world.coverage, None)
        }));
        QUIET.with(|q| q.set(false));
        match result {
            Ok((ops, frames, coverage, failure)) => Outcome {
                ops,
                frames,
                coverage,
                failure,
            },
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic without a message".into());
                let (op, frames, coverage) = progress.get();
                Outcome {
                    ops: op + 1,
                    frames,
                    coverage,
                    failure: Some(Failure {
                        op,
                        breaches: vec![Breach {
                            invariant: Invariant::Harness,
                            kind: "harness",
                            what,
                        }],
                    }),
                }
            }
        }
    }

    /// For regression tests: the case runs with every invariant holding.
    #[track_caller]
    pub fn assert_holds(&self) {
        if let Some(failure) = self.run().failure {
            panic!("{}", failure.report(self));
        }
    }

    /// The case as Rust code: a regression test named `name`.
    pub fn to_rust(&self, name: &str, comment: &str) -> String {
        let mut code = String::new();
        for line in comment.lines() {
            code.push_str(&format!("/// {line}\n"));
        }
        code.push_str(&format!(
            "#[test]\nfn {name}() {{\n    Case {{\n        clients: {},\n        ops: vec![\n",
            self.clients
        ));
        for op in &self.ops {
            code.push_str(&format!("            {op:?},\n"));
        }
        code.push_str("        ],\n    }\n    .assert_holds();\n}\n");
        code
    }
}

/// How much to run: a fixed number of seeds by default (the same ones on
/// every run), or what the environment asks for.
#[derive(Debug, Clone)]
pub struct Budget {
    pub start_seed: u64,
    pub cases: Option<u64>,
    pub time: Option<Duration>,
    /// Keep going after a failure, shrinking the first failure of each
    /// kind of breach (see `check::Breach::kind`) to one of that kind.
    pub keep_going: bool,
}

impl Budget {
    /// `PALISADE_FUZZ_SEED` (first seed), `PALISADE_FUZZ_CASES` (how
    /// many), `PALISADE_FUZZ_SECS` (for how long; with CASES, whichever
    /// ends first), `PALISADE_FUZZ_KEEP_GOING=1`.
    pub fn from_env(default_cases: u64) -> Budget {
        let var = |name: &str| {
            std::env::var(name).ok().map(|v| {
                let v = v.trim();
                let parsed = match v.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
            })
        };
        let time = var("PALISADE_FUZZ_SECS").map(Duration::from_secs);
        let cases = var("PALISADE_FUZZ_CASES").or(time.is_none().then_some(default_cases));
        Budget {
            start_seed: var("PALISADE_FUZZ_SEED").unwrap_or(1),
            cases,
            time,
            keep_going: var("PALISADE_FUZZ_KEEP_GOING").is_some_and(|v| v != 0),
        }
    }
}

/// What a budget covered, and the shrunk failures.
#[derive(Debug, Default)]
pub struct Summary {
    pub sequences: u64,
    pub ops: u64,
    pub frames: u64,
    pub coverage: runner::Coverage,
    pub wall: Duration,
    /// (seed, shrunk case, its failure, whether the shrunk case failed
    /// again when rerun).
    pub failures: Vec<(u64, Case, Failure, bool)>,
}

/// Run the budget's seeds; a failure is shrunk and printed (with
/// `keep_going`, the first of every kind of breach).
pub fn run_budget(budget: &Budget) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut seed = budget.start_seed;
    loop {
        let out_of_cases = budget.cases.is_some_and(|n| summary.sequences >= n);
        let out_of_time = budget.time.is_some_and(|t| started.elapsed() >= t);
        if out_of_cases || out_of_time {
            break;
        }
        let case = gen::case(seed);
        let outcome = case.run();
        summary.sequences += 1;
        summary.ops += outcome.ops as u64;
        summary.frames += outcome.frames;
        summary.coverage.add(&outcome.coverage);
        if let Some(failure) = outcome.failure {
            tracing::warn!(seed, "fuzz case failed:\n{}", failure.report(&case));
            if !seen.contains(&failure.kind()) {
                seen.push(failure.kind());
                let same_kind = budget.keep_going;
                let (small, small_failure) = shrink::shrink(&case, &failure, same_kind);
                let again =
                    (small.run().failure).is_some_and(|f| f.breaks(&small_failure, same_kind));
                print_failure(seed, &small, &small_failure, again);
                summary.failures.push((seed, small, small_failure, again));
            }
            if !budget.keep_going {
                break;
            }
        }
        seed += 1;
    }
    summary.wall = started.elapsed();
    summary
}

// The shrunk case is the fuzzer's product: it goes to stderr, whatever
// the log filter, for the developer to paste.
#[allow(clippy::print_stderr)]
fn print_failure(seed: u64, case: &Case, failure: &Failure, again: bool) {
    let comment = format!(
        "Found by seed {seed}{}.\n{}",
        if again {
            ""
        } else {
            " (the shrunk case did not fail again: flaky?)"
        },
        failure.report(case)
    );
    let name = format!("fuzz_seed_{seed}_{}", failure.kind()).replace('-', "_");
    eprintln!("\n{}", case.to_rust(&name, &comment));
}

/// The summary line the README records.
#[allow(clippy::print_stderr)]
pub fn print_summary(budget: &Budget, summary: &Summary) {
    eprintln!(
        "fuzz_trusted_path: seeds {}..{}: {} sequences, {} ops, {} rendered frames in {:.1} s; {} \
         failing invariant(s)",
        budget.start_seed,
        budget.start_seed + summary.sequences,
        summary.sequences,
        summary.ops,
        summary.frames,
        summary.wall.as_secs_f64(),
        summary.failures.len()
    );
    eprintln!("fuzz_trusted_path: covered {:?}", summary.coverage);
}
