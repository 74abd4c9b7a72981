//! A region's drawing as a short list of items in region-local physical
//! pixels, and painting it. Each region is painted into its own small pixmap
//! and copied into the panel, so nothing a region draws can ever land
//! outside its rectangle: that is what makes per-region damage exact.

use crate::text::{Fonts, ShapedText};
use crate::{Hit, Rect};
use tiny_skia::{FillRule, Paint, Path, PathBuilder, Pixmap, Transform};

/// One thing to draw, in region-local physical pixels.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A solid rectangle.
    Fill { rect: Rect, color: [u8; 4] },
    /// A filled rectangle with rounded corners (chips, highlights).
    Rounded {
        rect: Rect,
        radius: f32,
        color: [u8; 4],
    },
    /// The outline of a rounded rectangle, `stroke` pixels thick, inside `rect`.
    Outline {
        rect: Rect,
        radius: f32,
        stroke: i32,
        color: [u8; 4],
    },
    /// A line of text with its line box's top-left at (x, y).
    Text {
        text: ShapedText,
        x: i32,
        y: i32,
        color: [u8; 4],
    },
}

/// Everything a region draws, plus what its layout means for input.
#[derive(Debug, Clone, Default)]
pub(crate) struct Drawing {
    /// The width the content wants (regions that size to their content).
    pub width: i32,
    pub items: Vec<Item>,
    /// Clickable areas, region-local.
    pub hits: Vec<(Rect, Hit)>,
    /// Where each window's untrusted title was drawn, region-local.
    pub titles: Vec<(u64, Rect)>,
}

/// Paints `drawing` over a `background` into `target` at `rect`.
pub(crate) fn paint_region(
    fonts: &mut Fonts,
    target: &mut Pixmap,
    rect: Rect,
    background: [u8; 4],
    drawing: &Drawing,
) {
    let Some(rect) = rect.intersect(Rect {
        x: 0,
        y: 0,
        w: target.width() as i32,
        h: target.height() as i32,
    }) else {
        return;
    };
    let Some(mut local) = Pixmap::new(rect.w as u32, rect.h as u32) else {
        return;
    };
    local.fill(color(background));
    for item in &drawing.items {
        paint_item(fonts, &mut local, item);
    }
    copy_into(target, &local, rect.x, rect.y);
}

fn paint_item(fonts: &mut Fonts, pixmap: &mut Pixmap, item: &Item) {
    match item {
        Item::Fill { rect, color: c } => {
            if let Some(r) = sk_rect(*rect) {
                pixmap.fill_rect(r, &paint(*c, false), Transform::identity(), None);
            }
        }
        Item::Rounded {
            rect,
            radius,
            color: c,
        } => {
            if let Some(path) = rounded(*rect, *radius) {
                pixmap.fill_path(
                    &path,
                    &paint(*c, true),
                    FillRule::Winding,
                    Transform::identity(),
                    None,
                );
            }
        }
        Item::Outline {
            rect,
            radius,
            stroke,
            color: c,
        } => {
            // Outer shape minus inner shape (even-odd): edges fall on whole
            // pixels, which a centred stroke would blur.
            let inner = Rect {
                x: rect.x + stroke,
                y: rect.y + stroke,
                w: rect.w - 2 * stroke,
                h: rect.h - 2 * stroke,
            };
            let mut pb = PathBuilder::new();
            push_rounded(&mut pb, *rect, *radius);
            push_rounded(&mut pb, inner, (radius - *stroke as f32).max(0.0));
            if let Some(path) = pb.finish() {
                pixmap.fill_path(
                    &path,
                    &paint(*c, true),
                    FillRule::EvenOdd,
                    Transform::identity(),
                    None,
                );
            }
        }
        Item::Text {
            text,
            x,
            y,
            color: c,
        } => fonts.paint(pixmap, text, *x, *y, *c),
    }
}

fn color(c: [u8; 4]) -> tiny_skia::Color {
    tiny_skia::Color::from_rgba8(c[0], c[1], c[2], c[3])
}

fn paint(c: [u8; 4], anti_alias: bool) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color(c));
    p.anti_alias = anti_alias;
    p
}

fn sk_rect(r: Rect) -> Option<tiny_skia::Rect> {
    if r.w <= 0 || r.h <= 0 {
        return None;
    }
    tiny_skia::Rect::from_xywh(r.x as f32, r.y as f32, r.w as f32, r.h as f32)
}

/// A closed rounded rectangle; None for an empty rect. Shared with the lock
/// screen, so everything the compositor draws has the same corners.
pub fn rounded(r: Rect, radius: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    push_rounded(&mut pb, r, radius);
    pb.finish()
}

/// Adds a closed rounded rectangle to `pb`; nothing for an empty rect.
fn push_rounded(pb: &mut PathBuilder, r: Rect, radius: f32) {
    if r.w <= 0 || r.h <= 0 {
        return;
    }
    let (x0, y0) = (r.x as f32, r.y as f32);
    let (x1, y1) = (x0 + r.w as f32, y0 + r.h as f32);
    let k = radius.clamp(0.0, r.w.min(r.h) as f32 / 2.0);
    pb.move_to(x0 + k, y0);
    pb.line_to(x1 - k, y0);
    pb.quad_to(x1, y0, x1, y0 + k);
    pb.line_to(x1, y1 - k);
    pb.quad_to(x1, y1, x1 - k, y1);
    pb.line_to(x0 + k, y1);
    pb.quad_to(x0, y1, x0, y1 - k);
    pb.line_to(x0, y0 + k);
    pb.quad_to(x0, y0, x0 + k, y0);
    pb.close();
}

/// Copies `src` into `dst` at (x, y) as is (no blending), clipped to `dst`.
fn copy_into(dst: &mut Pixmap, src: &Pixmap, x: i32, y: i32) {
    let dst_w = dst.width() as usize;
    let dst_h = dst.height() as i32;
    let src_w = src.width() as usize;
    if x < 0 || x as usize + src_w > dst_w {
        return;
    }
    let data = dst.data_mut();
    for (row, line) in src.data().chunks_exact(src_w * 4).enumerate() {
        let dy = y + row as i32;
        if dy < 0 || dy >= dst_h {
            continue;
        }
        let start = (dy as usize * dst_w + x as usize) * 4;
        if let Some(out) = data.get_mut(start..start + src_w * 4) {
            out.copy_from_slice(line);
        }
    }
}
