//! Nothing a client does puts its pixels in the strip, and nothing it says
//! changes the identity the compositor shows for it.

use palisade_tests::fixture::{identity, output, window_area, Fixture};

/// Pixels of a window filling headless-1's work area (inside its border).
fn area_px() -> u64 {
    let [_, _, w, h] = window_area([0, 32, 1280, 768]);
    (w * h) as u64
}

const OUT: &str = "headless-1";
const BLUE: [u8; 4] = [0, 0, 255, 255];
const RED: [u8; 4] = [255, 0, 0, 255];
const RED_RGB: [u8; 3] = [255, 0, 0];

fn one_window() -> (Fixture, usize, usize) {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("term", "Terminal", [0x34, 0xa8, 0x53]));
    let w = f.map_window(c, BLUE);
    (f, c, w)
}

#[test]
fn subsurface_placed_above_its_parent_is_clipped_to_the_work_area() {
    let (mut f, c, w) = one_window();
    // 100 px above the window's top: 32 px into the strip and beyond.
    f.client(c).add_subsurface(w, (100, -100), (400, 200), RED);
    f.wait_color(OUT, RED_RGB, 400 * 100);
    f.assert_color_absent_from_strip(OUT, RED_RGB, 32);
}

#[test]
fn viewport_destination_larger_than_the_window_is_clipped() {
    let (mut f, c, w) = one_window();
    f.client(c).ack_and_draw(w, Some((64, 64)), RED);
    f.client(c).set_viewport_destination(w, (5000, 5000));
    // Scaling 64 -> 5000 filters the edges: most of the work area is pure red.
    f.wait_color(OUT, RED_RGB, 800_000);
    f.assert_color_absent_from_strip(OUT, RED_RGB, 32);
}

#[test]
fn a_toplevel_asking_for_a_huge_size_gets_the_work_area() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("term", "Terminal", [1, 2, 3]));
    let w = f.client(c).create_window();
    f.client(c).set_min_size(w, (6000, 6000));
    f.wait("configure", |f| !f.client(c).configures(w).is_empty());
    f.roundtrip(c);
    let size = f.client(c).configures(w).last().map(|c| c.size);
    let [_, _, aw, ah] = window_area([0, 32, 1280, 768]);
    assert_eq!(
        size,
        Some((aw, ah)),
        "the compositor decides the size, not the client"
    );
    // It draws its huge size anyway.
    f.client(c).ack_and_draw(w, Some((6000, 6000)), RED);
    f.wait_color(OUT, RED_RGB, area_px());
    f.assert_color_absent_from_strip(OUT, RED_RGB, 32);
}

#[test]
fn a_client_cursor_never_shows_over_the_strip() {
    let (mut f, c, _w) = one_window();
    f.driver.pointer_to(600.0, 400.0);
    f.wait("pointer focus on the window", |f| {
        f.client(c).has_pointer_focus()
    });
    assert!(
        f.client(c).set_cursor((24, 24), RED),
        "the client could set its cursor"
    );
    f.wait_color(OUT, RED_RGB, 24 * 24);
    // Into the strip: the client's cursor image must not follow.
    f.driver.pointer_to(600.0, 10.0);
    f.wait("the client to lose the pointer", |f| {
        !f.client(c).has_pointer_focus()
    });
    f.assert_color_absent_from_strip(OUT, RED_RGB, 32);
    let px = f.pixels(OUT);
    assert_eq!(
        &px.at(600, 10)[..3],
        &[0, 0, 0],
        "the compositor's own cursor shows over the strip"
    );
    assert_eq!(
        &px.at(605, 15)[..3],
        &[255, 255, 255],
        "the compositor's own cursor shows over the strip"
    );
}

#[test]
fn title_and_app_id_never_change_the_identity() {
    let (mut f, c, w) = one_window();
    f.client(c).set_title(w, "Chromium");
    f.client(c).set_app_id(w, "browser");
    f.roundtrip(c);
    let state = f.state();
    let win = &state.windows[0];
    assert_eq!(
        (win.title.as_str(), win.app_id.as_str()),
        ("Chromium", "browser"),
        "kept as untrusted text"
    );
    assert_eq!(
        (win.identity.as_str(), win.label.as_str()),
        ("term", "Terminal"),
        "identity from the compositor"
    );
}
