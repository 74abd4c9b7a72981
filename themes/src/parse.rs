//! Turning theme-file text into a validated [`Theme`].
//!
//! The file is first deserialised into `Raw*` structs whose every value is
//! `Option<Spanned<_>>`: optional so `inherit` can fill gaps and missing keys
//! get our own message, spanned so every later check can name its line.

use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::{rgba_to_u8, Rgba, Theme, ThemeError};

type Span = Range<usize>;

// `expecting` keeps internal type names out of type-mismatch messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a theme table")]
struct RawTheme {
    name: Option<Spanned<String>>,
    inherit: Option<Spanned<String>>,
    colors: Option<Spanned<RawColors>>,
    sizes: Option<Spanned<RawSizes>>,
    palette: Option<Spanned<RawPalette>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [colors] table")]
struct RawColors {
    background: Option<Spanned<String>>,
    panel_background: Option<Spanned<String>>,
    panel_text: Option<Spanned<String>>,
    panel_untrusted_text: Option<Spanned<String>>,
    panel_focused_background: Option<Spanned<String>>,
    panel_warning: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [sizes] table")]
struct RawSizes {
    panel_height: Option<Spanned<i64>>,
    // f64 so `font_size = 13` (a TOML integer) is accepted as well as 13.5.
    font_size: Option<Spanned<f64>>,
    focused_font_size: Option<Spanned<f64>>,
    border_width: Option<Spanned<i64>>,
}

/// The palette's entries in file order; a map type would sort them, and the
/// order is what a settings UI should show.
#[derive(Default)]
struct RawPalette(Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for RawPalette {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesInOrder;
        impl<'de> Visitor<'de> for EntriesInOrder {
            type Value = RawPalette;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of colour names to \"#rrggbb\" strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPalette, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(RawPalette(entries))
            }
        }
        deserializer.deserialize_map(EntriesInOrder)
    }
}

/// The file being parsed, for turning byte spans into located errors.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Source<'_> {
    /// An error at `span`, or at 1:1 when nothing better is known.
    fn error(&self, span: Option<&Span>, reason: impl Into<String>) -> ThemeError {
        let (line, column) = span.map_or((1, 1), |s| line_column(self.text, s.start));
        ThemeError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            reason: reason.into(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past the
/// end or inside a character land on the next character boundary.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for (i, ch) in text.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// One of the file's tables, so a missing key can point at its header.
struct Table<'a> {
    source: &'a Source<'a>,
    name: &'static str,
    /// Where the table starts; `None` when the file has no such table.
    /// The top level has an empty name and starts at 1:1.
    span: Option<Span>,
}

impl Table<'_> {
    fn missing(&self, key: &str) -> ThemeError {
        let reason = match self.span {
            Some(_) if self.name.is_empty() => format!("missing top-level key `{key}`"),
            Some(_) => format!("missing key `{key}` in [{}]", self.name),
            None => format!("missing table [{}] (with key `{key}`)", self.name),
        };
        self.source.error(self.span.as_ref(), reason)
    }

    /// A value from this file, else the inherited one, else an error. Also
    /// returns the value's span when it came from this file.
    fn value<R, T>(
        &self,
        raw: Option<Spanned<R>>,
        key: &str,
        inherited: Option<T>,
        check: impl FnOnce(&R) -> Result<T, String>,
    ) -> Result<(T, Option<Span>), ThemeError> {
        let Some(raw) = raw else {
            return inherited
                .map(|v| (v, None))
                .ok_or_else(|| self.missing(key));
        };
        let span = raw.span();
        match check(raw.get_ref()) {
            Ok(v) => Ok((v, Some(span))),
            Err(reason) => Err(self.source.error(Some(&span), format!("`{key}`: {reason}"))),
        }
    }

    fn color(
        &self,
        raw: Option<Spanned<String>>,
        key: &str,
        inherited: Option<Rgba>,
    ) -> Result<(Rgba, Option<Span>), ThemeError> {
        self.value(raw, key, inherited, |s| {
            parse_hex(s).map(rgba_from_bytes).ok_or_else(|| {
                format!("expected a colour \"#rrggbb\" or \"#rrggbbaa\", found {s:?}")
            })
        })
    }

    fn int(
        &self,
        raw: Option<Spanned<i64>>,
        key: &str,
        inherited: Option<i32>,
        range: RangeInclusive<i32>,
    ) -> Result<i32, ThemeError> {
        let check = |v: &i64| {
            i32::try_from(*v)
                .ok()
                .filter(|v| range.contains(v))
                .ok_or_else(|| out_of_range(v, &range))
        };
        Ok(self.value(raw, key, inherited, check)?.0)
    }

    fn float(
        &self,
        raw: Option<Spanned<f64>>,
        key: &str,
        inherited: Option<f32>,
        range: RangeInclusive<f32>,
    ) -> Result<f32, ThemeError> {
        // The range check also rejects TOML's `nan` and `inf`.
        let check = |v: &f64| {
            Some(*v as f32)
                .filter(|v| range.contains(v))
                .ok_or_else(|| out_of_range(v, &range))
        };
        Ok(self.value(raw, key, inherited, check)?.0)
    }
}

fn out_of_range<V: fmt::Display, R: fmt::Display>(v: V, range: &RangeInclusive<R>) -> String {
    format!("{v} is out of range {}..={}", range.start(), range.end())
}

/// `#rrggbb` (opaque) or `#rrggbbaa` as bytes.
fn parse_hex(s: &str) -> Option<[u8; 4]> {
    let hex = s.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // All ASCII, so every two-byte slice is on a character boundary.
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let alpha = if hex.len() == 8 { byte(6)? } else { 0xff };
    Some([byte(0)?, byte(2)?, byte(4)?, alpha])
}

pub(crate) fn rgba_from_bytes(c: [u8; 4]) -> Rgba {
    c.map(|v| f32::from(v) / 255.0)
}

/// Palette names end up in config files and IPC, so keep them plain.
fn valid_palette_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn split<T>(raw: Option<Spanned<T>>) -> (T, Option<Span>)
where
    T: Default,
{
    match raw {
        Some(s) => {
            let span = s.span();
            (s.into_inner(), Some(span))
        }
        None => (T::default(), None),
    }
}

/// Parses and validates a theme. `allow_inherit` is false for builtins (see
/// `parse_builtin`).
/// Parses a theme, stopping at the first error.
pub(crate) fn parse(text: &str, path: &Path, allow_inherit: bool) -> Result<Theme, ThemeError> {
    parse_all(text, path, allow_inherit).map_err(|mut errors| errors.swap_remove(0))
}

/// The value, or None with the error recorded.
fn keep<T>(errors: &mut Vec<ThemeError>, result: Result<T, ThemeError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// Parses a theme and reports every error in it; a TOML syntax error or a
/// bad `inherit` stops the check, as nothing after them can be judged.
pub(crate) fn parse_all(
    text: &str,
    path: &Path,
    allow_inherit: bool,
) -> Result<Theme, Vec<ThemeError>> {
    let source = Source { text, path };
    let raw: RawTheme = toml::from_str(text).map_err(|e| {
        // One line, so the error fits a log line or an on-screen notice.
        let reason = e.message().trim().lines().collect::<Vec<_>>().join("; ");
        vec![source.error(e.span().as_ref(), reason)]
    })?;

    let base = match raw.inherit {
        None => None,
        Some(inherit) if !allow_inherit => {
            return Err(vec![
                source.error(Some(&inherit.span()), "a builtin theme cannot inherit")
            ]);
        }
        Some(inherit) => {
            let found = Theme::builtin(inherit.get_ref());
            let known = Theme::builtin_names().join(", ");
            let reason = format!(
                "`inherit`: no builtin theme {:?} (known: {known})",
                inherit.get_ref()
            );
            Some(found.ok_or_else(|| vec![source.error(Some(&inherit.span()), reason)])?)
        }
    };
    let base = base.as_ref();
    let mut errors = Vec::new();

    let root = Table {
        source: &source,
        name: "",
        span: Some(0..0),
    };
    // An inheriting theme without a name is named after its file, since the
    // parent's name would misreport which theme is in use.
    let default_name = base.map(|_| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let name = root.value(raw.name, "name", default_name, |s| {
        let s = s.trim();
        if s.is_empty() {
            Err("must not be empty".to_owned())
        } else {
            Ok(s.to_owned())
        }
    });
    let name = keep(&mut errors, name);

    let (colors, colors_span) = split(raw.colors);
    let table = Table {
        source: &source,
        name: "colors",
        span: colors_span,
    };
    let (background, _) = keep(
        &mut errors,
        table.color(colors.background, "background", base.map(|b| b.background)),
    )
    .unzip();
    let (panel_background, panel_background_at) = keep(
        &mut errors,
        table.color(
            colors.panel_background,
            "panel_background",
            base.map(|b| b.panel_background),
        ),
    )
    .unzip();
    let (panel_text, panel_text_at) = keep(
        &mut errors,
        table.color(colors.panel_text, "panel_text", base.map(|b| b.panel_text)),
    )
    .unzip();
    let (panel_untrusted_text, untrusted_at) = keep(
        &mut errors,
        table.color(
            colors.panel_untrusted_text,
            "panel_untrusted_text",
            base.map(|b| b.panel_untrusted_text),
        ),
    )
    .unzip();
    let (panel_focused_background, _) = keep(
        &mut errors,
        table.color(
            colors.panel_focused_background,
            "panel_focused_background",
            base.map(|b| b.panel_focused_background),
        ),
    )
    .unzip();
    let (panel_warning, _) = keep(
        &mut errors,
        table.color(
            colors.panel_warning,
            "panel_warning",
            base.map(|b| b.panel_warning),
        ),
    )
    .unzip();

    // Compared as the 8-bit colours actually drawn. Blame the key this file
    // set, preferring the first listed; only an inherited pair can have
    // neither, and builtins pass these checks.
    let distinct = |a: Rgba, a_at: &Option<Span>, b: Rgba, b_at: &Option<Span>, why: &str| {
        if rgba_to_u8(a) != rgba_to_u8(b) {
            return Ok(());
        }
        let at = a_at.as_ref().or(b_at.as_ref()).or(table.span.as_ref());
        Err(source.error(at, why))
    };
    // Only colours that parsed can be compared.
    if let (
        Some(untrusted),
        Some(text),
        Some(bg),
        Some(untrusted_at),
        Some(panel_text_at),
        Some(panel_background_at),
    ) = (
        panel_untrusted_text,
        panel_text,
        panel_background,
        &untrusted_at,
        &panel_text_at,
        &panel_background_at,
    ) {
        let checks = [
            distinct(
                untrusted,
                untrusted_at,
                text,
                panel_text_at,
                "`panel_untrusted_text` must differ from `panel_text`, or client titles \
                 could pass for trusted text",
            ),
            distinct(
                text,
                panel_text_at,
                bg,
                panel_background_at,
                "`panel_text` must differ from `panel_background`, or trusted text is invisible",
            ),
            distinct(
                untrusted,
                untrusted_at,
                bg,
                panel_background_at,
                "`panel_untrusted_text` must differ from `panel_background`, or window titles \
                 are invisible",
            ),
        ];
        for check in checks {
            keep(&mut errors, check);
        }
    }

    let (sizes, sizes_span) = split(raw.sizes);
    let table = Table {
        source: &source,
        name: "sizes",
        span: sizes_span,
    };
    let panel_height = keep(
        &mut errors,
        table.int(
            sizes.panel_height,
            "panel_height",
            base.map(|b| b.panel_height),
            24..=64,
        ),
    );
    let font_size = keep(
        &mut errors,
        table.float(
            sizes.font_size,
            "font_size",
            base.map(|b| b.font_size),
            8.0..=32.0,
        ),
    );
    let focused_font_size = keep(
        &mut errors,
        table.float(
            sizes.focused_font_size,
            "focused_font_size",
            base.map(|b| b.focused_font_size),
            8.0..=40.0,
        ),
    );
    let border_width = keep(
        &mut errors,
        table.int(
            sizes.border_width,
            "border_width",
            base.map(|b| b.border_width),
            1..=8,
        ),
    );

    let palette = keep(&mut errors, parse_palette(&source, raw.palette, base));

    match (
        name,
        (
            background,
            panel_background,
            panel_text,
            panel_untrusted_text,
        ),
        (panel_focused_background, panel_warning),
        (panel_height, font_size, focused_font_size, border_width),
        palette,
    ) {
        (
            Some((name, _)),
            (
                Some(background),
                Some(panel_background),
                Some(panel_text),
                Some(panel_untrusted_text),
            ),
            (Some(panel_focused_background), Some(panel_warning)),
            (Some(panel_height), Some(font_size), Some(focused_font_size), Some(border_width)),
            Some(palette),
        ) if errors.is_empty() => Ok(Theme {
            name,
            background,
            panel_background,
            panel_text,
            panel_untrusted_text,
            panel_focused_background,
            panel_warning,
            panel_height,
            font_size,
            focused_font_size,
            border_width,
            palette,
        }),
        _ => Err(errors),
    }
}

/// An inheriting theme's palette entries replace the parent's colour of the
/// same name in place and append new names, so every name a config may use
/// with the parent keeps resolving.
fn parse_palette(
    source: &Source<'_>,
    raw: Option<Spanned<RawPalette>>,
    base: Option<&Theme>,
) -> Result<Vec<(String, [u8; 3])>, ThemeError> {
    let (entries, span) = split(raw);
    let mut palette = base.map(|b| b.palette.clone()).unwrap_or_default();
    // TOML already rejects a key repeated in one table, so names from this
    // file are unique; merging keeps them unique against the parent's.
    for (name, value) in entries.0 {
        if !valid_palette_name(name.get_ref()) {
            let reason = format!(
                "palette name {:?} may only use a-z, 0-9 and '-'",
                name.get_ref()
            );
            return Err(source.error(Some(&name.span()), reason));
        }
        let rgb = match parse_hex(value.get_ref()) {
            Some([r, g, b, 0xff]) if value.get_ref().len() == 7 => [r, g, b],
            _ => {
                let reason = format!(
                    "palette colour `{}`: expected an opaque colour \"#rrggbb\", found {:?}",
                    name.get_ref(),
                    value.get_ref()
                );
                return Err(source.error(Some(&value.span()), reason));
            }
        };
        let name = name.into_inner();
        match palette.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = rgb,
            None => palette.push((name, rgb)),
        }
    }
    if palette.is_empty() {
        let reason = match span {
            Some(_) => "the identity palette [palette] needs at least one colour",
            None => "missing table [palette] (the identity palette)",
        };
        return Err(source.error(span.as_ref(), reason));
    }
    Ok(palette)
}
