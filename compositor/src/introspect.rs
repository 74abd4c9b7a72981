//! What the compositor is showing, as data: the scenario `state` step, tests
//! and (later) debugging all read this.

use std::time::Instant;

use palisade_shortcuts::proto::UsbGrant;
use serde::Serialize;
use smithay::reexports::rustix;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel::State as XdgState;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::compositor::with_states;
use smithay::wayland::seat::WaylandFocus;
use smithay::wayland::shell::xdg::XdgToplevelSurfaceData;

use crate::helper::ceil_secs;
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
    /// It appeared while another identity had focus and has not been
    /// focused since: the panel marks its entry.
    pub attention: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateInfo {
    pub locked: bool,
    /// False while the outputs are switched off (a long lock).
    pub outputs_on: bool,
    pub outputs: Vec<OutputInfo>,
    pub windows: Vec<WindowInfo>,
    /// The compositor's real uid (the session user's, never root's).
    pub uid: u32,
    pub helper: HelperInfo,
    /// Who owns the clipboard and what is in transit.
    pub clipboard: crate::clipboard::ClipboardInfo,
}

/// The link to `palisade-helper`. Every field but `connected` and `usb` is
/// null when the helper is not connected; the peer's credentials are kept
/// as long as there is (or was) a link.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HelperInfo {
    pub connected: bool,
    /// SO_PEERCRED of the socket: the helper's pid and uid.
    pub peer_pid: Option<i32>,
    pub peer_uid: Option<u32>,
    pub locked: Option<bool>,
    /// "denied", "allowed", or "unknown" without a connected helper.
    pub usb: &'static str,
    /// Seconds left while allowed, rounded up as the panel shows them.
    pub usb_remaining_s: Option<u64>,
    pub reboot_in_s: Option<u64>,
    pub failed_attempts: Option<u32>,
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
        let windows = (self.shell.mapped())
            .filter_map(|m| {
                let geo = self.shell.element_geometry(&m.window)?;
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
                    attention: m.attention,
                })
            })
            .collect();
        StateInfo {
            locked: self.is_locked(),
            outputs_on: self.idle.outputs_on,
            outputs,
            windows,
            uid: rustix::process::getuid().as_raw(),
            helper: self.helper_info(),
            clipboard: self.clipboard_info(),
        }
    }

    pub fn helper_info(&self) -> HelperInfo {
        let link = self.helper.as_ref();
        let peer = link.map(|l| l.peer());
        let state = link.and_then(|l| l.state_at(Instant::now()));
        let (usb, usb_remaining_s) = match state.as_ref().map(|s| s.usb) {
            None => ("unknown", None),
            Some(UsbGrant::Denied) => ("denied", None),
            Some(UsbGrant::Allowed { remaining_ms }) => ("allowed", Some(ceil_secs(remaining_ms))),
        };
        HelperInfo {
            connected: link.is_some_and(|l| l.is_connected()),
            peer_pid: peer.map(|p| p.pid),
            peer_uid: peer.map(|p| p.uid),
            locked: state.as_ref().map(|s| s.locked),
            usb,
            usb_remaining_s,
            reboot_in_s: state.as_ref().and_then(|s| s.reboot_in_ms).map(ceil_secs),
            failed_attempts: state.as_ref().map(|s| s.failed_attempts),
        }
    }
}
