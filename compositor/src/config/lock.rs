//! The `[lock]` section: when the screen locks by itself and when the
//! outputs go dark while locked.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Cx};

/// What a client's idle inhibitor (zwp_idle_inhibit_manager_v1, used by
/// video players and calls) may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleInhibit {
    /// The idle lock still comes; the outputs stay on while the inhibiting
    /// window is mapped. The default: a video may keep the screen lit, but
    /// never keep the laptop unlocked.
    KeepScreenOn,
    /// While an inhibiting window is mapped the idle lock waits too.
    PreventLock,
    /// Inhibitors change nothing.
    Ignore,
}

/// The `[lock]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockConfig {
    /// Lock after this long without input; None: never by idling.
    pub idle_after: Option<Duration>,
    /// What idle inhibitors may do.
    pub idle_inhibit: IdleInhibit,
    /// Switch the outputs off once the lock has lasted this long without
    /// input; None: never.
    pub outputs_off_after: Option<Duration>,
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            idle_after: Some(Duration::from_secs(5 * 60)),
            idle_inhibit: IdleInhibit::KeepScreenOn,
            outputs_off_after: Some(Duration::from_secs(40)),
        }
    }
}

/// Shorter than this would lock while someone reads; longer is no lock.
const IDLE_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(24 * 3600));
const OFF_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLock {
    idle_after: Option<Spanned<String>>,
    idle_inhibit: Option<Spanned<String>>,
    outputs_off_after: Option<Spanned<String>>,
}

impl RawLock {
    pub(super) fn validate(self, cx: &Cx<'_>) -> Result<LockConfig, ConfigError> {
        let d = LockConfig::default();
        let idle_after = match self.idle_after {
            None => d.idle_after,
            Some(v) => duration_or_off(cx, v, "lock.idle_after", IDLE_RANGE)?,
        };
        let outputs_off_after = match self.outputs_off_after {
            None => d.outputs_off_after,
            Some(v) => duration_or_off(cx, v, "lock.outputs_off_after", OFF_RANGE)?,
        };
        let idle_inhibit = match self.idle_inhibit {
            None => d.idle_inhibit,
            Some(v) => match v.get_ref().as_str() {
                "keep-screen-on" => IdleInhibit::KeepScreenOn,
                "prevent-lock" => IdleInhibit::PreventLock,
                "ignore" => IdleInhibit::Ignore,
                other => {
                    return Err(cx.err(
                        v.span(),
                        format!(
                            "lock.idle_inhibit is {other:?}; use \"keep-screen-on\", \
                             \"prevent-lock\" or \"ignore\""
                        ),
                    ))
                }
            },
        };
        Ok(LockConfig {
            idle_after,
            idle_inhibit,
            outputs_off_after,
        })
    }
}

/// `"off"`, or a duration within `range`.
fn duration_or_off(
    cx: &Cx<'_>,
    value: Spanned<String>,
    name: &str,
    (lo, hi): (Duration, Duration),
) -> Result<Option<Duration>, ConfigError> {
    let span: Range<usize> = value.span();
    if value.get_ref() == "off" {
        return Ok(None);
    }
    let d = palisade_shortcuts::parse_duration(value.get_ref())
        .map_err(|reason| cx.err(span.clone(), format!("{name}: {reason}, or \"off\"")))?;
    if d < lo || d > hi {
        return Err(cx.err(
            span,
            format!(
                "{name} must be between {}s and {}s, or \"off\"",
                lo.as_secs(),
                hi.as_secs()
            ),
        ));
    }
    Ok(Some(d))
}
