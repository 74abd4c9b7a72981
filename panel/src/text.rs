//! Text: the embedded fonts, shaping into positioned glyphs, and blending
//! glyph masks into a pixmap.
//!
//! Only the two embedded DejaVu faces are ever loaded (no system fonts, no
//! fontconfig), so a panel renders the same pixels on every machine and a
//! font installed by someone else cannot change how trusted text looks.

use cosmic_text::fontdb::{Database, Source};
use cosmic_text::{
    Attrs, Buffer, CacheKey, Ellipsize, EllipsizeHeightLimit, Family, FontSystem, Hinting, Metrics,
    Shaping, Style, SwashCache, SwashContent, Wrap,
};
use std::sync::Arc;
use tiny_skia::Pixmap;

static SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static SANS_OBLIQUE: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Oblique.ttf");
const FAMILY: &str = "DejaVu Sans";

/// Longest text (in chars) ever handed to the shaper. Titles are the
/// client's to choose; this bounds the work a hostile multi-megabyte title
/// can cause. Far more than fits in any entry anyway.
const MAX_CHARS: usize = 256;

/// Glyph images kept before the raster cache is emptied.
const MAX_CACHED_GLYPHS: usize = 4096;

/// Which embedded face to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Trusted text.
    Regular,
    /// Untrusted text (titles, SSIDs).
    Oblique,
}

/// One line of shaped text: glyphs at integer pixel positions relative to
/// the top-left of its line box.
#[derive(Debug, Clone, Default)]
pub struct ShapedText {
    glyphs: Vec<(CacheKey, i32, i32)>,
    /// Advance width in pixels (after ellipsizing).
    pub width: i32,
    /// Height of the line box in pixels.
    pub height: i32,
}

/// The font database and the glyph raster cache, loaded once per panel.
pub struct Fonts {
    system: FontSystem,
    cache: SwashCache,
}

impl Default for Fonts {
    fn default() -> Self {
        Fonts::new()
    }
}

impl Fonts {
    pub fn new() -> Fonts {
        let mut db = Database::new();
        db.load_font_source(Source::Binary(Arc::new(SANS)));
        db.load_font_source(Source::Binary(Arc::new(SANS_OBLIQUE)));
        // A fixed locale: the host's must not influence shaping or fallback.
        let system = FontSystem::new_with_locale_and_db("en-US".to_string(), db);
        Fonts {
            system,
            cache: SwashCache::new(),
        }
    }

    /// Shapes `text` as one line at `size_px` physical pixels; when
    /// `max_width` is given, text that does not fit ends in an ellipsis.
    pub fn shape(
        &mut self,
        text: &str,
        size_px: f32,
        face: Face,
        max_width: Option<i32>,
    ) -> ShapedText {
        let text = sanitize(text);
        let line_height = (size_px * 1.3).ceil();
        let mut buffer = Buffer::new(&mut self.system, Metrics::new(size_px, line_height));
        // Layout happens in physical pixels, so hinting snaps advances to
        // whole device pixels: crisp at every scale.
        buffer.set_hinting(Hinting::Enabled);
        buffer.set_wrap(Wrap::None);
        if let Some(max) = max_width {
            buffer.set_ellipsize(Ellipsize::End(EllipsizeHeightLimit::Lines(1)));
            buffer.set_size(Some(max.max(0) as f32), None);
        }
        let style = match face {
            Face::Regular => Style::Normal,
            Face::Oblique => Style::Oblique,
        };
        let attrs = Attrs::new().family(Family::Name(FAMILY)).style(style);
        buffer.set_text(&text, &attrs, Shaping::Advanced, None);
        buffer.shape_until_scroll(&mut self.system, false);

        let mut shaped = ShapedText {
            height: line_height as i32,
            ..ShapedText::default()
        };
        // The text has no line breaks (sanitize removed them), so the first
        // run is the whole line.
        if let Some(run) = buffer.layout_runs().next() {
            shaped.width = run.line_w.ceil() as i32;
            for glyph in run.glyphs {
                let g = glyph.physical((0.0, run.line_y), 1.0);
                shaped.glyphs.push((g.cache_key, g.x, g.y));
            }
        }
        if let Some(max) = max_width {
            shaped.width = shaped.width.min(max.max(0));
        }
        shaped
    }

    /// Blends `text` into `pixmap` with its line box's top-left at (x, y).
    /// Everything outside the pixmap is clipped.
    pub fn paint(
        &mut self,
        pixmap: &mut Pixmap,
        text: &ShapedText,
        x: i32,
        y: i32,
        color: [u8; 4],
    ) {
        // Glyph images are kept per (glyph, size, subpixel offset); clients
        // choose titles, so the cache is bounded rather than left to grow.
        if self.cache.image_cache.len() > MAX_CACHED_GLYPHS {
            self.cache.image_cache.clear();
        }
        let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
        let data = pixmap.data_mut();
        for &(key, gx, gy) in &text.glyphs {
            let Some(image) = self.cache.get_image(&mut self.system, key) else {
                continue;
            };
            let left = x + gx + image.placement.left;
            let top = y + gy - image.placement.top;
            let (w, h) = (image.placement.width as i32, image.placement.height as i32);
            for row in 0..h {
                let py = top + row;
                if py < 0 || py >= ph {
                    continue;
                }
                for col in 0..w {
                    let px = left + col;
                    if px < 0 || px >= pw {
                        continue;
                    }
                    let src = (row * w + col) as usize;
                    let dst = ((py * pw + px) * 4) as usize;
                    let (Some(pixel), Some(out)) =
                        (pixel_of(image, src, color), data.get_mut(dst..dst + 4))
                    else {
                        continue;
                    };
                    blend(out, pixel);
                }
            }
        }
    }
}

/// The straight-alpha colour of one glyph-image pixel.
fn pixel_of(image: &cosmic_text::SwashImage, i: usize, color: [u8; 4]) -> Option<[u8; 4]> {
    match image.content {
        SwashContent::Mask => {
            let coverage = *image.data.get(i)?;
            Some([color[0], color[1], color[2], mul(coverage, color[3])])
        }
        // Colour glyphs (emoji) are not in the embedded fonts; handled for
        // completeness, drawn as they come.
        SwashContent::Color => {
            let p = image.data.get(i * 4..i * 4 + 4)?;
            Some([p[0], p[1], p[2], p[3]])
        }
        // Never requested (the cache renders plain alpha masks).
        SwashContent::SubpixelMask => None,
    }
}

/// Source-over of a straight-alpha colour onto a premultiplied pixel.
pub(crate) fn blend(dst: &mut [u8], src: [u8; 4]) {
    let a = src[3];
    if a == 0 {
        return;
    }
    let inv = 255 - a;
    for c in 0..3 {
        dst[c] = mul(src[c], a).saturating_add(mul(dst[c], inv));
    }
    dst[3] = a.saturating_add(mul(dst[3], inv));
}

/// a * b / 255, rounded.
fn mul(a: u8, b: u8) -> u8 {
    let p = u32::from(a) * u32::from(b) + 128;
    ((p + (p >> 8)) >> 8) as u8
}

/// Makes text safe to lay out as a single line: control characters (line
/// breaks, tabs) become spaces and bidi controls are dropped, so a client
/// cannot break the line or reorder what is drawn around its own text; the
/// length is capped to bound shaping work.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_flattens_and_caps() {
        assert_eq!(sanitize("a\nb\tc\u{202e}d"), "a b cd");
        assert_eq!(sanitize(&"x".repeat(10_000)).chars().count(), MAX_CHARS);
    }

    #[test]
    fn ellipsis_respects_max_width() {
        let mut fonts = Fonts::new();
        let full = fonts.shape(
            "A rather long window title indeed",
            13.0,
            Face::Oblique,
            None,
        );
        let cut = fonts.shape(
            "A rather long window title indeed",
            13.0,
            Face::Oblique,
            Some(80),
        );
        assert!(full.width > 80);
        assert!(cut.width <= 80 && cut.width > 40, "{}", cut.width);
        assert!(cut.glyphs.len() < full.glyphs.len());
    }

    #[test]
    fn embedded_fonts_have_the_glyphs_we_draw() {
        let mut fonts = Fonts::new();
        for s in ["…", "—", "Lock", "12:34", "⚡"] {
            let t = fonts.shape(s, 13.0, Face::Regular, None);
            assert!(t.glyphs.iter().all(|(k, _, _)| k.glyph_id != 0), "{s}");
        }
    }

    #[test]
    fn mul_is_exact_at_the_ends() {
        assert_eq!(mul(255, 255), 255);
        assert_eq!(mul(0, 255), 0);
        assert_eq!(mul(128, 255), 128);
    }
}
