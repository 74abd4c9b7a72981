//! The compositor's half of the link to `palisade-helper`, the root daemon
//! that owns USB authorization, the reboot-to-rest timer and password checks.
//!
//! The helper starts the compositor with one end of a socketpair inherited
//! and its number in `PALISADE_HELPER_FD`; there is no socket path, so this
//! fd is the only way to the helper. The wire format is
//! `palisade_shortcuts::proto`: the compositor says `Hello`, the helper
//! answers `Welcome` with its state and then pushes `State` on every change.
//!
//! The link fails closed. Anything unexpected from the peer (end of stream,
//! a malformed or oversized frame, another protocol version, a message out
//! of order) or a write that cannot complete at once drops the link for the
//! rest of this compositor's life: USB then reads "helper not connected" and
//! privileged actions only log. The helper restarts a compositor that exits,
//! so a half-working link is never worth keeping.
//!
//! This file holds the link itself (fd checks, framing, the protocol state);
//! `session.rs` wires it into the event loop, the panel and the bindings.

mod session;

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use palisade_shortcuts::proto::{
    self, AuthOutcome, FrameReader, HelperState, Message, ProtoError, Request, UsbGrant,
};
use smithay::reexports::calloop::RegistrationToken;
use smithay::reexports::rustix;
use smithay::reexports::rustix::io::Errno;
use tracing::{debug, info, warn};

pub use session::HelperStatus;

/// The variable holding the inherited socket's fd number.
pub const ENV: &str = "PALISADE_HELPER_FD";

/// Why a helper link could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("{ENV}={value:?} is not a file descriptor number")]
    NotANumber { value: String },
    #[error("{ENV}={fd} names a standard stream, not the helper's socket")]
    StdStream { fd: RawFd },
    #[error("{ENV}={fd}: {reason}")]
    Env { fd: RawFd, reason: Box<HelperError> },
    #[error("no file descriptor is open under that number ({0})")]
    NotOpen(Errno),
    #[error("the helper's fd was already taken by an earlier link")]
    AlreadyClaimed,
    #[error("the helper's fd is not a socket ({0})")]
    NotASocket(Errno),
    #[error("the helper's fd is a socket of another family ({0:?}), not AF_UNIX")]
    NotUnix(rustix::net::AddressFamily),
    #[error("the helper's fd is a {0:?} socket, not a stream socket")]
    NotStream(rustix::net::SocketType),
    #[error("setting FD_CLOEXEC on the helper's fd: {0}")]
    Cloexec(Errno),
    #[error("reading the helper's credentials (SO_PEERCRED): {0}")]
    PeerCred(Errno),
    #[error("making the helper's socket non-blocking: {0}")]
    NonBlocking(std::io::Error),
}

/// Who is on the other end, as the kernel reports it (SO_PEERCRED: the
/// process that created the socketpair).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
}

/// Where the conversation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// `Hello` sent (or about to be), no `Welcome` yet.
    Connecting,
    /// The helper answered with a matching version.
    Connected,
    /// Dropped for good, with the reason that was logged.
    Lost(String),
}

/// The answer to the last `Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthResult {
    pub generation: u64,
    pub outcome: AuthOutcome,
}

/// The link to the helper: the socket, what arrived on it last, and the
/// event-loop sources that serve it.
pub struct HelperLink {
    /// Our end of the socketpair; None once the link is lost.
    stream: Option<UnixStream>,
    reader: FrameReader,
    peer: PeerCred,
    status: LinkStatus,
    /// The last state and when it arrived: times in it count down from then.
    state: Option<(HelperState, Instant)>,
    auth_result: Option<AuthResult>,
    /// The read source (it holds a dup of `stream`).
    source: Option<RegistrationToken>,
    /// The 1 Hz panel timer, only while USB is allowed.
    countdown: Option<RegistrationToken>,
}

impl std::fmt::Debug for HelperLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperLink")
            .field("peer", &self.peer)
            .field("status", &self.status)
            .field("state", &self.state)
            .field("pending_bytes", &self.reader.pending())
            .finish_non_exhaustive()
    }
}

/// Set once the inherited fd has become an `OwnedFd`: a second owner of the
/// same number would close it under the first.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// The fd number in `PALISADE_HELPER_FD`: decimal digits only, and not one
/// of the standard streams (a helper never passes those).
pub fn parse_fd(value: &OsStr) -> Result<RawFd, HelperError> {
    let not_a_number = || {
        let mut value = value.to_string_lossy().into_owned();
        if value.len() > 32 {
            // Enough to recognise it in the log; garbage could be huge.
            value = value.chars().take(32).collect::<String>() + "...";
        }
        HelperError::NotANumber { value }
    };
    let text = value.to_str().ok_or_else(not_a_number)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    let fd: RawFd = text.parse().map_err(|_| not_a_number())?;
    if fd <= 2 {
        return Err(HelperError::StdStream { fd });
    }
    Ok(fd)
}

/// Takes ownership of the inherited fd `raw`, once per process.
fn claim_fd(raw: RawFd) -> Result<OwnedFd, HelperError> {
    if CLAIMED.load(Ordering::SeqCst) {
        return Err(HelperError::AlreadyClaimed);
    }
    // SAFETY: the borrow lives for this one F_GETFD call only. If nothing is
    // open under `raw` the kernel answers EBADF; no memory is involved.
    let open = rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(raw) });
    open.map_err(HelperError::NotOpen)?;
    if CLAIMED.swap(true, Ordering::SeqCst) {
        return Err(HelperError::AlreadyClaimed);
    }
    // `raw` is open (checked above) and is the fd the helper left open for
    // us; nothing else in this process uses that number (it is not a
    // standard stream, and the launcher never inherits it).
    // SAFETY: as above, and CLAIMED makes this the only OwnedFd made from it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl HelperLink {
    /// The link named by `PALISADE_HELPER_FD`, or None when the variable is
    /// not set. A value that is not an open AF_UNIX stream socket is an
    /// error naming the variable.
    pub fn from_env() -> Result<Option<HelperLink>, HelperError> {
        let Some(value) = std::env::var_os(ENV) else {
            return Ok(None);
        };
        let fd = parse_fd(&value)?;
        let wrap = |e| HelperError::Env {
            fd,
            reason: Box::new(e),
        };
        let owned = claim_fd(fd).map_err(wrap)?;
        HelperLink::from_fd(owned).map(Some).map_err(wrap)
    }

    /// A link over `fd`, which must be an AF_UNIX stream socket. The fd is
    /// made close-on-exec (apps must never inherit it) and non-blocking.
    /// Nothing is sent until `Palisade::connect_helper`.
    pub fn from_fd(fd: OwnedFd) -> Result<HelperLink, HelperError> {
        use rustix::net::{sockopt, AddressFamily, SocketType};
        let family = sockopt::socket_domain(&fd).map_err(HelperError::NotASocket)?;
        if family != AddressFamily::UNIX {
            return Err(HelperError::NotUnix(family));
        }
        let kind = sockopt::socket_type(&fd).map_err(HelperError::NotASocket)?;
        if kind != SocketType::STREAM {
            return Err(HelperError::NotStream(kind));
        }
        // First thing after the checks: from here on no exec may carry it.
        rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC).map_err(HelperError::Cloexec)?;
        let cred = sockopt::socket_peercred(&fd).map_err(HelperError::PeerCred)?;
        let peer = PeerCred {
            pid: cred.pid.as_raw_pid(),
            uid: cred.uid.as_raw(),
        };
        let stream = UnixStream::from(fd);
        stream
            .set_nonblocking(true)
            .map_err(HelperError::NonBlocking)?;
        info!(
            fd = stream.as_raw_fd(),
            peer_pid = peer.pid,
            peer_uid = peer.uid,
            "helper link"
        );
        Ok(HelperLink {
            stream: Some(stream),
            reader: FrameReader::new(),
            peer,
            status: LinkStatus::Connecting,
            state: None,
            auth_result: None,
            source: None,
            countdown: None,
        })
    }

    pub fn peer(&self) -> PeerCred {
        self.peer
    }

    pub fn status(&self) -> &LinkStatus {
        &self.status
    }

    /// The helper said `Welcome` and the link has not been lost since.
    pub fn is_connected(&self) -> bool {
        self.status == LinkStatus::Connected
    }

    /// The helper's state as it is at `now`: the last one received, with
    /// its times counted down locally since it arrived. None unless
    /// connected.
    pub fn state_at(&self, now: Instant) -> Option<HelperState> {
        let (state, at) = self.state.as_ref().filter(|_| self.is_connected())?;
        let elapsed = u64::try_from(now.saturating_duration_since(*at).as_millis());
        let elapsed = elapsed.unwrap_or(u64::MAX);
        let mut state = state.clone();
        if let UsbGrant::Allowed { remaining_ms } = &mut state.usb {
            *remaining_ms = remaining_ms.saturating_sub(elapsed);
        }
        state.reboot_in_ms = state.reboot_in_ms.map(|ms| ms.saturating_sub(elapsed));
        state.retry_after_ms = state.retry_after_ms.saturating_sub(elapsed);
        Some(state)
    }

    /// How long USB stays allowed, counted down locally; None when it is
    /// denied or the helper is not connected.
    pub fn usb_remaining(&self, now: Instant) -> Option<Duration> {
        match self.state_at(now)?.usb {
            UsbGrant::Allowed { remaining_ms } => Some(Duration::from_millis(remaining_ms)),
            UsbGrant::Denied => None,
        }
    }

    /// The answer to the last `Authenticate`, once.
    pub fn take_auth_result(&mut self) -> Option<AuthResult> {
        self.auth_result.take()
    }

    /// Whether the 1 Hz USB countdown timer is registered.
    pub fn countdown_running(&self) -> bool {
        self.countdown.is_some()
    }

    /// Writes one request without blocking. A frame that cannot go out whole
    /// at once is an error: the caller drops the link, since a helper that
    /// does not read (or half a frame on the wire) cannot be recovered.
    fn send(&mut self, request: &Request) -> Result<(), String> {
        let Some(stream) = &self.stream else {
            return Err("the link is already lost".into());
        };
        let frame = proto::encode(request).map_err(|e| format!("encoding: {e}"))?;
        let flags = rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL;
        loop {
            return match rustix::net::send(stream, &frame, flags) {
                Ok(n) if n == frame.len() => Ok(()),
                Ok(n) => Err(format!("only {n} of {} bytes written", frame.len())),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => Err("the helper is not reading (its socket is full)".into()),
                Err(e) => Err(format!("writing to the helper: {e}")),
            };
        }
    }

    /// Feeds received bytes; returns whether the helper's state changed. An
    /// error means the link must be dropped.
    fn receive(&mut self, bytes: &[u8], now: Instant) -> Result<bool, ProtoError> {
        self.reader.push(bytes);
        let mut changed = false;
        while let Some(body) = self.reader.next_frame()? {
            let message: Message = proto::decode(&body)?;
            changed |= self.handle(message, now)?;
        }
        Ok(changed)
    }

    /// The end of the stream: a frame cut short says more than "closed".
    fn eof_reason(&self) -> String {
        match self.reader.finish() {
            Ok(()) => "the helper closed the connection".into(),
            Err(e) => e.to_string(),
        }
    }

    fn handle(&mut self, message: Message, now: Instant) -> Result<bool, ProtoError> {
        let connected = self.is_connected();
        match message {
            Message::Welcome { version, state } if !connected => {
                if version != proto::VERSION {
                    return Err(ProtoError::Version { got: version });
                }
                info!(version, ?state, "helper connected");
                self.status = LinkStatus::Connected;
                self.state = Some((state, now));
                Ok(true)
            }
            Message::Welcome { .. } => Err(ProtoError::OutOfOrder("a second welcome")),
            _ if !connected => Err(ProtoError::OutOfOrder("a message before the welcome")),
            Message::State(state) => {
                debug!(?state, "helper state");
                self.state = Some((state, now));
                Ok(true)
            }
            Message::AuthResult {
                generation,
                outcome,
            } => {
                // Neither holds a secret; the password never comes back.
                info!(generation, ?outcome, "helper: authentication result");
                self.auth_result = Some(AuthResult {
                    generation,
                    outcome,
                });
                Ok(false)
            }
            Message::Refused { request, reason } => {
                // Debug formatting: the peer's text cannot forge log lines.
                warn!(?request, ?reason, "the helper refused a request");
                Ok(false)
            }
        }
    }

    /// Drops the link for good: forgets the state (so nothing claims to
    /// know what USB does), closes our end so the helper sees the end of
    /// the stream, and hands back the event-loop sources to remove.
    fn mark_lost(&mut self, reason: String) -> [Option<RegistrationToken>; 2] {
        if let Some(stream) = self.stream.take() {
            // The read source holds a dup: shut the socket itself down.
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        self.status = LinkStatus::Lost(reason);
        self.state = None;
        [self.source.take(), self.countdown.take()]
    }
}

/// What the panel shows for USB, from the helper's state as of now.
pub fn panel_usb(state: Option<&HelperState>) -> palisade_panel::UsbState {
    use palisade_panel::UsbState;
    match state.map(|s| s.usb) {
        None => UsbState::HelperNotConnected,
        Some(UsbGrant::Denied) => UsbState::Denied,
        Some(UsbGrant::Allowed { remaining_ms }) => UsbState::AllowedFor {
            seconds: u32::try_from(ceil_secs(remaining_ms)).unwrap_or(u32::MAX),
        },
    }
}

/// Whole seconds, rounded up: "0:01" is shown until the last millisecond.
pub fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// How long until the shown seconds of `remaining` change; None once it is
/// zero (nothing left to count down).
pub fn next_tick(remaining: Duration) -> Option<Duration> {
    let ms = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
    let shown = ceil_secs(ms);
    let next = shown.checked_sub(1)?;
    Some(remaining.saturating_sub(Duration::from_secs(next)))
}

#[cfg(test)]
mod tests;
