//! Shrinking a failing case by delta debugging: cut everything after the
//! failing op, then try dropping chunks (halves, quarters, ...), then
//! single ops, then a client, each candidate run from a fresh compositor,
//! keeping any candidate that still breaks the same invariant (and, if
//! asked, through the same check). Ops refer
//! to windows and clients by position modulo what exists (see `ops`), so
//! every candidate is a valid case.

use std::time::{Duration, Instant};

use super::{Case, Failure};

/// Shrinking stops improving after this long (`PALISADE_FUZZ_SHRINK_SECS`
/// to change it): a half-shrunk case is still a valid report.
const DEFAULT_LIMIT: Duration = Duration::from_secs(900);

pub fn shrink(case: &Case, failure: &Failure, same_kind: bool) -> (Case, Failure) {
    let limit = std::env::var("PALISADE_FUZZ_SHRINK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(DEFAULT_LIMIT, Duration::from_secs);
    let mut s = Shrinker {
        like: failure.clone(),
        same_kind,
        best: truncated(case, failure),
        best_failure: failure.clone(),
        deadline: Instant::now() + limit,
        runs: 0,
    };
    s.chunks();
    s.singles();
    s.fewer_clients();
    // Dropping a client can make more ops droppable.
    s.singles();
    tracing::warn!(
        runs = s.runs,
        ops = s.best.ops.len(),
        "shrunk a failing case from {} ops",
        failure.op + 1
    );
    (s.best, s.best_failure)
}

/// Ops after the failing one never ran.
fn truncated(case: &Case, failure: &Failure) -> Case {
    Case {
        clients: case.clients,
        ops: case.ops[..=failure.op.min(case.ops.len().saturating_sub(1))].to_vec(),
    }
}

struct Shrinker {
    like: Failure,
    same_kind: bool,
    best: Case,
    best_failure: Failure,
    deadline: Instant,
    runs: usize,
}

impl Shrinker {
    /// Keep `candidate` if it still fails like the original.
    fn try_case(&mut self, candidate: Case) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        self.runs += 1;
        match candidate.run().failure {
            Some(f) if f.breaks(&self.like, self.same_kind) => {
                self.best = truncated(&candidate, &f);
                self.best_failure = f;
                true
            }
            _ => false,
        }
    }

    fn without(&self, start: usize, len: usize) -> Case {
        let mut ops = self.best.ops.clone();
        ops.drain(start..(start + len).min(ops.len()));
        Case {
            clients: self.best.clients,
            ops,
        }
    }

    /// ddmin: drop one of n chunks; on success coarsen, else refine.
    fn chunks(&mut self) {
        let mut n = 2;
        while self.best.ops.len() >= 2 && Instant::now() < self.deadline {
            let len = self.best.ops.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            let mut start = 0;
            while start < len {
                if self.try_case(self.without(start, chunk)) {
                    reduced = true;
                    break;
                }
                start += chunk;
            }
            if reduced {
                n = (n - 1).max(2);
            } else if chunk == 1 {
                break;
            } else {
                n = (n * 2).min(len);
            }
        }
    }

    /// Drop single ops, last first, until none can go.
    fn singles(&mut self) {
        loop {
            let mut changed = false;
            let mut i = self.best.ops.len();
            while i > 0 {
                i -= 1;
                if i < self.best.ops.len() && self.try_case(self.without(i, 1)) {
                    changed = true;
                }
            }
            if !changed || Instant::now() >= self.deadline {
                return;
            }
        }
    }

    fn fewer_clients(&mut self) {
        while self.best.clients > 1 {
            let candidate = Case {
                clients: self.best.clients - 1,
                ops: self.best.ops.clone(),
            };
            if !self.try_case(candidate) {
                return;
            }
        }
    }
}
