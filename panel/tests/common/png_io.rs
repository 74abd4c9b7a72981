//! Reference-image I/O, shared by the panel's and the lock screen's tests
//! (the lock screen's include this file by path).

use std::path::Path;

/// Writes premultiplied RGBA as a PNG. The panel and the lock screen are
/// opaque, so premultiplied and straight alpha are the same bytes.
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

/// A channel may be this far off (other CPUs, SIMD paths)...
pub const CHANNEL_TOLERANCE: u8 = 2;
/// ...and this many pixels may be off by more. A clock moved by one pixel,
/// or one password dot more, changes far more than this.
pub const MAX_DIFFERING_PIXELS: usize = 8;

/// `PALISADE_BLESS=1`: write the reference images instead of comparing.
pub fn blessing() -> bool {
    std::env::var("PALISADE_BLESS").is_ok_and(|v| v == "1")
}

/// Number of pixels that differ by more than the channel tolerance.
pub fn differing_pixels(a: &[u8], b: &[u8]) -> usize {
    a.chunks_exact(4)
        .zip(b.chunks_exact(4))
        .filter(|(p, q)| {
            p.iter()
                .zip(q.iter())
                .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE)
        })
        .count()
}
