//! No public Wayland socket unless the config opens one; clients arriving on
//! it get the "unknown" identity. Its own test binary, because the socket's
//! place comes from XDG_RUNTIME_DIR, which is process-wide.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use palisade::config::Config;
use palisade::scenario::driver::Driver;
use palisade_tests::fixture::{init_logging, output, require_program};

/// Kills the client we started, also when an assertion fails.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sockets_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("reading the runtime dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("wayland-") && !n.ends_with(".lock"))
        .collect()
}

#[test]
fn public_socket_only_when_configured_and_its_clients_are_unknown() {
    init_logging();
    require_program("weston-simple-shm");
    let dir = std::env::temp_dir().join(format!("palisade-public-socket-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("runtime dir");
    std::env::set_var("XDG_RUNTIME_DIR", &dir);

    // The default config: nothing to connect to.
    let d =
        Driver::new(Config::embedded_default(), vec![output(800, 600, 1.0)]).expect("compositor");
    assert_eq!(d.state.pal.public_socket, None);
    assert!(
        sockets_in(&dir).is_empty(),
        "a socket appeared: {:?}",
        sockets_in(&dir)
    );
    drop(d);

    // Opened by the config: a client that finds it is "unknown".
    let config =
        Config::parse("public_socket = true\n", &PathBuf::from("inline.toml")).expect("config");
    let mut d = Driver::new(config, vec![output(800, 600, 1.0)]).expect("compositor");
    let name = d
        .state
        .pal
        .public_socket
        .clone()
        .expect("the public socket is open");
    assert_eq!(sockets_in(&dir), vec![name.clone()]);
    let client = Command::new("weston-simple-shm")
        .env("WAYLAND_DISPLAY", &name)
        .env("XDG_RUNTIME_DIR", &dir)
        .env_remove("WAYLAND_SOCKET")
        .stdout(Stdio::null())
        .spawn()
        .expect("starting weston-simple-shm");
    let _reap = Reap(client);
    let state = d
        .wait_state(
            Duration::from_secs(10),
            "a window from the public socket",
            |s| s.windows.len() == 1,
        )
        .expect("the client maps a window");
    assert_eq!(state.windows[0].identity, "unknown");
    assert_eq!(state.windows[0].label, "Unknown");
    assert_eq!(
        state.windows[0].pid, None,
        "nobody launched it, so no pid is claimed"
    );
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
}
