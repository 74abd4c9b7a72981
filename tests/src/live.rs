//! A live `palisade` process for black-box tests that need the compositor's
//! own memory and survival: the real binary, headless, with the public
//! socket open in a private runtime directory, and a well-behaved test
//! client on that socket that keeps drawing and counting its frames.

use std::os::fd::AsRawFd as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary::palisade_binary;
use crate::client::{TestClient, WindowId};

/// Long enough for a debug build on two busy cores to start.
const START: Duration = Duration::from_secs(60);
/// How long any single wait on the compositor may take before the test
/// calls it hung.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running `palisade --backend headless` with its public socket.
pub struct Live {
    child: Child,
    /// The test's own directory: config, log, runtime dir.
    pub dir: PathBuf,
    pub runtime_dir: PathBuf,
    /// The public socket's name (WAYLAND_DISPLAY).
    pub socket: String,
    log: PathBuf,
}

impl Live {
    /// Start the compositor with `config` (TOML) in a fresh directory named
    /// after `test`; returns once its public socket is listening.
    pub fn start(test: &str, config: &str) -> Live {
        let dir = crate::fixture::temp_dir(test);
        let runtime_dir = dir.join("run");
        std::fs::create_dir_all(&runtime_dir).expect("creating the runtime dir");
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
            .expect("runtime dir permissions");
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, config).expect("writing the config");
        let log = dir.join("palisade.log");
        let stderr = std::fs::File::create(&log).expect("creating the log");
        let child = Command::new(palisade_binary())
            .args(["--backend", "headless", "--output", "640x480", "--config"])
            .arg(&config_path)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: nobody has to keep reading it for the
            // compositor to keep running.
            .stderr(stderr)
            .spawn()
            .expect("starting palisade");
        let mut live = Live {
            child,
            dir,
            runtime_dir,
            socket: String::new(),
            log,
        };
        live.socket = live.wait_for_socket();
        live
    }

    /// The socket's name, from the compositor's own log line.
    fn wait_for_socket(&mut self) -> String {
        const NEEDLE: &str = "public socket: WAYLAND_DISPLAY=";
        let deadline = Instant::now() + START;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| l.contains(NEEDLE)) {
                let name = line.split(NEEDLE).nth(1).unwrap_or("").trim();
                return name.to_owned();
            }
            assert!(self.alive(), "palisade exited at start:\n{log}");
            assert!(
                Instant::now() < deadline,
                "palisade did not open its public socket within {} s:\n{log}",
                START.as_secs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the compositor logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Panic with the log if the compositor is gone.
    pub fn assert_alive(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the compositor died {when} ({status}); its log ends:\n{}",
                self.log_tail(60)
            );
        }
    }

    /// Resident memory of the compositor process (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("reading the compositor's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// A new connection to the public socket.
    pub fn connect(&self) -> UnixStream {
        let path = self.runtime_dir.join(&self.socket);
        UnixStream::connect(&path)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", path.display()))
    }

    /// A command with this compositor's socket in its environment.
    pub fn client_command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("WAYLAND_DISPLAY", &self.socket)
            .env_remove("WAYLAND_SOCKET");
        command
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // SIGKILL by pid: the compositor has no state worth an orderly exit.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `fd` is readable or `timeout` passed.
pub fn poll_readable(fd: std::os::fd::BorrowedFd<'_>, timeout: Duration) {
    let mut fds = [libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
}

/// A well-behaved client on the public socket: one small window that draws
/// a new frame each time the last one is done, the way a video player does.
pub struct GoodClient {
    pub client: TestClient,
    /// None until the window exists.
    window: Option<WindowId>,
    /// Frames drawn in answer to a frame callback.
    drawn: u32,
}

/// The good window's colour and size (small: drawing costs the test time).
const COLOR: [u8; 4] = [40, 200, 90, 255];
const SIZE: (i32, i32) = (120, 90);

impl GoodClient {
    /// Connect, map the window and wait for its first frame.
    pub fn connect(live: &mut Live) -> GoodClient {
        let mut good = GoodClient {
            client: TestClient::new(live.connect()),
            window: None,
            drawn: 0,
        };
        good.wait(live, "the good client's globals", |c| c.is_ready());
        let w = good.client.create_window();
        good.window = Some(w);
        good.wait(live, "the good window's first configure", |c| {
            !c.configures(w).is_empty()
        });
        good.client.ack_and_draw(w, Some(SIZE), COLOR);
        good.wait_frames(live, 1, "the good window's first frame");
        good
    }

    pub fn frames(&self) -> u32 {
        self.window.map_or(0, |w| self.client.frames_done(w))
    }

    /// Handle what arrived within `timeout`, and draw again for every frame
    /// callback that came (so it keeps asking for frames).
    pub fn pump(&mut self, live: &mut Live, timeout: Duration) {
        poll_readable(self.client.raw_socket_fd(), timeout);
        self.client.dispatch();
        if !self.client.is_connected() {
            // Most likely the compositor is gone: say so, with its log.
            live.assert_alive("(the good client lost its connection)");
            panic!(
                "the good client was disconnected: {:?}; the compositor's log ends:\n{}",
                self.client.protocol_error(),
                live.log_tail(30)
            );
        }
        if let Some(w) = self.window.filter(|_| self.frames() > self.drawn) {
            self.drawn = self.frames();
            self.client.ack_and_draw(w, Some(SIZE), COLOR);
            self.client.dispatch();
        }
    }

    /// Pump until `done`, or panic naming `what` after `WAIT`.
    pub fn wait(&mut self, live: &mut Live, what: &str, mut done: impl FnMut(&TestClient) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.client) {
            check_waiting(live, deadline, what);
            self.pump(live, Duration::from_millis(50));
        }
    }

    /// Wait for `n` more frames.
    pub fn wait_frames(&mut self, live: &mut Live, n: u32, what: &str) {
        let w = self.window.expect("the good window exists");
        let target = self.frames() + n;
        self.wait(live, what, |c| c.frames_done(w) >= target);
    }

    /// Everything sent so far has been handled by the compositor.
    pub fn roundtrip(&mut self, live: &mut Live) {
        let sync = self.client.send_sync();
        self.wait(live, "a round trip", |c| c.sync_done(sync));
    }
}

/// Panic if the compositor died or `deadline` passed while waiting for `what`.
fn check_waiting(live: &mut Live, deadline: Instant, what: &str) {
    live.assert_alive(&format!("while waiting for {what}"));
    assert!(
        Instant::now() < deadline,
        "timed out after {} s waiting for {what}; the compositor's log ends:\n{}",
        WAIT.as_secs(),
        live.log_tail(40)
    );
}

/// Dispatch `client` until `done`, or panic naming `what` after `WAIT`.
pub fn wait_on(
    live: &mut Live,
    client: &mut TestClient,
    what: &str,
    mut done: impl FnMut(&TestClient) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        client.dispatch();
        if done(client) {
            return;
        }
        assert!(
            client.is_connected(),
            "the client was disconnected while waiting for {what}: {:?}",
            client.protocol_error()
        );
        check_waiting(live, deadline, what);
        poll_readable(client.raw_socket_fd(), Duration::from_millis(50));
    }
}
