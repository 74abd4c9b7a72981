//! The real `palisade-helper`, run as root, with a real test user, real PAM
//! (pam_unix through assets/pam.d/palisade) and stand-in /proc and /sys
//! roots. The session is `palisade-helper-peer`, which hands its inherited
//! helper fd to the test, so the test plays the compositor on the real
//! socket: well-behaved, hostile or crashing. The real compositor under the
//! helper is tested in helper_session.rs.

use std::os::fd::AsRawFd;
use std::time::Duration;

use palisade_shortcuts::proto::{AuthOutcome, HelperState, Message, Request, UsbGrant, VERSION};
use palisade_tests::fixture::temp_dir;
use palisade_tests::helper::{
    ensure_test_user, unix_sockets_of, HelperConn, HelperOptions, HelperRun, PeerSessions,
    TEST_PASSWORD,
};

const PEER: &str = env!("CARGO_BIN_EXE_palisade-helper-peer");

fn start(test: &str, tweak: impl FnOnce(&mut HelperOptions)) -> (HelperRun, PeerSessions) {
    palisade_tests::fixture::init_logging();
    let dir = temp_dir(test);
    let (peers, mut opts) = PeerSessions::new(&dir, PEER);
    tweak(&mut opts);
    (HelperRun::start(&dir, &opts), peers)
}

fn unlock(conn: &mut HelperConn) {
    assert_eq!(conn.authenticate(1, TEST_PASSWORD), AuthOutcome::Accepted);
    let state = conn.next_state();
    assert!(
        !state.locked,
        "still locked after an accepted password: {state:?}"
    );
}

fn allowed(state: &HelperState) -> bool {
    matches!(state.usb, UsbGrant::Allowed { .. })
}

#[test]
fn the_session_runs_as_the_user_and_the_inherited_fd_is_the_only_way_in() {
    let (helper, peers) = start("helper-identity", |_| {});
    let uid = ensure_test_user().to_string();
    let mut conn = peers.accept();
    let state = conn.hello();
    assert!(state.locked, "the session must start locked: {state:?}");

    let me = peers.identity(conn.run);
    for key in ["uid", "gid"] {
        let ids: Vec<&str> = me[key]
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(ids.len(), 4, "{key}: {ids:?}");
        if key == "uid" {
            // Real, effective, saved and filesystem uid: all the user's.
            assert!(ids.iter().all(|id| *id == uid), "uids {ids:?}, want {uid}");
        } else {
            assert!(ids.iter().all(|id| *id != "0"), "gids {ids:?}");
        }
    }
    assert!(
        !me["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g == "0"),
        "root's group survived: {}",
        me["groups"]
    );
    let fd_target = me["fd_target"].as_str().unwrap_or_default();
    assert!(
        fd_target.starts_with("socket:["),
        "helper fd is {fd_target:?}"
    );
    let env: Vec<&str> = me["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"PALISADE_HELPER_FD") && env.contains(&"XDG_RUNTIME_DIR"));
    // Nothing of the helper's own environment leaks into the session.
    assert!(!env.contains(&"PALISADE_HELPER_LOG"), "{env:?}");

    // No socket of the helper or of the session has a path: no file under
    // /run, /tmp or XDG_RUNTIME_DIR, or anywhere else, leads to the helper.
    let session_pid = helper.session_pid(1);
    for pid in [helper.pid(), session_pid] {
        for (_, path) in unix_sockets_of(pid) {
            assert!(
                path.is_empty(),
                "process {pid} holds a unix socket bound to {path:?}"
            );
        }
    }
    // The fd the session got is connected to the helper: the peer
    // credentials of our end are the helper's.
    let cred = peer_cred(&conn);
    assert_eq!(
        cred.pid as u32,
        helper.pid(),
        "the fd leads to another process"
    );
    assert_eq!(cred.uid, 0, "the helper end is not root's");
}

fn peer_cred(conn: &HelperConn) -> libc::ucred {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt into a ucred of the size we pass.
    let rc = unsafe {
        libc::getsockopt(
            conn.stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "SO_PEERCRED failed");
    cred
}

#[test]
fn usb_toggle_allows_then_reverts_by_itself_and_locking_denies_at_once() {
    let (helper, peers) = start("helper-usb", |o| o.usb_allow_ms = 1500);
    helper.wait_controllers("0", Duration::from_secs(10));
    let mut conn = peers.accept();
    conn.hello();

    // Locked: allowing is refused and nothing is written.
    conn.send(&Request::ToggleUsb);
    match conn.recv() {
        Message::Refused { request, reason } => {
            assert_eq!(request, "toggle-usb");
            assert!(reason.contains("locked"), "{reason}");
        }
        other => panic!("allowing USB while locked was not refused: {other:?}"),
    }
    assert!(helper.controllers().iter().all(|(_, v)| v == "0"));

    unlock(&mut conn);
    conn.send(&Request::ToggleUsb);
    let state = conn.next_state();
    assert!(allowed(&state), "{state:?}");
    helper.wait_controllers("1", Duration::from_secs(5));
    // The device entry is not a controller and is never written.
    let dev = helper.sys_root.join("bus/usb/devices/1-1/authorized");
    assert_eq!(std::fs::read_to_string(&dev).unwrap(), "1\n");

    // The allow period (1.5 s here) ends by itself: a pushed state says so
    // and the files say so.
    let state = conn.next_state();
    assert_eq!(state.usb, UsbGrant::Denied, "{state:?}");
    helper.wait_controllers("0", Duration::from_secs(5));

    // Allowed again, then locked: denied at once, without waiting.
    conn.send(&Request::SetUsb { allow: true });
    assert!(allowed(&conn.next_state()));
    helper.wait_controllers("1", Duration::from_secs(5));
    conn.send(&Request::Lock);
    let state = conn.next_state();
    assert!(state.locked && state.usb == UsbGrant::Denied, "{state:?}");
    helper.wait_controllers("0", Duration::from_secs(5));

    // A controller that appears later gets the current (denied) value.
    let staging = helper.dir.join("usb3");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("authorized_default"), "1\n").unwrap();
    std::fs::rename(&staging, helper.sys_root.join("bus/usb/devices/usb3")).unwrap();
    helper.wait_controllers("0", Duration::from_secs(5));
    assert_eq!(helper.controllers().len(), 3);
}

#[test]
fn on_linux_hardened_the_sysctl_is_written() {
    let (helper, peers) = start("helper-sysctl", |o| o.usb_mode = "sysctl");
    let sysctl = helper.proc_root.join("sys/kernel/deny_new_usb");
    let read = || std::fs::read_to_string(&sysctl).unwrap_or_default();
    let wait = |want: &str| {
        palisade_tests::helper::wait_until(
            Duration::from_secs(5),
            &format!("deny_new_usb = {want}"),
            || read().trim() == want,
            read,
        )
    };
    wait("1");
    let mut conn = peers.accept();
    conn.hello();
    unlock(&mut conn);
    conn.send(&Request::ToggleUsb);
    assert!(allowed(&conn.next_state()));
    wait("0");
    conn.send(&Request::ToggleUsb);
    assert_eq!(conn.next_state().usb, UsbGrant::Denied);
    wait("1");
    // sysfs is left alone in sysctl mode.
    assert!(helper.controllers().iter().all(|(_, v)| v == "1"));
}

#[test]
fn wrong_passwords_get_growing_delays_and_the_right_one_unlocks() {
    // Gatekeeper's schedule with a 100 ms unit instead of 30 s (long enough
    // that the "refused while a delay runs" step below has a 200 ms window
    // even on a loaded machine).
    let (helper, peers) = start("helper-pam", |o| o.throttle_unit_ms = 100);
    let mut conn = peers.accept();
    conn.hello();

    let mut delays = Vec::new();
    let mut generation = 1;
    while delays.len() < 41 {
        generation += 1;
        match conn.authenticate(generation, "wrong password") {
            AuthOutcome::Rejected { retry_after_ms } => delays.push(retry_after_ms),
            // Asked before the delay the helper announced had passed: the
            // password was not looked at. Wait out the delay it names.
            AuthOutcome::Throttled { retry_after_ms } => {
                std::thread::sleep(Duration::from_millis(retry_after_ms + 1));
            }
            other => panic!("a wrong password got {other:?}"),
        }
    }
    // Failures 1-4 cost nothing, the 5th one unit, 11-29 one unit each,
    // and from 30 on the delay doubles every ten failures.
    assert!(delays[..4].iter().all(|d| *d == 0), "{delays:?}");
    assert!((75..=100).contains(&delays[4]), "{delays:?}");
    assert!((75..=100).contains(&delays[29]), "{delays:?}");
    assert!(delays[39] > delays[29], "no growth: {delays:?}");
    assert!(delays[39] >= 175, "{delays:?}");

    // While a delay runs, even the right password is refused unchecked.
    let outcome = conn.authenticate(100, TEST_PASSWORD);
    assert!(
        matches!(outcome, AuthOutcome::Throttled { retry_after_ms } if retry_after_ms > 0),
        "{outcome:?}"
    );
    let state = conn.next_state_after_status();
    assert!(state.locked);
    std::thread::sleep(Duration::from_millis(state.retry_after_ms + 1));
    assert_eq!(conn.authenticate(101, TEST_PASSWORD), AuthOutcome::Accepted);
    let state = conn.next_state();
    assert!(!state.locked && state.failed_attempts == 0, "{state:?}");
    assert!(
        !helper.log().contains(TEST_PASSWORD) && !helper.log().contains("wrong password"),
        "a password reached the log"
    );
}

trait StatusExt {
    fn next_state_after_status(&mut self) -> HelperState;
}

impl StatusExt for HelperConn {
    fn next_state_after_status(&mut self) -> HelperState {
        self.send(&Request::Status);
        self.next_state()
    }
}

#[test]
fn garbage_on_the_socket_drops_that_connection_and_the_helper_lives_on() {
    let (mut helper, peers) = start("helper-garbage", |o| o.backoff_ms = (50, 50));
    let header = |len: u32, body: &[u8]| {
        let mut v = len.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    };
    let frame = |r: &Request| palisade_shortcuts::proto::encode(r).unwrap().to_vec();
    let hello = frame(&Request::Hello { version: VERSION });
    let attacks: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "random bytes",
            b"\xde\xad\xbe\xef garbage".to_vec(),
            "exceeds the 4096-byte cap",
        ),
        (
            "oversized frame",
            header(5000, &[0; 16]),
            "frame of 5000 bytes exceeds",
        ),
        (
            "1 MB password",
            header(1 << 20, &[3, 1, 0x80, 0x80, 0x40]),
            "frame of 1048576 bytes exceeds",
        ),
        (
            "wrong version",
            frame(&Request::Hello { version: 99 }),
            "version 99",
        ),
        (
            "request before hello",
            frame(&Request::Status),
            "status out of order",
        ),
        (
            "unknown variant",
            [hello.clone(), header(1, &[200])].concat(),
            "undecodable",
        ),
        (
            "second hello",
            [hello.clone(), hello.clone()].concat(),
            "a second hello out of order",
        ),
    ];
    for (i, (name, bytes, reason)) in attacks.iter().enumerate() {
        let mut conn = peers.accept();
        let _ = conn.send_raw(bytes);
        // A valid Hello before the garbage is answered; then the drop.
        if bytes.starts_with(&hello) {
            assert!(matches!(conn.recv(), Message::Welcome { .. }), "{name}");
        }
        conn.expect_closed();
        helper.wait_log_nth(
            &["dropping the connection", reason],
            1,
            Duration::from_secs(10),
        );
        assert!(helper.alive(), "the helper died of {name}");
        assert_eq!(conn.run as usize, i + 1);
    }
    // Truncated: half a frame, then the session closes its end.
    let mut conn = peers.accept();
    let status = frame(&Request::Status);
    conn.send_raw(&[hello.clone(), status[..3].to_vec()].concat())
        .unwrap();
    assert!(matches!(conn.recv(), Message::Welcome { .. }));
    conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
    conn.expect_closed();
    helper.wait_log(&["dropping the connection", "in the middle of a frame"]);

    // After all that, the next session is served normally, and locked.
    let mut conn = peers.accept();
    let state = conn.hello();
    assert!(state.locked);
    conn.send(&Request::Status);
    assert!(conn.next_state().locked);
    assert!(helper.alive());
}

#[test]
fn a_killed_session_is_restarted_locked() {
    let (helper, peers) = start("helper-restart", |o| o.reboot_after_ms = Some(600_000));
    let mut conn = peers.accept();
    conn.hello();
    unlock(&mut conn);
    conn.send(&Request::SetUsb { allow: true });
    assert!(allowed(&conn.next_state()));
    helper.wait_controllers("1", Duration::from_secs(5));

    // Kill the session the way a crash would.
    let pid = helper.session_pid(1);
    // SAFETY: kill(2) on the session the helper started for this test.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    helper.wait_log(&["session killed by signal 9", "restarting it locked"]);
    // USB was denied the moment the session died.
    helper.wait_controllers("0", Duration::from_secs(5));

    let mut conn = peers.accept();
    assert_eq!(conn.run, 2);
    let state = conn.hello();
    assert!(
        state.locked,
        "the restarted session is not locked: {state:?}"
    );
    assert_eq!(state.usb, UsbGrant::Denied);
    assert!(
        state.reboot_in_ms.is_some(),
        "no reboot timer after the crash"
    );
    assert_ne!(helper.session_pid(2), pid);
}

#[test]
fn a_session_that_keeps_dying_is_restarted_with_growing_backoff() {
    palisade_tests::fixture::init_logging();
    let dir = temp_dir("helper-backoff");
    let opts = HelperOptions {
        session: vec!["/bin/false".into()],
        backoff_ms: (50, 400),
        ..HelperOptions::default()
    };
    let helper = HelperRun::start(&dir, &opts);
    let waits: Vec<String> = (1..=5)
        .map(|n| {
            let line = helper.wait_log_nth(
                &["exited with status 1", "restarting it locked in"],
                n,
                Duration::from_secs(20),
            );
            line.rsplit("restarting it locked in ")
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        waits,
        ["50ms", "100ms", "200ms", "400ms", "400ms"],
        "{}",
        helper.log()
    );
}

fn wait_rebooted(helper: &HelperRun) {
    let marker = helper.reboot_marker.clone();
    palisade_tests::helper::wait_until(
        Duration::from_secs(15),
        "the reboot command to run",
        || marker.exists(),
        || helper.log(),
    );
}

#[test]
fn the_reboot_timer_fires_when_locked_too_long_and_not_after_an_unlock() {
    let (helper, peers) = start("helper-reboot", |o| {
        o.reboot_after_ms = Some(2000);
        o.usb_allow_ms = 2600;
    });
    let mut conn = peers.accept();
    let state = conn.hello();
    let first = state
        .reboot_in_ms
        .expect("the timer runs from the start: it starts locked");
    assert!(first <= 2000, "{state:?}");

    // Unlocked in time: the timer is cancelled...
    assert_eq!(conn.authenticate(1, TEST_PASSWORD), AuthOutcome::Accepted);
    assert_eq!(conn.next_state().reboot_in_ms, None);
    // ...and still has not fired once its deadline is well past. The USB
    // allow period, longer than the reboot delay, is the clock: its end is
    // pushed as a state.
    conn.send(&Request::SetUsb { allow: true });
    assert!(allowed(&conn.next_state()));
    assert_eq!(conn.next_state().usb, UsbGrant::Denied);
    assert!(
        !helper.reboot_marker.exists(),
        "the reboot fired although the password was accepted in time"
    );

    // Locked again: a fresh timer, which fires; the reboot command runs
    // once and the pushed state shows no timer any more.
    conn.send(&Request::Lock);
    let state = conn.next_state();
    assert!(state.locked && state.reboot_in_ms.is_some(), "{state:?}");
    wait_rebooted(&helper);
    let state = conn.next_state();
    assert_eq!(state.reboot_in_ms, None, "{state:?}");
    assert_eq!(
        std::fs::read_to_string(&helper.reboot_marker).unwrap(),
        "fired\n"
    );
    assert_eq!(
        helper.count_log(&["rebooting to put the data keys at rest"]),
        1
    );
}

#[test]
fn the_reboot_timer_survives_a_compositor_crash() {
    let (helper, peers) = start("helper-reboot-crash", |o| o.reboot_after_ms = Some(3000));
    let mut conn = peers.accept();
    let before = conn.hello().reboot_in_ms.expect("timer running");
    let pid = helper.session_pid(1);
    // SAFETY: kill(2) on the session the helper started for this test.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let mut conn = peers.accept();
    let after = conn
        .hello()
        .reboot_in_ms
        .expect("the crash stopped the timer");
    assert!(
        after < before,
        "the crash restarted the timer: {before} ms, then {after} ms"
    );
    wait_rebooted(&helper);
}
