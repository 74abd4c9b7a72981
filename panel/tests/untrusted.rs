//! Client text can never look like the panel's own words: a window titled
//! "Chromium" is drawn in the untrusted style even when the label
//! "Chromium" is on the panel too.

mod common;

use palisade_panel::{Panel, PanelStyle, PanelSurface, Rect, RegionKind, WifiState, WindowEntry};

/// Pixels in `rect` within a few levels of `color` on every channel.
fn count_near(pixels: &[u8], width: u32, rect: Rect, color: [u8; 4]) -> usize {
    let width = width as usize;
    let mut n = 0;
    for y in rect.y.max(0) as usize..(rect.y + rect.h).max(0) as usize {
        for x in rect.x.max(0) as usize..(rect.x + rect.w).max(0) as usize {
            let i = (y * width + x) * 4;
            let Some(p) = pixels.get(i..i + 3) else {
                continue;
            };
            if p.iter().zip(color.iter()).all(|(a, b)| a.abs_diff(*b) <= 6) {
                n += 1;
            }
        }
    }
    n
}

fn window(id: u64, label: &str, title: &str, focused: bool) -> WindowEntry {
    WindowEntry {
        id,
        label: label.into(),
        color: [0x42, 0x85, 0xf4],
        title: title.into(),
        focused,
        attention: false,
    }
}

#[test]
fn a_title_that_copies_a_label_is_still_untrusted() {
    let mut panel = Panel::new();
    let style = PanelStyle::default();
    let mut state = common::sample_state();
    state.windows = vec![
        window(1, "Chromium", "Inbox", false),
        // A terminal whose title pretends to be Chromium, unfocused and focused.
        window(2, "Dev VM", "Chromium", false),
        window(3, "Dev VM", "Chromium", true),
    ];
    for scale in [1.0, 2.0] {
        let mut surface = PanelSurface::new();
        let frame = panel.render(&mut surface, &state, &style, 1280, scale);
        let (pixels, width) = (frame.pixels.to_vec(), frame.width);
        for id in [2, 3] {
            let title = surface
                .title_rect(id)
                .unwrap_or_else(|| panic!("window {id} has no title"));
            assert!(
                count_near(&pixels, width, title, style.untrusted_text) > 0,
                "{id} @ {scale}"
            );
            assert_eq!(
                count_near(&pixels, width, title, style.text),
                0,
                "{id} @ {scale}"
            );
        }
        // The real label "Chromium" (left of window 1's title) is trusted text.
        let title1 = surface
            .title_rect(1)
            .unwrap_or_else(|| panic!("window 1 has no title"));
        let label = Rect {
            x: 0,
            y: 0,
            w: title1.x,
            h: title1.h + title1.y,
        };
        assert!(count_near(&pixels, width, label, style.text) > 0);
    }
}

#[test]
fn an_ssid_is_untrusted_text() {
    let mut panel = Panel::new();
    let style = PanelStyle::default();
    let mut state = common::sample_state();
    state.wifi = WifiState::Connected {
        ssid: "USB denied".into(),
    };
    let mut surface = PanelSurface::new();
    let frame = panel.render(&mut surface, &state, &style, 1280, 1.0);
    let (pixels, width) = (frame.pixels.to_vec(), frame.width);
    let wifi = surface
        .region_rect(RegionKind::Wifi)
        .unwrap_or_else(|| panic!("no wifi region"));
    assert!(count_near(&pixels, width, wifi, style.untrusted_text) > 0);
}
