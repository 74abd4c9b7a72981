//! Themes: TOML files of colours, font sizes and the identity palette, and
//! their typed loader with errors that name the line.
//!
//! Only the colours the foundation compositor draws live here for now.

/// An RGBA colour with components in 0.0..=1.0.
pub type Rgba = [f32; 4];

/// The colours the compositor draws before the panel and theme files exist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    /// The reserved strip at the top of each output.
    pub panel_background: Rgba,
    /// The desktop behind all windows.
    pub background: Rgba,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            panel_background: [0.11, 0.12, 0.14, 1.0],
            background: [0.20, 0.22, 0.25, 1.0],
        }
    }
}
