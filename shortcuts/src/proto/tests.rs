use super::*;

fn state() -> HelperState {
    HelperState {
        locked: true,
        usb: UsbGrant::Allowed {
            remaining_ms: 299_000,
        },
        reboot_in_ms: Some(64_800_000),
        retry_after_ms: 0,
        failed_attempts: 0,
    }
}

fn all_requests() -> Vec<Request> {
    vec![
        Request::Hello { version: VERSION },
        Request::Status,
        Request::Lock,
        Request::Authenticate {
            generation: 7,
            password: Password::new(b"correct horse".to_vec()).unwrap(),
        },
        Request::SetUsb { allow: true },
        Request::ToggleUsb,
    ]
}

fn all_messages() -> Vec<Message> {
    vec![
        Message::Welcome {
            version: VERSION,
            state: state(),
        },
        Message::State(state()),
        Message::AuthResult {
            generation: 3,
            outcome: AuthOutcome::Rejected {
                retry_after_ms: 30_000,
            },
        },
        Message::Refused {
            request: "set-usb".into(),
            reason: "locked".into(),
        },
    ]
}

#[test]
fn every_message_round_trips_through_frames_split_anywhere() {
    let mut stream = Vec::new();
    for r in all_requests() {
        stream.extend_from_slice(&encode(&r).unwrap());
    }
    // Feed one byte at a time: frames must come out whole and in order.
    let mut reader = FrameReader::new();
    let mut got = Vec::new();
    for b in &stream {
        reader.push(std::slice::from_ref(b));
        while let Some(body) = reader.next_frame().unwrap() {
            got.push(decode::<Request>(&body).unwrap());
        }
    }
    assert_eq!(got, all_requests());
    reader.finish().unwrap();

    for m in all_messages() {
        let frame = encode(&m).unwrap();
        let back: Message = read_message(&mut &frame[..]).unwrap().unwrap();
        assert_eq!(back, m);
    }
}

#[test]
fn oversized_header_is_refused_before_the_body_arrives() {
    let mut reader = FrameReader::new();
    reader.push(&((MAX_FRAME as u32 + 1).to_be_bytes()));
    assert_eq!(
        reader.next_frame(),
        Err(ProtoError::Oversized(MAX_FRAME + 1))
    );
    let huge = (1u32 << 30).to_be_bytes();
    assert_eq!(
        read_message::<Request>(&mut &huge[..]),
        Err(ProtoError::Oversized(1 << 30))
    );
}

#[test]
fn truncated_frames_are_reported_at_end_of_stream() {
    let frame = encode(&Request::Status).unwrap();
    let cut = &frame[..frame.len() - 1];
    let mut reader = FrameReader::new();
    reader.push(cut);
    assert_eq!(reader.next_frame(), Ok(None));
    assert_eq!(reader.finish(), Err(ProtoError::Truncated(cut.len())));
    assert!(matches!(
        read_message::<Request>(&mut &cut[..]),
        Err(ProtoError::Truncated(_))
    ));
    assert!(matches!(
        read_message::<Request>(&mut &frame[..2]),
        Err(ProtoError::Truncated(2))
    ));
    assert_eq!(read_message::<Request>(&mut &[][..]), Ok(None));
}

#[test]
fn unknown_variants_and_trailing_bytes_are_malformed() {
    // Variant 200 does not exist.
    assert!(matches!(
        decode::<Request>(&[200]),
        Err(ProtoError::Malformed(_))
    ));
    let mut body = encode(&Request::Lock).unwrap()[HEADER..].to_vec();
    body.push(0);
    assert!(matches!(
        decode::<Request>(&body),
        Err(ProtoError::Malformed(_))
    ));
    assert!(matches!(
        decode::<Request>(&[]),
        Err(ProtoError::Malformed(_))
    ));
}

#[test]
fn passwords_are_capped_on_both_sides_and_never_printed() {
    let long = vec![b'x'; 1024 * 1024];
    assert_eq!(
        Password::new(long),
        Err(ProtoError::PasswordTooLong(1024 * 1024))
    );
    let max = Password::new(vec![b'x'; MAX_PASSWORD]).unwrap();
    let frame = encode(&Request::Authenticate {
        generation: 1,
        password: max,
    })
    .unwrap();
    assert!(frame.len() <= HEADER + MAX_FRAME);

    // A hand-made frame with an over-long password fails to decode even
    // though it fits the frame cap, and the error does not echo it.
    let mut body = vec![3u8, 1]; // Authenticate, generation 1
    body.extend_from_slice(&[0x81, 0x08]); // varint 1025
    body.extend(std::iter::repeat_n(b'y', MAX_PASSWORD + 1));
    assert!(body.len() <= MAX_FRAME);
    match decode::<Request>(&body) {
        Err(ProtoError::Malformed(m)) => assert!(!m.contains("yyy"), "{m}"),
        other => panic!("an over-long password decoded: {other:?}"),
    }

    let shown = format!(
        "{:?}",
        Request::Authenticate {
            generation: 1,
            password: Password::new(b"hunter2".to_vec()).unwrap()
        }
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<7 bytes>"), "{shown}");
}

#[test]
fn handshake_wants_hello_first_with_this_version_and_only_once() {
    let mut hs = Handshake::default();
    assert_eq!(
        hs.accept(&Request::Status),
        Err(ProtoError::OutOfOrder("status"))
    );
    assert_eq!(
        hs.accept(&Request::Hello { version: 99 }),
        Err(ProtoError::Version { got: 99 })
    );
    assert!(!hs.done());
    hs.accept(&Request::Hello { version: VERSION }).unwrap();
    assert!(hs.done());
    hs.accept(&Request::Lock).unwrap();
    assert!(hs.accept(&Request::Hello { version: VERSION }).is_err());
}
