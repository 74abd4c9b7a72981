//! The DRM/KMS backend: Palisade as the session's compositor on real
//! displays. One GPU (the primary) renders with GLES on GBM/EGL, libinput
//! reads the input devices, and libseat hands out device access and VT
//! switches.
//!
//! Frames go through Smithay's `DrmCompositor`. An output renders only when
//! the shared state marks it `needed`; once a frame is queued the output
//! stays `pending` until the VBlank for its CRTC arrives, so the display
//! itself paces rendering and an idle screen costs nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::backend::allocator::gbm::{GbmAllocator, GbmBufferFlags, GbmDevice};
use smithay::backend::allocator::Fourcc;
use smithay::backend::drm::compositor::{DrmCompositor, FrameFlags, PrimaryPlaneElement};
use smithay::backend::drm::exporter::gbm::GbmFramebufferExporter;
use smithay::backend::drm::{DrmDevice, DrmDeviceFd, DrmEvent, DrmNode, NodeType};
use smithay::backend::egl::{EGLContext, EGLDisplay};
use smithay::backend::input::InputEvent;
use smithay::backend::libinput::{LibinputInputBackend, LibinputSessionInterface};
use smithay::backend::renderer::gles::GlesRenderer;
use smithay::backend::renderer::ImportDma;
use smithay::backend::session::libseat::LibSeatSession;
use smithay::backend::session::{Event as SessionEvent, Session};
use smithay::backend::udev::{all_gpus, primary_gpu, UdevBackend, UdevEvent};
use smithay::output::{Mode, Output, PhysicalProperties, Scale};
use smithay::reexports::calloop::{LoopHandle, RegistrationToken};
use smithay::reexports::drm::control::{
    connector, crtc, Device as _, Mode as DrmMode, ModeTypeFlags, ResourceHandles,
};
use smithay::reexports::input::Libinput;
use smithay::reexports::rustix::fs::OFlags;
use smithay::reexports::wayland_server::backend::GlobalId;
use smithay::utils::{DeviceFd, Transform};
use smithay::wayland::dmabuf::{DmabufFeedbackBuilder, DmabufState};
use tracing::{debug, info, warn};

use super::Backend;
use crate::state::{Palisade, State};

type Compositor =
    DrmCompositor<GbmAllocator<DrmDeviceFd>, GbmFramebufferExporter<DrmDeviceFd>, (), DrmDeviceFd>;

/// Scan-out formats to try, in order. 8-bit only: 10-bit gains nothing for
/// what Palisade shows and is where drivers disagree most.
const COLOR_FORMATS: [Fourcc; 2] = [Fourcc::Argb8888, Fourcc::Abgr8888];

/// Used when a mode reports no refresh rate, so pacing never divides by zero.
const FALLBACK_REFRESH_MHZ: i32 = 60_000;

/// One lit connector: the CRTC driving it, its output and its compositor.
struct Screen {
    // First field, so it drops first: its surface turns the CRTC off while
    // the device is still open.
    compositor: Compositor,
    output: Output,
    global: GlobalId,
    connector: connector::Handle,
    crtc: crtc::Handle,
    /// One refresh cycle of the mode in use.
    refresh: Duration,
}

/// An open GPU with its displays. Only the primary GPU is opened; a second
/// one would be another `Gpu`, and outputs wired to a display-only device
/// would need Smithay's multi-GPU renderer, which one GPU does not.
struct Gpu {
    // Field order is drop order: compositors, then the renderer, then the
    // GBM and DRM devices they were built on.
    screens: Vec<Screen>,
    renderer: GlesRenderer,
    gbm: GbmDevice<DrmDeviceFd>,
    drm: DrmDevice,
    node: DrmNode,
    /// Where clients should allocate; advertised through dmabuf feedback.
    render_node: DrmNode,
    /// The DRM event source (VBlanks) in the event loop.
    notifier: RegistrationToken,
}

pub struct Udev {
    // Before `session`: the GPU's file descriptor came from the session.
    gpu: Option<Gpu>,
    primary: DrmNode,
    libinput: Libinput,
    session: LibSeatSession,
}

/// The backend and the rest of the state, borrowed apart, from inside an
/// event-loop callback.
fn split(state: &mut State) -> Option<(&mut Udev, &mut Palisade)> {
    match &mut state.backend {
        Backend::Udev(udev) => Some((&mut **udev, &mut state.pal)),
        _ => None,
    }
}

impl Udev {
    /// Open the session, the primary GPU and the input devices. Fails
    /// cleanly, before touching any display, when there is no seat or GPU.
    pub fn new(handle: &LoopHandle<'static, State>) -> anyhow::Result<Udev> {
        let (mut session, notifier) = LibSeatSession::new().map_err(|e| {
            anyhow!(
                "cannot open a seat session ({e}): the udev backend needs seatd or \
                 systemd-logind and a text console; use --backend winit or headless otherwise"
            )
        })?;
        let seat = session.seat();
        let path = find_primary_gpu(&seat)?;
        let primary = DrmNode::from_path(&path)
            .with_context(|| format!("{} is not a DRM device", path.display()))?;
        let udev = UdevBackend::new(&seat).context("watching udev for display hotplug")?;

        // libinput opens the input devices through the session, so it gets
        // access without root and loses it on a VT switch.
        let mut libinput = Libinput::new_with_udev(LibinputSessionInterface::from(session.clone()));
        libinput
            .udev_assign_seat(&seat)
            .map_err(|()| anyhow!("libinput cannot take the input devices of seat {seat}"))?;

        let gpu = Gpu::open(&mut session, handle, &path)?;
        info!(gpu = %path.display(), %seat, "udev backend ready");

        handle
            .insert_source(
                LibinputInputBackend::new(libinput.clone()),
                |mut event, _, state: &mut State| {
                    if let InputEvent::DeviceAdded { device } = &mut event {
                        configure_input_device(device);
                    }
                    state.process_input_event(event);
                },
            )
            .map_err(|e| anyhow!("listening to libinput: {}", e.error))?;
        handle
            .insert_source(notifier, |event, _, state: &mut State| {
                if let Some((udev, pal)) = split(state) {
                    udev.on_session_event(pal, event);
                }
            })
            .map_err(|e| anyhow!("listening to the seat session: {}", e.error))?;
        handle
            .insert_source(udev, |event, _, state: &mut State| {
                if let Some((udev, pal)) = split(state) {
                    udev.on_udev_event(pal, event);
                }
            })
            .map_err(|e| anyhow!("listening to udev: {}", e.error))?;

        Ok(Udev {
            gpu: Some(gpu),
            primary,
            libinput,
            session,
        })
    }

    pub(super) fn init(&mut self, pal: &mut Palisade) {
        let Some(gpu) = &mut self.gpu else {
            return;
        };
        let formats = gpu.renderer.dmabuf_formats();
        let mut state = DmabufState::new();
        // Default feedback names the render node so clients allocate on this
        // GPU; older (v3) clients still get the format list from it.
        let global =
            match DmabufFeedbackBuilder::new(gpu.render_node.dev_id(), formats.clone()).build() {
                Ok(feedback) => state
                    .create_global_with_default_feedback::<State>(&pal.display_handle, &feedback),
                Err(err) => {
                    warn!("building dmabuf feedback failed, offering formats only: {err}");
                    state.create_global::<State>(&pal.display_handle, formats)
                }
            };
        pal.protocols.dmabuf = Some((state, global));
        self.rescan(pal);
    }

    pub(super) fn render(&mut self, pal: &mut Palisade, name: &str) {
        let Some(gpu) = &mut self.gpu else {
            return;
        };
        // On another VT: leave `needed` set; resuming redraws everything.
        if !gpu.drm.is_active() {
            return;
        }
        let Some(screen) = gpu.screens.iter_mut().find(|s| s.output.name() == name) else {
            return;
        };
        let output = screen.output.clone();
        let frame = pal.output_elements(&mut gpu.renderer, &output);
        let queued = match screen.compositor.render_frame(
            &mut gpu.renderer,
            &frame.elements,
            pal.theme.background,
            FrameFlags::DEFAULT,
        ) {
            Ok(rendered) => {
                // Without in-fences KMS could scan out a half-drawn buffer.
                if rendered.needs_sync() {
                    if let PrimaryPlaneElement::Swapchain(element) = &rendered.primary_element {
                        if let Err(err) = element.sync.wait() {
                            warn!(output = %name, "waiting for rendering to finish: {err:?}");
                        }
                    }
                }
                let is_empty = rendered.is_empty;
                pal.render.last_states = rendered.states;
                // Rendered from the lock's stack: this output shows the lock.
                pal.locked_frame_rendered(&output, frame.locked);
                if is_empty {
                    // Nothing changed on screen, so no VBlank will come.
                    false
                } else {
                    match screen.compositor.queue_frame(()) {
                        Ok(()) => true,
                        Err(err) => {
                            warn!(output = %name, "queueing a frame failed: {err}");
                            false
                        }
                    }
                }
            }
            Err(err) => {
                warn!(output = %name, "rendering failed: {err}");
                false
            }
        };
        // Frame callbacks go out now rather than at the VBlank: `frame_done`
        // clears `needed`, and at the VBlank that would swallow commits that
        // arrived while the flip was in flight.
        let refresh = screen.refresh;
        pal.frame_done(&output, refresh);
        if queued {
            if let Some(entry) = pal.output_entry_mut(name) {
                entry.redraw.pending = true;
            }
        } else {
            // No VBlank to wait for: fall back to a timer so a failing
            // output neither spins nor stalls its clients.
            super::pace(pal, name, refresh);
        }
    }

    /// Off: DPMS off on every connector (`DrmCompositor::clear`). On: the
    /// next queued frame re-enables them; the swapchain is reset so that
    /// frame is drawn in full.
    pub(super) fn set_power(&mut self, pal: &mut Palisade, on: bool) {
        let Some(gpu) = &mut self.gpu else {
            return;
        };
        for screen in &mut gpu.screens {
            if on {
                screen.compositor.reset_buffers();
            } else if let Err(err) = screen.compositor.clear() {
                warn!(output = %screen.output.name(), "switching the output off: {err}");
            }
            if let Some(entry) = pal.output_entry_mut(&screen.output.name()) {
                // A flip in flight never completes once cleared.
                entry.redraw.pending = false;
            }
        }
    }

    pub(super) fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match &mut self.gpu {
            Some(gpu) => gpu.renderer.import_dmabuf(dmabuf, None).is_ok(),
            None => false,
        }
    }

    /// Switch to another VT; the session pauses us if it succeeds.
    pub fn change_vt(&mut self, vt: i32) {
        if let Err(err) = self.session.change_vt(vt) {
            warn!(vt, "switching VT failed: {err}");
        }
    }

    fn on_drm_event(&mut self, pal: &mut Palisade, node: DrmNode, event: DrmEvent) {
        let Some(gpu) = self.gpu.as_mut().filter(|g| g.node == node) else {
            return;
        };
        match event {
            DrmEvent::VBlank(crtc) => {
                let Some(screen) = gpu.screens.iter_mut().find(|s| s.crtc == crtc) else {
                    return;
                };
                let name = screen.output.name();
                // Releases the buffer that was on screen back to the swapchain.
                if let Err(err) = screen.compositor.frame_submitted() {
                    warn!(output = %name, "completing a page flip failed: {err}");
                }
                if let Some(entry) = pal.output_entry_mut(&name) {
                    entry.redraw.pending = false;
                }
            }
            DrmEvent::Error(err) => warn!("DRM device error: {err}"),
        }
    }

    fn on_session_event(&mut self, pal: &mut Palisade, event: SessionEvent) {
        match event {
            SessionEvent::PauseSession => {
                info!("session paused");
                self.libinput.suspend();
                if let Some(gpu) = &mut self.gpu {
                    gpu.drm.pause();
                }
            }
            SessionEvent::ActivateSession => {
                info!("session resumed");
                if self.libinput.resume().is_err() {
                    warn!("resuming libinput failed: input devices may be gone");
                }
                if let Some(gpu) = &mut self.gpu {
                    // false: keep the CRTCs as they are and let the next
                    // frame fix them, rather than a black flash on every switch.
                    if let Err(err) = gpu.drm.activate(false) {
                        warn!("reactivating the GPU failed: {err}");
                    }
                    for screen in &mut gpu.screens {
                        // Whoever had the VT may have changed the CRTC; read it
                        // again, and forget buffer ages so the frame is full.
                        if let Err(err) = screen.compositor.reset_state() {
                            warn!(output = %screen.output.name(), "resetting the output failed: {err}");
                        }
                        screen.compositor.reset_buffers();
                    }
                }
                // Monitors may have come and gone while we were away.
                self.rescan(pal);
                pal.queue_redraw_all();
            }
        }
    }

    fn on_udev_event(&mut self, pal: &mut Palisade, event: UdevEvent) {
        match event {
            UdevEvent::Changed { device_id } if device_id == self.primary.dev_id() => {
                self.rescan(pal);
            }
            UdevEvent::Removed { device_id } if device_id == self.primary.dev_id() => {
                warn!("the GPU is gone; no outputs left");
                if let Some(gpu) = self.gpu.take() {
                    gpu.close(pal);
                }
            }
            UdevEvent::Added { device_id, path } if device_id == self.primary.dev_id() => {
                // The same GPU again, e.g. after its driver was reloaded.
                if self.gpu.is_some() {
                    return;
                }
                match Gpu::open(&mut self.session, &pal.loop_handle, &path) {
                    Ok(gpu) => {
                        self.gpu = Some(gpu);
                        self.rescan(pal);
                    }
                    Err(err) => warn!("reopening the GPU failed: {err:#}"),
                }
            }
            other => debug!(?other, "ignoring a device that is not the primary GPU"),
        }
    }

    /// Bring outputs in line with the connectors: light new ones, drop the
    /// ones that were unplugged.
    fn rescan(&mut self, pal: &mut Palisade) {
        let Some(gpu) = &mut self.gpu else {
            return;
        };
        // Modesetting needs DRM master; the resume path rescans anyway.
        if !gpu.drm.is_active() {
            return;
        }
        let resources = match gpu.drm.resource_handles() {
            Ok(r) => r,
            Err(err) => {
                warn!("reading the GPU's connectors failed: {err}");
                return;
            }
        };
        let mut connected = Vec::new();
        // Connectors we could not read keep their output: a flaky probe
        // should not tear down a working screen.
        let mut unknown = Vec::new();
        for &handle in resources.connectors() {
            match gpu.drm.get_connector(handle, true) {
                Ok(info) if info.state() == connector::State::Connected => connected.push(info),
                Ok(_) => {}
                Err(err) => {
                    warn!(?handle, "probing a connector failed: {err}");
                    unknown.push(handle);
                }
            }
        }

        let (kept, gone): (Vec<Screen>, Vec<Screen>) =
            std::mem::take(&mut gpu.screens).into_iter().partition(|s| {
                unknown.contains(&s.connector)
                    || connected.iter().any(|info| info.handle() == s.connector)
            });
        gpu.screens = kept;
        for screen in gone {
            info!(output = %screen.output.name(), "output disconnected");
            screen.close(pal);
        }

        for info in &connected {
            if gpu.screens.iter().any(|s| s.connector == info.handle()) {
                continue;
            }
            let name = connector_name(info);
            match gpu.light(pal, &resources, info, &name) {
                Ok(screen) => {
                    info!(output = %name, mode = ?screen.output.current_mode(), "output connected");
                    gpu.screens.push(screen);
                }
                Err(err) => warn!(output = %name, "cannot light the output: {err:#}"),
            }
        }
    }
}

impl Gpu {
    /// Open the GPU at `path` through the session and build its renderer.
    fn open(
        session: &mut LibSeatSession,
        handle: &LoopHandle<'static, State>,
        path: &Path,
    ) -> anyhow::Result<Gpu> {
        let node = DrmNode::from_path(path)
            .with_context(|| format!("{} is not a DRM device", path.display()))?;
        let flags = OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let fd = session
            .open(path, flags)
            .map_err(|e| anyhow!("opening {} through the session: {e}", path.display()))?;
        let fd = DrmDeviceFd::new(DeviceFd::from(fd));
        // true: start from a known state with every connector off; the
        // flash happens once, at startup.
        let (drm, notifier) =
            DrmDevice::new(fd.clone(), true).context("taking over the display controller")?;
        let gbm = GbmDevice::new(fd).context("creating the GBM device")?;
        // Nothing else in this process creates EGL displays for this GBM
        // device or calls eglTerminate on them.
        // SAFETY: so Smithay owns the display's lifetime, as required.
        let display =
            unsafe { EGLDisplay::new(gbm.clone()) }.context("creating the EGL display")?;
        let context = EGLContext::new(&display).context("creating the EGL context")?;
        // SAFETY: the context was just created on this thread and is never
        // made current on, or sent to, another thread.
        let renderer =
            unsafe { GlesRenderer::new(context) }.context("creating the GLES renderer")?;
        let render_node = node
            .node_with_type(NodeType::Render)
            .and_then(Result::ok)
            .unwrap_or(node);
        let notifier = handle
            .insert_source(notifier, move |event, _, state: &mut State| {
                if let Some((udev, pal)) = split(state) {
                    udev.on_drm_event(pal, node, event);
                }
            })
            .map_err(|e| anyhow!("listening to {}: {}", path.display(), e.error))?;
        Ok(Gpu {
            screens: Vec::new(),
            renderer,
            gbm,
            drm,
            node,
            render_node,
            notifier,
        })
    }

    /// Drop every output of this GPU and stop listening to it.
    fn close(mut self, pal: &mut Palisade) {
        for screen in std::mem::take(&mut self.screens) {
            screen.close(pal);
        }
        pal.loop_handle.remove(self.notifier);
    }

    /// Light a connected connector: pick its mode and a free CRTC, create
    /// the output and its compositor, and announce it.
    fn light(
        &mut self,
        pal: &mut Palisade,
        resources: &ResourceHandles,
        info: &connector::Info,
        name: &str,
    ) -> anyhow::Result<Screen> {
        anyhow::ensure!(
            pal.output_by_name(name).is_none(),
            "an output named {name:?} exists already"
        );
        let mode = preferred_mode(info.modes()).context("the connector reports no modes")?;
        let crtc = self
            .free_crtc(resources, info)
            .context("no free CRTC can drive this connector")?;
        let surface = self
            .drm
            .create_surface(crtc, mode, &[info.handle()])
            .context("creating the DRM surface")?;

        let (width_mm, height_mm) = info.size().unwrap_or((0, 0));
        let output = Output::new(
            name.to_owned(),
            PhysicalProperties {
                size: (width_mm as i32, height_mm as i32).into(),
                subpixel: info.subpixel().into(),
                make: "Unknown".into(),
                model: "Unknown".into(),
            },
        );
        let wl_mode = Mode::from(mode);
        output.change_current_state(
            Some(wl_mode),
            Some(Transform::Normal),
            Some(Scale::Integer(1)),
            None,
        );
        output.set_preferred(wl_mode);

        let allocator = GbmAllocator::new(
            self.gbm.clone(),
            GbmBufferFlags::RENDERING | GbmBufferFlags::SCANOUT,
        );
        // No import node: client buffers are always composited, never put
        // on a plane directly, so what reaches the screen is exactly what
        // `output_elements` decided, the trusted strip included.
        let exporter = GbmFramebufferExporter::new(self.gbm.clone(), None);
        let renderer_formats = self.renderer.egl_context().dmabuf_render_formats().clone();
        let compositor = DrmCompositor::new(
            &output,
            surface,
            None,
            allocator,
            exporter,
            COLOR_FORMATS,
            renderer_formats,
            self.drm.cursor_size(),
            Some(self.gbm.clone()),
        )
        .context("creating the output's compositor")?;

        let refresh_mhz = if wl_mode.refresh > 0 {
            wl_mode.refresh
        } else {
            FALLBACK_REFRESH_MHZ
        };
        let global = output.create_global::<State>(&pal.display_handle);
        pal.add_output(output.clone());
        Ok(Screen {
            compositor,
            output,
            global,
            connector: info.handle(),
            crtc,
            refresh: Duration::from_nanos(1_000_000_000_000 / refresh_mhz as u64),
        })
    }

    /// A CRTC that one of the connector's encoders can use and that no
    /// other output already drives.
    fn free_crtc(
        &self,
        resources: &ResourceHandles,
        info: &connector::Info,
    ) -> Option<crtc::Handle> {
        let taken: Vec<crtc::Handle> = self.screens.iter().map(|s| s.crtc).collect();
        info.encoders()
            .iter()
            .filter_map(|&encoder| match self.drm.get_encoder(encoder) {
                Ok(encoder) => Some(encoder),
                Err(err) => {
                    warn!(?encoder, "reading an encoder failed: {err}");
                    None
                }
            })
            .flat_map(|encoder| resources.filter_crtcs(encoder.possible_crtcs()))
            .find(|crtc| !taken.contains(crtc))
    }
}

impl Screen {
    /// Withdraw the output from clients and the layout, then turn it off.
    fn close(self, pal: &mut Palisade) {
        let name = self.output.name();
        pal.remove_output(&name);
        pal.display_handle.remove_global::<State>(self.global);
        // Dropping the compositor clears the CRTC (if we still hold DRM master).
    }
}

/// The primary GPU (the one the firmware booted with), else any GPU.
fn find_primary_gpu(seat: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = primary_gpu(seat).context("asking udev for the primary GPU")? {
        return Ok(path);
    }
    all_gpus(seat)
        .context("asking udev for GPUs")?
        .into_iter()
        .next()
        .with_context(|| format!("no GPU found on seat {seat}"))
}

/// The connector's preferred mode, else its first (drivers list the best
/// first). Modes with zero totals are skipped: Smithay divides by them when
/// it computes the refresh rate.
fn preferred_mode(modes: &[DrmMode]) -> Option<DrmMode> {
    let usable: Vec<DrmMode> = modes
        .iter()
        .filter(|m| m.hsync().2 > 0 && m.vsync().2 > 0)
        .copied()
        .collect();
    usable
        .iter()
        .find(|m| m.mode_type().contains(ModeTypeFlags::PREFERRED))
        .or_else(|| usable.first())
        .copied()
}

/// "eDP-1", "HDMI-A-1": the names the kernel and other compositors use.
fn connector_name(info: &connector::Info) -> String {
    format!("{}-{}", info.interface().as_str(), info.interface_id())
}

/// Laptop touchpads: tap to click, which libinput leaves off by default.
fn configure_input_device(device: &mut smithay::reexports::input::Device) {
    if device.config_tap_finger_count() > 0 {
        if let Err(err) = device.config_tap_set_enabled(true) {
            debug!(device = %device.name(), "enabling tap-to-click failed: {err:?}");
        }
    }
}
