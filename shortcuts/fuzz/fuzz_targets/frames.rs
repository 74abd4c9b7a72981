//! Splits the input into chunks, feeds them to `FrameReader` and to
//! `read_message`, decodes every frame as a `Request` and as a `Message`,
//! runs the requests through a `Handshake` and checks the round trips. The
//! checks live in `../frames_check.rs`, shared with
//! `shortcuts/tests/fuzz_corpus.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../frames_check.rs"]
mod frames_check;

fuzz_target!(|data: &[u8]| frames_check::run(data));
