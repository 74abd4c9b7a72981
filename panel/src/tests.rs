//! Unit tests of sizing, hit testing and hostile input. Damage, the
//! untrusted style and the reference images are tested from tests/.

use super::*;

fn entry(id: u64, label: &str, title: &str, focused: bool) -> WindowEntry {
    WindowEntry {
        id,
        label: label.into(),
        color: [200, 40, 40],
        title: title.into(),
        focused,
        attention: false,
    }
}

fn state() -> PanelState {
    PanelState {
        windows: vec![
            entry(7, "Chromium", "Inbox", true),
            entry(9, "Dev VM", "ssh", false),
        ],
        focused: Some(("Chromium".into(), [200, 40, 40])),
        clock: "09:41".into(),
        ..PanelState::default()
    }
}

#[test]
fn size_follows_scale_rounding_up() {
    let mut panel = Panel::new();
    let style = PanelStyle::default();
    for (scale, w, h) in [
        (1.0, 1280, 32),
        (2.0, 2560, 64),
        (1.25, 1600, 40),
        (1.5, 1281, 48),
    ] {
        let mut s = PanelSurface::new();
        let logical = if w == 1281 { 854 } else { 1280 };
        let f = panel.render(&mut s, &state(), &style, logical, scale);
        assert_eq!((f.width, f.height), (w, h), "scale {scale}");
        assert_eq!(f.pixels.len(), (w * h * 4) as usize);
        assert_eq!(
            f.damage,
            vec![Rect {
                x: 0,
                y: 0,
                w: w as i32,
                h: h as i32
            }]
        );
    }
}

#[test]
fn regions_tile_the_strip() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    panel.render(&mut s, &state(), &PanelStyle::default(), 1000, 1.5);
    let kinds = [
        RegionKind::Windows,
        RegionKind::Focused,
        RegionKind::Clipboard,
        RegionKind::Usb,
        RegionKind::Wifi,
        RegionKind::Battery,
        RegionKind::Clock,
        RegionKind::Lock,
    ];
    let mut x = 0;
    for kind in kinds {
        let r = s.region_rect(kind).unwrap_or_else(|| panic!("{kind:?}"));
        assert_eq!((r.x, r.y, r.h), (x, 0, 48), "{kind:?}");
        x += r.w;
    }
    assert_eq!(x, 1500);
}

#[test]
fn hits_windows_and_lock_in_logical_coordinates() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    assert_eq!(panel.hit(&s, 5.0, 5.0), None, "nothing rendered yet");
    panel.render(&mut s, &state(), &PanelStyle::default(), 1280, 2.0);
    let list = s
        .region_rect(RegionKind::Windows)
        .unwrap_or_else(|| panic!("no list"));
    let entry_w = f64::from(list.w) / 2.0 / 2.0; // physical -> logical, per entry
    assert_eq!(panel.hit(&s, 4.0, 16.0), Some(Hit::Window(7)));
    assert_eq!(panel.hit(&s, entry_w + 4.0, 16.0), Some(Hit::Window(9)));
    assert_eq!(panel.hit(&s, 1279.0, 16.0), Some(Hit::Lock));
    // The empty area before the status area is not a button.
    let focused = s
        .region_rect(RegionKind::Focused)
        .unwrap_or_else(|| panic!("no focused"));
    let gap = f64::from(focused.x + focused.w) / 2.0 - 1.0;
    assert_eq!(panel.hit(&s, gap, 16.0), None);
    for (x, y) in [
        (-1.0, 5.0),
        (5.0, -1.0),
        (5.0, 32.0),
        (1280.0, 5.0),
        (f64::NAN, 5.0),
        (5.0, f64::INFINITY),
    ] {
        assert_eq!(panel.hit(&s, x, y), None, "({x}, {y})");
    }
}

#[test]
fn hostile_input_never_panics() {
    let mut panel = Panel::new();
    let long = "W".repeat(100_000);
    let weird = "a\n\r\tb\u{202e}evil\u{2066}\u{0}\u{ffff}\u{10ffff}🦀".to_string();
    let mut st = state();
    st.windows = (0..500)
        .map(|i| WindowEntry {
            id: i,
            label: if i % 2 == 0 {
                long.clone()
            } else {
                weird.clone()
            },
            color: [0, 0, 0],
            title: if i % 3 == 0 {
                weird.clone()
            } else {
                long.clone()
            },
            focused: i == 3,
            attention: i % 5 == 0,
        })
        .collect();
    st.focused = Some((long.clone(), [1, 2, 3]));
    st.clock = weird.clone();
    st.wifi = WifiState::Connected { ssid: long.clone() };
    st.usb = UsbState::AllowedFor { seconds: u32::MAX };
    st.clipboard = Some(ClipboardTransit {
        from_label: long.clone(),
        from_color: [0, 0, 0],
        bytes: usize::MAX,
        to_label: Some(weird.clone()),
    });
    let batteries = [
        BatteryState::Level {
            percent: f64::NAN,
            charging: true,
        },
        BatteryState::Level {
            percent: -50.0,
            charging: false,
        },
        BatteryState::Level {
            percent: 1e300,
            charging: true,
        },
    ];
    let styles = [
        PanelStyle::default(),
        PanelStyle {
            height: i32::MAX,
            font_size: f32::INFINITY,
            focused_font_size: -3.0,
            ..PanelStyle::default()
        },
        PanelStyle {
            height: 0,
            font_size: 0.5,
            ..PanelStyle::default()
        },
    ];
    let widths = [0, -10, 1, 37, 1280, i32::MAX];
    let scales = [1.0, 2.0, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e-9, 1e9];
    let mut s = PanelSurface::new();
    for (i, width) in widths.iter().enumerate() {
        for (j, scale) in scales.iter().enumerate() {
            st.battery = batteries[(i + j) % batteries.len()];
            let style = &styles[(i * 3 + j) % styles.len()];
            let f = panel.render(&mut s, &st, style, *width, *scale);
            assert_eq!(
                f.pixels.len() as u64,
                u64::from(f.width) * u64::from(f.height) * 4
            );
            let _ = panel.hit(&s, 3.0, 3.0);
        }
    }
}

#[test]
fn a_clipboard_transit_shows_in_its_own_region_and_goes_away() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    let style = PanelStyle::default();
    let mut st = state();
    panel.render(&mut s, &st, &style, 1280, 1.0);
    let none = s
        .region_rect(RegionKind::Clipboard)
        .expect("clipboard region");
    assert_eq!(none.w, 0, "no transfer, no room taken");

    st.clipboard = Some(ClipboardTransit {
        from_label: "Dev VM".into(),
        from_color: [0x34, 0xa8, 0x53],
        bytes: 12,
        to_label: None,
    });
    let f = panel.render(&mut s, &st, &style, 1280, 1.0);
    let (pixels, width, damage) = (f.pixels.to_vec(), f.width as i32, f.damage);
    let r = s
        .region_rect(RegionKind::Clipboard)
        .expect("clipboard region");
    assert!(r.w > 150, "the transfer's text needs room: {r:?}");
    assert!(damage.contains(&r), "{r:?} not repainted");
    // The source identity's chip is drawn in its colour, inside the region.
    let px = |x: i32, y: i32| {
        let i = ((y * width + x) * 4) as usize;
        [pixels[i], pixels[i + 1], pixels[i + 2]]
    };
    let chip = (r.x..r.x + r.w)
        .flat_map(|x| (0..r.h).map(move |y| (x, y)))
        .filter(|&(x, y)| px(x, y) == [0x34, 0xa8, 0x53])
        .count();
    assert!(chip >= 50, "{chip} pixels of the source's colour in {r:?}");

    // Delivered: the receiving identity's label replaces "next window".
    if let Some(t) = st.clipboard.as_mut() {
        t.to_label = Some("Chromium".into());
    }
    panel.render(&mut s, &st, &style, 1280, 1.0);
    let delivered = s
        .region_rect(RegionKind::Clipboard)
        .expect("clipboard region");
    assert_ne!(delivered.w, r.w, "the text did not change");

    st.clipboard = None;
    panel.render(&mut s, &st, &style, 1280, 1.0);
    let gone = s
        .region_rect(RegionKind::Clipboard)
        .expect("clipboard region");
    assert_eq!(gone.w, 0);
}

#[test]
fn locked_hides_titles() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    let mut st = state();
    panel.render(&mut s, &st, &PanelStyle::default(), 1280, 1.0);
    assert!(s.title_rect(7).is_some());
    st.locked = true;
    panel.render(&mut s, &st, &PanelStyle::default(), 1280, 1.0);
    assert_eq!(s.title_rect(7), None);
    assert_eq!(s.title_rect(9), None);
}

#[test]
fn background_is_opaque_even_if_the_style_is_not() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    let style = PanelStyle {
        panel_background: [10, 20, 30, 0],
        ..PanelStyle::default()
    };
    let f = panel.render(&mut s, &PanelState::default(), &style, 200, 1.0);
    assert!(f.pixels.chunks_exact(4).all(|p| p[3] == 0xff));
}

#[test]
fn style_change_repaints_everything() {
    let mut panel = Panel::new();
    let mut s = PanelSurface::new();
    panel.render(&mut s, &state(), &PanelStyle::default(), 640, 1.0);
    let style = PanelStyle {
        warning: [255, 0, 0, 255],
        ..PanelStyle::default()
    };
    let f = panel.render(&mut s, &state(), &style, 640, 1.0);
    assert_eq!(
        f.damage,
        vec![Rect {
            x: 0,
            y: 0,
            w: 640,
            h: 32
        }]
    );
}

#[test]
fn rect_intersection() {
    let a = Rect {
        x: 0,
        y: 0,
        w: 10,
        h: 10,
    };
    assert_eq!(
        a.intersect(Rect {
            x: 5,
            y: 5,
            w: 10,
            h: 10
        }),
        Some(Rect {
            x: 5,
            y: 5,
            w: 5,
            h: 5
        })
    );
    assert_eq!(
        a.intersect(Rect {
            x: 10,
            y: 0,
            w: 1,
            h: 1
        }),
        None
    );
    let huge = Rect {
        x: i32::MAX - 1,
        y: 0,
        w: i32::MAX,
        h: 1,
    };
    assert_eq!(a.intersect(huge), None);
}
