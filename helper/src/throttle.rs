//! Failed-attempt throttling for password checks.
//!
//! The schedule is Android Gatekeeper's (AOSP `system/gatekeeper`,
//! `gatekeeper.cpp`, `GateKeeper::ComputeRetryTimeout`), with its 30 s
//! constant turned into a unit `U` so tests can scale the whole schedule:
//!
//! | failures  | delay before the next attempt |
//! |-----------|-------------------------------|
//! | 1–4       | none                          |
//! | 5         | U                             |
//! | 6–9       | none                          |
//! | 10        | U                             |
//! | 11–29     | U                             |
//! | 30–139    | U · 2^((n − 30) / 10)         |
//! | 140+      | 2880 · U (one day when U = 30 s) |
//!
//! A few typos cost nothing, a guessing attack is slowed to a crawl, and the
//! owner is never locked out for good. The delay counts from the latest
//! failure, as in Gatekeeper. The count lives in memory only: a reboot resets
//! it, but a reboot also puts the disk keys back at rest, which is the point.

use std::time::{Duration, Instant};

/// One day expressed in Gatekeeper's 30 s units.
const DAY_UNITS: u64 = 24 * 60 * 60 / 30;

/// How many units `U` to wait after the `failures`-th consecutive failure.
pub fn delay_units(failures: u32) -> u64 {
    match failures {
        0 => 0,
        5 | 10 => 1,
        1..=9 => 0,
        11..=29 => 1,
        // (139 - 30) / 10 = 10 at most, so the shift cannot overflow.
        30..=139 => 1 << ((failures - 30) / 10),
        _ => DAY_UNITS,
    }
}

/// Consecutive-failure counter with the time of the latest failure.
#[derive(Debug, Clone)]
pub struct Throttle {
    unit: Duration,
    failures: u32,
    last_failure: Option<Instant>,
}

impl Throttle {
    /// `unit` is `U` in the schedule: 30 s in production.
    pub fn new(unit: Duration) -> Throttle {
        Throttle {
            unit,
            failures: 0,
            last_failure: None,
        }
    }

    /// How long until a password may be checked; zero means now. Callers
    /// refuse (and do not count) attempts made while this is non-zero.
    pub fn retry_after(&self, now: Instant) -> Duration {
        let Some(last) = self.last_failure else {
            return Duration::ZERO;
        };
        // Subtracting the elapsed time avoids `Instant + Duration`, which
        // panics on overflow; a clock reading before `last` counts as zero
        // elapsed, so the full delay remains.
        self.delay()
            .saturating_sub(now.saturating_duration_since(last))
    }

    /// Counts a wrong password seen at `now`; returns the new wait.
    pub fn record_failure(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        self.retry_after(now)
    }

    /// A right password clears the record.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.last_failure = None;
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn delay(&self) -> Duration {
        let units = u32::try_from(delay_units(self.failures)).unwrap_or(u32::MAX);
        self.unit.checked_mul(units).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_boundaries() {
        let expect: &[(u32, u64)] = &[
            (0, 0),
            (1, 0),
            (4, 0),
            (5, 1),
            (6, 0),
            (9, 0),
            (10, 1),
            (11, 1),
            (29, 1),
            (30, 1),
            (39, 1),
            (40, 2),
            (49, 2),
            (50, 4),
            (129, 512),
            (130, 1024),
            (139, 1024),
            (140, 2880),
            (1_000, 2880),
            (u32::MAX, 2880),
        ];
        for &(n, units) in expect {
            assert_eq!(delay_units(n), units, "failures = {n}");
        }
    }

    #[test]
    fn one_day_at_production_unit() {
        let day = Duration::from_secs(30) * delay_units(140) as u32;
        assert_eq!(day, Duration::from_secs(86_400));
    }

    #[test]
    fn non_decreasing_from_ten() {
        let mut prev = delay_units(10);
        for n in 11..=400 {
            let d = delay_units(n);
            assert!(d >= prev, "delay dropped at {n}");
            prev = d;
        }
    }

    #[test]
    fn throttle_counts_and_waits() {
        let u = Duration::from_millis(100);
        let mut t = Throttle::new(u);
        let t0 = Instant::now();
        assert_eq!(t.retry_after(t0), Duration::ZERO);
        for _ in 0..4 {
            assert_eq!(t.record_failure(t0), Duration::ZERO);
        }
        assert_eq!(t.record_failure(t0), u);
        assert_eq!(t.failures(), 5);
        assert_eq!(t.retry_after(t0 + u / 4), u * 3 / 4);
        assert_eq!(t.retry_after(t0 + u), Duration::ZERO);
        assert_eq!(t.retry_after(t0 + u * 10), Duration::ZERO);
        // A clock reading before the failure keeps the full delay.
        let t1 = t0 + u;
        t.record_failure(t1);
        t.record_failure(t1);
        t.record_failure(t1);
        t.record_failure(t1);
        assert_eq!(t.record_failure(t1), u);
        assert_eq!(t.retry_after(t0), u);
        t.record_success();
        assert_eq!(t.failures(), 0);
        assert_eq!(t.retry_after(t1), Duration::ZERO);
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut t = Throttle {
            unit: Duration::MAX,
            failures: u32::MAX - 1,
            last_failure: None,
        };
        let now = Instant::now();
        assert_eq!(t.record_failure(now), Duration::MAX);
        assert_eq!(t.record_failure(now), Duration::MAX);
        assert_eq!(t.failures(), u32::MAX);
        assert_eq!(t.retry_after(now), Duration::MAX);
    }
}
