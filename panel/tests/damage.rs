//! Only what changed is repainted, and what is repainted is exactly what a
//! full render would draw.

mod common;

use palisade_panel::{
    BatteryState, Panel, PanelState, PanelStyle, PanelSurface, Rect, RegionKind, UsbState,
    WifiState,
};

/// Renders `state` from scratch.
fn fresh(panel: &mut Panel, state: &PanelState, scale: f64) -> Vec<u8> {
    let mut surface = PanelSurface::new();
    let frame = panel.render(&mut surface, state, &PanelStyle::default(), 1280, scale);
    frame.pixels.to_vec()
}

/// Asserts `before` and `after` are byte-identical outside `rect`.
fn same_outside(before: &[u8], after: &[u8], width: u32, rect: Rect) {
    assert_eq!(before.len(), after.len());
    let width = width as usize;
    for (i, (p, q)) in before
        .chunks_exact(4)
        .zip(after.chunks_exact(4))
        .enumerate()
    {
        let (x, y) = ((i % width) as i32, (i / width) as i32);
        let inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
        if !inside {
            assert_eq!(p, q, "pixel ({x}, {y}) changed outside {rect:?}");
        }
    }
}

fn region(surface: &PanelSurface, kind: RegionKind) -> Rect {
    surface
        .region_rect(kind)
        .unwrap_or_else(|| panic!("no {kind:?} region"))
}

#[test]
fn identical_state_damages_nothing() {
    let mut panel = Panel::new();
    let mut surface = PanelSurface::new();
    let state = common::sample_state();
    for scale in [1.0, 2.0] {
        let first = panel.render(&mut surface, &state, &PanelStyle::default(), 1280, scale);
        assert_eq!(first.damage.len(), 1, "a new scale repaints everything");
        let before = first.pixels.to_vec();
        let again = panel.render(
            &mut surface,
            &state.clone(),
            &PanelStyle::default(),
            1280,
            scale,
        );
        assert!(again.damage.is_empty(), "{:?}", again.damage);
        assert_eq!(again.pixels, &before[..]);
    }
}

#[test]
fn clock_tick_damages_only_the_clock() {
    let mut panel = Panel::new();
    for scale in [1.0, 2.0] {
        let mut surface = PanelSurface::new();
        let mut state = common::sample_state();
        let before = panel
            .render(&mut surface, &state, &PanelStyle::default(), 1280, scale)
            .pixels
            .to_vec();
        let clock = region(&surface, RegionKind::Clock);
        state.clock = "12:35".into();
        let frame = panel.render(&mut surface, &state, &PanelStyle::default(), 1280, scale);
        assert_eq!(frame.damage, vec![clock], "scale {scale}");
        let (width, after) = (frame.width, frame.pixels.to_vec());
        assert_ne!(before, after, "the clock must actually change");
        same_outside(&before, &after, width, clock);
        assert_eq!(after, fresh(&mut panel, &state, scale));
    }
}

#[test]
fn title_change_damages_only_the_window_list() {
    let mut panel = Panel::new();
    for scale in [1.0, 2.0] {
        let mut surface = PanelSurface::new();
        let mut state = common::sample_state();
        let before = panel
            .render(&mut surface, &state, &PanelStyle::default(), 1280, scale)
            .pixels
            .to_vec();
        let list = region(&surface, RegionKind::Windows);
        state.windows[0].title = "A completely different page".into();
        let frame = panel.render(&mut surface, &state, &PanelStyle::default(), 1280, scale);
        assert_eq!(frame.damage, vec![list], "scale {scale}");
        let (width, after) = (frame.width, frame.pixels.to_vec());
        assert_ne!(before, after);
        same_outside(&before, &after, width, list);
        assert_eq!(after, fresh(&mut panel, &state, scale));
    }
}

#[test]
fn usb_countdown_damages_only_usb() {
    let mut panel = Panel::new();
    let mut surface = PanelSurface::new();
    let mut state = common::sample_state();
    state.usb = UsbState::AllowedFor { seconds: 299 };
    panel.render(&mut surface, &state, &PanelStyle::default(), 1280, 1.0);
    state.usb = UsbState::AllowedFor { seconds: 298 };
    let frame = panel.render(&mut surface, &state, &PanelStyle::default(), 1280, 1.0);
    assert_eq!(frame.damage, vec![region(&surface, RegionKind::Usb)]);
}

/// Through a series of changes (some of which move other regions), the
/// incrementally updated pixels always equal a from-scratch render.
#[test]
fn incremental_renders_match_full_renders() {
    let mut panel = Panel::new();
    let base = common::sample_state();
    let steps: Vec<fn(&mut PanelState)> = vec![
        |s| s.clock = "9:59".into(),
        |s| s.clock = "10:00".into(),
        |s| s.usb = UsbState::Denied,
        |s| {
            s.wifi = WifiState::Connected {
                ssid: "Home network".into(),
            }
        },
        |s| {
            s.wifi = WifiState::Connecting {
                ssid: "Café".into(),
            }
        },
        |s| {
            s.battery = BatteryState::Level {
                percent: 87.0,
                charging: true,
            }
        },
        |s| {
            s.battery = BatteryState::Level {
                percent: 7.0,
                charging: false,
            }
        },
        |s| {
            for w in &mut s.windows {
                w.focused = w.id == 3;
            }
            s.focused = Some(("Files".into(), [0xea, 0x43, 0x35]));
        },
        |s| s.focused = None,
        |s| s.windows.truncate(1),
        |s| s.windows.clear(),
        |s| *s = common::sample_state(),
        |s| s.locked = true,
        |s| s.locked = false,
    ];
    for scale in [1.0, 2.0] {
        let mut surface = PanelSurface::new();
        let mut state = base.clone();
        panel.render(&mut surface, &state, &PanelStyle::default(), 1280, scale);
        for (i, step) in steps.iter().enumerate() {
            step(&mut state);
            let frame = panel.render(&mut surface, &state, &PanelStyle::default(), 1280, scale);
            assert!(
                !frame.damage.is_empty(),
                "step {i} at scale {scale} changed nothing"
            );
            let after = frame.pixels.to_vec();
            assert!(
                after == fresh(&mut panel, &state, scale),
                "step {i} at scale {scale}"
            );
        }
    }
}

#[test]
fn width_or_scale_change_repaints_everything() {
    let mut panel = Panel::new();
    let mut surface = PanelSurface::new();
    let state = common::sample_state();
    panel.render(&mut surface, &state, &PanelStyle::default(), 1280, 1.0);
    let wider = panel.render(&mut surface, &state, &PanelStyle::default(), 1440, 1.0);
    assert_eq!(
        wider.damage,
        vec![Rect {
            x: 0,
            y: 0,
            w: 1440,
            h: 32
        }]
    );
    let scaled = panel.render(&mut surface, &state, &PanelStyle::default(), 1440, 1.5);
    assert_eq!(
        scaled.damage,
        vec![Rect {
            x: 0,
            y: 0,
            w: 2160,
            h: 48
        }]
    );
}
