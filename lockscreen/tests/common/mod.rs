//! The fixed view shared by the drawing tests, and small helpers for
//! reading and writing RGBA PNGs.

#![allow(dead_code)] // Each test binary uses a different subset.

use palisade_lockscreen::{LockView, Phase, UsbState};
use std::path::{Path, PathBuf};

/// The reference view: a wrong password, a wait, the reboot countdown.
pub fn sample_view() -> LockView {
    LockView {
        time: "12:34".into(),
        user: "alice".into(),
        dots: 5,
        message: Some("Wrong password".into()),
        retry_in_s: Some(30),
        reboot_in_s: Some(64_800),
        usb: UsbState::Denied,
        phase: Phase::Locked,
    }
}

pub fn theme(name: &str) -> palisade_themes::Theme {
    palisade_themes::Theme::builtin(name).unwrap_or_else(|| panic!("no builtin theme {name}"))
}

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

#[path = "../../../panel/tests/common/png_io.rs"]
mod png_io;
#[allow(unused_imports)] // Each test binary uses a different subset.
pub use png_io::{blessing, differing_pixels, read_png, write_png, MAX_DIFFERING_PIXELS};
