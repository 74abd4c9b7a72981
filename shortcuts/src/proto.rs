//! The wire protocol between the compositor and `palisade-helper`.
//!
//! One inherited `SOCK_STREAM` socketpair carries frames: a 4-byte big-endian
//! length, then that many bytes of a postcard-encoded message. A frame body
//! is at most [`MAX_FRAME`] bytes; a header announcing more is an error at
//! once, before a single body byte is read, so a peer cannot make the other
//! side buffer megabytes.
//!
//! The compositor speaks first with [`Request::Hello`]; the helper answers
//! [`Message::Welcome`] when the versions match and closes the connection
//! when they do not. After that the compositor sends requests and the helper
//! answers and also pushes [`Message::State`] whenever its state changes.
//! Both message sets are closed enums: an unknown variant, trailing bytes, a
//! second `Hello` or a request before `Hello` is a [`ProtoError`], and the
//! receiving side logs it and drops the connection.
//!
//! Times travel as "milliseconds from the moment this frame was sent" rather
//! than as clock readings, so the two processes never have to agree on a
//! clock.

use std::fmt;
use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// The protocol version both sides must speak.
pub const VERSION: u32 = 1;
/// The largest frame body accepted, in bytes. Requests are tiny; the biggest
/// is an authentication with a [`MAX_PASSWORD`]-byte password.
pub const MAX_FRAME: usize = 4096;
/// The longest password accepted, in bytes (UTF-8). Longer ones are refused
/// by the encoder and by the decoder, never truncated.
pub const MAX_PASSWORD: usize = 1024;
/// Bytes in a frame header.
pub const HEADER: usize = 4;

/// Compositor to helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The first frame, and only the first.
    Hello { version: u32 },
    /// Ask for a [`Message::State`].
    Status,
    /// The screen is locked: deny USB now and start the reboot-to-rest timer.
    Lock,
    /// Check a password. `generation` is the compositor's lock generation,
    /// echoed in the answer so an answer for an earlier lock never ends a
    /// later one.
    Authenticate { generation: u64, password: Password },
    /// Allow new USB devices for the configured period, or deny them now.
    SetUsb { allow: bool },
    /// Flip between allowed and denied.
    ToggleUsb,
}

impl Request {
    /// A name for logs (never the password).
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Status => "status",
            Request::Lock => "lock",
            Request::Authenticate { .. } => "authenticate",
            Request::SetUsb { .. } => "set-usb",
            Request::ToggleUsb => "toggle-usb",
        }
    }
}

/// Helper to compositor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// The answer to `Hello`.
    Welcome { version: u32, state: HelperState },
    /// The answer to `Status`, and pushed on every change.
    State(HelperState),
    /// The answer to `Authenticate`.
    AuthResult {
        generation: u64,
        outcome: AuthOutcome,
    },
    /// A request that is well-formed but not allowed now, e.g. allowing USB
    /// while locked.
    Refused { request: String, reason: String },
}

/// What the helper knows, as of the moment the frame was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperState {
    /// Locked since the last accepted password (the session starts locked).
    pub locked: bool,
    pub usb: UsbGrant,
    /// Milliseconds until the reboot-to-rest fires; `None` when no timer runs.
    pub reboot_in_ms: Option<u64>,
    /// Milliseconds before the next password attempt is looked at.
    pub retry_after_ms: u64,
    /// Failed attempts since the last accepted password.
    pub failed_attempts: u32,
}

impl HelperState {
    /// A quiet state: unlocked, USB as given, no timers, no failures.
    pub fn unlocked(usb: UsbGrant) -> HelperState {
        HelperState {
            locked: false,
            usb,
            reboot_in_ms: None,
            retry_after_ms: 0,
            failed_attempts: 0,
        }
    }
}

/// Whether new USB devices are authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsbGrant {
    Denied,
    /// Allowed, and denied again by the helper itself after this long.
    Allowed {
        remaining_ms: u64,
    },
}

/// The answer to a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthOutcome {
    Accepted,
    /// Wrong password; the next attempt is looked at after this long.
    Rejected {
        retry_after_ms: u64,
    },
    /// Asked too soon after a failure: not checked at all.
    Throttled {
        retry_after_ms: u64,
    },
    /// Another password is being checked; this one was not looked at.
    Busy,
    /// PAM itself failed (a broken stack, an unknown user): not unlocked.
    Unavailable,
}

/// A password on its way to PAM: zeroized when dropped, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<Vec<u8>>);

impl Password {
    /// Takes the bytes; fails (and zeroizes them) when longer than
    /// [`MAX_PASSWORD`].
    pub fn new(mut bytes: Vec<u8>) -> Result<Password, ProtoError> {
        if bytes.len() > MAX_PASSWORD {
            let len = bytes.len();
            bytes.zeroize();
            return Err(ProtoError::PasswordTooLong(len));
        }
        Ok(Password(Zeroizing::new(bytes)))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password(<{} bytes>)", self.0.len())
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Password, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Password;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "at most {MAX_PASSWORD} bytes")
            }
            // Copies straight from the frame into zeroizing memory: no
            // intermediate buffer holds the password.
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Password, E> {
                if v.len() > MAX_PASSWORD {
                    return Err(E::custom(format!(
                        "password of {} bytes exceeds {MAX_PASSWORD}",
                        v.len()
                    )));
                }
                Ok(Password(Zeroizing::new(v.to_vec())))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// Why a frame or a conversation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte cap")]
    Oversized(usize),
    #[error("message too large to send (over {MAX_FRAME} bytes)")]
    TooLarge,
    #[error("connection closed in the middle of a frame ({0} bytes of it received)")]
    Truncated(usize),
    #[error("undecodable frame: {0}")]
    Malformed(String),
    #[error("peer speaks protocol version {got}, this side speaks {VERSION}")]
    Version { got: u32 },
    #[error("{0} out of order")]
    OutOfOrder(&'static str),
    #[error("password of {0} bytes exceeds the {MAX_PASSWORD}-byte cap")]
    PasswordTooLong(usize),
    #[error("socket error: {0}")]
    Io(String),
}

/// A message as one frame, header included. The buffer is zeroized when
/// dropped because an `Authenticate` frame holds a password, and it is
/// allocated once at full size so no reallocation leaves a copy behind.
pub fn encode<T: Serialize>(msg: &T) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let mut out = Zeroizing::new(vec![0u8; HEADER + MAX_FRAME]);
    let len = match postcard::to_slice(msg, &mut out[HEADER..]) {
        Ok(body) => body.len(),
        Err(postcard::Error::SerializeBufferFull) => return Err(ProtoError::TooLarge),
        Err(e) => return Err(ProtoError::Malformed(e.to_string())),
    };
    out[..HEADER].copy_from_slice(&(len as u32).to_be_bytes());
    out.truncate(HEADER + len);
    Ok(out)
}

/// Decodes one frame body. Trailing bytes are an error, and so is a
/// non-canonical encoding: postcard reads over-long varints (`80 00` for 0),
/// so the body is re-encoded and must come out identical. There is exactly
/// one way to write each message.
pub fn decode<T: DeserializeOwned + Serialize>(body: &[u8]) -> Result<T, ProtoError> {
    let msg = match postcard::take_from_bytes::<T>(body) {
        Ok((msg, [])) => msg,
        Ok((_, rest)) => {
            return Err(ProtoError::Malformed(format!(
                "{} trailing bytes",
                rest.len()
            )))
        }
        Err(e) => return Err(ProtoError::Malformed(e.to_string())),
    };
    let again = encode(&msg)?;
    if again[HEADER..] != *body {
        return Err(ProtoError::Malformed("non-canonical encoding".into()));
    }
    Ok(msg)
}

/// Splits a byte stream into frame bodies. Feed it whatever `read` returned;
/// it never holds more than one header and one capped body.
#[derive(Default)]
pub struct FrameReader {
    buf: Zeroizing<Vec<u8>>,
}

// Debug shows only how much is buffered: the bytes may hold a password.
impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameReader(<{} bytes pending>)", self.buf.len())
    }
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame body, `None` when more bytes are needed, or
    /// an error as soon as a header announces an oversized frame.
    pub fn next_frame(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, ProtoError> {
        let Some(header) = self.buf.get(..HEADER) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_FRAME {
            return Err(ProtoError::Oversized(len));
        }
        let Some(body) = self.buf.get(HEADER..HEADER + len) else {
            return Ok(None);
        };
        let body = Zeroizing::new(body.to_vec());
        // A fresh buffer for the rest, so the consumed bytes are zeroized
        // with the old one instead of lingering in its spare capacity.
        self.buf = Zeroizing::new(self.buf[HEADER + len..].to_vec());
        Ok(Some(body))
    }

    /// Bytes received but not yet returned as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Call at end of stream: leftover bytes mean the peer cut a frame short.
    pub fn finish(&self) -> Result<(), ProtoError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(ProtoError::Truncated(n)),
        }
    }
}

/// Where the helper is in a conversation: `Hello` first, and only once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    done: bool,
}

impl Handshake {
    /// Checks that `req` may come now, and completes the handshake on a
    /// matching `Hello`.
    pub fn accept(&mut self, req: &Request) -> Result<(), ProtoError> {
        match (self.done, req) {
            (false, Request::Hello { version }) if *version == VERSION => {
                self.done = true;
                Ok(())
            }
            (false, Request::Hello { version }) => Err(ProtoError::Version { got: *version }),
            (false, other) => Err(ProtoError::OutOfOrder(other.kind())),
            (true, Request::Hello { .. }) => Err(ProtoError::OutOfOrder("a second hello")),
            (true, _) => Ok(()),
        }
    }

    pub fn done(&self) -> bool {
        self.done
    }
}

/// Writes one message as a frame (blocking).
pub fn write_message<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<(), ProtoError> {
    let frame = encode(msg)?;
    w.write_all(&frame)
        .and_then(|()| w.flush())
        .map_err(|e| ProtoError::Io(e.to_string()))
}

/// Reads one message (blocking). `Ok(None)` is a clean end of stream.
pub fn read_message<T: DeserializeOwned + Serialize>(
    r: &mut impl Read,
) -> Result<Option<T>, ProtoError> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ProtoError::Truncated(got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ProtoError::Io(e.to_string())),
        }
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(ProtoError::Oversized(len));
    }
    let mut body = Zeroizing::new(vec![0u8; len]);
    let mut got = 0;
    while got < len {
        match r.read(&mut body[got..]) {
            Ok(0) => return Err(ProtoError::Truncated(HEADER + got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ProtoError::Io(e.to_string())),
        }
    }
    decode(&body).map(Some)
}

#[cfg(test)]
mod tests;
