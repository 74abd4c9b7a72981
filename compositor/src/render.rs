//! Drawing an output: its stack (`crate::stack`, the one place that decides
//! what covers what) turned into render elements, front to back. Every
//! client surface tree is cropped to the work area here, so no client pixel
//! can reach the strip.

use std::time::Duration;

use smithay::backend::renderer::damage::OutputDamageTracker;
use smithay::backend::renderer::element::memory::MemoryRenderBufferRenderElement;
use smithay::backend::renderer::element::solid::SolidColorRenderElement;
use smithay::backend::renderer::element::surface::{
    render_elements_from_surface_tree, WaylandSurfaceRenderElement,
};
use smithay::backend::renderer::element::utils::CropRenderElement;
use smithay::backend::renderer::element::{
    render_elements, AsRenderElements, Id, Kind, RenderElementStates,
};
use smithay::backend::renderer::utils::CommitCounter;
use smithay::backend::renderer::{Color32F, ImportAll, ImportMem, Renderer, Texture};
use smithay::desktop::utils::{
    send_frames_surface_tree, surface_presentation_feedback_flags_from_states,
    surface_primary_scanout_output, update_surface_primary_scanout_output,
    OutputPresentationFeedback,
};
use smithay::input::pointer::CursorImageStatus;
use smithay::output::Output;
use smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Physical, Point, Rectangle, Scale};
use smithay::wayland::presentation::Refresh;

use crate::stack::{Cursor, Layer, OutputStack, WindowLayer};
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

/// What the renderer keeps between frames.
#[derive(Debug)]
pub struct RenderState {
    cursor_ids: (Id, Id),
    commit: CommitCounter,
    /// Which elements the last rendered frame showed (for frame callbacks
    /// and presentation feedback).
    pub last_states: RenderElementStates,
}

impl Default for RenderState {
    fn default() -> Self {
        RenderState {
            cursor_ids: (Id::new(), Id::new()),
            commit: CommitCounter::default(),
            last_states: RenderElementStates::default(),
        }
    }
}

/// An output's elements and whether they were the lock's.
pub struct Frame<R: Renderer + ImportAll + ImportMem> {
    pub elements: Vec<OutputElement<R>>,
    pub locked: bool,
}

impl Palisade {
    /// Everything shown on `output`, front to back.
    pub fn output_elements<R>(&mut self, renderer: &mut R, output: &Output) -> Frame<R>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Send + Clone + Texture + 'static,
    {
        let mut elements = Vec::new();
        let Some(stack) = self.stack(output) else {
            return Frame {
                elements,
                locked: self.lock.is_locked(),
            };
        };
        let scale = Scale::from(output.current_scale().fractional_scale());
        // The work area, output-relative and physical: every client tree is
        // cropped to it.
        let mut clip = stack.work_area;
        clip.loc -= stack.geometry.loc;
        let clip: Rectangle<i32, Physical> = clip.to_physical_precise_round(scale);
        let to_output = |p: Point<i32, Logical>| -> Point<i32, Physical> {
            (p - stack.geometry.loc).to_physical_precise_round(scale)
        };
        for layer in stack.layers() {
            match layer {
                Layer::Cursor(Cursor::Compositor(at)) => {
                    let pos = (*at - stack.geometry.loc.to_f64()).to_physical(scale);
                    elements.extend(self.compositor_cursor(pos.to_i32_round(), scale));
                }
                Layer::Cursor(Cursor::Client { surface, origin }) => {
                    let tree = surface_tree(renderer, surface, to_output(*origin), scale);
                    elements.extend(cropped(tree, scale, clip));
                }
                Layer::Cursor(Cursor::Hidden) => {}
                Layer::DragIcon(surface, at) => {
                    let tree = surface_tree(renderer, surface, to_output(*at), scale);
                    elements.extend(cropped(tree, scale, clip));
                }
                Layer::Lock => {
                    // Should its upload fail, nothing else is drawn: the clear
                    // colour alone covers the output.
                    if let Some(lock) = self.lock_element(renderer, output) {
                        elements.push(OutputElement::Panel(lock));
                    }
                }
                Layer::Panel => {
                    // Unlocked: keep this output's lock screen drawn and
                    // uploaded for what it would show now, so a lock only
                    // has to composite it.
                    self.prepare_lock_element(renderer, output);
                    elements.push(self.strip_element(renderer, output, &stack, scale));
                }
                Layer::Window(w) => {
                    if let Some(border) = self.border_elements(w, &stack, scale) {
                        elements.extend(border.into_iter().map(OutputElement::Solid));
                    }
                    let tree: Vec<WaylandSurfaceRenderElement<R>> =
                        w.window
                            .render_elements(renderer, to_output(w.origin), scale, 1.0);
                    elements.extend(cropped(tree, scale, clip));
                }
            }
        }
        Frame {
            elements,
            locked: stack.locked(),
        }
    }

    /// The panel, opaque; should its upload ever fail, a plain bar takes
    /// its place: the strip never shows what is underneath.
    fn strip_element<R>(
        &mut self,
        renderer: &mut R,
        output: &Output,
        stack: &OutputStack,
        scale: Scale<f64>,
    ) -> OutputElement<R>
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Send + Clone + Texture + 'static,
    {
        if let Some(panel) = self.panel_element(renderer, output) {
            return OutputElement::Panel(panel);
        }
        let height = stack.work_area.loc.y - stack.geometry.loc.y;
        let width = stack.geometry.size.w;
        let bar = Rectangle::<i32, Logical>::from_size((width, height).into());
        OutputElement::Solid(SolidColorRenderElement::new(
            Id::new(),
            bar.to_physical_precise_round(scale),
            self.render.commit,
            self.theme.panel_background,
            Kind::Unspecified,
        ))
    }

    fn compositor_cursor<R>(
        &self,
        at: Point<i32, Physical>,
        scale: Scale<f64>,
    ) -> [OutputElement<R>; 2]
    where
        R: Renderer + ImportAll + ImportMem,
        R::TextureId: Send + Clone + Texture + 'static,
    {
        let size = (CURSOR_SIZE as f64 * scale.x).round() as i32;
        let rim = (scale.x.round() as i32).max(1);
        let inner = Rectangle::new(
            at + Point::from((rim, rim)),
            (size - 2 * rim, size - 2 * rim).into(),
        );
        let outer = Rectangle::new(at, (size, size).into());
        let ids = &self.render.cursor_ids;
        let solid = |id: &Id, rect, color| {
            OutputElement::Solid(SolidColorRenderElement::new(
                id.clone(),
                rect,
                self.render.commit,
                color,
                Kind::Cursor,
            ))
        };
        [
            solid(&ids.0, inner, Color32F::new(1.0, 1.0, 1.0, 1.0)),
            solid(&ids.1, outer, Color32F::new(0.0, 0.0, 0.0, 1.0)),
        ]
    }

    /// The identity-colour border: four solid bars just outside the window
    /// as placed, inside the work area. It is drawn in front of the
    /// window's own surfaces, so a client drawing past its geometry cannot
    /// paint over (and fake) the colour of its identity; windows above
    /// still cover it.
    fn border_elements(
        &self,
        w: &WindowLayer,
        stack: &OutputStack,
        scale: Scale<f64>,
    ) -> Option<[SolidColorRenderElement; 4]> {
        let mut rect = w.border?;
        rect.loc -= stack.geometry.loc;
        let mapped = self.shell.by_id(w.id)?;
        let bw = self.theme.border_width;
        let [r, g, b] = self.identity_of(&w.window)?.color;
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
        Some(bars.map(|bar: Rectangle<i32, Logical>| {
            let id = mapped.border_ids[i].clone();
            i += 1;
            SolidColorRenderElement::new(
                id,
                bar.to_physical_precise_round(scale),
                self.render.commit,
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
        let last_states = &self.render.last_states;
        for m in self.shell.mapped().filter(|m| m.output == name) {
            m.window.with_surfaces(|surface, states| {
                update_surface_primary_scanout_output(
                    surface,
                    output,
                    states,
                    last_states,
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
                |surface, _| surface_presentation_feedback_flags_from_states(surface, last_states),
            );
        }
        // Cursor images and drag icons are answered only while the stack
        // shows them.
        let extras = self.input.drag_icon().is_some()
            || matches!(self.input.cursor_image(), CursorImageStatus::Surface(_));
        let shown: Vec<WlSurface> = (self.stack(output).filter(|_| extras).into_iter())
            .flat_map(|s| s.layers().to_vec())
            .filter_map(|l| match l {
                Layer::Cursor(Cursor::Client { surface, .. }) | Layer::DragIcon(surface, _) => {
                    Some(surface)
                }
                _ => None,
            })
            .collect();
        for surface in shown {
            send_frames_surface_tree(&surface, output, now, Some(Duration::ZERO), |_, _| {
                Some(output.clone())
            });
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

fn surface_tree<R>(
    renderer: &mut R,
    surface: &WlSurface,
    at: Point<i32, Physical>,
    scale: Scale<f64>,
) -> Vec<WaylandSurfaceRenderElement<R>>
where
    R: Renderer + ImportAll,
    R::TextureId: Clone + Texture + 'static,
{
    render_elements_from_surface_tree(renderer, surface, at, scale, 1.0, Kind::Unspecified)
}

/// A client's elements, each cut to `clip` (dropped if nothing is left).
fn cropped<R>(
    tree: Vec<WaylandSurfaceRenderElement<R>>,
    scale: Scale<f64>,
    clip: Rectangle<i32, Physical>,
) -> impl Iterator<Item = OutputElement<R>>
where
    R: Renderer + ImportAll + ImportMem,
    R::TextureId: Clone + Texture + 'static,
{
    tree.into_iter()
        .filter_map(move |e| CropRenderElement::from_element(e, scale, clip))
        .map(OutputElement::Clipped)
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
    let frame = pal.output_elements(renderer, output);
    let clear = pal.theme.background;
    let result = damage
        .render_output(renderer, framebuffer, age, &frame.elements, clear)
        .map_err(|e| format!("{e:?}"))?;
    pal.render.last_states = result.states;
    pal.locked_frame_rendered(output, frame.locked);
    Ok(result.damage.is_some())
}
