//! Drawing the lock screen: a centred column (clock, user, password box,
//! message) and a bottom line (reboot countdown, USB), with tiny-skia for
//! shapes and the panel's embedded fonts for text.
//!
//! Everything is laid out in logical pixels times the output scale, from
//! the theme's font size, so a theme with bigger text (high contrast) gets
//! a bigger lock screen too.

use crate::view::{message_line, reboot_line, usb_line};
use crate::LockView;
use palisade_panel::{rgba8, Face, Fonts, Rect, ShapedText};
use palisade_themes::Theme;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Transform};

/// Largest output side drawn, in physical pixels. Larger (or zero) sizes
/// get an empty buffer rather than a wrong-sized one: the caller then
/// clears that output to opaque black itself, which needs no buffer. A
/// clamped buffer would leave part of such an output uncovered. The limit
/// also bounds one buffer to 1 GiB whatever size a broken output reports.
pub const MAX_SIDE: u32 = 16_384;

/// The colours (straight RGBA) and sizes the lock screen takes from a theme.
#[derive(Debug, Clone, PartialEq)]
struct Style {
    background: [u8; 4],
    text: [u8; 4],
    /// The hint in the empty password box: quieter than what was typed.
    hint: [u8; 4],
    warning: [u8; 4],
    field: [u8; 4],
    /// Base text size, logical pixels.
    font: f32,
    /// Password box border, logical pixels.
    border: f32,
}

impl Style {
    fn from_theme(theme: &Theme) -> Style {
        let opaque = |c| {
            let mut c = rgba8(c);
            c[3] = 0xff;
            c
        };
        // Background and field are forced opaque: nothing underneath the
        // lock screen may ever show through.
        let field = opaque(theme.panel_focused_background);
        let text = rgba8(theme.panel_text);
        let font = if theme.font_size.is_finite() {
            theme.font_size.clamp(8.0, 32.0)
        } else {
            13.0
        };
        Style {
            background: opaque(theme.panel_background),
            text,
            hint: mix(text, field, 0.55),
            warning: rgba8(theme.panel_warning),
            field,
            font,
            border: theme.border_width.clamp(1, 8) as f32,
        }
    }
}

/// `a` weighted `t`, `b` the rest; opaque.
fn mix(a: [u8; 4], b: [u8; 4], t: f32) -> [u8; 4] {
    let m = |x: u8, y: u8| (f32::from(x) * t + f32::from(y) * (1.0 - t)).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2]), 0xff]
}

/// Draws the lock screen. Reuses the theme colours and the panel's fonts.
pub struct LockScreen {
    fonts: Fonts,
    style: Style,
    password_box: Option<Rect>,
}

impl std::fmt::Debug for LockScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockScreen")
            .field("password_box", &self.password_box)
            .finish_non_exhaustive()
    }
}

impl LockScreen {
    /// Loads the embedded fonts (once; keep the LockScreen around).
    pub fn new(theme: &Theme) -> LockScreen {
        LockScreen {
            fonts: Fonts::new(),
            style: Style::from_theme(theme),
            password_box: None,
        }
    }

    /// Takes a new theme (config reload) without reloading the fonts.
    pub fn set_theme(&mut self, theme: &Theme) {
        self.style = Style::from_theme(theme);
    }

    /// Where the last render drew the password box, in physical pixels;
    /// None before the first render and after a refused size. Typing only
    /// ever changes pixels inside it.
    pub fn password_box(&self) -> Option<Rect> {
        self.password_box
    }

    /// Full-output RGBA8 (premultiplied, as tiny-skia produces) pixels,
    /// row-major, width*height*4 bytes, for an output of `width` x `height`
    /// physical pixels at `scale`. Fully opaque everywhere. Empty when a side
    /// is 0 or above [`MAX_SIDE`]; a scale that is not a positive finite
    /// number is taken as 1.
    pub fn render(&mut self, view: &LockView, width: u32, height: u32, scale: f64) -> Vec<u8> {
        self.password_box = None;
        if width > MAX_SIDE || height > MAX_SIDE {
            return Vec::new();
        }
        let Some(mut pixmap) = Pixmap::new(width, height) else {
            return Vec::new();
        };
        let scale = if scale.is_finite() && scale > 0.0 {
            scale.clamp(0.25, 8.0) as f32
        } else {
            1.0
        };
        pixmap.fill(color(self.style.background));
        let mut p = Painter {
            fonts: &mut self.fonts,
            pixmap: &mut pixmap,
            style: &self.style,
            scale,
        };
        self.password_box = Some(p.draw(view));
        pixmap.take()
    }
}

/// One render in progress.
struct Painter<'a> {
    fonts: &'a mut Fonts,
    pixmap: &'a mut Pixmap,
    style: &'a Style,
    scale: f32,
}

impl Painter<'_> {
    /// `times` the base font size, in physical pixels.
    fn em(&self, times: f32) -> f32 {
        self.style.font * times * self.scale
    }

    fn width(&self) -> i32 {
        self.pixmap.width() as i32
    }

    fn height(&self) -> i32 {
        self.pixmap.height() as i32
    }

    /// Widest a line may be: the output less a margin each side. Longer
    /// text ends in an ellipsis rather than running off the screen.
    fn max_line(&self) -> i32 {
        (self.width() - 2 * self.em(2.0) as i32).max(1)
    }

    fn shape(&mut self, text: &str, times: f32, max: i32) -> ShapedText {
        let size = self.em(times);
        self.fonts.shape(text, size, Face::Regular, Some(max))
    }

    /// Paints `text` centred horizontally on `cx` with its top at `y`.
    fn centred(&mut self, text: &ShapedText, cx: i32, y: i32, c: [u8; 4]) {
        self.fonts
            .paint(self.pixmap, text, cx - text.width / 2, y, c);
    }

    /// Draws everything; returns the password box.
    fn draw(&mut self, view: &LockView) -> Rect {
        let (w, h) = (self.width(), self.height());
        let max = self.max_line();
        let clock = self.shape(&view.time, 6.0, max);
        let user = self.shape(&view.user, 1.6, max);
        let message = message_line(view).map(|m| self.shape(&m, 1.2, max));
        let gap = self.em(1.0).round() as i32;
        let box_h = self.em(3.0).round() as i32;
        let box_w = (self.em(26.0).round() as i32).min(max);
        // The message line's room is kept even when empty, so a message
        // appearing never moves the box under the user's eyes.
        let message_h = (self.em(1.2) * 1.3).ceil() as i32;
        let column = clock.height + gap + user.height + gap + box_h + gap + message_h;
        // A little above centre reads as centred.
        let mut y = (h - column) * 9 / 20;
        let cx = w / 2;

        self.centred(&clock, cx, y, self.style.text);
        y += clock.height + gap;
        self.centred(&user, cx, y, self.style.text);
        y += user.height + gap;
        let field = Rect {
            x: cx - box_w / 2,
            y,
            w: box_w,
            h: box_h,
        };
        self.password_field(field, view.dots);
        y += box_h + gap;
        if let Some(m) = &message {
            let c = if view.phase == crate::Phase::Authenticating {
                self.style.text
            } else {
                self.style.warning
            };
            self.centred(m, cx, y, c);
        }
        self.bottom_line(view);
        field
    }

    /// The box with `dots` bullets, or the hint when nothing is typed.
    fn password_field(&mut self, r: Rect, dots: usize) {
        let radius = self.em(0.5);
        let border = (self.style.border * self.scale).round().max(1.0);
        fill_rounded(self.pixmap, r, radius, self.style.text);
        let inner = Rect {
            x: r.x + border as i32,
            y: r.y + border as i32,
            w: r.w - 2 * border as i32,
            h: r.h - 2 * border as i32,
        };
        fill_rounded(
            self.pixmap,
            inner,
            (radius - border).max(0.0),
            self.style.field,
        );

        let pad = self.em(1.0);
        let room = r.w as f32 - 2.0 * pad;
        let cx = r.x + r.w / 2;
        if dots == 0 {
            let hint = self.shape("Type your password", 1.2, room.max(1.0) as i32);
            let y = r.y + (r.h - hint.height) / 2;
            self.centred(&hint, cx, y, self.style.hint);
            return;
        }
        // As many bullets as fit; a longer password shows a full row.
        let d = self.em(0.8);
        let pitch = self.em(1.4);
        let fit = if room >= d {
            ((room - d) / pitch) as usize + 1
        } else {
            0
        };
        let n = dots.min(fit);
        let row = (n.saturating_sub(1)) as f32 * pitch + d;
        let x0 = cx as f32 - row / 2.0 + d / 2.0;
        let cy = r.y as f32 + r.h as f32 / 2.0;
        let mut pb = PathBuilder::new();
        for i in 0..n {
            pb.push_circle(x0 + i as f32 * pitch, cy, d / 2.0);
        }
        if let Some(path) = pb.finish() {
            self.pixmap.fill_path(
                &path,
                &paint(self.style.text),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
    }

    /// The reboot countdown and the USB state, side by side at the bottom.
    fn bottom_line(&mut self, view: &LockView) {
        let (usb, usb_warns) = usb_line(view.usb);
        let mut parts = Vec::new();
        if let Some(s) = view.reboot_in_s {
            parts.push((reboot_line(s), self.style.text));
        }
        let usb_color = if usb_warns {
            self.style.warning
        } else {
            self.style.text
        };
        parts.push((usb, usb_color));

        let gap = self.em(3.0) as i32;
        let n = parts.len() as i32;
        let each = ((self.max_line() - gap * (n - 1)) / n).max(1);
        let shaped: Vec<_> = parts
            .into_iter()
            .map(|(s, c)| (self.shape(&s, 1.0, each), c))
            .collect();
        let total: i32 = shaped.iter().map(|(t, _)| t.width).sum::<i32>() + gap * (n - 1);
        let y = self.height() - self.em(2.0) as i32 - self.em(1.3) as i32;
        let mut x = (self.width() - total) / 2;
        for (t, c) in &shaped {
            self.fonts.paint(self.pixmap, t, x, y, *c);
            x += t.width + gap;
        }
    }
}

fn color(c: [u8; 4]) -> Color {
    Color::from_rgba8(c[0], c[1], c[2], c[3])
}

fn paint(c: [u8; 4]) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color(c));
    p.anti_alias = true;
    p
}

/// Fills a rounded rectangle; nothing for an empty one.
fn fill_rounded(pixmap: &mut Pixmap, r: Rect, radius: f32, c: [u8; 4]) {
    if let Some(path) = palisade_panel::rounded_rect(r, radius) {
        pixmap.fill_path(
            &path,
            &paint(c),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}
