//! One stack per output: the ordered list of what the output shows, front
//! to back, built in one place and used for everything that depends on
//! the order. Rendering walks it to draw (`crate::render`); hit-testing
//! walks the same list to decide what is under the pointer, which surface
//! gets pointer events, where a drag may drop, and whose cursor shows.
//! Changing what covers what therefore changes both at once.
//!
//! The stages, front to back:
//! 1. the cursor (drawn, never hit): the compositor's own, unless the
//!    client whose surface the stack finds under the pointer set one that
//!    is at most [`MAX_CURSOR`] logical pixels and covers the pointer;
//! 2. a drag's icon (drawn, never hit), while unlocked;
//! 3. **the lock**, while locked: opaque over the whole output, and the
//!    last stage, so no client surface is drawn or hit at all;
//! 4. the panel strip, opaque, the compositor's;
//! 5. the windows of this output, topmost first, each with its identity
//!    border in front of its own surfaces (popups and subsurfaces
//!    included).
//!
//! Every client-supplied surface tree (windows, popups, subsurfaces, cursor
//! images, drag icons) is cropped to the output's work area when drawn and
//! hit-tested only inside it, so nothing a client sends reaches the strip.

use smithay::desktop::{Window, WindowSurfaceType};
use smithay::input::pointer::CursorImageStatus;
use smithay::output::Output;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::utils::{IsAlive, Logical, Point, Rectangle};

use crate::state::Palisade;

/// The largest client cursor image shown, in logical pixels each way.
/// Real cursor themes stop at 96 px at scale 1; anything bigger is a
/// canvas, not a cursor.
pub const MAX_CURSOR: i32 = 256;

/// What one output shows, front to back.
#[derive(Debug)]
pub struct OutputStack {
    /// The output's rectangle and its work area, global logical.
    pub geometry: Rectangle<i32, Logical>,
    pub work_area: Rectangle<i32, Logical>,
    layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
pub enum Layer {
    Cursor(Cursor),
    /// A drag's icon with the global position of its surface's origin.
    DragIcon(WlSurface, Point<i32, Logical>),
    Lock,
    Panel,
    Window(WindowLayer),
}

#[derive(Debug, Clone)]
pub enum Cursor {
    /// The compositor's own, at the pointer (global).
    Compositor(Point<f64, Logical>),
    /// A client's image, its surface's origin at `origin` (global).
    Client {
        surface: WlSurface,
        origin: Point<i32, Logical>,
    },
    /// The client under the pointer asked for no cursor.
    Hidden,
}

#[derive(Debug, Clone)]
pub struct WindowLayer {
    pub window: Window,
    pub id: u64,
    /// The origin of the window's surface tree, global.
    pub origin: Point<i32, Logical>,
    /// The rectangle its identity border goes around (global), if drawn.
    pub border: Option<Rectangle<i32, Logical>>,
    /// Where the window is visible: its surfaces, popups and border, cropped
    /// to the work area. Inside it, nothing below receives the pointer,
    /// whatever the window's input region says.
    pub footprint: Rectangle<i32, Logical>,
}

/// What the stack finds at a point.
#[derive(Debug, Clone)]
pub enum Under {
    /// The lock screen: the compositor's.
    Lock,
    /// The panel strip: the compositor's.
    Panel,
    /// A window's visible area; `surface` is the surface that takes input
    /// there (with its origin, global), if any does.
    Window {
        window: Window,
        surface: Option<(WlSurface, Point<f64, Logical>)>,
    },
    /// Nothing but the background.
    Nothing,
}

impl OutputStack {
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Whether this stack is the lock's: then nothing of a client is in it.
    pub fn locked(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Lock))
    }

    /// What is at `pos` (global), walking the stack front to back. Cursors
    /// and drag icons are never hit: they are under the pointer by nature.
    pub fn under(&self, pos: Point<f64, Logical>) -> Under {
        if !self.geometry.to_f64().contains(pos) {
            return Under::Nothing;
        }
        for layer in &self.layers {
            match layer {
                Layer::Cursor(_) | Layer::DragIcon(..) => {}
                Layer::Lock => return Under::Lock,
                Layer::Panel if !self.work_area.to_f64().contains(pos) => return Under::Panel,
                Layer::Panel => {}
                Layer::Window(w) if w.footprint.to_f64().contains(pos) => {
                    let surface = w
                        .window
                        .surface_under(pos - w.origin.to_f64(), WindowSurfaceType::ALL)
                        .map(|(s, loc)| (s, (loc + w.origin).to_f64()));
                    return Under::Window {
                        window: w.window.clone(),
                        surface,
                    };
                }
                Layer::Window(_) => {}
            }
        }
        Under::Nothing
    }
}

impl Under {
    /// The surface taking input here, if any.
    pub fn surface(&self) -> Option<&(WlSurface, Point<f64, Logical>)> {
        match self {
            Under::Window { surface, .. } => surface.as_ref(),
            _ => None,
        }
    }
}

impl Palisade {
    /// The stack of `output` as it is now, as drawn.
    pub fn stack(&self, output: &Output) -> Option<OutputStack> {
        let mut stack = self.hit_stack(output)?;
        let pointer = self.input.pointer_location();
        if self.input.cursor_visible() && stack.geometry.to_f64().contains(pointer) {
            let mut front = Vec::new();
            front.push(Layer::Cursor(self.cursor_choice(&stack, pointer)));
            let locked = stack.locked();
            if let Some(icon) = self.input.drag_icon().filter(|_| !locked) {
                front.push(Layer::DragIcon(icon.clone(), pointer.to_i32_round()));
            }
            stack.layers.splice(0..0, front);
        }
        Some(stack)
    }

    /// The stack without what is only drawn at the pointer (the cursor
    /// and a drag's icon, which are never hit): all hit-testing needs.
    fn hit_stack(&self, output: &Output) -> Option<OutputStack> {
        Some(self.hit_stack_in(output, self.output_geometry(output)?))
    }

    /// The same, for an output whose rectangle is known.
    fn hit_stack_in(&self, output: &Output, geometry: Rectangle<i32, Logical>) -> OutputStack {
        let work_area = self.work_area_in(geometry);
        let window_area = self.window_area_in(work_area);
        let mut stack = OutputStack {
            geometry,
            work_area,
            layers: Vec::new(),
        };
        let locked = self.lock.is_locked();
        if locked {
            stack.layers.push(Layer::Lock);
        } else {
            stack.layers.push(Layer::Panel);
            let name = output.name();
            let windows = (self.shell.top_first())
                .filter_map(|w| self.shell.entry(w))
                .filter(|m| m.mapped && m.output == name);
            for m in windows {
                if let Some(layer) = self.window_layer(m, work_area, window_area) {
                    stack.layers.push(Layer::Window(layer));
                }
            }
        }
        stack
    }

    /// What is under `pos` (global), on whichever output holds it.
    pub fn under(&self, pos: Point<f64, Logical>) -> Under {
        let found = (self.outputs.iter())
            .filter_map(|o| Some((&o.output, self.output_geometry(&o.output)?)))
            .find(|(_, geo)| geo.to_f64().contains(pos));
        match found {
            Some((output, geo)) => self.hit_stack_in(output, geo).under(pos),
            None => Under::Nothing,
        }
    }

    fn window_layer(
        &self,
        m: &crate::shell::Mapped,
        work_area: Rectangle<i32, Logical>,
        window_area: Rectangle<i32, Logical>,
    ) -> Option<WindowLayer> {
        let loc = self.shell.element_location(&m.window)?;
        let geometry = m.window.geometry();
        let origin = loc - geometry.loc;
        let bw = self.theme.border_width.max(0);
        // The border goes just outside the window as placed, inside the
        // work area.
        let border = clamp_rect(window_area, wide(loc), geometry.size, 0).filter(|_| bw > 0);
        // Client sizes can be anything: every rectangle is clamped into the
        // work area before it is combined.
        let bbox = m.window.bbox_with_popups();
        let drawn_at = (
            i64::from(bbox.loc.x) + i64::from(origin.x),
            i64::from(bbox.loc.y) + i64::from(origin.y),
        );
        let drawn = clamp_rect(work_area, drawn_at, bbox.size, 0);
        let framed = clamp_rect(work_area, wide(loc), geometry.size, bw);
        let footprint = match (drawn, framed) {
            (Some(a), Some(b)) => a.merge(b),
            (a, b) => a.or(b)?,
        };
        Some(WindowLayer {
            window: m.window.clone(),
            id: m.id,
            origin,
            border,
            footprint,
        })
    }

    /// Whose cursor shows at `pointer`: a client's image only when that
    /// client's surface is what the stack has under the pointer (so a
    /// client holding an implicit grab or running a drag cannot draw over
    /// another window), the image is at most [`MAX_CURSOR`] each way and it
    /// covers the pointer's own pixel. Otherwise the compositor's.
    fn cursor_choice(&self, stack: &OutputStack, pointer: Point<f64, Logical>) -> Cursor {
        let under = stack.under(pointer);
        let client_under = under
            .surface()
            .and_then(|(s, _)| s.client())
            .map(|c| c.id());
        let Some(client_under) = client_under else {
            return Cursor::Compositor(pointer);
        };
        match self.input.cursor_image() {
            CursorImageStatus::Surface(surface) if surface.alive() => {
                if surface.client().map(|c| c.id()) != Some(client_under) {
                    return Cursor::Compositor(pointer);
                }
                let hotspot = cursor_hotspot(surface);
                // A hotspot farther out than the largest image cannot be
                // on it (and must not overflow what follows).
                if hotspot.x.unsigned_abs() > MAX_CURSOR as u32
                    || hotspot.y.unsigned_abs() > MAX_CURSOR as u32
                {
                    return Cursor::Compositor(pointer);
                }
                let at: Point<i32, Logical> = pointer.to_i32_floor();
                let origin = at - hotspot;
                let bbox = smithay::desktop::utils::bbox_from_surface_tree(surface, origin);
                let fits = bbox.size.w <= MAX_CURSOR && bbox.size.h <= MAX_CURSOR;
                if fits && bbox.contains(at) {
                    Cursor::Client {
                        surface: surface.clone(),
                        origin,
                    }
                } else {
                    Cursor::Compositor(pointer)
                }
            }
            // Smithay lets only the pointer's focus set the cursor, and
            // resets it whenever the focus changes.
            CursorImageStatus::Hidden => {
                let focus = self.seat.get_pointer().and_then(|p| p.current_focus());
                match focus.and_then(|s| s.client()) {
                    Some(c) if c.id() == client_under => Cursor::Hidden,
                    _ => Cursor::Compositor(pointer),
                }
            }
            _ => Cursor::Compositor(pointer),
        }
    }
}

fn cursor_hotspot(surface: &WlSurface) -> Point<i32, Logical> {
    smithay::wayland::compositor::with_states(surface, |states| {
        states
            .data_map
            .get::<smithay::input::pointer::CursorImageSurfaceData>()
            .and_then(|d| d.lock().ok().map(|d| d.hotspot))
            .unwrap_or_default()
    })
}

fn wide(p: Point<i32, Logical>) -> (i64, i64) {
    (i64::from(p.x), i64::from(p.y))
}

/// The rectangle at `(x, y)` of `size`, grown by `grow` on every side, as
/// much of it as lies inside `area`; computed wide so that no client
/// number can overflow.
fn clamp_rect(
    area: Rectangle<i32, Logical>,
    (x, y): (i64, i64),
    size: smithay::utils::Size<i32, Logical>,
    grow: i32,
) -> Option<Rectangle<i32, Logical>> {
    let grow = i64::from(grow);
    let (x0, y0) = (x - grow, y - grow);
    let x1 = x + i64::from(size.w.max(0)) + grow;
    let y1 = y + i64::from(size.h.max(0)) + grow;
    let (ax0, ay0) = (i64::from(area.loc.x), i64::from(area.loc.y));
    let (ax1, ay1) = (ax0 + i64::from(area.size.w), ay0 + i64::from(area.size.h));
    let (x0, y0, x1, y1) = (x0.max(ax0), y0.max(ay0), x1.min(ax1), y1.min(ay1));
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    // Inside `area`, so every value fits in i32 again.
    let i = |v: i64| v as i32;
    Some(Rectangle::new(
        (i(x0), i(y0)).into(),
        (i(x1 - x0), i(y1 - y0)).into(),
    ))
}
