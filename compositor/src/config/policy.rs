//! The `[policy]` section and each app's `globals`: which Wayland globals an
//! identity may see. The sets themselves and the never-offered list live in
//! the protocols crate; this file only reads them with their lines.

use palisade_protocols::{Global, GlobalSet, Policy};
use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Cx};

/// A list of interface names as written in the file.
pub(super) type RawGlobals = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    apps: Option<RawGlobals>,
    unknown: Option<RawGlobals>,
}

impl RawPolicy {
    /// The policy without per-app lists (those come with their apps).
    pub(super) fn validate(self, cx: &Cx<'_>) -> Result<Policy, ConfigError> {
        let d = Policy::default();
        Ok(Policy {
            apps: match self.apps {
                None => d.apps,
                Some(list) => parse_globals(cx, list, "policy.apps")?,
            },
            unknown: match self.unknown {
                None => d.unknown,
                Some(list) => parse_globals(cx, list, "policy.unknown")?,
            },
            per_app: d.per_app,
        })
    }
}

/// Parse a list of globals, naming the line of the first bad entry.
pub(super) fn parse_globals(
    cx: &Cx<'_>,
    list: RawGlobals,
    what: &str,
) -> Result<GlobalSet, ConfigError> {
    let mut set = GlobalSet::EMPTY;
    for name in list.into_inner() {
        let global = Global::parse(name.get_ref())
            .map_err(|e| cx.err(name.span(), format!("{what}: {e}")))?;
        if set.contains(global) {
            return Err(cx.err(name.span(), format!("{what}: {global} is listed twice")));
        }
        set = set.with(global);
    }
    Ok(set)
}
