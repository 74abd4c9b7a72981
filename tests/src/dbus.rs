//! A private dbus-daemon for tests that talk D-Bus: stand-in services claim
//! the real names on it, and the compositor is pointed at its address.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A dbus-daemon of our own on a socket in a fresh directory; killed (by its
/// PID, through `Child`) and cleaned up on drop, also when a test fails.
pub struct PrivateBus {
    daemon: Child,
    pub address: String,
    dir: PathBuf,
}

impl PrivateBus {
    pub fn start() -> PrivateBus {
        Self::start_with("private-bus.conf")
    }

    /// A bus with the named configuration from tests/data/dbus.
    pub fn start_with(config: &str) -> PrivateBus {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "palisade-dbus-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the bus directory");
        let config = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/dbus")
            .join(config);
        // The daemon's own messages (rejected calls among them) go to a file
        // the tests can read.
        let log = std::fs::File::create(dir.join("daemon.log")).expect("creating the daemon log");
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .args(["--print-address", "--nofork", "--nopidfile"])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("starting dbus-daemon (Debian package dbus-daemon)");
        // The daemon prints its address once it listens: no sleeping.
        let mut line = String::new();
        if let Some(stdout) = daemon.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let address = line.trim().to_string();
        let bus = PrivateBus {
            daemon,
            address,
            dir,
        };
        assert!(
            bus.address.starts_with("unix:"),
            "dbus-daemon printed no address; its log says: {}",
            bus.log()
        );
        bus
    }

    /// Stops the daemon, as if the system bus went away.
    pub fn kill(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }

    /// What the daemon has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
