//! What each output shows, and in which order. This is the one place that
//! decides it (front to back): the cursor, the reserved strip, then the
//! windows of that output, each clipped to the output's work area. Because
//! the strip is opaque and in front, and every window element is cropped to
//! the work area, no client pixel can reach the strip.

use smithay::utils::IsAlive;
use std::time::Duration;

use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::element::memory::MemoryRenderBufferRenderElement;
use smithay::backend::renderer::element::solid::SolidColorRenderElement;
use smithay::backend::renderer::element::surface::{
    render_elements_from_surface_tree, WaylandSurfaceRenderElement,
};
use smithay::backend::renderer::element::utils::CropRenderElement;
use smithay::backend::renderer::element::{render_elements, AsRenderElements, Kind};
use smithay::backend::renderer::{Color32F, ImportAll, ImportMem, Renderer, Texture};
use smithay::desktop::utils::{
    surface_presentation_feedback_flags_from_states, surface_primary_scanout_output,
    update_surface_primary_scanout_output, OutputPresentationFeedback,
};
use smithay::input::pointer::CursorImageStatus;
use smithay::output::Output;
use smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback;
use smithay::utils::{Physical, Point, Rectangle, Scale};
use smithay::wayland::presentation::Refresh;

use crate::state::Palisade;

render_elements! {
    pub OutputElement<R> where R: ImportAll + ImportMem;
    Surface = WaylandSurfaceRenderElement<R>,
    Clipped = CropRenderElement<WaylandSurfaceRenderElement<R>>,
    Solid = SolidColorRenderElement,
    Panel = MemoryRenderBufferRenderElement<R>,
}

/// Size of the compositor's own cursor (a plain square with a dark rim).
const CURSOR_SIZE: i32 = 12;

impl Palisade {
    /// Everything shown on `output`, front to back.
    pub fn output_elements<R>(&mut self, renderer: &mut R, output: &Output) -> Vec<OutputElement<R>>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Send + Clone + Texture + 'static,
    {
        let mut elements = Vec::new();
        let Some(output_geo) = self.output_geometry(output) else {
            return elements;
        };
        let scale = Scale::from(output.current_scale().fractional_scale());
        let locked = self.is_locked();

        // 1. The cursor, only once the pointer has moved onto this output.
        if self.cursor_visible && output_geo.to_f64().contains(self.pointer_location) {
            let pos = self.pointer_location - output_geo.loc.to_f64();
            let pos_phys: Point<i32, Physical> = pos.to_physical(scale).to_i32_round();
            // Over the strip the pointer is the compositor's: a client's
            // cursor image (set while over its window) must not show there.
            let over_strip = pos.y < f64::from(self.panel_height(output));
            match &self.cursor_status {
                // While locked no client pixel shows, its cursor included.
                CursorImageStatus::Surface(surface)
                    if surface.alive() && !over_strip && !locked =>
                {
                    let hotspot = smithay::wayland::compositor::with_states(surface, |states| {
                        states
                            .data_map
                            .get::<smithay::input::pointer::CursorImageSurfaceData>()
                            .and_then(|d| d.lock().ok().map(|d| d.hotspot))
                            .unwrap_or_default()
                    });
                    let loc = pos_phys - hotspot.to_physical_precise_round(scale);
                    elements.extend(
                        render_elements_from_surface_tree(
                            renderer,
                            surface,
                            loc,
                            scale,
                            1.0,
                            Kind::Cursor,
                        )
                        .into_iter()
                        .map(OutputElement::Surface),
                    );
                }
                CursorImageStatus::Hidden if !over_strip && !locked => {}
                _ => {
                    let size = (CURSOR_SIZE as f64 * scale.x).round() as i32;
                    let rim = (scale.x.round() as i32).max(1);
                    let inner = Rectangle::new(
                        pos_phys + Point::from((rim, rim)),
                        (size - 2 * rim, size - 2 * rim).into(),
                    );
                    let outer = Rectangle::new(pos_phys, (size, size).into());
                    elements.push(OutputElement::Solid(SolidColorRenderElement::new(
                        self.cursor_ids.0.clone(),
                        inner,
                        self.cursor_commit,
                        Color32F::new(1.0, 1.0, 1.0, 1.0),
                        Kind::Cursor,
                    )));
                    elements.push(OutputElement::Solid(SolidColorRenderElement::new(
                        self.cursor_ids.1.clone(),
                        outer,
                        self.cursor_commit,
                        Color32F::new(0.0, 0.0, 0.0, 1.0),
                        Kind::Cursor,
                    )));
                }
            }
        }

        // While locked, the lock screen is all there is: no panel, no
        // window, no client surface of any kind. Should its upload fail, an
        // opaque fill takes its place (the clear colour alone would do too,
        // since nothing else is drawn).
        if locked {
            if let Some(lock) = self.lock_element(renderer, output) {
                elements.push(OutputElement::Panel(lock));
            }
            return elements;
        }
        // Unlocked: keep this output's lock screen drawn and uploaded for
        // what it would show now, so a lock only has to composite it.
        self.prepare_lock_element(renderer, output);

        // 2. The panel, opaque, above every window. Should its upload ever
        //    fail, a plain bar takes its place: the strip never shows what
        //    is underneath.
        match self.panel_element(renderer, output) {
            Some(panel) => elements.push(OutputElement::Panel(panel)),
            None => {
                let height = self.panel_height(output);
                if let Some(entry) = self.outputs.iter_mut().find(|o| &o.output == output) {
                    entry.strip.resize((output_geo.size.w, height));
                    elements.push(OutputElement::Solid(SolidColorRenderElement::from_buffer(
                        &entry.strip,
                        (0, 0),
                        scale,
                        1.0,
                        Kind::Unspecified,
                    )));
                }
            }
        }

        // 3. Windows that live on this output, top first, clipped to its work
        //    area whatever size the client made its buffer.
        let Some(area) = self.work_area(output) else {
            return elements;
        };
        let mut clip = area;
        clip.loc -= output_geo.loc;
        let clip: Rectangle<i32, Physical> = clip.to_physical_precise_round(scale);
        let name = output.name();
        for window in self.space.elements().rev() {
            let on_this_output = self
                .windows
                .iter()
                .any(|m| m.mapped && &m.window == window && m.output == name);
            if !on_this_output {
                continue;
            }
            let Some(loc) = self.space.element_location(window) else {
                continue;
            };
            let render_loc =
                (loc - window.geometry().loc - output_geo.loc).to_physical_precise_round(scale);
            // The border goes in front of its own window: a client drawing
            // past its geometry must not be able to paint over (and fake) the
            // colour of its identity. Windows above still cover it.
            let inner = self
                .window_area(output)
                .and_then(|a| Rectangle::new(loc, window.geometry().size).intersection(a));
            let border = inner.and_then(|mut r| {
                r.loc -= output_geo.loc;
                self.border_elements(window, r, scale)
            });
            if let Some(border) = border {
                elements.extend(border.into_iter().map(OutputElement::Solid));
            }
            let surface_elements: Vec<WaylandSurfaceRenderElement<R>> =
                window.render_elements(renderer, render_loc, scale, 1.0);
            elements.extend(
                surface_elements
                    .into_iter()
                    .filter_map(|e| CropRenderElement::from_element(e, scale, clip))
                    .map(OutputElement::Clipped),
            );
        }
        elements
    }

    /// The identity-colour border around `rect` (the window as placed and
    /// clipped by the compositor, output-relative): four solid bars just
    /// outside it, inside the work area.
    fn border_elements(
        &self,
        window: &smithay::desktop::Window,
        rect: Rectangle<i32, smithay::utils::Logical>,
        scale: Scale<f64>,
    ) -> Option<[SolidColorRenderElement; 4]> {
        let mapped = self.windows.iter().find(|m| &m.window == window)?;
        let bw = self.theme.border_width;
        if bw <= 0 {
            return None;
        }
        let [r, g, b] = self.identity_of(window)?.color;
        let color = Color32F::new(
            f32::from(r) / 255.0,
            f32::from(g) / 255.0,
            f32::from(b) / 255.0,
            1.0,
        );
        let (x, y, w, h) = (rect.loc.x, rect.loc.y, rect.size.w, rect.size.h);
        let bars = [
            Rectangle::new((x - bw, y - bw).into(), (w + 2 * bw, bw).into()),
            Rectangle::new((x - bw, y + h).into(), (w + 2 * bw, bw).into()),
            Rectangle::new((x - bw, y).into(), (bw, h).into()),
            Rectangle::new((x + w, y).into(), (bw, h).into()),
        ];
        let mut i = 0;
        Some(bars.map(|bar: Rectangle<i32, smithay::utils::Logical>| {
            let id = mapped.border_ids[i].clone();
            i += 1;
            SolidColorRenderElement::new(
                id,
                bar.to_physical_precise_round(scale),
                self.cursor_commit,
                color,
                Kind::Unspecified,
            )
        }))
    }

    /// The identity the compositor attached to the window's client.
    pub fn identity_of(&self, window: &smithay::desktop::Window) -> Option<crate::Identity> {
        use smithay::reexports::wayland_server::Resource;
        use smithay::wayland::seat::WaylandFocus;
        let surface = window.wl_surface()?;
        let client = self.display_handle.get_client(surface.id()).ok()?;
        Some(client.get_data::<crate::ClientState>()?.identity.clone())
    }

    /// After a frame: frame callbacks and presentation feedback for what is on
    /// `output`, and the frame counter tests read.
    pub fn frame_done(&mut self, output: &Output, refresh: Duration) {
        let now = self.clock();
        let name = output.name();
        let mut feedback = OutputPresentationFeedback::new(output);
        for m in self.windows.iter().filter(|m| m.mapped && m.output == name) {
            m.window.with_surfaces(|surface, states| {
                update_surface_primary_scanout_output(
                    surface,
                    output,
                    states,
                    &self.last_states,
                    |o, _, _, _| o,
                );
            });
            m.window.send_frame(
                output,
                now,
                Some(Duration::ZERO),
                surface_primary_scanout_output,
            );
            m.window.take_presentation_feedback(
                &mut feedback,
                surface_primary_scanout_output,
                |surface, _| {
                    surface_presentation_feedback_flags_from_states(surface, &self.last_states)
                },
            );
        }
        if let CursorImageStatus::Surface(surface) = &self.cursor_status {
            smithay::desktop::utils::send_frames_surface_tree(
                surface,
                output,
                now,
                Some(Duration::ZERO),
                |_, _| Some(output.clone()),
            );
        }
        feedback.presented::<_, smithay::utils::Monotonic>(
            now,
            Refresh::Fixed(refresh),
            0,
            wp_presentation_feedback::Kind::empty(),
        );
        if let Some(entry) = self.outputs.iter_mut().find(|o| &o.output == output) {
            entry.redraw.needed = false;
            entry.redraw.frames += 1;
        }
    }
}

/// Render `output` into `framebuffer` with damage tracking.
pub fn render_output<R>(
    pal: &mut Palisade,
    renderer: &mut R,
    framebuffer: &mut R::Framebuffer<'_>,
    damage: &mut OutputDamageTracker,
    age: usize,
    output: &Output,
) -> Result<bool, String>
where
    R: Renderer + ImportAll + ImportMem,
    R::TextureId: Send + Clone + Texture + 'static,
{
    let locked = pal.is_locked();
    let elements = pal.output_elements(renderer, output);
    let clear = pal.theme.background;
    let result = damage
        .render_output(renderer, framebuffer, age, &elements, clear)
        .map_err(|e| format!("{e:?}"))?;
    pal.last_states = result.states;
    pal.locked_frame_rendered(output, locked);
    Ok(result.damage.is_some())
}
