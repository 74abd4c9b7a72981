//! Unit tests of the link itself: the fd checks, the handshake, hostile
//! frames and the local countdown. The event-loop side is tested with a
//! real compositor in tests/tests/helper_link.rs.

use std::os::unix::net::{UnixDatagram, UnixStream};

use palisade_panel::UsbState;
use palisade_shortcuts::proto::{encode, AuthOutcome, HEADER, MAX_FRAME};

use super::*;

fn state(usb: UsbGrant) -> HelperState {
    HelperState::unlocked(usb)
}

fn frame(message: &Message) -> Vec<u8> {
    encode(message).expect("encodes").to_vec()
}

fn welcome(usb: UsbGrant) -> Vec<u8> {
    frame(&Message::Welcome {
        version: proto::VERSION,
        state: state(usb),
    })
}

fn link() -> (HelperLink, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let link = HelperLink::from_fd(OwnedFd::from(ours)).expect("a stream socketpair is accepted");
    (link, theirs)
}

#[test]
fn parse_fd_accepts_numbers_and_names_the_variable_otherwise() {
    assert_eq!(parse_fd(OsStr::new("3")).ok(), Some(3));
    assert_eq!(parse_fd(OsStr::new("117")).ok(), Some(117));
    for bad in [
        "",
        "x",
        "3x",
        " 3",
        "+3",
        "-3",
        "0x10",
        "99999999999999999999",
    ] {
        let err = parse_fd(OsStr::new(bad)).expect_err(bad);
        let text = err.to_string();
        assert!(text.starts_with("PALISADE_HELPER_FD="), "{text}");
        assert!(text.contains("not a file descriptor number"), "{text}");
    }
    for stdio in ["0", "1", "2"] {
        let err = parse_fd(OsStr::new(stdio)).expect_err(stdio);
        assert!(matches!(err, HelperError::StdStream { .. }), "{err}");
    }
    // Huge garbage is shortened in the message.
    let long = "9".repeat(10) + &"z".repeat(1000);
    let text = parse_fd(OsStr::new(&long))
        .expect_err("garbage")
        .to_string();
    assert!(text.len() < 120, "{text}");
}

#[test]
fn from_fd_takes_only_unix_stream_sockets() {
    let (dgram, _other) = UnixDatagram::pair().expect("datagram pair");
    let err = HelperLink::from_fd(OwnedFd::from(dgram)).expect_err("datagram");
    assert!(matches!(err, HelperError::NotStream(_)), "{err}");

    let (pipe, _w) = rustix::pipe::pipe().expect("pipe");
    let err = HelperLink::from_fd(pipe).expect_err("a pipe");
    assert!(matches!(err, HelperError::NotASocket(_)), "{err}");

    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    let err = HelperLink::from_fd(OwnedFd::from(udp)).expect_err("udp");
    assert!(matches!(err, HelperError::NotUnix(_)), "{err}");
}

#[test]
fn from_fd_sets_cloexec_and_nonblocking_and_reads_the_peer() {
    let (ours, _theirs) = UnixStream::pair().expect("socketpair");
    let fd = OwnedFd::from(ours);
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).expect("clear cloexec");
    let link = HelperLink::from_fd(fd).expect("accepted");
    let stream = link.stream.as_ref().expect("a fresh link has its stream");
    let flags = rustix::io::fcntl_getfd(stream).expect("F_GETFD");
    assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    let status = rustix::fs::fcntl_getfl(stream).expect("F_GETFL");
    assert!(status.contains(rustix::fs::OFlags::NONBLOCK));
    // A socketpair's peer is the process that made it: this one.
    let me = link.peer();
    assert_eq!(me.pid, std::process::id() as i32);
    assert_eq!(me.uid, rustix::process::getuid().as_raw());
    assert_eq!(link.status(), &LinkStatus::Connecting);
}

#[test]
fn welcome_connects_and_state_counts_down() {
    let (mut link, _peer) = link();
    let t0 = Instant::now();
    assert_eq!(link.state_at(t0), None);
    let changed = link
        .receive(&welcome(UsbGrant::Denied), t0)
        .expect("welcome");
    assert!(changed && link.is_connected());
    assert_eq!(panel_usb(link.state_at(t0).as_ref()), UsbState::Denied);

    let push = Message::State(HelperState {
        reboot_in_ms: Some(10_000),
        retry_after_ms: 500,
        ..state(UsbGrant::Allowed {
            remaining_ms: 2_500,
        })
    });
    // Split mid-header and mid-body: frames arrive in any pieces.
    let bytes = frame(&push);
    assert!(!link.receive(&bytes[..2], t0).expect("half a header"));
    assert!(link.receive(&bytes[2..], t0).expect("the rest"));
    let later = t0 + Duration::from_millis(1_000);
    let now = link.state_at(later).expect("connected");
    assert_eq!(
        now.usb,
        UsbGrant::Allowed {
            remaining_ms: 1_500
        }
    );
    assert_eq!((now.reboot_in_ms, now.retry_after_ms), (Some(9_000), 0));
    assert_eq!(panel_usb(Some(&now)), UsbState::AllowedFor { seconds: 2 });
    assert_eq!(
        link.usb_remaining(later),
        Some(Duration::from_millis(1_500))
    );
    // Long after: zero, never an underflow.
    let much_later = t0 + Duration::from_secs(3_600);
    assert_eq!(link.usb_remaining(much_later), Some(Duration::ZERO));
}

#[test]
fn auth_results_are_kept_once_and_refusals_change_nothing() {
    let (mut link, _peer) = link();
    let t0 = Instant::now();
    link.receive(&welcome(UsbGrant::Denied), t0)
        .expect("welcome");
    let outcome = AuthOutcome::Rejected {
        retry_after_ms: 1_000,
    };
    let result = frame(&Message::AuthResult {
        generation: 7,
        outcome,
    });
    let refused = frame(&Message::Refused {
        request: "set-usb".into(),
        reason: "locked\n\u{1b}[31m".into(),
    });
    let both = [result, refused].concat();
    assert!(!link.receive(&both, t0).expect("two frames in one read"));
    let want = AuthResult {
        generation: 7,
        outcome,
    };
    assert_eq!(link.take_auth_result(), Some(want));
    assert_eq!(link.take_auth_result(), None);
    assert!(link.is_connected());
}

#[test]
fn hostile_or_out_of_order_input_is_an_error() {
    let t0 = Instant::now();
    let other_version = frame(&Message::Welcome {
        version: proto::VERSION + 1,
        state: state(UsbGrant::Denied),
    });
    let early_state = frame(&Message::State(state(UsbGrant::Denied)));
    let oversized = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
    let mut undecodable = 3u32.to_be_bytes().to_vec();
    undecodable.extend_from_slice(&[0xff, 0xff, 0xff]);
    let mut trailing = welcome(UsbGrant::Denied);
    trailing.push(0);
    let len = (trailing.len() - HEADER) as u32;
    trailing[..HEADER].copy_from_slice(&len.to_be_bytes());
    let cases: [(&str, Vec<u8>); 5] = [
        ("another version", other_version),
        ("state before welcome", early_state),
        ("oversized header", oversized),
        ("undecodable body", undecodable),
        ("trailing bytes", trailing),
    ];
    for (what, bytes) in cases {
        let (mut link, _peer) = link();
        assert!(link.receive(&bytes, t0).is_err(), "{what} accepted");
        assert!(!link.is_connected(), "{what}");
    }
    let (mut link, _peer) = link();
    link.receive(&welcome(UsbGrant::Denied), t0)
        .expect("welcome");
    let again = link.receive(&welcome(UsbGrant::Denied), t0);
    assert!(matches!(again, Err(ProtoError::OutOfOrder(_))), "{again:?}");
}

#[test]
fn lost_links_forget_the_state_and_close_the_socket() {
    let (mut link, mut peer) = link();
    let t0 = Instant::now();
    link.receive(&welcome(UsbGrant::Allowed { remaining_ms: 9 }), t0)
        .expect("welcome");
    let _ = link.mark_lost("test".into());
    assert_eq!(link.status(), &LinkStatus::Lost("test".into()));
    assert_eq!(
        panel_usb(link.state_at(t0).as_ref()),
        UsbState::HelperNotConnected
    );
    assert_eq!(link.usb_remaining(t0), None);
    assert!(link.send(&Request::ToggleUsb).is_err());
    // The peer sees the end of the stream.
    let mut buf = [0u8; 8];
    assert_eq!(std::io::Read::read(&mut peer, &mut buf).expect("read"), 0);
}

#[test]
fn a_peer_that_does_not_read_fails_the_write_instead_of_blocking() {
    let (mut link, _peer) = link();
    let mut sent = 0usize;
    let err = loop {
        match link.send(&Request::Status) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 10_000_000, "the socket never filled up");
    };
    assert!(
        err.contains("not reading") || err.contains("bytes written"),
        "{err}"
    );
}

#[test]
fn eof_in_the_middle_of_a_frame_says_so() {
    let (mut link, _peer) = link();
    assert_eq!(link.eof_reason(), "the helper closed the connection");
    let bytes = welcome(UsbGrant::Denied);
    assert!(!link.receive(&bytes[..5], Instant::now()).expect("partial"));
    assert!(
        link.eof_reason().contains("middle of a frame"),
        "{}",
        link.eof_reason()
    );
}

#[test]
fn countdown_ticks_land_where_the_shown_seconds_change() {
    let ms = Duration::from_millis;
    assert_eq!(next_tick(ms(2_500)), Some(ms(500)));
    assert_eq!(next_tick(ms(2_000)), Some(ms(1_000)));
    assert_eq!(next_tick(ms(1)), Some(ms(1)));
    assert_eq!(next_tick(Duration::ZERO), None);
    assert_eq!(ceil_secs(0), 0);
    assert_eq!(ceil_secs(1), 1);
    assert_eq!(ceil_secs(1_000), 1);
    assert_eq!(ceil_secs(1_001), 2);
    let huge = UsbGrant::Allowed {
        remaining_ms: u64::MAX,
    };
    assert_eq!(
        panel_usb(Some(&state(huge))),
        UsbState::AllowedFor { seconds: u32::MAX }
    );
    assert_eq!(panel_usb(None), UsbState::HelperNotConnected);
}
