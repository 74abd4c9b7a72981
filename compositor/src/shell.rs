//! The windows the compositor manages: their order, where they are, and
//! which output they live on. What is drawn and hit is decided from this by
//! `crate::stack`; who has focus is decided by `crate::focus` alone, and
//! only focus may change which window is told it is activated.
//!
//! The fields are private: every change to the window list or the stacking
//! order goes through a method here, so a reader can see all of them.

use smithay::backend::renderer::element::Id;
use smithay::desktop::{PopupKind, PopupManager, Space, Window};
use smithay::output::Output;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{IsAlive, Logical, Point, Rectangle};
use smithay::wayland::seat::WaylandFocus;

/// A toplevel the compositor manages, with what only the compositor knows.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub window: Window,
    /// Name of the output the window lives on.
    pub output: String,
    /// Set once the window has shown its first buffer.
    pub mapped: bool,
    /// Compositor-side id (panel entries and clicks refer to it).
    pub id: u64,
    /// Stable ids of the four border bars, so damage tracking sees them as
    /// the same elements from frame to frame.
    pub border_ids: [Id; 4],
    /// It appeared while another identity had focus and was not given it
    /// (see `crate::focus`); cleared when it gets focus.
    pub attention: bool,
}

#[derive(Debug)]
pub struct Shell {
    space: Space<Window>,
    /// Toplevels in the order they appeared; unmapped ones wait for a buffer.
    windows: Vec<Mapped>,
    popups: PopupManager,
    next_id: u64,
    /// The window last activated, so an unchanged focus costs nothing.
    activated: Option<Window>,
}

impl Default for Shell {
    fn default() -> Self {
        Shell {
            space: Space::default(),
            windows: Vec::new(),
            popups: PopupManager::default(),
            next_id: 1,
            activated: None,
        }
    }
}

impl Shell {
    /// Drop what died since the last iteration.
    pub fn refresh(&mut self) {
        self.space.refresh();
        self.popups.cleanup();
        self.windows.retain(|m| m.window.alive());
    }

    pub fn space(&self) -> &Space<Window> {
        &self.space
    }

    pub fn popups(&self) -> &PopupManager {
        &self.popups
    }

    /// Track a new popup, or apply a commit to one (Smithay's bookkeeping).
    pub fn track_popup(&mut self, popup: PopupKind) {
        if let Err(err) = self.popups.track_popup(popup) {
            tracing::debug!("popup not tracked: {err}");
        }
    }

    pub fn popup_commit(&mut self, surface: &WlSurface) {
        self.popups.commit(surface);
    }

    /// Every toplevel, mapped or not, in the order they appeared.
    pub fn windows(&self) -> &[Mapped] {
        &self.windows
    }

    /// Mapped toplevels in the order they appeared (Super+Tab's order).
    pub fn mapped(&self) -> impl Iterator<Item = &Mapped> {
        self.windows.iter().filter(|m| m.mapped)
    }

    /// Windows in the space, topmost first.
    pub fn top_first(&self) -> impl Iterator<Item = &Window> {
        self.space.elements().rev()
    }

    pub fn topmost(&self) -> Option<Window> {
        self.space.elements().next_back().cloned()
    }

    /// A new toplevel, not mapped until its first buffer; returns its id.
    pub fn add(&mut self, window: Window, output: String) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.windows.push(Mapped {
            id,
            window,
            output,
            mapped: false,
            border_ids: std::array::from_fn(|_| Id::new()),
            attention: false,
        });
        id
    }

    /// The toplevel is gone.
    pub fn remove(&mut self, surface: &WlSurface) -> Option<Mapped> {
        let index = self.index_of(surface)?;
        let mapped = self.windows.remove(index);
        self.space.unmap_elem(&mapped.window);
        Some(mapped)
    }

    /// Index of the toplevel whose root surface this is.
    pub fn index_of(&self, surface: &WlSurface) -> Option<usize> {
        self.windows
            .iter()
            .position(|m| m.window.wl_surface().as_deref() == Some(surface))
    }

    pub fn get(&self, index: usize) -> Option<&Mapped> {
        self.windows.get(index)
    }

    pub fn entry(&self, window: &Window) -> Option<&Mapped> {
        self.windows.iter().find(|m| &m.window == window)
    }

    pub fn by_id(&self, id: u64) -> Option<&Mapped> {
        self.windows.iter().find(|m| m.id == id)
    }

    /// The toplevel whose tree holds `surface` (a popup's or subsurface's
    /// too).
    pub fn window_of_surface(&self, surface: &WlSurface) -> Option<Window> {
        let mut root = surface.clone();
        while let Some(parent) = smithay::wayland::compositor::get_parent(&root) {
            root = parent;
        }
        if let Some(popup) = self.popups.find_popup(&root) {
            root = smithay::desktop::find_popup_root_surface(&popup).ok()?;
        }
        let index = self.index_of(&root)?;
        Some(self.windows[index].window.clone())
    }

    /// The window first showed a buffer (true), or attached none (false:
    /// it leaves the space until it draws again).
    pub fn set_mapped(&mut self, index: usize, mapped: bool) {
        let Some(m) = self.windows.get_mut(index) else {
            return;
        };
        m.mapped = mapped;
        if !mapped {
            let window = m.window.clone();
            self.space.unmap_elem(&window);
        }
    }

    pub fn set_output(&mut self, index: usize, output: String) {
        if let Some(m) = self.windows.get_mut(index) {
            m.output = output;
        }
    }

    pub fn set_attention(&mut self, window: &Window, attention: bool) {
        for m in self.windows.iter_mut().filter(|m| m.window == *window) {
            m.attention = attention;
        }
    }

    /// Put a mapped window at `loc`. Mapping moves a window to the top; one
    /// already in the space keeps its place, so a client cannot raise
    /// itself above the focused window by asking for fullscreen or a new
    /// parent.
    pub fn place(&mut self, window: &Window, loc: Point<i32, Logical>) {
        let above: Vec<Window> = (self.space.elements())
            .skip_while(|w| *w != window)
            .skip(1)
            .cloned()
            .collect();
        // `activate` is always false here: only focus decides activation.
        self.space.map_element(window.clone(), loc, false);
        for w in above {
            self.space.raise_element(&w, false);
        }
    }

    /// Raise a window, and its dialogs above it.
    pub fn raise_with_dialogs(&mut self, window: &Window) {
        let surface = window.wl_surface().map(|s| s.into_owned());
        self.space.raise_element(window, false);
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

    /// Exactly `focused` is activated, every other window not; windows whose
    /// state changed are sent a configure. Called only by focus.
    pub(crate) fn set_activated(&mut self, focused: Option<&Window>) {
        // New windows start deactivated, so only a change of `focused`
        // changes anything.
        if self.activated.as_ref() == focused {
            return;
        }
        self.activated = focused.cloned();
        for m in &self.windows {
            let changed = m.window.set_activated(Some(&m.window) == focused);
            if let Some(toplevel) = m.window.toplevel() {
                if changed && toplevel.is_initial_configure_sent() {
                    toplevel.send_pending_configure();
                }
            }
        }
    }

    pub fn map_output(&mut self, output: &Output, loc: (i32, i32)) {
        self.space.map_output(output, loc);
    }

    pub fn unmap_output(&mut self, output: &Output) {
        self.space.unmap_output(output);
    }

    pub fn output_geometry(&self, output: &Output) -> Option<Rectangle<i32, Logical>> {
        self.space.output_geometry(output)
    }

    /// Where the window's geometry is, in global logical coordinates.
    pub fn element_geometry(&self, window: &Window) -> Option<Rectangle<i32, Logical>> {
        self.space.element_geometry(window)
    }

    pub fn element_location(&self, window: &Window) -> Option<Point<i32, Logical>> {
        self.space.element_location(window)
    }
}
