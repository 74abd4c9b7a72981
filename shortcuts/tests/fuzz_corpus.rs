//! Runs the committed fuzz corpus (`shortcuts/fuzz/corpus/frames/`) through
//! the same checks as the `frames` fuzz target, so plain `cargo test` on
//! stable exercises it. The seeds are written by the ignored test
//! `write_seed_corpus`:
//!
//! ```text
//! cargo test -p palisade-shortcuts --test fuzz_corpus -- --ignored write_seed_corpus
//! ```

#[path = "../fuzz/frames_check.rs"]
mod frames_check;

use std::fs;
use std::panic;
use std::path::PathBuf;

use palisade_shortcuts::proto::{
    decode, encode, AuthOutcome, HelperState, Message, Password, ProtoError, Request, UsbGrant,
    MAX_FRAME, MAX_PASSWORD, VERSION,
};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frames")
}

fn frame<T: serde::Serialize>(msg: &T) -> Vec<u8> {
    encode(msg).unwrap().to_vec()
}

/// A corpus input: byte 0 = 0 (no chunk sizes, one push), then the stream.
fn whole(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut input = vec![0];
    for f in frames {
        input.extend_from_slice(f);
    }
    input
}

/// A corpus input pushed in chunks of these sizes, in a cycle.
fn chunked(sizes: &[u8], frames: &[Vec<u8>]) -> Vec<u8> {
    assert!(sizes.len() < 16);
    let mut input = vec![sizes.len() as u8];
    input.extend_from_slice(sizes);
    input.extend_from_slice(&whole(frames)[1..]);
    input
}

fn raw_frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn state(usb: UsbGrant, reboot_in_ms: Option<u64>) -> HelperState {
    HelperState {
        locked: true,
        usb,
        reboot_in_ms,
        retry_after_ms: 30_000,
        failed_attempts: 2,
    }
}

/// The seed corpus: a valid stream for every `Request` and `Message`
/// variant, a whole conversation (also cut into odd chunks), and the bad
/// cases the decoder has to refuse.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let hello = frame(&Request::Hello { version: VERSION });
    let password = |n: usize| Password::new(vec![b'p'; n]).unwrap();
    let requests = [
        ("status", Request::Status),
        ("lock", Request::Lock),
        (
            "authenticate",
            Request::Authenticate {
                generation: 7,
                password: password(13),
            },
        ),
        ("set-usb", Request::SetUsb { allow: true }),
        ("toggle-usb", Request::ToggleUsb),
    ];
    let allowed = UsbGrant::Allowed {
        remaining_ms: 299_000,
    };
    let messages = [
        (
            "welcome",
            Message::Welcome {
                version: VERSION,
                state: state(allowed, Some(64_800_000)),
            },
        ),
        ("state", Message::State(state(UsbGrant::Denied, None))),
        (
            "auth-accepted",
            Message::AuthResult {
                generation: 3,
                outcome: AuthOutcome::Accepted,
            },
        ),
        (
            "auth-rejected",
            Message::AuthResult {
                generation: 3,
                outcome: AuthOutcome::Rejected {
                    retry_after_ms: 30_000,
                },
            },
        ),
        (
            "auth-throttled",
            Message::AuthResult {
                generation: u64::MAX,
                outcome: AuthOutcome::Throttled {
                    retry_after_ms: 1_000,
                },
            },
        ),
        (
            "auth-busy",
            Message::AuthResult {
                generation: 5,
                outcome: AuthOutcome::Busy,
            },
        ),
        (
            "auth-unavailable",
            Message::AuthResult {
                generation: 0,
                outcome: AuthOutcome::Unavailable,
            },
        ),
        (
            "refused",
            Message::Refused {
                request: "set-usb".into(),
                reason: "locked".into(),
            },
        ),
    ];

    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    out.push(("seed-request-hello", whole(std::slice::from_ref(&hello))));
    let names = [
        "seed-request-status",
        "seed-request-lock",
        "seed-request-authenticate",
        "seed-request-set-usb",
        "seed-request-toggle-usb",
    ];
    for ((kind, req), name) in requests.iter().zip(names) {
        assert!(name.ends_with(kind));
        out.push((name, whole(&[hello.clone(), frame(req)])));
    }
    let names = [
        "seed-message-welcome",
        "seed-message-state",
        "seed-message-auth-accepted",
        "seed-message-auth-rejected",
        "seed-message-auth-throttled",
        "seed-message-auth-busy",
        "seed-message-auth-unavailable",
        "seed-message-refused",
    ];
    for ((kind, msg), name) in messages.iter().zip(names) {
        assert!(name.ends_with(kind));
        out.push((name, whole(&[frame(msg)])));
    }

    let mut conversation = vec![hello.clone()];
    conversation.extend(requests.iter().map(|(_, r)| frame(r)));
    out.push(("seed-conversation", whole(&conversation)));
    // Cut 1, 0 (an empty push / an interrupted read), 3, 7 bytes at a time.
    out.push((
        "seed-conversation-chunked",
        chunked(&[1, 0, 3, 7], &conversation),
    ));
    out.push((
        "seed-request-max-password",
        whole(&[
            hello.clone(),
            frame(&Request::Authenticate {
                generation: 1,
                password: password(MAX_PASSWORD),
            }),
        ]),
    ));

    // Refused cases.
    let mut long_password = vec![3, 1, 0x81, 0x08]; // Authenticate, generation 1, 1025 bytes
    long_password.extend(std::iter::repeat_n(b'p', MAX_PASSWORD + 1));
    out.push((
        "seed-request-password-too-long",
        whole(&[hello.clone(), raw_frame(&long_password)]),
    ));
    out.push((
        "seed-hello-twice",
        whole(&[hello.clone(), frame(&Request::Lock), hello.clone()]),
    ));
    out.push((
        "seed-wrong-version",
        whole(&[frame(&Request::Hello { version: 2 })]),
    ));
    out.push(("seed-lock-before-hello", whole(&[frame(&Request::Lock)])));
    let lock = frame(&Request::Lock);
    out.push((
        "seed-truncated-header",
        whole(&[hello.clone(), lock[..2].to_vec()]),
    ));
    let auth = frame(&requests[2].1);
    out.push((
        "seed-truncated-body",
        whole(&[hello.clone(), auth[..auth.len() - 3].to_vec()]),
    ));
    let oversized = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
    out.push((
        "seed-oversized-header",
        whole(&[hello.clone(), oversized, vec![0; 16]]),
    ));
    out.push(("seed-oversized-header-max", whole(&[vec![0xff; 4]])));
    out.push((
        "seed-max-frame-garbage",
        whole(&[raw_frame(&[0xa5; MAX_FRAME])]),
    ));
    out.push(("seed-empty-frame", whole(&[raw_frame(&[])])));
    out.push((
        "seed-trailing-byte",
        whole(&[raw_frame(&[1, 0]), raw_frame(&[9])]),
    ));
    out.push((
        "seed-garbage",
        b"\x00\x00\x00\x05\xff\xff\xff\xff\xff\x00\x00\x00\x02\x02\x07GET / HTTP/1.1\r\n".to_vec(),
    ));
    // Hello with its variant index and version as over-long varints: decodes
    // (postcard accepts them), re-encodes shorter.
    out.push((
        "seed-non-canonical-varints",
        whole(&[raw_frame(&[0x80, 0x00, 0x81, 0x80, 0x00])]),
    ));
    out
}

#[test]
fn every_corpus_file_passes_the_fuzz_checks() {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("shortcuts/fuzz/corpus/frames exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= seeds().len(),
        "corpus has only {} files",
        files.len()
    );
    let failed: Vec<_> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).unwrap();
            panic::catch_unwind(|| frames_check::run(&data)).is_err()
        })
        .collect();
    assert!(failed.is_empty(), "fuzz checks failed on {failed:?}");
}

#[test]
fn the_seeds_are_in_the_corpus_and_up_to_date() {
    for (name, data) in seeds() {
        let on_disk = fs::read(corpus_dir().join(name)).unwrap_or_default();
        assert!(
            on_disk == data,
            "corpus file {name} is missing or stale; run `cargo test -p palisade-shortcuts \
             --test fuzz_corpus -- --ignored write_seed_corpus`"
        );
    }
}

/// Postcard reads over-long varints, so a body need not be the canonical
/// encoding of what it decodes to; the fuzz checks assert the weaker
/// property (decode(encode(x)) == x, and a body differs from its
/// re-encoding only by being longer). This pins that down.
#[test]
fn non_canonical_varints_are_refused() {
    // Postcard alone would read this as Hello { version: 1 }; the protocol
    // allows one spelling per message.
    let body = [0x80, 0x00, 0x81, 0x80, 0x00];
    assert!(matches!(
        decode::<Request>(&body),
        Err(ProtoError::Malformed(m)) if m.contains("non-canonical")
    ));
    let req: Request = decode(&[0x00, 0x01]).unwrap();
    assert_eq!(req, Request::Hello { version: 1 });
    // Too long for the type is refused too: a u32 takes at most 5 bytes.
    assert!(decode::<Request>(&[0x00, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
}

#[test]
#[ignore = "writes the seed corpus into the source tree"]
fn write_seed_corpus() {
    fs::create_dir_all(corpus_dir()).unwrap();
    for (name, data) in seeds() {
        fs::write(corpus_dir().join(name), data).unwrap();
    }
}
