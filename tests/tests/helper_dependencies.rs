//! The helper runs as root: its dependency tree must hold no graphics,
//! Wayland, input or D-Bus crate, and stay small enough to audit.

use std::process::Command;

/// Crate name prefixes that have no business in a root daemon.
const FORBIDDEN: &[&str] = &[
    "smithay",
    "wayland",
    "xkbcommon",
    "tiny-skia",
    "cosmic-text",
    "fontdb",
    "drm",
    "gbm",
    "winit",
    "pixman",
    "input",
    "udev",
    "libseat",
    "zbus",
    "calloop",
    "glow",
    "khronos",
    "x11",
    "palisade-compositor",
    "palisade-panel",
    "palisade-lockscreen",
];

#[test]
fn the_helper_depends_on_no_graphics_or_wayland_crate() {
    let out = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "tree",
            "--package",
            "palisade-helper",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    crates.sort();
    crates.dedup();
    assert!(
        crates.iter().any(|c| c == "palisade-shortcuts"),
        "{crates:?}"
    );
    let bad: Vec<&String> = crates
        .iter()
        .filter(|c| FORBIDDEN.iter().any(|f| c.starts_with(f)))
        .collect();
    assert!(bad.is_empty(), "the helper pulls in {bad:?}");
    // 35 crates today (serde, toml, tracing, postcard, libc, zeroize and
    // their own dependencies); a jump means someone added something big.
    assert!(crates.len() <= 45, "{} crates: {crates:?}", crates.len());
}
