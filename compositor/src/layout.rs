//! Window management for a laptop: every toplevel fills its output's work area
//! (the output minus the reserved strip), fullscreen included; dialogs are
//! centred over their parent. Which window has focus is `crate::focus`'s.

use smithay::desktop::Window;
use smithay::output::Output;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State as XdgState;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
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
        let Some(mapped) = self.shell.get(index) else {
            return;
        };
        let window = mapped.window.clone();
        let is_mapped = mapped.mapped;
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
        if is_mapped {
            self.shell.place(&window, rect.loc);
        }
    }

    /// Re-place every window, keeping the stacking order.
    pub fn relayout_all(&mut self) {
        let stacking: Vec<Window> = self.shell.space().elements().cloned().collect();
        for window in stacking {
            if let Some(i) = (self.shell.windows().iter()).position(|m| m.window == window) {
                self.layout_window(i);
            }
        }
        for i in 0..self.shell.windows().len() {
            if !self.shell.windows()[i].mapped {
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
        let window = &self.shell.windows()[index].window;
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
            .shell
            .element_geometry(&self.shell.windows()[parent].window)
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
        Some(self.window_area_in(self.work_area(output)?))
    }

    /// The window area inside the work area `area`.
    pub fn window_area_in(&self, area: Rectangle<i32, Logical>) -> Rectangle<i32, Logical> {
        let bw = self
            .theme
            .border_width
            .clamp(0, area.size.w.min(area.size.h) / 4);
        Rectangle::new(
            (area.loc.x + bw, area.loc.y + bw).into(),
            (area.size.w - 2 * bw, area.size.h - 2 * bw).into(),
        )
    }

    /// The output a window lives on; a window whose output went away moves
    /// to the first remaining one.
    fn output_for_window(&mut self, index: usize) -> Option<Output> {
        let name = self.shell.get(index)?.output.clone();
        if let Some(o) = self.output_by_name(&name) {
            return Some(o.clone());
        }
        let output = self.active_output()?;
        self.shell.set_output(index, output.name());
        Some(output)
    }

    fn parent_index(&self, index: usize) -> Option<usize> {
        let parent = self.shell.get(index)?.window.toplevel()?.parent()?;
        (self.shell.index_of(&parent)).filter(|&p| p != index && self.shell.windows()[p].mapped)
    }

    /// Super+Tab / Super+Shift+Tab: the next or previous mapped window in
    /// the order they appeared.
    pub fn cycle_focus(&mut self, forward: bool) {
        let order: Vec<Window> = self.shell.mapped().map(|m| m.window.clone()).collect();
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
        let Some(index) = self.shell.index_of(surface) else {
            return;
        };
        let window = self.shell.windows()[index].window.clone();
        if let Some(toplevel) = window.toplevel() {
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
        if let Some(toplevel) = window.toplevel() {
            if toplevel.is_initial_configure_sent() {
                toplevel.send_configure();
            }
        }
    }

    /// Put a new output to the right of the others.
    pub fn add_output(&mut self, output: Output) {
        let x = (self.outputs.iter())
            .filter_map(|o| self.shell.output_geometry(&o.output))
            .map(|g| g.loc.x + g.size.w)
            .max()
            .unwrap_or(0);
        self.shell.map_output(&output, (x, 0));
        self.outputs.push(crate::state::OutputEntry {
            output,
            redraw: Default::default(),
            panel: Default::default(),
            // An output added while locked starts unshown: its first frame
            // is a locked one (its stack holds only the lock).
            lock: Default::default(),
        });
        self.relayout_all();
    }

    /// Remove an output: the rest close the gap, and its windows move to the
    /// output under the pointer (or the first one).
    pub fn remove_output(&mut self, name: &str) -> Option<Output> {
        let pos = self.outputs.iter().position(|o| o.output.name() == name)?;
        let entry = self.outputs.remove(pos);
        self.shell.unmap_output(&entry.output);
        let mut x = 0;
        let remaining: Vec<Output> = self.outputs.iter().map(|o| o.output.clone()).collect();
        for output in remaining {
            self.shell.map_output(&output, (x, 0));
            x += (self.shell.output_geometry(&output)).map_or(0, |g| g.size.w);
        }
        let first =
            (self.shell.space().outputs().next()).and_then(|o| self.shell.output_geometry(o));
        if let Some(first) = first {
            self.input.keep_pointer_on(&self.shell, first);
        }
        self.relayout_all();
        Some(entry.output)
    }
}
