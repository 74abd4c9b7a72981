//! Cases below wayland-client: bytes (and file descriptors) written straight
//! onto the socket, which no client library would send.

use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsRawFd as _, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use crate::session::{failed, memfd, End, Step};
use crate::Case;

/// How long a case waits for the compositor to answer or hang up.
const WAIT: Duration = Duration::from_secs(10);

pub const RANDOM_BYTES: &[Case] = &[
    ("random-first-message", random_first_message),
    ("random-after-handshake", random_after_handshake),
    ("random-arguments", random_arguments),
];

pub const BAD_OBJECT_ID: &[Case] = &[
    ("unknown-sender", unknown_sender),
    ("new-id-in-use", new_id_in_use),
    ("new-id-in-server-range", new_id_server_range),
    ("unknown-object-argument", unknown_object_argument),
    ("wrong-interface-argument", wrong_interface_argument),
];

pub const BAD_OPCODE: &[Case] = &[
    ("display-opcode-9", display_opcode),
    ("registry-opcode-3", registry_opcode),
    ("size-below-header", size_below_header),
    ("oversized-message", oversized_message),
    ("string-length-overflow", string_length_overflow),
    ("string-unterminated", string_unterminated),
];

/// `WAYLAND_DISPLAY`, resolved the way libwayland does.
fn socket_path() -> Step<PathBuf> {
    let display = std::env::var("WAYLAND_DISPLAY").map_err(|_| failed("WAYLAND_DISPLAY unset"))?;
    if display.starts_with('/') {
        return Ok(display.into());
    }
    let dir = std::env::var("XDG_RUNTIME_DIR").map_err(|_| failed("XDG_RUNTIME_DIR unset"))?;
    Ok(PathBuf::from(dir).join(display))
}

fn connect() -> Step<UnixStream> {
    let path = socket_path()?;
    let stream = UnixStream::connect(&path)
        .map_err(|e| failed(format!("connecting to {}: {e}", path.display())))?;
    stream.set_read_timeout(Some(WAIT)).map_err(failed)?;
    stream.set_write_timeout(Some(WAIT)).map_err(failed)?;
    Ok(stream)
}

/// One wire message: sender, opcode, 32-bit arguments.
fn msg(object: u32, opcode: u16, args: &[u32]) -> Vec<u8> {
    let size = 8 + 4 * args.len() as u32;
    let mut out = Vec::with_capacity(size as usize);
    out.extend(object.to_ne_bytes());
    out.extend(((size << 16) | u32::from(opcode)).to_ne_bytes());
    for arg in args {
        out.extend(arg.to_ne_bytes());
    }
    out
}

/// A string argument as words: length with the NUL, then padded bytes.
fn string_words(s: &str) -> Vec<u32> {
    let mut bytes = s.as_bytes().to_vec();
    bytes.push(0);
    let len = bytes.len() as u32;
    bytes.resize(bytes.len().div_ceil(4) * 4, 0);
    let mut words = vec![len];
    words.extend(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])),
    );
    words
}

/// Write, treating a closed connection as the compositor's answer.
fn send(stream: &mut UnixStream, bytes: &[u8]) -> Step<()> {
    stream
        .write_all(bytes)
        .map_err(|e| End::Cut(format!("write failed: {e}")))
}

/// A message the compositor answers after everything before it: its
/// wl_callback.done for `id` is the end of a round trip.
fn roundtrip(stream: &mut UnixStream, id: u32) -> Step<Vec<Event>> {
    send(stream, &msg(1, 0, &[id]))?;
    let mut events = Vec::new();
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(End::Cut(describe(&events, "closed"))),
            Ok(n) => n,
            Err(e) if timed_out(&e) => return Err(failed("no answer to a round trip")),
            Err(e) => return Err(End::Cut(describe(&events, &e.to_string()))),
        };
        pending.extend_from_slice(&buf[..n]);
        events.extend(parse(&mut pending));
        if events.iter().any(|e| e.object == id && e.opcode == 0) {
            return Ok(events);
        }
    }
}

/// Read until the compositor hangs up (the expected answer) or `WAIT`.
fn await_close(mut stream: UnixStream) -> Step<String> {
    let mut events = Vec::new();
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Err(End::Cut(describe(&events, "closed"))),
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                events.extend(parse(&mut pending));
            }
            Err(e) if timed_out(&e) => {
                return Ok(format!("still connected after {} s", WAIT.as_secs()))
            }
            Err(e) => return Err(End::Cut(describe(&events, &e.to_string()))),
        }
    }
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An event as it came off the wire.
struct Event {
    object: u32,
    opcode: u16,
    args: Vec<u8>,
}

/// Take the complete events off the front of `pending`.
fn parse(pending: &mut Vec<u8>) -> Vec<Event> {
    let mut events = Vec::new();
    let mut at = 0;
    while pending.len() - at >= 8 {
        let word = |i: usize| {
            u32::from_ne_bytes([pending[i], pending[i + 1], pending[i + 2], pending[i + 3]])
        };
        let object = word(at);
        let size = (word(at + 4) >> 16) as usize;
        let opcode = (word(at + 4) & 0xffff) as u16;
        if size < 8 || pending.len() - at < size {
            break;
        }
        events.push(Event {
            object,
            opcode,
            args: pending[at + 8..at + size].to_vec(),
        });
        at += size;
    }
    pending.drain(..at);
    events
}

/// How the connection ended: with the wl_display.error the compositor sent,
/// if it sent one.
fn describe(events: &[Event], how: &str) -> String {
    let error = events.iter().find(|e| e.object == 1 && e.opcode == 0);
    match error {
        Some(e) if e.args.len() >= 12 => {
            let word = |i: usize| {
                u32::from_ne_bytes([e.args[i], e.args[i + 1], e.args[i + 2], e.args[i + 3]])
            };
            let text = String::from_utf8_lossy(&e.args[12..]);
            format!(
                "protocol error {} on object {}: {} ({how})",
                word(4),
                word(0),
                text.trim_end_matches('\0')
            )
        }
        _ => format!("{how} without a protocol error"),
    }
}

/// A small deterministic generator: the same bytes on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n.div_ceil(8))
            .flat_map(|_| self.next().to_ne_bytes())
            .take(n)
            .collect()
    }
}

/// 64 KiB of noise; the writes stop when the compositor hangs up.
fn noise(stream: &mut UnixStream, rng: &mut Rng) {
    for _ in 0..16 {
        if stream.write_all(&rng.bytes(4096)).is_err() {
            break;
        }
    }
}

fn random_first_message() -> Step<String> {
    let mut stream = connect()?;
    noise(&mut stream, &mut Rng(0x9e37_79b9_7f4a_7c15));
    await_close(stream)
}

fn random_after_handshake() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 1, &[2]))?;
    roundtrip(&mut stream, 3)?;
    noise(&mut stream, &mut Rng(0xdead_beef_cafe_f00d));
    await_close(stream)
}

/// Valid senders and opcodes (wl_display.sync, get_registry) with random
/// new ids: a parser that trusts ids would index anywhere.
fn random_arguments() -> Step<String> {
    let mut stream = connect()?;
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..4096 {
        let opcode = (rng.next() & 1) as u16;
        let bytes = msg(1, opcode, &[rng.next() as u32]);
        if stream.write_all(&bytes).is_err() {
            break;
        }
    }
    await_close(stream)
}

fn unknown_sender() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(77, 0, &[]))?;
    await_close(stream)
}

fn new_id_in_use() -> Step<String> {
    let mut stream = connect()?;
    // wl_display.sync creating object 1, which is wl_display itself.
    send(&mut stream, &msg(1, 0, &[1]))?;
    await_close(stream)
}

fn new_id_server_range() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 0, &[0xff00_0010]))?;
    await_close(stream)
}

/// get_registry, find wl_compositor, bind it as object 4 and create a
/// surface as object 5.
fn surface_by_hand(stream: &mut UnixStream) -> Step<()> {
    send(stream, &msg(1, 1, &[2]))?;
    let events = roundtrip(stream, 3)?;
    let name = events
        .iter()
        .filter(|e| e.object == 2 && e.opcode == 0 && e.args.len() >= 8)
        .find(|e| {
            let len = u32::from_ne_bytes([e.args[4], e.args[5], e.args[6], e.args[7]]) as usize;
            e.args.get(8..8 + len) == Some(b"wl_compositor\0".as_slice())
        })
        .map(|e| u32::from_ne_bytes([e.args[0], e.args[1], e.args[2], e.args[3]]))
        .ok_or_else(|| failed("no wl_compositor in the registry"))?;
    let mut bind = vec![name];
    bind.extend(string_words("wl_compositor"));
    bind.extend([4, 4]);
    send(stream, &msg(2, 0, &bind))?;
    send(stream, &msg(4, 0, &[5]))?;
    roundtrip(stream, 6).map(|_| ())
}

fn unknown_object_argument() -> Step<String> {
    let mut stream = connect()?;
    surface_by_hand(&mut stream)?;
    // wl_surface.attach(buffer 999, 0, 0): no object 999 exists.
    send(&mut stream, &msg(5, 1, &[999, 0, 0]))?;
    await_close(stream)
}

fn wrong_interface_argument() -> Step<String> {
    let mut stream = connect()?;
    surface_by_hand(&mut stream)?;
    // wl_surface.attach with the surface itself as the wl_buffer.
    send(&mut stream, &msg(5, 1, &[5, 0, 0]))?;
    await_close(stream)
}

fn display_opcode() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 9, &[]))?;
    await_close(stream)
}

fn registry_opcode() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 1, &[2]))?;
    roundtrip(&mut stream, 3)?;
    send(&mut stream, &msg(2, 3, &[]))?;
    await_close(stream)
}

fn size_below_header() -> Step<String> {
    let mut stream = connect()?;
    let mut bytes = 1u32.to_ne_bytes().to_vec();
    bytes.extend((4u32 << 16).to_ne_bytes());
    bytes.extend([0; 8]);
    send(&mut stream, &bytes)?;
    await_close(stream)
}

/// A header announcing 64 KiB: more than the compositor's whole buffer.
fn oversized_message() -> Step<String> {
    let mut stream = connect()?;
    let mut bytes = 1u32.to_ne_bytes().to_vec();
    bytes.extend((0xfffcu32 << 16).to_ne_bytes());
    bytes.extend(vec![0; 0xfff4]);
    // The compositor may hang up before it has read it all.
    let _ = stream.write_all(&bytes);
    await_close(stream)
}

/// wl_registry.bind whose interface string claims 4 GiB.
fn string_length_overflow() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 1, &[2]))?;
    roundtrip(&mut stream, 3)?;
    send(&mut stream, &msg(2, 0, &[1, 0xffff_fff0, 0, 1, 4]))?;
    // More than the compositor's buffer can hold, so it cannot just wait
    // for the rest of the string.
    let _ = stream.write_all(&[0; 8192]);
    await_close(stream)
}

/// wl_registry.bind whose interface string has no terminating NUL.
fn string_unterminated() -> Step<String> {
    let mut stream = connect()?;
    send(&mut stream, &msg(1, 1, &[2]))?;
    roundtrip(&mut stream, 3)?;
    let abcd = u32::from_ne_bytes(*b"abcd");
    send(&mut stream, &msg(2, 0, &[1, 4, abcd, 1, 4]))?;
    await_close(stream)
}

/// The most descriptors one message carries (the kernel allows 253; the
/// Wayland libraries receive at most 28 per message).
const FDS_PER_MESSAGE: usize = 28;
/// Messages of the stray-descriptor flood: ~56,000 descriptors, more than a
/// process's usual limit.
const STRAY_MESSAGES: u32 = 2000;

/// wl_display.sync messages that carry 28 descriptors each although sync
/// takes none: a server that keeps every received descriptor runs out.
pub fn stray_fds() -> Step<String> {
    let mut stream = connect()?;
    let file = memfd(4096)?;
    let fds = [file.as_raw_fd(); FDS_PER_MESSAGE];
    let mut sent = 0usize;
    for id in 2..2 + STRAY_MESSAGES {
        match send_with_fds(&stream, &msg(1, 0, &[id]), &fds) {
            Ok(()) => {}
            Err(e) if timed_out(&e) => {
                return Ok(format!(
                    "the compositor stopped reading after {sent} descriptors"
                ))
            }
            Err(e) => return Err(End::Cut(format!("after {sent} descriptors: {e}"))),
        }
        sent += FDS_PER_MESSAGE;
        // Read the answers as they come, so we are not cut off for not reading.
        stream.set_nonblocking(true).map_err(failed)?;
        let mut buf = [0u8; 65536];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return Err(End::Cut(format!("closed after {sent} descriptors")));
            }
        }
        stream.set_nonblocking(false).map_err(failed)?;
    }
    roundtrip(&mut stream, 2 + STRAY_MESSAGES)?;
    // Keep them there a while: the harm is to whoever needs a descriptor
    // meanwhile (a new connection, another client's new pool).
    std::thread::sleep(Duration::from_secs(3));
    roundtrip(&mut stream, 3 + STRAY_MESSAGES)?;
    Ok(format!(
        "sent {sent} stray descriptors and was still answered"
    ))
}

fn send_with_fds(stream: &UnixStream, bytes: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    let mut control = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the fields are set below.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    header.msg_controllen = space as _;
    // SAFETY: `control` has room for one header carrying `fds`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&header);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cmsg), fd_bytes);
    }
    // SAFETY: `header` points at live buffers for the duration of the call.
    let sent = unsafe { libc::sendmsg(stream.as_raw_fd(), &header, libc::MSG_NOSIGNAL) };
    match sent {
        n if n < 0 => Err(io::Error::last_os_error()),
        n if n as usize == bytes.len() => Ok(()),
        n => Err(io::Error::other(format!(
            "short send: {n} of {}",
            bytes.len()
        ))),
    }
}

/// 200 connections held open at once: each is a descriptor in the
/// compositor, and a program can open as many as it likes.
pub fn connection_flood() -> Step<String> {
    let mut streams = Vec::new();
    for _ in 0..200 {
        streams.push(connect()?);
    }
    let mut refused = 0;
    for stream in &mut streams {
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(failed)?;
        if roundtrip(stream, 2).is_err() {
            refused += 1;
        }
    }
    match refused {
        0 => Ok("200 connections were all answered".into()),
        n => Err(End::Cut(format!("{n} of 200 connections were refused"))),
    }
}
