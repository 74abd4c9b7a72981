//! The lock screen as the compositor enforces it (issue 5, first part):
//! real pixels from the headless backend, in-process clients that record
//! every event, and the test playing the helper on the link.

use palisade::backend::headless::VirtualOutput;
use palisade_lockscreen::Phase;
use palisade_shortcuts::proto::{AuthOutcome, HelperState, Message, Request, UsbGrant};
use palisade_tests::client::{KeyboardEvent, PositionerSpec};
use palisade_tests::fixture::{helper_state, identity, output, Fixture, HelperPeer};
use smithay::input::keyboard::Keycode;

const OUT: &str = "headless-1";
const KEY_A: u32 = 30;
const BTN_LEFT: u32 = 0x110;
const COLOURS: [[u8; 4]; 5] = [
    [255, 0, 0, 255],
    [0, 255, 0, 255],
    [255, 0, 255, 255],
    [0, 255, 255, 255],
    [255, 255, 0, 255],
];

fn state(locked: bool) -> HelperState {
    HelperState {
        locked,
        ..helper_state(UsbGrant::Denied)
    }
}

/// A compositor with a helper link that has said hello.
fn with_helper(outputs: Vec<VirtualOutput>) -> (Fixture, HelperPeer) {
    let mut f = Fixture::new(outputs);
    let peer = f.connect_welcomed_helper(UsbGrant::Denied);
    (f, peer)
}

/// One 1280x800 output, a window in `colour`, and the lock engaged (the
/// helper has been told).
fn locked_with_window(colour: [u8; 4]) -> (Fixture, HelperPeer) {
    let (mut f, mut peer) = with_helper(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    f.map_window(c, colour);
    lock_and_take_next_frames(&mut f);
    assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);
    (f, peer)
}

/// The next Authenticate the compositor sends, answered with `outcome`
/// for generation `answer_for` (its own generation when None).
fn answer_password(
    f: &mut Fixture,
    peer: &mut HelperPeer,
    outcome: AuthOutcome,
    answer_for: Option<u64>,
) -> u64 {
    let generation = match f.next_helper_request(peer, "a password") {
        Request::Authenticate { generation, .. } => generation,
        other => panic!("expected Authenticate, got {other:?}"),
    };
    peer.send(&Message::AuthResult {
        generation: answer_for.unwrap_or(generation),
        outcome,
    });
    generation
}

fn type_text(f: &mut Fixture, text: &str) {
    f.driver.type_text(text).expect("typing");
    f.step();
}

/// Presses Super+L and returns, for every output, the first frame it
/// rendered after the key, checking that it was exactly one frame.
fn lock_and_take_next_frames(
    f: &mut Fixture,
) -> Vec<(String, palisade::backend::headless::Pixels)> {
    let names = f.driver.output_names();
    let before: Vec<u64> = names.iter().map(|n| f.driver.output_frames(n)).collect();
    f.driver.key_chord("Super+L").expect("Super+L");
    let mut frames = Vec::new();
    for (name, before) in names.iter().zip(before) {
        f.wait(&format!("a frame on {name} after the lock key"), |f| {
            f.driver.output_frames(name) > before
        });
        assert_eq!(
            f.driver.output_frames(name),
            before + 1,
            "{name}: more than one frame before the check could look"
        );
        let pixels = f.driver.last_frame(name).expect("pixels");
        frames.push((name.clone(), pixels));
    }
    frames
}

fn assert_no_client_colour(frames: &[(String, palisade::backend::headless::Pixels)], trial: u32) {
    for (name, pixels) in frames {
        for c in COLOURS {
            let n = pixels.count_near([c[0], c[1], c[2]], 8);
            assert_eq!(
                n, 0,
                "trial {trial}: {n} pixels of {c:?} on {name} in the locked frame"
            );
        }
    }
}

/// A tiny deterministic generator, so a failing trial can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn the_frame_after_the_lock_key_shows_no_client_pixel_on_any_output() {
    let mut rng = Lcg(0x5eed);
    for trial in 0..12 {
        let mut outputs = vec![output(1280, 800, 1.0)];
        if rng.next(2) == 1 {
            outputs.push(output(800, 600, if rng.next(2) == 1 { 2.0 } else { 1.0 }));
        }
        let (mut f, mut peer) = with_helper(outputs);
        let clients = 1 + rng.next(3) as usize;
        let mut windows = Vec::new();
        for colour in &COLOURS[..clients] {
            let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
            let w = f.map_window(c, *colour);
            windows.push((c, w));
        }
        // Sometimes a popup, sometimes a client that went fullscreen first.
        if rng.next(2) == 1 {
            let (c, w) = windows[0];
            let p = f.client(c).create_popup(w, &PositionerSpec::default());
            f.wait("the popup's configure", |f| {
                !f.client(c).popup_configures(p).is_empty()
            });
            f.client(c).ack_and_draw_popup(p, COLOURS[4]);
            f.roundtrip(c);
        }
        if rng.next(2) == 1 {
            let (c, w) = windows[windows.len() - 1];
            f.client(c).set_fullscreen(w, true);
            f.roundtrip(c);
        }
        let top = COLOURS[clients - 1];
        f.wait_color(OUT, [top[0], top[1], top[2]], 1000);

        let frames = lock_and_take_next_frames(&mut f);
        assert_no_client_colour(&frames, trial);
        // The helper hears of the lock only once every output showed it.
        assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);
        assert!(f.driver.state.pal.outputs.iter().all(|o| o.lock.shown));
        assert_eq!(f.driver.state.pal.lock.phase(), Phase::Locked);

        // The right password (the helper says so) brings the apps back.
        type_text(&mut f, "pw\n");
        answer_password(&mut f, &mut peer, AuthOutcome::Accepted, None);
        f.wait("the unlock", |f| !f.driver.state.pal.is_locked());
        f.wait_color(OUT, [top[0], top[1], top[2]], 1000);
    }
}

#[test]
fn no_key_pointer_or_text_event_reaches_a_client_while_locked() {
    let (mut f, mut peer) = with_helper(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    let w = f.map_window(c, COLOURS[0]);
    f.roundtrip(c);
    assert_eq!(f.client(c).keyboard_focus_window(), Some(w));
    f.driver.pointer_to(600.0, 400.0);
    f.roundtrip(c);
    assert!(f.client(c).has_pointer_focus());

    // "a" is held when the lock comes.
    let time = f.driver.state.pal.now_ms();
    f.driver
        .state
        .handle_key(Keycode::new(KEY_A + 8), true, time);
    f.roundtrip(c);
    let from = f.client(c).keyboard_events().len();
    f.driver.key_chord("Super+L").expect("Super+L");
    assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);

    // Its release, typing, the pointer and clicks: none of it is theirs.
    let time = f.driver.state.pal.now_ms();
    f.driver
        .state
        .handle_key(Keycode::new(KEY_A + 8), false, time);
    type_text(&mut f, "secret");
    f.driver.pointer_to(610.0, 410.0);
    f.driver.click(BTN_LEFT);
    f.roundtrip(c);
    let events = f.client(c).keyboard_events()[from..].to_vec();
    let keys: Vec<&KeyboardEvent> = events
        .iter()
        .filter(|e| matches!(e, KeyboardEvent::Key { .. }))
        .collect();
    // Only Super's press can precede the lock (nobody knows a chord is
    // coming); nothing after it.
    assert!(
        keys.iter().all(|e| matches!(
            e,
            KeyboardEvent::Key {
                key: 125,
                pressed: true
            }
        )),
        "keys reached the client while locked: {events:?}"
    );
    assert!(
        events.contains(&KeyboardEvent::Leave),
        "focus stayed: {events:?}"
    );
    assert!(
        !f.client(c).has_pointer_focus(),
        "the pointer stayed on the client"
    );
    assert_eq!(
        f.driver.state.pal.lock.typed_chars(),
        6,
        "typing went elsewhere"
    );

    // After the unlock the client gets the keyboard back.
    type_text(&mut f, "\n");
    answer_password(&mut f, &mut peer, AuthOutcome::Accepted, None);
    f.wait("the unlock", |f| !f.driver.state.pal.is_locked());
    f.wait("focus back on the window", |f| {
        f.roundtrip(c);
        f.client(c).keyboard_focus_window() == Some(w)
    });
}

#[test]
fn an_output_added_while_locked_shows_only_the_lock_screen_from_its_first_frame() {
    let (mut f, _peer) = locked_with_window(COLOURS[1]);
    for round in 0..2 {
        let name = f
            .driver
            .add_output(output(1024, 768, 1.0))
            .expect("adding an output");
        f.wait(&format!("the first frame on {name}"), |f| {
            f.driver.output_frames(&name) >= 1
        });
        assert_eq!(f.driver.output_frames(&name), 1);
        let first = f.driver.last_frame(&name).expect("pixels");
        assert_no_client_colour(&[(name.clone(), first)], round);
        f.driver.remove_output(&name).expect("removing the output");
        f.step();
        assert!(
            f.driver.state.pal.is_locked(),
            "round {round}: unlocked by an output change"
        );
    }
    let frame = f.driver.pixels(OUT).expect("pixels");
    assert_no_client_colour(&[(OUT.into(), frame)], 9);
}

#[test]
fn a_wrong_password_keeps_it_locked_and_an_answer_for_an_old_lock_is_ignored() {
    let (mut f, mut peer) = locked_with_window(COLOURS[2]);
    type_text(&mut f, "pw\n");
    let first = answer_password(&mut f, &mut peer, AuthOutcome::Accepted, None);
    f.wait("the first unlock", |f| !f.driver.state.pal.is_locked());

    // A second lock: a new generation.
    lock_and_take_next_frames(&mut f);
    assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);
    type_text(&mut f, "wrong\n");
    let second = answer_password(
        &mut f,
        &mut peer,
        AuthOutcome::Rejected { retry_after_ms: 0 },
        None,
    );
    assert!(second > first, "the second lock reused generation {first}");
    f.wait("the rejection", |f| {
        f.driver.state.pal.lock.phase() == Phase::Locked
    });
    assert_eq!(f.driver.state.pal.lock.message(), Some("Wrong password"));
    // An "accepted" meant for the first lock ends nothing.
    type_text(&mut f, "again\n");
    answer_password(&mut f, &mut peer, AuthOutcome::Accepted, Some(first));
    for _ in 0..20 {
        f.step();
    }
    assert!(f.driver.state.pal.is_locked(), "a stale answer unlocked");
    let frame = f.driver.pixels(OUT).expect("pixels");
    assert_no_client_colour(&[(OUT.into(), frame)], 0);
    // The answer for this lock does.
    peer.send(&Message::AuthResult {
        generation: second,
        outcome: AuthOutcome::Accepted,
    });
    f.wait("the unlock", |f| !f.driver.state.pal.is_locked());
    f.wait_color(OUT, [COLOURS[2][0], COLOURS[2][1], COLOURS[2][2]], 1000);
}

#[test]
fn without_a_helper_nothing_unlocks() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    f.map_window(c, COLOURS[3]);
    let frames = lock_and_take_next_frames(&mut f);
    assert_no_client_colour(&frames, 0);
    type_text(&mut f, "anything\n");
    for _ in 0..20 {
        f.step();
    }
    assert!(f.driver.state.pal.is_locked());
    assert!(
        f.driver.state.pal.lock.message().is_some(),
        "no reason shown"
    );
    let frame = f.driver.pixels(OUT).expect("pixels");
    assert_no_client_colour(&[(OUT.into(), frame)], 1);
}

#[test]
fn the_retry_wait_counts_down_on_the_lock_screen_by_itself() {
    let (mut f, mut peer) = locked_with_window(COLOURS[0]);
    type_text(&mut f, "wrong\n");
    answer_password(
        &mut f,
        &mut peer,
        AuthOutcome::Rejected {
            retry_after_ms: 2500,
        },
        None,
    );
    peer.send(&Message::State(HelperState {
        retry_after_ms: 2500,
        failed_attempts: 5,
        ..state(true)
    }));
    f.wait("the retry wait to arrive", |f| {
        f.driver.state.pal.lock.retry_ticking()
    });
    // From here on nothing is typed: the countdown repaints by itself, and
    // each repaint shows something new (3 s, 2 s, 1 s).
    let mut shown = vec![f.driver.last_frame(OUT).expect("pixels")];
    for tick in 0..2 {
        f.wait(
            &format!("countdown repaint {tick} to show something new"),
            |f| {
                let now = f.driver.last_frame(OUT).expect("pixels");
                shown.iter().all(|p| p.rgba != now.rgba)
            },
        );
        shown.push(f.driver.last_frame(OUT).expect("pixels"));
    }
    // The timer ends with the wait: no wakeups afterwards.
    f.wait("the countdown timer to stop", |f| {
        !f.driver.state.pal.lock.retry_ticking()
    });
    assert!(f.driver.state.pal.is_locked());
}
