//! The panel compared with checked-in reference images, so an unintended
//! change to how the trusted strip looks fails loudly.
//!
//! Regenerate after an intended change with
//! `PALISADE_BLESS=1 cargo test -p palisade-panel --test reference`
//! and look at the new PNGs before committing them.

mod common;

use common::{blessing, differing_pixels, MAX_DIFFERING_PIXELS};

use palisade_panel::{Panel, PanelStyle, PanelSurface, RegionKind};

/// Every style with references; adding a theme is one line here (its PNGs
/// are created by a blessing run).
type NamedStyle = (&'static str, fn() -> PanelStyle);
const STYLES: &[NamedStyle] = &[
    ("dark", PanelStyle::default),
    ("light", || theme("light")),
    ("high-contrast", || theme("high-contrast")),
];

fn theme(name: &str) -> PanelStyle {
    PanelStyle::from_theme(&palisade_themes::Theme::builtin(name).expect("a built-in theme"))
}
const SCALES: &[(&str, f64)] = &[("1x", 1.0), ("2x", 2.0)];
const WIDTH: i32 = 1280;

#[test]
fn matches_reference_images() {
    let mut panel = Panel::new();
    let mut failures = Vec::new();
    for (name, style) in STYLES {
        for (suffix, scale) in SCALES {
            let mut surface = PanelSurface::new();
            let frame = panel.render(
                &mut surface,
                &common::sample_state(),
                &style(),
                WIDTH,
                *scale,
            );
            let path = common::reference_dir().join(format!("{name}-{suffix}.png"));
            if blessing() {
                common::write_png(&path, frame.width, frame.height, frame.pixels)
                    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
                continue;
            }
            let (w, h, expected) = common::read_png(&path).unwrap_or_else(|e| {
                panic!("{e}; run with PALISADE_BLESS=1 to create the reference images")
            });
            if (w, h) != (frame.width, frame.height) {
                failures.push(format!(
                    "{name}-{suffix}: size {w}x{h} != {}x{}",
                    frame.width, frame.height
                ));
                continue;
            }
            let n = differing_pixels(&expected, frame.pixels);
            if n > MAX_DIFFERING_PIXELS {
                let actual =
                    std::env::temp_dir().join(format!("palisade-panel-{name}-{suffix}.png"));
                let _ = common::write_png(&actual, frame.width, frame.height, frame.pixels);
                failures.push(format!(
                    "{name}-{suffix}: {n} pixels differ; got {}",
                    actual.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The tolerance is tight enough to notice the clock moving by one pixel.
#[test]
fn tolerance_catches_a_one_pixel_shift_of_the_clock() {
    let mut panel = Panel::new();
    for (_, scale) in SCALES {
        let mut surface = PanelSurface::new();
        let frame = panel.render(
            &mut surface,
            &common::sample_state(),
            &PanelStyle::default(),
            WIDTH,
            *scale,
        );
        let (width, pixels) = (frame.width as usize, frame.pixels.to_vec());
        let clock = surface
            .region_rect(RegionKind::Clock)
            .unwrap_or_else(|| panic!("no clock region"));
        let mut shifted = pixels.clone();
        for y in 0..clock.h as usize {
            let row = y * width * 4;
            let start = row + clock.x as usize * 4;
            let end = start + clock.w as usize * 4;
            // Move the clock's pixels one to the right within its region.
            shifted.copy_within(start..end - 4, start + 4);
        }
        let n = differing_pixels(&pixels, &shifted);
        assert!(
            n > MAX_DIFFERING_PIXELS,
            "scale {scale}: only {n} pixels differ"
        );
    }
}
