//! Window management for a laptop: every toplevel fills its output's work area
//! (the output minus the reserved strip), fullscreen included; dialogs are
//! centred over their parent; the newest window gets focus.

use smithay::desktop::Window;
use smithay::output::Output;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State as XdgState;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::IsAlive;
use smithay::utils::{Logical, Point, Rectangle, Size};
use smithay::wayland::compositor::with_states;
use smithay::wayland::seat::WaylandFocus;
use smithay::wayland::shell::xdg::SurfaceCachedState;

use crate::state::Palisade;

impl Palisade {
    /// Decide the window's rectangle, tell the client (pending configure) and,
    /// once it has a buffer, put it in the space there.
    pub fn layout_window(&mut self, index: usize) {
        let Some(rect) = self.window_rect(index) else {
            return;
        };
        let mapped = &self.windows[index];
        let window = mapped.window.clone();
        let Some(toplevel) = window.toplevel() else {
            return;
        };
        let is_dialog = self.parent_index(index).is_some();
        toplevel.with_pending_state(|s| {
            if is_dialog {
                // Dialogs choose their own size; we only bound it.
                s.size = None;
                s.bounds = Some(rect.size);
            } else {
                s.size = Some(rect.size);
                s.bounds = Some(rect.size);
            }
            if !is_dialog {
                for st in [
                    XdgState::TiledLeft,
                    XdgState::TiledRight,
                    XdgState::TiledTop,
                    XdgState::TiledBottom,
                ] {
                    s.states.set(st);
                }
            }
        });
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
        if mapped.mapped {
            // Mapping moves a window to the top; one already in the space
            // keeps its place, so a client cannot raise itself above the
            // focused window by asking for fullscreen or a new parent.
            let above: Vec<Window> = (self.space.elements())
                .skip_while(|w| **w != window)
                .skip(1)
                .cloned()
                .collect();
            self.space.map_element(window, rect.loc, false);
            for w in above {
                self.space.raise_element(&w, false);
            }
        }
    }

    /// Re-place every window, keeping the stacking order.
    pub fn relayout_all(&mut self) {
        let stacking: Vec<Window> = self.space.elements().cloned().collect();
        for window in stacking {
            if let Some(i) = self.windows.iter().position(|m| m.window == window) {
                self.layout_window(i);
            }
        }
        for i in 0..self.windows.len() {
            if !self.windows[i].mapped {
                self.layout_window(i);
            }
        }
        self.queue_redraw_all();
    }

    /// Where the window at `index` goes, in global logical coordinates.
    fn window_rect(&mut self, index: usize) -> Option<Rectangle<i32, Logical>> {
        let output = self.output_for_window(index)?;
        // Every window keeps room for its identity border inside the work
        // area, fullscreen too: a fullscreen app must not be able to pass
        // for another identity.
        let area = self.window_area(&output)?;
        let Some(parent) = self.parent_index(index) else {
            return Some(area);
        };
        let window = &self.windows[index].window;
        let mut size = window.geometry().size;
        if size.w <= 0 || size.h <= 0 {
            let min = window
                .wl_surface()
                .map(|s| {
                    with_states(&s, |st| {
                        st.cached_state
                            .get::<SurfaceCachedState>()
                            .current()
                            .min_size
                    })
                })
                .unwrap_or_default();
            size = Size::from((min.w.max(area.size.w / 2), min.h.max(area.size.h / 2)));
        }
        let size = Size::from((size.w.min(area.size.w), size.h.min(area.size.h)));
        let parent_rect = self
            .space
            .element_geometry(&self.windows[parent].window)
            .unwrap_or(area);
        let centre =
            parent_rect.loc + Point::from((parent_rect.size.w / 2, parent_rect.size.h / 2));
        let loc = Point::from((
            (centre.x - size.w / 2).clamp(area.loc.x, area.loc.x + area.size.w - size.w),
            (centre.y - size.h / 2).clamp(area.loc.y, area.loc.y + area.size.h - size.h),
        ));
        Some(Rectangle::new(loc, size))
    }

    /// The work area minus the identity border all around.
    pub fn window_area(&self, output: &Output) -> Option<Rectangle<i32, Logical>> {
        let area = self.work_area(output)?;
        let bw = self
            .theme
            .border_width
            .clamp(0, area.size.w.min(area.size.h) / 4);
        Some(Rectangle::new(
            (area.loc.x + bw, area.loc.y + bw).into(),
            (area.size.w - 2 * bw, area.size.h - 2 * bw).into(),
        ))
    }

    /// The output a window lives on; a window whose output went away moves
    /// to the first remaining one.
    fn output_for_window(&mut self, index: usize) -> Option<Output> {
        let name = self.windows[index].output.clone();
        if let Some(o) = self.output_by_name(&name) {
            return Some(o.clone());
        }
        let output = self.active_output()?;
        self.windows[index].output = output.name();
        Some(output)
    }

    fn parent_index(&self, index: usize) -> Option<usize> {
        let parent = self.windows[index].window.toplevel()?.parent()?;
        self.window_index_for_surface(&parent)
            .filter(|&p| p != index && self.windows[p].mapped)
    }

    /// The window holding keyboard focus (through a popup grab too).
    pub fn focused_window(&self) -> Option<Window> {
        let focus = self.seat.get_keyboard()?.current_focus()?;
        self.window_of_surface(&focus)
    }

    /// Give keyboard focus to a window (or nobody) and raise it.
    pub fn focus_window(&mut self, window: Option<&Window>) {
        let surface: Option<WlSurface> =
            window.and_then(|w| w.wl_surface().map(|s| s.into_owned()));
        if let Some(window) = window {
            self.raise_with_dialogs(window, true);
            // It has what it wanted: the panel stops asking for attention.
            for m in self.windows.iter_mut().filter(|m| m.window == *window) {
                m.attention = false;
            }
        }
        for m in &self.windows {
            if let Some(t) = m.window.toplevel() {
                if t.is_initial_configure_sent() {
                    t.send_pending_configure();
                }
            }
        }
        // set_focus needs the whole State while we only hold Palisade here:
        // the change is applied by `State::apply_focus` before any input.
        self.pending_focus = Some(surface);
        self.queue_redraw_all();
    }

    /// Raise a window, and its dialogs above it.
    pub fn raise_with_dialogs(&mut self, window: &Window, activate: bool) {
        let surface = window.wl_surface().map(|s| s.into_owned());
        self.space.raise_element(window, activate);
        let children: Vec<Window> = self
            .windows
            .iter()
            .filter(|m| m.mapped && m.window.toplevel().and_then(|t| t.parent()) == surface)
            .map(|m| m.window.clone())
            .collect();
        for child in children {
            self.space.raise_element(&child, false);
        }
    }

    /// After a window goes away: if it had focus, the topmost mapped window
    /// takes it.
    pub fn focus_after_unmap(&mut self, gone: &Window) {
        // Compare surfaces: `gone` may already be out of `windows`.
        let focus = self.seat.get_keyboard().and_then(|k| k.current_focus());
        let had_focus = match (focus, gone.wl_surface()) {
            (None, _) => true,
            (Some(f), Some(g)) => {
                !f.alive() || f == *g || self.focused_window().as_ref() == Some(gone)
            }
            (Some(f), None) => !f.alive(),
        };
        if had_focus {
            let next = self
                .space
                .elements()
                .rev()
                .find(|w| *w != gone && w.alive())
                .cloned();
            self.focus_window(next.as_ref());
        }
    }

    /// Super+Tab / Super+Shift+Tab: the next or previous mapped window in
    /// the order they appeared.
    pub fn cycle_focus(&mut self, forward: bool) {
        let order: Vec<Window> = self
            .windows
            .iter()
            .filter(|m| m.mapped)
            .map(|m| m.window.clone())
            .collect();
        if order.is_empty() {
            return;
        }
        let current = self
            .focused_window()
            .and_then(|f| order.iter().position(|w| *w == f));
        let next = match (current, forward) {
            (None, _) => 0,
            (Some(i), true) => (i + 1) % order.len(),
            (Some(i), false) => (i + order.len() - 1) % order.len(),
        };
        self.focus_by_user(&order[next]);
    }

    /// Super+Q: ask the focused window to close (the client decides).
    pub fn close_focused(&mut self) {
        if let Some(toplevel) = self.focused_window().and_then(|w| w.toplevel().cloned()) {
            toplevel.send_close();
        }
    }

    pub fn set_fullscreen(&mut self, surface: &WlSurface, on: bool) {
        let Some(index) = self.window_index_for_surface(surface) else {
            return;
        };
        if let Some(toplevel) = self.windows[index].window.toplevel() {
            toplevel.with_pending_state(|s| {
                if on {
                    s.states.set(XdgState::Fullscreen);
                } else {
                    s.states.unset(XdgState::Fullscreen);
                }
            });
        }
        self.layout_window(index);
        // A fullscreen request must be answered even when nothing changed.
        if let Some(toplevel) = self.windows[index].window.toplevel() {
            if toplevel.is_initial_configure_sent() {
                toplevel.send_configure();
            }
        }
    }

    /// Put a new output to the right of the others.
    pub fn add_output(&mut self, output: Output) {
        let x = self
            .outputs
            .iter()
            .filter_map(|o| self.space.output_geometry(&o.output))
            .map(|g| g.loc.x + g.size.w)
            .max()
            .unwrap_or(0);
        self.space.map_output(&output, (x, 0));
        let strip = smithay::backend::renderer::element::solid::SolidColorBuffer::new(
            (1, 1),
            self.theme.panel_background,
        );
        self.outputs.push(crate::state::OutputEntry {
            output,
            redraw: Default::default(),
            strip,
            panel: Default::default(),
            // An output added while locked starts unshown: its first frame
            // is a locked one (the renderer decides by the lock alone).
            lock: Default::default(),
        });
        self.relayout_all();
    }

    /// Remove an output: the rest close the gap, and its windows move to the
    /// output under the pointer (or the first one).
    pub fn remove_output(&mut self, name: &str) -> Option<Output> {
        let pos = self.outputs.iter().position(|o| o.output.name() == name)?;
        let entry = self.outputs.remove(pos);
        self.space.unmap_output(&entry.output);
        let mut x = 0;
        let remaining: Vec<Output> = self.outputs.iter().map(|o| o.output.clone()).collect();
        for output in remaining {
            self.space.map_output(&output, (x, 0));
            x += self
                .space
                .output_geometry(&output)
                .map(|g| g.size.w)
                .unwrap_or(0);
        }
        if let Some(first) = self
            .space
            .outputs()
            .next()
            .and_then(|o| self.space.output_geometry(o))
        {
            let p = self.pointer_location;
            if self.space.output_under(p).next().is_none() {
                self.pointer_location = first.loc.to_f64()
                    + Point::from((first.size.w as f64 / 2.0, first.size.h as f64 / 2.0));
            }
        }
        self.relayout_all();
        Some(entry.output)
    }
}
