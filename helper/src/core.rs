//! The helper's decisions, without I/O: lock state, the USB grant, the
//! reboot-to-rest deadline and failed-attempt throttling. Time comes in as
//! an argument so tests can drive it.

use std::time::{Duration, Instant};

use palisade_shortcuts::proto::{HelperState, UsbGrant};

use crate::throttle::Throttle;

#[derive(Debug)]
pub struct Core {
    locked: bool,
    usb_until: Option<Instant>,
    reboot_at: Option<Instant>,
    reboot_after: Option<Duration>,
    usb_allow_for: Duration,
    pub throttle: Throttle,
}

/// What a timer check found due.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    pub usb_expired: bool,
    pub reboot: bool,
}

impl Core {
    /// The session starts locked (the lock screen is the login screen), so
    /// the reboot-to-rest timer runs from the start too.
    pub fn new(
        reboot_after: Option<Duration>,
        usb_allow_for: Duration,
        throttle_unit: Duration,
        now: Instant,
    ) -> Core {
        let mut core = Core {
            locked: false,
            usb_until: None,
            reboot_at: None,
            reboot_after,
            usb_allow_for,
            throttle: Throttle::new(throttle_unit),
        };
        core.lock(now);
        core
    }

    pub fn usb_allowed(&self) -> bool {
        self.usb_until.is_some()
    }

    /// Locks: USB is denied at once, and the reboot timer starts unless it
    /// already runs (a second lock report must not push the deadline back).
    pub fn lock(&mut self, now: Instant) {
        self.locked = true;
        self.usb_until = None;
        if self.reboot_at.is_none() {
            self.reboot_at = self.reboot_after.and_then(|d| now.checked_add(d));
        }
    }

    /// Only an accepted password gets here.
    pub fn unlock(&mut self) {
        self.locked = false;
        self.reboot_at = None;
        self.throttle.record_success();
    }

    /// Allows new USB devices for the configured period, or denies them.
    /// Allowing is refused while locked: a locked laptop must not take a
    /// device someone plugs in.
    pub fn set_usb(&mut self, allow: bool, now: Instant) -> Result<(), &'static str> {
        if !allow {
            self.usb_until = None;
            return Ok(());
        }
        if self.locked {
            return Err("the screen is locked");
        }
        self.usb_until = Some(now.checked_add(self.usb_allow_for).unwrap_or(now));
        Ok(())
    }

    pub fn toggle_usb(&mut self, now: Instant) -> Result<(), &'static str> {
        self.set_usb(!self.usb_allowed(), now)
    }

    /// The reboot fired (or was handed to the reboot command): no timer runs.
    pub fn reboot_fired(&mut self) {
        self.reboot_at = None;
    }

    /// Applies what is due at `now`.
    pub fn tick(&mut self, now: Instant) -> Due {
        let mut due = Due::default();
        if self.usb_until.is_some_and(|t| t <= now) {
            self.usb_until = None;
            due.usb_expired = true;
        }
        if self.reboot_at.is_some_and(|t| t <= now) {
            due.reboot = true;
        }
        due
    }

    /// The earliest moment `tick` has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.usb_until, self.reboot_at].into_iter().flatten().min()
    }

    pub fn state(&self, now: Instant) -> HelperState {
        let ms = |t: Instant| t.saturating_duration_since(now).as_millis() as u64;
        HelperState {
            locked: self.locked,
            usb: match self.usb_until {
                Some(t) => UsbGrant::Allowed {
                    remaining_ms: ms(t),
                },
                None => UsbGrant::Denied,
            },
            reboot_in_ms: self.reboot_at.map(ms),
            retry_after_ms: self.throttle.retry_after(now).as_millis() as u64,
            failed_attempts: self.throttle.failures(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn core(now: Instant) -> Core {
        Core::new(Some(60 * MIN), 5 * MIN, Duration::from_secs(30), now)
    }

    #[test]
    fn starts_locked_with_usb_denied_and_the_reboot_timer_running() {
        let t0 = Instant::now();
        let c = core(t0);
        let s = c.state(t0);
        assert!(s.locked);
        assert_eq!(s.usb, UsbGrant::Denied);
        assert_eq!(s.reboot_in_ms, Some(3_600_000));
    }

    #[test]
    fn usb_cannot_be_allowed_while_locked_and_reverts_by_itself() {
        let t0 = Instant::now();
        let mut c = core(t0);
        assert!(c.toggle_usb(t0).is_err());
        assert!(!c.usb_allowed());
        c.unlock();
        c.toggle_usb(t0).unwrap();
        assert_eq!(
            c.state(t0 + MIN).usb,
            UsbGrant::Allowed {
                remaining_ms: 240_000
            }
        );
        assert_eq!(c.next_deadline(), Some(t0 + 5 * MIN));
        assert_eq!(c.tick(t0 + 4 * MIN), Due::default());
        assert!(c.tick(t0 + 5 * MIN).usb_expired);
        assert!(!c.usb_allowed());
        // Toggle twice: allowed, then denied at once.
        c.toggle_usb(t0).unwrap();
        c.toggle_usb(t0).unwrap();
        assert!(!c.usb_allowed());
    }

    #[test]
    fn locking_denies_usb_at_once_and_keeps_an_earlier_deadline() {
        let t0 = Instant::now();
        let mut c = core(t0);
        c.unlock();
        assert_eq!(c.state(t0).reboot_in_ms, None);
        c.set_usb(true, t0).unwrap();
        c.lock(t0 + MIN);
        assert!(!c.usb_allowed());
        // A second lock report later does not move the deadline.
        c.lock(t0 + 2 * MIN);
        assert_eq!(c.next_deadline(), Some(t0 + 61 * MIN));
        assert!(c.tick(t0 + 61 * MIN).reboot);
        c.reboot_fired();
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn reboot_off_means_no_timer() {
        let t0 = Instant::now();
        let c = Core::new(None, 5 * MIN, Duration::from_secs(30), t0);
        assert_eq!(c.next_deadline(), None);
        assert_eq!(c.state(t0).reboot_in_ms, None);
    }
}
