//! The headless backend: virtual outputs of any size and scale, rendered by
//! the pixman renderer into memory so tests and demos can read real pixels.
//!
//! Frames are paced like a real display: after a frame, the output waits one
//! refresh interval before it may render again, and it only renders when
//! something changed. An idle compositor therefore has no timers at all.

use std::time::Duration;

use anyhow::Context;
use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::backend::allocator::Fourcc;
use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::pixman::PixmanRenderer;
use smithay::backend::renderer::{Bind, ExportMem, ImportDma, Offscreen};
use smithay::output::{Mode, Output, PhysicalProperties, Scale, Subpixel};
use smithay::reexports::pixman;
use smithay::reexports::wayland_server::backend::GlobalId;
use smithay::utils::{Rectangle, Size, Transform};
use tracing::{debug, error, warn};

use crate::render::render_output;
use crate::state::{Palisade, State};

/// Refresh rate of every virtual output, in mHz.
const REFRESH_MHZ: i32 = 60_000;

/// An output to create: name (else headless-N), physical size, scale.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualOutput {
    pub name: Option<String>,
    pub size: (i32, i32),
    pub scale: f64,
}

/// A frame read back from an output: RGBA, row-major, no padding.
#[derive(Debug, Clone)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Pixels {
    /// How many pixels are within `tolerance` (per channel) of `rgb`.
    pub fn count_near(&self, rgb: [u8; 3], tolerance: u8) -> u64 {
        self.rgba
            .chunks_exact(4)
            .filter(|p| (0..3).all(|i| p[i].abs_diff(rgb[i]) <= tolerance))
            .count() as u64
    }

    pub fn at(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        match self.rgba.get(i..i + 4) {
            Some(p) => [p[0], p[1], p[2], p[3]],
            None => [0, 0, 0, 0],
        }
    }
}

struct VirtualScreen {
    output: Output,
    global: GlobalId,
    damage: OutputDamageTracker,
    image: pixman::Image<'static, 'static>,
    /// 0 until the first frame: the damage tracker then redraws everything.
    age: usize,
}

pub struct Headless {
    renderer: PixmanRenderer,
    screens: Vec<VirtualScreen>,
    initial: Vec<VirtualOutput>,
    next_index: u32,
}

impl Headless {
    pub fn new(outputs: Vec<VirtualOutput>) -> anyhow::Result<Headless> {
        let renderer = PixmanRenderer::new().context("creating the pixman renderer")?;
        Ok(Headless {
            renderer,
            screens: Vec::new(),
            initial: outputs,
            next_index: 1,
        })
    }

    pub(super) fn init(&mut self, pal: &mut Palisade) {
        // linux-dmabuf: pixman maps linear dmabufs, so offer exactly those.
        let formats = self.renderer.dmabuf_formats();
        let mut state = smithay::wayland::dmabuf::DmabufState::new();
        let global = state.create_global::<State>(&pal.display_handle, formats);
        pal.protocols.dmabuf = Some((state, global));

        for spec in std::mem::take(&mut self.initial) {
            if let Err(err) = self.add_output(pal, spec) {
                error!("creating a virtual output: {err:#}");
            }
        }
    }

    /// Create a virtual output to the right of the others; returns its name.
    pub fn add_output(
        &mut self,
        pal: &mut Palisade,
        spec: VirtualOutput,
    ) -> anyhow::Result<String> {
        let (w, h) = spec.size;
        anyhow::ensure!(w > 0 && h > 0, "output size must be positive, got {w}x{h}");
        let name = match spec.name {
            Some(name) => name,
            None => loop {
                let candidate = format!("headless-{}", self.next_index);
                self.next_index += 1;
                if pal.output_by_name(&candidate).is_none() {
                    break candidate;
                }
            },
        };
        anyhow::ensure!(
            pal.output_by_name(&name).is_none(),
            "an output named {name:?} exists already"
        );
        let output = Output::new(
            name.clone(),
            PhysicalProperties {
                size: (0, 0).into(),
                subpixel: Subpixel::Unknown,
                make: "Palisade".into(),
                model: "Virtual".into(),
            },
        );
        let mode = Mode {
            size: (w, h).into(),
            refresh: REFRESH_MHZ,
        };
        output.change_current_state(
            Some(mode),
            Some(Transform::Normal),
            Some(Scale::Fractional(spec.scale)),
            None,
        );
        output.set_preferred(mode);
        let global = output.create_global::<State>(&pal.display_handle);
        let image = Offscreen::<pixman::Image<'static, 'static>>::create_buffer(
            &mut self.renderer,
            Fourcc::Xrgb8888,
            Size::from((w, h)),
        )
        .context("allocating the output image")?;
        self.screens.push(VirtualScreen {
            damage: OutputDamageTracker::from_output(&output),
            output: output.clone(),
            global,
            image,
            age: 0,
        });
        pal.add_output(output);
        debug!(output = %name, w, h, scale = spec.scale, "virtual output added");
        Ok(name)
    }

    /// Remove a virtual output; its windows move to a remaining output.
    pub fn remove_output(&mut self, pal: &mut Palisade, name: &str) -> anyhow::Result<()> {
        let pos = self
            .screens
            .iter()
            .position(|s| s.output.name() == name)
            .with_context(|| format!("no output named {name:?}"))?;
        let screen = self.screens.remove(pos);
        pal.remove_output(name);
        pal.display_handle.remove_global::<State>(screen.global);
        Ok(())
    }

    pub(super) fn render(&mut self, pal: &mut Palisade, name: &str) {
        let Some(screen) = self.screens.iter_mut().find(|s| s.output.name() == name) else {
            return;
        };
        let output = screen.output.clone();
        let result = {
            let mut framebuffer = match self.renderer.bind(&mut screen.image) {
                Ok(fb) => fb,
                Err(err) => {
                    error!("binding the output image: {err}");
                    return;
                }
            };
            render_output(
                pal,
                &mut self.renderer,
                &mut framebuffer,
                &mut screen.damage,
                screen.age,
                &output,
            )
        };
        screen.age = 1;
        if let Err(err) = result {
            warn!(output = %name, "rendering failed: {err}");
        }
        pal.frame_done(
            &output,
            Duration::from_micros(1_000_000_000 / REFRESH_MHZ as u64),
        );

        super::pace(
            pal,
            name,
            Duration::from_micros(1_000_000_000 / REFRESH_MHZ as u64),
        );
    }

    /// Off: every output goes black. On: the next frames redraw in full.
    pub(super) fn set_power(&mut self, on: bool) {
        for screen in &mut self.screens {
            screen.age = 0;
            if on {
                continue;
            }
            let size = screen
                .output
                .current_mode()
                .map(|m| m.size)
                .unwrap_or_default();
            let result = match self.renderer.bind(&mut screen.image) {
                Ok(mut framebuffer) => {
                    super::clear_black(&mut self.renderer, &mut framebuffer, size)
                        .map_err(|e| e.to_string())
                }
                Err(err) => Err(err.to_string()),
            };
            if let Err(err) = result {
                warn!(output = %screen.output.name(), "switching the output off: {err}");
            }
        }
    }

    /// Read back the last frame of an output.
    pub fn pixels(&mut self, name: &str) -> anyhow::Result<Pixels> {
        let screen = self
            .screens
            .iter_mut()
            .find(|s| s.output.name() == name)
            .with_context(|| format!("no output named {name:?}"))?;
        let size = screen
            .output
            .current_mode()
            .map(|m| m.size)
            .unwrap_or_default();
        let framebuffer = self
            .renderer
            .bind(&mut screen.image)
            .map_err(|e| anyhow::anyhow!("binding {name}: {e}"))?;
        let region = Rectangle::from_size((size.w, size.h).into());
        let mapping = self
            .renderer
            .copy_framebuffer(&framebuffer, region, Fourcc::Abgr8888)
            .map_err(|e| anyhow::anyhow!("reading {name}: {e}"))?;
        let bytes = self
            .renderer
            .map_texture(&mapping)
            .map_err(|e| anyhow::anyhow!("mapping {name}: {e}"))?;
        let mut rgba = bytes.to_vec();
        // The images are XRGB: the alpha byte is undefined, the screen opaque.
        for px in rgba.chunks_exact_mut(4) {
            px[3] = 255;
        }
        Ok(Pixels {
            width: size.w as u32,
            height: size.h as u32,
            rgba,
        })
    }

    pub fn output_names(&self) -> Vec<String> {
        self.screens.iter().map(|s| s.output.name()).collect()
    }

    pub(super) fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        self.renderer.import_dmabuf(dmabuf, None).is_ok()
    }
}
