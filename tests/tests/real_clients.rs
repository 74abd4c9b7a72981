//! Real Wayland clients as subprocesses (weston-simple-shm, foot, Chromium)
//! against the in-process headless compositor: each on its own pre-connected
//! socket, with the identity the compositor gave it, its pixels where the
//! layout says and the keys we type reaching it.
//!
//! A missing program fails the test: the README's test command installs them.

use std::path::Path;
use std::time::Duration;

use palisade::backend::headless::{Pixels, VirtualOutput};
use palisade::config::Config;
use palisade::introspect::{StateInfo, WindowInfo};
use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_tests::fixture::{
    chromium_command, data_file, ensure_runtime_dir, init_logging, require_program, temp_dir,
    toml_strings, wait_check, wait_state, window_area,
};

const OUTPUT: &str = "headless-1";
const WIDTH: i32 = 1280;
const HEIGHT: i32 = 800;
/// The reserved strip at the top of every output, in pixels (scale 1).
const STRIP: i32 = 32;
/// Set in the test process; no launched client may inherit it.
const DECOY_DISPLAY: &str = "wayland-palisade-decoy";

/// A rectangle `[x, y, w, h]`, as `StateInfo` gives them. The output has
/// scale 1 at the origin, so logical coordinates are pixel coordinates.
type Rect = [i32; 4];

fn start(config: Config) -> Driver {
    init_logging();
    // The environment is changed once, before any compositor or client of
    // this process runs: every test passes through here first.
    static ENV: std::sync::Once = std::sync::Once::new();
    ENV.call_once(|| {
        ensure_runtime_dir();
        // Decoys: a launched app must get neither (the launcher removes
        // them), so a leak would show up in its environment.
        std::env::set_var("WAYLAND_DISPLAY", DECOY_DISPLAY);
        std::env::set_var("DISPLAY", ":palisade-decoy");
    });
    let output = VirtualOutput {
        name: Some(OUTPUT.into()),
        size: (WIDTH, HEIGHT),
        scale: 1.0,
    };
    Driver::new(config, vec![output]).expect("starting a headless Palisade")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn pixels(driver: &mut Driver) -> Pixels {
    driver.pixels(OUTPUT).expect("reading the output's pixels")
}

fn only_window(info: &StateInfo) -> WindowInfo {
    assert_eq!(info.windows.len(), 1, "expected one window: {info:#?}");
    info.windows[0].clone()
}

fn work_area(info: &StateInfo) -> Rect {
    info.outputs
        .iter()
        .find(|o| o.name == OUTPUT)
        .unwrap_or_else(|| panic!("no output {OUTPUT}: {info:#?}"))
        .work_area
}

fn contains(outer: Rect, inner: Rect) -> bool {
    inner[0] >= outer[0]
        && inner[1] >= outer[1]
        && inner[0] + inner[2] <= outer[0] + outer[2]
        && inner[1] + inner[3] <= outer[1] + outer[3]
}

/// A theme colour as the 8-bit RGB the renderer produces.
fn rgb8(c: [f32; 4]) -> [u8; 3] {
    [0, 1, 2].map(|i| (c[i].clamp(0.0, 1.0) * 255.0).round() as u8)
}

fn near(p: [u8; 4], rgb: [u8; 3], tolerance: u8) -> bool {
    (0..3).all(|i| p[i].abs_diff(rgb[i]) <= tolerance)
}

/// The pixel coordinates inside `rect`, clipped to the frame.
fn coords(px: &Pixels, rect: Rect) -> impl Iterator<Item = (u32, u32)> {
    let clip = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    let (x0, x1) = (clip(rect[0], px.width), clip(rect[0] + rect[2], px.width));
    let (y0, y1) = (clip(rect[1], px.height), clip(rect[1] + rect[3], px.height));
    (y0..y1).flat_map(move |y| (x0..x1).map(move |x| (x, y)))
}

/// Pixels inside `rect` that differ between two frames by more than a
/// rounding error.
fn changed(a: &Pixels, b: &Pixels, rect: Rect) -> Vec<(u32, u32)> {
    coords(a, rect)
        .filter(|&(x, y)| {
            let (p, q) = (a.at(x, y), b.at(x, y));
            (0..3).any(|i| p[i].abs_diff(q[i]) > 8)
        })
        .collect()
}

/// How many distinct columns a set of pixels covers, and its lowest row.
fn extent(points: &[(u32, u32)]) -> (usize, u32) {
    let mut columns: Vec<u32> = points.iter().map(|p| p.0).collect();
    columns.sort_unstable();
    columns.dedup();
    let bottom = points.iter().map(|p| p.1).max().unwrap_or(0);
    (columns.len(), bottom)
}

/// The most common colour in `rect`: a terminal's background.
fn dominant(px: &Pixels, rect: Rect) -> [u8; 3] {
    let mut counts = std::collections::HashMap::new();
    for (x, y) in coords(px, rect) {
        *counts.entry(px.at(x, y)).or_insert(0u32) += 1;
    }
    let top = counts.into_iter().max_by_key(|&(_, n)| n);
    top.map(|(p, _)| [p[0], p[1], p[2]]).unwrap_or_default()
}

#[test]
fn weston_simple_shm_draws_inside_its_window_and_never_on_the_strip() {
    require_program("weston-simple-shm");
    let mut driver = start(Config::embedded_default());
    let pid = driver
        .state
        .pal
        .spawn(&strings(&["weston-simple-shm"]), &[], Identity::unknown())
        .expect("spawning weston-simple-shm");

    let info = wait_state(
        &mut driver,
        Duration::from_secs(10),
        "weston-simple-shm's window to be mapped",
        |s| s.windows.len() == 1,
    );
    let window = only_window(&info);
    // Not launched from the config: the compositor's "unknown" identity,
    // and the pid from the spawn (the socket's credentials would be ours).
    assert_eq!(window.identity, "unknown", "{window:#?}");
    assert_eq!(window.label, "Unknown", "{window:#?}");
    assert_eq!(window.pid, Some(pid), "{window:#?}");
    let area = work_area(&info);
    assert_eq!(area, [0, STRIP, WIDTH, HEIGHT - STRIP], "{info:#?}");
    let geo = window.geometry;
    assert!(
        contains(area, geo),
        "window {geo:?} is not inside the work area {area:?}"
    );

    // weston draws an animated ring pattern, nothing like the desktop or the
    // strip: count such pixels inside its 250x250 window.
    let theme = driver.state.pal.theme.clone();
    let (background, strip) = (rgb8(theme.background), rgb8(theme.panel_background));
    wait_check(
        &mut driver,
        Duration::from_secs(10),
        "weston-simple-shm's pixels inside its window",
        |d| {
            let px = pixels(d);
            let own = coords(&px, geo)
                .filter(|&(x, y)| {
                    let p = px.at(x, y);
                    !near(p, background, 2) && !near(p, strip, 2)
                })
                .count();
            match own > 20_000 {
                true => Ok(()),
                false => Err(format!("{own} of its pixels in {geo:?}, want > 20000")),
            }
        },
    );

    // The strip shows the panel and nothing else: the window never covers it.
    let (wrong, first) = driver
        .strip_mismatch("headless-1")
        .expect("comparing the strip");
    assert_eq!(
        wrong, 0,
        "{wrong} strip pixels are not the panel's, first at {first:?}"
    );
    let px = pixels(&mut driver);
    // Around the window: the border in the identity's colour ("unknown" is
    // grey), drawn by the compositor.
    let b = palisade_tests::fixture::border_width();
    let ring = [geo[0] - b, geo[1] - b, geo[2] + 2 * b, geo[3] + 2 * b];
    let identity = palisade::Identity::unknown().color;
    let off_colour = coords(&px, ring)
        .filter(|&(x, y)| !contains(geo, [x as i32, y as i32, 1, 1]))
        .filter(|&(x, y)| !near(px.at(x, y), identity, 2))
        .count();
    assert_eq!(
        off_colour, 0,
        "border pixels not in the identity colour {identity:?}"
    );
    // Nothing of the window leaks outside the geometry the state reports.
    let outside: Vec<_> = coords(&px, area)
        .filter(|&(x, y)| !contains(ring, [x as i32, y as i32, 1, 1]))
        .filter(|&(x, y)| !near(px.at(x, y), background, 2))
        .collect();
    assert!(
        outside.is_empty(),
        "{} pixels outside the window {geo:?} are not the desktop {background:?}, e.g. {:?}",
        outside.len(),
        outside
            .iter()
            .take(5)
            .map(|&(x, y)| ((x, y), px.at(x, y)))
            .collect::<Vec<_>>()
    );
}

#[test]
fn foot_receives_typed_keys() {
    require_program("foot");
    let mut driver = start(Config::embedded_default());
    // tests/data/foot.ini: DejaVu Sans Mono 12, no cursor blinking, no user
    // config. dash with a fixed prompt and no rc file: nothing on screen
    // changes but what we type.
    let config = format!("--config={}", data_file("foot.ini").display());
    let env = [("PS1", "ready$ "), ("ENV", "")].map(|(k, v)| (k.to_owned(), v.to_owned()));
    let pid = driver
        .state
        .pal
        .spawn(
            &strings(&["foot", &config, "sh"]),
            &env,
            Identity::unknown(),
        )
        .expect("spawning foot");

    // Focus comes with the first buffer (foot crashes on an earlier one).
    let info = wait_state(
        &mut driver,
        Duration::from_secs(20),
        "foot's window to be mapped with keyboard focus",
        |s| s.windows.len() == 1 && s.windows[0].focused,
    );
    let window = only_window(&info);
    assert_eq!(window.identity, "unknown", "{window:#?}");
    assert_eq!(window.pid, Some(pid), "{window:#?}");
    let geo = window.geometry;
    // The first text rows (a cell is 19 pixels high at this size).
    let band = [geo[0], geo[1], geo[2], 120.min(geo[3])];

    // Its first real frame: the prompt is drawn.
    wait_check(
        &mut driver,
        Duration::from_secs(20),
        "foot to draw the shell's prompt",
        |d| {
            let px = pixels(d);
            let bg = dominant(&px, band);
            let ink = coords(&px, band)
                .filter(|&(x, y)| !near(px.at(x, y), bg, 8))
                .count();
            match ink >= 100 {
                true => Ok(()),
                false => Err(format!("{ink} pixels of text in {band:?}, want >= 100")),
            }
        },
    );
    driver.settle(Duration::from_secs(1)).expect("settling");
    let before = pixels(&mut driver);

    // 22 characters on the prompt's row: about 1300 pixels and 170 columns
    // change. A moving cursor alone changes about 20 columns.
    driver
        .type_text("echo palisade-typed-ok")
        .expect("typing into foot");
    let mut typed = Vec::new();
    wait_check(
        &mut driver,
        Duration::from_secs(10),
        "the typed command line to appear in foot",
        |d| {
            typed = changed(&before, &pixels(d), band);
            let (columns, _) = extent(&typed);
            match typed.len() >= 600 && columns >= 150 {
                true => Ok(()),
                false => Err(format!(
                    "{} pixels in {columns} columns changed, want >= 600 in >= 150",
                    typed.len()
                )),
            }
        },
    );
    driver.settle(Duration::from_secs(1)).expect("settling");
    let after_typing = pixels(&mut driver);

    // Return runs the command: its output and a new prompt appear below the
    // command line.
    driver.type_text("\n").expect("typing Return into foot");
    let (_, bottom) = extent(&typed);
    let below = [
        geo[0],
        bottom as i32 + 1,
        geo[2],
        geo[1] + band[3] - bottom as i32 - 1,
    ];
    wait_check(
        &mut driver,
        Duration::from_secs(10),
        "the command's output below the command line",
        |d| {
            let n = changed(&after_typing, &pixels(d), below).len();
            match n >= 400 {
                true => Ok(()),
                false => Err(format!("{n} pixels changed in {below:?}, want >= 400")),
            }
        },
    );
}

/// The colour of tests/data/red-block.html.
const PAGE_RED: [u8; 3] = [224, 27, 36];

#[test]
fn chromium_launched_from_the_config_gets_its_identity_and_socket() {
    require_program("chromium");
    let profile = temp_dir("chromium-profile");
    let page = data_file("red-block.html");
    let text = format!(
        r##"
[[app]]
id = "browser-test"
label = "Test Browser"
color = "#123456"
command = {chromium}
"##,
        chromium = toml_strings(&chromium_command(&profile, &page)),
    );
    let config = Config::parse(&text, Path::new("<browser test config>"))
        .unwrap_or_else(|e| panic!("the test config does not parse: {e}\n{text}"));
    let mut driver = start(config);
    let pid = driver
        .state
        .launch_app("browser-test")
        .expect("launching browser-test");

    // Chromium's first start with a fresh profile is slow on two cores.
    let slow = Duration::from_secs(60);
    wait_state(&mut driver, slow, "Chromium's window to be mapped", |s| {
        s.windows.len() == 1
    });
    wait_check(&mut driver, slow, "the red page inside Chromium", |d| {
        let red = pixels(d).count_near(PAGE_RED, 8);
        match red >= 100_000 {
            true => Ok(()),
            false => Err(format!("{red} pixels near {PAGE_RED:?}, want >= 100000")),
        }
    });

    // Identity comes from the config entry it was launched from, whatever
    // app_id Chromium chose for itself.
    let info = driver.state.pal.state_info();
    let window = only_window(&info);
    assert_eq!(window.identity, "browser-test", "{window:#?}");
    assert_eq!(window.label, "Test Browser", "{window:#?}");
    assert_eq!(window.pid, Some(pid), "{window:#?}");
    let area = work_area(&info);
    assert_eq!(area, [0, STRIP, WIDTH, HEIGHT - STRIP], "{info:#?}");
    // Chromium may still be resizing to the configured size.
    let info = wait_state(
        &mut driver,
        Duration::from_secs(10),
        "Chromium's window to fill the work area",
        |s| s.windows.len() == 1 && s.windows[0].geometry == window_area(area),
    );
    assert_eq!(info.windows[0].geometry, window_area(area));

    // Its only way in is the socket the compositor handed it.
    let environ = std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_else(|e| panic!("reading Chromium's environment (pid {pid}): {e}"));
    let vars: Vec<String> = environ
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    let socket = vars.iter().find_map(|v| v.strip_prefix("WAYLAND_SOCKET="));
    assert!(
        socket.is_some_and(|fd| fd.parse::<u32>().is_ok()),
        "no WAYLAND_SOCKET=<fd> in Chromium's environment: {vars:?}"
    );
    for name in ["WAYLAND_DISPLAY=", "DISPLAY="] {
        assert!(
            !vars.iter().any(|v| v.starts_with(name)),
            "{name}... in Chromium's environment, though the launcher removes it: {vars:?}"
        );
    }

    // Ends Chromium (the compositor kills the children it started).
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
}
