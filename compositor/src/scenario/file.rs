//! Parsing of `palisade scenario FILE` TOML text into typed steps.
//!
//! The format is a stable public interface (see SCENARIO.md), so every
//! mistake a user can make is reported with the line and column it sits on.
//! `toml::Table` forgets where things were written, so the document is first
//! read into a small tree (`Node`, in `super::toml_tree`) whose keys and
//! values keep the byte offsets toml reports, and only then checked and
//! converted.

use palisade_shortcuts::proto::Password;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::toml_tree::{find, position, Entry, Node, Val};

/// A whole scenario: where its config lives, the outputs to start with and
/// the steps to run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Resolved against the scenario file's directory; `None` means the
    /// embedded default config.
    pub config: Option<PathBuf>,
    /// At least one; laid out left to right in this order.
    pub outputs: Vec<OutputSpec>,
    pub steps: Vec<Step>,
}

/// A virtual output, from `[[output]]` or a step's `add_output`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    /// `None` lets the runner pick `headless-N`.
    pub name: Option<String>,
    /// Physical pixels.
    pub size: (i32, i32),
    pub scale: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line of the step's `[[step]]` header.
    pub line: usize,
    /// 1-based position of the step in the file.
    pub index: usize,
    pub action: Action,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Launch(String),
    Run(Vec<String>),
    WaitWindows(usize),
    WaitMs(u64),
    /// Chord text such as `Super+Tab`; the caller parses it against its keymap.
    Key(String),
    Type(String),
    Pointer(f64, f64),
    Click(Button),
    AddOutput(OutputSpec),
    RemoveOutput(String),
    /// A directory, kept relative so the runner resolves it against the
    /// current directory, as SCENARIO.md promises.
    Screenshot(PathBuf),
    State(PathBuf),
    WaitColor {
        output: Option<String>,
        color: [u8; 3],
        min_pixels: u64,
        tolerance: u8,
    },
    WaitTitle(String),
    Fullscreen(bool),
    /// `wait_helper = "connected"`: until the helper has answered `Hello`.
    WaitHelper,
    /// `wait_usb = "allowed" | "denied"`: until the helper reports it.
    WaitUsb(UsbWait),
    /// `authenticate = "password"`: send it to the helper as the lock screen
    /// does and wait for "accepted". `Password` prints no secret, so the
    /// step log cannot leak it.
    Authenticate(Password),
}

/// The USB state a `wait_usb` step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsbWait {
    Allowed,
    Denied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    Left,
    Right,
    Middle,
}

/// A problem in the scenario text, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column}: {reason}")]
pub struct ScenarioError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_OUTPUT_SIDE: i64 = 16384;
const SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.25..=8.0;
const DEFAULT_TOLERANCE: i64 = 8;

const TOP_KEYS: &[&str] = &["config", "output", "step"];
const OUTPUT_KEYS: &[&str] = &["name", "size", "scale"];
const WAIT_COLOR_KEYS: &[&str] = &["output", "color", "min_pixels", "tolerance"];
const TIMEOUT_KEY: &str = "timeout_ms";
#[rustfmt::skip]
const ACTIONS: &[&str] = &[
    "launch", "run", "wait_windows", "wait_ms", "key", "type", "pointer", "click", "add_output",
    "remove_output", "screenshot", "state", "wait_color", "wait_title", "fullscreen",
    "wait_helper", "wait_usb", "authenticate",
];

/// Parses scenario text. `base_dir` is the scenario file's directory, used
/// only to resolve `config` (an absolute `config` is kept as it is).
pub fn parse(text: &str, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let cx = Cx { text };
    let root: Node = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    // The document root is always a table; anything else would mean the toml
    // crate changed under us, which still must not panic.
    let Node::Table(top) = root else {
        return Err(cx.error(0, "the scenario must be a TOML document"));
    };
    cx.check_keys(&top, TOP_KEYS, "at the top level")?;
    let config = cx.opt(&top, "config", |v| cx.nonempty_str(v, "config"))?;

    const NEED_OUTPUT: &str = "a scenario needs at least one [[output]]";
    let Some(output_entry) = find(&top, "output") else {
        return Err(cx.error(0, format!("no [[output]] given; {NEED_OUTPUT}")));
    };
    let output_tables = cx.array_of_tables(output_entry, "output")?;
    if output_tables.is_empty() {
        let at = output_entry.value.at();
        return Err(cx.error(at, format!("`output` is empty; {NEED_OUTPUT}")));
    }
    let mut outputs: Vec<OutputSpec> = Vec::with_capacity(output_tables.len());
    for (start, table) in output_tables {
        let spec = cx.output_spec(start, table, "[[output]]")?;
        // Two outputs with one name would make `remove_output` and
        // `wait_color` ambiguous; catch it here, while the line is known.
        if let (Some(name), Some(entry)) = (&spec.name, find(table, "name")) {
            if outputs.iter().any(|o| o.name.as_ref() == Some(name)) {
                let reason = format!("output name `{name}` is used twice");
                return Err(cx.error(entry.value.at(), reason));
            }
        }
        outputs.push(spec);
    }

    let step_tables = match find(&top, "step") {
        Some(entry) => cx.array_of_tables(entry, "step")?,
        // No steps is fine: it still checks the config and outputs.
        None => Vec::new(),
    };
    let steps = (step_tables.into_iter().enumerate())
        .map(|(i, (start, table))| cx.step(i + 1, start, table))
        .collect::<Result<_, _>>()?;

    Ok(Scenario {
        config: config.map(|c| base_dir.join(c)),
        outputs,
        steps,
    })
}

type Result<T, E = ScenarioError> = std::result::Result<T, E>;

/// Turns byte offsets into the text into errors with 1-based positions, and
/// checks values against what the format expects.
struct Cx<'a> {
    text: &'a str,
}

impl Cx<'_> {
    fn error(&self, offset: usize, reason: impl Into<String>) -> ScenarioError {
        let (line, column) = position(self.text, offset);
        let reason = reason.into();
        ScenarioError {
            line,
            column,
            reason,
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let offset = e.span().map_or(0, |s| s.start);
        // Messages may span lines ("invalid array\nexpected `]`"); keep the
        // error on one line like every other diagnostic.
        self.error(offset, e.message().trim().replace('\n', ", "))
    }

    fn check_keys(&self, entries: &[Entry], allowed: &[&str], place: &str) -> Result<()> {
        let Some(e) = (entries.iter()).find(|e| !allowed.contains(&e.key.name.as_str())) else {
            return Ok(());
        };
        let (key, expected) = (&e.key.name, allowed.join(", "));
        let reason = format!("unknown key `{key}` {place}; expected one of: {expected}");
        Err(self.error(e.key.at(), reason))
    }

    /// Applies `f` to the value of an optional key.
    fn opt<'a, T>(
        &self,
        table: &'a [Entry],
        key: &str,
        f: impl FnOnce(&'a Val) -> Result<T>,
    ) -> Result<Option<T>> {
        find(table, key).map(|e| f(&e.value)).transpose()
    }

    fn type_error(&self, v: &Val, what: &str, expected: &str) -> ScenarioError {
        let reason = format!("`{what}` must be {expected}, not {}", v.node.kind());
        self.error(v.at(), reason)
    }

    /// `[[name]]` (or an inline array of inline tables): each table with the
    /// offset where it starts, which for `[[name]]` is the header itself.
    fn array_of_tables<'a>(
        &self,
        entry: &'a Entry,
        name: &str,
    ) -> Result<Vec<(usize, &'a [Entry])>> {
        let Node::Array(items) = &entry.value.node else {
            let reason = format!("`{name}` must be a list of tables: write [[{name}]]");
            return Err(self.error(entry.key.at(), reason));
        };
        (items.iter())
            .map(|item| match &item.node {
                Node::Table(t) => Ok((item.at(), t.as_slice())),
                _ => Err(self.type_error(item, name, "a table")),
            })
            .collect()
    }

    fn str<'a>(&self, v: &'a Val, what: &str) -> Result<&'a str> {
        match &v.node {
            Node::Str(s) => Ok(s),
            _ => Err(self.type_error(v, what, "a string")),
        }
    }

    /// Names, commands and paths that are empty are always a mistake, and
    /// catching them here gives a line number the runner could not.
    fn nonempty_str<'a>(&self, v: &'a Val, what: &str) -> Result<&'a str> {
        match self.str(v, what)? {
            "" => Err(self.error(v.at(), format!("`{what}` must not be empty"))),
            s => Ok(s),
        }
    }

    fn owned(&self, v: &Val, what: &str) -> Result<String> {
        self.nonempty_str(v, what).map(str::to_owned)
    }

    fn int_in(&self, v: &Val, what: &str, min: i64, max: i64) -> Result<i64> {
        let Node::Int(n) = v.node else {
            return Err(self.type_error(v, what, "an integer"));
        };
        if (min..=max).contains(&n) {
            return Ok(n);
        }
        let range = match max {
            i64::MAX => format!("at least {min}"),
            _ => format!("between {min} and {max}"),
        };
        Err(self.error(v.at(), format!("`{what}` must be {range}, got {n}")))
    }

    /// A non-negative integer; `min` guards values that would make no sense.
    fn count(&self, v: &Val, what: &str, min: u64) -> Result<u64> {
        let n = self.int_in(v, what, i64::try_from(min).unwrap_or(i64::MAX), i64::MAX)?;
        Ok(n.unsigned_abs())
    }

    /// TOML distinguishes `640` from `640.0`; users should not have to.
    fn number(&self, v: &Val, what: &str) -> Result<f64> {
        let n = match v.node {
            Node::Int(n) => n as f64,
            Node::Float(f) => f,
            _ => return Err(self.type_error(v, what, "a number")),
        };
        if !n.is_finite() {
            return Err(self.error(v.at(), format!("`{what}` must be a finite number")));
        }
        Ok(n)
    }

    /// A two-element array such as `size = [w, h]`, returned element by
    /// element so a bad element is reported on its own line.
    fn pair<'a>(&self, v: &'a Val, what: &str, shape: &str) -> Result<[&'a Val; 2]> {
        match &v.node {
            Node::Array(items) => match items.as_slice() {
                [a, b] => Ok([a, b]),
                _ => {
                    let reason = format!("`{what}` must be {shape}, not {} values", items.len());
                    Err(self.error(v.at(), reason))
                }
            },
            _ => Err(self.type_error(v, what, shape)),
        }
    }

    /// `at` is where to point when `size` is missing: the `[[output]]` header
    /// or the `add_output` table.
    fn output_spec(&self, at: usize, table: &[Entry], place: &str) -> Result<OutputSpec> {
        self.check_keys(table, OUTPUT_KEYS, &format!("in {place}"))?;
        let name = self.opt(table, "name", |v| self.owned(v, "name"))?;
        let Some(size) = find(table, "size") else {
            return Err(self.error(at, format!("{place} needs `size = [width, height]`")));
        };
        let [w, h] = self.pair(&size.value, "size", "[width, height]")?;
        // The range check keeps the value well inside i32.
        let side = |v| self.int_in(v, "size", 1, MAX_OUTPUT_SIDE).map(|n| n as i32);
        let size = (side(w)?, side(h)?);
        let scale = self.opt(table, "scale", |v| {
            let s = self.number(v, "scale")?;
            if SCALE_RANGE.contains(&s) {
                return Ok(s);
            }
            let (lo, hi) = (SCALE_RANGE.start(), SCALE_RANGE.end());
            let reason = format!("`scale` must be between {lo} and {hi}, got {s}");
            Err(self.error(v.at(), reason))
        })?;
        let scale = scale.unwrap_or(1.0);
        Ok(OutputSpec { name, size, scale })
    }

    fn step(&self, index: usize, header: usize, table: &[Entry]) -> Result<Step> {
        let allowed: Vec<&str> = ACTIONS.iter().copied().chain([TIMEOUT_KEY]).collect();
        self.check_keys(table, &allowed, "in [[step]]")?;
        let actions: Vec<&Entry> = (table.iter())
            .filter(|e| e.key.name != TIMEOUT_KEY)
            .collect();
        let entry = match actions.as_slice() {
            [one] => *one,
            [] => {
                let reason = format!(
                    "step {index} has no action; give one of: {}",
                    ACTIONS.join(", ")
                );
                return Err(self.error(header, reason));
            }
            [a, b, ..] => {
                let line = |e: &Entry| position(self.text, e.key.at()).0;
                let reason = format!(
                    "step {index} has more than one action (`{}` on line {}, `{}` on line {}); \
                     a step holds exactly one",
                    a.key.name,
                    line(a),
                    b.key.name,
                    line(b)
                );
                return Err(self.error(header, reason));
            }
        };
        // Zero would fail every wait before it starts; say so now rather than
        // as a baffling timeout later.
        let timeout = self.opt(table, TIMEOUT_KEY, |v| self.count(v, TIMEOUT_KEY, 1))?;
        Ok(Step {
            line: position(self.text, header).0,
            index,
            action: self.action(entry)?,
            timeout: timeout.map_or(DEFAULT_TIMEOUT, Duration::from_millis),
        })
    }

    fn action(&self, entry: &Entry) -> Result<Action> {
        let key = entry.key.name.as_str();
        let v = &entry.value;
        Ok(match key {
            "launch" => Action::Launch(self.owned(v, key)?),
            "run" => Action::Run(self.command(v)?),
            "wait_windows" => {
                let n = self.count(v, key, 0)?;
                Action::WaitWindows(usize::try_from(n).unwrap_or(usize::MAX))
            }
            "wait_ms" => Action::WaitMs(self.count(v, key, 0)?),
            "key" => Action::Key(self.owned(v, key)?),
            // Empty text or title are harmless (a no-op, any titled window).
            "type" => Action::Type(self.str(v, key)?.to_owned()),
            "wait_title" => Action::WaitTitle(self.str(v, key)?.to_owned()),
            "pointer" => {
                let [x, y] = self.pair(v, key, "[x, y]")?;
                Action::Pointer(self.number(x, key)?, self.number(y, key)?)
            }
            "click" => Action::Click(match self.str(v, key)? {
                "left" => Button::Left,
                "right" => Button::Right,
                "middle" => Button::Middle,
                other => {
                    let reason =
                        format!("`click` must be \"left\", \"right\" or \"middle\", not {other:?}");
                    return Err(self.error(v.at(), reason));
                }
            }),
            "add_output" => match &v.node {
                Node::Table(t) => Action::AddOutput(self.output_spec(v.at(), t, "`add_output`")?),
                _ => {
                    return Err(self.type_error(v, key, "a table such as { size = [1920, 1080] }"))
                }
            },
            "remove_output" => Action::RemoveOutput(self.owned(v, key)?),
            "screenshot" => Action::Screenshot(self.owned(v, key)?.into()),
            "state" => Action::State(self.owned(v, key)?.into()),
            "wait_color" => self.wait_color(v)?,
            "fullscreen" => match v.node {
                Node::Bool(b) => Action::Fullscreen(b),
                _ => return Err(self.type_error(v, key, "true or false")),
            },
            "wait_helper" => match self.str(v, key)? {
                "connected" => Action::WaitHelper,
                other => {
                    let reason = format!("`wait_helper` must be \"connected\", not {other:?}");
                    return Err(self.error(v.at(), reason));
                }
            },
            "wait_usb" => Action::WaitUsb(match self.str(v, key)? {
                "allowed" => UsbWait::Allowed,
                "denied" => UsbWait::Denied,
                other => {
                    let reason =
                        format!("`wait_usb` must be \"allowed\" or \"denied\", not {other:?}");
                    return Err(self.error(v.at(), reason));
                }
            }),
            "authenticate" => Action::Authenticate(
                Password::new(self.str(v, key)?.as_bytes().to_vec())
                    .map_err(|e| self.error(v.at(), format!("`authenticate`: {e}")))?,
            ),
            // `step` already rejected keys outside ACTIONS; this arm only
            // catches the two lists drifting apart.
            _ => return Err(self.error(entry.key.at(), format!("unknown action `{key}`"))),
        })
    }

    fn command(&self, v: &Val) -> Result<Vec<String>> {
        let Node::Array(items) = &v.node else {
            return Err(self.type_error(v, "run", "an array of strings such as [\"foot\"]"));
        };
        let Some(program) = items.first() else {
            return Err(self.error(v.at(), "`run` needs at least the program to run"));
        };
        self.nonempty_str(program, "run[0]")?;
        (items.iter().enumerate())
            .map(|(i, item)| self.str(item, &format!("run[{i}]")).map(str::to_owned))
            .collect()
    }

    fn wait_color(&self, v: &Val) -> Result<Action> {
        let Node::Table(table) = &v.node else {
            return Err(self.type_error(
                v,
                "wait_color",
                "a table such as { color = \"#ff0000\" }",
            ));
        };
        self.check_keys(table, WAIT_COLOR_KEYS, "in `wait_color`")?;
        let output = self.opt(table, "output", |v| self.owned(v, "output"))?;
        let Some(color) = find(table, "color") else {
            return Err(self.error(v.at(), "`wait_color` needs `color = \"#rrggbb\"`"));
        };
        let text = self.str(&color.value, "color")?;
        let Some(rgb) = parse_hex_color(text) else {
            let reason = format!("`color` must look like \"#rrggbb\", not {text:?}");
            return Err(self.error(color.value.at(), reason));
        };
        // Zero pixels would be satisfied before anything is drawn.
        let min_pixels = self.opt(table, "min_pixels", |v| self.count(v, "min_pixels", 1))?;
        let tolerance = self.opt(table, "tolerance", |v| self.int_in(v, "tolerance", 0, 255))?;
        Ok(Action::WaitColor {
            output,
            color: rgb,
            min_pixels: min_pixels.unwrap_or(1),
            tolerance: u8::try_from(tolerance.unwrap_or(DEFAULT_TOLERANCE)).unwrap_or(u8::MAX),
        })
    }
}

/// `#rrggbb`, either case; `None` for anything else.
fn parse_hex_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

#[cfg(test)]
mod tests;
