//! The helper's event loop: one thread polling the session's socket and
//! pidfd, the USB watchers, a signalfd and the password-check results, with
//! the next timer as the poll timeout. Password checks run on a thread of
//! their own so a slow PAM stack never stalls the USB and reboot timers.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use palisade_shortcuts::proto::{
    self, AuthOutcome, FrameReader, Handshake, Message, Password, ProtoError, Request,
};
use tracing::{debug, error, info, warn};
use zeroize::Zeroize;

use crate::config::Config;
use crate::core::Core;
use crate::pam::{self, PamConfig, Verdict};
use crate::session::{self, Session, User};
use crate::usb::UsbControl;

/// A session that ran this long counts as healthy: the backoff resets.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

struct Live {
    session: Session,
    reader: FrameReader,
    handshake: Handshake,
    /// Counts sessions, so a password result for an earlier one is not
    /// applied to a later one.
    epoch: u64,
    started: Instant,
    /// False once the connection was dropped (the process may still run
    /// until the kill lands).
    open: bool,
}

struct AuthDone {
    epoch: u64,
    generation: u64,
    result: Result<Verdict, pam::PamError>,
}

pub struct Daemon {
    config: Config,
    user: User,
    runtime_dir: PathBuf,
    core: Core,
    usb: UsbControl,
    live: Option<Live>,
    epoch: u64,
    restart_at: Option<Instant>,
    backoff: Duration,
    auth_busy: bool,
    auth_tx: mpsc::Sender<AuthDone>,
    auth_rx: mpsc::Receiver<AuthDone>,
    /// The auth thread writes a byte here to wake the poll.
    wake_tx: UnixStream,
    wake_rx: UnixStream,
    signals: OwnedFd,
}

impl Daemon {
    pub fn new(config: Config) -> anyhow::Result<Daemon> {
        use anyhow::Context;
        let user = User::lookup(&config.user).context("looking up the session user")?;
        let runtime_dir =
            session::prepare_runtime_dir(&config, &user).context("preparing XDG_RUNTIME_DIR")?;
        let mut usb = UsbControl::new(config.usb_mode, &config.proc_root, &config.sys_root)
            .context("opening the USB authorization controls")?;
        // Deny from the very start; a failure here is logged but the helper
        // still runs, because without it nothing can ever be unlocked.
        if let Err(e) = usb.apply(false) {
            error!("denying new USB devices at start: {e}");
        }
        let signals = block_signals().context("setting up the signalfd")?;
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        let (auth_tx, auth_rx) = mpsc::channel();
        let core = Core::new(
            config.reboot_after,
            config.usb_allow_for,
            config.throttle_unit,
            Instant::now(),
        );
        info!(
            user = %user.name, uid = user.uid, usb_mode = ?usb.mode(),
            reboot_after_s = ?config.reboot_after.map(|d| d.as_secs_f64()),
            "palisade-helper ready"
        );
        Ok(Daemon {
            backoff: config.restart_backoff,
            config,
            user,
            runtime_dir,
            core,
            usb,
            live: None,
            epoch: 0,
            restart_at: Some(Instant::now()),
            auth_busy: false,
            auth_tx,
            auth_rx,
            wake_tx,
            wake_rx,
            signals,
        })
    }

    /// Runs until SIGTERM or SIGINT.
    pub fn run(&mut self) -> anyhow::Result<()> {
        loop {
            let now = Instant::now();
            self.on_timers(now);
            if self.restart_at.is_some_and(|t| t <= now) {
                self.start_session(now);
            }
            let deadline = [self.core.next_deadline(), self.restart_at]
                .into_iter()
                .flatten()
                .min();
            let timeout = deadline.map_or(-1, |t| {
                let ms = t.saturating_duration_since(Instant::now()).as_micros();
                ms.div_ceil(1000).min(i32::MAX as u128) as i32
            });

            let mut fds: Vec<(Source, RawFd)> = vec![
                (Source::Signal, self.signals.as_raw_fd()),
                (Source::Wake, self.wake_rx.as_raw_fd()),
            ];
            if let Some(live) = &self.live {
                fds.push((Source::Exit, live.session.pidfd.as_raw_fd()));
                if live.open {
                    fds.push((Source::Conn, live.session.conn.as_raw_fd()));
                }
            }
            fds.extend(
                self.usb
                    .watch_fds()
                    .iter()
                    .map(|f| (Source::Usb, f.as_raw_fd())),
            );
            let ready = poll(&fds, timeout)?;
            for source in ready {
                match source {
                    Source::Signal => {
                        if self.take_signal() {
                            self.shutdown();
                            return Ok(());
                        }
                    }
                    Source::Wake => self.on_auth_results(),
                    Source::Exit => self.on_session_exit(),
                    Source::Conn => self.on_readable(),
                    Source::Usb => {
                        if let Err(e) = self.usb.on_readable() {
                            warn!("USB controller watch: {e}");
                        }
                    }
                }
            }
        }
    }

    fn on_timers(&mut self, now: Instant) {
        let due = self.core.tick(now);
        if due.usb_expired {
            info!("the USB allow period ended: new devices denied again");
            self.apply_usb();
            self.push_state();
        }
        if due.reboot {
            self.core.reboot_fired();
            self.fire_reboot();
            self.push_state();
        }
    }

    fn start_session(&mut self, now: Instant) {
        self.restart_at = None;
        match session::spawn(&self.config, &self.user, &self.runtime_dir) {
            Ok(session) => {
                self.epoch += 1;
                info!(
                    pid = session.pid,
                    uid = self.user.uid,
                    epoch = self.epoch,
                    "session started"
                );
                self.live = Some(Live {
                    session,
                    reader: FrameReader::new(),
                    handshake: Handshake::default(),
                    epoch: self.epoch,
                    started: now,
                    open: true,
                });
            }
            Err(e) => {
                error!(
                    "starting the session {:?}: {e}; retrying in {:?}",
                    self.config.session[0], self.backoff
                );
                self.schedule_restart(now);
            }
        }
    }

    fn schedule_restart(&mut self, now: Instant) {
        self.restart_at = Some(now + self.backoff);
        self.backoff = (self.backoff * 2)
            .min(self.config.restart_backoff_max)
            .max(self.config.restart_backoff);
    }

    fn on_session_exit(&mut self) {
        let Some(live) = &self.live else { return };
        let Some(how) = session::try_reap(&live.session) else {
            return;
        };
        let now = Instant::now();
        let ran = now.duration_since(live.started);
        if ran >= HEALTHY_RUN {
            self.backoff = self.config.restart_backoff;
        }
        self.live = None;
        // The next session comes up locked, and nothing the dead one allowed
        // outlives it.
        self.core.lock(now);
        self.apply_usb();
        warn!(
            "session {how} after {:.1}s; restarting it locked in {:?}",
            ran.as_secs_f64(),
            self.backoff
        );
        self.schedule_restart(now);
    }

    /// Ends a session that broke the protocol: it is not trusted any more.
    /// Its exit then restarts a fresh, locked one.
    fn drop_connection(&mut self, why: &ProtoError) {
        let Some(live) = &mut self.live else { return };
        warn!(
            pid = live.session.pid,
            "helper socket: {why}; dropping the connection and ending the session"
        );
        live.open = false;
        let _ = live.session.conn.shutdown(std::net::Shutdown::Both);
        session::signal(&live.session, libc::SIGKILL);
        self.core.lock(Instant::now());
        self.apply_usb();
    }

    fn on_readable(&mut self) {
        let mut buf = [0u8; 4096];
        // At most 64 reads per wakeup: a session that writes without pause
        // must not starve the USB and reboot timers. The rest waits for the
        // next poll, which reports the socket readable again at once.
        for _ in 0..64 {
            let Some(live) = &mut self.live else { break };
            let n = match live.session.conn.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.drop_connection(&ProtoError::Io(e.to_string()));
                    break;
                }
            };
            if n == 0 {
                let why = match live.reader.finish() {
                    Err(e) => e,
                    Ok(()) => ProtoError::Io("the session closed its end".into()),
                };
                self.drop_connection(&why);
                break;
            }
            live.reader.push(&buf[..n]);
            if !self.handle_frames() {
                break;
            }
        }
        buf.zeroize();
    }

    /// Handles every complete frame; false once the connection is dropped.
    fn handle_frames(&mut self) -> bool {
        loop {
            let Some(live) = &mut self.live else {
                return false;
            };
            let request = match live.reader.next_frame() {
                Ok(None) => return true,
                Ok(Some(body)) => proto::decode::<Request>(&body)
                    .and_then(|r| live.handshake.accept(&r).map(|()| r)),
                Err(e) => Err(e),
            };
            match request {
                Ok(r) => self.handle(r),
                Err(e) => {
                    self.drop_connection(&e);
                    return false;
                }
            }
            if !self.live.as_ref().is_some_and(|l| l.open) {
                return false;
            }
        }
    }

    fn handle(&mut self, request: Request) {
        let now = Instant::now();
        debug!(request = request.kind(), "request");
        match request {
            Request::Hello { version } => {
                let state = self.core.state(now);
                self.send(&Message::Welcome { version, state });
            }
            Request::Status => self.push_state(),
            Request::Lock => {
                info!("the session reports a lock: USB denied, reboot timer running");
                self.core.lock(now);
                self.apply_usb();
                self.push_state();
            }
            Request::SetUsb { allow } => self.usb_request("set-usb", |c| c.set_usb(allow, now)),
            Request::ToggleUsb => self.usb_request("toggle-usb", |c| c.toggle_usb(now)),
            Request::Authenticate {
                generation,
                password,
            } => self.authenticate(generation, password, now),
        }
    }

    fn usb_request(&mut self, name: &str, f: impl FnOnce(&mut Core) -> Result<(), &'static str>) {
        match f(&mut self.core) {
            Ok(()) => {
                info!(allowed = self.core.usb_allowed(), "USB request: {name}");
                self.apply_usb();
                self.push_state();
            }
            Err(reason) => {
                info!("USB request {name} refused: {reason}");
                self.send(&Message::Refused {
                    request: name.into(),
                    reason: reason.into(),
                });
            }
        }
    }

    fn authenticate(&mut self, generation: u64, password: Password, now: Instant) {
        let wait = self.core.throttle.retry_after(now);
        let outcome = if !wait.is_zero() {
            Some(AuthOutcome::Throttled {
                retry_after_ms: wait.as_millis() as u64,
            })
        } else if self.auth_busy {
            Some(AuthOutcome::Busy)
        } else {
            None
        };
        if let Some(outcome) = outcome {
            self.send(&Message::AuthResult {
                generation,
                outcome,
            });
            return;
        }
        self.auth_busy = true;
        let pam = PamConfig {
            service: self.config.pam_service.clone(),
            confdir: self.config.pam_confdir.clone(),
        };
        let user = self.user.name.clone();
        let epoch = self.epoch;
        let tx = self.auth_tx.clone();
        let mut wake = match self.wake_tx.try_clone() {
            Ok(w) => w,
            Err(e) => {
                error!("cannot start a password check: {e}");
                self.auth_busy = false;
                return;
            }
        };
        std::thread::spawn(move || {
            let result = pam::authenticate(&pam, &user, &password);
            drop(password);
            let _ = tx.send(AuthDone {
                epoch,
                generation,
                result,
            });
            let _ = wake.write_all(&[1]);
        });
    }

    fn on_auth_results(&mut self) {
        let mut sink = [0u8; 64];
        while matches!(self.wake_rx.read(&mut sink), Ok(n) if n > 0) {}
        while let Ok(done) = self.auth_rx.try_recv() {
            self.auth_busy = false;
            let now = Instant::now();
            let current = self
                .live
                .as_ref()
                .is_some_and(|l| l.epoch == done.epoch && l.open);
            let outcome = match done.result {
                // An acceptance meant for a session that has since died
                // unlocks nothing: the new one started locked.
                Ok(Verdict::Accepted) if current => {
                    info!("password accepted: unlocked, reboot timer cancelled");
                    self.core.unlock();
                    AuthOutcome::Accepted
                }
                Ok(Verdict::Accepted) => continue,
                // Failures count even for a dead session, so crashing the
                // compositor cannot reset the throttle.
                Ok(Verdict::Rejected) => {
                    let wait = self.core.throttle.record_failure(now);
                    info!(
                        failures = self.core.throttle.failures(),
                        retry_after_ms = wait.as_millis() as u64,
                        "password rejected"
                    );
                    AuthOutcome::Rejected {
                        retry_after_ms: wait.as_millis() as u64,
                    }
                }
                Err(e) => {
                    error!("PAM failed: {e}");
                    AuthOutcome::Unavailable
                }
            };
            if current {
                self.send(&Message::AuthResult {
                    generation: done.generation,
                    outcome,
                });
                self.push_state();
            }
        }
    }

    fn apply_usb(&mut self) {
        let allow = self.core.usb_allowed();
        if let Err(e) = self.usb.apply(allow) {
            error!(allow, "writing the USB authorization: {e}");
        }
    }

    fn push_state(&mut self) {
        let state = self.core.state(Instant::now());
        self.send(&Message::State(state));
    }

    fn send(&mut self, msg: &Message) {
        let Some(live) = &mut self.live else { return };
        if !live.open || !live.handshake.done() {
            return;
        }
        let result = proto::encode(msg).and_then(|frame| {
            live.session
                .conn
                .write_all(&frame)
                .map_err(|e| ProtoError::Io(e.to_string()))
        });
        // Frames are tiny: a full socket buffer means the session stopped
        // reading, and a wedged session is ended like a broken one.
        if let Err(e) = result {
            self.drop_connection(&e);
        }
    }

    fn fire_reboot(&mut self) {
        warn!("the screen stayed locked too long: rebooting to put the data keys at rest");
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
        match &self.config.reboot_command {
            Some(cmd) => match std::process::Command::new(&cmd[0]).args(&cmd[1..]).status() {
                Ok(status) => info!(%status, "reboot command ran"),
                Err(e) => error!("reboot command {:?}: {e}", cmd[0]),
            },
            None => {
                // SAFETY: reboot(2) with a valid command; it returns only on
                // failure.
                let rc = unsafe { libc::reboot(libc::RB_AUTOBOOT) };
                error!(rc, "reboot(2) failed: {}", io::Error::last_os_error());
            }
        }
    }

    fn take_signal(&mut self) -> bool {
        // SAFETY: signalfd_siginfo is plain data.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reading one siginfo into a buffer of exactly its size.
        let n = unsafe {
            libc::read(
                self.signals.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n as usize != size {
            return false;
        }
        info!(signal = info.ssi_signo, "stopping");
        true
    }

    /// SIGTERM: end the session, leave USB denied.
    fn shutdown(&mut self) {
        if let Some(live) = self.live.take() {
            session::signal(&live.session, libc::SIGTERM);
            let fds = [(Source::Exit, live.session.pidfd.as_raw_fd())];
            if !matches!(poll(&fds, 3000), Ok(r) if !r.is_empty()) {
                session::signal(&live.session, libc::SIGKILL);
            }
            let _ = poll(&fds, 1000);
            session::try_reap(&live.session);
        }
        self.core.set_usb(false, Instant::now()).ok();
        self.apply_usb();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Signal,
    Wake,
    Exit,
    Conn,
    Usb,
}

fn poll(fds: &[(Source, RawFd)], timeout_ms: i32) -> io::Result<Vec<Source>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(_, fd)| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: pfds is a valid array of pfds.len() pollfd structs.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    Ok(fds
        .iter()
        .zip(&pfds)
        .filter(|(_, p)| p.revents != 0)
        .map(|((s, _), _)| *s)
        .collect())
}

/// Blocks SIGTERM, SIGINT and SIGHUP and returns a signalfd for them, so
/// they arrive as poll events instead of interrupting the loop.
fn block_signals() -> io::Result<OwnedFd> {
    // SAFETY: sigset operations on a local set; sigprocmask on this thread
    // before any other thread exists; signalfd returns a new fd or -1.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}
