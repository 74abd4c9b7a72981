//! The nested backend: Palisade in a window on another compositor or X
//! server, for development. Works under Xvfb with Mesa's llvmpipe.

use std::time::Duration;

use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::gles::GlesRenderer;
use smithay::backend::renderer::ImportDma;
use smithay::backend::winit::{self, WinitEvent, WinitGraphicsBackend};
use smithay::output::{Mode, Output, PhysicalProperties, Scale, Subpixel};
use smithay::reexports::wayland_server::backend::GlobalId;
use smithay::utils::Transform;
use tracing::{error, warn};

use crate::render::render_output;
use crate::state::{Palisade, State};

const REFRESH_MHZ: i32 = 60_000;

pub struct Winit {
    backend: WinitGraphicsBackend<GlesRenderer>,
    output: Output,
    _global: GlobalId,
    damage: OutputDamageTracker,
    events: Option<winit::WinitEventLoop>,
}

impl Winit {
    /// Open the window. The output global is created in `init`, once the
    /// display exists.
    pub fn new(
        display: &smithay::reexports::wayland_server::DisplayHandle,
    ) -> anyhow::Result<Winit> {
        let (backend, events) = winit::init::<GlesRenderer>()
            .map_err(|e| anyhow::anyhow!("opening the nested window: {e}"))?;
        let size = backend.window_size();
        let output = Output::new(
            "winit".to_string(),
            PhysicalProperties {
                size: (0, 0).into(),
                subpixel: Subpixel::Unknown,
                make: "Palisade".into(),
                model: "Nested".into(),
            },
        );
        let mode = Mode {
            size,
            refresh: REFRESH_MHZ,
        };
        // Flipped180: the GL framebuffer's origin is bottom-left.
        output.change_current_state(
            Some(mode),
            Some(Transform::Flipped180),
            Some(Scale::Integer(1)),
            None,
        );
        output.set_preferred(mode);
        let global = output.create_global::<State>(display);
        Ok(Winit {
            damage: OutputDamageTracker::from_output(&output),
            backend,
            output,
            _global: global,
            events: Some(events),
        })
    }

    pub(super) fn init(&mut self, pal: &mut Palisade) {
        // Without the EGL import extension (e.g. Xvfb) there is nothing to
        // offer: an empty linux-dmabuf global would only mislead clients.
        let formats = self.backend.renderer().dmabuf_formats();
        if formats.iter().next().is_some() {
            let mut state = smithay::wayland::dmabuf::DmabufState::new();
            let global = state.create_global::<State>(&pal.display_handle, formats);
            pal.protocols.dmabuf = Some((state, global));
        }
        pal.add_output(self.output.clone());

        let Some(events) = self.events.take() else {
            return;
        };
        let inserted = pal
            .loop_handle
            .insert_source(events, |event, _, state: &mut State| match event {
                WinitEvent::Resized { size, .. } => {
                    let output = match &state.backend {
                        super::Backend::Winit(w) => w.output.clone(),
                        _ => return,
                    };
                    let mode = Mode {
                        size,
                        refresh: REFRESH_MHZ,
                    };
                    output.change_current_state(Some(mode), None, None, None);
                    output.set_preferred(mode);
                    state.pal.relayout_all();
                }
                WinitEvent::Input(event) => state.process_input_event(event),
                WinitEvent::Redraw => state.pal.queue_redraw_all(),
                WinitEvent::CloseRequested => state.pal.loop_signal.stop(),
                WinitEvent::Focus(_) => {}
            });
        if let Err(err) = inserted {
            error!("listening to the nested window: {err}");
        }
    }

    pub(super) fn render(&mut self, pal: &mut Palisade, _output: &str) {
        let output = self.output.clone();
        let age = self.backend.buffer_age().unwrap_or(0);
        let result = match self.backend.bind() {
            Ok((renderer, mut framebuffer)) => render_output(
                pal,
                renderer,
                &mut framebuffer,
                &mut self.damage,
                age,
                &output,
            ),
            Err(err) => Err(format!("binding the window: {err}")),
        };
        match result {
            Ok(_) => {
                if let Err(err) = self.backend.submit(None) {
                    warn!("presenting the nested frame: {err}");
                }
            }
            Err(err) => warn!("rendering the nested frame: {err}"),
        }
        let interval = Duration::from_micros(1_000_000_000 / REFRESH_MHZ as u64);
        pal.frame_done(&output, interval);
        super::pace(pal, &output.name(), interval);
    }

    /// The nested window cannot be switched off: it goes black instead.
    pub(super) fn set_power(&mut self, on: bool) {
        if on {
            return;
        }
        let size = self.backend.window_size();
        let result = match self.backend.bind() {
            Ok((renderer, mut framebuffer)) => {
                super::clear_black(renderer, &mut framebuffer, size).map_err(|e| e.to_string())
            }
            Err(err) => Err(err.to_string()),
        };
        match result.and_then(|()| self.backend.submit(None).map_err(|e| e.to_string())) {
            Ok(()) => {}
            Err(err) => warn!("blanking the nested window: {err}"),
        }
    }

    pub(super) fn import_dmabuf(&mut self, dmabuf: &Dmabuf) -> bool {
        self.backend.renderer().import_dmabuf(dmabuf, None).is_ok()
    }
}
