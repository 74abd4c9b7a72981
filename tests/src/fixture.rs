//! The in-process harness: a headless Palisade (virtual outputs, pixman
//! pixels) plus in-process clients on socketpairs, all in one thread. Each
//! `step` dispatches the server once and every client once; waits loop on
//! steps with a deadline and fail with a message, never sleep and hope.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use palisade::backend::headless::{Pixels, VirtualOutput};
use palisade::config::Config;
use palisade::helper::HelperLink;
use palisade::introspect::StateInfo;
use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_shortcuts::proto::{self, HelperState, Message, Request, UsbGrant};
use smithay::reexports::rustix;

use crate::client::TestClient;

/// The default wait for anything in a test.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub type ClientId = usize;

pub struct Fixture {
    pub driver: Driver,
    clients: Vec<TestClient>,
}

/// Log to the test output once per process (RUST_LOG to see more).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A virtual output spec for `Fixture::new`.
pub fn output(w: i32, h: i32, scale: f64) -> VirtualOutput {
    VirtualOutput {
        name: None,
        size: (w, h),
        scale,
    }
}

/// Clients that run as real subprocesses need a runtime dir (foot, Chromium).
pub fn ensure_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("palisade-test-xdg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        // Set before any client is spawned, from the test thread.
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}

/// Whether a program is installed; real-client tests need it (.ci/run
/// installs them, so in CI a missing program is a failure, not a skip).
pub fn require_program(name: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed: run assets/install-deps.sh (the README's test command does)"
    );
}

impl Fixture {
    pub fn new(outputs: Vec<VirtualOutput>) -> Fixture {
        Self::with_config(Config::embedded_default(), outputs)
    }

    pub fn with_config(config: Config, outputs: Vec<VirtualOutput>) -> Fixture {
        init_logging();
        let driver = Driver::new(config, outputs).expect("starting a headless Palisade");
        Fixture {
            driver,
            clients: Vec::new(),
        }
    }

    /// Connect an in-process client with the given identity, as if the user
    /// had launched it (its first window may take focus from another
    /// identity), and wait until it has its globals and seat.
    pub fn add_client(&mut self, identity: Identity) -> ClientId {
        self.connect_client(identity, true)
    }

    /// Connect an in-process client the user did not launch (like an
    /// autostart app): its windows take focus from no other identity.
    pub fn add_background_client(&mut self, identity: Identity) -> ClientId {
        self.connect_client(identity, false)
    }

    fn connect_client(&mut self, identity: Identity, by_user: bool) -> ClientId {
        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        let pal = &mut self.driver.state.pal;
        let client = pal
            .insert_client(ours, identity, None)
            .expect("inserting a test client");
        if by_user {
            pal.note_user_launch(&client);
        }
        self.clients.push(TestClient::new(theirs));
        let id = self.clients.len() - 1;
        self.wait("the test client to receive its globals", |f| {
            f.clients[id].is_ready()
        });
        id
    }

    pub fn client(&mut self, id: ClientId) -> &mut TestClient {
        &mut self.clients[id]
    }

    /// One round: the server, then every client.
    pub fn step(&mut self) {
        self.driver
            .dispatch(Duration::from_millis(1))
            .expect("dispatching the compositor");
        for client in &mut self.clients {
            client.dispatch();
        }
        self.driver
            .dispatch(Duration::ZERO)
            .expect("dispatching the compositor");
    }

    /// Step until `done`; panic with `what` after `TIMEOUT`.
    pub fn wait(&mut self, what: &str, done: impl FnMut(&mut Fixture) -> bool) {
        self.wait_for(TIMEOUT, what, done)
    }

    pub fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&mut Fixture) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out after {} ms waiting for {what}; state: {:?}",
                timeout.as_millis(),
                self.state()
            );
            self.step();
        }
    }

    /// A full round trip for one client: everything it sent has been handled
    /// and everything the server answered has been read.
    pub fn roundtrip(&mut self, id: ClientId) {
        let sync = self.clients[id].send_sync();
        self.wait("a client round trip", |f| f.clients[id].sync_done(sync));
    }

    /// Create a toplevel, wait for its first configure, draw it in `rgba`
    /// at the configured size and wait until it is mapped.
    pub fn map_window(&mut self, id: ClientId, rgba: [u8; 4]) -> usize {
        let before = self.driver.mapped_windows();
        let w = self.clients[id].create_window();
        self.wait("the first configure", |f| {
            !f.clients[id].configures(w).is_empty()
        });
        self.clients[id].ack_and_draw(w, None, rgba);
        self.wait("the window to be mapped", |f| {
            f.driver.mapped_windows() > before
        });
        w
    }

    pub fn state(&self) -> StateInfo {
        self.driver.state.pal.state_info()
    }

    /// The output's pixels as they are now (rendering anything due first).
    pub fn pixels(&mut self, output: &str) -> Pixels {
        self.step();
        self.driver.pixels(output).expect("reading output pixels")
    }

    /// Wait until the output shows at least `min` pixels near `rgb`.
    pub fn wait_color(&mut self, output: &str, rgb: [u8; 3], min: u64) {
        let name = output.to_owned();
        self.wait(&format!("{min} pixels of {rgb:?} on {output}"), |f| {
            f.pixels(&name).count_near(rgb, 8) >= min
        });
    }

    pub fn key_chord(&mut self, chord: &str) {
        self.driver.key_chord(chord).expect("pressing a chord");
        self.step();
    }

    /// A button press or release on its own (`driver.click` is both): an
    /// implicit grab, or a drag, lasts from one to the other.
    pub fn button(&mut self, code: u32, pressed: bool) {
        let time = self.driver.state.pal.now_ms();
        self.driver.state.handle_button(code, pressed, time);
        self.step();
    }
}

/// The identity of an app from the default config.
pub fn identity(id: &str, label: &str, color: [u8; 3]) -> Identity {
    Identity {
        id: id.into(),
        label: label.into(),
        color,
    }
}

/// A fresh, empty directory for one test's files.
pub fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Debian's Chromium as the tests run it: Wayland only, no sandbox (only
/// because the tests run as root), no GPU, a fresh profile in `profile`, no
/// background traffic, showing the local file `page`.
pub fn chromium_command(profile: &std::path::Path, page: &std::path::Path) -> Vec<String> {
    [
        "chromium",
        "--ozone-platform=wayland",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        format!("--user-data-dir={}", profile.display()),
        format!("file://{}", page.display()),
    ])
    .collect()
}

/// A TOML array of strings, for a test config's `command`. Debug quoting
/// is TOML's basic-string quoting for the ASCII paths and flags used here.
pub fn toml_strings(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// A file under tests/data, by absolute path.
pub fn data_file(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

impl Fixture {
    /// The strip shows exactly the panel's pixels: no client pixel, nothing
    /// left over. Keep the pointer off the strip (the cursor is drawn there).
    pub fn assert_strip_is_panel(&mut self, output: &str) {
        self.step();
        let (count, first) = self
            .driver
            .strip_mismatch(output)
            .expect("comparing the strip");
        assert_eq!(
            count, 0,
            "{count} strip pixels of {output} are not the panel's, first at {first:?}"
        );
    }

    /// No pixel of the client colour `rgb` (a primary: each channel 0 or
    /// 255), nor any filtered or blended shade of it, in the top `rows`
    /// physical rows of `output`: a client's colour never reaches the strip.
    pub fn assert_color_absent_from_strip(&mut self, output: &str, rgb: [u8; 3], rows: u32) {
        // A shade: every channel that is 0 in the colour stays low, and at
        // least one channel that is 255 is clearly lit.
        let shade = |p: [u8; 4]| {
            (0..3).all(|i| rgb[i] == 255 || p[i] <= 24)
                && (0..3).any(|i| rgb[i] == 255 && p[i] >= 48)
        };
        let px = self.pixels(output);
        let mut found = Vec::new();
        for y in 0..rows.min(px.height) {
            for x in 0..px.width {
                if shade(px.at(x, y)) {
                    found.push((x, y));
                }
            }
        }
        assert!(
            found.is_empty(),
            "{} pixels of the client colour {rgb:?} in the strip of {output}, first at {:?}",
            found.len(),
            found.first()
        );
    }
}

/// The identity border's width in logical pixels (the default theme's).
pub fn border_width() -> i32 {
    palisade_themes::Theme::default().border_width
}

/// Where windows go inside a work area `[x, y, w, h]`: inset by the border.
pub fn window_area(work_area: [i32; 4]) -> [i32; 4] {
    let b = border_width();
    [
        work_area[0] + b,
        work_area[1] + b,
        work_area[2] - 2 * b,
        work_area[3] - 2 * b,
    ]
}

/// The test's end of a helper link: it plays `palisade-helper` with the
/// protocol's own blocking `read_message` / `write_message`.
pub struct HelperPeer {
    pub stream: UnixStream,
    closed: bool,
}

impl HelperPeer {
    /// Sends one message to the compositor.
    pub fn send(&mut self, message: &Message) {
        proto::write_message(&mut &self.stream, message)
            .unwrap_or_else(|e| panic!("sending {message:?} to the compositor: {e}"));
    }

    /// Sends raw bytes, for hostile input.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        use std::io::Write;
        (&self.stream)
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("sending raw bytes to the compositor: {e}"));
    }

    /// The next request if one has arrived, without waiting. The compositor
    /// writes each frame with one `send`, so readable means a whole frame.
    pub fn try_recv(&mut self) -> Option<Request> {
        if self.closed || !self.readable() {
            return None;
        }
        match proto::read_message::<Request>(&mut &self.stream) {
            Ok(Some(request)) => Some(request),
            Ok(None) => {
                self.closed = true;
                None
            }
            Err(e) => panic!("reading a request from the compositor: {e}"),
        }
    }

    /// Whether the compositor has closed its end (after reading whatever
    /// requests were still queued).
    pub fn is_closed(&mut self) -> bool {
        while self.try_recv().is_some() {}
        self.closed
    }

    fn readable(&self) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut fds = [PollFd::new(&self.stream, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
    }
}

impl Fixture {
    /// Gives the compositor a helper link over a fresh socketpair, as the
    /// helper's inherited fd would, and returns the helper's end.
    pub fn connect_helper(&mut self) -> HelperPeer {
        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        // A stuck read fails the test instead of hanging it.
        theirs
            .set_read_timeout(Some(TIMEOUT))
            .expect("setting a read timeout");
        let link = HelperLink::from_fd(OwnedFd::from(ours)).expect("a socketpair is a valid link");
        self.driver
            .state
            .pal
            .connect_helper(link)
            .expect("connecting the helper link");
        HelperPeer {
            stream: theirs,
            closed: false,
        }
    }

    /// Steps until the compositor has sent the helper a request; panics
    /// with `what` after `TIMEOUT`.
    pub fn next_helper_request(&mut self, peer: &mut HelperPeer, what: &str) -> Request {
        let mut got = None;
        self.wait(what, |_| {
            got = peer.try_recv();
            got.is_some()
        });
        got.unwrap_or_else(|| unreachable!("the wait ends only once a request arrived"))
    }
}

impl Fixture {
    /// Types a password on the lock screen and answers it as the helper
    /// would ("accepted"), skipping the Lock report if it is still queued;
    /// returns once unlocked.
    pub fn unlock_with_password(&mut self, peer: &mut HelperPeer) {
        self.driver.type_text("pw\n").expect("typing");
        loop {
            match self.next_helper_request(peer, "the password") {
                Request::Authenticate { generation, .. } => {
                    peer.send(&Message::AuthResult {
                        generation,
                        outcome: proto::AuthOutcome::Accepted,
                    });
                    break;
                }
                _ => continue,
            }
        }
        self.wait("the unlock", |f| !f.driver.state.pal.is_locked());
    }
}

/// Run the loop until `check` returns `Ok`; after `timeout`, panic with
/// `what`, the last reason `check` gave and the compositor's state.
pub fn wait_check(
    driver: &mut Driver,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(&mut Driver) -> Result<(), String>,
) {
    let mut last = String::from("never checked");
    let result = driver.wait_until(timeout, what, |d| match check(d) {
        Ok(()) => Ok(true),
        Err(why) => {
            last = why;
            Ok(false)
        }
    });
    if let Err(err) = result {
        let state = driver.state.pal.state_info();
        panic!("{err:#}: {last}\nlast state: {state:#?}");
    }
}

/// Run the loop until the state JSON satisfies `pred`; panics with `what`
/// and the last state after `timeout`.
pub fn wait_state(
    driver: &mut Driver,
    timeout: Duration,
    what: &str,
    pred: impl FnMut(&StateInfo) -> bool,
) -> StateInfo {
    driver
        .wait_state(timeout, what, pred)
        .unwrap_or_else(|err| panic!("{err:#}"))
}

/// The compositor's id of the one window of identity `id`.
pub fn window_id(driver: &Driver, id: &str) -> u64 {
    let pal = &driver.state.pal;
    let ids: Vec<u64> = (pal.shell.windows().iter())
        .filter(|m| pal.identity_of(&m.window).is_some_and(|i| i.id == id))
        .map(|m| m.id)
        .collect();
    assert_eq!(ids.len(), 1, "expected one {id} window");
    ids[0]
}

/// A helper's quiet state: unlocked, USB as given, no timers, no failures.
pub fn helper_state(usb: UsbGrant) -> HelperState {
    HelperState::unlocked(usb)
}

impl Fixture {
    /// Connects a helper link, checks that `Hello` comes first, answers it
    /// with a Welcome carrying `usb`, and waits until the link is up.
    pub fn connect_welcomed_helper(&mut self, usb: UsbGrant) -> HelperPeer {
        let mut peer = self.connect_helper();
        let hello = self.next_helper_request(&mut peer, "the compositor's hello");
        assert_eq!(
            hello,
            Request::Hello {
                version: proto::VERSION
            }
        );
        peer.send(&Message::Welcome {
            version: proto::VERSION,
            state: helper_state(usb),
        });
        self.wait("the helper link to connect", |f| {
            f.driver
                .state
                .pal
                .helper
                .as_ref()
                .is_some_and(|l| l.is_connected())
        });
        peer
    }
}

impl Fixture {
    /// The Key events client `c` received from index `from` of its event
    /// log on, as (evdev code, pressed), after a round trip.
    pub fn keys_since(&mut self, c: ClientId, from: usize) -> Vec<(u32, bool)> {
        self.roundtrip(c);
        (self.client(c).keyboard_events()[from..].iter())
            .filter_map(|e| match e {
                crate::client::KeyboardEvent::Key { key, pressed } => Some((*key, *pressed)),
                _ => None,
            })
            .collect()
    }
}

/// The evdev codes of "secret" (what `type_text("secret")` sends), pressed
/// then released each.
pub fn secret_keys() -> Vec<(u32, bool)> {
    [31, 18, 46, 19, 18, 20]
        .into_iter()
        .flat_map(|k| [(k, true), (k, false)])
        .collect()
}
