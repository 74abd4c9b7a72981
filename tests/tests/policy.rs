//! Per-identity globals: each identity's registry is exactly what the
//! config's policy grants it, as seen by our own test client and by
//! wayland-info (Debian's wayland-utils), and a global a client was not shown
//! cannot be bound by guessing its name.

use std::collections::BTreeSet;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use palisade::config::Config;
use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_protocols::{Global, GlobalSet, Policy};
use palisade_tests::fixture::{identity, output, require_program, temp_dir, Fixture};
use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::wl_data_device_manager::WlDataDeviceManager;
use wayland_client::protocol::wl_registry::WlRegistry;
use wayland_client::{Connection, Dispatch, QueueHandle};

/// Three identities with three different sets: an app with its own list
/// (a terminal that may inhibit shortcuts but has no clipboard), an app on
/// the `[policy] apps` list (narrowed here so it differs from the default),
/// and the public socket's "unknown".
const CONFIG: &str = r##"
[policy]
apps = [
    "wl_compositor", "wl_subcompositor", "wl_shm", "xdg_wm_base",
    "zxdg_decoration_manager_v1", "wl_seat", "wl_output", "zxdg_output_manager_v1",
    "wl_data_device_manager", "wp_viewporter", "wp_fractional_scale_manager_v1",
    "wp_presentation", "wp_cursor_shape_manager_v1", "zwp_idle_inhibit_manager_v1",
]
unknown = ["wl_compositor", "wl_shm", "xdg_wm_base", "wl_seat"]

[[app]]
id = "browser"
label = "Browser"
color = "#4285f4"
command = ["true"]

[[app]]
id = "term"
label = "Terminal"
color = "#34a853"
command = ["true"]
globals = [
    "wl_compositor", "wl_shm", "xdg_wm_base", "wl_seat", "wl_output",
    "zwp_keyboard_shortcuts_inhibit_manager_v1",
]
"##;

fn config() -> Config {
    Config::parse(CONFIG, Path::new("<policy test config>"))
        .unwrap_or_else(|e| panic!("the test config does not parse: {e}"))
}

fn names(set: GlobalSet) -> BTreeSet<String> {
    set.interfaces().into_iter().map(str::to_owned).collect()
}

/// The three identities and what the policy says each sees.
fn cases(policy: &Policy) -> Vec<(Identity, BTreeSet<String>)> {
    let browser = identity("browser", "Browser", [0x42, 0x85, 0xf4]);
    let term = identity("term", "Terminal", [0x34, 0xa8, 0x53]);
    [browser, term, Identity::unknown()]
        .into_iter()
        .map(|who| {
            let expected = names(policy.for_identity(&who.id));
            (who, expected)
        })
        .collect()
}

#[test]
fn each_identity_sees_exactly_what_its_policy_grants() {
    let config = config();
    let policy = config.policy.clone();
    // The three sets really differ, so a compositor that ignored the
    // identity could not pass.
    let cases = cases(&policy);
    assert_ne!(cases[0].1, cases[1].1);
    assert_ne!(cases[1].1, cases[2].1);
    assert_ne!(cases[0].1, cases[2].1);
    assert!(cases[1]
        .1
        .contains("zwp_keyboard_shortcuts_inhibit_manager_v1"));
    assert!(!cases[1].1.contains("wl_data_device_manager"));

    let mut f = Fixture::with_config(config, vec![output(800, 600, 1.0)]);
    for (who, expected) in cases {
        let c = f.add_client(who.clone());
        let seen: BTreeSet<String> = f.client(c).globals().into_iter().map(|(n, _)| n).collect();
        assert_eq!(seen, expected, "the registry of identity {:?}", who.id);
        for never in palisade_protocols::NEVER_OFFERED {
            assert!(!seen.contains(*never), "{never} offered to {:?}", who.id);
        }
    }
}

#[test]
fn the_shipped_policy_gives_apps_a_browsers_needs_and_unknown_the_minimum() {
    let mut f = Fixture::new(vec![output(800, 600, 1.0)]);
    let app = f.add_client(identity("browser", "Chromium", [0x42, 0x85, 0xf4]));
    let unknown = f.add_client(Identity::unknown());
    let seen = |f: &mut Fixture, c| -> BTreeSet<String> {
        f.client(c).globals().into_iter().map(|(n, _)| n).collect()
    };
    assert_eq!(seen(&mut f, app), names(palisade_protocols::default_apps()));
    assert_eq!(
        seen(&mut f, unknown),
        names(palisade_protocols::default_unknown())
    );
    assert!(!seen(&mut f, unknown).contains("zwp_idle_inhibit_manager_v1"));
    assert!(!seen(&mut f, app).contains("zwp_keyboard_shortcuts_inhibit_manager_v1"));
}

/// A bare wayland-client connection: enough to bind by name.
struct Bare;

impl Dispatch<WlRegistry, GlobalListContents> for Bare {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: wayland_client::protocol::wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<WlDataDeviceManager, ()> for Bare {
    fn event(
        _: &mut Self,
        _: &WlDataDeviceManager,
        _: <WlDataDeviceManager as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

/// Connect as `who`, bind global `name` as wl_data_device_manager whether
/// or not it was advertised, and round-trip. Returns whether it was listed
/// and how the round trip ended.
fn bind_clipboard_as(f: &mut Fixture, who: Identity, name: u32) -> (bool, Result<(), String>) {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    (f.driver.state.pal)
        .insert_client(ours, who, None)
        .expect("inserting");
    let outcome = std::thread::spawn(move || {
        let conn = Connection::from_socket(theirs).expect("connection");
        let (globals, mut queue) = registry_queue_init::<Bare>(&conn).expect("registry");
        let listed = (globals.contents().clone_list().iter()).any(|g| g.name == name);
        let qh = queue.handle();
        let _manager: WlDataDeviceManager = globals.registry().bind(name, 1, &qh, ());
        let result = queue.roundtrip(&mut Bare).map(|_| ());
        (listed, result.map_err(|e| e.to_string()))
    });
    loop {
        f.driver
            .dispatch(Duration::from_millis(10))
            .expect("dispatch");
        if outcome.is_finished() {
            return outcome.join().expect("the binding thread");
        }
    }
}

#[test]
fn a_hidden_global_cannot_be_bound_by_guessing_its_name() {
    let mut f = Fixture::with_config(config(), vec![output(800, 600, 1.0)]);
    // Global names are shared by all clients: learn the clipboard's from an
    // identity that may see it.
    let browser = identity("browser", "Browser", [0x42, 0x85, 0xf4]);
    let c = f.add_client(browser.clone());
    let names = f.client(c).global_names();
    let name = names
        .iter()
        .find(|(interface, _)| interface == "wl_data_device_manager")
        .map(|&(_, name)| name)
        .expect("the browser identity sees the clipboard");

    // The control: the same bind as an identity that may see it works.
    let (listed, result) = bind_clipboard_as(&mut f, browser, name);
    assert!(listed);
    assert_eq!(result, Ok(()), "binding as the browser identity");

    // "unknown" is not shown it, and binding it by name gets the client
    // disconnected (wayland-server posts "Invalid binding"), never a
    // clipboard.
    let (listed, result) = bind_clipboard_as(&mut f, Identity::unknown(), name);
    assert!(!listed, "global {name} was advertised to \"unknown\"");
    assert!(result.is_err(), "binding a hidden global succeeded");
    assert!(Global::from_interface("wl_data_device_manager").is_some());
}

/// Interfaces listed by `wayland-info` run as an app of `who`.
fn wayland_info_as(driver: &mut Driver, who: Identity, out: &Path) -> BTreeSet<String> {
    let command = format!("exec wayland-info > {}", out.display());
    let args = ["sh".to_owned(), "-c".to_owned(), command];
    let pid = driver
        .state
        .pal
        .spawn(&args, &[], who.clone())
        .expect("starting wayland-info");
    // The compositor reaps its children: the pid disappears once it is done.
    driver
        .wait_until(Duration::from_secs(20), "wayland-info to exit", |_| {
            Ok(!Path::new(&format!("/proc/{pid}")).exists())
        })
        .expect("wayland-info runs to the end");
    let text = std::fs::read_to_string(out).expect("wayland-info's output");
    let listed: BTreeSet<String> = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("interface: '"))
        .filter_map(|rest| rest.split('\'').next())
        .map(str::to_owned)
        .collect();
    assert!(
        listed.contains("wl_compositor"),
        "wayland-info as {:?} printed no globals:\n{text}",
        who.id
    );
    listed
}

#[test]
fn wayland_info_agrees_with_the_policy_for_every_identity() {
    require_program("wayland-info");
    palisade_tests::fixture::ensure_runtime_dir();
    let config = config();
    let cases = cases(&config.policy);
    let dir = temp_dir("policy-wayland-info");
    let mut driver = Driver::new(config, vec![output(800, 600, 1.0)]).expect("compositor");
    for (i, (who, expected)) in cases.into_iter().enumerate() {
        let listed = wayland_info_as(&mut driver, who.clone(), &dir.join(format!("{i}.txt")));
        assert_eq!(listed, expected, "wayland-info as identity {:?}", who.id);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
