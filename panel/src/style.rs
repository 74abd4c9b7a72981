//! The few colours and sizes the panel needs, taken from the theme.

/// Colours (straight RGBA, 0..=255) and sizes (logical pixels) of the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelStyle {
    /// Strip background. Always drawn opaque, whatever alpha is given: the
    /// trusted strip must never let anything underneath show through.
    pub panel_background: [u8; 4],
    /// Trusted text: identity labels, status, clock.
    pub text: [u8; 4],
    /// Client-supplied text (window titles, SSIDs): drawn oblique in this
    /// dimmer colour so it never looks like the panel's own words.
    pub untrusted_text: [u8; 4],
    /// Background of the focused window's entry in the window list.
    pub focused_background: [u8; 4],
    /// States that need the user's attention (USB open, no helper).
    pub warning: [u8; 4],
    /// Strip height in logical pixels.
    pub height: i32,
    /// Text size in logical pixels.
    pub font_size: f32,
    /// Size of the focused window's identity, which is shown prominently.
    pub focused_font_size: f32,
}

impl PanelStyle {
    /// The panel's colours and sizes from a theme.
    pub fn from_theme(theme: &palisade_themes::Theme) -> PanelStyle {
        PanelStyle {
            panel_background: rgba8(theme.panel_background),
            text: rgba8(theme.panel_text),
            untrusted_text: rgba8(theme.panel_untrusted_text),
            focused_background: rgba8(theme.panel_focused_background),
            warning: rgba8(theme.panel_warning),
            height: theme.panel_height,
            font_size: theme.font_size,
            focused_font_size: theme.focused_font_size,
        }
    }
}

impl Default for PanelStyle {
    fn default() -> Self {
        PanelStyle {
            panel_background: [0x1c, 0x1f, 0x24, 0xff],
            text: [0xe6, 0xe6, 0xe6, 0xff],
            untrusted_text: [0x9a, 0xa0, 0xa6, 0xff],
            focused_background: [0x2d, 0x3a, 0x4f, 0xff],
            warning: [0xf0, 0xa0, 0x30, 0xff],
            height: crate::DEFAULT_HEIGHT,
            font_size: 13.0,
            focused_font_size: 15.0,
        }
    }
}

/// Converts a theme colour (straight RGBA, 0.0..=1.0) into the panel's
/// 8-bit form. Out-of-range values are clamped and NaN becomes 0, so a
/// malformed theme cannot make the conversion misbehave.
pub fn rgba8(c: [f32; 4]) -> [u8; 4] {
    c.map(|v| {
        if v.is_nan() {
            0
        } else {
            // In range after the clamp, so the cast cannot truncate.
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    })
}

/// The style with every size forced into a sane range, so that a broken
/// theme cannot ask for a zero-height strip or a gigantic font.
pub(crate) fn sanitized(style: &PanelStyle) -> PanelStyle {
    let size = |v: f32, fallback: f32| {
        if v.is_finite() && v > 0.0 {
            v.clamp(1.0, 256.0)
        } else {
            fallback
        }
    };
    PanelStyle {
        height: style.height.clamp(1, 1024),
        font_size: size(style.font_size, 13.0),
        focused_font_size: size(style.focused_font_size, 15.0),
        ..style.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba8_clamps_and_rounds() {
        assert_eq!(rgba8([0.0, 1.0, 0.5, 2.0]), [0, 255, 128, 255]);
        assert_eq!(rgba8([f32::NAN, -1.0, f32::INFINITY, 0.1]), [0, 0, 255, 26]);
    }

    #[test]
    fn sanitized_fixes_nonsense_sizes() {
        let s = sanitized(&PanelStyle {
            height: -5,
            font_size: f32::NAN,
            focused_font_size: 1e9,
            ..PanelStyle::default()
        });
        assert_eq!(s.height, 1);
        assert_eq!(s.font_size, 13.0);
        assert_eq!(s.focused_font_size, 256.0);
    }
}
