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
    }
}

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

/// Writes premultiplied RGBA as a PNG. The panel is opaque, so
/// premultiplied and straight alpha are the same bytes.
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(rgba).map_err(|e| e.to_string())
}

/// Reads an 8-bit RGBA PNG as (width, height, pixels).
pub fn read_png(path: &Path) -> Result<(u32, u32, Vec<u8>), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("{}: not 8-bit RGBA", path.display()));
    }
    buf.truncate(info.buffer_size());
    Ok((info.width, info.height, buf))
}
