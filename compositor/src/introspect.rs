//! What the compositor is showing, as data: the scenario `state` step, tests
//! and (later) debugging all read this.

use serde::Serialize;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State as XdgState;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::compositor::with_states;
use smithay::wayland::seat::WaylandFocus;
use smithay::wayland::shell::xdg::XdgToplevelSurfaceData;

use crate::state::{ClientState, Palisade};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputInfo {
    pub name: String,
    pub size: [i32; 2],
    pub scale: f64,
    pub position: [i32; 2],
    pub work_area: [i32; 4],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowInfo {
    /// The identity the compositor attached when it inserted the client.
    pub identity: String,
    pub label: String,
    /// Untrusted: whatever the client said.
    pub app_id: String,
    /// Untrusted: whatever the client said.
    pub title: String,
    pub output: String,
    pub geometry: [i32; 4],
    pub focused: bool,
    pub fullscreen: bool,
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateInfo {
    pub locked: bool,
    pub outputs: Vec<OutputInfo>,
    pub windows: Vec<WindowInfo>,
}

impl Palisade {
    pub fn state_info(&self) -> StateInfo {
        let outputs = self
            .outputs
            .iter()
            .filter_map(|o| {
                let geo = self.output_geometry(&o.output)?;
                let area = self.work_area(&o.output)?;
                let size = o.output.current_mode().map(|m| m.size).unwrap_or_default();
                Some(OutputInfo {
                    name: o.output.name(),
                    size: [size.w, size.h],
                    scale: o.output.current_scale().fractional_scale(),
                    position: [geo.loc.x, geo.loc.y],
                    work_area: [area.loc.x, area.loc.y, area.size.w, area.size.h],
                })
            })
            .collect();
        let focused = self.focused_window();
        let windows = self
            .windows
            .iter()
            .filter(|m| m.mapped)
            .filter_map(|m| {
                let geo = self.space.element_geometry(&m.window)?;
                let surface = m.window.wl_surface()?;
                let (app_id, title) = with_states(&surface, |states| {
                    states
                        .data_map
                        .get::<XdgToplevelSurfaceData>()
                        .and_then(|d| d.lock().ok())
                        .map(|d| {
                            (
                                d.app_id.clone().unwrap_or_default(),
                                d.title.clone().unwrap_or_default(),
                            )
                        })
                        .unwrap_or_default()
                });
                let client = self.display_handle.get_client(surface.id()).ok()?;
                let data = client.get_data::<ClientState>()?;
                let fullscreen = m
                    .window
                    .toplevel()
                    .map(|t| t.current_state().states.contains(XdgState::Fullscreen))
                    .unwrap_or(false);
                Some(WindowInfo {
                    identity: data.identity.id.clone(),
                    label: data.identity.label.clone(),
                    app_id,
                    title,
                    output: m.output.clone(),
                    geometry: [geo.loc.x, geo.loc.y, geo.size.w, geo.size.h],
                    focused: focused.as_ref() == Some(&m.window),
                    fullscreen,
                    pid: data.pid,
                })
            })
            .collect();
        StateInfo {
            locked: false,
            outputs,
            windows,
        }
    }
}
