//! wl_compositor, wl_subcompositor, wl_shm and the buffer bookkeeping.

use smithay::backend::renderer::utils::{on_commit_buffer_handler, with_renderer_surface_state};
use smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Client;
use smithay::wayland::buffer::BufferHandler;
use smithay::wayland::compositor::{get_parent, is_sync_subsurface, CompositorClientState};
use smithay::wayland::compositor::{CompositorHandler, CompositorState};
use smithay::wayland::shell::xdg::XdgToplevelSurfaceData;
use smithay::wayland::shm::{ShmHandler, ShmState};

use crate::state::{ClientState, State};

impl CompositorHandler for State {
    fn compositor_state(&mut self) -> &mut CompositorState {
        &mut self.pal.protocols.compositor_state
    }

    fn client_compositor_state<'a>(&self, client: &'a Client) -> &'a CompositorClientState {
        match client.get_data::<ClientState>() {
            Some(data) => &data.compositor_state,
            // Every client is inserted by us with ClientState; anything else
            // is a bug, but a compositor panic would kill the session.
            None => {
                tracing::error!("client without ClientState");
                static FALLBACK: std::sync::OnceLock<CompositorClientState> =
                    std::sync::OnceLock::new();
                FALLBACK.get_or_init(CompositorClientState::default)
            }
        }
    }

    fn commit(&mut self, surface: &WlSurface) {
        on_commit_buffer_handler::<Self>(surface);
        crate::limits::after_commit(surface, self.pal.now_ms());
        if is_sync_subsurface(surface) {
            // Applied with the parent's commit.
            return;
        }
        let mut root = surface.clone();
        while let Some(parent) = get_parent(&root) {
            root = parent;
        }

        self.pal.shell.popup_commit(surface);
        crate::handlers::xdg_shell::popup_initial_configure(&self.pal, surface);

        if let Some(index) = self.pal.shell.index_of(&root) {
            let window = self.pal.shell.windows()[index].window.clone();
            window.on_commit();
            if &root == surface {
                self.toplevel_commit(index, surface);
            }
            let output = self.pal.shell.get(index).map(|m| m.output.clone());
            match output.and_then(|n| self.pal.output_by_name(&n).cloned()) {
                Some(output) => self.pal.queue_redraw(&output),
                None => self.pal.queue_redraw_all(),
            }
        } else {
            // Popups, cursors and drag icons: cheap to just redraw everything.
            self.pal.queue_redraw_all();
        }
    }
}

impl State {
    /// The toplevel's own commit: the initial configure, mapping on the first
    /// buffer, unmapping on a null buffer.
    fn toplevel_commit(&mut self, index: usize, surface: &WlSurface) {
        let Some(window) = self.pal.shell.get(index).map(|m| m.window.clone()) else {
            return;
        };
        let Some(toplevel) = window.toplevel().cloned() else {
            return;
        };
        let initial_sent = smithay::wayland::compositor::with_states(surface, |states| {
            states
                .data_map
                .get::<XdgToplevelSurfaceData>()
                .map(|d| d.lock().map(|d| d.initial_configure_sent).unwrap_or(true))
                .unwrap_or(true)
        });
        if !initial_sent {
            // The layout decides the size before the client draws anything.
            self.pal.layout_window(index);
            toplevel.send_configure();
            return;
        }

        let has_buffer =
            with_renderer_surface_state(surface, |s| s.buffer().is_some()).unwrap_or(false);
        let mapped = self.pal.shell.windows()[index].mapped;
        if has_buffer && !mapped {
            self.pal.shell.set_mapped(index, true);
            self.pal.layout_window(index);
            // Focus is decided on the first buffer: foot crashes if
            // keyboard focus arrives before its first configure. The window
            // may not take it from another identity (`crate::focus`).
            self.pal.window_mapped(index);
        } else if !has_buffer && mapped {
            self.pal.shell.set_mapped(index, false);
            self.pal.focus_after_unmap(&window);
        }
    }
}

impl BufferHandler for State {
    fn buffer_destroyed(&mut self, _buffer: &WlBuffer) {}
}

impl ShmHandler for State {
    fn shm_state(&self) -> &ShmState {
        &self.pal.protocols.shm_state
    }
}
