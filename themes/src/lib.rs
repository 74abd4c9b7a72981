//! Themes: TOML files of colours, font sizes, the panel height and the
//! identity palette, and their typed loader with errors that name the line.
//!
//! Three themes are built in (`dark`, `light`, `high-contrast`); their files
//! sit next to this crate's `Cargo.toml` and are embedded at compile time so
//! the compositor always has a theme even with no files installed. A user
//! theme may start from a builtin with `inherit = "dark"` and override keys.

mod parse;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// An RGBA colour with components in 0.0..=1.0, straight (not premultiplied)
/// alpha.
pub type Rgba = [f32; 4];

/// Everything the compositor and panel draw that a user may restyle.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// The theme's name, as shown in logs and settings.
    pub name: String,
    /// The desktop behind all windows.
    pub background: Rgba,
    /// The trusted strip at the top of each output.
    pub panel_background: Rgba,
    /// Text the compositor vouches for: labels, clock, status.
    pub panel_text: Rgba,
    /// Text a client chose (window titles); always differs from `panel_text`
    /// so a client cannot pass its words off as the compositor's.
    pub panel_untrusted_text: Rgba,
    /// The highlight behind the focused window's entry in the panel.
    pub panel_focused_background: Rgba,
    /// Warnings in the panel: USB allowed, battery low, helper missing.
    pub panel_warning: Rgba,
    /// Height of the panel strip in logical pixels, 24..=64.
    pub panel_height: i32,
    /// Panel text size in logical pixels, 8..=32.
    pub font_size: f32,
    /// Size of the prominent focused-identity label, 8..=40.
    pub focused_font_size: f32,
    /// Width of the identity-coloured window border in logical pixels, 1..=8.
    pub border_width: i32,
    /// The identity palette: colours configs refer to by name, in file order.
    pub palette: Vec<(String, [u8; 3])>,
}

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is not a valid theme; `line` and `column` are
    /// 1-based and point at the offending key, value or table header.
    #[error("{}:{line}:{column}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
}

const BUILTIN_NAMES: [&str; 3] = ["dark", "light", "high-contrast"];
const BUILTIN_TEXTS: [&str; 3] = [
    include_str!("../dark.toml"),
    include_str!("../light.toml"),
    include_str!("../high-contrast.toml"),
];

/// The builtins parsed once: `Theme::default()` runs on every compositor
/// start and in many tests, and the files never change at run time.
static BUILTINS: OnceLock<Vec<Option<Theme>>> = OnceLock::new();

fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<builtin>/{name}.toml"))
}

fn parse_builtin(name: &str, text: &str) -> Result<Theme, ThemeError> {
    // Builtins may not inherit: resolving `inherit` goes through BUILTINS,
    // which is still being initialised while a builtin is parsed.
    parse::parse(text, &builtin_path(name), false)
}

impl Theme {
    /// A theme compiled into the binary, by name; `None` for unknown names.
    pub fn builtin(name: &str) -> Option<Theme> {
        let index = BUILTIN_NAMES.iter().position(|n| *n == name)?;
        let parsed = BUILTINS.get_or_init(|| {
            BUILTIN_NAMES
                .iter()
                .zip(BUILTIN_TEXTS)
                .map(|(name, text)| parse_builtin(name, text).ok())
                .collect()
        });
        parsed.get(index)?.clone()
    }

    /// The names [`Theme::builtin`] accepts, also valid as `inherit` values.
    pub fn builtin_names() -> &'static [&'static str] {
        &BUILTIN_NAMES
    }

    /// Parses a theme file's contents; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<Theme, ThemeError> {
        parse::parse(text, path, true)
    }

    /// Parses a theme file's text and reports every error in it.
    pub fn parse_all(text: &str, path: &Path) -> Result<Theme, Vec<ThemeError>> {
        parse::parse_all(text, path, true)
    }

    /// Reads and parses a theme file.
    pub fn load(path: &Path) -> Result<Theme, ThemeError> {
        Self::load_all(path).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Reads a theme file and reports every error in it.
    pub fn load_all(path: &Path) -> Result<Theme, Vec<ThemeError>> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![ThemeError::Io {
                path: path.to_path_buf(),
                source,
            }]
        })?;
        Self::parse_all(&text, path)
    }

    /// An identity palette colour by name, e.g. `"blue"`.
    pub fn palette_color(&self, name: &str) -> Option<[u8; 3]> {
        self.palette
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, rgb)| *rgb)
    }
}

impl Default for Theme {
    /// The builtin dark theme.
    fn default() -> Self {
        Self::builtin("dark").unwrap_or_else(fallback_dark)
    }
}

/// The dark theme written out in code, used only if `dark.toml` failed to
/// parse: a compositor without a theme cannot draw, and a unit test keeps the
/// two identical so this never shows a different look.
fn fallback_dark() -> Theme {
    let c = |r: u8, g: u8, b: u8| parse::rgba_from_bytes([r, g, b, 0xff]);
    Theme {
        name: "dark".to_owned(),
        background: c(0x33, 0x38, 0x40),
        panel_background: c(0x1c, 0x1f, 0x24),
        panel_text: c(0xe6, 0xe6, 0xe6),
        panel_untrusted_text: c(0x9a, 0xa0, 0xa6),
        panel_focused_background: c(0x2d, 0x3a, 0x4f),
        panel_warning: c(0xf0, 0xa0, 0x30),
        panel_height: 32,
        font_size: 13.0,
        focused_font_size: 15.0,
        border_width: 2,
        palette: [
            ("blue", [0x42, 0x85, 0xf4]),
            ("green", [0x34, 0xa8, 0x53]),
            ("red", [0xea, 0x43, 0x35]),
            ("yellow", [0xfb, 0xbc, 0x05]),
            ("purple", [0xa1, 0x42, 0xf4]),
            ("grey", [0x80, 0x80, 0x80]),
        ]
        .into_iter()
        .map(|(name, rgb)| (name.to_owned(), rgb))
        .collect(),
    }
}

/// Converts a colour to 8-bit components, clamping out-of-range values (and
/// mapping NaN to 0) rather than wrapping.
pub fn rgba_to_u8(c: Rgba) -> [u8; 4] {
    // `as` saturates and sends NaN to 0, so no input can panic here.
    c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
}
