//! What the compositor shows, read for the checks: the panel's own state
//! and pixels, which window is visually on top at a point, where the
//! pointer is. Every read of compositor internals the fuzzer makes is in
//! this file, so running it against another version of the compositor
//! (the old code, before the restructure) means adapting this file only.
//!
//! Nothing here reuses the compositor's policy code (`crate::stack`): the
//! checks must judge the stack, not repeat it.

use palisade::state::Palisade;
use palisade_panel::Hit;
use smithay::desktop::Window;
use smithay::output::Output;
use smithay::reexports::wayland_server::Resource;
use smithay::utils::{Logical, Point, Rectangle};
use smithay::wayland::seat::WaylandFocus;

use crate::fixture::Fixture;

/// One output as the checks see it; rectangles are global logical.
#[derive(Debug, Clone)]
pub struct OutputView {
    pub name: String,
    pub geo: Rectangle<i32, Logical>,
    pub work_area: Rectangle<i32, Logical>,
    pub scale: f64,
}

impl OutputView {
    pub fn contains(&self, p: Point<f64, Logical>) -> bool {
        self.geo.to_f64().contains(p)
    }

    /// A global logical point in this output's physical pixels.
    pub fn to_physical(&self, p: Point<f64, Logical>) -> (f64, f64) {
        (
            (p.x - f64::from(self.geo.loc.x)) * self.scale,
            (p.y - f64::from(self.geo.loc.y)) * self.scale,
        )
    }
}

/// The outputs, in the order the state JSON lists them.
pub fn outputs(f: &Fixture) -> Vec<OutputView> {
    let rect = |[x, y, w, h]: [i32; 4]| Rectangle::new((x, y).into(), (w, h).into());
    (f.state().outputs.into_iter())
        .map(|o| OutputView {
            geo: rect([o.position[0], o.position[1], 0, 0]),
            work_area: rect(o.work_area),
            scale: o.scale,
            name: o.name,
        })
        .map(|mut o| {
            // The work area spans the output's width and ends at its bottom.
            let wa = o.work_area;
            o.geo.size = (wa.size.w, wa.loc.y - o.geo.loc.y + wa.size.h).into();
            o
        })
        .collect()
}

/// The panel's own pixels (RGBA, physical, full output width) for the
/// strip of `output`, as the panel drew them for the last frame.
pub fn panel_pixels(f: &Fixture, output: &str) -> Vec<u8> {
    let pal = &f.driver.state.pal;
    (pal.outputs.iter())
        .find(|o| o.output.name() == output)
        .map(|o| o.panel.pixels.clone())
        .unwrap_or_default()
}

/// A window entry of a panel: which output's panel, its id, the identity
/// label it shows (trusted) and whether it is shown focused.
#[derive(Debug, Clone)]
pub struct Entry {
    pub output: String,
    pub id: u64,
    pub label: String,
    pub focused: bool,
}

/// Every window entry of every panel, output by output.
pub fn entries(f: &Fixture) -> Vec<Entry> {
    let pal = &f.driver.state.pal;
    (pal.outputs.iter())
        .flat_map(|o| {
            let name = o.output.name();
            (pal.panel_state(&o.output).windows.into_iter()).map(move |e| Entry {
                output: name.clone(),
                id: e.id,
                label: e.label,
                focused: e.focused,
            })
        })
        .collect()
}

/// The protocol id of the wl_surface of the window behind panel entry
/// `id`: the client's object for that surface has the same id.
pub fn entry_surface_id(f: &Fixture, id: u64) -> Option<u32> {
    let pal = &f.driver.state.pal;
    Some(window_by_id(pal, id)?.wl_surface()?.id().protocol_id())
}

/// A point (global logical) on panel entry `id` of `output`, found by
/// asking the panel what each x of its middle row hits.
pub fn entry_point(f: &Fixture, output: &OutputView, id: u64) -> Option<Point<f64, Logical>> {
    let pal = &f.driver.state.pal;
    let y =
        f64::from(output.geo.loc.y) + f64::from(output.work_area.loc.y - output.geo.loc.y) / 2.0;
    let x0 = f64::from(output.geo.loc.x);
    (0..output.geo.size.w)
        .map(|dx| Point::from((x0 + f64::from(dx) + 0.5, y)))
        .find(|&p| pal.panel_hit(p) == Some(Hit::Window(id)))
}

/// The pointer, global logical.
pub fn pointer(f: &Fixture) -> Point<f64, Logical> {
    pointer_of(&f.driver.state.pal)
}

/// Whether the compositor draws a cursor at all yet (after the first
/// motion).
pub fn cursor_visible(f: &Fixture) -> bool {
    cursor_visible_of(&f.driver.state.pal)
}

/// The identity label of the window that is visually on top at `p`
/// (global logical), if `p` is in a work area and a window shows there:
/// walking the stacking order topmost first, the first window whose
/// visible extent contains `p`: the box around what shows, inside the work
/// area, of its surfaces with popups and of its identity border.
pub fn top_label_at(f: &Fixture, p: Point<f64, Logical>) -> Option<String> {
    let pal = &f.driver.state.pal;
    let output = output_under(pal, p)?;
    let area = pal.work_area(&output)?;
    if !area.to_f64().contains(p) {
        return None;
    }
    let bw = palisade_themes::Theme::default().border_width.max(0);
    let name = output.name();
    for (window, loc) in stacked(pal, &name) {
        let geometry = window.geometry();
        let framed = Rectangle::new(
            loc - Point::from((bw, bw)),
            (geometry.size.w + 2 * bw, geometry.size.h + 2 * bw).into(),
        );
        let mut drawn = window.bbox_with_popups();
        drawn.loc += loc - geometry.loc;
        // What shows of each, then the box around both.
        let extent = match (framed.intersection(area), drawn.intersection(area)) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        if extent.is_some_and(|e| e.to_f64().contains(p)) {
            return pal.identity_of(&window).map(|i| i.label);
        }
    }
    None
}

/// The identity id that owns the clipboard, if any.
pub fn clipboard_owner(f: &Fixture) -> Option<String> {
    f.state().clipboard.owner
}

/// Frames rendered so far on every output present.
pub fn frames(f: &Fixture) -> u64 {
    f.driver.frames()
}

/// Frames rendered so far on one output.
pub fn output_frames(f: &Fixture, name: &str) -> u64 {
    f.driver.output_frames(name)
}

// ---------------------------------------------------------------------------
// The compositor's own structures: adapt these to run the fuzzer against
// another version of the compositor.

fn window_by_id(pal: &Palisade, id: u64) -> Option<Window> {
    pal.shell.by_id(id).map(|m| m.window.clone())
}

/// The mapped windows of output `name`, topmost first, with their
/// locations (global logical).
fn stacked(pal: &Palisade, name: &str) -> Vec<(Window, Point<i32, Logical>)> {
    (pal.shell.top_first())
        .filter_map(|w| pal.shell.entry(w))
        .filter(|m| m.mapped && m.output == name)
        .filter_map(|m| Some((m.window.clone(), pal.shell.element_location(&m.window)?)))
        .collect()
}

fn output_under(pal: &Palisade, p: Point<f64, Logical>) -> Option<Output> {
    pal.shell.space().output_under(p).next().cloned()
}

fn pointer_of(pal: &Palisade) -> Point<f64, Logical> {
    pal.input.pointer_location()
}

fn cursor_visible_of(pal: &Palisade) -> bool {
    pal.input.cursor_visible()
}
