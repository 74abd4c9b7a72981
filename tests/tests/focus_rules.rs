//! No focus stealing, with in-process clients and real pixels: a window
//! that appears while another identity has focus does not take it, stays
//! behind, and is marked in the panel; the same identity's new windows and
//! the first window of an app the user launched do take it.
//! `focus_stealing.rs` shows the same with foot and Chromium.

use std::path::Path;
use std::time::Duration;

use palisade::config::Config;
use palisade_panel::Hit;
use palisade_shortcuts::proto::{Request, UsbGrant};
use palisade_tests::client::PositionerSpec;
use palisade_tests::fixture::{
    identity, output, require_program, secret_keys, window_area, window_id, ClientId, Fixture,
    HelperPeer,
};

const OUT: &str = "headless-1";
const BLUE: [u8; 4] = [0, 0, 255, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const RED: [u8; 4] = [255, 0, 0, 255];

const TERM: (&str, &str, [u8; 3]) = ("term", "Terminal", [0x34, 0xa8, 0x53]);
const BROWSER: (&str, &str, [u8; 3]) = ("browser", "Chromium", [0x42, 0x85, 0xf4]);
const MAIL: (&str, &str, [u8; 3]) = ("mail", "Mail", [0xaa, 0x33, 0x99]);

fn app(a: (&str, &str, [u8; 3])) -> palisade::Identity {
    identity(a.0, a.1, a.2)
}

/// Pixels of a window filling headless-1's work area.
fn area_px() -> u64 {
    let [_, _, w, h] = window_area([0, 32, 1280, 768]);
    (w * h) as u64
}

/// The window's record in the state JSON, by identity.
fn info(f: &Fixture, id: &str) -> palisade::introspect::WindowInfo {
    let state = f.state();
    let mut found = state.windows.iter().filter(|w| w.identity == id);
    let w = found
        .next()
        .unwrap_or_else(|| panic!("no {id} window: {state:#?}"))
        .clone();
    assert!(found.next().is_none(), "more than one {id} window");
    w
}

/// The columns of window `id`'s entry in the panel, from hit tests on the
/// last rendered layout.
fn entry_columns(f: &mut Fixture, id: u64) -> std::ops::Range<u32> {
    f.pixels(OUT);
    let pal = &f.driver.state.pal;
    let xs: Vec<u32> = (0..1280u32)
        .filter(|&x| pal.panel_hit((f64::from(x) + 0.5, 16.0).into()) == Some(Hit::Window(id)))
        .collect();
    let (first, last) = (xs.first().copied(), xs.last().copied());
    match (first, last) {
        (Some(a), Some(b)) => a..b + 1,
        _ => panic!("window {id} has no entry in the panel"),
    }
}

/// Strip pixels in the theme's warning colour inside window `id`'s entry:
/// the attention marker.
fn marker_pixels(f: &mut Fixture, id: u64) -> usize {
    let columns = entry_columns(f, id);
    let warning = palisade_panel::rgba8(f.driver.state.pal.theme.panel_warning);
    let px = f.pixels(OUT);
    columns
        .flat_map(|x| (0..32).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = px.at(x, y);
            (0..3).all(|i| p[i].abs_diff(warning[i]) <= 8)
        })
        .count()
}

/// A focused window of `a`, from a client the user did not launch: it has
/// focus because nothing else had.
fn first_window(f: &mut Fixture, a: (&str, &str, [u8; 3]), rgba: [u8; 4]) -> (ClientId, usize) {
    let c = f.add_background_client(app(a));
    let w = f.map_window(c, rgba);
    f.wait("focus on the first window", |f| {
        f.roundtrip(c);
        f.client(c).keyboard_focus_window() == Some(w)
    });
    (c, w)
}

#[test]
fn a_window_of_another_identity_does_not_take_focus_and_wants_attention() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let (a, wa) = first_window(&mut f, TERM, BLUE);
    assert!(info(&f, "term").focused && !info(&f, "term").attention);

    // Chromium opens a window on its own (nobody launched it just now).
    let b = f.add_background_client(app(BROWSER));
    let wb = f.map_window(b, GREEN);
    f.roundtrip(a);
    f.roundtrip(b);
    assert_eq!(f.client(a).keyboard_focus_window(), Some(wa));
    let term = info(&f, "term");
    let browser = info(&f, "browser");
    assert!(term.focused, "{term:#?}");
    assert!(!browser.focused && browser.attention, "{browser:#?}");

    // Every key typed after it appeared goes to the terminal, none to it.
    let from_a = f.client(a).keyboard_events().len();
    f.driver.type_text("secret").expect("typing");
    f.step();
    assert_eq!(f.keys_since(a, from_a), secret_keys());
    let b_events = f.client(b).keyboard_events().to_vec();
    assert!(
        b_events.is_empty(),
        "the new window got keyboard events: {b_events:?}"
    );

    // It stays behind: the terminal still fills the screen, even once the
    // newcomer asks for fullscreen (which re-places it).
    f.wait_color(OUT, [0, 0, 255], area_px());
    assert_eq!(f.pixels(OUT).count_near([0, 255, 0], 8), 0);
    let configures = f.client(b).configures(wb).len();
    f.client(b).set_fullscreen(wb, true);
    f.wait("the fullscreen configure", |f| {
        f.client(b).configures(wb).len() > configures
    });
    f.client(b).ack_and_draw(wb, None, GREEN);
    f.roundtrip(b);
    f.wait_color(OUT, [0, 0, 255], area_px());
    assert_eq!(f.pixels(OUT).count_near([0, 255, 0], 8), 0);
    assert!(info(&f, "term").focused && info(&f, "browser").fullscreen);

    // The panel says so: its entry, and only its, carries the marker.
    let (ida, idb) = (
        window_id(&f.driver, "term"),
        window_id(&f.driver, "browser"),
    );
    let marker = marker_pixels(&mut f, idb);
    assert!(marker >= 50, "{marker} marker pixels in Chromium's entry");
    assert_eq!(marker_pixels(&mut f, ida), 0);
    f.assert_strip_is_panel(OUT);
}

#[test]
fn a_window_in_the_background_cannot_take_the_keyboard_with_a_popup_grab() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let (a, wa) = first_window(&mut f, TERM, BLUE);
    let b = f.add_background_client(app(BROWSER));
    let wb = f.map_window(b, GREEN);
    // A grab with a made-up serial: refused, the popup is dismissed.
    let spec = PositionerSpec::default();
    let p = f.client(b).create_grabbing_popup(wb, &spec, 1);
    f.wait("the background popup to be dismissed", |f| {
        f.client(b).popup_done(p)
    });
    let from = f.client(a).keyboard_events().len();
    f.driver.type_text("secret").expect("typing");
    f.step();
    assert_eq!(f.keys_since(a, from), secret_keys());
    f.roundtrip(b);
    assert!(f.client(b).keyboard_events().is_empty());

    // The focused window's own menu still grabs the keyboard, with the
    // serial of a key it was sent (a grab must answer its own input).
    let serial = f.client(a).last_input_serial().expect("A got the keys");
    let q = f.client(a).create_grabbing_popup(wa, &spec, serial);
    f.wait("the menu's configure", |f| {
        !f.client(a).popup_configures(q).is_empty()
    });
    f.client(a).ack_and_draw_popup(q, RED);
    f.wait("keyboard focus on the menu", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus() && f.client(a).keyboard_focus_window().is_none()
    });
    assert!(!f.client(a).popup_done(q));
}

#[test]
fn new_windows_of_the_focused_identity_take_focus() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let (a, _) = first_window(&mut f, TERM, BLUE);
    // The same client's second window.
    let w2 = f.map_window(a, RED);
    f.wait("focus on the terminal's second window", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_window() == Some(w2)
    });
    // Another client of the same identity, not launched by the user.
    let c = f.add_background_client(app(TERM));
    let wc = f.map_window(c, GREEN);
    f.wait("focus on the other terminal client's window", |f| {
        f.roundtrip(c);
        f.client(c).keyboard_focus_window() == Some(wc)
    });
    assert!(f.state().windows.iter().all(|w| !w.attention));
}

#[test]
fn attention_clears_when_the_user_focuses_the_window() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let (a, _) = first_window(&mut f, TERM, BLUE);
    let b = f.add_background_client(app(BROWSER));
    let wb = f.map_window(b, GREEN);
    let c = f.add_background_client(app(MAIL));
    let wc = f.map_window(c, RED);
    f.roundtrip(a);
    assert!(info(&f, "browser").attention && info(&f, "mail").attention);
    assert!(info(&f, "term").focused);

    // Super+Tab: the next window in the order they appeared.
    f.key_chord("Super+Tab");
    f.wait("focus on Chromium after Super+Tab", |f| {
        f.roundtrip(b);
        f.client(b).keyboard_focus_window() == Some(wb)
    });
    let browser = info(&f, "browser");
    assert!(browser.focused && !browser.attention, "{browser:#?}");
    let idb = window_id(&f.driver, "browser");
    assert_eq!(marker_pixels(&mut f, idb), 0, "the marker stayed");
    f.wait_color(OUT, [0, 255, 0], area_px());
    // Keys go to it now.
    let from = f.client(b).keyboard_events().len();
    f.driver.type_text("secret").expect("typing");
    f.step();
    assert_eq!(f.keys_since(b, from), secret_keys());

    // A click on the mail window's panel entry.
    let idc = window_id(&f.driver, "mail");
    assert!(marker_pixels(&mut f, idc) >= 50);
    let x = entry_columns(&mut f, idc).start + 5;
    f.driver.pointer_to(f64::from(x), 16.0);
    f.driver.click(palisade::scenario::driver::BTN_LEFT);
    f.wait("focus on the mail window after the click", |f| {
        f.roundtrip(c);
        f.client(c).keyboard_focus_window() == Some(wc)
    });
    assert!(!info(&f, "mail").attention);
    assert_eq!(marker_pixels(&mut f, idc), 0);
}

#[test]
fn a_user_launch_no_longer_counts_once_the_user_moved_focus() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let (a, wa) = first_window(&mut f, TERM, BLUE);
    // The user launches Chromium, then goes back to the terminal by hand
    // (Super+Tab with one window) before Chromium's window shows.
    let b = f.add_client(app(BROWSER));
    f.key_chord("Super+Tab");
    f.map_window(b, GREEN);
    f.roundtrip(a);
    assert_eq!(f.client(a).keyboard_focus_window(), Some(wa));
    assert!(info(&f, "browser").attention);
    assert!(f.client(b).keyboard_events().is_empty());
}

/// A config with weston-simple-shm as an app with a shortcut.
fn shm_config() -> Config {
    let text = r##"
[[app]]
id = "shm"
label = "Shm"
color = "#aa5500"
command = ["weston-simple-shm"]
shortcut = "Super+S"
"##;
    Config::parse(text, Path::new("<focus test config>"))
        .unwrap_or_else(|e| panic!("the test config does not parse: {e}"))
}

#[test]
fn the_first_window_of_an_app_the_user_launched_takes_focus_an_autostarted_one_does_not() {
    require_program("weston-simple-shm");
    let mut f = Fixture::with_config(shm_config(), vec![output(1280, 800, 1.0)]);
    let (a, wa) = first_window(&mut f, TERM, BLUE);

    // The autostart path: the app's window shows while the terminal is
    // focused, and does not take focus.
    let pid = f.driver.state.launch_app("shm").expect("launching shm");
    f.wait_for(Duration::from_secs(20), "the autostarted window", |f| {
        f.state().windows.iter().any(|w| w.pid == Some(pid))
    });
    f.roundtrip(a);
    let state = f.state();
    let shm = state.windows.iter().find(|w| w.pid == Some(pid)).cloned();
    let shm = shm.expect("the autostarted window");
    assert!(!shm.focused && shm.attention, "{shm:#?}");
    assert_eq!(f.client(a).keyboard_focus_window(), Some(wa));

    // The user presses the app's shortcut: that window takes focus.
    f.key_chord("Super+S");
    f.wait_for(
        Duration::from_secs(20),
        "the user-launched window with focus",
        |f| {
            let state = f.state();
            state.windows.len() == 3
                && (state.windows.iter())
                    .any(|w| w.identity == "shm" && w.pid != Some(pid) && w.focused)
        },
    );
    f.roundtrip(a);
    assert_eq!(f.client(a).keyboard_focus_window(), None);
}

fn lock(f: &mut Fixture, peer: &mut HelperPeer) {
    f.key_chord("Super+L");
    assert!(f.driver.state.pal.is_locked(), "Super+L did not lock");
    assert_eq!(f.next_helper_request(peer, "Lock"), Request::Lock);
}

#[test]
fn windows_that_map_while_locked_follow_the_same_rule_on_unlock() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let mut peer = f.connect_welcomed_helper(UsbGrant::Denied);
    let (a, wa) = first_window(&mut f, TERM, BLUE);

    // Another identity's window maps while locked: the terminal gets focus
    // back on unlock, and the newcomer never had it.
    lock(&mut f, &mut peer);
    let b = f.add_background_client(app(BROWSER));
    f.map_window(b, GREEN);
    f.unlock_with_password(&mut peer);
    f.wait("focus back on the terminal", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_window() == Some(wa)
    });
    f.roundtrip(b);
    assert!(f.client(b).keyboard_events().is_empty());
    assert!(info(&f, "browser").attention);
    f.wait_color(OUT, [0, 0, 255], area_px());

    // The same identity's new window, mapped while locked: it is the one
    // focused after the unlock, as it would have been unlocked.
    lock(&mut f, &mut peer);
    let w2 = f.map_window(a, RED);
    f.unlock_with_password(&mut peer);
    f.wait("focus on the terminal's new window", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_window() == Some(w2)
    });
    f.roundtrip(b);
    assert!(f.client(b).keyboard_events().is_empty());
}
