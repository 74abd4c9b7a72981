//! Storms (requests as fast as the socket takes them) and connections that
//! end in the middle of a frame.

use std::io::Write as _;
use std::time::{Duration, Instant};

use wayland_client::protocol::wl_subcompositor::WlSubcompositor;

use crate::session::{Session, Step};
use crate::Case;

/// How long each storm blows, unless the compositor ends it first.
const STORM: Duration = Duration::from_secs(3);
/// Rounds of requests queued between two flushes. libwayland-client (which
/// wayland-client uses here, through Smithay's winit backend) holds 4 KiB
/// and gives up on the connection if a request does not fit while the
/// socket is full: a batch must stay well under that.
const BATCH: u32 = 32;

pub const COMMIT_STORM: &[Case] = &[
    ("attach-frame-commit", attach_frame_commit),
    ("unmapped-frame-commit", unmapped_frame_commit),
    ("sync-subsurface-commits", sync_subsurface_commits),
    ("damage-without-commit", damage_without_commit),
    ("frames-without-commit", frames_without_commit),
    ("display-sync", display_sync),
];

pub const MID_FRAME_DISCONNECT: &[Case] = &[
    ("close-after-commit", close_after_commit),
    ("close-mid-message", close_mid_message),
    ("close-with-unread-events", close_with_unread_events),
];

/// Queue `batch` and send it, for `STORM`; reads the answers between
/// batches so the compositor has no reason to cut us off but the storm.
fn storm(s: &mut Session, mut batch: impl FnMut(&mut Session)) -> Step<u64> {
    let end = Instant::now() + STORM;
    let mut batches = 0u64;
    let mut flushed = true;
    while Instant::now() < end {
        // As fast as the socket takes it: queueing more while it is full
        // would only pile up in this process.
        if flushed {
            batch(s);
            batches += 1;
        } else {
            s.wait_writable(Duration::from_millis(100));
        }
        flushed = s.pump()?;
    }
    s.roundtrip()?;
    Ok(batches * u64::from(BATCH))
}

fn attach_frame_commit() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let commits = storm(&mut s, |s| {
        for _ in 0..BATCH {
            window.surface.attach(Some(&window.buffer), 0, 0);
            window.surface.damage_buffer(0, 0, 1, 1);
            window.surface.frame(&s.qh, ());
            window.surface.commit();
        }
    })?;
    Ok(format!(
        "{commits} commits in {} s, {} frame callbacks answered",
        STORM.as_secs(),
        s.app.callbacks_done
    ))
}

/// A surface without a role is never shown, so its frame callbacks are
/// never due: a compositor that keeps them all grows without bound.
fn unmapped_frame_commit() -> Step<String> {
    let mut s = Session::connect()?;
    let surface = s.compositor.create_surface(&s.qh, ());
    let commits = storm(&mut s, |s| {
        for _ in 0..BATCH {
            surface.frame(&s.qh, ());
            surface.commit();
        }
    })?;
    // The compositor answers what it will not keep; keeping them all is the
    // unbounded growth this case is about.
    if s.app.callbacks_done == 0 {
        return Err(crate::session::failed(format!(
            "none of the {commits} frame callbacks was answered"
        )));
    }
    Ok(format!(
        "{commits} commits, {} frame callbacks answered",
        s.app.callbacks_done
    ))
}

/// A synchronized subsurface's commits wait for its parent's: each one is
/// cached until then, and this parent never commits.
fn sync_subsurface_commits() -> Step<String> {
    let mut s = Session::connect()?;
    let subcompositor: WlSubcompositor = s.bind(1)?;
    let window = s.map_window()?;
    let child = s.compositor.create_surface(&s.qh, ());
    let _sub = subcompositor.get_subsurface(&child, &window.surface, &s.qh, ());
    let commits = storm(&mut s, |_| {
        for _ in 0..BATCH {
            child.damage_buffer(0, 0, 1, 1);
            child.commit();
        }
    })?;
    Ok(format!("{commits} cached commits were accepted"))
}

fn damage_without_commit() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let mut i = 0;
    let rects = storm(&mut s, |_| {
        for _ in 0..BATCH {
            window.surface.damage_buffer(i % 64, (i / 64) % 48, 1, 1);
            i += 1;
        }
    })?;
    window.surface.attach(Some(&window.buffer), 0, 0);
    window.surface.commit();
    s.roundtrip()?;
    Ok(format!(
        "{rects} damage rectangles in one commit were accepted"
    ))
}

fn frames_without_commit() -> Step<String> {
    let mut s = Session::connect()?;
    let window = s.map_window()?;
    let frames = storm(&mut s, |s| {
        for _ in 0..BATCH {
            window.surface.frame(&s.qh, ());
        }
    })?;
    Ok(format!(
        "{frames} frame requests without a commit were accepted"
    ))
}

/// wl_display.sync never reaches the compositor's own code: the Wayland
/// library answers it. Does one such client starve the others?
fn display_sync() -> Step<String> {
    let mut s = Session::connect()?;
    let display = s.conn.display();
    let syncs = storm(&mut s, |s| {
        for _ in 0..BATCH {
            display.sync(&s.qh, ());
        }
    })?;
    Ok(format!("{syncs} syncs answered"))
}

/// Connections that show a window, commit a new frame and vanish before the
/// compositor has answered.
const CYCLES: usize = 30;

fn close_after_commit() -> Step<String> {
    for _ in 0..CYCLES {
        let mut s = Session::connect()?;
        let window = s.map_window()?;
        let (buffer, _file) = s.buffer((32, 32))?;
        window.surface.attach(Some(&buffer), 0, 0);
        window.surface.damage_buffer(0, 0, 32, 32);
        window.surface.frame(&s.qh, ());
        window.surface.commit();
        let _ = s.conn.flush();
    }
    Ok(format!("{CYCLES} connections closed right after a commit"))
}

/// Half of a wl_surface.commit, then the socket closes.
fn close_mid_message() -> Step<String> {
    for _ in 0..CYCLES {
        let mut s = Session::connect()?;
        let window = s.map_window()?;
        let _ = s.conn.flush();
        let fd = std::os::fd::AsFd::as_fd(&s.conn)
            .try_clone_to_owned()
            .map_err(crate::session::failed)?;
        let mut raw = std::os::unix::net::UnixStream::from(fd);
        let id = wayland_client::Proxy::id(&window.surface).protocol_id();
        // The sender and half the header of wl_surface.commit (opcode 6).
        let _ = raw.write_all(&id.to_ne_bytes());
        let _ = raw.write_all(&[6, 0]);
    }
    Ok(format!("{CYCLES} connections closed mid-message"))
}

fn close_with_unread_events() -> Step<String> {
    for _ in 0..CYCLES {
        let mut s = Session::connect()?;
        let window = s.map_window()?;
        for _ in 0..500 {
            s.conn.display().sync(&s.qh, ());
        }
        window.surface.frame(&s.qh, ());
        window.surface.commit();
        let _ = s.conn.flush();
    }
    Ok(format!("{CYCLES} connections closed with answers unread"))
}
