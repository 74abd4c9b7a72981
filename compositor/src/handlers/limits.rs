//! The requests that create or grow something, checked against
//! `crate::limits` before Smithay sees them. Each `Dispatch` here checks,
//! counts, and forwards to Smithay's own implementation; `destroyed`
//! forwards too, and gives the count back.
//!
//! What Smithay already validates (wl_shm buffer sizes and strides against
//! their pool, negative pool sizes at creation, xdg sizes) is left to it;
//! what it does not is here: pools larger than their file or than any
//! output needs, a pool resized to zero (Smithay panics on it), and every
//! count that would otherwise grow with the client's requests.

use std::os::fd::AsFd as _;

use smithay::input::SeatState;
use smithay::reexports::rustix;
use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::{
    wl_buffer::WlBuffer,
    wl_compositor::{self, WlCompositor},
    wl_data_source::{self, WlDataSource},
    wl_keyboard::WlKeyboard,
    wl_pointer::WlPointer,
    wl_region::{self, WlRegion},
    wl_seat::{self, WlSeat},
    wl_shm::{self, WlShm},
    wl_shm_pool::{self, WlShmPool},
    wl_surface::{self, WlSurface},
    wl_touch::WlTouch,
};
use smithay::reexports::wayland_server::{Client, DataInit, Dispatch, DisplayHandle, Resource};
use smithay::wayland::compositor::{
    is_sync_subsurface, CompositorState, RegionUserData, SurfaceUserData,
};
use smithay::wayland::seat::{KeyboardUserData, PointerUserData, SeatUserData, TouchUserData};
use smithay::wayland::selection::data_device::{
    with_source_metadata, DataDeviceState, DataSourceUserData,
};
use smithay::wayland::shm::{with_buffer_contents, ShmBufferUserData, ShmPoolUserData, ShmState};

use crate::limits::{self, Counted, SurfaceRequest, SurfaceVerdict, MAX_POOL_BYTES};
use crate::state::{ClientState, State};

/// The client's counters, if it is one of ours.
fn counters(client: &Client) -> Option<&limits::ClientLimits> {
    client.get_data::<ClientState>().map(|data| &data.limits)
}

/// Room for one more `what`: count it and say yes, or disconnect the client
/// and say no.
fn take(dh: &DisplayHandle, client: &Client, what: Counted) -> bool {
    let Some(counters) = counters(client) else {
        return true;
    };
    if counters.has_room(what) {
        counters.add(what);
        true
    } else {
        limits::disconnect(dh, client, &limits::describe(what));
        false
    }
}

/// Give one `what` back, from `destroyed` (which only has the client's id).
fn give_back(state: &State, client: &ClientId, what: Counted) {
    if let Some(data) = limits::client_state(&state.pal.display_handle, client) {
        data.limits.remove(what);
    }
}

/// Why a pool of `size` bytes on `fd` is refused, if it is.
fn refuse_pool(fd: std::os::fd::BorrowedFd<'_>, size: i32) -> Option<String> {
    if size > MAX_POOL_BYTES {
        return Some(format!(
            "at most {MAX_POOL_BYTES} bytes per wl_shm pool (asked for {size})"
        ));
    }
    // Smithay maps whatever size it is told. Reading past the end of the
    // file would fault; Smithay catches that, but a pool larger than its file
    // is a lie we can refuse at once.
    match rustix::fs::fstat(fd) {
        Ok(stat) if stat.st_size < i64::from(size) => Some(format!(
            "wl_shm pool of {size} bytes is larger than its file ({} bytes)",
            stat.st_size
        )),
        // Not a file we can stat: Smithay's mmap decides.
        _ => None,
    }
}

impl Dispatch<WlShm, ()> for State {
    fn request(
        state: &mut State,
        client: &Client,
        shm: &WlShm,
        request: wl_shm::Request,
        data: &(),
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        if let wl_shm::Request::CreatePool { fd, size, .. } = &request {
            // Smithay answers a size of zero or less itself.
            if *size > 0 {
                if let Some(why) = refuse_pool(fd.as_fd(), *size) {
                    limits::post_error(dh, shm, wl_shm::Error::InvalidFd as u32, &why);
                    return;
                }
            }
            if !take(dh, client, Counted::Pools) {
                return;
            }
        }
        <ShmState as Dispatch<WlShm, (), State>>::request(
            state, client, shm, request, data, dh, data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, shm: &WlShm, data: &()) {
        <ShmState as Dispatch<WlShm, (), State>>::destroyed(state, client, shm, data)
    }
}

impl Dispatch<WlShmPool, ShmPoolUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        pool: &WlShmPool,
        request: wl_shm_pool::Request,
        data: &ShmPoolUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        match &request {
            wl_shm_pool::Request::Resize { size } => {
                // Smithay posts an error for a size of zero or less but then
                // goes on, and panics on zero.
                let code = wl_shm::Error::InvalidFd as u32;
                if *size <= 0 {
                    let why = format!("a wl_shm pool resized to {size} bytes");
                    limits::reject(dh, pool, code, &why);
                    return;
                }
                if *size > MAX_POOL_BYTES {
                    let why = format!(
                        "at most {MAX_POOL_BYTES} bytes per wl_shm pool (asked for {size})"
                    );
                    limits::post_error(dh, pool, code, &why);
                    return;
                }
            }
            wl_shm_pool::Request::CreateBuffer { height, stride, .. } => {
                // Smithay refuses a size of zero or less; count what it takes.
                let bytes = u64::try_from(i64::from(*stride) * i64::from(*height)).unwrap_or(0);
                if let Some(counters) = counters(client) {
                    if !counters.add_shm_bytes(bytes) {
                        let limit = format!(
                            "at most {} bytes of wl_shm buffers per client",
                            limits::MAX_SHM_BUFFER_BYTES
                        );
                        limits::disconnect(dh, client, &limit);
                        return;
                    }
                }
                if !take(dh, client, Counted::ShmBuffers) {
                    return;
                }
            }
            _ => {}
        }
        <ShmState as Dispatch<WlShmPool, ShmPoolUserData, State>>::request(
            state, client, pool, request, data, dh, data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, pool: &WlShmPool, data: &ShmPoolUserData) {
        give_back(state, &client, Counted::Pools);
        <ShmState as Dispatch<WlShmPool, ShmPoolUserData, State>>::destroyed(
            state, client, pool, data,
        )
    }
}

impl Dispatch<WlBuffer, ShmBufferUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        buffer: &WlBuffer,
        request: <WlBuffer as Resource>::Request,
        data: &ShmBufferUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        <ShmState as Dispatch<WlBuffer, ShmBufferUserData, State>>::request(
            state, client, buffer, request, data, dh, data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, buffer: &WlBuffer, data: &ShmBufferUserData) {
        give_back(state, &client, Counted::ShmBuffers);
        // Its size, from Smithay's record of it (nothing of the memory is read).
        let bytes = with_buffer_contents(buffer, |_, _, d| {
            u64::try_from(i64::from(d.stride) * i64::from(d.height)).unwrap_or(0)
        });
        if let (Ok(bytes), Some(data)) = (
            bytes,
            limits::client_state(&state.pal.display_handle, &client),
        ) {
            data.limits.remove_shm_bytes(bytes);
        }
        <ShmState as Dispatch<WlBuffer, ShmBufferUserData, State>>::destroyed(
            state, client, buffer, data,
        )
    }
}

impl Dispatch<WlCompositor, ()> for State {
    fn request(
        state: &mut State,
        client: &Client,
        compositor: &WlCompositor,
        request: wl_compositor::Request,
        data: &(),
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        if let wl_compositor::Request::CreateSurface { .. } = &request {
            if !take(dh, client, Counted::Surfaces) {
                return;
            }
        }
        <CompositorState as Dispatch<WlCompositor, (), State>>::request(
            state, client, compositor, request, data, dh, data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, compositor: &WlCompositor, data: &()) {
        <CompositorState as Dispatch<WlCompositor, (), State>>::destroyed(
            state, client, compositor, data,
        )
    }
}

impl Dispatch<WlSurface, SurfaceUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        surface: &WlSurface,
        request: wl_surface::Request,
        data: &SurfaceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        let counted = match &request {
            wl_surface::Request::Frame { .. } => Some(SurfaceRequest::Frame),
            wl_surface::Request::Damage { .. } | wl_surface::Request::DamageBuffer { .. } => {
                Some(SurfaceRequest::Damage)
            }
            wl_surface::Request::Commit => Some(SurfaceRequest::Commit {
                sync: is_sync_subsurface(surface),
            }),
            _ => None,
        };
        match counted.map(|r| limits::count_surface_request(surface, r)) {
            None | Some(SurfaceVerdict::Forward) => {}
            Some(SurfaceVerdict::Drop | SurfaceVerdict::WholeDamage) => return,
            Some(SurfaceVerdict::Disconnect(limit)) => {
                limits::disconnect(dh, client, &limit);
                return;
            }
        }
        <CompositorState as Dispatch<WlSurface, SurfaceUserData, State>>::request(
            state,
            client,
            surface,
            clamp_surface_request(request),
            data,
            dh,
            data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, surface: &WlSurface, data: &SurfaceUserData) {
        give_back(state, &client, Counted::Surfaces);
        <CompositorState as Dispatch<WlSurface, SurfaceUserData, State>>::destroyed(
            state, client, surface, data,
        )
    }
}

/// Offsets and damage within ±`limits::MAX_COORDINATE` (see there). A
/// damage rectangle of negative size becomes an empty one: the protocol does
/// not forbid it, and Smithay's `Size` asserts on it.
fn clamp_surface_request(request: wl_surface::Request) -> wl_surface::Request {
    use limits::clamp;
    let size = |v: i32| v.clamp(0, limits::MAX_COORDINATE);
    use wl_surface::Request as R;
    match request {
        R::Attach { buffer, x, y } => R::Attach {
            buffer,
            x: clamp(x),
            y: clamp(y),
        },
        R::Offset { x, y } => R::Offset {
            x: clamp(x),
            y: clamp(y),
        },
        R::Damage {
            x,
            y,
            width,
            height,
        } => R::Damage {
            x: clamp(x),
            y: clamp(y),
            width: size(width),
            height: size(height),
        },
        R::DamageBuffer {
            x,
            y,
            width,
            height,
        } => R::DamageBuffer {
            x: clamp(x),
            y: clamp(y),
            width: size(width),
            height: size(height),
        },
        other => other,
    }
}

impl Dispatch<WlRegion, RegionUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        region: &WlRegion,
        request: wl_region::Request,
        data: &RegionUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        if matches!(
            request,
            wl_region::Request::Add { .. } | wl_region::Request::Subtract { .. }
        ) {
            if let Some(counters) = counters(client) {
                if !counters.add_region_rect(region.id()) {
                    let limit =
                        format!("at most {} rectangles per region", limits::MAX_REGION_RECTS);
                    limits::disconnect(dh, client, &limit);
                    return;
                }
            }
        }
        // Like damage: clamped, and a negative size is an empty rectangle.
        let size = |v: i32| v.clamp(0, limits::MAX_COORDINATE);
        let request = match request {
            wl_region::Request::Add {
                x,
                y,
                width,
                height,
            } => wl_region::Request::Add {
                x: limits::clamp(x),
                y: limits::clamp(y),
                width: size(width),
                height: size(height),
            },
            wl_region::Request::Subtract {
                x,
                y,
                width,
                height,
            } => wl_region::Request::Subtract {
                x: limits::clamp(x),
                y: limits::clamp(y),
                width: size(width),
                height: size(height),
            },
            other => other,
        };
        <CompositorState as Dispatch<WlRegion, RegionUserData, State>>::request(
            state, client, region, request, data, dh, data_init,
        )
    }

    fn destroyed(state: &mut State, client: ClientId, region: &WlRegion, data: &RegionUserData) {
        if let Some(client_state) = limits::client_state(&state.pal.display_handle, &client) {
            client_state.limits.region_destroyed(&region.id());
        }
        <CompositorState as Dispatch<WlRegion, RegionUserData, State>>::destroyed(
            state, client, region, data,
        )
    }
}

impl Dispatch<WlSeat, SeatUserData<State>> for State {
    fn request(
        state: &mut State,
        client: &Client,
        seat: &WlSeat,
        request: wl_seat::Request,
        data: &SeatUserData<State>,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        let creates = matches!(
            request,
            wl_seat::Request::GetPointer { .. }
                | wl_seat::Request::GetKeyboard { .. }
                | wl_seat::Request::GetTouch { .. }
        );
        if creates && !take(dh, client, Counted::SeatDevices) {
            return;
        }
        <SeatState<State> as Dispatch<WlSeat, SeatUserData<State>, State>>::request(
            state, client, seat, request, data, dh, data_init,
        )
    }

    // Smithay forgets the seat object here; without it every bind stays in
    // its list for good (the connect/disconnect test caught that).
    fn destroyed(state: &mut State, client: ClientId, seat: &WlSeat, data: &SeatUserData<State>) {
        <SeatState<State> as Dispatch<WlSeat, SeatUserData<State>, State>>::destroyed(
            state, client, seat, data,
        )
    }
}

/// A seat device: forwarded as is, its count given back when it goes.
macro_rules! seat_device {
    ($interface:ty, $data:ty) => {
        impl Dispatch<$interface, $data> for State {
            fn request(
                state: &mut State,
                client: &Client,
                resource: &$interface,
                request: <$interface as Resource>::Request,
                data: &$data,
                dh: &DisplayHandle,
                data_init: &mut DataInit<'_, State>,
            ) {
                <SeatState<State> as Dispatch<$interface, $data, State>>::request(
                    state, client, resource, request, data, dh, data_init,
                )
            }

            fn destroyed(state: &mut State, client: ClientId, resource: &$interface, data: &$data) {
                give_back(state, &client, Counted::SeatDevices);
                <SeatState<State> as Dispatch<$interface, $data, State>>::destroyed(
                    state, client, resource, data,
                )
            }
        }
    };
}

seat_device!(WlPointer, PointerUserData<State>);
seat_device!(WlKeyboard, KeyboardUserData<State>);
seat_device!(WlTouch, TouchUserData<State>);

impl Dispatch<WlDataSource, DataSourceUserData> for State {
    fn request(
        state: &mut State,
        client: &Client,
        source: &WlDataSource,
        request: wl_data_source::Request,
        data: &DataSourceUserData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, State>,
    ) {
        if let wl_data_source::Request::Offer { .. } = &request {
            let offered = with_source_metadata(source, |meta| meta.mime_types.len()).unwrap_or(0);
            if offered >= limits::MAX_MIME_TYPES {
                let limit = format!(
                    "at most {} MIME types per data source",
                    limits::MAX_MIME_TYPES
                );
                limits::disconnect(dh, client, &limit);
                return;
            }
        }
        <DataDeviceState as Dispatch<WlDataSource, DataSourceUserData, State>>::request(
            state, client, source, request, data, dh, data_init,
        )
    }

    fn destroyed(
        state: &mut State,
        client: ClientId,
        source: &WlDataSource,
        data: &DataSourceUserData,
    ) {
        <DataDeviceState as Dispatch<WlDataSource, DataSourceUserData, State>>::destroyed(
            state, client, source, data,
        )
    }
}
