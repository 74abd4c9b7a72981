//! The trusted panel in the compositor: one per output listing that output's
//! windows by identity, clicks that belong to the compositor, and a strip
//! that shows the panel's pixels and nothing else.

use palisade_panel::Hit;
use palisade_tests::fixture::{identity, output, Fixture};

const BLUE: [u8; 4] = [0, 0, 255, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];

fn labels(f: &Fixture, output: &str) -> Vec<(String, bool)> {
    let pal = &f.driver.state.pal;
    let out = pal.output_by_name(output).expect("output").clone();
    pal.panel_state(&out)
        .windows
        .into_iter()
        .map(|w| (w.label, w.focused))
        .collect()
}

/// The global x of the panel entry (or button) `want`, scanning the strip.
/// Hits come from the last rendered layout: render what is due first, as
/// frame pacing may still hold the frame that shows the newest window.
fn find_hit(f: &mut Fixture, x0: f64, width: f64, want: Hit) -> Option<f64> {
    for name in f.driver.output_names() {
        f.pixels(&name);
    }
    let pal = &f.driver.state.pal;
    (0..width as i32)
        .map(|dx| x0 + f64::from(dx))
        .find(|&x| pal.panel_hit((x, 16.0).into()) == Some(want))
}

#[test]
fn each_output_has_its_own_panel_listing_its_windows() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0), output(1280, 800, 2.0)]);
    let a = f.add_client(identity("browser", "Chromium", [0x42, 0x85, 0xf4]));
    let b = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    f.driver.pointer_to(300.0, 300.0);
    f.map_window(a, BLUE);
    f.driver.pointer_to(1500.0, 300.0);
    f.map_window(b, GREEN);
    assert_eq!(
        labels(&f, "headless-1"),
        vec![("Chromium".to_string(), false)]
    );
    assert_eq!(labels(&f, "headless-2"), vec![("Dev VM".to_string(), true)]);
    // Keep the cursor off both strips, then compare pixels.
    f.driver.pointer_to(300.0, 300.0);
    f.assert_strip_is_panel("headless-1");
    f.assert_strip_is_panel("headless-2");
}

#[test]
fn clicking_a_window_entry_focuses_that_window_and_never_a_client_surface() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let a = f.add_client(identity("browser", "Chromium", [0x42, 0x85, 0xf4]));
    let b = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    f.map_window(a, BLUE);
    f.map_window(b, GREEN);
    assert_eq!(
        labels(&f, "headless-1"),
        vec![("Chromium".into(), false), ("Dev VM".into(), true)]
    );
    f.step();
    let first_id = f.driver.state.pal.shell.windows()[0].id;
    let x = find_hit(&mut f, 0.0, 1280.0, Hit::Window(first_id))
        .expect("Chromium's entry in the panel");
    f.driver.pointer_to(x, 16.0);
    assert!(
        !f.client(a).has_pointer_focus() && !f.client(b).has_pointer_focus(),
        "no client gets the pointer on the strip"
    );
    f.driver.click(palisade::scenario::driver::BTN_LEFT);
    f.roundtrip(a);
    assert_eq!(
        labels(&f, "headless-1"),
        vec![("Chromium".into(), true), ("Dev VM".into(), false)]
    );
    assert!(
        f.client(a).keyboard_focus(),
        "keyboard focus went to the window, not the panel"
    );
}

#[test]
fn the_lock_button_asks_for_the_lock() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    f.step();
    let x = find_hit(&mut f, 0.0, 1280.0, Hit::Lock).expect("the lock button in the panel");
    assert_eq!(f.driver.state.pal.lock.requests(), 0);
    f.driver.pointer_to(x, 16.0);
    f.driver.click(palisade::scenario::driver::BTN_LEFT);
    assert_eq!(f.driver.state.pal.lock.requests(), 1);
}
