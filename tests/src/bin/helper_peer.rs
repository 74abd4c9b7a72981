//! `palisade-helper-peer`: the session the helper's tests start in place of
//! the compositor (same fd, same user, same environment). It records who it
//! is, then hands its helper fd to the test over SCM_RIGHTS, so the test
//! process itself can play a well-behaved or a hostile compositor on the
//! real helper's real socket.
//!
//! Environment: PEER_DIR receives `run.N.json` (N counts the runs, so a
//! restarted session writes the next one); PEER_SOCKET is the test's
//! listening socket. The peer then waits until the test closes its side and
//! exits; killing it is how a test simulates a compositor crash.

use std::io::Read;
use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

fn main() {
    let dir = PathBuf::from(std::env::var("PEER_DIR").unwrap_or_else(|_| fail("PEER_DIR unset")));
    let fd: RawFd = std::env::var("PALISADE_HELPER_FD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail("PALISADE_HELPER_FD unset"));
    let run = next_run(&dir);
    write_identity(&dir, run, fd);
    let socket = std::env::var("PEER_SOCKET").unwrap_or_else(|_| fail("PEER_SOCKET unset"));
    let mut test = UnixStream::connect(&socket)
        .unwrap_or_else(|e| fail(&format!("connecting to the test at {socket}: {e}")));
    palisade_tests::helper::send_fd(&test, fd, run)
        .unwrap_or_else(|e| fail(&format!("passing the helper fd: {e}")));
    // Keep our copy of the helper fd open (closing it would not close the
    // connection, the test holds a duplicate) and wait for the test.
    let mut sink = [0u8; 64];
    while matches!(test.read(&mut sink), Ok(n) if n > 0) {}
}

/// Counts runs with a file the previous runs left.
fn next_run(dir: &Path) -> u32 {
    let counter = dir.join("runs");
    let run = std::fs::read_to_string(&counter)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    let _ = std::fs::write(&counter, run.to_string());
    run
}

/// What the tests check about the session's process: its ids, groups and
/// environment, and what the helper fd is.
fn write_identity(dir: &Path, run: u32, fd: RawFd) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().map(String::from).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let info = serde_json::json!({
        "pid": std::process::id(),
        "uid": field("Uid:"),
        "gid": field("Gid:"),
        "groups": field("Groups:"),
        "env": env,
        "fd_target": std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        "xdg_runtime_dir": std::env::var("XDG_RUNTIME_DIR").unwrap_or_default(),
    });
    let _ = std::fs::write(dir.join(format!("run.{run}.json")), info.to_string());
}

fn fail(msg: &str) -> ! {
    // The helper's stderr is the test's log; this is how a test learns why.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("palisade-helper-peer: {msg}");
    }
    std::process::exit(3)
}
