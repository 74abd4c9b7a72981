//! The trusted panel: panel state in, pixels out.
//!
//! Draws the strip at the top of every output — the window list with
//! identity chips, the focused window's identity, USB, Wi-Fi, battery, clock
//! and the lock button — with tiny-skia and cosmic-text, at the output's
//! scale. It holds no Wayland types so it can be reviewed and tested on its
//! own: the compositor fills a [`PanelState`], calls [`Panel::render`] and
//! uploads the returned pixels (only the damaged rectangles if it likes).
//!
//! The strip is split into regions that tile it; each render compares every
//! region's inputs and rectangle with the previous render and repaints only
//! those that changed, so a clock tick repaints the clock, not the panel.

mod draw;
mod layout;
pub mod model;
mod style;
mod text;

/// The embedded fonts and the shaping and glyph blending behind them, for
/// the compositor's other trusted drawing (the lock screen), so every trusted
/// word is drawn by one text path from the same embedded fonts.
pub use draw::rounded as rounded_rect;
use draw::Drawing;
pub use layout::RegionKind;
use layout::{Key, Units};
pub use model::{
    BatteryState, ClipboardTransit, Hit, PanelState, UsbState, WifiState, WindowEntry,
};
pub use style::{rgba8, PanelStyle};
pub use text::{Face, Fonts, ShapedText};
use tiny_skia::Pixmap;

/// Height of the reserved strip in logical pixels.
pub const DEFAULT_HEIGHT: i32 = 32;

/// Largest strip drawn, in physical pixels; anything bigger is cut. Bounds
/// memory whatever width and scale the caller passes.
const MAX_WIDTH: i32 = 16_384;
const MAX_HEIGHT: i32 = 1_024;

/// A rectangle in physical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    /// The overlap of two rectangles, None when they do not overlap.
    pub fn intersect(self, other: Rect) -> Option<Rect> {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = self
            .x
            .saturating_add(self.w)
            .min(other.x.saturating_add(other.w));
        let y1 = self
            .y
            .saturating_add(self.h)
            .min(other.y.saturating_add(other.h));
        (x1 > x0 && y1 > y0).then(|| Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        })
    }

    fn contains(self, x: f64, y: f64) -> bool {
        x >= f64::from(self.x)
            && y >= f64::from(self.y)
            && x < f64::from(self.x) + f64::from(self.w)
            && y < f64::from(self.y) + f64::from(self.h)
    }
}

/// The result of one render: the whole strip and what changed.
#[derive(Debug)]
pub struct Frame<'a> {
    /// RGBA8, premultiplied alpha, row-major, `width * 4` bytes a row.
    pub pixels: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// Physical-pixel rectangles repainted by this render; empty when
    /// nothing changed.
    pub damage: Vec<Rect>,
}

/// Fonts and the glyph cache, loaded once and shared by every output.
pub struct Panel {
    fonts: text::Fonts,
}

/// One output's panel: its pixels and what the last render drew.
pub struct PanelSurface {
    pixmap: Option<Pixmap>,
    last: Option<Last>,
}

struct Last {
    width: i32,
    height: i32,
    scale: f64,
    style: PanelStyle,
    regions: Vec<Region>,
}

struct Region {
    kind: RegionKind,
    rect: Rect,
    key: Key,
    drawing: Drawing,
}

// Summaries only: the font system and pixel buffers are large and opaque.
impl std::fmt::Debug for Panel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Panel").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PanelSurface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = self.pixmap.as_ref().map(|p| (p.width(), p.height()));
        f.debug_struct("PanelSurface")
            .field("size", &size)
            .field("scale", &self.last.as_ref().map(|l| l.scale))
            .finish_non_exhaustive()
    }
}

impl Default for Panel {
    fn default() -> Self {
        Panel::new()
    }
}

impl Default for PanelSurface {
    fn default() -> Self {
        PanelSurface::new()
    }
}

impl PanelSurface {
    pub fn new() -> PanelSurface {
        PanelSurface {
            pixmap: None,
            last: None,
        }
    }

    /// Where `kind` was drawn by the last render, in physical pixels.
    pub fn region_rect(&self, kind: RegionKind) -> Option<Rect> {
        let last = self.last.as_ref()?;
        last.regions.iter().find(|r| r.kind == kind).map(|r| r.rect)
    }

    /// Where window `id`'s untrusted title was drawn by the last render, in
    /// physical pixels; None when it has no visible title.
    pub fn title_rect(&self, id: u64) -> Option<Rect> {
        let last = self.last.as_ref()?;
        let list = last
            .regions
            .iter()
            .find(|r| r.kind == RegionKind::Windows)?;
        let (_, local) = list.drawing.titles.iter().find(|(t, _)| *t == id)?;
        offset(*local, list.rect.x).intersect(list.rect)
    }
}

fn offset(r: Rect, dx: i32) -> Rect {
    Rect {
        x: r.x.saturating_add(dx),
        ..r
    }
}

/// A logical length in physical pixels, rounded up so the strip is never
/// a pixel short.
fn physical(logical: i32, scale: f64) -> i32 {
    let v = (f64::from(logical) * scale).ceil();
    // Saturating float-to-int cast; the clamp keeps it in range anyway.
    v.clamp(0.0, f64::from(i32::MAX)) as i32
}

impl Panel {
    pub fn new() -> Panel {
        Panel {
            fonts: text::Fonts::new(),
        }
    }

    /// Draws `state` into `surface` at `scale` and returns the pixels with
    /// the rectangles that changed since the surface's previous render.
    pub fn render<'s>(
        &mut self,
        surface: &'s mut PanelSurface,
        state: &PanelState,
        style: &PanelStyle,
        width_logical: i32,
        scale: f64,
    ) -> Frame<'s> {
        let style = style::sanitized(style);
        let scale = if scale.is_finite() && scale > 0.0 {
            scale.clamp(0.1, 16.0)
        } else {
            1.0
        };
        let width = physical(width_logical, scale).min(MAX_WIDTH);
        let height = physical(style.height, scale).min(MAX_HEIGHT);

        let full = !matches!(&surface.last, Some(l)
            if l.width == width && l.height == height && l.scale == scale && l.style == style)
            || surface.pixmap.is_none();
        if full {
            surface.last = None;
            surface.pixmap = u32::try_from(width)
                .ok()
                .zip(u32::try_from(height).ok())
                .and_then(|(w, h)| Pixmap::new(w, h));
        }
        let Some(pixmap) = surface.pixmap.as_mut() else {
            // Zero-sized strip: nothing to draw, nothing to remember.
            return Frame {
                pixels: &[],
                width: 0,
                height: 0,
                damage: Vec::new(),
            };
        };

        let u = Units {
            scale,
            height,
            style: &style,
        };
        let mut old = surface.last.take().map(|l| l.regions).unwrap_or_default();
        let regions = self.layout(&u, state, width, &mut old);

        let mut damage = Vec::new();
        for region in &regions {
            let before = old.iter().find(|r| r.kind == region.kind);
            let same = matches!(before, Some(b) if b.rect == region.rect && b.key == region.key);
            if same || region.rect.w <= 0 {
                continue;
            }
            // Forced opaque: nothing underneath may show through the strip.
            let mut bg = style.panel_background;
            bg[3] = 0xff;
            draw::paint_region(&mut self.fonts, pixmap, region.rect, bg, &region.drawing);
            damage.push(region.rect);
        }
        if full {
            damage = vec![Rect {
                x: 0,
                y: 0,
                w: width,
                h: height,
            }];
        }

        surface.last = Some(Last {
            width,
            height,
            scale,
            style,
            regions,
        });
        Frame {
            pixels: pixmap.data(),
            width: pixmap.width(),
            height: pixmap.height(),
            damage,
        }
    }

    /// Lays out every region, reusing a drawing from `old` when its key has
    /// not changed (its `drawing` is moved out; `kind`, `rect` and `key` are
    /// kept for the damage comparison).
    fn layout(
        &mut self,
        u: &Units,
        state: &PanelState,
        width: i32,
        old: &mut [Region],
    ) -> Vec<Region> {
        let mut make = |kind: RegionKind, key: Key| -> Region {
            let reused = old
                .iter_mut()
                .find(|r| r.kind == kind && r.key == key)
                .map(|r| std::mem::take(&mut r.drawing));
            let drawing = reused.unwrap_or_else(|| layout::prepare(&mut self.fonts, u, &key));
            Region {
                kind,
                rect: Rect {
                    x: 0,
                    y: 0,
                    w: 0,
                    h: u.height,
                },
                key,
                drawing,
            }
        };
        let mut lock = make(RegionKind::Lock, Key::Lock(state.locked));
        let mut clock = make(RegionKind::Clock, Key::Clock(state.clock.clone()));
        let mut battery = make(RegionKind::Battery, Key::Battery(state.battery));
        let mut usb = make(RegionKind::Usb, Key::Usb(state.usb));
        let mut wifi = make(RegionKind::Wifi, Key::Wifi(state.wifi.clone()));
        let mut focused = make(RegionKind::Focused, Key::Focused(state.focused.clone()));
        let mut clipboard = make(
            RegionKind::Clipboard,
            Key::Clipboard(state.clipboard.clone()),
        );

        // Status widths by priority (lock and clock first), so a narrow
        // output loses Wi-Fi before it loses the lock button. A clipboard
        // transfer is rare and short, and the user must see it: it comes
        // right after them.
        let mut remaining = width;
        for r in [
            &mut lock,
            &mut clock,
            &mut clipboard,
            &mut battery,
            &mut usb,
            &mut wifi,
        ] {
            r.rect.w = r.drawing.width.clamp(0, remaining);
            remaining -= r.rect.w;
        }
        let left = remaining;
        // The focused identity is never squeezed out by a long window list.
        let focused_w = focused.drawing.width.clamp(0, left / 2);
        let entry_width = layout::entry_width(u, state.windows.len(), left - focused_w);
        let mut windows = make(
            RegionKind::Windows,
            Key::Windows {
                windows: state.windows.clone(),
                locked: state.locked,
                entry_width,
            },
        );
        windows.rect.w = windows.drawing.width.clamp(0, left);
        focused.rect.x = windows.rect.w;
        focused.rect.w = left - windows.rect.w;

        let mut x = left;
        for r in [
            &mut clipboard,
            &mut usb,
            &mut wifi,
            &mut battery,
            &mut clock,
            &mut lock,
        ] {
            r.rect.x = x;
            x += r.rect.w;
        }
        vec![windows, focused, clipboard, usb, wifi, battery, clock, lock]
    }

    /// What a click at a logical position means, according to the last
    /// render of `surface`.
    pub fn hit(&self, surface: &PanelSurface, x_logical: f64, y_logical: f64) -> Option<Hit> {
        let last = surface.last.as_ref()?;
        let (x, y) = (x_logical * last.scale, y_logical * last.scale);
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        last.regions.iter().find_map(|region| {
            region.drawing.hits.iter().find_map(|(rect, hit)| {
                let rect = offset(*rect, region.rect.x).intersect(region.rect)?;
                rect.contains(x, y).then_some(*hit)
            })
        })
    }
}

#[cfg(test)]
mod tests;
