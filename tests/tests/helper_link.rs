//! The compositor's half of the helper link: an in-process Palisade given
//! one end of a socketpair as its helper fd, with the test playing
//! `palisade-helper` on the other end. Privileged chords reach the helper
//! and never a client (inhibitor or not), the panel follows what the helper
//! pushes, and anything hostile from the peer drops the link while the
//! compositor carries on. The last tests run the `palisade` binary with an
//! inherited fd, as the real helper starts it.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use palisade::helper::HelperStatus;
use palisade_panel::UsbState;
use palisade_shortcuts::proto::{HelperState, Message, Request, UsbGrant, MAX_FRAME, VERSION};
use palisade_tests::binary::palisade_binary;
use palisade_tests::client::KeyboardEvent;
use palisade_tests::fixture::{
    ensure_runtime_dir, helper_state, identity, output, temp_dir, Fixture, HelperPeer,
};
use smithay::input::keyboard::Keycode;
use smithay::reexports::rustix;

const OUT: &str = "headless-1";
const BLUE: [u8; 4] = [0, 0, 255, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const MAGENTA: [u8; 4] = [255, 0, 255, 255];

// evdev key codes, as wl_keyboard reports them.
const KEY_TAB: u32 = 15;
const KEY_U: u32 = 22;
const KEY_L: u32 = 38;
const KEY_LEFTCTRL: u32 = 29;
const KEY_LEFTALT: u32 = 56;
const KEY_DELETE: u32 = 111;
const KEY_LEFTMETA: u32 = 125;

fn welcome(usb: UsbGrant) -> Message {
    Message::Welcome {
        version: VERSION,
        state: helper_state(usb),
    }
}

/// A compositor with one output and a fixed clock, so only what a test
/// does changes the panel's pixels.
fn fixture() -> Fixture {
    // The shipped policy offers keyboard-shortcuts-inhibit to nobody; grant
    // it to "vm" here, as a config would, to test what an inhibitor gets.
    let mut config = palisade::config::Config::embedded_default();
    let policy = &mut config.policy;
    let with_inhibitor = policy
        .apps
        .with(palisade_protocols::Global::KeyboardShortcutsInhibit);
    policy.per_app.insert("vm".into(), with_inhibitor);
    let mut f = Fixture::with_config(config, vec![output(1280, 800, 1.0)]);
    f.driver.state.pal.clock_override = Some("12:00".into());
    f
}

/// A compositor with one client whose window has keyboard focus.
fn focused_client() -> (Fixture, usize, usize) {
    let mut f = fixture();
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    let w = f.map_window(c, BLUE);
    f.roundtrip(c);
    assert_eq!(f.client(c).keyboard_focus_window(), Some(w));
    (f, c, w)
}

/// Connects the helper, checks that `Hello` comes first and answers it.
fn connect(f: &mut Fixture, usb: UsbGrant) -> HelperPeer {
    f.connect_welcomed_helper(usb)
}

fn usb(f: &Fixture) -> UsbState {
    let pal = &f.driver.state.pal;
    let out = pal.output_by_name(OUT).expect("output").clone();
    pal.panel_state(&out).usb
}

/// The panel's last drawn pixels, after rendering what is due.
fn panel_pixels(f: &mut Fixture) -> Vec<u8> {
    f.pixels(OUT);
    f.driver.state.pal.outputs[0].panel.pixels.clone()
}

/// Nothing more from the compositor after a few rounds.
fn assert_no_more_requests(f: &mut Fixture, peer: &mut HelperPeer, what: &str) {
    for _ in 0..5 {
        f.step();
    }
    assert_eq!(peer.try_recv(), None, "{what}");
}

/// The client saw only modifier keys since `from`, and each modifiers
/// event right after a modifier key: the chord's own key (press, repeat
/// or release) never arrived, and nothing else happened in its place.
fn assert_only_modifiers_since(f: &mut Fixture, c: usize, from: usize, chord: &str) {
    f.roundtrip(c);
    let events = &f.client(c).keyboard_events()[from..];
    let modifier_keys = [KEY_LEFTMETA, KEY_LEFTCTRL, KEY_LEFTALT];
    for (i, event) in events.iter().enumerate() {
        match event {
            KeyboardEvent::Key { key, .. } => assert!(
                modifier_keys.contains(key),
                "{chord}: key {key} reached the client: {events:?}"
            ),
            KeyboardEvent::Modifiers { .. } => assert!(
                i > 0 && matches!(events[i - 1], KeyboardEvent::Key { .. }),
                "{chord}: a modifiers event without its modifier key: {events:?}"
            ),
            // Locking takes the keyboard away from every client.
            KeyboardEvent::Leave => {}
            other => panic!("{chord}: unexpected {other:?}: {events:?}"),
        }
    }
    let presses = (events.iter())
        .filter(|e| matches!(e, KeyboardEvent::Key { pressed: true, .. }))
        .count();
    assert!(
        presses > 0,
        "{chord}: the modifiers were not pressed at all"
    );
}

fn key_events(f: &mut Fixture, c: usize, from: usize, key: u32) -> Vec<bool> {
    f.roundtrip(c);
    f.client(c).keyboard_events()[from..]
        .iter()
        .filter_map(|e| match e {
            KeyboardEvent::Key { key: k, pressed } if *k == key => Some(*pressed),
            _ => None,
        })
        .collect()
}

#[test]
fn hello_comes_first_and_a_denied_welcome_shows_on_the_panel() {
    let mut f = fixture();
    let mut peer = f.connect_helper();
    let hello = f.next_helper_request(&mut peer, "the compositor's hello");
    assert_eq!(hello, Request::Hello { version: VERSION });
    assert_no_more_requests(&mut f, &mut peer, "only the hello before the welcome");
    assert_eq!(f.driver.state.pal.helper_status(), HelperStatus::Connecting);
    // No answer yet: the panel claims nothing.
    assert_eq!(usb(&f), UsbState::HelperNotConnected);
    let before = panel_pixels(&mut f);

    peer.send(&welcome(UsbGrant::Denied));
    f.wait("the panel to show USB denied", |f| {
        usb(f) == UsbState::Denied
    });
    assert_eq!(f.driver.state.pal.helper_status(), HelperStatus::Connected);
    assert_ne!(
        panel_pixels(&mut f),
        before,
        "the USB region was not repainted"
    );
    let link = f.driver.state.pal.helper.as_ref().expect("link");
    assert!(!link.countdown_running(), "no timer while USB is denied");
    assert_no_more_requests(&mut f, &mut peer, "nothing else was asked");
}

#[test]
fn super_u_asks_the_helper_and_no_key_reaches_the_client_even_through_an_inhibitor() {
    let (mut f, c, w) = focused_client();
    let mut peer = connect(&mut f, UsbGrant::Denied);

    let from = f.client(c).keyboard_events().len();
    f.key_chord("Super+U");
    let got = f.next_helper_request(&mut peer, "ToggleUsb after Super+U");
    assert_eq!(got, Request::ToggleUsb);
    assert_only_modifiers_since(&mut f, c, from, "Super+U");

    // The client asks for every shortcut and is granted the inhibitor.
    let inhibitor = f
        .client(c)
        .inhibit_shortcuts(w)
        .expect("the global is offered");
    f.wait("the inhibitor to become active", |f| {
        f.client(c).inhibitor_active(inhibitor)
    });
    let from = f.client(c).keyboard_events().len();
    f.key_chord("Super+U");
    let got = f.next_helper_request(&mut peer, "ToggleUsb under an inhibitor");
    assert_eq!(got, Request::ToggleUsb);
    assert_only_modifiers_since(&mut f, c, from, "Super+U under an inhibitor");

    // A held key the backend repeats: one request, and still no key.
    let from = f.client(c).keyboard_events().len();
    let (meta, u) = (Keycode::new(KEY_LEFTMETA + 8), Keycode::new(KEY_U + 8));
    let state = &mut f.driver.state;
    state.handle_key(meta, true, 1);
    for time in 2..6 {
        state.handle_key(u, true, time);
    }
    state.handle_key(u, false, 7);
    state.handle_key(meta, false, 8);
    let got = f.next_helper_request(&mut peer, "ToggleUsb for the held chord");
    assert_eq!(got, Request::ToggleUsb);
    assert_no_more_requests(&mut f, &mut peer, "repeats must not toggle again");
    assert_only_modifiers_since(&mut f, c, from, "repeated Super+U");

    // Plain u, typed afterwards, is the client's as ever.
    let from = f.client(c).keyboard_events().len();
    f.driver.type_text("u").expect("typing");
    assert_eq!(key_events(&mut f, c, from, KEY_U), [true, false]);
    assert_no_more_requests(&mut f, &mut peer, "typing u is no binding");
}

#[test]
fn an_inhibitor_gets_super_tab_but_never_the_lock_chords() {
    let mut f = fixture();
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    let first = f.map_window(c, BLUE);
    let second = f.map_window(c, GREEN);
    f.roundtrip(c);
    assert_eq!(f.client(c).keyboard_focus_window(), Some(second));
    let peer = connect(&mut f, UsbGrant::Denied);
    let inhibitor = f.client(c).inhibit_shortcuts(second).expect("offered");
    f.wait("the inhibitor to become active", |f| {
        f.client(c).inhibitor_active(inhibitor)
    });

    let from = f.client(c).keyboard_events().len();
    f.key_chord("Super+Tab");
    assert_eq!(
        key_events(&mut f, c, from, KEY_TAB),
        [true, false],
        "an inhibited Super+Tab is the client's"
    );
    assert_eq!(
        f.client(c).keyboard_focus_window(),
        Some(second),
        "and focus did not cycle"
    );
    assert!(f.state().windows[1].focused && !f.state().windows[0].focused);

    // Without the inhibitor Super+Tab is the compositor's again.
    f.client(c).destroy_inhibitor(inhibitor);
    f.roundtrip(c);
    let from = f.client(c).keyboard_events().len();
    f.key_chord("Super+Tab");
    f.roundtrip(c);
    assert_eq!(key_events(&mut f, c, from, KEY_TAB), [false; 0]);
    assert_eq!(f.client(c).keyboard_focus_window(), Some(first));
    drop(peer);
}

/// The lock chords under an inhibitor, each on a fresh compositor: a lock
/// holds until a password is accepted.
#[test]
fn an_inhibitor_never_gets_the_lock_chords() {
    for (chord, key) in [("Super+L", KEY_L), ("Ctrl+Alt+Delete", KEY_DELETE)] {
        let mut f = fixture();
        let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
        let w = f.map_window(c, BLUE);
        f.roundtrip(c);
        let mut peer = connect(&mut f, UsbGrant::Denied);
        let inhibitor = f.client(c).inhibit_shortcuts(w).expect("offered");
        f.wait("the inhibitor to become active", |f| {
            f.client(c).inhibitor_active(inhibitor)
        });
        let from = f.client(c).keyboard_events().len();
        f.key_chord(chord);
        let got = f.next_helper_request(&mut peer, &format!("Lock after {chord}"));
        assert_eq!(got, Request::Lock, "{chord}");
        assert_eq!(f.driver.state.pal.lock.requests(), 1, "{chord}");
        assert!(f.driver.state.pal.is_locked(), "{chord} did not lock");
        assert_eq!(
            key_events(&mut f, c, from, key),
            [false; 0],
            "{chord} leaked"
        );
        assert_only_modifiers_since(&mut f, c, from, chord);
    }
}

#[test]
fn super_l_sends_lock_once_engaged_and_super_u_needs_a_helper() {
    let (mut f, c, _) = focused_client();
    // No link: the toggle is logged, nothing else.
    f.key_chord("Super+U");
    assert_eq!(f.driver.state.pal.helper_status(), HelperStatus::Absent);
    assert_eq!(usb(&f), UsbState::HelperNotConnected);

    let mut peer = f.connect_helper();
    assert_eq!(
        f.next_helper_request(&mut peer, "hello"),
        Request::Hello { version: VERSION }
    );
    // Before the welcome a USB toggle is refused (the user cannot see the
    // state it would flip); a lock is always worth telling.
    f.key_chord("Super+U");
    assert_no_more_requests(&mut f, &mut peer, "no toggle before the welcome");
    let from = f.client(c).keyboard_events().len();
    f.key_chord("Super+L");
    assert_eq!(f.next_helper_request(&mut peer, "Lock"), Request::Lock);
    assert_eq!(f.driver.state.pal.lock.requests(), 1);
    assert_eq!(key_events(&mut f, c, from, KEY_L), [false; 0]);
}

#[test]
fn an_allowed_state_counts_down_on_the_panel_and_stops_its_timer() {
    let mut f = fixture();
    let mut peer = connect(&mut f, UsbGrant::Denied);
    f.wait("USB denied", |f| usb(f) == UsbState::Denied);
    let denied = panel_pixels(&mut f);

    // Shown as 4 s for a whole second, then counted down.
    peer.send(&Message::State(helper_state(UsbGrant::Allowed {
        remaining_ms: 4_000,
    })));
    f.wait("the panel to show USB allowed", |f| {
        matches!(usb(f), UsbState::AllowedFor { .. })
    });
    let first = panel_pixels(&mut f);
    let UsbState::AllowedFor { seconds: shown } = usb(&f) else {
        unreachable!("waited for it");
    };
    assert!((3..=4).contains(&shown), "{shown}");
    assert_ne!(first, denied, "allowing USB repainted nothing");
    let link = f.driver.state.pal.helper.as_ref().expect("link");
    assert!(link.countdown_running(), "allowed: the panel counts down");
    let json = serde_json::to_value(f.state()).expect("json");
    assert_eq!(json["helper"]["usb"], "allowed");
    let left = json["helper"]["usb_remaining_s"]
        .as_u64()
        .expect("remaining");
    assert!((3..=4).contains(&left), "{json}");

    // The local countdown repaints without any word from the helper.
    let frames = f.driver.frames();
    f.wait("the countdown to repaint the panel", |f| {
        panel_pixels(f) != first
    });
    let UsbState::AllowedFor { seconds } = usb(&f) else {
        panic!("USB is no longer allowed: {:?}", usb(&f));
    };
    assert!(seconds < shown, "{seconds} after {shown}");
    assert!(f.driver.frames() > frames, "no frame showed the new count");

    peer.send(&Message::State(helper_state(UsbGrant::Denied)));
    f.wait("USB denied again", |f| usb(f) == UsbState::Denied);
    let link = f.driver.state.pal.helper.as_ref().expect("link");
    assert!(!link.countdown_running(), "denied: no more ticks");
    assert_eq!(panel_pixels(&mut f), denied);

    // A grant that runs out locally stops ticking at zero by itself.
    peer.send(&Message::State(helper_state(UsbGrant::Allowed {
        remaining_ms: 300,
    })));
    f.wait("the short grant to run out", |f| {
        usb(f) == UsbState::AllowedFor { seconds: 0 }
    });
    f.wait("the countdown timer to stop", |f| {
        let link = f.driver.state.pal.helper.as_ref().expect("link");
        !link.countdown_running()
    });
}

#[test]
fn state_json_has_the_helper_block() {
    let mut f = fixture();
    let uid = rustix::process::getuid().as_raw();
    let json = serde_json::to_value(f.state()).expect("json");
    assert_eq!(json["uid"], uid);
    assert_eq!(json["locked"], false, "the existing fields stay");
    assert!(json["outputs"].is_array() && json["windows"].is_array());
    let block = &json["helper"];
    assert_eq!(block["connected"], false);
    assert_eq!(block["usb"], "unknown");
    for field in [
        "peer_pid",
        "peer_uid",
        "locked",
        "usb_remaining_s",
        "reboot_in_s",
        "failed_attempts",
    ] {
        assert!(block[field].is_null(), "{field} without a link: {block}");
    }

    let mut peer = f.connect_helper();
    f.next_helper_request(&mut peer, "hello");
    let json = serde_json::to_value(f.state()).expect("json");
    assert_eq!(json["helper"]["connected"], false, "no welcome yet");
    assert_eq!(json["helper"]["peer_pid"], std::process::id());
    peer.send(&Message::Welcome {
        version: VERSION,
        state: HelperState {
            locked: true,
            usb: UsbGrant::Denied,
            reboot_in_ms: Some(3_600_000),
            retry_after_ms: 0,
            failed_attempts: 2,
        },
    });
    f.wait("the welcome", |f| {
        f.driver.state.pal.helper_status() == HelperStatus::Connected
    });
    let json = serde_json::to_value(f.state()).expect("json");
    let block = &json["helper"];
    // A socketpair's peer is whoever made it: this test process.
    assert_eq!(block["peer_pid"], std::process::id());
    assert_eq!(block["peer_uid"], uid);
    assert_eq!(block["connected"], true);
    assert_eq!(block["locked"], true);
    assert_eq!(block["usb"], "denied");
    assert!(block["usb_remaining_s"].is_null());
    let reboot = block["reboot_in_s"].as_u64().expect("reboot_in_s");
    assert!((3_590..=3_600).contains(&reboot), "{block}");
    assert_eq!(block["failed_attempts"], 2);
}

/// Each kind of hostile or broken peer: what it sends before it stops.
fn lose_the_link(garbage: &dyn Fn(&mut HelperPeer), what: &str) {
    let (mut f, c, w) = focused_client();
    let mut peer = connect(
        &mut f,
        UsbGrant::Allowed {
            remaining_ms: 60_000,
        },
    );
    f.wait("USB allowed", |f| {
        matches!(usb(f), UsbState::AllowedFor { .. })
    });
    garbage(&mut peer);
    f.wait(&format!("the link to be lost after {what}"), |f| {
        matches!(f.driver.state.pal.helper_status(), HelperStatus::Lost(_))
    });
    // Fail closed: no state claimed, no timer, and our end is closed.
    assert_eq!(usb(&f), UsbState::HelperNotConnected, "{what}");
    let link = f.driver.state.pal.helper.as_ref().expect("link");
    assert!(!link.countdown_running(), "{what}");
    assert!(!f.state().helper.connected);
    f.wait("the compositor to close its end", |_| peer.is_closed());

    // Privileged actions now only log; the compositor carries on.
    f.key_chord("Super+U");
    for (i, colour) in [GREEN, MAGENTA].into_iter().enumerate() {
        let before = f.client(c).frames_done(w);
        f.client(c).ack_and_draw(w, None, colour);
        f.wait(&format!("frame {i} for the client after {what}"), |f| {
            f.client(c).frames_done(w) > before
        });
        f.wait_color(OUT, [colour[0], colour[1], colour[2]], 100_000);
    }
    // A lock still works, and without a helper nothing can end it; the
    // client keeps getting frames behind it.
    f.key_chord("Super+L");
    assert_eq!(f.driver.state.pal.lock.requests(), 1);
    assert!(f.driver.state.pal.is_locked());
    let before = f.client(c).frames_done(w);
    f.client(c).ack_and_draw(w, None, GREEN);
    f.wait(
        &format!("a frame for the client behind the lock after {what}"),
        |f| f.client(c).frames_done(w) > before,
    );
    assert_eq!(
        f.pixels(OUT).count_near([0, 255, 0], 8),
        0,
        "a client shows through the lock"
    );
    assert!(f.client(c).is_connected());
}

#[test]
fn an_undecodable_frame_loses_the_link_and_clients_are_still_served() {
    lose_the_link(
        &|peer| {
            let mut frame = 3u32.to_be_bytes().to_vec();
            frame.extend_from_slice(&[0xff, 0xfe, 0xfd]);
            peer.send_raw(&frame);
        },
        "an undecodable frame",
    );
}

#[test]
fn an_oversized_header_loses_the_link() {
    lose_the_link(
        &|peer| peer.send_raw(&((MAX_FRAME as u32) + 1).to_be_bytes()),
        "an oversized header",
    );
}

#[test]
fn the_end_of_the_stream_loses_the_link() {
    lose_the_link(
        &|peer| {
            peer.stream
                .shutdown(std::net::Shutdown::Write)
                .expect("shutdown");
        },
        "the helper closing",
    );
}

#[test]
fn a_frame_cut_short_or_a_second_welcome_loses_the_link() {
    lose_the_link(
        &|peer| {
            peer.send_raw(&[0, 0, 0, 40, 1, 2]);
            peer.stream
                .shutdown(std::net::Shutdown::Write)
                .expect("shutdown");
        },
        "half a frame",
    );
    lose_the_link(
        &|peer| peer.send(&welcome(UsbGrant::Denied)),
        "a second welcome",
    );
}

#[test]
fn a_welcome_of_another_version_is_refused() {
    let mut f = fixture();
    let mut peer = f.connect_helper();
    f.next_helper_request(&mut peer, "hello");
    peer.send(&Message::Welcome {
        version: VERSION + 1,
        state: helper_state(UsbGrant::Denied),
    });
    f.wait("the link to be lost", |f| {
        matches!(f.driver.state.pal.helper_status(), HelperStatus::Lost(_))
    });
    let HelperStatus::Lost(reason) = f.driver.state.pal.helper_status() else {
        unreachable!("waited for it");
    };
    assert!(reason.contains("version"), "{reason}");
    assert_eq!(usb(&f), UsbState::HelperNotConnected);
}

// ---- The binary, started the way the helper starts it. ----

/// Runs `palisade scenario FILE` with `fd` inherited as PALISADE_HELPER_FD
/// (or with the variable set to `value` and no fd); returns (success,
/// stderr). Killed and failed after a minute.
fn run_scenario(
    file: &std::path::Path,
    fd: Option<&UnixStream>,
    value: Option<&str>,
) -> (bool, String) {
    ensure_runtime_dir();
    let mut cmd = Command::new(palisade_binary());
    cmd.arg("scenario")
        .arg(file)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .env_remove("PALISADE_HELPER_FD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(value) = value {
        cmd.env("PALISADE_HELPER_FD", value);
    }
    if let Some(stream) = fd {
        let raw = stream.as_raw_fd();
        cmd.env("PALISADE_HELPER_FD", raw.to_string());
        // SAFETY: runs between fork and exec and only calls fcntl, which is
        // async-signal-safe; `stream` outlives the spawn, so `raw` is open.
        unsafe {
            cmd.pre_exec(move || {
                let fd = std::os::fd::BorrowedFd::borrow_raw(raw);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
                Ok(())
            });
        }
    }
    let child = cmd.spawn().expect("starting palisade");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("waiting for palisade"),
        Err(_) => {
            let pid = rustix::process::Pid::from_raw(pid as i32).expect("a child pid");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("palisade scenario still ran after 60 s (killed)");
        }
    };
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_speaks_to_an_inherited_helper_and_apps_get_neither_fd_nor_variable() {
    let dir = temp_dir("helper-binary");
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let inode = rustix::fs::fstat(theirs.as_fd()).expect("fstat").st_ino;
    let probe = format!(
        "echo \"${{PALISADE_HELPER_FD-unset}}\" > {d}/env.tmp && mv {d}/env.tmp {d}/env; \
         for f in /proc/$$/fd/*; do readlink \"$f\" || true; done > {d}/fds.tmp && mv {d}/fds.tmp {d}/fds",
        d = dir.display()
    );
    let scenario = dir.join("helper.toml");
    let text = format!(
        "[[output]]\nsize = [640, 480]\n\
         [[step]]\nwait_helper = \"connected\"\n\
         [[step]]\nwait_usb = \"denied\"\n\
         [[step]]\nrun = [\"sh\", \"-c\", {probe:?}]\n\
         [[step]]\nwait_usb = \"allowed\"\ntimeout_ms = 20000\n"
    );
    std::fs::write(&scenario, text).expect("writing the scenario");

    // The helper's side, on a thread: answer the hello, and allow USB only
    // once the app has written what it saw, which ends the scenario.
    let fds_file = dir.join("fds");
    let helper = std::thread::spawn(move || {
        let mut peer = &ours;
        peer.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let hello = palisade_shortcuts::proto::read_message::<Request>(&mut peer);
        let hello = hello.expect("reading the hello");
        palisade_shortcuts::proto::write_message(&mut peer, &welcome(UsbGrant::Denied))
            .expect("welcome");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !fds_file.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let allowed = Message::State(helper_state(UsbGrant::Allowed {
            remaining_ms: 60_000,
        }));
        // The compositor may be gone already if the probe never ran.
        let _ = palisade_shortcuts::proto::write_message(&mut peer, &allowed);
        // Everything else the compositor says, up to its exit.
        let mut rest = Vec::new();
        let end = loop {
            match palisade_shortcuts::proto::read_message::<Request>(&mut peer) {
                Ok(Some(request)) => rest.push(request),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (hello, (rest, end))
    });
    let (ok, stderr) = run_scenario(&scenario, Some(&theirs), None);
    drop(theirs);
    let (hello, rest) = helper.join().expect("the helper thread");
    assert!(ok, "the scenario failed:\n{stderr}");
    assert_eq!(hello, Some(Request::Hello { version: VERSION }));
    // With a helper the session starts locked; the helper hears of it once
    // the locked frame is out. Then the compositor closes the link on exit.
    assert_eq!(rest, (vec![Request::Lock], Ok(())));

    let env = std::fs::read_to_string(dir.join("env")).expect("the app's env");
    assert_eq!(env.trim(), "unset", "the app saw PALISADE_HELPER_FD");
    let fds = std::fs::read_to_string(dir.join("fds")).expect("the app's fds");
    let helper_socket = format!("socket:[{inode}]");
    assert!(
        !fds.lines().any(|l| l == helper_socket),
        "the app inherited the helper socket {helper_socket}:\n{fds}"
    );
    assert!(
        fds.lines().any(|l| l.starts_with("socket:")),
        "no WAYLAND_SOCKET?\n{fds}"
    );
}

#[test]
fn a_bad_helper_fd_stops_the_start_naming_the_variable() {
    let dir = temp_dir("helper-bad-fd");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, "[[output]]\nsize = [320, 240]\n").expect("write");
    let (ok, stderr) = run_scenario(&scenario, None, None);
    assert!(ok, "without the variable the run is fine:\n{stderr}");
    for value in ["garbage", "1", "987"] {
        let (ok, stderr) = run_scenario(&scenario, None, Some(value));
        assert!(!ok, "PALISADE_HELPER_FD={value} was accepted:\n{stderr}");
        assert!(
            stderr.contains("PALISADE_HELPER_FD") && !stderr.contains("panicked"),
            "PALISADE_HELPER_FD={value}: {stderr}"
        );
    }
    // A wait on a helper that is not there fails at once, with the reason.
    std::fs::write(
        &scenario,
        "[[output]]\nsize = [320, 240]\n[[step]]\nwait_helper = \"connected\"\n",
    )
    .expect("write");
    let (ok, stderr) = run_scenario(&scenario, None, None);
    assert!(!ok && stderr.contains("step 1 (line 3)"), "{stderr}");
    assert!(stderr.contains("PALISADE_HELPER_FD is not set"), "{stderr}");
}
