//! One `Backend` type, one match per operation: headless (tests, demos,
//! screenshots), winit (nested, development) and udev (DRM/KMS on a laptop).

pub mod headless;
pub mod udev;
pub mod winit;

use smithay::backend::allocator::dmabuf::Dmabuf;

use crate::state::Palisade;

pub use headless::Headless;
pub use udev::Udev;
pub use winit::Winit;

/// Which backend to run, from `--backend` or the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Headless,
    Winit,
    Udev,
}

impl Kind {
    /// `--backend` wins; else nested when a display is present; else the real
    /// session.
    pub fn choose(flag: Option<&str>) -> anyhow::Result<Kind> {
        match flag {
            Some("headless") => Ok(Kind::Headless),
            Some("winit") => Ok(Kind::Winit),
            Some("udev") => Ok(Kind::Udev),
            Some(other) => anyhow::bail!("unknown backend {other:?}: use headless, winit or udev"),
            None if std::env::var_os("WAYLAND_DISPLAY").is_some()
                || std::env::var_os("DISPLAY").is_some() =>
            {
                Ok(Kind::Winit)
            }
            None => Ok(Kind::Udev),
        }
    }
}

pub enum Backend {
    Headless(Headless),
    Winit(Box<Winit>),
    Udev(Box<Udev>),
}

impl Backend {
    /// Called once the state exists: create outputs and globals that depend
    /// on the renderer.
    pub fn init(&mut self, pal: &mut Palisade) {
        match self {
            Backend::Headless(b) => b.init(pal),
            Backend::Winit(b) => b.init(pal),
            Backend::Udev(b) => b.init(pal),
        }
    }

    /// Render one output now (the caller checked pacing).
    pub fn render(&mut self, pal: &mut Palisade, output: &str) {
        match self {
            Backend::Headless(b) => b.render(pal, output),
            Backend::Winit(b) => b.render(pal, output),
            Backend::Udev(b) => b.render(pal, output),
        }
    }

    /// Switches every output off or on (see `State::set_outputs_power`).
    pub fn set_power(&mut self, pal: &mut Palisade, on: bool) {
        match self {
            Backend::Headless(b) => b.set_power(on),
            Backend::Winit(b) => b.set_power(on),
            Backend::Udev(b) => b.set_power(pal, on),
        }
    }

    pub fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        match self {
            Backend::Headless(b) => b.import_dmabuf(dmabuf),
            Backend::Winit(b) => b.import_dmabuf(dmabuf),
            Backend::Udev(b) => b.import_dmabuf(dmabuf),
        }
    }

    pub fn headless(&mut self) -> Option<&mut Headless> {
        match self {
            Backend::Headless(b) => Some(b),
            _ => None,
        }
    }
}

/// Frame pacing: after a frame, `output` may render again one refresh
/// interval later. Nothing is scheduled while nothing changes.
pub(crate) fn pace(pal: &mut Palisade, output: &str, interval: std::time::Duration) {
    use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
    let name = output.to_owned();
    let inserted =
        pal.loop_handle
            .insert_source(Timer::from_duration(interval), move |_, _, state| {
                if let Some(entry) = state.pal.output_entry_mut(&name) {
                    entry.redraw.pending = false;
                }
                TimeoutAction::Drop
            });
    if let Some(entry) = pal.output_entry_mut(output) {
        entry.redraw.pending = inserted.is_ok();
    }
}

/// Fills a framebuffer with black: what a switched-off output shows where
/// the hardware cannot really be switched off (virtual and nested outputs).
pub(crate) fn clear_black<R: smithay::backend::renderer::Renderer>(
    renderer: &mut R,
    framebuffer: &mut R::Framebuffer<'_>,
    size: smithay::utils::Size<i32, smithay::utils::Physical>,
) -> Result<(), R::Error> {
    use smithay::backend::renderer::{Color32F, Frame};
    let mut frame = renderer.render(framebuffer, size, smithay::utils::Transform::Normal)?;
    frame.clear(
        Color32F::BLACK,
        &[smithay::utils::Rectangle::from_size(size)],
    )?;
    // Wait for it: on GLES the buffer is presented right after.
    let sync = frame.finish()?;
    let _ = sync.wait();
    Ok(())
}
