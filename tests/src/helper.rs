//! Running the real `palisade-helper` as root in a test: a test user with a
//! real password, stand-in /proc and /sys roots for the USB switches, the
//! repository's PAM service file, and the helper's log to wait on.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use palisade_shortcuts::proto::{self, AuthOutcome, HelperState, Message, Password, Request};

use crate::binary::helper_binary;

/// The account the tests create, and its password.
pub const TEST_USER: &str = "palisade-test";
pub const TEST_PASSWORD: &str = "Correct-Horse-7";

/// Creates the test user (once per machine; idempotent) and sets its
/// password. Tests in several processes may race here, so it takes a file
/// lock around useradd.
pub fn ensure_test_user() -> u32 {
    assert!(
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() } == 0,
        "the helper tests run as root (CI does): they create a user and start the root helper"
    );
    let lock = std::fs::File::create("/tmp/palisade-test-user.lock").expect("lock file");
    // SAFETY: flock on a file we own; released when `lock` is closed.
    unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    if uid_of(TEST_USER).is_none() {
        let status = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", TEST_USER])
            .status()
            .expect("running useradd");
        assert!(status.success(), "useradd {TEST_USER} failed: {status}");
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("running chpasswd");
    {
        use std::io::Write;
        let stdin = chpasswd.stdin.as_mut().expect("chpasswd stdin");
        writeln!(stdin, "{TEST_USER}:{TEST_PASSWORD}").expect("writing to chpasswd");
    }
    assert!(
        chpasswd.wait().expect("chpasswd").success(),
        "chpasswd failed"
    );
    uid_of(TEST_USER).expect("the test user exists now")
}

fn uid_of(name: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", name]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .flatten()
}

/// Makes `path` and everything under it owned by the test user.
pub fn give_to_test_user(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", TEST_USER])
        .arg(path)
        .status()
        .expect("running chown");
    assert!(status.success(), "chown {} failed", path.display());
}

/// What a test changes in the helper's config.
#[derive(Debug, Clone)]
pub struct HelperOptions {
    pub session: Vec<String>,
    pub env: Vec<(String, String)>,
    /// "sysfs" (default) or "sysctl"; the stand-in roots get the files.
    pub usb_mode: &'static str,
    pub usb_allow_ms: u64,
    pub reboot_after_ms: Option<u64>,
    pub throttle_unit_ms: u64,
    /// The first and the longest wait before restarting a dead session.
    pub backoff_ms: (u64, u64),
    pub extra: String,
}

impl Default for HelperOptions {
    fn default() -> Self {
        HelperOptions {
            session: Vec::new(),
            env: Vec::new(),
            usb_mode: "sysfs",
            usb_allow_ms: 300_000,
            reboot_after_ms: None,
            throttle_unit_ms: 30_000,
            backoff_ms: (100, 400),
            extra: String::new(),
        }
    }
}

type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running helper; stopped with SIGTERM when dropped.
pub struct HelperRun {
    pub dir: PathBuf,
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    pub reboot_marker: PathBuf,
    child: Child,
    lines: Lines,
}

impl HelperRun {
    /// Writes a config into `dir` (which must exist and be empty of one)
    /// and starts the helper.
    pub fn start(dir: &Path, opts: &HelperOptions) -> HelperRun {
        ensure_test_user();
        let proc_root = dir.join("proc");
        let sys_root = dir.join("sys");
        std::fs::create_dir_all(proc_root.join("sys/kernel")).expect("fake /proc");
        if opts.usb_mode == "sysctl" {
            std::fs::write(proc_root.join("sys/kernel/deny_new_usb"), "0\n").expect("sysctl");
        }
        for bus in ["usb1", "usb2"] {
            let d = sys_root.join("bus/usb/devices").join(bus);
            std::fs::create_dir_all(&d).expect("fake sysfs");
            std::fs::write(d.join("authorized_default"), "1\n").expect("authorized_default");
        }
        // A device, not a controller: must never be touched.
        let dev = sys_root.join("bus/usb/devices/1-1");
        std::fs::create_dir_all(&dev).expect("fake device");
        std::fs::write(dev.join("authorized"), "1\n").expect("authorized");

        let runtime = dir.join("runtime");
        let reboot_marker = dir.join("rebooted");
        let pam_confdir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/pam.d");
        let list = |v: &[String]| {
            let quoted: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut text = format!(
            "user = {TEST_USER:?}\nsession = {}\nruntime_dir = {:?}\npam_confdir = {:?}\n\
             usb_mode = {:?}\nproc_root = {:?}\nsys_root = {:?}\n\
             reboot_command = [\"/bin/sh\", \"-c\", \"echo fired >> {}\"]\n{}\n",
            list(&opts.session),
            runtime.display().to_string(),
            pam_confdir.display().to_string(),
            opts.usb_mode,
            proc_root.display().to_string(),
            sys_root.display().to_string(),
            reboot_marker.display(),
            opts.extra,
        );
        if opts.reboot_after_ms.is_none() {
            text.push_str("reboot_after = \"off\"\n");
        }
        text.push_str("[env]\n");
        for (k, v) in &opts.env {
            text.push_str(&format!("{k} = {v:?}\n"));
        }
        text.push_str(&format!(
            "[test]\nusb_allow_ms = {}\nthrottle_unit_ms = {}\nrestart_backoff_ms = {}\nrestart_backoff_max_ms = {}\n",
            opts.usb_allow_ms, opts.throttle_unit_ms, opts.backoff_ms.0, opts.backoff_ms.1
        ));
        if let Some(ms) = opts.reboot_after_ms {
            text.push_str(&format!("reboot_after_ms = {ms}\n"));
        }
        let config = dir.join("helper.toml");
        std::fs::write(&config, text).expect("writing helper.toml");
        // The session user must be able to reach its files under `dir`.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        let mut child = Command::new(helper_binary())
            .arg("--config")
            .arg(&config)
            .env("PALISADE_HELPER_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting palisade-helper");
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stderr = child.stderr.take().expect("helper stderr");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                tracing::debug!(target: "helper", "{line}");
                let (lock, cv) = &*sink;
                lock.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                cv.notify_all();
            }
            let (lock, cv) = &*sink;
            lock.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push("<helper stderr closed>".into());
            cv.notify_all();
        });
        HelperRun {
            dir: dir.to_path_buf(),
            proc_root,
            sys_root,
            reboot_marker,
            child,
            lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the `n`th log line (1-based) containing every one of
    /// `needles`, and returns it.
    pub fn wait_log_nth(&self, needles: &[&str], n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.lines;
        let mut lines = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(line) = lines
                .iter()
                .filter(|l| needles.iter().all(|n| l.contains(n)))
                .nth(n - 1)
            {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {timeout:?} waiting for helper log line #{n} with {needles:?}; \
                 the log so far:\n{}",
                lines.join("\n")
            );
            lines = cv
                .wait_timeout(lines, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub fn wait_log(&self, needles: &[&str]) -> String {
        self.wait_log_nth(needles, 1, Duration::from_secs(20))
    }

    pub fn count_log(&self, needles: &[&str]) -> usize {
        let (lock, _) = &*self.lines;
        let lines = lock.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .count()
    }

    pub fn log(&self) -> String {
        let (lock, _) = &*self.lines;
        lock.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }

    /// The pid of the `n`th session the helper started (1-based).
    pub fn session_pid(&self, n: usize) -> u32 {
        let line = self.wait_log_nth(&["session started"], n, Duration::from_secs(20));
        field(&line, "pid").unwrap_or_else(|| panic!("no pid in {line:?}"))
    }

    /// Whether the helper process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The contents of every controller's authorized_default, by name.
    pub fn controllers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = ["usb1", "usb2", "usb3"]
            .iter()
            .filter_map(|bus| {
                let p = self
                    .sys_root
                    .join("bus/usb/devices")
                    .join(bus)
                    .join("authorized_default");
                std::fs::read_to_string(p)
                    .ok()
                    .map(|v| (bus.to_string(), v.trim().to_string()))
            })
            .collect();
        out.sort();
        out
    }

    /// Waits until every controller reads `value` ("0" denied, "1" allowed).
    pub fn wait_controllers(&self, value: &str, timeout: Duration) {
        wait_until(
            timeout,
            &format!("every controller's authorized_default = {value}"),
            || {
                let c = self.controllers();
                !c.is_empty() && c.iter().all(|(_, v)| v == value)
            },
            || format!("{:?}\nhelper log:\n{}", self.controllers(), self.log()),
        );
    }
}

impl Drop for HelperRun {
    fn drop(&mut self) {
        // SAFETY: kill on the pid of a child we started and have not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pid=123` style fields in the helper's log lines.
pub fn field(line: &str, name: &str) -> Option<u32> {
    let key = format!("{name}=");
    let at = line.find(&key)? + key.len();
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Polls `done` until it holds, failing with `what` and `detail()` after
/// `timeout`. For state that has no event to wait on (files the helper
/// writes).
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
    detail: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}: {}",
            detail()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A message header with one iovec and a control buffer (resized here) with
/// room for one fd. Both must outlive the header's use.
fn one_fd_msghdr(iov: &mut libc::iovec, control: &mut Vec<u8>) -> libc::msghdr {
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    control.resize(space, 0);
    // SAFETY: msghdr is plain data; zero is a valid starting value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    msg
}

/// Sends `fd` and a run number over `stream` (SCM_RIGHTS).
pub fn send_fd(stream: &UnixStream, fd: RawFd, run: u32) -> std::io::Result<()> {
    let payload = run.to_ne_bytes();
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut control = Vec::new();
    let msg = one_fd_msghdr(&mut iov, &mut control);
    // SAFETY: msg points at a control buffer of CMSG_SPACE(one fd) bytes, so
    // the first header exists and has room for one fd.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    }
    // SAFETY: msg and everything it points to are alive for the call.
    let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Receives what `send_fd` sent.
pub fn recv_fd(stream: &UnixStream) -> std::io::Result<(OwnedFd, u32)> {
    let mut payload = [0u8; 4];
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    let mut control = Vec::new();
    let mut msg = one_fd_msghdr(&mut iov, &mut control);
    // SAFETY: msg and its buffers are alive for the call.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 4 {
        return Err(std::io::Error::other("the peer sent no fd"));
    }
    // SAFETY: recvmsg filled the control buffer; CMSG_FIRSTHDR checks its
    // length, and an SCM_RIGHTS header carries at least one fd.
    let fd = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return Err(std::io::Error::other("no SCM_RIGHTS in the message"));
        }
        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>())
    };
    // SAFETY: the kernel installed this fd in our table for us.
    Ok((
        unsafe { OwnedFd::from_raw_fd(fd) },
        u32::from_ne_bytes(payload),
    ))
}

/// Where the peer sessions hand their helper fds to the test.
pub struct PeerSessions {
    listener: UnixListener,
    pub dir: PathBuf,
}

impl PeerSessions {
    /// Sets up `dir/peer` and the listening socket, and returns the session
    /// options that start `peer_bin` (the test's
    /// `env!("CARGO_BIN_EXE_palisade-helper-peer")`) as the session.
    pub fn new(dir: &Path, peer_bin: &str) -> (PeerSessions, HelperOptions) {
        ensure_test_user();
        let peer_dir = dir.join("peer");
        std::fs::create_dir_all(&peer_dir).expect("peer dir");
        give_to_test_user(&peer_dir);
        let path = dir.join("peer.sock");
        let listener = UnixListener::bind(&path).expect("binding the peer socket");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let opts = HelperOptions {
            session: vec![peer_bin.to_string()],
            env: vec![
                ("PEER_DIR".into(), peer_dir.display().to_string()),
                ("PEER_SOCKET".into(), path.display().to_string()),
            ],
            ..HelperOptions::default()
        };
        (
            PeerSessions {
                listener,
                dir: peer_dir,
            },
            opts,
        )
    }

    /// The next session's helper connection.
    pub fn accept(&self) -> HelperConn {
        let fds = [libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let mut fds = fds;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 20_000) };
        assert!(n == 1, "no session connected to the test within 20 s");
        let (peer, _) = self.listener.accept().expect("accepting the peer");
        let (fd, run) = recv_fd(&peer).expect("receiving the helper fd from the peer");
        HelperConn {
            stream: UnixStream::from(fd),
            run,
            _peer: peer,
        }
    }

    /// What run `n` of the peer recorded about itself.
    pub fn identity(&self, run: u32) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.join(format!("run.{run}.json")))
            .expect("the peer wrote its identity");
        serde_json::from_str(&text).expect("identity JSON")
    }
}

/// The test's end of a session's helper socket.
pub struct HelperConn {
    pub stream: UnixStream,
    /// Which start of the session this is (1 = the first).
    pub run: u32,
    /// Closing this lets the peer process exit.
    _peer: UnixStream,
}

impl HelperConn {
    pub fn send(&mut self, request: &Request) {
        proto::write_message(&mut self.stream, request).expect("writing to the helper");
    }

    /// Writes raw bytes; the helper may already have closed, so errors are
    /// returned, not raised.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next message, failing clearly on timeout or a closed socket.
    pub fn recv(&mut self) -> Message {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        match proto::read_message::<Message>(&mut self.stream) {
            Ok(Some(m)) => m,
            Ok(None) => panic!("the helper closed the connection"),
            Err(e) => panic!("reading from the helper: {e}"),
        }
    }

    /// Reads messages until one satisfies `pred` (pushed states in between
    /// are skipped).
    pub fn recv_until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        let mut skipped = Vec::new();
        loop {
            let m = self.recv();
            if pred(&m) {
                return m;
            }
            skipped.push(m);
            assert!(skipped.len() < 1000, "never got {what}; got {skipped:?}");
        }
    }

    /// The next pushed state (or State answer).
    pub fn next_state(&mut self) -> HelperState {
        match self.recv_until("a state", |m| matches!(m, Message::State(_))) {
            Message::State(s) => s,
            _ => unreachable!(),
        }
    }

    /// Hello, and the Welcome's state.
    pub fn hello(&mut self) -> HelperState {
        self.send(&Request::Hello {
            version: proto::VERSION,
        });
        match self.recv() {
            Message::Welcome { version, state } => {
                assert_eq!(version, proto::VERSION);
                state
            }
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    pub fn authenticate(&mut self, generation: u64, password: &str) -> AuthOutcome {
        self.send(&Request::Authenticate {
            generation,
            password: Password::new(password.as_bytes().to_vec()).expect("short password"),
        });
        match self.recv_until("an AuthResult", |m| matches!(m, Message::AuthResult { .. })) {
            Message::AuthResult {
                generation: g,
                outcome,
            } => {
                assert_eq!(g, generation, "the answer names another generation");
                outcome
            }
            _ => unreachable!(),
        }
    }

    /// Waits until the helper has closed this connection (EOF or reset),
    /// failing if it sends a message instead or stays open.
    pub fn expect_closed(&mut self) {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        let mut buf = [0u8; 64];
        match self.stream.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Ok(n) => panic!("the helper answered {n} bytes instead of closing"),
            Err(e) => panic!("the helper kept the connection open: {e}"),
        }
    }
}

/// Every unix socket `pid` holds, with its bound path ("" when unbound).
pub fn unix_sockets_of(pid: u32) -> Vec<(u64, String)> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fd list") {
        let Ok(entry) = entry else { continue };
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let t = target.display().to_string();
        if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
            inodes.push(n.parse::<u64>().expect("inode"));
        }
    }
    let table = std::fs::read_to_string("/proc/net/unix").expect("/proc/net/unix");
    inodes
        .into_iter()
        .map(|inode| {
            let path = table
                .lines()
                .skip(1)
                .find_map(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    (cols.get(6)?.parse::<u64>().ok()? == inode)
                        .then(|| cols.get(7).unwrap_or(&"").to_string())
                })
                .unwrap_or_default();
            (inode, path)
        })
        .collect()
}
