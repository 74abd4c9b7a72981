//! The trusted path against hostile clients (issue 11): each test plays one
//! way a client was seen getting around DESIGN.md's rules, and is named
//! after the rule it checks.
//!
//! - Rule 9, one stack: every client surface tree, cursor images and drag
//!   icons included, is cropped to the work area; a cursor image larger
//!   than 256x256 logical px is replaced by the compositor's cursor; a
//!   client's cursor shows only over that client's window; what is under
//!   the pointer is what is drawn there.
//! - Rule 8, focus is one value: every focus change the user makes first
//!   ends all popup grabs; a grab is granted only to the focused window,
//!   for a serial of its own recent input; the window the panel shows as
//!   focused is the one that gets the keys and the only one activated.
//! - Rule 6, locking: a lock ends every grab, and until the unlock no
//!   client has keyboard or pointer focus, so none can set the clipboard.
//!
//! The rule checks collect every breach before failing ([`Breaches`]), so a
//! run shows all of what the compositor gets wrong, not only the first.

use palisade::backend::headless::{Pixels, VirtualOutput};
use palisade::scenario::driver::{BTN_LEFT, BTN_RIGHT};
use palisade_panel::Hit;
use palisade_shortcuts::proto::{Request, UsbGrant};
use palisade_tests::client::{
    CursorSpec, KeyboardEvent, PopupId, PositionerSpec, SubsurfaceSpec, WindowId,
};
use palisade_tests::fixture::{identity, output, secret_keys, window_id, ClientId, Fixture};
use wayland_protocols::xdg::shell::client::xdg_positioner::{Anchor, Gravity};
use wayland_protocols::xdg::shell::client::xdg_toplevel::State as XdgState;

const LEFT: &str = "headless-1";
const RIGHT: &str = "headless-2";
/// Rows of the strip (the default theme's panel height) at scale 1.
const STRIP_ROWS: u32 = 32;

// One primary per role, none of them an identity colour, so a pixel count
// says whose pixels it sees.
const RED: [u8; 4] = [255, 0, 0, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const BLUE: [u8; 4] = [0, 0, 255, 255];
const YELLOW: [u8; 4] = [255, 255, 0, 255];
const CYAN: [u8; 4] = [0, 255, 255, 255];

fn rgb(c: [u8; 4]) -> [u8; 3] {
    [c[0], c[1], c[2]]
}

/// A's window is red, its cursor green, its menus yellow, its drag icon
/// cyan; B's window is blue.
fn app_a() -> palisade::Identity {
    identity("a", "App A", [0x34, 0xa8, 0x53])
}

fn app_b() -> palisade::Identity {
    identity("b", "App B", [0xaa, 0x33, 0x99])
}

/// Every way one rule was broken, reported together.
#[derive(Default)]
struct Breaches(Vec<String>);

impl Breaches {
    fn check(&mut self, holds: bool, breach: impl FnOnce() -> String) {
        if !holds {
            self.0.push(breach());
        }
    }

    #[track_caller]
    fn assert_none(self, rule: &str) {
        assert!(
            self.0.is_empty(),
            "{rule}: broken {} way(s):\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }
}

/// The strip of `out` shows exactly the panel's pixels (keep the pointer
/// off it: the compositor's cursor is drawn there).
fn check_strip_is_panel(f: &mut Fixture, out: &str, breaches: &mut Breaches) {
    f.step();
    let (count, first) = f.driver.strip_mismatch(out).expect("comparing the strip");
    breaches.check(count == 0, || {
        format!("{count} strip pixels of {out} are not the panel's, first at {first:?}")
    });
}

/// Pixels near `c` in the strip rows of `px`.
fn strip_count(px: &Pixels, c: [u8; 4]) -> usize {
    let near = |p: [u8; 4]| (0..3).all(|i| p[i].abs_diff(c[i]) <= 8);
    (0..STRIP_ROWS.min(px.height))
        .flat_map(|y| (0..px.width).map(move |x| (x, y)))
        .filter(|&(x, y)| near(px.at(x, y)))
        .count()
}

/// The compositor's own cursor (a white square with a black rim) has its
/// corner at output pixel `(x, y)`.
fn compositor_cursor_at(px: &Pixels, (x, y): (u32, u32)) -> bool {
    px.at(x, y)[..3] == [0, 0, 0] && px.at(x + 5, y + 5)[..3] == [255, 255, 255]
}

// ---------------------------------------------------------------------------
// Rule 9: a client's cursor stays out of the strip.

/// Where the pointer waits in the cursor tests: on A's window, just below
/// the strip.
const BELOW_STRIP: (f64, f64) = (640.0, 40.0);

/// One 1280x720 output with A's red window, the pointer on it just below
/// the strip, and A's cursor set to `spec` and handled by the compositor.
fn cursor_set(spec: &CursorSpec) -> Fixture {
    let mut f = Fixture::new(vec![output(1280, 720, 1.0)]);
    let a = f.add_client(app_a());
    f.map_window(a, RED);
    f.driver.pointer_to(BELOW_STRIP.0, BELOW_STRIP.1);
    f.wait("pointer focus on A's window", |f| {
        f.client(a).has_pointer_focus()
    });
    assert!(
        f.client(a).set_cursor_image(spec),
        "A could not set a cursor"
    );
    // Everything A sent is handled now; `pixels` renders what is due.
    f.roundtrip(a);
    f
}

/// The strip stays the panel's with A's cursor `spec` set; `visible` is how
/// many of its pixels must show first, below the strip where nothing crops
/// them (so the check looks at a frame that has the cursor).
fn assert_cursor_kept_out_of_the_strip(spec: &CursorSpec, visible: u64) {
    let mut f = cursor_set(spec);
    if visible > 0 {
        f.wait_color(LEFT, rgb(spec.rgba), visible);
    }
    let mut breaches = Breaches::default();
    check_strip_is_panel(&mut f, LEFT, &mut breaches);
    breaches.assert_none("a client cursor is cropped to the work area");
}

#[test]
fn a_client_cursor_inside_the_work_area_is_drawn() {
    // The control: client cursors are drawn at all, so the tests below
    // cannot pass by never drawing one.
    let mut f = cursor_set(&CursorSpec::solid((16, 16), GREEN, (0, 0)));
    f.wait_color(LEFT, rgb(GREEN), 16 * 16);
    f.assert_strip_is_panel(LEFT);
}

#[test]
fn a_client_cursor_above_its_hotspot_is_cropped_to_the_work_area() {
    // The image ends 14 px above the pointer: all of it is in the strip.
    assert_cursor_kept_out_of_the_strip(&CursorSpec::solid((16, 16), GREEN, (8, 30)), 0);
}

#[test]
fn a_client_cursor_subsurface_is_cropped_to_the_work_area() {
    // A 16x16 cursor carrying a 48x48 subsurface that reaches 40 px above
    // the pointer: small enough to be shown, so it is cropped at the strip.
    let spec = CursorSpec {
        subsurfaces: vec![SubsurfaceSpec {
            pos: (-16, -40),
            size: (48, 48),
            rgba: GREEN,
        }],
        ..CursorSpec::solid((16, 16), GREEN, (0, 0))
    };
    // Rows 32..48 of the subsurface show below the strip.
    assert_cursor_kept_out_of_the_strip(&spec, 48 * 16);
}

#[test]
fn a_client_cursor_with_a_strip_wide_subsurface_is_replaced_by_the_compositors() {
    // The reported attack: a 16x16 cursor with a 1280x190 subsurface at
    // (-600,-200) painted a fake panel over 39,680 of the strip's pixels.
    let spec = CursorSpec {
        subsurfaces: vec![SubsurfaceSpec {
            pos: (-600, -200),
            size: (1280, 190),
            rgba: GREEN,
        }],
        ..CursorSpec::solid((16, 16), GREEN, (0, 0))
    };
    assert_cursor_replaced(&spec);
}

#[test]
fn a_client_cursor_moved_up_by_its_attach_offset_is_cropped_to_the_work_area() {
    // 30 px up from the pointer: rows 10..58, whose lower part shows below
    // the strip whether the offset is applied or not.
    let spec = CursorSpec {
        attach_offset: Some((0, -30)),
        ..CursorSpec::solid((16, 48), GREEN, (0, 0))
    };
    assert_cursor_kept_out_of_the_strip(&spec, 16 * 16);
}

#[test]
fn a_client_cursor_scaled_by_a_viewport_is_cropped_to_the_work_area() {
    // A 16x16 buffer shown 64x64 around the pointer: rows 8..72, the top
    // 24 in the strip.
    let spec = CursorSpec {
        viewport: Some((64, 64)),
        ..CursorSpec::solid((16, 16), GREEN, (32, 32))
    };
    // Pixman filters the scaled edges, so count only well inside them.
    assert_cursor_kept_out_of_the_strip(&spec, 60 * 36);
}

#[test]
fn a_client_cursor_scaled_past_256_px_by_a_viewport_is_replaced_by_the_compositors() {
    let spec = CursorSpec {
        viewport: Some((1280, 400)),
        ..CursorSpec::solid((16, 16), GREEN, (640, 200))
    };
    assert_cursor_replaced(&spec);
}

/// A's cursor `spec` is not shown at all: the strip is the panel's, none
/// of the cursor's colour is on the output, and the compositor's cursor is
/// at the pointer.
fn assert_cursor_replaced(spec: &CursorSpec) {
    let mut f = cursor_set(spec);
    let mut breaches = Breaches::default();
    check_strip_is_panel(&mut f, LEFT, &mut breaches);
    let px = f.pixels(LEFT);
    let shown = px.count_near(rgb(spec.rgba), 8);
    breaches.check(shown == 0, || {
        format!("{shown} pixels of the cursor are on the output")
    });
    breaches.check(compositor_cursor_at(&px, (640, 40)), || {
        "the compositor's cursor is not drawn at the pointer".into()
    });
    breaches.assert_none("a cursor image over 256x256 px is replaced by the compositor's");
}

#[test]
fn a_client_cursor_larger_than_256_px_is_replaced_by_the_compositors() {
    assert_cursor_replaced(&CursorSpec::solid((300, 300), GREEN, (150, 150)));
}

// ---------------------------------------------------------------------------
// Rule 8: focus is one value, and a grab needs focus and a serial of its own.

/// Whether `w`'s newest configure says it is activated.
fn activated(f: &mut Fixture, c: ClientId, w: WindowId) -> bool {
    (f.client(c).configures(w).last()).is_some_and(|c| c.states.contains(&XdgState::Activated))
}

/// A menu placed inside its window (so no crop decides what it shows).
fn menu_spec() -> PositionerSpec {
    PositionerSpec {
        size: (200, 150),
        anchor_rect: (300, 300, 1, 1),
        anchor: Anchor::BottomRight,
        gravity: Gravity::BottomRight,
        ..PositionerSpec::default()
    }
}

/// `c` opens a menu on `w` grabbing with `serial`, and draws it if it was
/// configured; returns once the compositor has answered either way.
fn open_menu(f: &mut Fixture, c: ClientId, w: WindowId, serial: u32) -> PopupId {
    let p = f.client(c).create_grabbing_popup(w, &menu_spec(), serial);
    f.wait("the menu's configure or popup_done", |f| {
        !f.client(c).popup_configures(p).is_empty() || f.client(c).popup_done(p)
    });
    if !f.client(c).popup_done(p) {
        f.client(c).ack_and_draw_popup(p, YELLOW);
    }
    f.roundtrip(c);
    p
}

/// A and B each with a window, B's on the second output if there is one;
/// A has focus, B was not launched by the user.
struct Two {
    a: ClientId,
    wa: WindowId,
    b: ClientId,
    wb: WindowId,
}

/// Where the pointer goes to be over A's window, and over B's (which is on
/// the right output when there are two).
const ON_A: (f64, f64) = (640.0, 360.0);
const ON_B_RIGHT: (f64, f64) = (1920.0, 360.0);

fn two_windows(f: &mut Fixture) -> Two {
    let two_outputs = f.state().outputs.len() == 2;
    // A window goes on the output under the pointer.
    f.driver.pointer_to(ON_A.0, ON_A.1);
    let a = f.add_background_client(app_a());
    let wa = f.map_window(a, RED);
    if two_outputs {
        f.driver.pointer_to(ON_B_RIGHT.0, ON_B_RIGHT.1);
    }
    let b = f.add_background_client(app_b());
    let wb = f.map_window(b, BLUE);
    f.driver.pointer_to(ON_A.0, ON_A.1);
    f.wait("A's window to have focus and the pointer", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_window() == Some(wa) && f.client(a).has_pointer_focus()
    });
    if two_outputs {
        let outputs: Vec<String> = f.state().windows.iter().map(|w| w.output.clone()).collect();
        assert_eq!(outputs, [LEFT, RIGHT], "A's window left, B's right");
    }
    Two { a, wa, b, wb }
}

/// A's menu, opened as a real one is: a right click in A's focused window,
/// then a popup grabbing with that click's serial.
struct Menu {
    two: Two,
    popup: PopupId,
    serial: u32,
}

fn menu_open(outputs: Vec<VirtualOutput>) -> (Fixture, Menu) {
    let mut f = Fixture::new(outputs);
    let two = two_windows(&mut f);
    let a = two.a;
    f.driver.click(BTN_RIGHT);
    f.roundtrip(a);
    let serial = f.client(a).last_input_serial().expect("A got the click");
    let popup = open_menu(&mut f, a, two.wa, serial);
    f.wait("A's menu to have the keyboard", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_popup() == Some(popup)
    });
    (f, Menu { two, popup, serial })
}

/// The ids of the panel entries shown as focused, on every output.
fn panel_focus(f: &Fixture) -> Vec<u64> {
    let pal = &f.driver.state.pal;
    (pal.outputs.iter())
        .flat_map(|o| pal.panel_state(&o.output).windows)
        .filter(|e| e.focused)
        .map(|e| e.id)
        .collect()
}

/// Rule 8 with `to` (client, window, identity id) focused and `other` not:
/// typed keys reach `to` only, and the state JSON, the activated states
/// and the panel all name `to`'s window.
fn check_one_focus(
    f: &mut Fixture,
    to: (ClientId, WindowId, &str),
    other: (ClientId, WindowId),
    breaches: &mut Breaches,
) {
    let (c, w, id) = to;
    let from = f.client(c).keyboard_events().len();
    let from_other = f.client(other.0).keyboard_events().len();
    f.driver.type_text("secret").expect("typing");
    f.step();
    let got = f.keys_since(c, from);
    breaches.check(got == secret_keys(), || {
        format!("{id}'s window, meant to have focus, got {got:?}, not the typed \"secret\"")
    });
    let leaked = f.keys_since(other.0, from_other);
    breaches.check(leaked.is_empty(), || {
        format!("the other window's client got keys: {leaked:?}")
    });
    let state = f.state();
    let focused: Vec<&str> = (state.windows.iter())
        .filter(|w| w.focused)
        .map(|w| w.identity.as_str())
        .collect();
    breaches.check(focused == [id], || {
        format!("the state JSON says {focused:?} is focused, not [{id:?}]")
    });
    f.roundtrip(other.0);
    breaches.check(activated(f, c, w), || {
        format!("{id}'s newest configure is not Activated")
    });
    breaches.check(!activated(f, other.0, other.1), || {
        "the other window's newest configure is still Activated".into()
    });
    let want = window_id(&f.driver, id);
    let panel = panel_focus(f);
    breaches.check(panel == [want], || {
        format!("the panel shows entries {panel:?} as focused, not [{want}]")
    });
}

/// Rule 8 once the user moved focus from A (menu open) to B: A's menu is
/// dismissed and B has the one focus.
fn assert_focus_moved_to_b(f: &mut Fixture, m: &Menu, how: &str) {
    let Two { a, wa, b, wb } = m.two;
    f.roundtrip(a);
    f.roundtrip(b);
    let mut breaches = Breaches::default();
    breaches.check(f.client(a).popup_done(m.popup), || {
        "A's menu was not dismissed (no popup_done)".into()
    });
    check_one_focus(f, (b, wb, "b"), (a, wa), &mut breaches);
    breaches.assert_none(&format!(
        "{how} from A's open menu moves the one focus to B"
    ));
}

#[test]
fn super_tab_away_from_an_open_menu_moves_the_one_focus() {
    let (mut f, m) = menu_open(vec![output(1280, 720, 1.0)]);
    f.key_chord("Super+Tab");
    assert_focus_moved_to_b(&mut f, &m, "Super+Tab");
}

#[test]
fn a_click_on_another_window_away_from_an_open_menu_moves_the_one_focus() {
    let (mut f, m) = menu_open(vec![output(1280, 720, 1.0), output(1280, 720, 1.0)]);
    f.driver.pointer_to(ON_B_RIGHT.0, ON_B_RIGHT.1);
    f.driver.click(BTN_LEFT);
    f.step();
    assert_focus_moved_to_b(&mut f, &m, "a click on B's window");
}

#[test]
fn a_click_on_a_panel_entry_away_from_an_open_menu_moves_the_one_focus() {
    let (mut f, m) = menu_open(vec![output(1280, 720, 1.0)]);
    let id = window_id(&f.driver, "b");
    f.pixels(LEFT);
    let pal = &f.driver.state.pal;
    let x = (0..1280)
        .map(|x| f64::from(x) + 0.5)
        .find(|&x| pal.panel_hit((x, 16.0).into()) == Some(Hit::Window(id)))
        .expect("B's window has an entry in the panel");
    f.driver.pointer_to(x + 4.0, 16.0);
    f.driver.click(BTN_LEFT);
    f.step();
    assert_focus_moved_to_b(&mut f, &m, "a click on B's panel entry");
}

/// Rule 8 after `switch` moved focus from A (menu open) to B: A drops its
/// menu, as a client told popup_done would, and at once opens another with
/// the serial of the click that opened the first. Refused: A is not the
/// focused window, whatever it still holds.
fn assert_no_grab_after(outputs: Vec<VirtualOutput>, switch: impl FnOnce(&mut Fixture)) {
    let (mut f, m) = menu_open(outputs);
    let Two { a, wa, b, wb } = m.two;
    switch(&mut f);
    f.roundtrip(a);
    f.client(a).destroy_popup(m.popup);
    let q = open_menu(&mut f, a, wa, m.serial);
    let mut breaches = Breaches::default();
    breaches.check(f.client(a).popup_done(q), || {
        "the new grab was granted (no popup_done)".into()
    });
    breaches.check(!f.client(a).keyboard_focus(), || {
        format!(
            "A has the keyboard (on its new menu: {:?})",
            f.client(a).keyboard_focus_popup()
        )
    });
    check_one_focus(&mut f, (b, wb, "b"), (a, wa), &mut breaches);
    breaches.assert_none("a grab is granted only to the focused window");
}

#[test]
fn a_window_that_lost_focus_to_super_tab_cannot_grab_again_with_its_old_serial() {
    assert_no_grab_after(vec![output(1280, 720, 1.0)], |f| f.key_chord("Super+Tab"));
}

#[test]
fn a_window_that_lost_focus_to_a_click_cannot_grab_again_with_its_old_serial() {
    let outputs = vec![output(1280, 720, 1.0), output(1280, 720, 1.0)];
    assert_no_grab_after(outputs, |f| {
        f.driver.pointer_to(ON_B_RIGHT.0, ON_B_RIGHT.1);
        f.driver.click(BTN_LEFT);
        f.step();
    });
}

/// Rule 8 after the focused A asked for a grab with a serial that is not
/// one of its own inputs': refused, and the keyboard stays on A's window.
fn assert_grab_refused(f: &mut Fixture, two: &Two, serial: u32, what: &str) {
    let Two { a, wa, b, wb } = *two;
    let p = open_menu(f, a, wa, serial);
    let mut breaches = Breaches::default();
    breaches.check(f.client(a).popup_done(p), || {
        "the grab was granted (no popup_done)".into()
    });
    let focus = (
        f.client(a).keyboard_focus_window(),
        f.client(a).keyboard_focus_popup(),
    );
    breaches.check(focus == (Some(wa), None), || {
        format!("A's keyboard focus is (window, popup) {focus:?}, not its window")
    });
    check_one_focus(f, (a, wa, "a"), (b, wb), &mut breaches);
    breaches.assert_none(&format!("a grab with {what} is refused"));
}

#[test]
fn a_grab_with_a_made_up_serial_is_refused() {
    let mut f = Fixture::new(vec![output(1280, 720, 1.0)]);
    let two = two_windows(&mut f);
    // A has real input of its own, and uses another number anyway.
    f.driver.click(BTN_RIGHT);
    f.roundtrip(two.a);
    assert!(f.client(two.a).last_input_serial().is_some());
    assert_grab_refused(&mut f, &two, 0xdead, "a made-up serial");
}

#[test]
fn a_grab_with_another_clients_serial_is_refused() {
    let mut f = Fixture::new(vec![output(1280, 720, 1.0)]);
    let two = two_windows(&mut f);
    // B gets a key of its own; then the user goes back to A.
    f.key_chord("Super+Tab");
    f.wait("focus on B", |f| {
        f.roundtrip(two.b);
        f.client(two.b).keyboard_focus_window() == Some(two.wb)
    });
    f.driver.type_text("x").expect("typing");
    f.roundtrip(two.b);
    let theirs = f.client(two.b).last_key_serial().expect("B got the key");
    f.key_chord("Super+Tab");
    f.wait("focus back on A", |f| {
        f.roundtrip(two.a);
        f.client(two.a).keyboard_focus_window() == Some(two.wa)
    });
    assert_grab_refused(&mut f, &two, theirs, "the serial of B's key");
}

// ---------------------------------------------------------------------------
// Rule 6: a lock ends every grab, and no client has input until the unlock.

#[test]
fn a_lock_ends_the_menu_grab_and_no_client_has_input_until_the_unlock() {
    let (mut f, m) = menu_open(vec![output(1280, 720, 1.0)]);
    let Two { a, wa, b, .. } = m.two;
    let menu = m.popup;
    let mut peer = f.connect_welcomed_helper(UsbGrant::Denied);

    let from = f.client(a).keyboard_events().len();
    let pointer_enters = f.client(a).pointer_enters();
    let b_offers = f.client(b).selection_offers();
    f.key_chord("Super+L");
    assert!(f.driver.state.pal.is_locked(), "Super+L did not lock");
    // Engaged (a locked frame on every output): a password counts now.
    assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);
    f.roundtrip(a);
    let mut breaches = Breaches::default();
    let events = f.client(a).keyboard_events()[from..].to_vec();
    breaches.check(events.contains(&KeyboardEvent::Leave), || {
        format!("A got no wl_keyboard.leave at the lock: {events:?}")
    });
    breaches.check(f.client(a).popup_done(menu), || {
        "A's menu was not dismissed (no popup_done)".into()
    });

    // While locked A drops its menu, and the user clicks and moves the
    // pointer: none of it may hand A any focus.
    f.client(a).destroy_popup(menu);
    f.roundtrip(a);
    f.driver.click(BTN_LEFT);
    f.driver.pointer_to(700.0, 400.0);
    f.driver.pointer_to(ON_A.0, ON_A.1);
    f.step();
    f.roundtrip(a);
    let events = f.client(a).keyboard_events()[from..].to_vec();
    let enters = events
        .iter()
        .filter(|e| **e == KeyboardEvent::Enter)
        .count();
    breaches.check(enters == 0 && !f.client(a).keyboard_focus(), || {
        format!("A was given the keyboard while locked: {events:?}")
    });
    let new_enters = f.client(a).pointer_enters() - pointer_enters;
    breaches.check(new_enters == 0 && !f.client(a).has_pointer_focus(), || {
        format!(
            "A was given the pointer while locked ({new_enters} enters, focus now: {})",
            f.client(a).has_pointer_focus()
        )
    });

    // Without focus there is no clipboard to set.
    if f.client(a).set_clipboard("planted while locked") {
        f.roundtrip(a);
        f.roundtrip(b);
    }
    let owner = f.state().clipboard.owner;
    breaches.check(owner.is_none(), || {
        format!("A set the clipboard while locked: owner {owner:?}")
    });
    let offers = f.client(b).selection_offers() - b_offers;
    breaches.check(offers == 0, || {
        format!("another client was offered {offers} selections while locked")
    });

    f.unlock_with_password(&mut peer);
    f.wait("A's window to get focus back after the unlock", |f| {
        f.roundtrip(a);
        f.client(a).keyboard_focus_window() == Some(wa)
    });
    breaches.assert_none("while locked no client has keyboard or pointer focus");
}

// ---------------------------------------------------------------------------
// Rule 9 again: what is drawn, and where, while the pointer is held or
// dragging; what is under the pointer.

/// Two 1280x720 outputs, A's window on the left one, B's on the right, the
/// pointer on A's window with A's green cursor showing there.
fn cursor_on_a() -> (Fixture, Two) {
    let mut f = Fixture::new(vec![output(1280, 720, 1.0), output(1280, 720, 1.0)]);
    let two = two_windows(&mut f);
    let cursor = CursorSpec::solid((16, 16), GREEN, (0, 0));
    assert!(f.client(two.a).set_cursor_image(&cursor), "A set no cursor");
    f.wait_color(LEFT, rgb(GREEN), 16 * 16);
    (f, two)
}

/// The pointer from A's window to the middle of B's, on the right output.
fn carry_to_b(f: &mut Fixture, two: &Two) {
    for x in [1000.0, 1500.0, ON_B_RIGHT.0] {
        f.driver.pointer_to(x, ON_B_RIGHT.1);
    }
    f.roundtrip(two.a);
    f.roundtrip(two.b);
}

#[test]
fn a_client_cursor_shows_only_over_its_own_window_while_a_button_is_held() {
    let (mut f, two) = cursor_on_a();
    // The press starts an implicit grab: A keeps the pointer focus (and
    // Smithay its right to set the cursor) all the way onto B's window.
    f.button(BTN_LEFT, true);
    carry_to_b(&mut f, &two);
    let cursor = CursorSpec::solid((16, 16), GREEN, (0, 0));
    assert!(f.client(two.a).set_cursor_image(&cursor));
    f.roundtrip(two.a);
    let px = f.pixels(RIGHT);
    let mut breaches = Breaches::default();
    let shown = px.count_near(rgb(GREEN), 8);
    breaches.check(shown == 0, || {
        format!("{shown} pixels of A's cursor over B's window")
    });
    breaches.check(compositor_cursor_at(&px, (640, 360)), || {
        "the compositor's cursor is not drawn at the pointer over B".into()
    });
    f.button(BTN_LEFT, false);
    breaches.assert_none("a client's cursor shows only over its own window");
}

#[test]
fn a_drag_icon_is_drawn_cropped_to_the_work_area_and_never_while_locked() {
    let (mut f, two) = cursor_on_a();
    let a = two.a;
    f.button(BTN_LEFT, true);
    f.roundtrip(a);
    assert!(
        f.client(a)
            .start_drag_with_icon(two.wa, "dragged", (48, 48), CYAN),
        "A sent no drag"
    );
    f.roundtrip(a);
    assert_eq!(
        f.driver.state.pal.input.drag_identity(),
        Some("a"),
        "the compositor did not see the drag start"
    );
    carry_to_b(&mut f, &two);
    // Smithay takes a cursor from the client a grab started on, whatever
    // its serial: A sets one over B's window.
    let cursor = CursorSpec::solid((16, 16), GREEN, (0, 0));
    assert!(f.client(a).set_cursor_image(&cursor));
    f.roundtrip(a);
    let mut breaches = Breaches::default();
    let px = f.pixels(RIGHT);
    let shown = px.count_near(rgb(GREEN), 8);
    breaches.check(shown == 0, || {
        format!("{shown} pixels of A's cursor over B's window during the drag")
    });
    let icon = px.count_near(rgb(CYAN), 8);
    breaches.check(icon >= 48 * 48 / 2, || {
        format!("the drag icon is not drawn ({icon} of its 2304 pixels show)")
    });

    // Into B's strip: the icon follows the pointer but stays below it.
    f.driver.pointer_to(ON_B_RIGHT.0, 10.0);
    let px = f.pixels(RIGHT);
    let in_strip = (strip_count(&px, CYAN), strip_count(&px, GREEN));
    breaches.check(in_strip == (0, 0), || {
        format!("(drag icon, A's cursor) pixels in the strip: {in_strip:?}")
    });

    // Locked with the drag still held: nothing of A's shows anywhere.
    f.driver.pointer_to(ON_B_RIGHT.0, ON_B_RIGHT.1);
    f.key_chord("Super+L");
    assert!(f.driver.state.pal.is_locked(), "Super+L did not lock");
    for out in [LEFT, RIGHT] {
        let px = f.pixels(out);
        let shown = [CYAN, GREEN, RED].map(|c| px.count_near(rgb(c), 8));
        breaches.check(shown == [0; 3], || {
            format!("(icon, cursor, window) pixels on {out} while locked: {shown:?}")
        });
    }
    f.button(BTN_LEFT, false);
    breaches.assert_none("a drag icon is drawn, cropped to the work area, never while locked");
}

#[test]
fn an_empty_input_region_passes_no_input_to_the_window_below() {
    let mut f = Fixture::new(vec![output(1280, 720, 1.0)]);
    // The pointer waits on the strip, where no client gets it.
    f.driver.pointer_to(640.0, 10.0);
    let a = f.add_client(app_a());
    f.map_window(a, RED);
    // Launched by the user: B's window takes focus and goes on top of A's.
    let b = f.add_client(app_b());
    let wb = f.map_window(b, BLUE);
    f.wait("focus on B's window", |f| {
        f.roundtrip(b);
        f.client(b).keyboard_focus_window() == Some(wb)
    });
    f.wait_color(LEFT, rgb(BLUE), 1000 * 600);
    f.client(b).set_input_region(wb, &[]);
    f.roundtrip(b);

    let keyboard = f.client(a).keyboard_events().len();
    let (enters, buttons) = (f.client(a).pointer_enters(), f.client(a).pointer_buttons());
    f.driver.pointer_to(ON_A.0, ON_A.1);
    f.driver.pointer_to(ON_A.0 + 10.0, ON_A.1 + 10.0);
    f.driver.click(BTN_LEFT);
    f.step();
    f.roundtrip(a);
    let mut breaches = Breaches::default();
    let got = (
        f.client(a).pointer_enters() - enters,
        f.client(a).pointer_buttons() - buttons,
    );
    breaches.check(got == (0, 0), || {
        format!("A, drawn under B's window, got (enters, buttons) {got:?}")
    });
    let events = f.client(a).keyboard_events()[keyboard..].to_vec();
    breaches.check(!f.client(a).keyboard_focus(), || {
        format!("the click gave A the keyboard: {events:?}")
    });
    let state = f.state();
    let focused: Vec<&str> = (state.windows.iter())
        .filter(|w| w.focused)
        .map(|w| w.identity.as_str())
        .collect();
    breaches.check(focused == ["b"], || {
        format!("the state JSON says {focused:?} is focused, not [\"b\"]")
    });
    breaches.assert_none("what is under the pointer is what is drawn there");
}
