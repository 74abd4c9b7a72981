//! The lock screen compared with a checked-in reference image, so an
//! unintended change to how it looks fails loudly.
//!
//! Regenerate after an intended change with
//! `PALISADE_BLESS=1 cargo test -p palisade-lockscreen --test reference`
//! and look at the new PNG before committing it.

mod common;

use common::{blessing, differing_pixels, MAX_DIFFERING_PIXELS};

use palisade_lockscreen::LockScreen;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;
#[test]
fn dark_1x_matches_the_reference_image() {
    let mut screen = LockScreen::new(&common::theme("dark"));
    let pixels = screen.render(&common::sample_view(), WIDTH, HEIGHT, 1.0);
    let path = common::reference_dir().join("dark-1x.png");
    if blessing() {
        common::write_png(&path, WIDTH, HEIGHT, &pixels)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let (w, h, expected) = common::read_png(&path)
        .unwrap_or_else(|e| panic!("{e}; run with PALISADE_BLESS=1 to create the reference image"));
    assert_eq!((w, h), (WIDTH, HEIGHT), "reference size");
    let n = differing_pixels(&expected, &pixels);
    if n > MAX_DIFFERING_PIXELS {
        let actual = std::env::temp_dir().join("palisade-lockscreen-dark-1x.png");
        let _ = common::write_png(&actual, WIDTH, HEIGHT, &pixels);
        panic!("{n} pixels differ; got {}", actual.display());
    }
}

/// The tolerance notices a single extra dot.
#[test]
fn tolerance_catches_one_more_dot() {
    let mut screen = LockScreen::new(&common::theme("dark"));
    let five = screen.render(&common::sample_view(), WIDTH, HEIGHT, 1.0);
    let mut view = common::sample_view();
    view.dots = 6;
    let six = screen.render(&view, WIDTH, HEIGHT, 1.0);
    assert!(differing_pixels(&five, &six) > MAX_DIFFERING_PIXELS);
}
