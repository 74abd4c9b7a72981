//! Single-colour wl_shm buffers for test surfaces.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::sync::atomic::{AtomicU64, Ordering};

use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_shm::{self, WlShm};
use wayland_client::QueueHandle;

use super::state::State;

/// Creates a `width`x`height` buffer filled with `rgba`, which is straight
/// (non-premultiplied) alpha: it is premultiplied as wl_shm requires and sent as XRGB8888
/// when opaque, ARGB8888 otherwise. Both dimensions must be positive.
pub(super) fn solid_buffer(
    shm: &WlShm,
    qh: &QueueHandle<State>,
    (width, height): (i32, i32),
    rgba: [u8; 4],
) -> WlBuffer {
    let [r, g, b, a] = rgba;
    let premultiply = |c: u8| (u32::from(c) * u32::from(a) + 127) / 255;
    // wl_shm formats are little-endian 32-bit words: 0xAARRGGBB.
    let pixel = (u32::from(a) << 24) | (premultiply(r) << 16) | (premultiply(g) << 8);
    let pixel = (pixel | premultiply(b)).to_le_bytes();
    let format = match a {
        u8::MAX => wl_shm::Format::Xrgb8888,
        _ => wl_shm::Format::Argb8888,
    };
    let stride = width * 4;
    let pixel_count = usize::try_from(width * height).expect("buffer size overflow");
    let file = create_shm_file(&pixel.repeat(pixel_count))
        .expect("failed to create a shared-memory file for a test buffer");

    // The fd is duplicated when the request is queued, so the pool and file can go at once;
    // the server keeps its own mapping for the buffer's lifetime.
    let pool = shm.create_pool(file.as_fd(), stride * height, qh, ());
    let buffer = pool.create_buffer(0, width, height, stride, format, qh, ());
    pool.destroy();
    buffer
}

/// Creates an unlinked file holding `contents`. A plain temp file keeps this module free of
/// extra dependencies (no memfd_create in std); unlinking at once means nothing leaks if a
/// test panics.
fn create_shm_file(contents: &[u8]) -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let serial = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("palisade-test-shm-{}-{serial}", std::process::id());
    let path = std::env::temp_dir().join(name);
    let mut options = OpenOptions::new();
    let mut file = options
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    fs::remove_file(&path)?;
    file.write_all(contents)?;
    Ok(file)
}
