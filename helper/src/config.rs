//! `/etc/palisade/helper.toml`: who the session runs as, what it runs, and
//! the limits of the privileged actions. Owned by root like the helper; every
//! error names the file, line and column, and unknown keys are errors.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::usb::UsbMode;

pub const DEFAULT_PATH: &str = "/etc/palisade/helper.toml";

/// How long new USB devices stay allowed after the toggle, by default.
pub const DEFAULT_USB_ALLOW: Duration = Duration::from_secs(5 * 60);
/// GrapheneOS's default auto-reboot time.
pub const DEFAULT_REBOOT_AFTER: Duration = Duration::from_secs(18 * 3600);
const USB_ALLOW_RANGE: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(3600));
const REBOOT_RANGE: (Duration, Duration) =
    (Duration::from_secs(10 * 60), Duration::from_secs(72 * 3600));
/// Android Gatekeeper's failure timeout.
pub const DEFAULT_THROTTLE_UNIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The session user; never root.
    pub user: String,
    /// The session command, run as `user` with the helper socket inherited.
    pub session: Vec<String>,
    /// Extra environment for the session (e.g. RUST_LOG).
    pub env: BTreeMap<String, String>,
    /// XDG_RUNTIME_DIR for the session; `{uid}` is replaced.
    pub runtime_dir: String,
    pub pam_service: String,
    /// Read PAM service files from here instead of /etc/pam.d (tests).
    pub pam_confdir: Option<PathBuf>,
    pub usb_mode: UsbMode,
    pub usb_allow_for: Duration,
    /// `None` = reboot-to-rest is off.
    pub reboot_after: Option<Duration>,
    /// Run this instead of sync + reboot(2) (tests, or a distro's own
    /// shutdown path).
    pub reboot_command: Option<Vec<String>>,
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    pub throttle_unit: Duration,
    /// Shortest wait before restarting a session that died; it doubles up
    /// to `restart_backoff_max` while the session keeps dying young.
    pub restart_backoff: Duration,
    pub restart_backoff_max: Duration,
    /// A `[test]` section changed production values (logged loudly).
    pub test_overrides: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    user: Spanned<String>,
    session: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    runtime_dir: Option<String>,
    pam_service: Option<String>,
    pam_confdir: Option<PathBuf>,
    usb_mode: Option<Spanned<String>>,
    usb_allow_for: Option<Spanned<String>>,
    reboot_after: Option<Spanned<String>>,
    reboot_command: Option<Spanned<Vec<String>>>,
    proc_root: Option<PathBuf>,
    sys_root: Option<PathBuf>,
    test: Option<RawTest>,
}

/// Knobs for the test suite only: they bypass the production ranges so a
/// test can watch a reboot timer fire in seconds. The helper logs a warning
/// at start when any is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    reboot_after_ms: Option<u64>,
    throttle_unit_ms: Option<u64>,
    usb_allow_ms: Option<u64>,
    restart_backoff_ms: Option<u64>,
    restart_backoff_max_ms: Option<u64>,
}

/// A config error: `file:line:col: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{col}: {reason}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub reason: String,
}

pub use palisade_shortcuts::parse_duration;

fn in_range(d: Duration, (lo, hi): (Duration, Duration), what: &str) -> Result<Duration, String> {
    if d < lo || d > hi {
        return Err(format!(
            "{what} must be between {}s and {}s, not {}s",
            lo.as_secs(),
            hi.as_secs(),
            d.as_secs()
        ));
    }
    Ok(d)
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            line: 0,
            col: 0,
            reason: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let err = |span: Option<Range<usize>>, reason: String| {
            let (line, col) = span.map_or((1, 1), |s| line_col(text, s.start));
            ConfigError {
                path: path.to_string(),
                line,
                col,
                reason,
            }
        };
        let raw: Raw = toml::from_str(text).map_err(|e| err(e.span(), e.message().to_string()))?;
        let at = |s: &Spanned<String>| Some(s.span());

        let user = raw.user.get_ref().clone();
        if user.is_empty() || user == "root" {
            return Err(err(
                at(&raw.user),
                "user must name an unprivileged account, not root".into(),
            ));
        }
        let session = match raw.session {
            Some(s) if s.get_ref().is_empty() || s.get_ref()[0].is_empty() => {
                return Err(err(Some(s.span()), "session needs a command".into()))
            }
            Some(s) => s.into_inner(),
            None => vec!["palisade".into()],
        };
        for key in raw.env.keys() {
            if key == "PALISADE_HELPER_FD" || key.is_empty() || key.contains('=') {
                return Err(err(None, format!("env: {key:?} cannot be set")));
            }
        }
        let usb_mode = match &raw.usb_mode {
            Some(m) => UsbMode::from_str(m.get_ref())
                .map_err(|_| err(at(m), "usb_mode is auto, sysctl or sysfs".into()))?,
            None => UsbMode::Auto,
        };
        let usb_allow_for = match &raw.usb_allow_for {
            Some(d) => parse_duration(d.get_ref())
                .and_then(|d| in_range(d, USB_ALLOW_RANGE, "usb_allow_for"))
                .map_err(|r| err(at(d), r))?,
            None => DEFAULT_USB_ALLOW,
        };
        let reboot_after = match &raw.reboot_after {
            Some(d) if d.get_ref() == "off" => None,
            Some(d) => Some(
                parse_duration(d.get_ref())
                    .and_then(|d| in_range(d, REBOOT_RANGE, "reboot_after"))
                    .map_err(|r| err(at(d), r))?,
            ),
            None => Some(DEFAULT_REBOOT_AFTER),
        };
        let reboot_command = match raw.reboot_command {
            Some(c) if c.get_ref().is_empty() => {
                return Err(err(Some(c.span()), "reboot_command needs a command".into()))
            }
            c => c.map(Spanned::into_inner),
        };
        let mut config = Config {
            user,
            session,
            env: raw.env,
            runtime_dir: raw.runtime_dir.unwrap_or_else(|| "/run/user/{uid}".into()),
            pam_service: raw.pam_service.unwrap_or_else(|| "palisade".into()),
            pam_confdir: raw.pam_confdir,
            usb_mode,
            usb_allow_for,
            reboot_after,
            reboot_command,
            proc_root: raw.proc_root.unwrap_or_else(|| "/proc".into()),
            sys_root: raw.sys_root.unwrap_or_else(|| "/sys".into()),
            throttle_unit: DEFAULT_THROTTLE_UNIT,
            restart_backoff: Duration::from_millis(500),
            restart_backoff_max: Duration::from_secs(30),
            test_overrides: raw.test.is_some(),
        };
        if let Some(t) = raw.test {
            let ms = Duration::from_millis;
            if let Some(v) = t.reboot_after_ms {
                config.reboot_after = Some(ms(v.max(1)));
            }
            if let Some(v) = t.throttle_unit_ms {
                config.throttle_unit = ms(v);
            }
            if let Some(v) = t.usb_allow_ms {
                config.usb_allow_for = ms(v.max(1));
            }
            if let Some(v) = t.restart_backoff_ms {
                config.restart_backoff = ms(v.max(1));
            }
            if let Some(v) = t.restart_backoff_max_ms {
                config.restart_backoff_max = ms(v.max(1));
            }
        }
        Ok(config)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "helper.toml")
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = parse("user = \"alice\"\n").unwrap();
        assert_eq!(c.session, vec!["palisade"]);
        assert_eq!(c.usb_allow_for, Duration::from_secs(300));
        assert_eq!(c.reboot_after, Some(Duration::from_secs(18 * 3600)));
        assert_eq!(c.usb_mode, UsbMode::Auto);
        assert_eq!(c.pam_service, "palisade");
        assert_eq!(c.throttle_unit, Duration::from_secs(30));
        assert_eq!(c.proc_root, PathBuf::from("/proc"));
    }

    #[test]
    fn the_shipped_file_parses() {
        let text = include_str!("../../assets/helper.toml");
        parse(text).unwrap();
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("user = \"alice\"\nreboot_after = \"5m\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 16), "{e}");
        assert!(e
            .to_string()
            .starts_with("helper.toml:2:16: reboot_after must be between 600s"));

        let e = parse("user = \"alice\"\n\nbogus = 1\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.reason.contains("bogus"), "{e}");

        let e = parse("user = \"root\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");

        let e = parse("user = \"a\"\nusb_allow_for = \"5 parsecs\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("user = \"a\"\nusb_allow_for = \"2h\"\n").unwrap_err();
        assert!(e.reason.contains("usb_allow_for"), "{e}");
        let e = parse("user = \"a\"\nsession = []\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(parse("user = \"a\"\nusb_mode = \"maybe\"\n").is_err());
        assert!(parse("user = \"a\"\n[env]\nPALISADE_HELPER_FD = \"3\"\n").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn reboot_range_and_off() {
        let c = parse("user = \"a\"\nreboot_after = \"off\"\n").unwrap();
        assert_eq!(c.reboot_after, None);
        let c = parse("user = \"a\"\nreboot_after = \"72h\"\n").unwrap();
        assert_eq!(c.reboot_after, Some(Duration::from_secs(72 * 3600)));
        assert!(parse("user = \"a\"\nreboot_after = \"73h\"\n").is_err());
        assert!(parse("user = \"a\"\nreboot_after = \"10m\"\n").is_ok());
        assert!(parse("user = \"a\"\nreboot_after = \"9m\"\n").is_err());
    }

    #[test]
    fn test_knobs_override() {
        let c =
            parse("user = \"a\"\n[test]\nreboot_after_ms = 1500\nthrottle_unit_ms = 20\n").unwrap();
        assert_eq!(c.reboot_after, Some(Duration::from_millis(1500)));
        assert_eq!(c.throttle_unit, Duration::from_millis(20));
    }
}
