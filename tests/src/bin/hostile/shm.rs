//! Shared-memory cases: pools larger than their memory, pools larger than
//! anything sensible, buffers outside their pool, and descriptor floods.

use std::os::fd::AsFd as _;
use std::time::Duration;

use wayland_client::protocol::wl_seat::WlSeat;
use wayland_client::protocol::wl_shm;

use crate::session::{failed, memfd, Session, Step, WINDOW};
use crate::Case;

const MIB: i32 = 1 << 20;

pub const HUGE_POOL: &[Case] = &[
    ("pool-2gib-on-4kib-file", pool_2gib_on_small_file),
    ("pool-past-1gib-real-file", pool_past_1gib_real_file),
    ("buffers-8gib-in-total", buffers_8gib_in_total),
    ("resize-to-2gib", resize_to_2gib),
];

pub const SHORT_BUFFER: &[Case] = &[
    ("pool-larger-than-file", pool_larger_than_file),
    ("buffer-beyond-pool", buffer_beyond_pool),
    ("offset-beyond-pool", offset_beyond_pool),
    ("file-shrunk-after-attach", file_shrunk_after_attach),
];

pub const FD_FLOOD: &[Case] = &[
    ("pool-flood", pool_flood),
    ("stray-descriptors", crate::raw::stray_fds),
    ("keyboard-flood", keyboard_flood),
    ("connection-flood", crate::raw::connection_flood),
];

/// A pool of `size` bytes on a file of `file_size` bytes.
fn pool(
    s: &Session,
    file_size: u64,
    size: i32,
) -> Step<wayland_client::protocol::wl_shm_pool::WlShmPool> {
    let file = memfd(file_size)?;
    Ok(s.shm.create_pool(file.as_fd(), size, &s.qh, ()))
}

fn pool_2gib_on_small_file() -> Step<String> {
    let mut s = Session::connect()?;
    let _pool = pool(&s, 4096, i32::MAX)?;
    s.roundtrip()?;
    Ok("a 2 GiB pool on a 4 KiB file was accepted".into())
}

/// A real (sparse) file of 1 GiB and a page, all of it a pool.
fn pool_past_1gib_real_file() -> Step<String> {
    let mut s = Session::connect()?;
    let size = (1 << 30) + 4096;
    let _pool = pool(&s, size as u64, size)?;
    s.roundtrip()?;
    Ok("a pool of 1 GiB and a page was accepted".into())
}

/// 40 pools of 200 MiB, each all one buffer (8192x6400), each pool object
/// destroyed at once: only a total per client can stop it.
fn buffers_8gib_in_total() -> Step<String> {
    let mut s = Session::connect()?;
    let mut buffers = Vec::new();
    for _ in 0..40 {
        let pool = pool(&s, 200 * MIB as u64, 200 * MIB)?;
        let stride = 8192 * 4;
        buffers.push(pool.create_buffer(
            0,
            8192,
            200 * MIB / stride,
            stride,
            wl_shm::Format::Xrgb8888,
            &s.qh,
            (),
        ));
        pool.destroy();
        s.roundtrip()?;
    }
    Ok(format!(
        "{} buffers of 200 MiB were accepted",
        buffers.len()
    ))
}

fn resize_to_2gib() -> Step<String> {
    let mut s = Session::connect()?;
    let pool = pool(&s, 4096, 4096)?;
    s.roundtrip()?;
    pool.resize(i32::MAX);
    s.roundtrip()?;
    Ok("a 4 KiB file's pool was resized to 2 GiB".into())
}

fn pool_larger_than_file() -> Step<String> {
    let mut s = Session::connect()?;
    let _pool = pool(&s, 4096, MIB)?;
    s.roundtrip()?;
    Ok("a 1 MiB pool on a 4 KiB file was accepted".into())
}

fn buffer_beyond_pool() -> Step<String> {
    let mut s = Session::connect()?;
    let pool = pool(&s, 4096, 4096)?;
    let _buffer = pool.create_buffer(0, 64, 64, 256, wl_shm::Format::Xrgb8888, &s.qh, ());
    s.roundtrip()?;
    Ok("a 16 KiB buffer in a 4 KiB pool was accepted".into())
}

fn offset_beyond_pool() -> Step<String> {
    let mut s = Session::connect()?;
    let pool = pool(&s, 4096, 4096)?;
    let _buffer = pool.create_buffer(4096, 1, 1, 4, wl_shm::Format::Xrgb8888, &s.qh, ());
    s.roundtrip()?;
    Ok("a buffer past the end of its pool was accepted".into())
}

/// A shown buffer whose file is then truncated to nothing: reading it
/// faults (SIGBUS) unless the compositor guards the access.
fn file_shrunk_after_attach() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let (buffer, file) = s.buffer(WINDOW)?;
    window.surface.attach(Some(&buffer), 0, 0);
    window.surface.damage_buffer(0, 0, WINDOW.0, WINDOW.1);
    window.surface.commit();
    s.roundtrip()?;
    file.set_len(0).map_err(failed)?;
    for _ in 0..3 {
        let before = s.app.callbacks_done;
        window.surface.damage_buffer(0, 0, WINDOW.0, WINDOW.1);
        window.surface.frame(&s.qh, ());
        window.surface.commit();
        wait_callbacks(&mut s, before + 1)?;
    }
    Ok("three frames were shown from a truncated file".into())
}

/// Pump until `n` wl_callback.done events arrived, or fail the case.
fn wait_callbacks(s: &mut Session, n: u64) -> Step<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.app.callbacks_done < n {
        if std::time::Instant::now() > deadline {
            return Err(failed("no frame callback within 10 s"));
        }
        s.pump()?;
        s.wait_io(Duration::from_millis(50));
    }
    Ok(())
}

/// 25,000 pools, none destroyed: each holds a descriptor in the compositor,
/// more than its usual descriptor limit.
fn pool_flood() -> Step<String> {
    let mut s = Session::connect()?;
    let file = memfd(4096)?;
    let mut pools = Vec::new();
    for i in 0..25_000 {
        pools.push(s.shm.create_pool(file.as_fd(), 4096, &s.qh, ()));
        // The client library holds at most 28 descriptors before it must
        // send them: send often.
        if i % 20 == 19 {
            s.pump()?;
            s.wait_io(Duration::from_millis(10));
        }
    }
    s.roundtrip()?;
    Ok(format!("{} pools were accepted", pools.len()))
}

/// wl_seat.get_keyboard 5,000 times without reading: each answer carries the
/// keymap's descriptor, and unread descriptors count against the sender.
fn keyboard_flood() -> Step<String> {
    let mut s = Session::connect()?;
    let seat: WlSeat = s.bind(7)?;
    s.roundtrip()?;
    for i in 0..5_000 {
        let _keyboard = seat.get_keyboard(&s.qh, ());
        if i % 200 == 199 {
            // Flush only: reading is what this case refuses to do.
            if let Err(e) = s.conn.flush() {
                if !matches!(&e, wayland_client::backend::WaylandError::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
                {
                    return Err(s.cut(e));
                }
            }
        }
    }
    s.roundtrip()?;
    Ok("5000 keyboards were handed out".into())
}
