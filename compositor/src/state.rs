//! The compositor's state: one `State` split into the backend and the rest
//! (`Palisade`), so that a backend method can borrow everything else mutably.

use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smithay::input::{Seat, SeatState};
use smithay::output::Output;
use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::{Interest, LoopHandle, LoopSignal, Mode, PostAction};
use smithay::reexports::wayland_server::backend::{ClientData, ClientId, DisconnectReason};
use smithay::reexports::wayland_server::{Client, Display, DisplayHandle};
use smithay::utils::{Logical, Rectangle};
use smithay::wayland::compositor::{CompositorClientState, CompositorState};
use smithay::wayland::cursor_shape::CursorShapeManagerState;
use smithay::wayland::dmabuf::{DmabufGlobal, DmabufState};
use smithay::wayland::fractional_scale::FractionalScaleManagerState;
use smithay::wayland::keyboard_shortcuts_inhibit::KeyboardShortcutsInhibitState;
use smithay::wayland::output::OutputManagerState;
use smithay::wayland::presentation::PresentationState;
use smithay::wayland::selection::data_device::DataDeviceState;
use smithay::wayland::shell::xdg::decoration::XdgDecorationState;
use smithay::wayland::shell::xdg::XdgShellState;
use smithay::wayland::shm::ShmState;
use smithay::wayland::socket::ListeningSocketSource;
use smithay::wayland::viewporter::ViewporterState;
use tracing::{info, warn};

use crate::backend::Backend;
use crate::config::Config;
use crate::launcher::Children;

/// Who a client is, as the compositor decided when it inserted the client.
/// Nothing the client sends (app_id, title) ever changes this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The app id from the config, or "unknown".
    pub id: String,
    /// The label the user configured, shown as trusted text.
    pub label: String,
    /// The identity colour from the config.
    pub color: [u8; 3],
}

impl Identity {
    /// The identity of clients the compositor did not launch from the config.
    pub fn unknown() -> Self {
        Self {
            id: "unknown".into(),
            label: "Unknown".into(),
            color: [0x80, 0x80, 0x80],
        }
    }
}

/// Per-client data attached at insertion time.
#[derive(Debug)]
pub struct ClientState {
    pub compositor_state: CompositorClientState,
    pub identity: Identity,
    /// The pid recorded at spawn: `get_credentials` on a socketpair would
    /// report our own pid.
    pub pid: Option<u32>,
    /// The globals this client may see, from the policy for its identity,
    /// fixed at insertion (see `handlers/globals.rs`).
    pub globals: palisade_protocols::GlobalSet,
    /// What it holds, against the limits (see `crate::limits`).
    pub limits: crate::limits::ClientLimits,
}

impl ClientData for ClientState {
    fn initialized(&self, _client_id: ClientId) {}

    fn disconnected(&self, _client_id: ClientId, reason: DisconnectReason) {
        let (surfaces, pools, buffers) = self.limits.peaks();
        tracing::debug!(
            identity = %self.identity.id, pid = ?self.pid,
            "client's peaks: {surfaces} surfaces, {pools} shm pools, {buffers} shm buffers"
        );
        match reason {
            DisconnectReason::ConnectionClosed => {
                info!(identity = %self.identity.id, pid = ?self.pid, "client disconnected")
            }
            DisconnectReason::ProtocolError(err) => warn!(
                identity = %self.identity.id, pid = ?self.pid,
                "client disconnected after a protocol error: {err}"
            ),
        }
    }
}

/// Frame pacing state of one output.
#[derive(Debug, Default)]
pub struct Redraw {
    /// Something changed since the last frame.
    pub needed: bool,
    /// A frame was shown and its refresh interval has not yet passed.
    pub pending: bool,
    /// Frames rendered on this output (tests count them).
    pub frames: u64,
}

#[derive(Debug)]
pub struct OutputEntry {
    pub output: Output,
    pub redraw: Redraw,
    pub panel: crate::panel::OutputPanel,
    /// The lock screen's pixels, and whether a locked frame was shown.
    pub lock: crate::lock::OutputLock,
}

/// What the panel reports that the compositor does not decide itself (USB
/// comes from the helper link, see `crate::helper`).
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub wifi: palisade_panel::WifiState,
    pub battery: palisade_panel::BatteryState,
}

/// Smithay's state for every protocol Palisade offers.
pub struct Protocols {
    pub compositor_state: CompositorState,
    pub xdg_shell_state: XdgShellState,
    pub xdg_decoration_state: XdgDecorationState,
    pub shm_state: ShmState,
    pub seat_state: SeatState<State>,
    pub output_manager_state: OutputManagerState,
    pub data_device_state: DataDeviceState,
    pub viewporter_state: ViewporterState,
    pub fractional_scale_state: FractionalScaleManagerState,
    pub presentation_state: PresentationState,
    pub cursor_shape_state: CursorShapeManagerState,
    pub keyboard_shortcuts_inhibit_state: KeyboardShortcutsInhibitState,
    pub idle_inhibit_state: smithay::wayland::idle_inhibit::IdleInhibitManagerState,
    pub dmabuf: Option<(DmabufState, DmabufGlobal)>,
}

pub struct State {
    pub backend: Backend,
    pub pal: Palisade,
}

pub struct Palisade {
    pub display_handle: DisplayHandle,
    pub loop_handle: LoopHandle<'static, State>,
    pub loop_signal: LoopSignal,
    pub start_time: Instant,
    pub config: Config,
    pub theme: palisade_themes::Theme,

    /// Smithay's per-protocol bookkeeping (what each global is gated by is
    /// in `handlers/globals.rs`).
    pub protocols: Protocols,

    pub seat: Seat<State>,
    /// The windows, their places and stacking order.
    pub shell: crate::shell::Shell,
    /// The one focus value (see `crate::focus`).
    pub focus: crate::focus::Focus,
    /// The lock session (see `crate::lock`).
    pub lock: crate::lock::LockSession,
    /// Input routing's own state: taken keys, the pointer, cursor, drag.
    pub input: crate::input::InputState,
    pub render: crate::render::RenderState,
    /// Outputs left to right.
    pub outputs: Vec<OutputEntry>,
    pub children: Children,
    /// The public socket's name, when the config opened one.
    pub public_socket: Option<String>,
    /// The panel renderer (fonts loaded once) and its style from the theme.
    pub panel: palisade_panel::Panel,
    pub panel_style: palisade_panel::PanelStyle,
    pub status: Status,
    /// Idle locking and switching the outputs off.
    pub idle: crate::idle::Idle,
    /// A fixed clock text, for reproducible pixels in tests.
    pub clock_override: Option<String>,
    /// The link to `palisade-helper`, when the compositor was started with
    /// one (`PALISADE_HELPER_FD`). None: USB reads "helper not connected"
    /// and privileged actions only log.
    pub helper: Option<crate::helper::HelperLink>,
    /// The D-Bus status thread, while it runs (dropping it stops it).
    pub status_watcher: Option<crate::status::StatusHandle>,
    /// The logind thread, while it runs (dropping it stops it).
    pub logind: Option<crate::logind::LogindHandle>,
    /// logind announced a sleep that waits for the lock to be shown.
    pub sleep_pending: bool,
    /// Who owns the clipboard and the trusted transfer under way.
    pub clipboard: crate::clipboard::Clipboard,
}

impl State {
    /// Build the state and put the Wayland display into the event loop.
    pub fn new(
        display: Display<State>,
        loop_handle: LoopHandle<'static, State>,
        loop_signal: LoopSignal,
        backend: Backend,
        config: Config,
    ) -> anyhow::Result<State> {
        let dh = display.handle();
        let pal = Palisade::new(&dh, loop_handle.clone(), loop_signal, config)?;

        loop_handle
            .insert_source(
                Generic::new(display, Interest::READ, Mode::Level),
                |_, display, state: &mut State| {
                    // SAFETY: the display is never dropped while the source lives; we only dispatch.
                    let display = unsafe { display.get_mut() };
                    if let Err(err) = display.dispatch_clients(state) {
                        warn!("dispatching clients failed: {err}");
                    }
                    Ok(PostAction::Continue)
                },
            )
            .map_err(|e| anyhow::anyhow!("inserting the display source: {e}"))?;

        let mut state = State { backend, pal };
        state.backend.init(&mut state.pal);
        crate::panel::start_clock(&mut state.pal);
        state.pal.idle_rearm();
        if state.pal.config.public_socket {
            let name = state.pal.open_public_socket()?;
            state.pal.public_socket = Some(name);
        }
        Ok(state)
    }

    /// Everything that must happen once per event-loop iteration, in order:
    /// windows first (they decide what outputs show), then the keyboard and
    /// the pointer brought in line with focus and the stack (a lock that
    /// began in this iteration takes them from every client here), then
    /// frames, then the flush that sends all of it to clients.
    pub fn refresh(&mut self) {
        self.pal.shell.refresh();
        self.sync_focus();
        // Whatever changes what is under a still pointer (a lock, a window
        // mapped, raised or redrawn) asks for a frame, which marks the
        // pointer: only then can its surface have changed.
        if self.pal.input.take_stack_changed() {
            self.sync_pointer();
        }
        self.pal.children.reap();
        self.render_pending();
        if let Err(err) = self.pal.display_handle.flush_clients() {
            warn!("flushing clients failed: {err}");
        }
    }

    /// Render every output that has something new and whose last frame's
    /// refresh interval has passed.
    pub fn render_pending(&mut self) {
        let names: Vec<String> = self
            .pal
            .outputs
            .iter()
            // Switched off: nothing is drawn until input switches them on.
            .filter(|o| self.pal.idle.outputs_on && o.redraw.needed && !o.redraw.pending)
            .map(|o| o.output.name())
            .collect();
        for name in names {
            self.backend.render(&mut self.pal, &name);
        }
    }

    /// Launch the config's autostart apps, as the session starts.
    pub fn start_autostart_apps(&mut self) {
        let ids: Vec<String> = (self.pal.config.apps.iter())
            .filter(|a| a.autostart)
            .map(|a| a.id.clone())
            .collect();
        for id in ids {
            if let Err(err) = self.launch_app(&id) {
                warn!("autostart {id}: {err:#}");
            }
        }
    }

    /// Launch an app from the config by id, because the user asked for it
    /// (a shortcut, a scenario step): its first window may take focus from
    /// another identity (see `crate::focus`).
    pub fn launch_app_for_user(&mut self, id: &str) -> anyhow::Result<u32> {
        let (pid, client) = self.launch_app_client(id)?;
        self.pal.note_user_launch(&client);
        Ok(pid)
    }

    /// Launch an app from the config by id, not at the user's request
    /// (autostart): its windows take focus from no other identity.
    pub fn launch_app(&mut self, id: &str) -> anyhow::Result<u32> {
        self.launch_app_client(id).map(|(pid, _)| pid)
    }

    fn launch_app_client(&mut self, id: &str) -> anyhow::Result<(u32, Client)> {
        let app = self
            .pal
            .config
            .app(id)
            .ok_or_else(|| anyhow::anyhow!("no app with id {id:?} in the config"))?
            .clone();
        let identity = Identity {
            id: app.id.clone(),
            label: app.label.clone(),
            color: app.color,
        };
        self.pal.spawn_client(&app.command, &app.env, identity)
    }
}

impl Palisade {
    fn new(
        dh: &DisplayHandle,
        loop_handle: LoopHandle<'static, State>,
        loop_signal: LoopSignal,
        config: Config,
    ) -> anyhow::Result<Palisade> {
        let compositor_state = CompositorState::new::<State>(dh);
        let xdg_shell_state = XdgShellState::new::<State>(dh);
        let xdg_decoration_state = XdgDecorationState::new::<State>(dh);
        let shm_state = ShmState::new::<State>(dh, vec![]);
        let mut seat_state = SeatState::new();
        let output_manager_state = OutputManagerState::new_with_xdg_output::<State>(dh);
        let data_device_state = DataDeviceState::new::<State>(dh);
        let viewporter_state = ViewporterState::new::<State>(dh);
        let fractional_scale_state = FractionalScaleManagerState::new::<State>(dh);
        // CLOCK_MONOTONIC: the clock our frame times come from.
        let presentation_state = PresentationState::new::<State>(dh, 1);
        let cursor_shape_state = CursorShapeManagerState::new::<State>(dh);
        let keyboard_shortcuts_inhibit_state = KeyboardShortcutsInhibitState::new::<State>(dh);
        let idle_inhibit_state =
            smithay::wayland::idle_inhibit::IdleInhibitManagerState::new::<State>(dh);

        let mut seat = seat_state.new_wl_seat(dh, "seat0");
        let kb = &config.keyboard;
        let xkb = smithay::input::keyboard::XkbConfig {
            rules: &kb.rules,
            model: &kb.model,
            layout: &kb.layout,
            variant: &kb.variant,
            options: kb.options.clone(),
        };
        seat.add_keyboard(xkb, kb.repeat_delay_ms as i32, kb.repeat_rate_hz as i32)
            .map_err(|e| {
                anyhow::anyhow!("the keyboard layout from the config does not load: {e:?}")
            })?;
        seat.add_pointer();

        let theme = config.theme.clone();
        let config_theme = config.theme.clone();
        Ok(Palisade {
            display_handle: dh.clone(),
            loop_handle,
            loop_signal,
            start_time: Instant::now(),
            config,
            theme,
            protocols: Protocols {
                compositor_state,
                xdg_shell_state,
                xdg_decoration_state,
                shm_state,
                seat_state,
                output_manager_state,
                data_device_state,
                viewporter_state,
                fractional_scale_state,
                presentation_state,
                cursor_shape_state,
                keyboard_shortcuts_inhibit_state,
                idle_inhibit_state,
                dmabuf: None,
            },
            seat,
            shell: Default::default(),
            focus: Default::default(),
            lock: crate::lock::LockSession::new(&config_theme),
            input: Default::default(),
            render: Default::default(),
            outputs: Vec::new(),
            children: Children::default(),
            public_socket: None,
            panel: palisade_panel::Panel::new(),
            panel_style: crate::panel::panel_style(&config_theme),
            status: Status::default(),
            clock_override: None,
            idle: crate::idle::Idle::default(),
            helper: None,
            status_watcher: None,
            logind: None,
            sleep_pending: false,
            clipboard: crate::clipboard::Clipboard::default(),
        })
    }

    /// Milliseconds since start, the time base for input events.
    pub fn now_ms(&self) -> u32 {
        self.start_time.elapsed().as_millis() as u32
    }

    pub fn clock(&self) -> Duration {
        self.start_time.elapsed()
    }

    /// Insert a client on our end of a socketpair, with its identity.
    pub fn insert_client(
        &mut self,
        stream: UnixStream,
        identity: Identity,
        pid: Option<u32>,
    ) -> anyhow::Result<Client> {
        let globals = self.config.policy.for_identity(&identity.id);
        let data = Arc::new(ClientState {
            compositor_state: CompositorClientState::default(),
            identity,
            pid,
            globals,
            limits: Default::default(),
        });
        self.display_handle
            .insert_client(stream, data)
            .map_err(|e| anyhow::anyhow!("inserting a client: {e}"))
    }

    /// Open the public socket the config may ask for. Clients arriving there
    /// are "unknown": the compositor did not launch them.
    pub fn open_public_socket(&mut self) -> anyhow::Result<String> {
        let source = ListeningSocketSource::new_auto()
            .map_err(|e| anyhow::anyhow!("creating the public Wayland socket: {e}"))?;
        let name = source.socket_name().to_string_lossy().into_owned();
        self.loop_handle
            .insert_source(source, |stream, _, state: &mut State| {
                let Some(slot) = crate::limits::PublicSlot::take() else {
                    // Dropping the stream hangs up on it.
                    warn!(
                        "public socket: refused a connection, {} clients are connected already",
                        crate::limits::MAX_PUBLIC_CLIENTS
                    );
                    return;
                };
                match state.pal.insert_client(stream, Identity::unknown(), None) {
                    Ok(client) => {
                        if let Some(data) = client.get_data::<ClientState>() {
                            data.limits.hold_public_slot(slot);
                        }
                    }
                    Err(err) => warn!("{err}"),
                }
            })
            .map_err(|e| anyhow::anyhow!("listening on the public socket: {e}"))?;
        warn!(socket = %name, "public Wayland socket open: its clients are \"unknown\"");
        Ok(name)
    }

    pub fn output_by_name(&self, name: &str) -> Option<&Output> {
        self.outputs
            .iter()
            .map(|o| &o.output)
            .find(|o| o.name() == name)
    }

    pub fn output_entry_mut(&mut self, name: &str) -> Option<&mut OutputEntry> {
        self.outputs.iter_mut().find(|o| o.output.name() == name)
    }

    /// Mark outputs as needing a frame; the loop renders them when paced.
    /// Whatever changes what an output shows comes here, so this is also
    /// where the pointer's surface is marked for deciding again.
    pub fn queue_redraw(&mut self, output: &Output) {
        if let Some(entry) = self.outputs.iter_mut().find(|o| &o.output == output) {
            entry.redraw.needed = true;
        }
        self.input.mark_stack_changed();
    }

    pub fn queue_redraw_all(&mut self) {
        for entry in &mut self.outputs {
            entry.redraw.needed = true;
        }
        self.input.mark_stack_changed();
    }

    /// The output's rectangle in global logical coordinates.
    pub fn output_geometry(&self, output: &Output) -> Option<Rectangle<i32, Logical>> {
        self.shell.output_geometry(output)
    }

    /// The output minus the reserved strip: where windows may be.
    pub fn work_area(&self, output: &Output) -> Option<Rectangle<i32, Logical>> {
        Some(self.work_area_in(self.output_geometry(output)?))
    }

    /// The work area of an output whose rectangle is `geo`.
    pub fn work_area_in(&self, geo: Rectangle<i32, Logical>) -> Rectangle<i32, Logical> {
        let strip = self.theme.panel_height.clamp(0, geo.size.h.max(0));
        Rectangle::new(
            (geo.loc.x, geo.loc.y + strip).into(),
            (geo.size.w, geo.size.h - strip).into(),
        )
    }

    /// The output under the pointer, else the first one.
    pub fn active_output(&self) -> Option<Output> {
        (self.shell.space())
            .output_under(self.input.pointer_location())
            .next()
            .cloned()
            .or_else(|| self.outputs.first().map(|o| o.output.clone()))
    }
}
