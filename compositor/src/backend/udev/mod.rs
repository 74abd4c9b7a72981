//! The DRM/KMS backend: Palisade as the session's compositor on real
//! displays. One GPU (the primary) renders with GLES on GBM/EGL, or with
//! pixman on dumb buffers when those cannot start (`gpu.rs`), libinput
//! reads the input devices, and libseat hands out device access and VT
//! switches.
//!
//! Frames go through Smithay's `DrmCompositor`. An output renders only when
//! the shared state marks it `needed`; once a frame is queued the output
//! stays `pending` until the VBlank for its CRTC arrives, so the display
//! itself paces rendering and an idle screen costs nothing.

mod gpu;

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::backend::allocator::Fourcc;
use smithay::backend::drm::{DrmEvent, DrmNode};
use smithay::backend::input::InputEvent;
use smithay::backend::libinput::{LibinputInputBackend, LibinputSessionInterface};
use smithay::backend::session::libseat::LibSeatSession;
use smithay::backend::session::{Event as SessionEvent, Session};
use smithay::backend::udev::{all_gpus, primary_gpu, UdevBackend, UdevEvent};
use smithay::reexports::calloop::LoopHandle;
use smithay::reexports::drm::control::{connector, Device as _, Mode as DrmMode, ModeTypeFlags};
use smithay::reexports::input::Libinput;
use smithay::wayland::dmabuf::{DmabufFeedbackBuilder, DmabufState};
use tracing::{debug, info, warn};

use super::Backend;
use crate::config::RendererChoice;
use crate::state::{Palisade, State};
use gpu::{Gpu, Screen};

/// Scan-out formats to try, in order. 8-bit only: 10-bit gains nothing for
/// what Palisade shows and is where drivers disagree most.
pub(super) const COLOR_FORMATS: [Fourcc; 2] = [Fourcc::Argb8888, Fourcc::Abgr8888];

/// Used when a mode reports no refresh rate, so pacing never divides by zero.
pub(super) const FALLBACK_REFRESH_MHZ: i32 = 60_000;

pub struct Udev {
    // Before `session`: the GPU's file descriptor came from the session.
    gpu: Option<Gpu>,
    primary: DrmNode,
    /// Which renderer to use (`renderer` in the config, or
    /// PALISADE_RENDERER): kept for when the GPU is opened again.
    renderer: RendererChoice,
    libinput: Libinput,
    session: LibSeatSession,
}

/// The backend and the rest of the state, borrowed apart, from inside an
/// event-loop callback.
pub(super) fn split(state: &mut State) -> Option<(&mut Udev, &mut Palisade)> {
    match &mut state.backend {
        Backend::Udev(udev) => Some((&mut **udev, &mut state.pal)),
        _ => None,
    }
}

impl Udev {
    /// Open the session, the primary GPU and the input devices. Fails
    /// cleanly, before touching any display, when there is no seat or GPU.
    pub fn new(
        handle: &LoopHandle<'static, State>,
        renderer: RendererChoice,
    ) -> anyhow::Result<Udev> {
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

        let gpu = Gpu::open(&mut session, handle, &path, renderer)?;
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
            renderer,
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
        // GPU; older (v3) clients still get the format list from it. Pixman
        // only maps what clients share: no render node to point them at.
        let feedback = (gpu.renderer.uses_gpu())
            .then(|| DmabufFeedbackBuilder::new(gpu.render_node.dev_id(), formats.clone()).build());
        let global = match feedback {
            Some(Ok(feedback)) => {
                state.create_global_with_default_feedback::<State>(&pal.display_handle, &feedback)
            }
            Some(Err(err)) => {
                warn!("building dmabuf feedback failed, offering formats only: {err}");
                state.create_global::<State>(&pal.display_handle, formats)
            }
            None => state.create_global::<State>(&pal.display_handle, formats),
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
        let Some((queued, refresh)) = gpu.render(pal, name) else {
            return;
        };
        let Some(output) = pal.output_by_name(name).cloned() else {
            return;
        };
        // Frame callbacks go out now rather than at the VBlank: `frame_done`
        // clears `needed`, and at the VBlank that would swallow commits that
        // arrived while the flip was in flight.
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
                screen.reset_buffers();
            } else {
                screen.clear();
            }
            if let Some(entry) = pal.output_entry_mut(&screen.output.name()) {
                // A flip in flight never completes once cleared.
                entry.redraw.pending = false;
            }
        }
    }

    pub(super) fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match &mut self.gpu {
            Some(gpu) => gpu.renderer.import_dmabuf(dmabuf),
            None => false,
        }
    }

    /// Switch to another VT; the session pauses us if it succeeds.
    pub fn change_vt(&mut self, vt: i32) {
        if let Err(err) = self.session.change_vt(vt) {
            warn!(vt, "switching VT failed: {err}");
        }
    }

    pub(super) fn on_drm_event(&mut self, pal: &mut Palisade, node: DrmNode, event: DrmEvent) {
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
                screen.frame_submitted(pal);
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
                        screen.reset_state();
                        screen.reset_buffers();
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
                match Gpu::open(&mut self.session, &pal.loop_handle, &path, self.renderer) {
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
pub(super) fn preferred_mode(modes: &[DrmMode]) -> Option<DrmMode> {
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
