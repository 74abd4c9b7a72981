//! What the lock screen shows, and the words it uses for it.

use crate::Phase;
use palisade_panel::UsbState;

/// What the lock screen shows. Built by the compositor each time something
/// changes. It holds no secret: the password is represented by a count.
#[derive(Debug, Clone, PartialEq)]
pub struct LockView {
    /// "14:05": the compositor formats the clock.
    pub time: String,
    /// The session user's name.
    pub user: String,
    /// Number of password characters typed (never the characters).
    pub dots: usize,
    /// e.g. "Wrong password".
    pub message: Option<String>,
    /// Wait before the next try, shown as a countdown.
    pub retry_in_s: Option<u64>,
    /// Reboot-to-rest countdown.
    pub reboot_in_s: Option<u64>,
    pub usb: UsbState,
    /// Authenticating shows "Checking…".
    pub phase: Phase,
}

/// The message line: "Checking…" while the helper looks at a password
/// (the old message no longer applies), otherwise the message and the wait.
pub(crate) fn message_line(view: &LockView) -> Option<String> {
    if view.phase == Phase::Authenticating {
        return Some("Checking…".to_owned());
    }
    let wait = view.retry_in_s.map(|s| format!("Try again in {s} s"));
    match (view.message.as_deref(), wait) {
        (Some(m), Some(w)) if !m.is_empty() => Some(format!("{m}. {w}")),
        (Some(m), None) if !m.is_empty() => Some(m.to_owned()),
        (_, w) => w,
    }
}

/// "Restarts to protect your data in H:MM".
pub(crate) fn reboot_line(seconds: u64) -> String {
    // Rounded up: "0:00" would claim the reboot is now while a minute may
    // remain.
    let minutes = seconds.div_ceil(60);
    format!(
        "Restarts to protect your data in {}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

/// The USB state in the panel's words, and whether it needs attention
/// (drawn in the warning colour, as the panel does).
pub(crate) fn usb_line(usb: UsbState) -> (String, bool) {
    match usb {
        UsbState::HelperNotConnected => ("USB: helper not connected".to_owned(), true),
        UsbState::Denied => ("USB denied".to_owned(), false),
        UsbState::AllowedFor { seconds } => (
            format!("USB allowed {}:{:02}", seconds / 60, seconds % 60),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> LockView {
        LockView {
            time: "12:34".into(),
            user: "alice".into(),
            dots: 0,
            message: None,
            retry_in_s: None,
            reboot_in_s: None,
            usb: UsbState::Denied,
            phase: Phase::Locked,
        }
    }

    #[test]
    fn message_line_combinations() {
        let mut v = view();
        assert_eq!(message_line(&v), None);
        v.retry_in_s = Some(30);
        assert_eq!(message_line(&v).as_deref(), Some("Try again in 30 s"));
        v.message = Some("Wrong password".into());
        assert_eq!(
            message_line(&v).as_deref(),
            Some("Wrong password. Try again in 30 s")
        );
        v.retry_in_s = None;
        assert_eq!(message_line(&v).as_deref(), Some("Wrong password"));
        v.phase = Phase::Authenticating;
        assert_eq!(message_line(&v).as_deref(), Some("Checking…"));
    }

    #[test]
    fn reboot_countdown_rounds_up_to_minutes() {
        assert_eq!(
            reboot_line(64_800),
            "Restarts to protect your data in 18:00"
        );
        assert_eq!(reboot_line(61), "Restarts to protect your data in 0:02");
        assert_eq!(reboot_line(0), "Restarts to protect your data in 0:00");
        // No overflow at the extreme.
        assert!(reboot_line(u64::MAX).starts_with("Restarts"));
    }

    #[test]
    fn usb_words() {
        assert_eq!(
            usb_line(UsbState::AllowedFor { seconds: 299 }),
            ("USB allowed 4:59".to_owned(), true)
        );
        assert_eq!(usb_line(UsbState::Denied), ("USB denied".to_owned(), false));
        assert!(usb_line(UsbState::HelperNotConnected).1);
    }
}
