//! One GPU's renderer and its screens. Two ways to draw: GLES on GBM/EGL
//! (Mesa), and pixman on DRM dumb buffers for when EGL or GBM cannot start.
//! A laptop with a broken GPU driver must still show the panel and the
//! lock screen, so `auto` falls back to pixman rather than giving up; the
//! choice and its reason are logged.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use smithay::backend::allocator::dmabuf::{AsDmabuf, Dmabuf};
use smithay::backend::allocator::dumb::DumbAllocator;
use smithay::backend::allocator::gbm::{GbmAllocator, GbmBufferFlags, GbmDevice};
use smithay::backend::allocator::Allocator;
use smithay::backend::drm::compositor::{DrmCompositor, FrameFlags, PrimaryPlaneElement};
use smithay::backend::drm::exporter::gbm::GbmFramebufferExporter;
use smithay::backend::drm::exporter::ExportFramebuffer;
use smithay::backend::drm::{DrmDevice, DrmDeviceFd, DrmNode, DrmSurface, NodeType};
use smithay::backend::egl::{EGLContext, EGLDisplay};
use smithay::backend::renderer::gles::GlesRenderer;
use smithay::backend::renderer::pixman::PixmanRenderer;
use smithay::backend::renderer::{Bind, ImportAll, ImportDma, ImportMem, Renderer, Texture};
use smithay::backend::session::libseat::LibSeatSession;
use smithay::backend::session::Session;
use smithay::output::{Mode, Output, PhysicalProperties, Scale};
use smithay::reexports::calloop::{LoopHandle, RegistrationToken};
use smithay::reexports::drm::control::{connector, crtc, Device as _, ResourceHandles};
use smithay::reexports::rustix::fs::OFlags;
use smithay::reexports::wayland_server::backend::GlobalId;
use smithay::utils::{DeviceFd, Transform};
use tracing::{info, warn};

use super::{preferred_mode, split, COLOR_FORMATS, FALLBACK_REFRESH_MHZ};
use crate::config::RendererChoice;
use crate::state::{Palisade, State};

type GbmCompositor =
    DrmCompositor<GbmAllocator<DrmDeviceFd>, GbmFramebufferExporter<DrmDeviceFd>, (), DrmDeviceFd>;
type DumbCompositor = DrmCompositor<DumbAllocator, DrmDeviceFd, (), DrmDeviceFd>;

/// How this GPU draws.
pub(super) enum GpuRenderer {
    Gles {
        // Boxed: the GLES renderer is several KiB, pixman's a few words.
        renderer: Box<GlesRenderer>,
        gbm: GbmDevice<DrmDeviceFd>,
    },
    /// Pixman into dumb buffers: CPU only, linear, no GPU driver needed
    /// beyond KMS itself.
    Pixman { renderer: PixmanRenderer },
}

/// An output's compositor, for the renderer of its GPU.
enum ScreenCompositor {
    Gles(GbmCompositor),
    Pixman(DumbCompositor),
}

/// Run `$body` with `$c` bound to whichever compositor the screen has.
macro_rules! with_compositor {
    ($screen:expr, $c:ident => $body:expr) => {
        match &mut $screen.compositor {
            ScreenCompositor::Gles($c) => $body,
            ScreenCompositor::Pixman($c) => $body,
        }
    };
}

/// One lit connector: the CRTC driving it, its output and its compositor.
pub(super) struct Screen {
    // First field, so it drops first: its surface turns the CRTC off while
    // the device is still open.
    compositor: ScreenCompositor,
    pub(super) output: Output,
    global: GlobalId,
    pub(super) connector: connector::Handle,
    pub(super) crtc: crtc::Handle,
    /// One refresh cycle of the mode in use.
    pub(super) refresh: Duration,
    /// The frame in flight was rendered from the lock's stack: once it is
    /// on screen (its VBlank), this output shows the lock.
    locked_in_flight: bool,
}

/// An open GPU with its displays. Only the primary GPU is opened; a second
/// one would be another `Gpu`, and outputs wired to a display-only device
/// would need Smithay's multi-GPU renderer, which one GPU does not.
pub(super) struct Gpu {
    // Field order is drop order: compositors, then the renderer, then the
    // GBM and DRM devices they were built on.
    pub(super) screens: Vec<Screen>,
    pub(super) renderer: GpuRenderer,
    pub(super) drm: DrmDevice,
    fd: DrmDeviceFd,
    pub(super) node: DrmNode,
    /// Where clients should allocate; advertised through dmabuf feedback.
    pub(super) render_node: DrmNode,
    /// The DRM event source (VBlanks) in the event loop.
    notifier: RegistrationToken,
}

impl GpuRenderer {
    /// The renderer `choice` asks for on `fd`: GLES, else (for `auto`)
    /// pixman, saying why.
    fn open(choice: RendererChoice, fd: &DrmDeviceFd) -> anyhow::Result<GpuRenderer> {
        let gles = match choice {
            RendererChoice::Pixman => {
                info!(
                    "renderer: pixman on dumb buffers (chosen by the config or PALISADE_RENDERER)"
                );
                return GpuRenderer::pixman();
            }
            _ => GpuRenderer::gles(fd),
        };
        match (gles, choice) {
            (Ok(gles), _) => {
                info!("renderer: GLES on GBM/EGL");
                Ok(gles)
            }
            (Err(err), RendererChoice::Gles) => Err(err),
            (Err(err), _) => {
                warn!("renderer: pixman on dumb buffers, because GLES cannot start: {err:#}");
                GpuRenderer::pixman()
            }
        }
    }

    fn gles(fd: &DrmDeviceFd) -> anyhow::Result<GpuRenderer> {
        let gbm = GbmDevice::new(fd.clone()).context("creating the GBM device")?;
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
        Ok(GpuRenderer::Gles {
            renderer: Box::new(renderer),
            gbm,
        })
    }

    fn pixman() -> anyhow::Result<GpuRenderer> {
        let renderer = PixmanRenderer::new().context("creating the pixman renderer")?;
        Ok(GpuRenderer::Pixman { renderer })
    }

    /// Dmabuf formats clients may hand us.
    pub(super) fn dmabuf_formats(&self) -> smithay::backend::allocator::format::FormatSet {
        match self {
            GpuRenderer::Gles { renderer, .. } => renderer.dmabuf_formats(),
            GpuRenderer::Pixman { renderer } => renderer.dmabuf_formats(),
        }
    }

    /// Whether clients should be pointed at a render node to allocate on:
    /// not with pixman, which only maps what clients share.
    pub(super) fn uses_gpu(&self) -> bool {
        matches!(self, GpuRenderer::Gles { .. })
    }

    pub(super) fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match self {
            GpuRenderer::Gles { renderer, .. } => renderer.import_dmabuf(dmabuf, None).is_ok(),
            GpuRenderer::Pixman { renderer } => renderer.import_dmabuf(dmabuf, None).is_ok(),
        }
    }
}

impl Gpu {
    /// Open the GPU at `path` through the session and build its renderer.
    pub(super) fn open(
        session: &mut LibSeatSession,
        handle: &LoopHandle<'static, State>,
        path: &Path,
        choice: RendererChoice,
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
        let renderer = GpuRenderer::open(choice, &fd)?;
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
            drm,
            fd,
            node,
            render_node,
            notifier,
        })
    }

    /// Drop every output of this GPU and stop listening to it.
    pub(super) fn close(mut self, pal: &mut Palisade) {
        for screen in std::mem::take(&mut self.screens) {
            screen.close(pal);
        }
        pal.loop_handle.remove(self.notifier);
    }

    /// Render `name` now; whether a frame was queued (a VBlank will come).
    pub(super) fn render(&mut self, pal: &mut Palisade, name: &str) -> Option<(bool, Duration)> {
        let screen = self.screens.iter_mut().find(|s| s.output.name() == name)?;
        let output = screen.output.clone();
        let shown = match (&mut self.renderer, &mut screen.compositor) {
            (GpuRenderer::Gles { renderer, .. }, ScreenCompositor::Gles(c)) => {
                render_on(pal, &mut **renderer, c, &output)
            }
            (GpuRenderer::Pixman { renderer }, ScreenCompositor::Pixman(c)) => {
                render_on(pal, renderer, c, &output)
            }
            _ => {
                warn!(output = %name, "the output's compositor does not match the renderer");
                Shown::Failed
            }
        };
        let queued = matches!(shown, Shown::Queued { .. });
        screen.locked_in_flight = matches!(shown, Shown::Queued { locked: true });
        if let Shown::Unchanged { locked: true } = shown {
            // The screen already shows this locked frame.
            pal.locked_frame_rendered(&output, true);
        }
        Some((queued, screen.refresh))
    }

    /// Light a connected connector: pick its mode and a free CRTC, create
    /// the output and its compositor, and announce it.
    pub(super) fn light(
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
        let compositor = self
            .compositor(&output, surface)
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
            locked_in_flight: false,
        })
    }

    /// The compositor for a new output. No planes and no import node:
    /// client buffers are always composited, never put on a plane directly,
    /// so what reaches the screen is exactly what the stack decided, the
    /// trusted strip included.
    fn compositor(&self, output: &Output, surface: DrmSurface) -> anyhow::Result<ScreenCompositor> {
        let cursor_size = self.drm.cursor_size();
        match &self.renderer {
            GpuRenderer::Gles { renderer, gbm } => {
                let flags = GbmBufferFlags::RENDERING | GbmBufferFlags::SCANOUT;
                let allocator = GbmAllocator::new(gbm.clone(), flags);
                let exporter = GbmFramebufferExporter::new(gbm.clone(), None);
                let formats = renderer.egl_context().dmabuf_render_formats().clone();
                DrmCompositor::new(
                    output,
                    surface,
                    None,
                    allocator,
                    exporter,
                    COLOR_FORMATS,
                    formats,
                    cursor_size,
                    Some(gbm.clone()),
                )
                .map(ScreenCompositor::Gles)
                .map_err(|e| anyhow!("{e}"))
            }
            GpuRenderer::Pixman { renderer } => {
                let formats = Bind::<Dmabuf>::supported_formats(renderer).unwrap_or_default();
                DrmCompositor::new(
                    output,
                    surface,
                    None,
                    DumbAllocator::new(self.fd.clone()),
                    self.fd.clone(),
                    COLOR_FORMATS,
                    formats,
                    cursor_size,
                    None::<GbmDevice<DrmDeviceFd>>,
                )
                .map(ScreenCompositor::Pixman)
                .map_err(|e| anyhow!("{e}"))
            }
        }
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
    pub(super) fn close(self, pal: &mut Palisade) {
        let name = self.output.name();
        pal.remove_output(&name);
        pal.display_handle.remove_global::<State>(self.global);
        // Dropping the compositor clears the CRTC (if we still hold DRM master).
    }

    /// The page flip completed: its buffer goes back to the swapchain, and
    /// a locked frame is now what the output shows (the lock counts as
    /// engaged once every output got that far).
    pub(super) fn frame_submitted(&mut self, pal: &mut Palisade) {
        let name = self.output.name();
        if let Err(err) =
            with_compositor!(self, c => c.frame_submitted().map(|_| ()).map_err(|e| e.to_string()))
        {
            warn!(output = %name, "completing a page flip failed: {err}");
        }
        if std::mem::take(&mut self.locked_in_flight) {
            pal.locked_frame_rendered(&self.output, true);
        }
    }

    /// DPMS off until the next frame.
    pub(super) fn clear(&mut self) {
        let name = self.output.name();
        if let Err(err) = with_compositor!(self, c => c.clear().map_err(|e| e.to_string())) {
            warn!(output = %name, "switching the output off: {err}");
        }
    }

    /// Forget buffer ages, so the next frame is drawn in full.
    pub(super) fn reset_buffers(&mut self) {
        with_compositor!(self, c => c.reset_buffers());
    }

    /// Read the CRTC's state again (another VT may have changed it).
    pub(super) fn reset_state(&mut self) {
        let name = self.output.name();
        if let Err(err) = with_compositor!(self, c => c.reset_state().map_err(|e| e.to_string())) {
            warn!(output = %name, "resetting the output failed: {err}");
        }
    }
}

/// What became of a frame.
enum Shown {
    /// Queued for the next VBlank; `locked`: built from the lock's stack.
    Queued {
        locked: bool,
    },
    /// Nothing changed on screen, so nothing was queued.
    Unchanged {
        locked: bool,
    },
    Failed,
}

/// Render `output` with `renderer` through `compositor`.
fn render_on<R, A, F>(
    pal: &mut Palisade,
    renderer: &mut R,
    compositor: &mut DrmCompositor<A, F, (), DrmDeviceFd>,
    output: &Output,
) -> Shown
where
    R: Renderer + ImportAll + ImportMem + Bind<Dmabuf>,
    R::TextureId: Send + Clone + Texture + 'static,
    R::Error: std::error::Error + Send + Sync + 'static,
    A: Allocator,
    A::Error: std::error::Error + Send + Sync + 'static,
    A::Buffer: AsDmabuf,
    <A::Buffer as AsDmabuf>::Error: std::error::Error + Send + Sync + std::fmt::Debug + 'static,
    F: ExportFramebuffer<A::Buffer>,
    F::Framebuffer: std::fmt::Debug + 'static,
    F::Error: std::error::Error + Send + Sync + 'static,
{
    let name = output.name();
    let frame = pal.output_elements(renderer, output);
    let background = pal.theme.background;
    let rendered =
        match compositor.render_frame(renderer, &frame.elements, background, FrameFlags::DEFAULT) {
            Ok(rendered) => rendered,
            Err(err) => {
                warn!(output = %name, "rendering failed: {err}");
                return Shown::Failed;
            }
        };
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
    let locked = frame.locked;
    if is_empty {
        // Nothing changed on screen, so no VBlank will come.
        return Shown::Unchanged { locked };
    }
    match compositor.queue_frame(()) {
        Ok(()) => Shown::Queued { locked },
        Err(err) => {
            warn!(output = %name, "queueing a frame failed: {err}");
            Shown::Failed
        }
    }
}
