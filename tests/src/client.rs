//! In-process Wayland test client written directly on `wayland-client`.
//!
//! The harness runs the compositor on the same thread and alternates between dispatching the
//! server and calling [`TestClient::dispatch`], so nothing here may block: a blocking read would
//! wait for a server that only makes progress once we return. Request helpers just queue
//! requests and events are recorded as plain data for tests to inspect. Connection failures,
//! including the server killing us, are recorded rather than panicking, because some tests
//! misbehave on purpose and assert on the outcome.

mod clipboard;
mod cursor;
mod events;
mod extras;
mod input;
mod shm;
mod state;

use std::io;
use std::os::fd::{AsFd as _, BorrowedFd};
use std::os::unix::net::UnixStream;

use wayland_client::backend::WaylandError;
use wayland_client::protocol::wl_compositor::WlCompositor;
use wayland_client::{Connection, EventQueue, Proxy, QueueHandle};
use wayland_protocols::xdg::decoration::zv1::client::zxdg_toplevel_decoration_v1;
use wayland_protocols::xdg::shell::client::xdg_positioner;
use wayland_protocols::xdg::shell::client::xdg_toplevel::{self, XdgToplevel};
use wayland_protocols::xdg::shell::client::xdg_wm_base::XdgWmBase;

pub use clipboard::{ClipboardRead, TEXT_MIME};
pub use cursor::{CursorSpec, SubsurfaceSpec};
pub use extras::InhibitorId;
pub use input::RegionRect;
use state::{CallbackKind, Popup, ShellSurface, State, SurfaceKey, Window};

pub type WindowId = usize;
pub type PopupId = usize;

/// Handle returned by [`TestClient::send_sync`].
pub type SyncId = usize;

/// Size used by [`TestClient::ack_and_draw`] when the compositor leaves the choice to us.
const DEFAULT_SIZE: (i32, i32) = (200, 150);

/// Upper bound on socket reads per [`TestClient::dispatch`]; keeps one call short even if the
/// server floods us, the rest is picked up on the next call.
const MAX_READS_PER_DISPATCH: usize = 64;

/// One complete toplevel configure sequence (xdg_toplevel.configure + xdg_surface.configure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configure {
    pub size: (i32, i32),
    pub states: Vec<xdg_toplevel::State>,
    pub serial: u32,
}

/// One complete popup configure sequence (xdg_popup.configure + xdg_surface.configure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PopupConfigure {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    pub serial: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyboardEvent {
    Enter,
    Leave,
    Key { key: u32, pressed: bool },
    Modifiers { depressed: u32 },
}

/// Everything fed into an xdg_positioner by [`TestClient::create_popup`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionerSpec {
    pub size: (i32, i32),
    pub anchor_rect: (i32, i32, i32, i32),
    pub anchor: xdg_positioner::Anchor,
    pub gravity: xdg_positioner::Gravity,
    pub constraint: xdg_positioner::ConstraintAdjustment,
    pub offset: (i32, i32),
}

impl Default for PositionerSpec {
    fn default() -> Self {
        Self {
            size: (100, 100),
            anchor_rect: (0, 0, 1, 1),
            anchor: xdg_positioner::Anchor::None,
            gravity: xdg_positioner::Gravity::None,
            constraint: xdg_positioner::ConstraintAdjustment::None,
            offset: (0, 0),
        }
    }
}

/// A synchronous test client. See the module docs for the threading model.
pub struct TestClient {
    conn: Connection,
    queue: EventQueue<State>,
    qh: QueueHandle<State>,
    state: State,
    /// A dup of the socket handed to the connection, so tests can inject raw bytes.
    socket: UnixStream,
    error: Option<String>,
    connected: bool,
}
impl TestClient {
    /// Wraps one end of a socket pair. Panics only if the connection cannot be set up at all
    /// (e.g. libwayland-client missing when wayland-backend uses the system library).
    pub fn new(stream: UnixStream) -> Self {
        // The pure-Rust backend already reads with MSG_DONTWAIT; a non-blocking socket also
        // guarantees it for libwayland and for raw writes by tests.
        let nonblocking = stream.set_nonblocking(true);
        nonblocking.expect("failed to make the test client socket non-blocking");
        let socket = stream.try_clone().expect("failed to dup the test socket");
        let conn = Connection::from_socket(stream).expect("failed to create the wayland client");
        let queue = conn.new_event_queue();
        let qh = queue.handle();

        let display = conn.display();
        let state = State {
            registry: Some(display.get_registry(&qh, ())),
            ..State::default()
        };
        display.sync(&qh, CallbackKind::Registry);

        Self {
            conn,
            queue,
            qh,
            state,
            socket,
            error: None,
            connected: true,
        }
    }

    /// Reads whatever the server has sent so far, dispatches it, then flushes queued requests.
    /// Never blocks.
    ///
    /// Reading comes before flushing (unlike the usual flush-then-read) because a flush into a
    /// socket the server already closed fails with EPIPE, and the backend then refuses to read
    /// the wl_display.error still waiting in our receive buffer; this way a killed client
    /// records the server's actual error. Request helpers never flush for the same reason.
    pub fn dispatch(&mut self) {
        for _ in 0..MAX_READS_PER_DISPATCH {
            if !self.connected || !self.dispatch_pending() {
                return;
            }
            // With libwayland, prepare_read fails while events are still queued; dispatching
            // them (next iteration) is exactly what it asks for.
            let Some(guard) = self.conn.prepare_read() else {
                continue;
            };
            match guard.read() {
                Ok(0) => break,
                Ok(_) => {}
                Err(WaylandError::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => self.record_error(err),
            }
        }
        if !self.connected || !self.dispatch_pending() {
            return;
        }
        match self.conn.flush() {
            Ok(()) => {}
            // The socket buffer is full; the rest goes out on a later call.
            Err(WaylandError::Io(err)) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => self.record_error(err),
        }
    }

    /// True once the registry has been received, globals have been bound and their initial
    /// events (seat capabilities, shm formats) have arrived. This takes two round trips.
    pub fn is_ready(&self) -> bool {
        self.state.ready
    }

    /// Globals as advertised (interface name, advertised version), minus removed ones.
    pub fn globals(&self) -> Vec<(String, u32)> {
        let globals = self.state.globals.iter();
        globals
            .map(|(_, interface, version)| (interface.clone(), *version))
            .collect()
    }

    /// Globals as advertised (interface name, global name), minus removed ones.
    pub fn global_names(&self) -> Vec<(String, u32)> {
        let globals = self.state.globals.iter();
        globals
            .map(|(name, interface, _)| (interface.clone(), *name))
            .collect()
    }

    /// Sends wl_display.sync; [`Self::sync_done`] turns true once the server has processed
    /// every request sent before it. Lets a harness implement non-blocking round trips.
    pub fn send_sync(&mut self) -> SyncId {
        let id = self.state.syncs_done.len();
        self.state.syncs_done.push(false);
        self.conn.display().sync(&self.qh, CallbackKind::User(id));
        id
    }

    pub fn sync_done(&self, id: SyncId) -> bool {
        self.state.syncs_done.get(id).copied().unwrap_or(false)
    }

    /// Creates a toplevel and sends its initial, buffer-less commit. Panics if wl_compositor or
    /// xdg_wm_base is missing: call this only once [`Self::is_ready`].
    pub fn create_window(&mut self) -> WindowId {
        let id = self.state.windows.len();
        let (compositor, wm_base) = self.shell_globals();
        let surface = compositor.create_surface(&self.qh, ());
        let xdg_surface = wm_base.get_xdg_surface(&surface, &self.qh, SurfaceKey::Window(id));
        let toplevel = xdg_surface.get_toplevel(&self.qh, id);
        let decoration = self.state.decoration_manager.as_ref().map(|manager| {
            let decoration = manager.get_toplevel_decoration(&toplevel, &self.qh, id);
            decoration.set_mode(zxdg_toplevel_decoration_v1::Mode::ServerSide);
            decoration
        });
        surface.commit();

        self.state.windows.push(Window {
            shell: ShellSurface::new(surface, xdg_surface),
            toplevel,
            decoration,
            decoration_mode: None,
            pending: Configure::default(),
            configures: Vec::new(),
            closed: false,
        });
        id
    }

    pub fn set_title(&mut self, w: WindowId, title: &str) {
        self.with_toplevel(w, |t| t.set_title(title.to_owned()));
    }

    pub fn set_app_id(&mut self, w: WindowId, app_id: &str) {
        self.with_toplevel(w, |t| t.set_app_id(app_id.to_owned()));
    }

    pub fn set_parent(&mut self, w: WindowId, parent: Option<WindowId>) {
        let parent = parent.map(|p| self.state.windows[p].toplevel.clone());
        self.with_toplevel(w, |t| t.set_parent(parent.as_ref()));
    }

    pub fn set_fullscreen(&mut self, w: WindowId, on: bool) {
        self.with_toplevel(w, |t| match on {
            true => t.set_fullscreen(None),
            false => t.unset_fullscreen(),
        });
    }

    pub fn set_maximized(&mut self, w: WindowId, on: bool) {
        self.with_toplevel(w, |t| match on {
            true => t.set_maximized(),
            false => t.unset_maximized(),
        });
    }

    /// Min/max sizes are double-buffered: they take effect with the next commit, e.g. the one
    /// in [`Self::ack_and_draw`] or an explicit [`Self::commit`].
    pub fn set_min_size(&mut self, w: WindowId, size: (i32, i32)) {
        self.with_toplevel(w, |t| t.set_min_size(size.0, size.1));
    }

    pub fn set_max_size(&mut self, w: WindowId, size: (i32, i32)) {
        self.with_toplevel(w, |t| t.set_max_size(size.0, size.1));
    }

    /// Plain wl_surface.commit, e.g. after changing double-buffered toplevel state.
    pub fn commit(&mut self, w: WindowId) {
        let shell = &self.state.windows[w].shell;
        if !shell.destroyed {
            shell.surface.commit();
        }
    }

    pub fn configures(&self, w: WindowId) -> &[Configure] {
        &self.state.windows[w].configures
    }

    pub fn is_closed(&self, w: WindowId) -> bool {
        self.state.windows[w].closed
    }

    /// Mode from the last zxdg_toplevel_decoration_v1.configure, if any arrived.
    pub fn decoration_mode(&self, w: WindowId) -> Option<zxdg_toplevel_decoration_v1::Mode> {
        self.state.windows[w].decoration_mode
    }

    /// Acks the newest configure (unless already acked) and commits a freshly filled buffer
    /// plus a frame callback. `size` defaults to the configured size, each zero dimension
    /// replaced by 200x150's.
    ///
    /// `rgba` is straight (non-premultiplied) alpha; it is premultiplied as wl_shm requires and
    /// sent as XRGB8888 when opaque, ARGB8888 otherwise. Drawing before any configure arrived
    /// attaches a buffer to an unconfigured surface, which the server answers with an error.
    pub fn ack_and_draw(&mut self, w: WindowId, size: Option<(i32, i32)>, rgba: [u8; 4]) {
        let last = self.state.windows[w].configures.last();
        let configured = last.map_or((0, 0), |c| c.size);
        let pick = |value: i32, fallback: i32| if value > 0 { value } else { fallback };
        let size = size.unwrap_or((
            pick(configured.0, DEFAULT_SIZE.0),
            pick(configured.1, DEFAULT_SIZE.1),
        ));
        let serial = last.map(|c| c.serial);
        self.ack_and_draw_surface(SurfaceKey::Window(w), serial, size, rgba);
    }

    /// wl_callback.done count for frame callbacks requested by [`Self::ack_and_draw`].
    pub fn frames_done(&self, w: WindowId) -> u32 {
        self.state.windows[w].shell.frames_done
    }

    /// Destroys the toplevel in the order the protocols require: its live popups first
    /// (topmost first), then the decoration, then the role objects and the surface.
    /// The id stays valid for queries.
    pub fn destroy_window(&mut self, w: WindowId) {
        for p in (0..self.state.popups.len()).rev() {
            if self.state.popups[p].parent == w {
                self.destroy_popup(p);
            }
        }
        let window = &mut self.state.windows[w];
        if std::mem::replace(&mut window.shell.destroyed, true) {
            return;
        }
        // The decoration must go before its toplevel, or the server raises `orphaned`.
        if let Some(decoration) = window.decoration.take() {
            decoration.destroy();
        }
        window.toplevel.destroy();
        window.shell.destroy(&mut self.state.keyboard_focus);
    }

    /// Creates a popup on `parent` and sends its initial commit. The positioner is destroyed
    /// right away: the server copies its state at get_popup time.
    pub fn create_popup(&mut self, parent: WindowId, spec: &PositionerSpec) -> PopupId {
        self.new_popup(parent, spec, None)
    }

    /// Like [`Self::create_popup`], with an xdg_popup.grab before the first
    /// commit, carrying whatever `serial` the client chooses.
    pub fn create_grabbing_popup(
        &mut self,
        parent: WindowId,
        spec: &PositionerSpec,
        serial: u32,
    ) -> PopupId {
        self.new_popup(parent, spec, Some(serial))
    }

    fn new_popup(&mut self, parent: WindowId, spec: &PositionerSpec, grab: Option<u32>) -> PopupId {
        let id = self.state.popups.len();
        let (compositor, wm_base) = self.shell_globals();
        let positioner = wm_base.create_positioner(&self.qh, ());
        positioner.set_size(spec.size.0, spec.size.1);
        let (x, y, width, height) = spec.anchor_rect;
        positioner.set_anchor_rect(x, y, width, height);
        positioner.set_anchor(spec.anchor);
        positioner.set_gravity(spec.gravity);
        positioner.set_constraint_adjustment(spec.constraint);
        positioner.set_offset(spec.offset.0, spec.offset.1);

        let surface = compositor.create_surface(&self.qh, ());
        let xdg_surface = wm_base.get_xdg_surface(&surface, &self.qh, SurfaceKey::Popup(id));
        let parent_surface = &self.state.windows[parent].shell.xdg_surface;
        let popup = xdg_surface.get_popup(Some(parent_surface), &positioner, &self.qh, id);
        positioner.destroy();
        if let (Some(serial), Some(seat)) = (grab, &self.state.seat) {
            popup.grab(seat, serial);
        }
        surface.commit();

        self.state.popups.push(Popup {
            shell: ShellSurface::new(surface, xdg_surface),
            parent,
            popup,
            requested_size: spec.size,
            pending: PopupConfigure::default(),
            configures: Vec::new(),
            done: false,
        });
        id
    }

    pub fn popup_configures(&self, p: PopupId) -> &[PopupConfigure] {
        &self.state.popups[p].configures
    }

    /// xdg_popup.popup_done received (the compositor dismissed the popup).
    pub fn popup_done(&self, p: PopupId) -> bool {
        self.state.popups[p].done
    }

    /// Like [`Self::ack_and_draw`], at the configured size (the positioner size if the
    /// configure said 0x0 or none arrived yet).
    pub fn ack_and_draw_popup(&mut self, p: PopupId, rgba: [u8; 4]) {
        let popup = &self.state.popups[p];
        let last = popup.configures.last();
        let size = match last {
            Some(c) if c.width > 0 && c.height > 0 => (c.width, c.height),
            _ => popup.requested_size,
        };
        let serial = last.map(|c| c.serial);
        self.ack_and_draw_surface(SurfaceKey::Popup(p), serial, size, rgba);
    }

    pub fn popup_frames_done(&self, p: PopupId) -> u32 {
        self.state.popups[p].shell.frames_done
    }

    pub fn destroy_popup(&mut self, p: PopupId) {
        let popup = &mut self.state.popups[p];
        if !std::mem::replace(&mut popup.shell.destroyed, true) {
            popup.popup.destroy();
            popup.shell.destroy(&mut self.state.keyboard_focus);
        }
    }

    pub fn keyboard_events(&self) -> &[KeyboardEvent] {
        &self.state.keyboard_events
    }

    /// True between wl_keyboard.enter and wl_keyboard.leave.
    pub fn keyboard_focus(&self) -> bool {
        self.state.keyboard_focus.is_some()
    }

    /// The window whose surface has keyboard focus, if it is a toplevel of ours.
    pub fn keyboard_focus_window(&self) -> Option<WindowId> {
        let focus = self.state.keyboard_focus.as_ref()?;
        self.state
            .windows
            .iter()
            .position(|w| w.shell.surface == *focus)
    }

    /// Human-readable description of the first fatal connection error, if any: a protocol
    /// error posted by the server, or an I/O error such as the server closing the socket.
    pub fn protocol_error(&self) -> Option<String> {
        self.error.clone()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The client end of the socket (a dup of the fd the connection uses). Call
    /// [`Self::dispatch`] first so queued requests are not interleaved with injected bytes.
    pub fn raw_socket_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Acks a configure serial the server never sent, on a fresh never-committed toplevel.
    /// xdg-shell makes that a protocol error (smithay posts xdg_wm_base.invalid_surface_state),
    /// so the server must disconnect us. Without xdg_wm_base, binds a global name that was
    /// never advertised instead, which the Wayland server library itself rejects.
    pub fn send_protocol_violation(&mut self) {
        let (Some(compositor), Some(wm_base)) = (&self.state.compositor, &self.state.wm_base)
        else {
            if let Some(registry) = &self.state.registry {
                let _: WlCompositor = registry.bind(u32::MAX, 1, &self.qh, ());
            }
            return;
        };
        let surface = compositor.create_surface(&self.qh, ());
        // An id outside the window list: the handlers ignore its events, and the connection is
        // about to die anyway.
        let id = usize::MAX;
        let xdg_surface = wm_base.get_xdg_surface(&surface, &self.qh, SurfaceKey::Window(id));
        let _toplevel = xdg_surface.get_toplevel(&self.qh, id);
        xdg_surface.ack_configure(0xdead_beef);
    }

    fn shell_globals(&self) -> (WlCompositor, XdgWmBase) {
        let globals = self
            .state
            .compositor
            .clone()
            .zip(self.state.wm_base.clone());
        globals.expect(
            "wl_compositor/xdg_wm_base not bound: wait for TestClient::is_ready before creating \
             surfaces (or the server does not advertise them)",
        )
    }

    fn with_toplevel(&self, w: WindowId, f: impl FnOnce(&XdgToplevel)) {
        let window = &self.state.windows[w];
        if !window.shell.destroyed {
            f(&window.toplevel);
        }
    }

    /// Acks `serial` if it is new, then attaches a new single-colour wl_shm buffer, damages
    /// all of it, requests a frame callback and commits.
    fn ack_and_draw_surface(
        &mut self,
        key: SurfaceKey,
        serial: Option<u32>,
        (width, height): (i32, i32),
        rgba: [u8; 4],
    ) {
        let Some(shm) = self.state.shm.clone() else {
            tracing::warn!("test client: cannot draw, wl_shm not bound");
            return;
        };
        let shell = self.state.shell_mut(key);
        if shell.destroyed {
            return;
        }
        if let Some(serial) = serial.filter(|s| shell.last_acked != Some(*s)) {
            shell.xdg_surface.ack_configure(serial);
            shell.last_acked = Some(serial);
        }

        let (width, height) = (width.max(1), height.max(1));
        let buffer = shm::solid_buffer(&shm, &self.qh, (width, height), rgba);

        let surface = &shell.surface;
        surface.attach(Some(&buffer), 0, 0);
        if surface.version() >= 4 {
            surface.damage_buffer(0, 0, width, height);
        } else {
            surface.damage(0, 0, width, height);
        }
        surface.frame(&self.qh, CallbackKind::Frame(key));
        surface.commit();
        if let Some(old) = shell.shown.replace(buffer) {
            old.destroy();
        }
    }

    /// Returns false once the connection is dead.
    fn dispatch_pending(&mut self) -> bool {
        let result = self.queue.dispatch_pending(&mut self.state);
        result.map_err(|err| self.record_error(err)).is_ok()
    }

    /// Marks the connection dead, keeping the first error. The backend stays dead after any
    /// error, so there is nothing to retry.
    fn record_error(&mut self, err: impl std::fmt::Display) {
        // Prefer the server's explanation over the I/O error it caused: a protocol error is
        // followed by the server closing the socket.
        let message = match self.conn.protocol_error() {
            Some(protocol) => format!("protocol error: {protocol}"),
            None => format!("connection lost: {err}"),
        };
        tracing::debug!("test client: {message}");
        self.error.get_or_insert(message);
        self.connected = false;
    }
}
