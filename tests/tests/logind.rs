//! logind integration, against a private dbus-daemon with an in-test
//! stand-in for systemd-logind: the real name, object paths, interfaces,
//! methods and signals. The stand-in hands out the write end of a pipe as
//! the inhibitor fd and keeps the read end, so the moment the compositor
//! releases the inhibitor shows up as POLLHUP.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use palisade::config::Config;
use palisade::status::Bus;
use palisade_lockscreen::Phase;
use palisade_shortcuts::proto::UsbGrant;
use palisade_tests::dbus::PrivateBus;
use palisade_tests::fixture::{identity, output, Fixture, HelperPeer};
use smithay::reexports::rustix::event::{poll, PollFd, PollFlags, Timespec};
use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;
use zbus::message::Header;
use zbus::zvariant::OwnedObjectPath;

const LOGIN1: &str = "org.freedesktop.login1";
const LOGIN1_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const SESSION: &str = "org.freedesktop.login1.Session";
const SESSION_PATH: &str = "/org/freedesktop/login1/session/_31";
const RED: [u8; 4] = [255, 0, 0, 255];

/// One Inhibit call, as the stand-in saw it.
struct Inhibitor {
    what: String,
    mode: String,
    /// The caller's unique name: where a forged signal is sent straight to.
    caller: String,
    /// Our end of the pipe; the write end went to the caller.
    read: Arc<OwnedFd>,
    /// When the last write end closed, as a thread blocked in poll(2) saw it.
    released: Arc<Mutex<Option<Instant>>>,
}

impl Inhibitor {
    /// Whether the inhibitor has been released, asked right now.
    fn hung_up(&self) -> bool {
        let mut fds = [PollFd::new(&*self.read, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&zero)).expect("polling the inhibitor pipe");
        fds[0].revents().contains(PollFlags::HUP)
    }

    fn released_at(&self) -> Option<Instant> {
        *self.released.lock().expect("release time")
    }
}

type Inhibitors = Arc<Mutex<Vec<Inhibitor>>>;

struct Manager {
    inhibitors: Inhibitors,
}

fn session_path() -> OwnedObjectPath {
    OwnedObjectPath::try_from(SESSION_PATH).expect("session path")
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl Manager {
    fn get_session(&self, _id: &str) -> OwnedObjectPath {
        session_path()
    }

    #[zbus(name = "GetSessionByPID")]
    fn get_session_by_pid(&self, _pid: u32) -> OwnedObjectPath {
        session_path()
    }

    fn inhibit(
        &self,
        what: &str,
        _who: &str,
        _why: &str,
        mode: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        let (read, write) =
            std::io::pipe().map_err(|e| zbus::fdo::Error::Failed(format!("pipe: {e}")))?;
        let read = Arc::new(OwnedFd::from(read));
        let released = Arc::new(Mutex::new(None));
        let (fd, at) = (read.clone(), released.clone());
        // Blocks until the last write end closes (the compositor's copy is
        // the only one once ours is sent). It ends at the latest when the
        // fixture drops the compositor and with it the fd.
        std::thread::spawn(move || {
            let mut fds = [PollFd::new(&*fd, PollFlags::IN)];
            while poll(&mut fds, None).is_err() {}
            if fds[0].revents().contains(PollFlags::HUP) {
                *at.lock().expect("release time") = Some(Instant::now());
            }
        });
        self.inhibitors.lock().expect("inhibitors").push(Inhibitor {
            what: what.into(),
            mode: mode.into(),
            caller: header.sender().map(|s| s.to_string()).unwrap_or_default(),
            read,
            released,
        });
        Ok(OwnedFd::from(write).into())
    }
}

struct Session;

#[zbus::interface(name = "org.freedesktop.login1.Session")]
impl Session {
    #[zbus(property)]
    fn id(&self) -> String {
        "1".into()
    }
}

/// The stand-in logind, owning org.freedesktop.login1.
struct Logind {
    conn: Connection,
    inhibitors: Inhibitors,
}

impl Logind {
    fn start(bus: &PrivateBus) -> Logind {
        let inhibitors = Inhibitors::default();
        let manager = Manager {
            inhibitors: inhibitors.clone(),
        };
        let conn = Builder::address(bus.address.as_str())
            .and_then(|b| b.name(LOGIN1))
            .and_then(|b| b.serve_at(LOGIN1_PATH, manager))
            .and_then(|b| b.serve_at(SESSION_PATH, Session))
            .and_then(|b| b.build())
            .expect("serving the stand-in logind");
        Logind { conn, inhibitors }
    }

    fn inhibit_calls(&self) -> usize {
        self.inhibitors.lock().expect("inhibitors").len()
    }

    /// Runs `f` on the `n`th inhibitor taken (0-based).
    fn inhibitor<T>(&self, n: usize, f: impl FnOnce(&Inhibitor) -> T) -> T {
        f(&self.inhibitors.lock().expect("inhibitors")[n])
    }

    fn prepare_for_sleep(&self, start: bool) {
        emit(
            &self.conn,
            None,
            LOGIN1_PATH,
            MANAGER,
            "PrepareForSleep",
            start,
        );
    }

    fn session_signal(&self, member: &str) {
        emit(&self.conn, None, SESSION_PATH, SESSION, member, ());
    }
}

fn emit<B>(conn: &Connection, to: Option<&str>, path: &str, iface: &str, member: &str, body: B)
where
    B: zbus::export::serde::Serialize + zbus::zvariant::DynamicType,
{
    conn.emit_signal(to, path, iface, member, &body)
        .unwrap_or_else(|e| panic!("emitting {member}: {e}"));
}

/// Two outputs, a helper, a red window, and the compositor following the
/// stand-in logind; returns once the compositor holds its first inhibitor.
fn setup() -> (PrivateBus, Logind, Fixture, HelperPeer) {
    setup_with(Config::embedded_default())
}

fn setup_with(config: Config) -> (PrivateBus, Logind, Fixture, HelperPeer) {
    let bus = PrivateBus::start();
    let logind = Logind::start(&bus);
    let mut f = Fixture::with_config(config, vec![output(1280, 800, 1.0), output(800, 600, 1.0)]);
    let peer = f.connect_welcomed_helper(UsbGrant::Denied);
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    f.map_window(c, RED);
    f.wait_color("headless-1", [255, 0, 0], 1000);
    f.driver
        .state
        .start_logind(Bus::Address(bus.address.clone()));
    f.wait("the compositor to take a sleep delay inhibitor", |_| {
        logind.inhibit_calls() >= 1
    });
    logind.inhibitor(0, |i| {
        assert_eq!((i.what.as_str(), i.mode.as_str()), ("sleep", "delay"));
        assert!(!i.hung_up(), "the inhibitor was released while awake");
    });
    assert!(!f.driver.state.pal.is_locked());
    (bus, logind, f, peer)
}

/// The machine goes to sleep: checks, step by step, that the inhibitor is
/// held until the lock is engaged, then that it is released after that.
fn sleep_and_check_order(logind: &Logind, f: &mut Fixture) {
    let n = logind.inhibit_calls() - 1;
    logind.prepare_for_sleep(true);
    f.wait("the lock to be engaged on every output", |f| {
        let engaged = f.driver.state.pal.lock.engaged_at().is_some();
        if !engaged {
            assert!(
                !logind.inhibitor(n, Inhibitor::hung_up),
                "the inhibitor was released before the lock was engaged"
            );
        }
        engaged
    });
    f.wait("the inhibitor to be released", |_| {
        logind.inhibitor(n, |i| i.released_at()).is_some()
    });
    let engaged = f.driver.state.pal.lock.engaged_at().expect("engaged");
    let released = logind.inhibitor(n, |i| i.released_at()).expect("released");
    assert!(
        engaged <= released,
        "released {:?} before the lock was engaged",
        engaged - released
    );
}

fn rgb8(c: [f32; 4]) -> [u8; 3] {
    [0, 1, 2].map(|i| (c[i].clamp(0.0, 1.0) * 255.0).round() as u8)
}

#[test]
fn sleep_waits_for_the_lock_on_every_output() {
    let (_bus, logind, mut f, _peer) = setup();
    sleep_and_check_order(&logind, &mut f);
    assert!(f.driver.state.pal.is_locked());
    let background = rgb8(f.driver.state.pal.theme.panel_background);
    for name in f.driver.output_names() {
        let frame = f.driver.last_frame(&name).expect("pixels");
        let red = frame.count_near([255, 0, 0], 8);
        assert_eq!(
            red, 0,
            "{red} client pixels on {name} when sleep went ahead"
        );
        let lock = frame.count_near(background, 8);
        let all = u64::from(frame.width * frame.height);
        assert!(
            lock * 2 > all,
            "{name} does not show the lock screen ({lock} of {all} pixels)"
        );
    }
}

#[test]
fn waking_up_takes_a_new_inhibitor() {
    let (_bus, logind, mut f, _peer) = setup();
    sleep_and_check_order(&logind, &mut f);
    logind.prepare_for_sleep(false);
    f.wait("a second Inhibit call after waking up", |_| {
        logind.inhibit_calls() >= 2
    });
    assert!(!logind.inhibitor(1, Inhibitor::hung_up));
    assert_eq!(logind.inhibit_calls(), 2);
    // Still locked: waking up unlocks nothing.
    assert!(f.driver.state.pal.is_locked());

    // The next sleep, already locked, goes ahead at once.
    logind.prepare_for_sleep(true);
    f.wait("the second inhibitor to be released", |_| {
        logind.inhibitor(1, |i| i.released_at()).is_some()
    });
}

#[test]
fn a_sleep_while_the_outputs_are_off_goes_ahead_even_with_a_new_dark_output() {
    let config = Config::parse(
        "[lock]\noutputs_off_after = \"1s\"\n",
        std::path::Path::new("logind-test.toml"),
    )
    .expect("config");
    let (_bus, logind, mut f, _peer) = setup_with(config);
    sleep_and_check_order(&logind, &mut f);
    logind.prepare_for_sleep(false);
    f.wait("a second Inhibit call after waking up", |_| {
        logind.inhibit_calls() >= 2
    });
    f.wait_for(
        std::time::Duration::from_secs(20),
        "the outputs to go off",
        |f| !f.driver.state.pal.idle.outputs_on,
    );
    // A monitor plugged in while dark stays dark (nothing renders until
    // input), so it never shows a locked frame; a dark screen shows
    // nothing either, and the sleep must not wait for it.
    let name = f
        .driver
        .add_output(output(640, 480, 1.0))
        .expect("adding an output");
    f.step();
    assert_eq!(
        f.driver.output_frames(&name),
        0,
        "a frame while the outputs are off"
    );
    logind.prepare_for_sleep(true);
    f.wait("the second inhibitor to be released", |_| {
        logind.inhibitor(1, |i| i.released_at()).is_some()
    });
    assert!(
        !f.driver.state.pal.idle.outputs_on,
        "the sleep woke the outputs"
    );
}

#[test]
fn the_session_lock_signal_locks() {
    let (_bus, logind, mut f, _peer) = setup();
    logind.session_signal("Lock");
    f.wait("logind's Lock to lock the session", |f| f.state().locked);
    f.wait("the lock to be engaged", |f| {
        f.driver.state.pal.lock.phase() == Phase::Locked
    });
    // No sleep is pending: the inhibitor stays.
    assert!(!logind.inhibitor(0, Inhibitor::hung_up));
}

#[test]
fn unlock_and_signals_from_others_are_ignored() {
    let (bus, logind, mut f, _peer) = setup();
    let us = logind.inhibitor(0, |i| i.caller.clone());
    let impostor = Builder::address(bus.address.as_str())
        .and_then(|b| b.build())
        .expect("a second connection");
    // Broadcast (the bus filters these) and sent straight to the compositor
    // (match rules do not apply: the compositor must check the sender).
    let forge = |path: &str, iface: &str, member: &str, start: Option<bool>| {
        for to in [None, Some(us.as_str())] {
            match start {
                Some(start) => emit(&impostor, to, path, iface, member, start),
                None => emit(&impostor, to, path, iface, member, ()),
            }
        }
        // A round trip: the bus has routed the forgeries before anything
        // logind sends next.
        let dbus = zbus::blocking::fdo::DBusProxy::new(&impostor).expect("the bus's proxy");
        dbus.get_id().expect("a round trip to the bus");
    };

    // Each forgery is followed by the real signal on the same subscription;
    // once the compositor has seen that, it has seen the forgeries.
    forge(SESSION_PATH, SESSION, "Lock", None);
    logind.session_signal("Lock");
    f.wait("logind's Lock", |f| f.driver.state.pal.lock.requests() >= 1);
    assert_eq!(
        f.driver.state.pal.lock.requests(),
        1,
        "a forged Lock counted"
    );
    f.wait("the lock to be engaged", |f| {
        f.driver.state.pal.lock.phase() == Phase::Locked
    });
    let generation = f.driver.state.pal.lock.generation();

    forge(LOGIN1_PATH, MANAGER, "PrepareForSleep", Some(true));
    logind.session_signal("Unlock");
    logind.prepare_for_sleep(true);
    f.wait("logind's PrepareForSleep", |f| {
        f.driver.state.pal.lock.requests() >= 2
    });
    assert_eq!(
        f.driver.state.pal.lock.requests(),
        2,
        "a forged PrepareForSleep counted"
    );
    // The session stayed locked throughout: the same lock, not a new one.
    assert!(f.driver.state.pal.is_locked(), "logind's Unlock unlocked");
    assert_eq!(f.driver.state.pal.lock.generation(), generation);
}

#[test]
fn without_bus_or_logind_nothing_locks() {
    let bus = PrivateBus::start();
    let dir = std::env::temp_dir().join(format!("palisade-no-bus-{}", std::process::id()));
    let nowhere = format!("unix:path={}", dir.join("nothing-here").display());
    // A bus that is not there, and a bus without logind on it.
    for address in [nowhere, bus.address.clone()] {
        let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
        f.driver.state.start_logind(Bus::Address(address.clone()));
        f.wait(&format!("the logind thread for {address} to end"), |f| {
            f.driver
                .state
                .pal
                .logind
                .as_ref()
                .is_some_and(|l| l.has_ended())
        });
        f.step();
        assert!(!f.driver.state.pal.is_locked(), "{address}: locked");
        // The compositor carries on: it still locks, and shows the lock.
        f.driver.state.pal.request_lock();
        f.wait("the lock to be engaged", |f| {
            f.driver.state.pal.lock.engaged_at().is_some()
        });
    }
}
