//! The clipboard between identities: a selection is offered only to the
//! identity that set it, and crosses to another identity only through the
//! trusted transfer (Super+Shift+C in the owner's window, then the next
//! window of another identity the user focuses, for one paste).
//!
//! In-process clients of two identities: "vm" (A, the source) and
//! "browser" (B).

use std::time::Duration;

use palisade::clipboard::{TransitInfo, MAX_TRANSFER_BYTES, TEXT_TYPES};
use palisade_lockscreen::Phase;
use palisade_shortcuts::proto::{Request, UsbGrant};
use palisade_tests::client::{ClipboardRead, KeyboardEvent, WindowId, TEXT_MIME};
use palisade_tests::fixture::{identity, output, ClientId, Fixture, HelperPeer};

const SECRET: &str = "s3cret from the vm";
const SEND: &str = "Super+Shift+C";
const OUTPUT: &str = "headless-1";
/// The evdev code of the C key.
const KEY_C: u32 = 46;

type App = (&'static str, &'static str, [u8; 3]);
const A: App = ("vm", "Dev VM", [0x34, 0xa8, 0x53]);
const B: App = ("browser", "Chromium", [0x42, 0x85, 0xf4]);

fn fixture() -> Fixture {
    Fixture::new(vec![output(1280, 800, 1.0)])
}

/// A client of `app` with one window, mapped (it takes focus as it maps).
fn client(f: &mut Fixture, app: App, rgba: [u8; 4]) -> (ClientId, WindowId) {
    let (id, label, colour) = app;
    let c = f.add_client(identity(id, label, colour));
    let w = f.map_window(c, rgba);
    f.wait(&format!("keyboard focus on the new {label} window"), |f| {
        f.client(c).keyboard_focus_window() == Some(w)
    });
    (c, w)
}

/// The user moves focus with Super+Tab (at least once) until window `w` of
/// client `c` has it.
fn focus_by_user(f: &mut Fixture, c: ClientId, w: WindowId) {
    for _ in 0..8 {
        f.key_chord("Super+Tab");
        f.roundtrip(c);
        if f.client(c).keyboard_focus_window() == Some(w) {
            return;
        }
    }
    panic!("Super+Tab never focused window {w} of client {c}");
}

/// The focused client `c` copies `text`, and is offered it back.
fn copy(f: &mut Fixture, c: ClientId, text: &str) {
    let before = f.client(c).selection_offers();
    assert!(f.client(c).set_clipboard(text), "could not set_selection");
    f.roundtrip(c);
    f.wait("the owner to be offered its own selection", |f| {
        f.client(c).selection_offers() > before
    });
}

fn read_to_end(f: &mut Fixture, mut read: ClipboardRead, what: &str) -> String {
    let mut got = None;
    f.wait(what, |_| {
        got = read.try_read();
        got.is_some()
    });
    String::from_utf8_lossy(&got.unwrap_or_default()).into_owned()
}

/// `c` reads its latest selection offer (kept even if withdrawn).
fn read(f: &mut Fixture, c: ClientId, what: &str) -> String {
    let read = f
        .client(c)
        .request_clipboard()
        .unwrap_or_else(|| panic!("{what}: no selection offer ever arrived"));
    read_to_end(f, read, what)
}

fn transit(f: &Fixture) -> Option<TransitInfo> {
    f.state().clipboard.transit
}

fn in_transit(from: &str, bytes: usize, to: Option<&str>) -> Option<TransitInfo> {
    Some(TransitInfo {
        from: from.into(),
        bytes,
        to: to.map(Into::into),
    })
}

/// A copies SECRET and sends it: in transit, waiting for a window.
fn send_secret(f: &mut Fixture, a: ClientId) {
    copy(f, a, SECRET);
    f.key_chord(SEND);
    f.wait("the transfer to be in transit", |f| transit(f).is_some());
    assert_eq!(transit(f), in_transit("vm", SECRET.len(), None));
}

#[test]
fn another_identity_is_never_offered_the_clipboard() {
    let mut f = fixture();
    let (a, wa) = client(&mut f, A, [255, 0, 0, 255]);
    copy(&mut f, a, SECRET);
    assert_eq!(f.state().clipboard.owner.as_deref(), Some("vm"));

    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    focus_by_user(&mut f, a, wa);
    focus_by_user(&mut f, b, wb);
    f.roundtrip(b);
    assert_eq!(
        f.client(b).selection_offers(),
        0,
        "B was offered A's clipboard"
    );
    assert!(f.client(b).request_clipboard().is_none());
    assert_eq!(
        f.client(a).clipboard_sends().len(),
        0,
        "someone read A's clipboard"
    );

    // Control: another client of A's identity is offered it and reads it.
    let (a2, _) = client(&mut f, A, [0, 0, 255, 255]);
    f.wait("A's second client to be offered the clipboard", |f| {
        f.client(a2).selection_offer()
    });
    assert_eq!(read(&mut f, a2, "A2 reading A's clipboard"), SECRET);
}

#[test]
fn a_kept_offer_never_reads_a_newer_selection_of_another_identity() {
    let mut f = fixture();
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    // B's source keeps answering after it is cancelled: its old offer
    // stays readable, and must only ever give B's own text.
    f.client(b).set_destroy_on_cancel(false);
    copy(&mut f, b, "b's own text");
    assert_eq!(f.client(b).selection_offers(), 1);

    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    copy(&mut f, a, SECRET);
    f.wait("B's source to be cancelled", |f| {
        f.client(b).clipboard_cancelled()
    });
    focus_by_user(&mut f, b, wb);
    f.roundtrip(b);
    assert_eq!(
        f.client(b).selection_offers(),
        1,
        "B was offered A's selection"
    );
    let stale = read(&mut f, b, "B's kept offer");
    assert!(
        !stale.contains(SECRET),
        "B's kept offer read A's text: {stale:?}"
    );

    // B copies while A owns the clipboard: it is offered its new selection
    // and nothing before it (not A's, even for a moment).
    copy(&mut f, b, "b again");
    f.roundtrip(b);
    assert_eq!(f.client(b).selection_offers(), 2, "one offer too many");
    assert_eq!(read(&mut f, b, "B's new selection"), "b again");
    assert_eq!(
        f.client(a).clipboard_sends().len(),
        0,
        "someone read A's clipboard"
    );
}

#[test]
fn the_trusted_transfer_delivers_the_text_for_one_paste() {
    let mut f = fixture();
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, wa) = client(&mut f, A, [255, 0, 0, 255]);
    send_secret(&mut f, a);
    // The chord is the compositor's: its key never reaches the client.
    f.roundtrip(a);
    let c_key = f
        .client(a)
        .keyboard_events()
        .iter()
        .any(|e| matches!(e, KeyboardEvent::Key { key, .. } if *key == KEY_C));
    assert!(!c_key, "the C of Super+Shift+C reached the client");
    // The compositor read A's selection once, in the preferred text type.
    assert_eq!(f.client(a).clipboard_sends(), [TEXT_TYPES[0]]);
    assert_eq!(TEXT_TYPES[0], TEXT_MIME);
    assert_eq!(f.client(b).selection_offers(), 0);

    focus_by_user(&mut f, b, wb);
    f.wait("B to be offered the transfer", |f| {
        f.client(b).selection_offer()
    });
    assert_eq!(transit(&f), in_transit("vm", SECRET.len(), Some("browser")));
    assert_eq!(f.state().clipboard.owner.as_deref(), Some("browser"));
    // One paste may read more than once (Chromium reads twice per Ctrl+V).
    assert_eq!(read(&mut f, b, "B's paste"), SECRET);
    assert_eq!(read(&mut f, b, "B's paste, second read"), SECRET);

    // The user's next key ends the paste: the offer is withdrawn.
    f.driver.type_text("x").expect("typing");
    f.wait("B to be told the selection is gone", |f| {
        !f.client(b).selection_offer()
    });
    let info = f.state().clipboard;
    assert_eq!((info.owner, info.transit), (None, None));
    assert_eq!(
        read(&mut f, b, "B's second paste"),
        "",
        "a second paste got the text"
    );
    assert_eq!(f.client(a).clipboard_sends().len(), 1, "A was read again");

    // A stale offer of that transfer reads nothing while a new one is live.
    focus_by_user(&mut f, a, wa);
    send_secret_again(&mut f, a, "second secret");
    focus_by_user(&mut f, b, wb);
    f.wait("B to be offered the second transfer", |f| {
        f.client(b).selection_offers() == 2
    });
    let old = f
        .client(b)
        .request_clipboard_offer(0)
        .expect("B's first offer");
    assert_eq!(
        read_to_end(&mut f, old, "B's kept offer of the first transfer"),
        ""
    );
    assert_eq!(read(&mut f, b, "B's paste of the second"), "second secret");
}

fn send_secret_again(f: &mut Fixture, a: ClientId, text: &str) {
    copy(f, a, text);
    f.key_chord(SEND);
    f.wait("the second transfer to be in transit", |f| {
        transit(f).is_some()
    });
}

#[test]
fn the_transfer_skips_windows_of_the_source_identity_and_windows_that_focus_themselves() {
    let mut f = fixture();
    let (a2, wa2) = client(&mut f, A, [0, 0, 255, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    send_secret(&mut f, a);

    // The user focuses another window of the source's identity: skipped.
    focus_by_user(&mut f, a2, wa2);
    f.roundtrip(a2);
    assert_eq!(transit(&f), in_transit("vm", SECRET.len(), None));

    // A window of another identity that maps and takes focus by itself is
    // not one the user focused.
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    f.roundtrip(b);
    assert_eq!(transit(&f), in_transit("vm", SECRET.len(), None));
    assert_eq!(f.client(b).selection_offers(), 0);

    focus_by_user(&mut f, b, wb);
    f.wait("B to be offered the transfer", |f| {
        f.client(b).selection_offer()
    });
    assert_eq!(transit(&f), in_transit("vm", SECRET.len(), Some("browser")));
    assert_eq!(read(&mut f, b, "B's paste"), SECRET);
}

#[test]
fn the_chord_again_cancels_the_transfer_in_transit_or_offered() {
    let mut f = fixture();
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, wa) = client(&mut f, A, [255, 0, 0, 255]);
    send_secret(&mut f, a);
    f.key_chord(SEND);
    assert_eq!(transit(&f), None, "the second press did not cancel");
    focus_by_user(&mut f, b, wb);
    f.roundtrip(b);
    assert_eq!(f.client(b).selection_offers(), 0);

    // Offered but not yet pasted: cancelled from B's window too.
    focus_by_user(&mut f, a, wa);
    send_secret_again(&mut f, a, SECRET);
    focus_by_user(&mut f, b, wb);
    f.wait("B to be offered the transfer", |f| {
        f.client(b).selection_offer()
    });
    f.key_chord(SEND);
    f.wait("B to be told the selection is gone", |f| {
        !f.client(b).selection_offer()
    });
    assert_eq!(transit(&f), None);
    assert_eq!(read(&mut f, b, "B's kept offer"), "");
}

fn lock_and_unlock(f: &mut Fixture, peer: &mut HelperPeer) {
    f.key_chord("Super+L");
    assert_eq!(f.next_helper_request(peer, "Lock"), Request::Lock);
    assert_eq!(f.driver.state.pal.lock.phase(), Phase::Locked);
    f.unlock_with_password(peer);
}

#[test]
fn a_lock_drops_the_transfer() {
    let mut f = fixture();
    let mut peer = f.connect_welcomed_helper(UsbGrant::Denied);
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    send_secret(&mut f, a);
    lock_and_unlock(&mut f, &mut peer);
    assert_eq!(transit(&f), None, "the transfer survived the lock");
    focus_by_user(&mut f, b, wb);
    f.roundtrip(b);
    assert_eq!(f.client(b).selection_offers(), 0, "B was offered something");
}

#[test]
fn the_focused_window_must_own_the_clipboard() {
    let mut f = fixture();
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    copy(&mut f, a, SECRET);
    focus_by_user(&mut f, b, wb);
    f.key_chord(SEND);
    f.roundtrip(a);
    let info = f.state().clipboard;
    assert!(!info.reading && info.transit.is_none(), "{info:?}");
    assert_eq!(
        f.client(a).clipboard_sends().len(),
        0,
        "A's clipboard was read"
    );
}

#[test]
fn a_stuck_or_oversized_owner_hangs_nothing() {
    let mut f = fixture();
    f.driver.state.pal.clipboard.read_timeout = Duration::from_secs(1);
    let (b, _) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);

    // An owner that takes the fd and never writes or closes it.
    f.client(a).hold_clipboard_fds();
    copy(&mut f, a, SECRET);
    f.key_chord(SEND);
    assert!(f.state().clipboard.reading, "the compositor is not reading");
    // Meanwhile everything else goes on.
    f.roundtrip(a);
    f.roundtrip(b);
    f.wait("the read to time out", |f| !f.state().clipboard.reading);
    assert_eq!(transit(&f), None);

    // The chord cancels a read still under way.
    f.driver.state.pal.clipboard.read_timeout = Duration::from_secs(60);
    f.key_chord(SEND);
    f.roundtrip(a);
    assert!(f.state().clipboard.reading);
    f.key_chord(SEND);
    assert!(
        !f.state().clipboard.reading,
        "the chord did not cancel the read"
    );

    // More than the cap is refused, not cut (a new client: the stuck one
    // holds every fd it gets).
    let (a, _) = client(&mut f, A, [0, 0, 255, 255]);
    f.client(a)
        .serve_clipboard_text(vec![b'x'; MAX_TRANSFER_BYTES + 1]);
    copy(&mut f, a, "replaced by the big text");
    f.key_chord(SEND);
    f.wait("the oversized read to be refused", |f| {
        !f.state().clipboard.reading
    });
    assert_eq!(
        transit(&f),
        None,
        "an oversized clipboard went into transit"
    );

    // Only UTF-8 text crosses.
    f.client(a).serve_clipboard_text(b"caf\xe9".to_vec());
    copy(&mut f, a, "replaced by Latin-1 bytes");
    f.key_chord(SEND);
    f.wait("the read of Latin-1 bytes", |f| {
        !f.state().clipboard.reading
    });
    assert_eq!(
        transit(&f),
        None,
        "bytes that are not UTF-8 went into transit"
    );

    // Exactly the cap goes through.
    f.client(a)
        .serve_clipboard_text(vec![b'y'; MAX_TRANSFER_BYTES]);
    copy(&mut f, a, "replaced by the text at the cap");
    f.key_chord(SEND);
    f.wait("the read at the cap", |f| !f.state().clipboard.reading);
    assert_eq!(transit(&f), in_transit("vm", MAX_TRANSFER_BYTES, None));
}

#[test]
fn a_receiver_that_never_reads_hangs_nothing() {
    let mut f = fixture();
    f.driver.state.pal.clipboard.write_timeout = Duration::from_secs(1);
    let (b, wb) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    f.client(a)
        .serve_clipboard_text(vec![b'y'; MAX_TRANSFER_BYTES]);
    copy(&mut f, a, "replaced");
    f.key_chord(SEND);
    f.wait("the transfer to be in transit", |f| transit(f).is_some());
    focus_by_user(&mut f, b, wb);
    f.wait("B to be offered the transfer", |f| {
        f.client(b).selection_offer()
    });
    // B asks and never reads: the pipe fills and the compositor waits on
    // it without blocking, then gives up.
    let stuck = f.client(b).request_clipboard().expect("B's offer");
    f.roundtrip(b);
    f.wait("the compositor to be writing", |f| {
        f.driver.state.pal.clipboard_writers() == 1
    });
    f.roundtrip(a);
    f.wait("the write to time out", |f| {
        f.driver.state.pal.clipboard_writers() == 0
    });
    drop(stuck);
}

#[test]
fn the_panel_shows_the_transfer_in_transit() {
    let mut f = fixture();
    // No minute may tick between the frames compared.
    f.driver.state.pal.clock_override = Some("12:00".into());
    let (_b, _) = client(&mut f, B, [0, 255, 0, 255]);
    let (a, _) = client(&mut f, A, [255, 0, 0, 255]);
    copy(&mut f, a, SECRET);
    f.driver.pointer_to(640.0, 400.0);
    f.assert_strip_is_panel(OUTPUT);
    let before = f.pixels(OUTPUT);
    f.key_chord(SEND);
    f.wait("the transfer to be in transit", |f| transit(f).is_some());
    f.assert_strip_is_panel(OUTPUT);
    let after = f.pixels(OUTPUT);
    let strip = palisade_themes::Theme::default().panel_height as u32;
    let cells = |px: &palisade::backend::headless::Pixels| {
        (0..strip)
            .flat_map(|y| (0..px.width).map(move |x| (x, y)))
            .collect::<Vec<_>>()
    };
    let changed = cells(&after)
        .into_iter()
        .filter(|&(x, y)| before.at(x, y) != after.at(x, y))
        .count();
    assert!(changed > 300, "only {changed} strip pixels changed");
    // The source identity's chip, in its colour, is new among them (the
    // window list already had one).
    let vm = |px: &palisade::backend::headless::Pixels| {
        cells(px)
            .into_iter()
            .filter(|&(x, y)| px.at(x, y)[..3] == A.2)
            .count()
    };
    let (was, now) = (vm(&before), vm(&after));
    assert!(
        now >= was + 50,
        "{was} then {now} pixels of the vm colour in the strip"
    );

    // Cancelled: the strip is as it was.
    f.key_chord(SEND);
    let again = f.pixels(OUTPUT);
    let differ = cells(&again)
        .into_iter()
        .filter(|&(x, y)| before.at(x, y) != again.at(x, y))
        .count();
    assert_eq!(differ, 0, "the strip still shows something of the transfer");
}
