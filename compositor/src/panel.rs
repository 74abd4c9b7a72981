//! The compositor's side of the trusted panel: what each output's panel
//! shows (from compositor state only), uploading its pixels with the damage
//! the panel crate reports, the clock tick, and clicks on the strip.

use std::time::Duration;

use palisade_panel::{Hit, PanelState, PanelStyle, PanelSurface, WindowEntry};
use smithay::backend::allocator::Fourcc;
use smithay::backend::renderer::element::memory::{
    MemoryRenderBuffer, MemoryRenderBufferRenderElement,
};
use smithay::backend::renderer::element::Kind;
use smithay::backend::renderer::{ImportMem, Renderer};
use smithay::output::Output;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::utils::{Rectangle, Transform};
use smithay::wayland::compositor::with_states;
use smithay::wayland::seat::WaylandFocus;
use smithay::wayland::shell::xdg::XdgToplevelSurfaceData;
use tracing::warn;

use crate::state::{Palisade, State};

/// One output's panel: the panel crate's surface (layout, damage memory)
/// and the buffer its pixels are uploaded into.
#[derive(Debug)]
pub struct OutputPanel {
    surface: PanelSurface,
    buffer: MemoryRenderBuffer,
    size: (i32, i32),
    /// The last frame's pixels (RGBA), so tests can check that the strip
    /// shows exactly what the panel drew.
    pub pixels: Vec<u8>,
}

impl Default for OutputPanel {
    fn default() -> Self {
        OutputPanel {
            surface: PanelSurface::new(),
            buffer: MemoryRenderBuffer::new(Fourcc::Abgr8888, (1, 1), 1, Transform::Normal, None),
            size: (1, 1),
            pixels: Vec::new(),
        }
    }
}

/// The panel's colours and sizes from the theme.
pub fn panel_style(theme: &palisade_themes::Theme) -> PanelStyle {
    PanelStyle::from_theme(theme)
}

impl Palisade {
    /// What `output`'s panel shows: its windows with their identities, the
    /// focused identity, and the status the compositor knows.
    pub fn panel_state(&self, output: &Output) -> PanelState {
        let name = output.name();
        let focused = self.focused_window();
        let windows = (self.shell.mapped())
            .filter(|m| m.output == name)
            .filter_map(|m| {
                let identity = self.identity_of(&m.window)?;
                let title = m
                    .window
                    .wl_surface()
                    .map(|s| {
                        with_states(&s, |st| {
                            st.data_map
                                .get::<XdgToplevelSurfaceData>()
                                .and_then(|d| d.lock().ok().and_then(|d| d.title.clone()))
                                .unwrap_or_default()
                        })
                    })
                    .unwrap_or_default();
                Some(WindowEntry {
                    id: m.id,
                    label: identity.label,
                    color: identity.color,
                    title,
                    focused: focused.as_ref() == Some(&m.window),
                    attention: m.attention,
                })
            })
            .collect();
        let focused = focused
            .and_then(|w| self.identity_of(&w))
            .map(|i| (i.label, i.color));
        PanelState {
            windows,
            focused,
            usb: self.usb_state(),
            wifi: self.status.wifi.clone(),
            battery: self.status.battery,
            clock: self.clock_text(),
            locked: false,
            clipboard: self.clipboard_panel(),
        }
    }

    /// "HH:MM" in local time, or the fixed text tests set.
    pub fn clock_text(&self) -> String {
        match &self.clock_override {
            Some(text) => text.clone(),
            None => chrono::Local::now().format("%H:%M").to_string(),
        }
    }

    /// Render `output`'s panel (only what changed) and return its element.
    /// None if the upload failed: the caller then draws a plain opaque bar,
    /// so the strip is never left to show what is underneath.
    pub fn panel_element<R>(
        &mut self,
        renderer: &mut R,
        output: &Output,
    ) -> Option<MemoryRenderBufferRenderElement<R>>
    where
        R: Renderer + ImportMem,
        R::TextureId: Send + Clone + 'static,
    {
        let geo = self.output_geometry(output)?;
        let scale = output.current_scale().fractional_scale();
        let height = self.panel_height(output);
        let state = self.panel_state(output);
        let entry = self.outputs.iter_mut().find(|o| &o.output == output)?;
        let OutputPanel {
            surface,
            buffer,
            size: buffer_size,
            pixels: last_pixels,
        } = &mut entry.panel;
        let frame = self
            .panel
            .render(surface, &state, &self.panel_style, geo.size.w, scale);
        let size = (frame.width as i32, frame.height as i32);
        let resized = *buffer_size != size;
        let mut ctx = buffer.render();
        if resized {
            ctx.resize(size);
            *buffer_size = size;
        }
        let damage: Vec<Rectangle<i32, smithay::utils::Buffer>> = if resized {
            vec![Rectangle::from_size(size.into())]
        } else {
            frame
                .damage
                .iter()
                .map(|r| Rectangle::new((r.x, r.y).into(), (r.w, r.h).into()))
                .collect()
        };
        if !damage.is_empty() {
            let pixels = frame.pixels;
            let drawn = ctx.draw(|mem: &mut [u8]| {
                if mem.len() != pixels.len() {
                    return Err(format!(
                        "panel buffer is {} bytes, frame {}",
                        mem.len(),
                        pixels.len()
                    ));
                }
                mem.copy_from_slice(pixels);
                Ok(damage)
            });
            if let Err(err) = drawn {
                warn!("updating the panel: {err}");
            }
            last_pixels.clear();
            last_pixels.extend_from_slice(pixels);
        }
        drop(ctx);
        full_buffer_element(
            renderer,
            buffer,
            size,
            (geo.size.w, height).into(),
            "the panel",
        )
    }

    /// The strip's height on `output`, in logical pixels.
    pub fn panel_height(&self, output: &Output) -> i32 {
        let geo = self.output_geometry(output).unwrap_or_default();
        self.work_area_in(geo).loc.y - geo.loc.y
    }

    /// What a click at global logical `pos` on the strip means, if anything.
    pub fn panel_hit(
        &self,
        pos: smithay::utils::Point<f64, smithay::utils::Logical>,
    ) -> Option<Hit> {
        let output = self.shell.space().output_under(pos).next()?;
        let geo = self.output_geometry(output)?;
        let entry = self.outputs.iter().find(|o| &o.output == output)?;
        self.panel.hit(
            &entry.panel.surface,
            pos.x - f64::from(geo.loc.x),
            pos.y - f64::from(geo.loc.y),
        )
    }
}

impl State {
    /// A click on the strip is the compositor's: a window entry focuses that
    /// window, the lock button asks for the lock. Keyboard focus never moves
    /// to the panel itself.
    pub fn panel_click(&mut self, hit: Hit) {
        match hit {
            Hit::Window(id) => {
                let window = self.pal.shell.by_id(id).map(|m| m.window.clone());
                if let Some(window) = window {
                    self.pal.focus_by_user(&window);
                }
            }
            Hit::Lock => self.pal.request_lock(),
        }
    }
}

impl State {
    /// Watch UPower and iwd on `bus` (a thread of its own) and repaint the
    /// panels when what they report changes. Missing services show neutral
    /// indicators; a missing bus is reported once.
    pub fn start_status(&mut self, bus: crate::status::Bus) {
        let (tx, rx) = smithay::reexports::calloop::channel::channel();
        let inserted = self
            .pal
            .loop_handle
            .insert_source(rx, |event, _, state: &mut State| {
                if let smithay::reexports::calloop::channel::Event::Msg(update) = event {
                    match update {
                        crate::status::StatusUpdate::Battery(b) => state.pal.status.battery = b,
                        crate::status::StatusUpdate::Wifi(w) => state.pal.status.wifi = w,
                    }
                    state.pal.queue_redraw_all();
                }
            });
        match inserted {
            Ok(_) => self.pal.status_watcher = Some(crate::status::start(bus, tx)),
            Err(err) => warn!("listening for status updates: {err}"),
        }
    }
}

/// Repaint every panel at each minute boundary, for the clock. The only
/// timer an idle compositor has.
pub fn start_clock(pal: &mut Palisade) {
    let until_next_minute = || {
        let now = chrono::Local::now();
        let secs = 60 - u64::from(chrono::Timelike::second(&now));
        Duration::from_secs(secs.clamp(1, 60))
    };
    let timer = Timer::from_duration(until_next_minute());
    let inserted = pal
        .loop_handle
        .insert_source(timer, move |_, _, state: &mut State| {
            state.pal.queue_redraw_all();
            TimeoutAction::ToDuration(until_next_minute())
        });
    if let Err(err) = inserted {
        warn!("starting the panel clock: {err}");
    }
}

/// An element showing all of `buffer` (`size` physical pixels, buffer scale
/// one) in `logical` size at the output's origin. Passing the whole buffer
/// as the source matters: with `size` overridden and no source, Smithay
/// samples only the top-left part of the buffer (the 2x-zoom bug).
pub fn full_buffer_element<R>(
    renderer: &mut R,
    buffer: &MemoryRenderBuffer,
    size: (i32, i32),
    logical: smithay::utils::Size<i32, smithay::utils::Logical>,
    what: &str,
) -> Option<MemoryRenderBufferRenderElement<R>>
where
    R: Renderer + ImportMem,
    R::TextureId: Send + Clone + 'static,
{
    MemoryRenderBufferRenderElement::from_buffer(
        renderer,
        (0.0, 0.0),
        buffer,
        None,
        Some(Rectangle::from_size(
            (f64::from(size.0), f64::from(size.1)).into(),
        )),
        Some(logical),
        Kind::Unspecified,
    )
    .map_err(|err| warn!("uploading {what}: {err:?}"))
    .ok()
}
