//! The compositor configuration: a TOML file, `/etc/palisade/config.toml` by
//! default, with a copy of `assets/config.toml` compiled in as the fallback.
//!
//! The file is root-owned and trusted: it is where every application's
//! identity (id, label, colour) comes from. Because a mistake here changes
//! what the trusted panel tells the user, parsing is strict (unknown keys are
//! errors) and every error names `file:line:column` so it can be fixed
//! without guessing.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use palisade_shortcuts::{Chord, Mods};
use serde::Deserialize;
use toml::Spanned;

mod lock;
mod policy;
pub use lock::{IdleInhibit, LockConfig};
pub use palisade_protocols::{Global, GlobalSet, Policy};

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/palisade/config.toml";

/// The shipped default config, compiled in.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../assets/config.toml");

/// The identity given to clients of the public socket; no app may take it.
pub const UNKNOWN_APP_ID: &str = "unknown";

/// Environment variables the launcher sets itself: they carry the app's
/// pre-connected socket, i.e. its identity, so the config may not override them.
const RESERVED_ENV: [&str; 2] = ["WAYLAND_SOCKET", "WAYLAND_DISPLAY"];

// Sanity limits: wl_keyboard.repeat_info takes i32, and nobody wants a key to
// repeat after ten seconds or a thousand times a second.
const MAX_REPEAT_DELAY_MS: u32 = 10_000;
const MAX_REPEAT_RATE_HZ: u32 = 1_000;
// Ids end up in log lines and socket names; keep them short.
const MAX_ID_LEN: usize = 64;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Applications, in file order.
    pub apps: Vec<AppConfig>,
    /// Keyboard layout and repeat.
    pub keyboard: KeyboardConfig,
    /// Whether to open a public `WAYLAND_DISPLAY` socket.
    pub public_socket: bool,
    /// How the DRM backend draws: `renderer = "auto" | "gles" | "pixman"`.
    /// `auto` (the default) is GLES, falling back to pixman on dumb buffers
    /// when EGL or GBM cannot start. PALISADE_RENDERER overrides it.
    pub renderer: RendererChoice,
    /// The theme: `theme = "dark" | "light" | "high-contrast"` or a path to
    /// a theme file (relative to the config file). Default: dark.
    pub theme: palisade_themes::Theme,
    /// Privileged compositor shortcuts.
    pub bindings: Bindings,
    /// When the screen locks by itself, and when outputs go dark.
    pub lock: LockConfig,
    /// Which globals each identity may see (`[policy]` and each app's
    /// `globals`).
    pub policy: Policy,
}

/// One launchable application and its identity.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Unique id, `[a-z0-9_-]+`, never `"unknown"`.
    pub id: String,
    /// Trusted label shown on the panel.
    pub label: String,
    /// Trusted colour shown on the panel, RGB.
    pub color: [u8; 3],
    /// Program and arguments, run without a shell; never empty.
    pub command: Vec<String>,
    /// Chord that launches the app.
    pub shortcut: Option<Chord>,
    /// Start with the session.
    pub autostart: bool,
    /// Extra environment variables, sorted by name.
    pub env: Vec<(String, String)>,
    /// The globals this app may see, when it has its own list; otherwise
    /// `[policy] apps` applies.
    pub globals: Option<GlobalSet>,
}

/// XKB keymap names and key repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyboardConfig {
    /// XKB rules; empty means the XKB default.
    pub rules: String,
    /// XKB model; empty means the XKB default.
    pub model: String,
    /// XKB layout, `"us"` by default.
    pub layout: String,
    /// XKB variant; empty means none.
    pub variant: String,
    /// XKB options, e.g. `"ctrl:nocaps"`.
    pub options: Option<String>,
    /// Delay before a held key repeats.
    pub repeat_delay_ms: u32,
    /// Repeats per second; 0 disables repeat.
    pub repeat_rate_hz: u32,
}

impl Default for KeyboardConfig {
    fn default() -> Self {
        KeyboardConfig {
            rules: String::new(),
            model: String::new(),
            layout: "us".to_owned(),
            variant: String::new(),
            options: None,
            repeat_delay_ms: 600,
            repeat_rate_hz: 25,
        }
    }
}

/// The compositor's own shortcuts. All are matched before any client sees
/// the key; a client holding an active keyboard-shortcuts inhibitor gets the
/// window-management ones instead, but never the privileged ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    /// Focus the next window (default `Super+Tab`).
    pub focus_next: Chord,
    /// Focus the previous window (default `Super+Shift+Tab`).
    pub focus_prev: Chord,
    /// Close the focused window (default `Super+Q`).
    pub close: Chord,
    /// Privileged: allow or deny new USB devices, through the helper
    /// (default `Super+U`).
    pub toggle_usb: Chord,
    /// Privileged: lock the session (default `Super+L`).
    pub lock: Chord,
    /// Privileged: the secure attention key (default `Ctrl+Alt+Delete`).
    /// Whatever a client draws, this brings up the compositor's lock.
    pub secure_attention: Chord,
    /// Privileged: send the focused window's clipboard to the next window
    /// of another identity the user focuses, for one paste; again cancels
    /// it (default `Super+Shift+C`).
    pub send_clipboard: Chord,
}

impl Bindings {
    /// The names of the bindings no client can ever see or inhibit.
    pub const PRIVILEGED: [&'static str; 4] =
        ["toggle_usb", "lock", "secure_attention", "send_clipboard"];
}

impl Default for Bindings {
    fn default() -> Self {
        let logo = Mods {
            logo: true,
            ..Mods::NONE
        };
        let logo_shift = Mods {
            shift: true,
            ..logo
        };
        let ctrl_alt = Mods {
            ctrl: true,
            alt: true,
            ..Mods::NONE
        };
        Bindings {
            focus_next: Chord::new(logo, "Tab"),
            focus_prev: Chord::new(logo_shift, "Tab"),
            close: Chord::new(logo, "Q"),
            toggle_usb: Chord::new(logo, "U"),
            lock: Chord::new(logo, "L"),
            secure_attention: Chord::new(ctrl_alt, "Delete"),
            send_clipboard: Chord::new(logo_shift, "C"),
        }
    }
}

/// Why the config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The theme file the config names is malformed (its own file and line).
    #[error(transparent)]
    Theme(#[from] palisade_themes::ThemeError),
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Syntax or semantic error; `line` and `column` are 1-based.
    #[error("{}:{line}:{column}: {reason}", path.display())]
    Invalid {
        /// The file (only used for messages).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong, on one line.
        reason: String,
    },
}

impl Config {
    /// Reads and parses the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_all(path).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Reads the config file and reports every error in it.
    pub fn load_all(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![ConfigError::Io {
                path: path.to_owned(),
                source,
            }]
        })?;
        Config::parse_all(&text, path)
    }

    /// Parses config text; `path` is only used in error messages. Stops at
    /// the first error; [`Config::parse_all`] reports every one.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_all(text, path).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Parses config text and, if it is not valid, returns every error found
    /// (a TOML syntax error stops the check, as nothing after it can be read).
    pub fn parse_all(text: &str, path: &Path) -> Result<Config, Vec<ConfigError>> {
        let cx = Cx { text, path };
        // toml's Display adds a multi-line snippet; its bare message plus our
        // own location keeps the error on one line.
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| vec![cx.err(e.span().unwrap_or(0..0), e.message())])?;
        let mut errors = Vec::new();
        let keyboard = keep(&mut errors, raw.keyboard.unwrap_or_default().validate(&cx));
        let binding_list = keep(&mut errors, raw.bindings.unwrap_or_default().validate(&cx));
        let lock_config = keep(&mut errors, raw.lock.unwrap_or_default().validate(&cx));
        let policy = keep(&mut errors, raw.policy.unwrap_or_default().validate(&cx));
        let renderer = match &raw.renderer {
            None => RendererChoice::Auto,
            Some(name) => RendererChoice::parse(name.get_ref()).unwrap_or_else(|| {
                let why = format!(
                    "renderer {:?} is not one of {}",
                    name.get_ref(),
                    RendererChoice::NAMES
                );
                errors.push(cx.err(name.span(), why));
                RendererChoice::Auto
            }),
        };
        let theme = match raw.theme {
            None => Some(palisade_themes::Theme::default()),
            Some(name) => load_theme(&cx, name).map_err(|e| errors.extend(e)).ok(),
        };
        // Apps are checked against the default bindings if the configured
        // ones are broken, so their own errors still show.
        let checked_bindings = match &binding_list {
            Some(list) => list.clone(),
            None => RawBindings::default().validate(&cx).map_err(|e| vec![e])?,
        };
        let mut seen = Seen::default();
        let apps: Vec<_> = (raw.app.into_iter())
            .filter_map(|app| {
                let palette = theme.clone().unwrap_or_default();
                keep(
                    &mut errors,
                    app.validate(&cx, &checked_bindings, &mut seen, &palette),
                )
            })
            .collect();
        match (keyboard, binding_list, theme, lock_config, policy) {
            (
                Some(keyboard),
                Some(binding_list),
                Some(theme),
                Some(lock_config),
                Some(mut policy),
            ) if errors.is_empty() => {
                for app in &apps {
                    if let Some(set) = app.globals {
                        policy.per_app.insert(app.id.clone(), set);
                    }
                }
                let [focus_next, focus_prev, close, toggle_usb, lock, secure_attention, send_clipboard] =
                    binding_list.map(|(_, chord, _)| chord);
                Ok(Config {
                    apps,
                    keyboard,
                    public_socket: raw.public_socket,
                    renderer,
                    theme,
                    bindings: Bindings {
                        focus_next,
                        focus_prev,
                        close,
                        toggle_usb,
                        lock,
                        secure_attention,
                        send_clipboard,
                    },
                    lock: lock_config,
                    policy,
                })
            }
            _ => Err(errors),
        }
    }

    /// The compiled-in default config. It is parsed by a unit test, so the
    /// `expect` cannot fire in a released build.
    pub fn embedded_default() -> Config {
        Config::parse(EMBEDDED_DEFAULT, Path::new("<embedded default config>"))
            .expect("the embedded default config is valid (checked by a unit test)")
    }

    /// The app with this id, if any.
    pub fn app(&self, id: &str) -> Option<&AppConfig> {
        self.apps.iter().find(|a| a.id == id)
    }
}

/// What error construction needs: the text (for line numbers) and the path.
struct Cx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, reason: impl AsRef<str>) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        // toml messages may span lines; keep "path:line:col: reason" on one.
        let reason = reason.as_ref().trim().lines().map(str::trim);
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            reason: reason.collect::<Vec<_>>().join("; "),
        }
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }
}

/// `return Err(..)` at `span` with a formatted reason.
macro_rules! bail {
    ($cx:expr, $span:expr, $($reason:tt)+) => {
        return Err($cx.err($span, format!($($reason)+)))
    };
}

/// [`bail!`] unless `cond` holds.
macro_rules! ensure {
    ($cx:expr, $cond:expr, $span:expr, $($reason:tt)+) => {
        if !$cond {
            bail!($cx, $span, $($reason)+);
        }
    };
}

/// 1-based line and character column of byte `offset`. Never panics: offsets
/// past the end are clamped, and columns count UTF-8 lead bytes, so an offset
/// inside a character is harmless.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut end = offset.min(bytes.len());
    // "Unexpected end of file" points past the final newline; report the end
    // of the last line instead, where the admin will look for the mistake.
    if end == bytes.len() && bytes.last() == Some(&b'\n') {
        end -= 1;
    }
    let before = &bytes[..end];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (line, column)
}

/// Parses `#rrggbb`.
/// The value, or None with the error recorded.
fn keep<T>(errors: &mut Vec<ConfigError>, result: Result<T, ConfigError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A built-in theme by name, else a theme file relative to the config file
/// (every error in it).
fn load_theme(cx: &Cx, name: Spanned<String>) -> Result<palisade_themes::Theme, Vec<ConfigError>> {
    let (value, span) = (name.get_ref(), name.span());
    if let Some(theme) = palisade_themes::Theme::builtin(value) {
        return Ok(theme);
    }
    if !value.contains('/') && !value.ends_with(".toml") {
        let known = palisade_themes::Theme::builtin_names().join(", ");
        let reason =
            format!("theme {value:?} is neither a built-in theme ({known}) nor a .toml file");
        return Err(vec![cx.err(span, reason)]);
    }
    let base = cx.path.parent().unwrap_or(Path::new("."));
    palisade_themes::Theme::load_all(&base.join(value))
        .map_err(|errors| errors.into_iter().map(ConfigError::Theme).collect())
}

fn parse_color(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// Which renderer the DRM backend uses (see `Config::renderer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RendererChoice {
    #[default]
    Auto,
    Gles,
    Pixman,
}

impl RendererChoice {
    pub const NAMES: &'static str = "auto, gles or pixman";

    pub fn parse(name: &str) -> Option<RendererChoice> {
        match name {
            "auto" => Some(RendererChoice::Auto),
            "gles" => Some(RendererChoice::Gles),
            "pixman" => Some(RendererChoice::Pixman),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    public_socket: bool,
    renderer: Option<Spanned<String>>,
    theme: Option<Spanned<String>>,
    keyboard: Option<RawKeyboard>,
    bindings: Option<RawBindings>,
    lock: Option<lock::RawLock>,
    policy: Option<policy::RawPolicy>,
    #[serde(default)]
    app: Vec<RawApp>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKeyboard {
    rules: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    layout: Option<Spanned<String>>,
    variant: Option<Spanned<String>>,
    options: Option<Spanned<String>>,
    repeat_delay_ms: Option<Spanned<u32>>,
    repeat_rate_hz: Option<Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBindings {
    focus_next: Option<Spanned<String>>,
    focus_prev: Option<Spanned<String>>,
    close: Option<Spanned<String>>,
    toggle_usb: Option<Spanned<String>>,
    lock: Option<Spanned<String>>,
    secure_attention: Option<Spanned<String>>,
    send_clipboard: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    id: Spanned<String>,
    label: Spanned<String>,
    color: Spanned<String>,
    command: Spanned<Vec<Spanned<String>>>,
    shortcut: Option<Spanned<String>>,
    #[serde(default)]
    autostart: bool,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, Spanned<String>>,
    globals: Option<policy::RawGlobals>,
}

impl RawKeyboard {
    fn validate(self, cx: &Cx<'_>) -> Result<KeyboardConfig, ConfigError> {
        // Control characters (NUL above all) would break the C strings handed
        // to xkbcommon; reject them here rather than fail at keymap time.
        let text = |field: Option<Spanned<String>>, name: &str| match field {
            Some(s) if s.get_ref().chars().any(char::is_control) => Err(cx.err(
                s.span(),
                format!("keyboard.{name} must not contain control characters"),
            )),
            other => Ok(other.map(Spanned::into_inner)),
        };
        let bounded = |field: Option<Spanned<u32>>, name: &str, max: u32| match field {
            Some(v) if *v.get_ref() > max => {
                Err(cx.err(v.span(), format!("keyboard.{name} must be at most {max}")))
            }
            other => Ok(other.map(Spanned::into_inner)),
        };
        let d = KeyboardConfig::default();
        let delay = bounded(self.repeat_delay_ms, "repeat_delay_ms", MAX_REPEAT_DELAY_MS)?;
        let rate = bounded(self.repeat_rate_hz, "repeat_rate_hz", MAX_REPEAT_RATE_HZ)?;
        Ok(KeyboardConfig {
            rules: text(self.rules, "rules")?.unwrap_or(d.rules),
            model: text(self.model, "model")?.unwrap_or(d.model),
            layout: text(self.layout, "layout")?.unwrap_or(d.layout),
            variant: text(self.variant, "variant")?.unwrap_or(d.variant),
            options: text(self.options, "options")?.or(d.options),
            repeat_delay_ms: delay.unwrap_or(d.repeat_delay_ms),
            repeat_rate_hz: rate.unwrap_or(d.repeat_rate_hz),
        })
    }
}

/// A binding's name, chord and, when it came from the file, its span.
type BindingEntry = (&'static str, Chord, Option<Range<usize>>);

impl RawBindings {
    fn validate(self, cx: &Cx<'_>) -> Result<[BindingEntry; 7], ConfigError> {
        let d = Bindings::default();
        // The order of `Bindings`' fields, which `parse_all` relies on.
        let mut list = [
            ("focus_next", d.focus_next, self.focus_next),
            ("focus_prev", d.focus_prev, self.focus_prev),
            ("close", d.close, self.close),
            ("toggle_usb", d.toggle_usb, self.toggle_usb),
            ("lock", d.lock, self.lock),
            (
                "secure_attention",
                d.secure_attention,
                self.secure_attention,
            ),
            ("send_clipboard", d.send_clipboard, self.send_clipboard),
        ]
        .map(|(name, chord, field)| (name, chord, field, None));
        for (name, chord, field, span) in &mut list {
            if let Some(s) = field {
                *chord = Chord::parse(s.get_ref())
                    .map_err(|e| cx.err(s.span(), format!("bindings.{name}: {e}")))?;
                *span = Some(s.span());
            }
        }
        let list = list.map(|(name, chord, _, span)| (name, chord, span));
        // Two bindings on one chord would make one of them unreachable.
        for (j, (name_j, chord_j, span_j)) in list.iter().enumerate() {
            for (name_i, chord_i, span_i) in &list[..j] {
                // Defaults never clash with each other, so at least one of
                // the two came from the file; point at the later one.
                let span = span_j.clone().or_else(|| span_i.clone()).unwrap_or(0..0);
                let reason = format!("bindings.{name_j} and bindings.{name_i} are both {chord_j}");
                ensure!(cx, !chord_i.conflicts_with(chord_j), span, "{reason}");
            }
        }
        Ok(list)
    }
}

/// What earlier apps claimed: id -> line, and (shortcut, app id, line).
#[derive(Default)]
struct Seen {
    ids: HashMap<String, usize>,
    shortcuts: Vec<(Chord, String, usize)>,
}

impl RawApp {
    fn validate(
        self,
        cx: &Cx<'_>,
        bindings: &[BindingEntry],
        seen: &mut Seen,
        theme: &palisade_themes::Theme,
    ) -> Result<AppConfig, ConfigError> {
        let (id, span) = (self.id.get_ref().clone(), self.id.span());
        ensure!(cx, !id.is_empty(), span, "app id must not be empty");
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        let why = "may only contain a-z, 0-9, - and _";
        ensure!(cx, id.chars().all(ok), span, "app id {id:?} {why}");
        let why = format!("is longer than {MAX_ID_LEN} characters");
        ensure!(cx, id.len() <= MAX_ID_LEN, span, "app id {id:?} {why}");
        let why = "is reserved for clients of the public socket";
        ensure!(cx, id != UNKNOWN_APP_ID, span, "app id {id:?} {why}");
        if let Some(first) = seen.ids.get(&id) {
            bail!(cx, span, "duplicate app id {id:?} (first on line {first})");
        }
        seen.ids.insert(id.clone(), cx.line_of(&span));

        // The label is what the trusted panel shows; a blank one or control
        // characters would let an app pass for another or for nothing.
        let (label, span) = (self.label.get_ref(), self.label.span());
        let ok = !label.trim().is_empty();
        ensure!(cx, ok, span, "label must not be blank");
        let ok = !label.chars().any(char::is_control);
        ensure!(cx, ok, span, "label must not contain control characters");

        let (color, span) = (self.color.get_ref(), self.color.span());
        // "#rrggbb", or a colour of the theme's identity palette by name.
        let Some(color) = parse_color(color).or_else(|| theme.palette_color(color)) else {
            let names: Vec<&str> = theme.palette.iter().map(|(n, _)| n.as_str()).collect();
            bail!(
                cx,
                span,
                "color {color:?} is neither \"#rrggbb\" nor a palette colour ({})",
                names.join(", ")
            );
        };

        let span = self.command.span();
        let command = self.command.into_inner();
        let Some(program) = command.first() else {
            bail!(cx, span, "command must not be empty");
        };
        let ok = !program.get_ref().trim().is_empty();
        let why = "command must start with a program name";
        ensure!(cx, ok, program.span(), "{why}");
        // exec(2) takes C strings; a NUL would only fail at launch time.
        for arg in &command {
            let ok = !arg.get_ref().contains('\0');
            ensure!(cx, ok, arg.span(), "command arguments must not contain NUL");
        }
        let command = command.into_iter().map(Spanned::into_inner).collect();

        let shortcut = match self.shortcut {
            None => None,
            Some(s) => Some(validate_shortcut(cx, s, &id, bindings, seen)?),
        };

        let mut env = Vec::with_capacity(self.env.len());
        for (k, v) in self.env {
            let (name, span) = (k.get_ref(), k.span());
            let mut chars = name.chars();
            let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let ok =
                chars.next().is_some_and(|c| word(c) && !c.is_ascii_digit()) && chars.all(word);
            ensure!(
                cx,
                ok,
                span,
                "env name {name:?} is not [A-Za-z_][A-Za-z0-9_]*"
            );
            let ok = !RESERVED_ENV.contains(&name.as_str());
            let why = "is set by the compositor: it carries the app's identity";
            ensure!(cx, ok, span, "env {name} {why}");
            let ok = !v.get_ref().contains('\0');
            ensure!(cx, ok, v.span(), "env {name} must not contain NUL");
            env.push((k.into_inner(), v.into_inner()));
        }

        let globals = match self.globals {
            None => None,
            Some(list) => Some(policy::parse_globals(cx, list, "globals")?),
        };

        Ok(AppConfig {
            globals,
            id,
            label: self.label.into_inner(),
            color,
            command,
            shortcut,
            autostart: self.autostart,
            env,
        })
    }
}

/// Parses app `id`'s shortcut and refuses one that another app or a binding
/// already has: only one of them could ever fire.
fn validate_shortcut(
    cx: &Cx<'_>,
    s: Spanned<String>,
    id: &str,
    bindings: &[BindingEntry],
    seen: &mut Seen,
) -> Result<Chord, ConfigError> {
    let span = s.span();
    let chord = match Chord::parse(s.get_ref()) {
        Ok(chord) => chord,
        Err(e) => bail!(cx, span, "shortcut: {e}"),
    };
    if let Some((name, _, _)) = bindings.iter().find(|(_, c, _)| c.conflicts_with(&chord)) {
        bail!(cx, span, "shortcut {chord} is already the {name} binding");
    }
    let shortcuts = &mut seen.shortcuts;
    if let Some((_, other, line)) = shortcuts.iter().find(|(c, ..)| c.conflicts_with(&chord)) {
        let why = format!("is already used by app {other:?} (line {line})");
        bail!(cx, span, "shortcut {chord} {why}");
    }
    shortcuts.push((chord.clone(), id.to_owned(), cx.line_of(&span)));
    Ok(chord)
}

#[cfg(test)]
mod tests;
