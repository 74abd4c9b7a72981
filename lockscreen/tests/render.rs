//! Drawing: opaque everywhere, typing touches only the password box, and no
//! size, scale or text makes render panic.

mod common;

use palisade_lockscreen::{LockScreen, LockView, PasswordField, Phase, Rect, UsbState, MAX_SIDE};

/// Views that between them draw every line the lock screen has.
fn views() -> Vec<LockView> {
    let base = common::sample_view();
    vec![
        base.clone(),
        LockView {
            dots: 0,
            message: None,
            retry_in_s: None,
            reboot_in_s: None,
            usb: UsbState::HelperNotConnected,
            ..base.clone()
        },
        LockView {
            phase: Phase::Authenticating,
            usb: UsbState::AllowedFor { seconds: 299 },
            ..base.clone()
        },
        LockView {
            dots: 2_000,
            user: "a very long user name ".repeat(500),
            time: "\u{202e}12:34\n".into(),
            ..base
        },
    ]
}

fn assert_opaque(pixels: &[u8], what: &str) {
    let bad = pixels.chunks_exact(4).position(|p| p[3] != 0xff);
    assert_eq!(bad, None, "{what}: first non-opaque pixel");
}

#[test]
fn every_pixel_is_opaque_for_every_builtin_theme_at_1x_and_2x() {
    for name in ["dark", "light", "high-contrast"] {
        let mut screen = LockScreen::new(&common::theme(name));
        for (scale, w, h) in [(1.0, 1280, 800), (2.0, 2560, 1600)] {
            for (i, view) in views().iter().enumerate() {
                let pixels = screen.render(view, w, h, scale);
                assert_eq!(pixels.len(), (w * h * 4) as usize);
                assert_opaque(&pixels, &format!("{name} {scale}x view {i}"));
            }
        }
    }
}

/// Pixels that differ between two renders of the same size lie inside `r`.
fn changes_only_inside(a: &[u8], b: &[u8], width: u32, r: Rect) -> Result<usize, String> {
    let mut changed = 0;
    for (i, (p, q)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
        if p == q {
            continue;
        }
        changed += 1;
        let (x, y) = ((i as u32 % width) as i32, (i as u32 / width) as i32);
        if x < r.x || y < r.y || x >= r.x + r.w || y >= r.y + r.h {
            return Err(format!("pixel ({x}, {y}) changed outside {r:?}"));
        }
    }
    Ok(changed)
}

#[test]
fn typing_changes_pixels_only_in_the_password_box() {
    for (scale, w, h) in [(1.0, 1280, 800), (2.0, 2560, 1600), (1.0, 300, 200)] {
        let mut screen = LockScreen::new(&common::theme("dark"));
        let mut view = common::sample_view();
        view.dots = 0;
        let empty = screen.render(&view, w, h, scale);
        let field = screen.password_box().unwrap_or_else(|| panic!("no box"));
        for dots in [1, 2, 5, 40, 1024] {
            view.dots = dots;
            let typed = screen.render(&view, w, h, scale);
            assert_eq!(screen.password_box(), Some(field), "the box moved");
            let changed = changes_only_inside(&empty, &typed, w, field)
                .unwrap_or_else(|e| panic!("{scale}x {w}x{h}, {dots} dots: {e}"));
            assert!(changed > 0, "{dots} dots drew nothing");
        }
    }
}

#[test]
fn refused_sizes_give_an_empty_buffer() {
    let mut screen = LockScreen::new(&common::theme("dark"));
    let view = common::sample_view();
    for (w, h) in [
        (0, 0),
        (0, 800),
        (1280, 0),
        (MAX_SIDE + 1, 10),
        (10, u32::MAX),
    ] {
        assert!(screen.render(&view, w, h, 1.0).is_empty(), "{w}x{h}");
        assert_eq!(screen.password_box(), None);
    }
}

#[test]
fn odd_sizes_and_scales_do_not_panic_and_stay_opaque() {
    let mut screen = LockScreen::new(&common::theme("high-contrast"));
    for view in views() {
        for (w, h) in [(1, 1), (7, 3), (64, 2000), (2000, 40), (MAX_SIDE, 1)] {
            for scale in [1.0, 0.0, -2.0, f64::NAN, f64::INFINITY, 1e-9, 1e9, 1.25] {
                let pixels = screen.render(&view, w, h, scale);
                assert_eq!(pixels.len(), (w * h * 4) as usize, "{w}x{h} @ {scale}");
                assert_opaque(&pixels, &format!("{w}x{h} @ {scale}"));
            }
        }
    }
}

#[test]
fn a_theme_with_transparent_colours_still_draws_opaque() {
    let mut theme = common::theme("dark");
    theme.panel_background = [0.2, 0.2, 0.2, 0.0];
    theme.panel_focused_background = [0.3, 0.3, 0.3, 0.1];
    theme.panel_text = [1.0, 1.0, 1.0, 0.5];
    theme.font_size = f32::NAN;
    let mut screen = LockScreen::new(&theme);
    for view in views() {
        assert_opaque(&screen.render(&view, 640, 480, 1.0), "transparent theme");
    }
}

/// The view carries a count, never the characters: whatever is typed, what
/// the drawing code receives is the same for any password of that length.
#[test]
fn the_view_carries_only_a_count() {
    let mut field = PasswordField::new();
    field.push_str("correct horse");
    let view = LockView {
        dots: field.len_chars(),
        ..common::sample_view()
    };
    let shown = format!("{view:?}");
    assert!(!shown.contains("correct"), "{shown}");
    let mut other = PasswordField::new();
    other.push_str("xxxxxxxxxxxxx");
    assert_eq!(
        view,
        LockView {
            dots: other.len_chars(),
            ..common::sample_view()
        }
    );
}
