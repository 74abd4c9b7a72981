//! The fixed panel state shared by the tests and the benchmark, and small
//! helpers for reading and writing RGBA PNGs.

#![allow(dead_code)] // Each test binary uses a different subset.

use palisade_panel::{BatteryState, PanelState, UsbState, WifiState, WindowEntry};
use std::path::{Path, PathBuf};

/// Three windows from three identities, the second focused; a fixed clock.
pub fn sample_state() -> PanelState {
    PanelState {
        windows: vec![
            WindowEntry {
                id: 1,
                label: "Chromium".into(),
                color: [0x42, 0x85, 0xf4],
                title: "Palisade design notes - Google Docs".into(),
                focused: false,
                attention: false,
            },
            WindowEntry {
                id: 2,
                label: "Dev VM".into(),
                color: [0x34, 0xa8, 0x53],
                title: "ssh dev-vm: ~/src/palisade (main)".into(),
                focused: true,
                attention: false,
            },
            WindowEntry {
                id: 3,
                label: "Files".into(),
                color: [0xea, 0x43, 0x35],
                title: "Downloads".into(),
                focused: false,
                attention: true,
            },
        ],
        focused: Some(("Dev VM".into(), [0x34, 0xa8, 0x53])),
        usb: UsbState::HelperNotConnected,
        wifi: WifiState::Unavailable,
        battery: BatteryState::Unavailable,
        clock: "12:34".into(),
        locked: false,
        clipboard: None,
    }
}

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

mod png_io;
#[allow(unused_imports)] // Each test binary uses a different subset.
pub use png_io::{blessing, differing_pixels, read_png, write_png, MAX_DIFFERING_PIXELS};
