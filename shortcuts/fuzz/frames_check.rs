//! The checks behind the `frames` fuzz target, shared with
//! `shortcuts/tests/fuzz_corpus.rs` (both pull this file in with `#[path]`),
//! so `cargo test` runs the committed corpus through exactly what the fuzzer
//! runs.
//!
//! Input layout: the low four bits of byte 0 say how many chunk sizes follow
//! (0 to 15 bytes, one size each, used in a cycle); everything after them is
//! the byte stream as it would arrive on the helper socket. No sizes (or only
//! zeros) means the whole stream in one `push`. A size of 0 is an empty
//! `push`, and an `Interrupted` error on the `Read` side.
//!
//! What must hold, for every input:
//! - nothing panics, no frame body exceeds `MAX_FRAME`, and the reader
//!   accounts for every byte (frames returned + pending == bytes pushed);
//! - an oversized header is refused with the length it announced, and keeps
//!   being refused;
//! - `read_message` over the same stream, split the same way, yields the same
//!   requests, the same errors and the same end (clean, truncated, oversized)
//!   as `FrameReader` + `decode`;
//! - every body that decodes (as a `Request` or as a `Message`) re-encodes
//!   to exactly the same bytes: `decode` rejects non-canonical varints
//!   (postcard itself accepts `80 00` for 0);
//! - `Handshake` lets a request through only as the protocol says: before
//!   the handshake only `Hello { version: VERSION }`, after it anything but
//!   another `Hello`.

use std::fmt::Debug;
use std::io::{self, Read};

use palisade_shortcuts::proto::{
    decode, encode, read_message, FrameReader, Handshake, Message, ProtoError, Request, HEADER,
    MAX_FRAME, MAX_PASSWORD, VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Runs every check on one input; panics when one fails.
pub fn run(data: &[u8]) {
    let (sizes, stream) = split_input(data);

    let (frames, frame_end) = through_frame_reader(stream, sizes);

    let mut handshake = Handshake::default();
    let mut via_reader = Vec::with_capacity(frames.len());
    for body in &frames {
        let request = decode::<Request>(body);
        if let Ok(req) = &request {
            round_trips(body, req);
            if let Request::Authenticate { password, .. } = req {
                assert!(password.expose().len() <= MAX_PASSWORD);
            }
            let _ = format!("{req:?} {}", req.kind());
            handshake = check_handshake(handshake, req);
        }
        if let Ok(msg) = decode::<Message>(body) {
            round_trips(body, &msg);
            let _ = format!("{msg:?}");
        }
        via_reader.push(request);
    }

    // The blocking reader must see the same conversation.
    let mut read = ChunkedRead {
        chunks: Chunks::new(stream, sizes),
        current: &[],
    };
    let mut via_read = Vec::new();
    let read_end = loop {
        match read_message::<Request>(&mut read) {
            Ok(None) => break Ok(()),
            Ok(Some(req)) => via_read.push(Ok(req)),
            // The frame was consumed whole; the stream stays in step.
            Err(e @ ProtoError::Malformed(_)) => via_read.push(Err(e)),
            Err(e) => break Err(e),
        }
    };
    assert_eq!(
        via_reader, via_read,
        "FrameReader and read_message disagree"
    );
    assert_eq!(
        frame_end, read_end,
        "FrameReader and read_message end differently"
    );
}

/// Splits an input into its chunk sizes and its stream (see the module doc).
fn split_input(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    let n = usize::from(first & 0x0f).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    if sizes.iter().all(|&s| s == 0) {
        (&[], stream)
    } else {
        (sizes, stream)
    }
}

/// Pushes the stream in chunks, taking every complete frame after each push
/// as the compositor's event loop does. Returns the bodies and how the stream
/// ended: `finish()`, or the error that stopped it.
fn through_frame_reader(stream: &[u8], sizes: &[u8]) -> (Vec<Vec<u8>>, Result<(), ProtoError>) {
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    let mut pushed = 0;
    let mut taken = 0;
    for chunk in Chunks::new(stream, sizes) {
        reader.push(chunk);
        pushed += chunk.len();
        loop {
            match reader.next_frame() {
                Ok(Some(body)) => {
                    assert!(body.len() <= MAX_FRAME, "a {}-byte body", body.len());
                    taken += HEADER + body.len();
                    frames.push(body.to_vec());
                }
                Ok(None) => break,
                Err(e) => {
                    let ProtoError::Oversized(len) = e else {
                        panic!("next_frame failed with {e:?}");
                    };
                    assert!(len > MAX_FRAME);
                    assert!(reader.pending() >= HEADER);
                    // Refused for good, not skipped past.
                    assert_eq!(reader.next_frame().err(), Some(ProtoError::Oversized(len)));
                    assert_eq!(
                        reader.finish(),
                        Err(ProtoError::Truncated(reader.pending()))
                    );
                    return (frames, Err(e));
                }
            }
            assert_eq!(taken + reader.pending(), pushed, "bytes lost or invented");
        }
        assert_eq!(taken + reader.pending(), pushed, "bytes lost or invented");
    }
    let end = reader.finish();
    match reader.pending() {
        0 => assert_eq!(end, Ok(())),
        n => assert_eq!(end, Err(ProtoError::Truncated(n))),
    }
    (frames, end)
}

/// A decoded value encodes again, to the same bytes when the body was
/// canonical, and to shorter canonical bytes meaning the same when not.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(body: &[u8], value: &T) {
    let frame = match encode(value) {
        Ok(frame) => frame,
        Err(e) => panic!("{value:?}, decoded from {body:02x?}, does not encode: {e}"),
    };
    let (header, again) = frame.split_at(HEADER);
    assert_eq!(
        u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize,
        again.len()
    );
    // decode() rejects non-canonical bodies, so a body that decoded is
    // exactly the encoding of its value.
    assert_eq!(
        again, body,
        "{value:?}: decoded from {body:02x?}, re-encoded as {again:02x?}"
    );
}

/// Feeds one decoded request to the handshake and checks what it allowed.
/// A refused request ends the connection; the next one starts afresh.
fn check_handshake(mut handshake: Handshake, req: &Request) -> Handshake {
    let before = handshake.done();
    let result = handshake.accept(req);
    let is_hello = matches!(req, Request::Hello { .. });
    let allowed = if before {
        !is_hello
    } else {
        *req == Request::Hello { version: VERSION }
    };
    assert_eq!(
        result.is_ok(),
        allowed,
        "{req:?} after done={before}: {result:?}"
    );
    match result {
        Ok(()) => {
            assert!(handshake.done());
            handshake
        }
        Err(_) => {
            assert_eq!(handshake.done(), before);
            Handshake::default()
        }
    }
}

/// The stream cut by the sizes, in a cycle.
struct Chunks<'a> {
    rest: &'a [u8],
    sizes: &'a [u8],
    next: usize,
}

impl<'a> Chunks<'a> {
    fn new(stream: &'a [u8], sizes: &'a [u8]) -> Chunks<'a> {
        Chunks {
            rest: stream,
            sizes,
            next: 0,
        }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let n = match self.sizes {
            [] => self.rest.len(),
            sizes => usize::from(sizes[self.next % sizes.len()]).min(self.rest.len()),
        };
        self.next += 1;
        let (chunk, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(chunk)
    }
}

/// A socket that returns the chunks as short reads; an empty chunk is an
/// `Interrupted` read.
struct ChunkedRead<'a> {
    chunks: Chunks<'a>,
    current: &'a [u8],
}

impl Read for ChunkedRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.next() {
                None => return Ok(0),
                Some([]) => return Err(io::ErrorKind::Interrupted.into()),
                Some(chunk) => self.current = chunk,
            }
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}
