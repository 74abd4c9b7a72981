//! What each region draws. A region's drawing is a pure function of its
//! [`Key`] (plus the style and scale, which force a full repaint when they
//! change), so comparing keys between renders tells exactly which regions
//! need repainting.

use crate::draw::{Drawing, Item};
use crate::model::{BatteryState, ClipboardTransit, Hit, UsbState, WifiState, WindowEntry};
use crate::style::PanelStyle;
use crate::text::{Face, Fonts};
use crate::Rect;

/// The regions, left to right. They tile the strip: every pixel belongs to
/// exactly one, so repainting the changed ones leaves no stale pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// One entry per window: identity chip, label, untrusted title.
    Windows,
    /// The focused window's identity, shown prominently; also takes up the
    /// free space before the status area.
    Focused,
    /// A clipboard transfer in transit; zero wide when there is none.
    Clipboard,
    Usb,
    Wifi,
    Battery,
    Clock,
    Lock,
}

/// Everything a region's pixels depend on, besides style and scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Windows {
        windows: Vec<WindowEntry>,
        /// Titles are client text that may carry private content (a mail
        /// subject); they are not shown while the session is locked.
        locked: bool,
        entry_width: i32,
    },
    Focused(Option<(String, [u8; 3])>),
    Clipboard(Option<ClipboardTransit>),
    Usb(UsbState),
    Wifi(WifiState),
    Battery(BatteryState),
    Clock(String),
    Lock(bool),
}

// Sizes in logical pixels.
const STATUS_PAD: f64 = 6.0;
const ENTRY_PAD: f64 = 8.0;
const ENTRY_MAX: f64 = 280.0;
const CHIP: f64 = 10.0;
const FOCUSED_CHIP: f64 = 14.0;
const GAP: f64 = 6.0;
const LABEL_SHARE: f64 = 0.45;
const FOCUSED_LABEL_MAX: f64 = 360.0;
const SSID_MAX: f64 = 160.0;
const CLOCK_MAX: f64 = 200.0;
const RADIUS: f64 = 4.0;

/// Logical-to-physical conversion and the sizes derived from the style.
pub(crate) struct Units<'a> {
    pub scale: f64,
    /// Strip height in physical pixels.
    pub height: i32,
    pub style: &'a PanelStyle,
}

impl Units<'_> {
    /// A logical length in whole physical pixels.
    pub fn px(&self, logical: f64) -> i32 {
        (logical * self.scale).round() as i32
    }

    /// A hairline that stays visible at any scale.
    fn line(&self) -> i32 {
        self.px(1.0).max(1)
    }

    fn font(&self) -> f32 {
        self.font_px(self.style.font_size)
    }

    fn focused_font(&self) -> f32 {
        self.font_px(self.style.focused_font_size)
    }

    /// Text taller than the strip would only be cut off; the cap also keeps
    /// a broken theme from asking for enormous glyph rasters.
    fn font_px(&self, logical: f32) -> f32 {
        (f64::from(logical) * self.scale)
            .min(f64::from(self.height))
            .max(1.0) as f32
    }

    /// Top of a `size`-tall thing centred vertically in the strip.
    fn center(&self, size: i32) -> i32 {
        (self.height - size) / 2
    }
}

/// The width each window entry gets when `n` entries share `available`
/// physical pixels.
pub(crate) fn entry_width(u: &Units, n: usize, available: i32) -> i32 {
    if n == 0 {
        return 0;
    }
    let share = available.max(0) / i32::try_from(n).unwrap_or(i32::MAX);
    share.min(u.px(ENTRY_MAX))
}

/// Builds the drawing for `key`.
pub(crate) fn prepare(fonts: &mut Fonts, u: &Units, key: &Key) -> Drawing {
    match key {
        Key::Windows {
            windows,
            locked,
            entry_width,
        } => windows_drawing(fonts, u, windows, *locked, *entry_width),
        Key::Focused(focused) => focused_drawing(fonts, u, focused.as_ref()),
        Key::Clipboard(transit) => clipboard_drawing(fonts, u, transit.as_ref()),
        Key::Usb(usb) => usb_drawing(fonts, u, *usb),
        Key::Wifi(wifi) => wifi_drawing(fonts, u, wifi),
        Key::Battery(battery) => battery_drawing(fonts, u, *battery),
        Key::Clock(clock) => {
            let mut d = Drawing::default();
            let mut x = u.px(STATUS_PAD);
            text(
                fonts,
                u,
                &mut d,
                &mut x,
                clock,
                Face::Regular,
                Some(u.px(CLOCK_MAX)),
                u.style.text,
            );
            d.width = x + u.px(STATUS_PAD);
            d
        }
        Key::Lock(locked) => lock_drawing(fonts, u, *locked),
    }
}

/// Appends one line of text at `*x`, vertically centred, and advances `*x`.
#[allow(clippy::too_many_arguments)] // Every argument is a distinct, needed input.
fn text(
    fonts: &mut Fonts,
    u: &Units,
    d: &mut Drawing,
    x: &mut i32,
    s: &str,
    face: Face,
    max: Option<i32>,
    color: [u8; 4],
) -> Rect {
    let shaped = fonts.shape(s, u.font(), face, max);
    let rect = Rect {
        x: *x,
        y: u.center(shaped.height),
        w: shaped.width,
        h: shaped.height,
    };
    *x += shaped.width;
    d.items.push(Item::Text {
        text: shaped,
        x: rect.x,
        y: rect.y,
        color,
    });
    rect
}

fn chip(u: &Units, x: i32, size: f64, rgb: [u8; 3]) -> Item {
    let side = u.px(size);
    Item::Rounded {
        rect: Rect {
            x,
            y: u.center(side),
            w: side,
            h: side,
        },
        radius: (2.0 * u.scale) as f32,
        // Identity colours are always opaque: a chip must not fade into
        // whatever is behind it.
        color: [rgb[0], rgb[1], rgb[2], 0xff],
    }
}

fn windows_drawing(
    fonts: &mut Fonts,
    u: &Units,
    windows: &[WindowEntry],
    locked: bool,
    entry_width: i32,
) -> Drawing {
    let mut d = Drawing::default();
    let pad = u.px(ENTRY_PAD);
    for (i, w) in windows.iter().enumerate() {
        let x0 = i32::try_from(i)
            .unwrap_or(i32::MAX)
            .saturating_mul(entry_width);
        let x1 = x0.saturating_add(entry_width);
        let entry = Rect {
            x: x0,
            y: 0,
            w: entry_width,
            h: u.height,
        };
        d.hits.push((entry, Hit::Window(w.id)));
        if w.focused {
            let inset = u.px(3.0);
            d.items.push(Item::Rounded {
                rect: Rect {
                    x: x0 + u.line(),
                    y: inset,
                    w: entry_width - 2 * u.line(),
                    h: u.height - 2 * inset,
                },
                radius: (RADIUS * u.scale) as f32,
                color: u.style.focused_background,
            });
        }
        if w.attention {
            let bar = u.px(2.0).max(1);
            d.items.push(Item::Fill {
                rect: Rect {
                    x: x0 + pad,
                    y: u.height - bar - u.line(),
                    w: entry_width - 2 * pad,
                    h: bar,
                },
                color: u.style.warning,
            });
        }
        let mut x = x0 + pad;
        d.items.push(chip(u, x, CHIP, w.color));
        x += u.px(CHIP) + u.px(GAP);
        let inner = (x1 - pad - x).max(0);
        let label_max = (f64::from(inner) * LABEL_SHARE) as i32;
        text(
            fonts,
            u,
            &mut d,
            &mut x,
            &w.label,
            Face::Regular,
            Some(label_max),
            u.style.text,
        );
        if locked || w.title.trim().is_empty() {
            continue;
        }
        // A drawn divider rather than a character: the client's title
        // starts after it, in its own style, and cannot draw the divider.
        x += u.px(GAP);
        let divider_h = (f64::from(u.font()) * 0.9) as i32;
        let mut divider = u.style.untrusted_text;
        divider[3] /= 2;
        d.items.push(Item::Fill {
            rect: Rect {
                x,
                y: u.center(divider_h),
                w: u.line(),
                h: divider_h,
            },
            color: divider,
        });
        x += u.line() + u.px(GAP);
        let title_max = (x1 - pad - x).max(0);
        let untrusted = u.style.untrusted_text;
        let rect = text(
            fonts,
            u,
            &mut d,
            &mut x,
            &w.title,
            Face::Oblique,
            Some(title_max),
            untrusted,
        );
        d.titles.push((w.id, rect));
    }
    d.width = i32::try_from(windows.len())
        .unwrap_or(i32::MAX)
        .saturating_mul(entry_width);
    d
}

fn focused_drawing(fonts: &mut Fonts, u: &Units, focused: Option<&(String, [u8; 3])>) -> Drawing {
    let mut d = Drawing::default();
    let Some((label, rgb)) = focused else {
        return d;
    };
    let pad = u.px(ENTRY_PAD);
    let mut x = pad;
    d.items.push(chip(u, x, FOCUSED_CHIP, *rgb));
    x += u.px(FOCUSED_CHIP) + u.px(GAP);
    let shaped = fonts.shape(
        label,
        u.focused_font(),
        Face::Regular,
        Some(u.px(FOCUSED_LABEL_MAX)),
    );
    let y = u.center(shaped.height);
    let w = shaped.width;
    d.items.push(Item::Text {
        text: shaped,
        x,
        y,
        color: u.style.text,
    });
    d.width = x + w + pad;
    d
}

/// "Clipboard from Dev VM (12 bytes) → next window", on the focused
/// background so it stands out, with the source identity's chip.
fn clipboard_drawing(fonts: &mut Fonts, u: &Units, transit: Option<&ClipboardTransit>) -> Drawing {
    let mut d = Drawing::default();
    let Some(t) = transit else {
        return d;
    };
    let (pad, inner) = (u.px(STATUS_PAD), u.px(ENTRY_PAD));
    let mut x = pad + inner;
    let chip_at = d.items.len();
    x += u.px(CHIP) + u.px(GAP);
    let c = u.style.text;
    text(
        fonts,
        u,
        &mut d,
        &mut x,
        "Clipboard from ",
        Face::Regular,
        None,
        c,
    );
    let label_max = Some(u.px(FOCUSED_LABEL_MAX / 2.0));
    text(
        fonts,
        u,
        &mut d,
        &mut x,
        &t.from_label,
        Face::Regular,
        label_max,
        c,
    );
    let to = match &t.to_label {
        None => "next window".to_string(),
        Some(label) => label.clone(),
    };
    let rest = format!(" ({}) → ", byte_count(t.bytes));
    text(fonts, u, &mut d, &mut x, &rest, Face::Regular, None, c);
    text(fonts, u, &mut d, &mut x, &to, Face::Regular, label_max, c);
    let inset = u.px(5.0);
    let boxed = Rect {
        x: pad,
        y: inset,
        w: x + inner - pad,
        h: u.height - 2 * inset,
    };
    let radius = (RADIUS * u.scale) as f32;
    // The background first, then the chip, then the text already laid out.
    d.items.insert(
        chip_at,
        Item::Rounded {
            rect: boxed,
            radius,
            color: u.style.focused_background,
        },
    );
    d.items
        .insert(chip_at + 1, chip(u, pad + inner, CHIP, t.from_color));
    d.width = boxed.x + boxed.w + pad;
    d
}

/// "12 bytes", "3.4 KiB", "1.0 MiB".
fn byte_count(n: usize) -> String {
    match n {
        1 => "1 byte".to_string(),
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

fn usb_drawing(fonts: &mut Fonts, u: &Units, usb: UsbState) -> Drawing {
    let (s, color) = match usb {
        // Said plainly and in the warning colour: without the helper the
        // panel cannot know what the kernel does with new USB devices.
        UsbState::HelperNotConnected => ("USB: helper not connected".to_string(), u.style.warning),
        UsbState::Denied => ("USB denied".to_string(), u.style.text),
        UsbState::AllowedFor { seconds } => (
            format!("USB allowed {}", countdown(seconds)),
            u.style.warning,
        ),
    };
    let mut d = Drawing::default();
    let mut x = u.px(STATUS_PAD);
    text(fonts, u, &mut d, &mut x, &s, Face::Regular, None, color);
    d.width = x + u.px(STATUS_PAD);
    d
}

/// "4:59", or "1:02:03" past an hour.
fn countdown(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn wifi_drawing(fonts: &mut Fonts, u: &Units, wifi: &WifiState) -> Drawing {
    let mut d = Drawing::default();
    let mut x = u.px(STATUS_PAD);
    let c = u.style.text;
    match wifi {
        WifiState::Unavailable => {
            text(fonts, u, &mut d, &mut x, "Wi-Fi —", Face::Regular, None, c);
        }
        WifiState::Disconnected => {
            text(
                fonts,
                u,
                &mut d,
                &mut x,
                "Wi-Fi disconnected",
                Face::Regular,
                None,
                c,
            );
        }
        WifiState::Connecting { ssid } | WifiState::Connected { ssid } => {
            text(fonts, u, &mut d, &mut x, "Wi-Fi ", Face::Regular, None, c);
            // Anyone nearby can name a network "USB denied": the SSID is
            // drawn as untrusted text.
            let max = Some(u.px(SSID_MAX));
            text(
                fonts,
                u,
                &mut d,
                &mut x,
                ssid,
                Face::Oblique,
                max,
                u.style.untrusted_text,
            );
            if matches!(wifi, WifiState::Connecting { .. }) {
                text(
                    fonts,
                    u,
                    &mut d,
                    &mut x,
                    " (connecting)",
                    Face::Regular,
                    None,
                    c,
                );
            }
        }
    }
    d.width = x + u.px(STATUS_PAD);
    d
}

fn battery_drawing(fonts: &mut Fonts, u: &Units, battery: BatteryState) -> Drawing {
    let mut d = Drawing::default();
    let mut x = u.px(STATUS_PAD);
    let level = match battery {
        BatteryState::Level { percent, charging } if percent.is_finite() => {
            // In 0..=100 after the clamp, so the cast is exact.
            Some((percent.clamp(0.0, 100.0).round() as u8, charging))
        }
        _ => None,
    };
    let low = matches!(level, Some((p, false)) if p <= 10);
    let color = if low { u.style.warning } else { u.style.text };

    // The battery outline, filled to the level.
    let (bw, bh, nub) = (u.px(20.0), u.px(10.0), u.px(2.0).max(1));
    let body = Rect {
        x,
        y: u.center(bh),
        w: bw,
        h: bh,
    };
    let stroke = u.line();
    d.items.push(Item::Outline {
        rect: body,
        radius: (2.0 * u.scale) as f32,
        stroke,
        color,
    });
    d.items.push(Item::Fill {
        rect: Rect {
            x: body.x + bw,
            y: u.center(bh / 2),
            w: nub,
            h: bh / 2,
        },
        color,
    });
    if let Some((p, _)) = level {
        let inset = 2 * stroke;
        let full = bw - 2 * inset;
        d.items.push(Item::Fill {
            rect: Rect {
                x: body.x + inset,
                y: body.y + inset,
                w: full * i32::from(p) / 100,
                h: bh - 2 * inset,
            },
            color,
        });
    }
    x += bw + nub + u.px(GAP);
    let label = match level {
        None => "—".to_string(),
        Some((p, true)) => format!("{p}% ⚡"),
        Some((p, false)) => format!("{p}%"),
    };
    text(fonts, u, &mut d, &mut x, &label, Face::Regular, None, color);
    d.width = x + u.px(STATUS_PAD);
    d
}

fn lock_drawing(fonts: &mut Fonts, u: &Units, locked: bool) -> Drawing {
    let mut d = Drawing::default();
    let label = if locked { "Locked" } else { "Lock" };
    let shaped = fonts.shape(label, u.font(), Face::Regular, None);
    let (pad, inner) = (u.px(STATUS_PAD), u.px(10.0));
    let inset = u.px(5.0);
    let boxed = Rect {
        x: pad,
        y: inset,
        w: shaped.width + 2 * inner,
        h: u.height - 2 * inset,
    };
    let radius = (RADIUS * u.scale) as f32;
    if locked {
        d.items.push(Item::Rounded {
            rect: boxed,
            radius,
            color: u.style.focused_background,
        });
    }
    d.items.push(Item::Outline {
        rect: boxed,
        radius,
        stroke: u.line(),
        color: u.style.text,
    });
    let y = u.center(shaped.height);
    d.items.push(Item::Text {
        text: shaped,
        x: pad + inner,
        y,
        color: u.style.text,
    });
    d.width = boxed.x + boxed.w + pad;
    // The whole region is the button: an easy target at the strip's edge.
    d.hits.push((
        Rect {
            x: 0,
            y: 0,
            w: d.width,
            h: u.height,
        },
        Hit::Lock,
    ));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_formats() {
        assert_eq!(countdown(299), "4:59");
        assert_eq!(countdown(5), "0:05");
        assert_eq!(countdown(3723), "1:02:03");
        assert_eq!(countdown(u32::MAX), "1193046:28:15");
    }

    #[test]
    fn byte_counts() {
        assert_eq!(byte_count(1), "1 byte");
        assert_eq!(byte_count(12), "12 bytes");
        assert_eq!(byte_count(3500), "3.4 KiB");
        assert_eq!(byte_count(1 << 20), "1.0 MiB");
    }

    #[test]
    fn entries_share_and_cap() {
        let style = PanelStyle::default();
        let u = Units {
            scale: 2.0,
            height: 64,
            style: &style,
        };
        assert_eq!(entry_width(&u, 0, 1000), 0);
        assert_eq!(entry_width(&u, 1, 10_000), 560);
        assert_eq!(entry_width(&u, 4, 1000), 250);
        assert_eq!(entry_width(&u, 3, -5), 0);
    }
}
