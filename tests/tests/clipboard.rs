//! The clipboard and the lock: what one app copied must not be readable
//! by another while the screen is locked, and no app may plant a new
//! clipboard while nobody is at the keyboard.

use palisade_lockscreen::Phase;
use palisade_shortcuts::proto::{Request, UsbGrant};
use palisade_tests::client::ClipboardRead;
use palisade_tests::fixture::{identity, output, ClientId, Fixture, HelperPeer};

const SECRET: &[u8] = b"s3cret";
const RED: [u8; 4] = [255, 0, 0, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];

/// One output and a helper link that has said hello.
fn with_helper() -> (Fixture, HelperPeer) {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let peer = f.connect_welcomed_helper(UsbGrant::Denied);
    (f, peer)
}

/// The apps of the default config: (id, label, colour).
const BROWSER: (&str, &str, [u8; 3]) = ("browser", "Chromium", [0x42, 0x85, 0xf4]);

/// A client of `app` with a window that has keyboard focus (mapped last).
fn focused_client(f: &mut Fixture, app: (&str, &str, [u8; 3]), rgba: [u8; 4]) -> ClientId {
    let (id, label, colour) = app;
    let c = f.add_client(identity(id, label, colour));
    let w = f.map_window(c, rgba);
    f.wait(&format!("keyboard focus on the {label} window"), |f| {
        f.client(c).keyboard_focus_window() == Some(w)
    });
    c
}

/// Steps until the transfer ends (the writer closed the pipe) and returns
/// every byte that came through.
fn read_to_end(f: &mut Fixture, mut read: ClipboardRead, what: &str) -> Vec<u8> {
    let mut got = None;
    f.wait(what, |_| {
        got = read.try_read();
        got.is_some()
    });
    got.unwrap_or_else(|| unreachable!("the wait ends only once EOF was read"))
}

/// `reader` asks for the selection offer it holds (kept even if withdrawn)
/// and reads it to the end.
fn read_clipboard(f: &mut Fixture, reader: ClientId, what: &str) -> Vec<u8> {
    let read = f
        .client(reader)
        .request_clipboard()
        .unwrap_or_else(|| panic!("{what}: the client never got a selection offer"));
    read_to_end(f, read, what)
}

/// Client A (focused) copies the secret; client B, of the same identity
/// (another identity is never offered it), maps a window, takes focus and is
/// offered the clipboard. Returns (A, B).
fn a_copied_and_b_has_the_offer(f: &mut Fixture) -> (ClientId, ClientId) {
    let a = focused_client(f, BROWSER, RED);
    let text = std::str::from_utf8(SECRET).expect("ASCII");
    assert!(f.client(a).set_clipboard(text), "A could not set_selection");
    f.roundtrip(a);
    assert!(!f.client(a).clipboard_cancelled(), "A's source was refused");
    let b = focused_client(f, BROWSER, GREEN);
    f.wait("B to be offered the clipboard", |f| {
        f.client(b).selection_offer()
    });
    (a, b)
}

fn lock(f: &mut Fixture, peer: &mut HelperPeer) {
    f.key_chord("Super+L");
    assert!(f.driver.state.pal.is_locked(), "Super+L did not lock");
    assert_eq!(f.next_helper_request(peer, "Lock"), Request::Lock);
    assert_eq!(f.driver.state.pal.lock.phase(), Phase::Locked);
}

#[test]
fn the_focused_client_reads_what_another_client_of_its_identity_copied() {
    let (mut f, _peer) = with_helper();
    let (_a, b) = a_copied_and_b_has_the_offer(&mut f);
    let data = read_clipboard(&mut f, b, "B's read of the clipboard");
    assert_eq!(
        String::from_utf8_lossy(&data),
        "s3cret",
        "B did not read what A copied"
    );
}

#[test]
fn locking_cancels_the_clipboard_so_a_kept_offer_reads_nothing() {
    let (mut f, mut peer) = with_helper();
    let (a, b) = a_copied_and_b_has_the_offer(&mut f);
    lock(&mut f, &mut peer);

    // B kept its offer from before the lock and asks for it again.
    let mut read = f
        .client(b)
        .request_clipboard()
        .expect("B's offer from before the lock");
    // Once the compositor has handled B's request and A has handled
    // anything forwarded to it, the transfer is over one way or another.
    f.roundtrip(b);
    f.roundtrip(a);
    let data = match read.try_read() {
        Some(data) => data,
        // The write end still open somewhere: nothing came, nothing may.
        None => read.received().to_vec(),
    };
    assert!(
        !data.windows(SECRET.len()).any(|w| w == SECRET),
        "B read the clipboard while locked: {:?}",
        String::from_utf8_lossy(&data)
    );

    // The owner was told its selection is gone (and dropped it).
    f.wait("A's clipboard source to be cancelled", |f| {
        f.client(a).clipboard_cancelled()
    });
    assert!(
        f.driver.state.pal.is_locked(),
        "unlocked during the clipboard check"
    );
}

#[test]
fn nobody_sets_the_clipboard_while_locked_and_the_focused_client_can_after_unlock() {
    let (mut f, mut peer) = with_helper();
    // The client that has focus when the lock comes: without the lock it
    // could set the clipboard at any time.
    let a = focused_client(&mut f, BROWSER, RED);
    lock(&mut f, &mut peer);
    f.wait("A to lose keyboard focus", |f| {
        !f.client(a).keyboard_focus()
    });

    assert!(
        f.client(a).set_clipboard("new"),
        "A could not even send set_selection"
    );
    f.roundtrip(a);

    f.unlock_with_password(&mut peer);
    f.wait("keyboard focus back on A", |f| {
        f.client(a).keyboard_focus_window().is_some()
    });
    f.roundtrip(a);
    // Whatever the focused client is offered now, it is not what was set
    // while locked (nothing at all is expected: the lock cleared it).
    if f.client(a).selection_offer() {
        let data = read_clipboard(&mut f, a, "the clipboard after unlock");
        assert_ne!(
            String::from_utf8_lossy(&data),
            "new",
            "the selection set while locked was accepted"
        );
    }

    // Control: with focus back, setting the clipboard works again.
    assert!(f.client(a).set_clipboard("fresh"));
    f.roundtrip(a);
    f.wait("A to be offered its new clipboard", |f| {
        f.client(a).selection_offer()
    });
    let data = read_clipboard(&mut f, a, "the clipboard set after unlock");
    assert_eq!(String::from_utf8_lossy(&data), "fresh");
    assert!(!f.client(a).clipboard_cancelled());
}
