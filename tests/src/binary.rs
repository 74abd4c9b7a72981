//! Locating the workspace's binaries (`palisade`, `palisade-helper`) for
//! black-box tests: each is built once per test binary, with the profile the
//! tests run under.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The path of an up-to-date `palisade` binary, built once per test binary.
pub fn palisade_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("palisade-compositor", "palisade"))
}

/// The path of an up-to-date `palisade-helper` binary.
pub fn helper_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("palisade-helper", "palisade-helper"))
}

fn build(package: &str, bin: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives in the workspace");
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(workspace).args([
        "build",
        "--package",
        package,
        "--bin",
        bin,
        "--message-format=json-render-diagnostics",
    ]);
    // This test runs from <target>/<profile dir>/deps/: build the same way.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(OsStr::to_str);
    match profile_dir {
        Some("debug") | None => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(other) => {
            cargo.args(["--profile", other]);
        }
    }
    let out = cargo
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running cargo build for {bin}: {e}"));
    assert!(
        out.status.success(),
        "cargo build of {bin} failed ({})",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter(|msg| msg["target"]["name"] == bin)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no executable for {bin}"));
    assert!(path.exists(), "{} does not exist", path.display());
    path
}
