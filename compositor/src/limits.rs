//! Limits that keep a hostile client contained.
//!
//! Every client is untrusted, including the ones the compositor launched (a
//! compromised browser is the likely attacker). Whatever a client sends, the
//! compositor's memory, descriptors and time must stay bounded, and other
//! clients must keep getting frames. Each limit below bounds something that
//! would otherwise grow with the client's requests; past it the client is
//! disconnected with a protocol error naming the limit (and a warning in our
//! log with its identity), except where the excess can be dropped without
//! changing what the client sees (damage, frame callbacks of hidden
//! surfaces).
//!
//! The numbers sit far above what real clients use (Chromium, foot: see the
//! README's "Hostile clients" section for what they were measured at) and
//! far below what would hurt the compositor.
//!
//! What is checked where: the requests themselves in `handlers/limits.rs`
//! (our `Dispatch` wrappers, which then forward to Smithay), the per-surface
//! state after each applied commit in [`after_commit`].

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use std::collections::HashMap;
use std::sync::Mutex;

use std::ffi::CString;

use smithay::reexports::wayland_server::backend::{ClientId, ObjectId};
use smithay::reexports::wayland_server::protocol::__interfaces::WL_DISPLAY_INTERFACE;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, DisplayHandle, Resource};
use smithay::utils::Rectangle;
use smithay::wayland::compositor::{with_states, Damage, SurfaceAttributes};
use tracing::warn;

use crate::state::ClientState;

/// Largest wl_shm pool, created or resized: twice the 512 MiB that foot
/// maps to scroll through (a sparse file it moves its buffers along), and
/// eight 8K buffers. A pool is address space in the compositor; what it
/// may read is bounded by `MAX_SHM_BUFFER_BYTES`.
pub const MAX_POOL_BYTES: i32 = 1 << 30;

/// Live wl_shm_pool objects per client. Each holds a descriptor and a
/// mapping in the compositor; Chromium and foot use one or two.
pub const MAX_POOLS: usize = 64;

/// Live wl_buffer objects from wl_shm per client. A buffer keeps its pool's
/// mapping (and descriptor) alive after the pool object is destroyed, so
/// pools plus buffers bound the mappings and descriptors a client can hold;
/// Chromium keeps three per window.
pub const MAX_SHM_BUFFERS: usize = 256;

/// Clients on the public socket at once (when the config opens it). Each
/// connection is a descriptor, and nothing else bounds how many a local
/// program opens; launched apps have their own sockets and do not count.
pub const MAX_PUBLIC_CLIENTS: usize = 32;

/// Bytes of all live wl_shm buffers of a client (stride x height each): the
/// shared memory the compositor can be made to read, and so to hold in its
/// own resident memory. 2 GiB is fifteen 4K windows with three buffers each.
pub const MAX_SHM_BUFFER_BYTES: u64 = 2 << 30;

/// Live wl_surface objects per client: windows, popups, subsurfaces,
/// cursors and drag icons together. Surface trees are walked recursively and
/// every surface costs a few KiB; Chromium uses a handful per window.
pub const MAX_SURFACES: usize = 1000;

/// Rectangles in one wl_region. Input regions are tested on every pointer
/// event; a rounded window needs a few dozen rectangles.
pub const MAX_REGION_RECTS: usize = 1000;

/// Frame callbacks a surface may request before its state is applied (one
/// commit, or a synchronized subsurface's cached commits). Clients ask for
/// one per commit.
pub const MAX_FRAME_REQUESTS: u32 = 64;

/// Commits of a synchronized subsurface cached until its parent commits.
/// Each keeps a copy of the surface state; a parent commits once a frame.
pub const MAX_CACHED_COMMITS: u32 = 64;

/// Damage rectangles kept per surface state. Past this the damage becomes
/// the whole buffer: the same pixels are redrawn, and rendering does not
/// slow down with the number of rectangles (merging them is quadratic).
pub const MAX_DAMAGE_RECTS: usize = 256;

/// Frame callbacks a committed surface may hold. A hidden or unmapped
/// surface's callbacks are never due; beyond this many the oldest are
/// answered at once. A client that waits for its callback holds one.
pub const MAX_HELD_CALLBACKS: usize = 16;

/// wl_pointer, wl_keyboard and wl_touch objects per client. Every input
/// event goes to each of the focused client's objects, and each keyboard
/// is sent a keymap descriptor.
pub const MAX_SEAT_DEVICES: usize = 64;

/// MIME types one wl_data_source may offer. Each is a string kept until
/// the source is gone and sent to every client that may paste.
pub const MAX_MIME_TYPES: usize = 128;

/// Coordinates and sizes taken from clients (positions, offsets, positioner
/// rectangles, damage) are clamped to ±2^20 px: far past any output layout,
/// and far from where Smithay's i32 geometry overflows (a panic in debug
/// builds, garbage positions in release).
pub const MAX_COORDINATE: i32 = 1 << 20;

/// `value` within ±[`MAX_COORDINATE`].
pub fn clamp(value: i32) -> i32 {
    value.clamp(-MAX_COORDINATE, MAX_COORDINATE)
}

/// wl_display's error `no_memory` (the server side has no enum for it).
const WL_DISPLAY_NO_MEMORY: u32 = 2;

/// Clients of the public socket now connected (across compositors in one
/// process, which only tests have).
static PUBLIC_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// A place among the [`MAX_PUBLIC_CLIENTS`]: held by the client's state, and
/// given back when that state is dropped with the client.
#[derive(Debug)]
pub struct PublicSlot(());

impl PublicSlot {
    /// A place for one more public client, if there is one.
    pub fn take() -> Option<PublicSlot> {
        PUBLIC_CLIENTS
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_PUBLIC_CLIENTS).then_some(n + 1)
            })
            .ok()
            .map(|_| PublicSlot(()))
    }
}

impl Drop for PublicSlot {
    fn drop(&mut self) {
        PUBLIC_CLIENTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The descriptor limit the compositor was started with, for its children.
static STARTED_WITH: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Raise the soft descriptor limit to the hard one, as other compositors do:
/// the default soft limit (often 1024) is a few hostile clients' worth of
/// pools, and running out stops the compositor from accepting anything.
/// The limits above bound what each client holds; this gives the sum room.
pub fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to our own struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let _ = STARTED_WITH.set(limit);
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        tracing::info!(
            "descriptor limit raised from {} to {}",
            limit.rlim_cur,
            limit.rlim_max
        );
    }
}

/// Give a child the limit the compositor started with (from `pre_exec`, so
/// it only reads a static and makes one system call): programs that use
/// select(2) break with descriptors past 1024.
pub fn restore_descriptor_limit() {
    if let Some(limit) = STARTED_WITH.get() {
        // SAFETY: setrlimit is async-signal-safe; `limit` is a valid struct.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) };
    }
}

/// What one client holds, counted as it creates and destroys objects.
#[derive(Debug, Default)]
pub struct ClientLimits {
    pools: AtomicUsize,
    shm_buffers: AtomicUsize,
    surfaces: AtomicUsize,
    seat_devices: AtomicUsize,
    shm_bytes: AtomicU64,
    /// The most surfaces it ever had, for the log line at disconnect.
    peak_surfaces: AtomicUsize,
    peak_pools: AtomicUsize,
    peak_shm_buffers: AtomicUsize,
    /// Rectangles in each of its live regions.
    regions: Mutex<HashMap<ObjectId, usize>>,
    /// Its place on the public socket, if it came from there.
    public_slot: Mutex<Option<PublicSlot>>,
}

/// A counter the limits keep: which one, for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Pools,
    ShmBuffers,
    Surfaces,
    SeatDevices,
}

impl ClientLimits {
    fn counter(&self, what: Counted) -> (&AtomicUsize, Option<&AtomicUsize>, usize) {
        match what {
            Counted::Pools => (&self.pools, Some(&self.peak_pools), MAX_POOLS),
            Counted::ShmBuffers => (
                &self.shm_buffers,
                Some(&self.peak_shm_buffers),
                MAX_SHM_BUFFERS,
            ),
            Counted::Surfaces => (&self.surfaces, Some(&self.peak_surfaces), MAX_SURFACES),
            Counted::SeatDevices => (&self.seat_devices, None, MAX_SEAT_DEVICES),
        }
    }

    /// Whether one more fits under the limit.
    pub fn has_room(&self, what: Counted) -> bool {
        let (count, _, max) = self.counter(what);
        count.load(Ordering::Relaxed) < max
    }

    pub fn add(&self, what: Counted) {
        let (count, peak, _) = self.counter(what);
        let now = count.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(peak) = peak {
            peak.fetch_max(now, Ordering::Relaxed);
        }
    }

    pub fn remove(&self, what: Counted) {
        let (count, _, _) = self.counter(what);
        // Saturating: objects created before a counter existed (none today)
        // must not wrap it.
        let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn count(&self, what: Counted) -> usize {
        self.counter(what).0.load(Ordering::Relaxed)
    }

    /// Keep `slot` until the client is gone.
    pub fn hold_public_slot(&self, slot: PublicSlot) {
        *self.public_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(slot);
    }

    /// Count `bytes` more of shm buffers; false (and nothing counted) past
    /// the limit.
    pub fn add_shm_bytes(&self, bytes: u64) -> bool {
        self.shm_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                now.checked_add(bytes)
                    .filter(|&n| n <= MAX_SHM_BUFFER_BYTES)
            })
            .is_ok()
    }

    pub fn remove_shm_bytes(&self, bytes: u64) {
        let _ = self
            .shm_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_sub(bytes))
            });
    }

    pub fn shm_bytes(&self) -> u64 {
        self.shm_bytes.load(Ordering::Relaxed)
    }

    /// Count one more rectangle in `region`; false past the limit.
    pub fn add_region_rect(&self, region: ObjectId) -> bool {
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        let rects = regions.entry(region).or_insert(0);
        *rects += 1;
        *rects <= MAX_REGION_RECTS
    }

    pub fn region_destroyed(&self, region: &ObjectId) {
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        regions.remove(region);
    }

    /// The peaks, for the log line when the client goes.
    pub fn peaks(&self) -> (usize, usize, usize) {
        (
            self.peak_surfaces.load(Ordering::Relaxed),
            self.peak_pools.load(Ordering::Relaxed),
            self.peak_shm_buffers.load(Ordering::Relaxed),
        )
    }
}

/// The limit text for a counter, as the protocol error and the log say it.
pub fn describe(what: Counted) -> String {
    match what {
        Counted::Pools => format!("at most {MAX_POOLS} wl_shm pools per client"),
        Counted::ShmBuffers => format!("at most {MAX_SHM_BUFFERS} wl_shm buffers per client"),
        Counted::Surfaces => format!("at most {MAX_SURFACES} surfaces per client"),
        Counted::SeatDevices => {
            format!("at most {MAX_SEAT_DEVICES} pointer, keyboard and touch objects per client")
        }
    }
}

/// The client's state, from its id (what `Dispatch::destroyed` gets).
pub fn client_state(dh: &DisplayHandle, client: &ClientId) -> Option<Arc<ClientState>> {
    let data = dh.backend_handle().get_client_data(client.clone()).ok()?;
    data.downcast_arc::<ClientState>().ok()
}

/// The counters of the client that owns `resource`.
pub fn limits_of(dh: &DisplayHandle, resource: &impl Resource) -> Option<Arc<ClientState>> {
    let client = dh.get_client(resource.id()).ok()?;
    client_state(dh, &client.id())
}

/// Disconnect `client` for going past `limit`: a wl_display.no_memory error
/// (the compositor will not allocate more for it) naming the limit, and a
/// warning with its identity.
pub fn disconnect(dh: &DisplayHandle, client: &Client, limit: &str) {
    // Every live client has its wl_display (object 1). If it is gone, so is
    // the client: there is nothing left to cut. (Killing a client outright
    // from inside its own request, as `Client::kill` would, destroys it under
    // libwayland's feet.)
    if let Ok(display) =
        dh.backend_handle()
            .object_for_protocol_id(client.id(), &WL_DISPLAY_INTERFACE, 1)
    {
        post(dh, client, display, WL_DISPLAY_NO_MEMORY, limit);
    }
}

/// Like [`disconnect`], with the error on `resource` and its own code: for
/// the limits a protocol names (wl_shm's invalid_fd, for instance).
pub fn post_error(dh: &DisplayHandle, resource: &impl Resource, code: u32, limit: &str) {
    if let Ok(client) = dh.get_client(resource.id()) {
        post(dh, &client, resource.id(), code, limit);
    }
}

/// Disconnect the client for a value the protocol forbids (`what` it sent),
/// with the protocol's error `code` on `resource`.
pub fn reject(dh: &DisplayHandle, resource: &impl Resource, code: u32, what: &str) {
    let Ok(client) = dh.get_client(resource.id()) else {
        return;
    };
    match client.get_data::<ClientState>() {
        Some(data) => warn!(
            identity = %data.identity.id, pid = ?data.pid,
            "client sent {what} and is disconnected"
        ),
        None => warn!("a client sent {what} and is disconnected"),
    }
    let message = CString::new(format!("invalid: {what}")).unwrap_or_default();
    dh.backend_handle().post_error(resource.id(), code, message);
}

fn post(dh: &DisplayHandle, client: &Client, object: ObjectId, code: u32, limit: &str) {
    warn_limit(client, limit);
    let message = CString::new(format!("palisade limit: {limit}")).unwrap_or_default();
    dh.backend_handle().post_error(object, code, message);
}

fn warn_limit(client: &Client, limit: &str) {
    match client.get_data::<ClientState>() {
        Some(data) => warn!(
            identity = %data.identity.id, pid = ?data.pid,
            "client went past a limit and is disconnected: {limit}"
        ),
        None => warn!("a client went past a limit and is disconnected: {limit}"),
    }
}

/// Per-surface counters, reset each time the surface's state is applied.
#[derive(Debug, Default)]
pub struct SurfaceCounters {
    frames: AtomicU32,
    commits: AtomicU32,
    damage: AtomicU32,
}

/// What a surface request may do next, by the surface's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurfaceVerdict {
    Forward,
    /// Drop the request: the pending damage already covers everything.
    Drop,
    /// Make the pending damage the whole buffer (then drop the request).
    WholeDamage,
    /// Disconnect the client: the limit it went past.
    Disconnect(String),
}

/// Which surface request is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurfaceRequest {
    Frame,
    Damage,
    Commit { sync: bool },
}

fn with_counters<T>(surface: &WlSurface, f: impl FnOnce(&SurfaceCounters) -> T) -> T {
    with_states(surface, |states| {
        states
            .data_map
            .insert_if_missing_threadsafe(SurfaceCounters::default);
        let counters = states
            .data_map
            .get::<SurfaceCounters>()
            .expect("inserted just above");
        f(counters)
    })
}

/// Count one request on `surface` and say what to do with it.
pub fn count_surface_request(surface: &WlSurface, request: SurfaceRequest) -> SurfaceVerdict {
    let verdict = with_counters(surface, |c| match request {
        SurfaceRequest::Frame => {
            if c.frames.fetch_add(1, Ordering::Relaxed) >= MAX_FRAME_REQUESTS {
                SurfaceVerdict::Disconnect(format!(
                    "at most {MAX_FRAME_REQUESTS} frame callbacks per surface before a commit"
                ))
            } else {
                SurfaceVerdict::Forward
            }
        }
        SurfaceRequest::Damage => {
            let n = c.damage.fetch_add(1, Ordering::Relaxed) as usize;
            match n.cmp(&MAX_DAMAGE_RECTS) {
                std::cmp::Ordering::Less => SurfaceVerdict::Forward,
                std::cmp::Ordering::Equal => SurfaceVerdict::WholeDamage,
                std::cmp::Ordering::Greater => SurfaceVerdict::Drop,
            }
        }
        SurfaceRequest::Commit { sync } => {
            // Only a synchronized subsurface's commits pile up; any other
            // commit is applied at once (and resets the counters).
            if sync && c.commits.fetch_add(1, Ordering::Relaxed) >= MAX_CACHED_COMMITS {
                SurfaceVerdict::Disconnect(format!(
                    "at most {MAX_CACHED_COMMITS} cached commits of a synchronized \
                     subsurface before its parent commits"
                ))
            } else {
                SurfaceVerdict::Forward
            }
        }
    });
    // Outside `with_counters`: the surface's state lock is not reentrant.
    if verdict == SurfaceVerdict::WholeDamage {
        whole_damage(surface);
        return SurfaceVerdict::Drop;
    }
    verdict
}

/// The pending damage becomes one rectangle covering any buffer.
fn whole_damage(surface: &WlSurface) {
    with_states(surface, |states| {
        states
            .cached_state
            .get::<SurfaceAttributes>()
            .pending()
            .damage = vec![everything()];
    });
}

fn everything() -> Damage {
    Damage::Buffer(Rectangle::new((0, 0).into(), (i32::MAX, i32::MAX).into()))
}

/// After `surface`'s state was applied (from `CompositorHandler::commit`):
/// reset its counters, bound the damage it carries and answer frame
/// callbacks it holds beyond [`MAX_HELD_CALLBACKS`]. `time_ms` is the frame
/// clock those callbacks get.
pub fn after_commit(surface: &WlSurface, time_ms: u32) {
    with_counters(surface, |c| {
        c.frames.store(0, Ordering::Relaxed);
        c.commits.store(0, Ordering::Relaxed);
        c.damage.store(0, Ordering::Relaxed);
    });
    let due = with_states(surface, |states| {
        let mut guard = states.cached_state.get::<SurfaceAttributes>();
        let current = guard.current();
        // Damage of commits without a new buffer stays until one comes.
        if current.damage.len() > MAX_DAMAGE_RECTS {
            current.damage = vec![everything()];
        }
        let held = current.frame_callbacks.len();
        let excess = held.saturating_sub(MAX_HELD_CALLBACKS);
        current.frame_callbacks.drain(..excess).collect::<Vec<_>>()
    });
    for callback in due {
        callback.done(time_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_refuse_past_the_limit_and_recover() {
        let limits = ClientLimits::default();
        for _ in 0..MAX_POOLS {
            assert!(limits.has_room(Counted::Pools));
            limits.add(Counted::Pools);
        }
        assert!(!limits.has_room(Counted::Pools));
        limits.remove(Counted::Pools);
        assert!(limits.has_room(Counted::Pools));
        assert_eq!(limits.peaks().1, MAX_POOLS);
        // Removing more than was added never wraps.
        let fresh = ClientLimits::default();
        fresh.remove(Counted::Surfaces);
        assert_eq!(fresh.count(Counted::Surfaces), 0);
    }

    #[test]
    fn shm_bytes_stop_at_the_limit_and_come_back() {
        let limits = ClientLimits::default();
        assert!(limits.add_shm_bytes(MAX_SHM_BUFFER_BYTES));
        assert!(!limits.add_shm_bytes(1), "one byte past the limit");
        assert_eq!(limits.shm_bytes(), MAX_SHM_BUFFER_BYTES);
        limits.remove_shm_bytes(4096);
        assert!(limits.add_shm_bytes(4096));
        limits.remove_shm_bytes(u64::MAX);
        assert_eq!(limits.shm_bytes(), 0);
    }

    #[test]
    fn region_rectangles_are_counted_per_region() {
        let limits = ClientLimits::default();
        let id = ObjectId::null();
        for _ in 0..MAX_REGION_RECTS {
            assert!(limits.add_region_rect(id.clone()));
        }
        assert!(!limits.add_region_rect(id.clone()));
        limits.region_destroyed(&id);
        assert!(limits.add_region_rect(id));
    }

    // An 8K double-buffered window fits one pool, and so does foot's.
    const _: () = assert!(2 * 7680 * 4320 * 4 <= MAX_POOL_BYTES as i64);
    const _: () = assert!(512 << 20 <= MAX_POOL_BYTES);
    const _: () = assert!(MAX_HELD_CALLBACKS >= 1 && MAX_FRAME_REQUESTS >= 1);
}
