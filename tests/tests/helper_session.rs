//! The real compositor under the real helper: `palisade-helper` (root)
//! starts `palisade scenario` as the test user with the helper fd inherited;
//! the scenario unlocks through PAM, presses the USB and lock shortcuts with
//! foot focused, and dumps its state. foot runs with WAYLAND_DEBUG=1, so its
//! own log (which reaches the helper's stderr) lists every keyboard event it
//! received.

use std::path::Path;
use std::time::Duration;

use palisade_tests::binary::palisade_binary;
use palisade_tests::fixture::{data_file, require_program, temp_dir};
use palisade_tests::helper::{
    ensure_test_user, give_to_test_user, unix_sockets_of, wait_until, HelperOptions, HelperRun,
    TEST_PASSWORD,
};

const KEY_U: u64 = 22;
const KEY_L: u64 = 38;
const KEY_A: u64 = 30;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("writing a test file");
}

fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("state JSON")
}

/// The evdev key codes of every `wl_keyboard.key` event foot logged.
fn foot_key_events(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("wl_keyboard@") && l.contains(".key("))
        .filter_map(|l| {
            let args = l.split(".key(").nth(1)?;
            // key(serial, time, key, state)
            args.split(',').nth(2)?.trim().parse().ok()
        })
        .collect()
}

#[test]
fn palisade_under_the_helper_runs_as_the_user_and_foot_never_sees_the_privileged_keys() {
    require_program("foot");
    palisade_tests::fixture::init_logging();
    let uid = ensure_test_user();
    let dir = temp_dir("helper-session");
    let work = dir.join("session");
    std::fs::create_dir_all(&work).unwrap();
    let foot_ini = data_file("foot.ini");
    std::fs::copy(&foot_ini, work.join("foot.ini")).expect("foot.ini");
    write(
        &work,
        "config.toml",
        &format!(
            "[[app]]\nid = \"term\"\nlabel = \"Terminal\"\ncolor = \"#34a853\"\n\
             command = [\"foot\", \"--config={}\", \"sh\"]\nenv = {{ WAYLAND_DEBUG = \"1\" }}\n",
            work.join("foot.ini").display()
        ),
    );
    let out = work.join("out");
    write(
        &work,
        "scenario.toml",
        &format!(
            r#"config = "config.toml"
[[output]]
size = [1280, 800]
[[step]]
wait_helper = "connected"
[[step]]
state = "{out}/locked.json"
[[step]]
authenticate = "{TEST_PASSWORD}"
[[step]]
launch = "term"
[[step]]
wait_windows = 1
timeout_ms = 20000
[[step]]
type = "a"
[[step]]
key = "Super+U"
[[step]]
wait_usb = "allowed"
[[step]]
state = "{out}/allowed.json"
[[step]]
wait_ms = 4000
[[step]]
key = "Super+U"
[[step]]
wait_usb = "denied"
[[step]]
key = "Super+U"
[[step]]
wait_usb = "allowed"
[[step]]
key = "Super+L"
[[step]]
wait_usb = "denied"
[[step]]
state = "{out}/after-lock.json"
[[step]]
wait_ms = 120000
"#,
            out = out.display()
        ),
    );
    give_to_test_user(&work);

    let opts = HelperOptions {
        session: vec![
            palisade_binary().display().to_string(),
            "scenario".into(),
            work.join("scenario.toml").display().to_string(),
        ],
        env: vec![("RUST_LOG".into(), "info".into())],
        ..HelperOptions::default()
    };
    let helper = HelperRun::start(&dir, &opts);
    let detail = || helper.log();

    // Locked at the start, as the user, connected to the helper and only to
    // it.
    wait_until(
        Duration::from_secs(30),
        "the first state dump",
        || out.join("locked.json").exists(),
        detail,
    );
    let locked = read_json(&out.join("locked.json"));
    assert_eq!(
        locked["uid"], uid,
        "the compositor does not run as the user"
    );
    assert_eq!(
        locked["locked"], true,
        "the compositor did not start locked"
    );
    let h = &locked["helper"];
    assert_eq!(h["connected"], true, "{h}");
    assert_eq!(h["locked"], true, "the session did not start locked: {h}");
    assert_eq!(h["usb"], "denied", "{h}");
    assert_eq!(h["peer_uid"], 0, "{h}");
    assert_eq!(h["peer_pid"], helper.pid(), "the fd leads elsewhere: {h}");
    // The compositor holds no unix socket with a path (no public socket is
    // configured): nothing on disk leads to it or, through it, to the helper.
    let compositor = helper.session_pid(1);
    for (_, path) in unix_sockets_of(compositor) {
        assert!(
            path.is_empty(),
            "the compositor holds a socket bound to {path:?}"
        );
    }

    // Super+U (after the password): the helper flipped the stand-in sysfs.
    wait_until(
        Duration::from_secs(60),
        "the state dump after Super+U",
        || out.join("allowed.json").exists(),
        detail,
    );
    let allowed = read_json(&out.join("allowed.json"));
    assert_eq!(allowed["helper"]["usb"], "allowed", "{allowed}");
    assert_eq!(allowed["helper"]["locked"], false, "{allowed}");
    assert_eq!(
        allowed["locked"], false,
        "the password did not unlock the screen"
    );
    let focused: Vec<&serde_json::Value> = allowed["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .filter(|w| w["focused"] == true)
        .collect();
    assert!(
        focused.len() == 1 && focused[0]["identity"] == "term",
        "foot is not the focused window: {allowed}"
    );
    helper.wait_controllers("1", Duration::from_secs(3));

    // Toggled off, on again, then Super+L: denied at once.
    wait_until(
        Duration::from_secs(60),
        "the state dump after Super+L",
        || out.join("after-lock.json").exists(),
        detail,
    );
    let after = read_json(&out.join("after-lock.json"));
    assert_eq!(after["helper"]["locked"], true, "{after}");
    assert_eq!(after["locked"], true, "Super+L did not lock the screen");
    assert_eq!(after["helper"]["usb"], "denied", "{after}");
    helper.wait_controllers("0", Duration::from_secs(5));
    assert_eq!(
        helper.count_log(&["USB request: toggle-usb"]),
        3,
        "{}",
        helper.log()
    );
    // Twice: the locked start (the lock screen is the login screen), then
    // Super+L.
    assert_eq!(helper.count_log(&["the session reports a lock"]), 2);

    // foot got the typed "a" (so its event log works), and not one event
    // of the U or L keys: no press, no release, hence no client-side repeat.
    let keys = foot_key_events(&helper.log());
    assert!(
        keys.contains(&KEY_A),
        "foot's WAYLAND_DEBUG log shows no key events at all; the check would be blind: {keys:?}"
    );
    assert!(
        !keys.contains(&KEY_U) && !keys.contains(&KEY_L),
        "a privileged key reached foot: {keys:?}"
    );
    assert!(
        !helper.log().contains(TEST_PASSWORD),
        "the password reached a log"
    );
}

/// The real helper running `palisade scenario` as the test user, with the
/// scenario `scenario(out)` writes; returns the helper and `out`, the
/// directory the scenario's state dumps go to.
fn scenario_under_helper(
    test: &str,
    scenario: fn(&Path) -> String,
    opts: HelperOptions,
) -> (HelperRun, std::path::PathBuf) {
    palisade_tests::fixture::init_logging();
    ensure_test_user();
    let dir = temp_dir(test);
    let work = dir.join("session");
    std::fs::create_dir_all(&work).unwrap();
    let out = work.join("out");
    write(&work, "scenario.toml", &scenario(&out));
    give_to_test_user(&work);
    let opts = HelperOptions {
        session: vec![
            palisade_binary().display().to_string(),
            "scenario".into(),
            work.join("scenario.toml").display().to_string(),
        ],
        ..opts
    };
    (HelperRun::start(&dir, &opts), out)
}

/// A scenario for one 640x480 output that waits for the helper, runs
/// `steps` (TOML `[[step]]` tables) and then waits to be killed.
fn wait_to_be_killed(steps: &str) -> String {
    format!(
        "[[output]]\nsize = [640, 480]\n[[step]]\nwait_helper = \"connected\"\n{steps}\
         [[step]]\nwait_ms = 120000\n"
    )
}

/// Records the helper's view before and after unlocking.
fn unlock_and_wait_scenario(out: &Path) -> String {
    let out = out.display();
    wait_to_be_killed(&format!(
        "[[step]]\nstate = \"{out}/before.json\"\n\
         [[step]]\nauthenticate = \"{TEST_PASSWORD}\"\n\
         [[step]]\nstate = \"{out}/after.json\"\n"
    ))
}

#[test]
fn killing_palisade_brings_it_back_locked() {
    let (helper, out) = scenario_under_helper(
        "helper-session-kill",
        unlock_and_wait_scenario,
        HelperOptions::default(),
    );
    let (before, after) = (out.join("before.json"), out.join("after.json"));
    wait_until(
        Duration::from_secs(30),
        "the unlocked state dump",
        || after.exists(),
        || helper.log(),
    );
    assert_eq!(read_json(&before)["helper"]["locked"], true);
    assert_eq!(
        read_json(&after)["helper"]["locked"],
        false,
        "the password did not unlock"
    );
    std::fs::remove_file(&before).unwrap();
    std::fs::remove_file(&after).unwrap();

    let first = helper.session_pid(1);
    // SAFETY: kill(2) on the compositor the helper started for this test.
    assert_eq!(unsafe { libc::kill(first as i32, libc::SIGKILL) }, 0);
    helper.wait_log(&["session killed by signal 9", "restarting it locked"]);
    let second = helper.session_pid(2);
    assert_ne!(first, second);
    wait_until(
        Duration::from_secs(30),
        "the restarted compositor's first dump",
        || before.exists(),
        || helper.log(),
    );
    let state = read_json(&before);
    assert_eq!(
        state["helper"]["locked"], true,
        "the restarted compositor came back unlocked: {state}"
    );
    assert_eq!(state["helper"]["peer_pid"], helper.pid());
}

/// Dumps the state once the helper's countdown has run for a while.
fn locked_dump_scenario(out: &Path) -> String {
    wait_to_be_killed(&format!(
        "[[step]]\nwait_ms = 2500\n[[step]]\nstate = \"{}/locked.json\"\n",
        out.display()
    ))
}

#[test]
fn killing_palisade_while_locked_keeps_the_reboot_timer_running_until_it_fires() {
    let (helper, out) = scenario_under_helper(
        "helper-session-reboot",
        locked_dump_scenario,
        HelperOptions {
            reboot_after_ms: Some(9000),
            ..HelperOptions::default()
        },
    );
    let dump = out.join("locked.json");
    let wait_dump = |what: &str| {
        wait_until(
            Duration::from_secs(30),
            what,
            || dump.exists(),
            || helper.log(),
        );
        let state = read_json(&dump);
        std::fs::remove_file(&dump).unwrap();
        state
    };
    // The session starts locked: the lock screen is the login screen.
    let first = wait_dump("the first compositor's dump");
    assert_eq!(first["locked"], true, "{first}");
    assert_eq!(first["helper"]["locked"], true, "{first}");
    let before = first["helper"]["reboot_in_s"]
        .as_u64()
        .unwrap_or_else(|| panic!("no reboot countdown while locked: {first}"));

    let pid = helper.session_pid(1);
    // SAFETY: kill(2) on the compositor the helper started for this test.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    helper.wait_log(&["session killed by signal 9", "restarting it locked"]);
    let second = wait_dump("the restarted compositor's dump");
    assert_eq!(
        second["locked"], true,
        "the restart came back unlocked: {second}"
    );
    assert_eq!(second["helper"]["locked"], true, "{second}");
    let after = second["helper"]["reboot_in_s"]
        .as_u64()
        .unwrap_or_else(|| panic!("the crash stopped the reboot countdown: {second}"));
    assert!(
        after < before,
        "the crash restarted the reboot countdown: {before} s, then {after} s"
    );
    assert!(
        !helper.reboot_marker.exists(),
        "the reboot fired before its time"
    );
    // The countdown runs out with the restarted compositor still locked.
    wait_until(
        Duration::from_secs(30),
        "the reboot command to run",
        || helper.reboot_marker.exists(),
        || helper.log(),
    );
    assert_eq!(
        std::fs::read_to_string(&helper.reboot_marker).unwrap(),
        "fired\n"
    );
}
