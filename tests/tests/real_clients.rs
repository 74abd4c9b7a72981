//! Real Wayland clients as subprocesses (weston-simple-shm, foot, Chromium)
//! against the in-process headless compositor: their own pre-connected
//! sockets, their identity, their pixels and their keyboard input.
//!
//! A missing program fails the test: the README's test command installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use palisade::backend::headless::{Pixels, VirtualOutput};
use palisade::config::Config;
use palisade::introspect::{StateInfo, WindowInfo};
use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_tests::fixture::{ensure_runtime_dir, init_logging, require_program};

const OUTPUT: &str = "headless-1";
const WIDTH: i32 = 1280;
const HEIGHT: i32 = 800;
/// The reserved strip at the top of every output.
const STRIP: u32 = 32;

/// A logical rectangle, `[x, y, w, h]` as in `StateInfo`.
type Rect = [i32; 4];

fn start(config: Config) -> Driver {
    init_logging();
    ensure_runtime_dir();
    let output = VirtualOutput {
        name: Some(OUTPUT.into()),
        size: (WIDTH, HEIGHT),
        scale: 1.0,
    };
    Driver::new(config, vec![output]).expect("starting a headless Palisade")
}

fn command(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Run the loop until `done` holds; panic with `what` and the last state
/// after `timeout`.
fn wait(
    driver: &mut Driver,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut Driver) -> bool,
) {
    if let Err(err) = driver.wait_until(timeout, what, |d| Ok(done(d))) {
        panic!("{err:#}\nlast state: {:#?}", driver.state.pal.state_info());
    }
}

fn wait_state(
    driver: &mut Driver,
    timeout: Duration,
    what: &str,
    pred: impl FnMut(&StateInfo) -> bool,
) -> StateInfo {
    driver
        .wait_state(timeout, what, pred)
        .unwrap_or_else(|err| panic!("{err:#}"))
}

fn pixels(driver: &mut Driver) -> Pixels {
    driver.pixels(OUTPUT).expect("reading the output's pixels")
}

fn only_window(info: &StateInfo) -> &WindowInfo {
    assert_eq!(info.windows.len(), 1, "expected one window: {info:#?}");
    &info.windows[0]
}

fn work_area(info: &StateInfo) -> Rect {
    info.outputs
        .iter()
        .find(|o| o.name == OUTPUT)
        .unwrap_or_else(|| panic!("no output {OUTPUT}: {info:#?}"))
        .work_area
}

/// A theme colour as the 8-bit RGB the renderer produces.
fn rgb8(c: [f32; 4]) -> [u8; 3] {
    [0, 1, 2].map(|i| (c[i].clamp(0.0, 1.0) * 255.0).round() as u8)
}

fn near(p: [u8; 4], rgb: [u8; 3], tolerance: u8) -> bool {
    (0..3).all(|i| p[i].abs_diff(rgb[i]) <= tolerance)
}

/// The pixel coordinates of `rect`, clipped to the frame.
fn coords(px: &Pixels, rect: Rect) -> impl Iterator<Item = (u32, u32)> {
    let clip = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    let (x0, x1) = (clip(rect[0], px.width), clip(rect[0] + rect[2], px.width));
    let (y0, y1) = (clip(rect[1], px.height), clip(rect[1] + rect[3], px.height));
    (y0..y1).flat_map(move |y| (x0..x1).map(move |x| (x, y)))
}

/// Pixels inside `rect` that differ between two frames (any channel by more
/// than a rounding error).
fn changed(a: &Pixels, b: &Pixels, rect: Rect) -> Vec<(u32, u32)> {
    coords(a, rect)
        .filter(|&(x, y)| {
            let (p, q) = (a.at(x, y), b.at(x, y));
            (0..3).any(|i| p[i].abs_diff(q[i]) > 8)
        })
        .collect()
}

/// A fresh directory for this test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

#[test]
fn weston_simple_shm_maps_inside_the_work_area() {
    require_program("weston-simple-shm");
    let mut driver = start(Config::embedded_default());
    let pid = driver
        .state
        .pal
        .spawn(&command(&["weston-simple-shm"]), &[], Identity::unknown())
        .expect("spawning weston-simple-shm");

    let info = wait_state(
        &mut driver,
        Duration::from_secs(10),
        "weston-simple-shm's window",
        |s| s.windows.len() == 1,
    );
    let window = only_window(&info).clone();
    assert_eq!(window.identity, "unknown", "{window:#?}");
    assert_eq!(window.label, "Unknown", "{window:#?}");
    assert_eq!(window.pid, Some(pid), "the spawned pid is recorded");
    let area = work_area(&info);
    let geo = window.geometry;
    assert!(
        geo[0] >= area[0]
            && geo[1] >= area[1]
            && geo[0] + geo[2] <= area[0] + area[2]
            && geo[1] + geo[3] <= area[1] + area[3],
        "window {geo:?} outside the work area {area:?}"
    );

    // weston draws an animated ring pattern: pixels that are neither the
    // desktop nor the strip, inside the window, are its own.
    let theme = driver.state.pal.theme;
    let (background, strip) = (rgb8(theme.background), rgb8(theme.panel_background));
    let mut foreign = 0;
    wait(
        &mut driver,
        Duration::from_secs(10),
        "weston-simple-shm's pixels inside its window",
        |d| {
            let px = pixels(d);
            foreign = coords(&px, geo)
                .filter(|&(x, y)| {
                    let p = px.at(x, y);
                    !near(p, background, 2) && !near(p, strip, 2)
                })
                .count();
            foreign > 20_000
        },
    );

    // The strip stays the strip's colour, all of it.
    let px = pixels(&mut driver);
    let bad: Vec<_> = coords(&px, [0, 0, WIDTH, STRIP as i32])
        .filter(|&(x, y)| !near(px.at(x, y), strip, 2))
        .take(5)
        .map(|(x, y)| ((x, y), px.at(x, y)))
        .collect();
    assert!(
        bad.is_empty(),
        "strip pixels that are not {strip:?}: {bad:?}"
    );
}
