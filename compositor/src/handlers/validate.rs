//! Values Smithay takes from clients without checking: negative sizes that
//! the protocols forbid, and coordinates near the ends of i32. Smithay builds
//! `Size`s from the former, which asserts (a panic in debug builds) and
//! otherwise carries negative sizes into our layout; adding the latter
//! overflows. Each `Dispatch` here refuses forbidden values with the
//! protocol's own error, clamps coordinates (`limits::clamp`), and forwards
//! the request to Smithay.

use smithay::reexports::wayland_protocols::xdg::shell::server::{
    xdg_positioner::{self, XdgPositioner},
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::{self, XdgToplevel},
};
use smithay::reexports::wayland_server::protocol::wl_subsurface::{self, WlSubsurface};
use smithay::reexports::wayland_server::{Client, DataInit, Dispatch, DisplayHandle};
use smithay::wayland::compositor::{CompositorState, SubsurfaceUserData};
use smithay::wayland::shell::xdg::XdgPositionerUserData;
use smithay::wayland::shell::xdg::{XdgShellState, XdgShellSurfaceUserData, XdgSurfaceUserData};

use crate::limits::{self, clamp};
use crate::state::State;

impl Dispatch<XdgSurface, XdgSurfaceUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        surface: &XdgSurface,
        request: xdg_surface::Request,
        data: &XdgSurfaceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        let request = match request {
            xdg_surface::Request::SetWindowGeometry {
                x,
                y,
                width,
                height,
            } => {
                // xdg-shell: "the width and height must be greater than zero".
                if width <= 0 || height <= 0 {
                    let why = format!("window geometry of {width}x{height}");
                    limits::reject(dh, surface, xdg_surface::Error::InvalidSize as u32, &why);
                    return;
                }
                xdg_surface::Request::SetWindowGeometry {
                    x: clamp(x),
                    y: clamp(y),
                    width: clamp(width),
                    height: clamp(height),
                }
            }
            other => other,
        };
        <XdgShellState as Dispatch<XdgSurface, XdgSurfaceUserData, State>>::request(
            state, client, surface, request, data, dh, data_init,
        )
    }

    fn destroyed(
        state: &mut State,
        client: smithay::reexports::wayland_server::backend::ClientId,
        surface: &XdgSurface,
        data: &XdgSurfaceUserData,
    ) {
        <XdgShellState as Dispatch<XdgSurface, XdgSurfaceUserData, State>>::destroyed(
            state, client, surface, data,
        )
    }
}

impl Dispatch<XdgToplevel, XdgShellSurfaceUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        toplevel: &XdgToplevel,
        request: xdg_toplevel::Request,
        data: &XdgShellSurfaceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        if let xdg_toplevel::Request::SetMinSize { width, height }
        | xdg_toplevel::Request::SetMaxSize { width, height } = request
        {
            // xdg-shell: "a negative value raises invalid_size" (0 means
            // no limit).
            if width < 0 || height < 0 {
                let why = format!("a minimum or maximum size of {width}x{height}");
                limits::reject(dh, toplevel, xdg_toplevel::Error::InvalidSize as u32, &why);
                return;
            }
        }
        <XdgShellState as Dispatch<XdgToplevel, XdgShellSurfaceUserData, State>>::request(
            state, client, toplevel, request, data, dh, data_init,
        )
    }

    fn destroyed(
        state: &mut State,
        client: smithay::reexports::wayland_server::backend::ClientId,
        toplevel: &XdgToplevel,
        data: &XdgShellSurfaceUserData,
    ) {
        <XdgShellState as Dispatch<XdgToplevel, XdgShellSurfaceUserData, State>>::destroyed(
            state, client, toplevel, data,
        )
    }
}

impl Dispatch<XdgPositioner, XdgPositionerUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        positioner: &XdgPositioner,
        request: xdg_positioner::Request,
        data: &XdgPositionerUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        // Smithay refuses sizes below one itself; the popup's place is sums
        // of these, so each is clamped.
        use xdg_positioner::Request as R;
        let request = match request {
            R::SetSize { width, height } => R::SetSize {
                width: clamp(width),
                height: clamp(height),
            },
            R::SetAnchorRect {
                x,
                y,
                width,
                height,
            } => R::SetAnchorRect {
                x: clamp(x),
                y: clamp(y),
                width: clamp(width),
                height: clamp(height),
            },
            R::SetOffset { x, y } => R::SetOffset {
                x: clamp(x),
                y: clamp(y),
            },
            R::SetParentSize {
                parent_width,
                parent_height,
            } => R::SetParentSize {
                parent_width: clamp(parent_width),
                parent_height: clamp(parent_height),
            },
            other => other,
        };
        <XdgShellState as Dispatch<XdgPositioner, XdgPositionerUserData, State>>::request(
            state, client, positioner, request, data, dh, data_init,
        )
    }

    fn destroyed(
        state: &mut State,
        client: smithay::reexports::wayland_server::backend::ClientId,
        positioner: &XdgPositioner,
        data: &XdgPositionerUserData,
    ) {
        <XdgShellState as Dispatch<XdgPositioner, XdgPositionerUserData, State>>::destroyed(
            state, client, positioner, data,
        )
    }
}

impl Dispatch<WlSubsurface, SubsurfaceUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        subsurface: &WlSubsurface,
        request: wl_subsurface::Request,
        data: &SubsurfaceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        let request = match request {
            wl_subsurface::Request::SetPosition { x, y } => wl_subsurface::Request::SetPosition {
                x: clamp(x),
                y: clamp(y),
            },
            other => other,
        };
        <CompositorState as Dispatch<WlSubsurface, SubsurfaceUserData, State>>::request(
            state, client, subsurface, request, data, dh, data_init,
        )
    }

    fn destroyed(
        state: &mut State,
        client: smithay::reexports::wayland_server::backend::ClientId,
        subsurface: &WlSubsurface,
        data: &SubsurfaceUserData,
    ) {
        <CompositorState as Dispatch<WlSubsurface, SubsurfaceUserData, State>>::destroyed(
            state, client, subsurface, data,
        )
    }
}
