//! Idle locking, idle inhibitors and switching the outputs off while locked
//! (`[lock]` in the config), on a headless Palisade with real pixels and
//! in-process clients. The config's durations are shortened to a second;
//! the waits are on the compositor's own state, with deadlines.

use std::path::Path;
use std::time::Duration;

use palisade::config::Config;
use palisade_tests::client::KeyboardEvent;
use palisade_tests::fixture::{identity, output, Fixture};
use smithay::input::keyboard::Keycode;

const RED: [u8; 4] = [255, 0, 0, 255];
const KEY_A: u32 = 30;
/// Long enough for a timer of one second on a loaded CI machine.
const LONG: Duration = Duration::from_secs(20);

fn config(lock: &str) -> Config {
    Config::parse(&format!("[lock]\n{lock}\n"), Path::new("idle-test.toml"))
        .expect("the test config parses")
}

/// Two outputs and one red window.
fn fixture(lock: &str) -> (Fixture, usize, usize) {
    let mut f = Fixture::with_config(
        config(lock),
        vec![output(800, 600, 1.0), output(640, 480, 1.0)],
    );
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    let w = f.map_window(c, RED);
    (f, c, w)
}

fn press(f: &mut Fixture, key: u32, pressed: bool) {
    let time = f.driver.state.pal.now_ms();
    f.driver
        .state
        .handle_key(Keycode::new(key + 8), pressed, time);
    f.step();
}

fn all_black(f: &mut Fixture, name: &str) -> bool {
    let px = f.driver.last_frame(name).expect("pixels");
    px.count_near([0, 0, 0], 0) == u64::from(px.width * px.height)
}

fn outputs_on(f: &Fixture) -> bool {
    f.driver.state.pal.idle.outputs_on
}

#[test]
fn idle_time_locks_the_screen_never_before_the_configured_time() {
    let (mut f, _, _) = fixture("idle_after = \"1s\"\noutputs_off_after = \"off\"");
    // Input moves the deadline: the lock must not come sooner than a
    // second after the last of it.
    for i in 0..5 {
        f.driver.pointer_to(100.0 + f64::from(i), 100.0);
        f.step();
    }
    // The compositor's own stamp of that input.
    let last_input = f.driver.state.pal.idle.last_input;
    assert!(!f.driver.state.pal.is_locked(), "locked while in use");
    f.wait_for(LONG, "the idle lock", |f| f.driver.state.pal.is_locked());
    let after = last_input.elapsed();
    assert!(
        after >= Duration::from_secs(1),
        "locked {after:?} after the last input; idle_after is 1 s"
    );
    // What it locks is the real lock: no client pixel on any output.
    f.wait("the lock to be engaged", |f| {
        f.driver.state.pal.outputs.iter().all(|o| o.lock.shown)
    });
    for name in f.driver.output_names() {
        let px = f.driver.last_frame(&name).expect("pixels");
        assert_eq!(px.count_near([255, 0, 0], 8), 0, "{name} shows the client");
    }
    assert_eq!(
        f.driver.state.pal.lock.requests(),
        1,
        "one idle period, one lock request"
    );
}

#[test]
fn idle_after_off_never_locks() {
    let (f, _, _) = fixture("idle_after = \"off\"");
    assert!(!f.driver.state.pal.is_locked());
    // With no deadline there is no timer at all to fire.
    assert!(
        f.driver.state.pal.idle_next_deadline().is_none(),
        "an idle deadline exists with idle_after = \"off\""
    );
}

#[test]
fn an_idle_inhibitor_keeps_the_outputs_on_but_never_prevents_the_lock() {
    let (mut f, c, w) = fixture("idle_after = \"1s\"\noutputs_off_after = \"1s\"");
    assert!(f.client(c).inhibit_idle(w), "no idle-inhibit global");
    f.roundtrip(c);
    f.wait_for(LONG, "the idle lock despite the inhibitor", |f| {
        f.driver.state.pal.is_locked()
    });
    f.wait_for(LONG, "the inhibitor to hold the outputs on", |f| {
        f.driver.state.pal.idle.inhibitor_holds > 0
    });
    assert!(outputs_on(&f), "the outputs went off despite the inhibitor");
    assert_eq!(f.driver.state.pal.idle.times_off, 0);
    // Once the inhibitor is gone, the outputs go off.
    f.client(c).release_idle_inhibitors();
    f.roundtrip(c);
    f.wait_for(LONG, "the outputs to go off", |f| !outputs_on(f));
}

#[test]
fn with_prevent_lock_an_inhibitor_holds_the_idle_lock_until_it_ends() {
    let (mut f, c, w) = fixture("idle_after = \"1s\"\nidle_inhibit = \"prevent-lock\"");
    assert!(f.client(c).inhibit_idle(w));
    f.roundtrip(c);
    f.wait_for(LONG, "the inhibitor to hold the lock back", |f| {
        f.driver.state.pal.idle.inhibitor_holds > 0
    });
    assert!(
        !f.driver.state.pal.is_locked(),
        "locked despite prevent-lock"
    );
    f.client(c).release_idle_inhibitors();
    f.roundtrip(c);
    f.wait_for(LONG, "the idle lock after the inhibitor ended", |f| {
        f.driver.state.pal.is_locked()
    });
}

#[test]
fn with_ignore_an_inhibitor_changes_nothing() {
    let (mut f, c, w) =
        fixture("idle_after = \"1s\"\noutputs_off_after = \"1s\"\nidle_inhibit = \"ignore\"");
    assert!(f.client(c).inhibit_idle(w));
    f.roundtrip(c);
    f.wait_for(LONG, "the outputs to go off", |f| !outputs_on(f));
    assert_eq!(f.driver.state.pal.idle.inhibitor_holds, 0);
}

#[test]
fn a_long_lock_switches_the_outputs_off_and_the_waking_key_is_not_typed() {
    let (mut f, c, _) = fixture("idle_after = \"off\"\noutputs_off_after = \"1s\"");
    f.driver.key_chord("Super+L").expect("Super+L");
    f.step();
    assert!(f.driver.state.pal.is_locked());
    let events_at_lock = f.client(c).keyboard_events().len();
    f.wait_for(LONG, "the outputs to go off", |f| !outputs_on(f));
    let names = f.driver.output_names();
    for name in &names {
        assert!(all_black(&mut f, name), "{name} is not black while off");
    }
    // Nothing is drawn while off, whatever asks for a redraw.
    let frames: Vec<u64> = names.iter().map(|n| f.driver.output_frames(n)).collect();
    f.driver.state.pal.queue_redraw_all();
    f.step();
    f.step();
    let after: Vec<u64> = names.iter().map(|n| f.driver.output_frames(n)).collect();
    assert_eq!(
        frames, after,
        "frames were rendered while the outputs were off"
    );

    // A key wakes them, to the lock screen, and is not typed.
    press(&mut f, KEY_A, true);
    assert!(outputs_on(&f), "a key press did not switch the outputs on");
    press(&mut f, KEY_A, false);
    for (name, before) in names.iter().zip(&frames) {
        f.wait(&format!("a frame on {name} after waking"), |f| {
            f.driver.output_frames(name) > *before
        });
        assert!(!all_black(&mut f, name), "{name} stayed black after waking");
        let px = f.driver.last_frame(name).expect("pixels");
        assert_eq!(px.count_near([255, 0, 0], 8), 0, "{name} shows the client");
    }
    assert_eq!(
        f.driver.state.pal.lock.typed_chars(),
        0,
        "the waking key was typed into the password field"
    );
    // The next key is typed.
    press(&mut f, KEY_A, true);
    press(&mut f, KEY_A, false);
    assert_eq!(f.driver.state.pal.lock.typed_chars(), 1);
    // And no key ever reached the client.
    f.roundtrip(c);
    let keys_after_lock: Vec<&KeyboardEvent> = f.client(c).keyboard_events()[events_at_lock..]
        .iter()
        .filter(|e| matches!(e, KeyboardEvent::Key { .. }))
        .collect();
    assert!(
        keys_after_lock.is_empty(),
        "the client received keys while locked: {keys_after_lock:?}"
    );
    // Quiet again: off again.
    f.wait_for(LONG, "the outputs to go off a second time", |f| {
        f.driver.state.pal.idle.times_off == 2
    });
}

#[test]
fn pointer_motion_wakes_the_outputs_too() {
    let (mut f, _, _) = fixture("idle_after = \"off\"\noutputs_off_after = \"1s\"");
    f.driver.key_chord("Super+L").expect("Super+L");
    f.wait_for(LONG, "the outputs to go off", |f| !outputs_on(f));
    f.driver.pointer_to(5.0, 5.0);
    assert!(
        outputs_on(&f),
        "pointer motion did not switch the outputs on"
    );
    assert!(
        f.driver.state.pal.is_locked(),
        "waking unlocked the session"
    );
}
