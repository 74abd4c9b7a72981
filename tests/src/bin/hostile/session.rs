//! One connection of the hostile client, on `wayland-client`: the globals it
//! binds, a mapped toplevel when a case needs one, and how a case learns
//! that the compositor cut it off.

use std::fmt::Display;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd as _, FromRawFd as _, OwnedFd};
use std::time::Duration;

use wayland_client::backend::WaylandError;
use wayland_client::globals::{registry_queue_init, GlobalList, GlobalListContents};
use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_callback::{self, WlCallback};
use wayland_client::protocol::wl_compositor::WlCompositor;
use wayland_client::protocol::wl_keyboard::WlKeyboard;
use wayland_client::protocol::wl_pointer::WlPointer;
use wayland_client::protocol::wl_region::WlRegion;
use wayland_client::protocol::wl_registry::WlRegistry;
use wayland_client::protocol::wl_seat::WlSeat;
use wayland_client::protocol::wl_shm::{self, WlShm};
use wayland_client::protocol::wl_shm_pool::WlShmPool;
use wayland_client::protocol::wl_subcompositor::WlSubcompositor;
use wayland_client::protocol::wl_subsurface::WlSubsurface;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{delegate_noop, Connection, Dispatch, EventQueue, Proxy, QueueHandle};
use wayland_protocols::wp::viewporter::client::wp_viewport::WpViewport;
use wayland_protocols::wp::viewporter::client::wp_viewporter::WpViewporter;
use wayland_protocols::xdg::shell::client::xdg_popup::XdgPopup;
use wayland_protocols::xdg::shell::client::xdg_positioner::XdgPositioner;
use wayland_protocols::xdg::shell::client::xdg_surface::{self, XdgSurface};
use wayland_protocols::xdg::shell::client::xdg_toplevel::XdgToplevel;
use wayland_protocols::xdg::shell::client::xdg_wm_base::{self, XdgWmBase};

/// How a case ended, when it did not run to its end.
#[derive(Debug)]
pub enum End {
    /// The compositor closed the connection (with a protocol error, if any).
    Cut(String),
    /// The case could not even be set up: a bug in the test, not a finding.
    Failed(String),
}

/// A case's result: `Ok` with a summary means it survived to its end.
pub type Step<T> = Result<T, End>;

pub fn failed(what: impl Display) -> End {
    End::Failed(what.to_string())
}

/// Size of the buffers our toplevels show.
pub const WINDOW: (i32, i32) = (64, 48);

/// Events are only recorded as far as the cases need them.
#[derive(Debug, Default)]
pub struct App {
    /// The newest xdg_surface.configure serial.
    pub configure: Option<u32>,
    /// wl_callback.done events (frame callbacks and syncs alike).
    pub callbacks_done: u64,
}

pub struct Session {
    pub conn: Connection,
    pub queue: EventQueue<App>,
    pub qh: QueueHandle<App>,
    pub globals: GlobalList,
    pub app: App,
    pub compositor: WlCompositor,
    pub shm: WlShm,
    pub wm_base: XdgWmBase,
}

/// A mapped toplevel: its buffer is attached and committed.
pub struct Window {
    pub surface: WlSurface,
    pub xdg: XdgSurface,
    pub toplevel: XdgToplevel,
    pub buffer: WlBuffer,
}

impl Session {
    /// Connect to WAYLAND_DISPLAY and bind what every case uses.
    pub fn connect() -> Step<Session> {
        let conn = Connection::connect_to_env().map_err(|e| failed(format!("connect: {e}")))?;
        let (globals, queue) =
            registry_queue_init::<App>(&conn).map_err(|e| failed(format!("registry: {e}")))?;
        let qh = queue.handle();
        let bind = |what: &str, e: wayland_client::globals::BindError| {
            failed(format!("binding {what}: {e}"))
        };
        let compositor = globals
            .bind(&qh, 1..=6, ())
            .map_err(|e| bind("wl_compositor", e))?;
        let shm = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| bind("wl_shm", e))?;
        let wm_base = globals
            .bind(&qh, 1..=6, ())
            .map_err(|e| bind("xdg_wm_base", e))?;
        let mut session = Session {
            conn,
            queue,
            qh,
            globals,
            app: App::default(),
            compositor,
            shm,
            wm_base,
        };
        session.roundtrip()?;
        Ok(session)
    }

    /// Bind another global, or fail the case if it is not offered.
    pub fn bind<I>(&self, max_version: u32) -> Step<I>
    where
        I: Proxy + 'static,
        App: Dispatch<I, ()>,
    {
        self.globals
            .bind(&self.qh, 1..=max_version, ())
            .map_err(|e| failed(format!("binding {}: {e}", I::interface().name)))
    }

    /// Why the connection is dead: the compositor's protocol error if it
    /// sent one, else the I/O error.
    pub fn cut(&self, err: impl Display) -> End {
        End::Cut(match self.conn.protocol_error() {
            // libwayland-client leaves the message empty (main.rs adds the
            // text it printed).
            Some(p) if p.message.is_empty() => format!(
                "protocol error {} on {}@{}",
                p.code, p.object_interface, p.object_id
            ),
            Some(p) => format!(
                "protocol error {} on {}@{}: {}",
                p.code, p.object_interface, p.object_id, p.message
            ),
            None => format!("connection lost: {err}"),
        })
    }

    /// Everything sent so far has been handled by the compositor.
    pub fn roundtrip(&mut self) -> Step<()> {
        // A storm leaves more queued than the socket takes at once, and
        // wayland-client's round trip gives up on a full socket.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !self.pump()? {
            if std::time::Instant::now() > deadline {
                return Err(failed(
                    "the compositor took nothing from the socket for 20 s",
                ));
            }
            self.wait_io(Duration::from_millis(50));
        }
        match self.queue.roundtrip(&mut self.app) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.cut(e)),
        }
    }

    /// Send what is queued and handle what has arrived, without blocking.
    /// A full socket is not an error: the rest goes out on a later call,
    /// and the result says whether everything went out.
    pub fn pump(&mut self) -> Step<bool> {
        let flushed = match self.conn.flush() {
            Ok(()) => true,
            Err(WaylandError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) => return Err(self.cut(e)),
        };
        // Read everything that is there: a client that leaves its answers
        // unread is cut off for that alone, which is not what a case tests.
        for _ in 0..64 {
            let Some(guard) = self.conn.prepare_read() else {
                break;
            };
            match guard.read() {
                Ok(0) => break,
                Ok(_) => {}
                Err(WaylandError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(self.cut(e)),
            }
            if let Err(e) = self.queue.dispatch_pending(&mut self.app) {
                return Err(self.cut(e));
            }
        }
        match self.queue.dispatch_pending(&mut self.app) {
            Ok(_) => Ok(flushed),
            Err(e) => Err(self.cut(e)),
        }
    }

    /// Wait (up to `timeout`) until the socket can take more or has events.
    pub fn wait_io(&self, timeout: Duration) {
        self.poll(libc::POLLIN | libc::POLLOUT, timeout);
    }

    /// Wait (up to `timeout`) until the socket can take more.
    pub fn wait_writable(&self, timeout: Duration) {
        self.poll(libc::POLLOUT, timeout);
    }

    fn poll(&self, events: libc::c_short, timeout: Duration) {
        let mut fds = [libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&self.conn.as_fd()),
            events,
            revents: 0,
        }];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
    }

    /// A `width`x`height` XRGB8888 buffer in a pool of its own (the pool is
    /// destroyed at once; the buffer keeps the memory). Returns the memfd so
    /// a case can shrink it later.
    pub fn buffer(&self, (width, height): (i32, i32)) -> Step<(WlBuffer, File)> {
        let size = width * height * 4;
        let file = memfd(u64::try_from(size).map_err(failed)?)?;
        let pool = self.shm.create_pool(file.as_fd(), size, &self.qh, ());
        let buffer = pool.create_buffer(
            0,
            width,
            height,
            width * 4,
            wl_shm::Format::Xrgb8888,
            &self.qh,
            (),
        );
        pool.destroy();
        Ok((buffer, file))
    }

    /// A toplevel with its first configure acked and a buffer of its own.
    pub fn map_window(&mut self) -> Step<Window> {
        let (buffer, _file) = self.buffer(WINDOW)?;
        self.map_window_with(buffer)
    }

    /// A toplevel with its first configure acked, showing `buffer`.
    pub fn map_window_with(&mut self, buffer: WlBuffer) -> Step<Window> {
        let surface = self.compositor.create_surface(&self.qh, ());
        let xdg = self.wm_base.get_xdg_surface(&surface, &self.qh, ());
        let toplevel = xdg.get_toplevel(&self.qh, ());
        toplevel.set_title("palisade-hostile".into());
        self.app.configure = None;
        surface.commit();
        for _ in 0..10 {
            if self.app.configure.is_some() {
                break;
            }
            self.roundtrip()?;
        }
        let serial = (self.app.configure).ok_or_else(|| failed("no configure for a toplevel"))?;
        xdg.ack_configure(serial);
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, WINDOW.0, WINDOW.1);
        surface.commit();
        self.roundtrip()?;
        Ok(Window {
            surface,
            xdg,
            toplevel,
            buffer,
        })
    }
}

/// An anonymous shared-memory file of `size` bytes (sparse: nothing is
/// written, so a huge one costs nothing until someone touches it).
pub fn memfd(size: u64) -> Step<File> {
    // SAFETY: a valid NUL-terminated name; the result is checked below.
    let fd = unsafe { libc::memfd_create(c"palisade-hostile".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(failed(format!(
            "memfd_create: {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(size)
        .map_err(|e| failed(format!("sizing a memfd to {size}: {e}")))?;
    Ok(file)
}

impl Dispatch<WlRegistry, GlobalListContents> for App {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: <WlRegistry as Proxy>::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<WlCallback, ()> for App {
    fn event(
        app: &mut Self,
        _: &WlCallback,
        event: wl_callback::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wl_callback::Event::Done { .. } = event {
            app.callbacks_done += 1;
        }
    }
}

impl Dispatch<XdgWmBase, ()> for App {
    fn event(
        _: &mut Self,
        wm_base: &XdgWmBase,
        event: xdg_wm_base::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_wm_base::Event::Ping { serial } = event {
            wm_base.pong(serial);
        }
    }
}

impl Dispatch<XdgSurface, ()> for App {
    fn event(
        app: &mut Self,
        _: &XdgSurface,
        event: xdg_surface::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_surface::Event::Configure { serial } = event {
            app.configure = Some(serial);
        }
    }
}

delegate_noop!(App: ignore WlCompositor);
delegate_noop!(App: ignore WlSurface);
delegate_noop!(App: ignore WlShm);
delegate_noop!(App: ignore WlShmPool);
delegate_noop!(App: ignore WlBuffer);
delegate_noop!(App: ignore WlRegion);
delegate_noop!(App: ignore WlSubcompositor);
delegate_noop!(App: ignore WlSubsurface);
delegate_noop!(App: ignore WlSeat);
delegate_noop!(App: ignore WlPointer);
delegate_noop!(App: ignore WlKeyboard);
delegate_noop!(App: ignore XdgToplevel);
delegate_noop!(App: ignore XdgPositioner);
delegate_noop!(App: ignore XdgPopup);
delegate_noop!(App: ignore WpViewporter);
delegate_noop!(App: ignore WpViewport);
