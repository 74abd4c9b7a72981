//! Every global the compositor offers, gated by the client's identity.
//!
//! Smithay's `delegate_*!` macros implement `GlobalDispatch` with the default
//! `can_view` (everyone sees everything). Here each global's `GlobalDispatch`
//! is written out instead: `bind` forwards to Smithay's implementation and
//! `can_view` asks the policy the client was given when it was inserted
//! (`ClientState::globals`). `can_view` is libwayland-server's global
//! filter, which applies both to the registry it advertises and to
//! `wl_registry.bind`, so a client cannot bind a global it was not shown by
//! guessing its name (`tests/policy.rs` checks it).
//!
//! The requests on the objects those globals create are delegated to Smithay
//! unchanged, with `delegate_dispatch!` (the same lists the `delegate_*!`
//! macros contain).

use palisade_protocols::Global;
use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::input::SeatState;
use smithay::reexports::wayland_protocols::wp::cursor_shape::v1::server::{
    wp_cursor_shape_device_v1::WpCursorShapeDeviceV1,
    wp_cursor_shape_manager_v1::WpCursorShapeManagerV1,
};
use smithay::reexports::wayland_protocols::wp::fractional_scale::v1::server::{
    wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1,
    wp_fractional_scale_v1::WpFractionalScaleV1,
};
use smithay::reexports::wayland_protocols::wp::idle_inhibit::zv1::server::{
    zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1, zwp_idle_inhibitor_v1::ZwpIdleInhibitorV1,
};
use smithay::reexports::wayland_protocols::wp::keyboard_shortcuts_inhibit::zv1::server::{
    zwp_keyboard_shortcuts_inhibit_manager_v1::ZwpKeyboardShortcutsInhibitManagerV1,
    zwp_keyboard_shortcuts_inhibitor_v1::ZwpKeyboardShortcutsInhibitorV1,
};
use smithay::reexports::wayland_protocols::wp::linux_dmabuf::zv1::server::{
    zwp_linux_buffer_params_v1::ZwpLinuxBufferParamsV1, zwp_linux_dmabuf_feedback_v1,
    zwp_linux_dmabuf_v1::ZwpLinuxDmabufV1,
};
use smithay::reexports::wayland_protocols::wp::presentation_time::server::{
    wp_presentation::WpPresentation, wp_presentation_feedback::WpPresentationFeedback,
};
use smithay::reexports::wayland_protocols::wp::viewporter::server::{
    wp_viewport::WpViewport, wp_viewporter::WpViewporter,
};
use smithay::reexports::wayland_protocols::xdg::decoration::zv1::server::{
    zxdg_decoration_manager_v1::ZxdgDecorationManagerV1,
    zxdg_toplevel_decoration_v1::ZxdgToplevelDecorationV1,
};
use smithay::reexports::wayland_protocols::xdg::shell::server::{
    xdg_popup::XdgPopup, xdg_wm_base::XdgWmBase,
};
use smithay::reexports::wayland_protocols::xdg::xdg_output::zv1::server::{
    zxdg_output_manager_v1::ZxdgOutputManagerV1, zxdg_output_v1::ZxdgOutputV1,
};
use smithay::reexports::wayland_server::protocol::{
    wl_buffer::WlBuffer, wl_callback::WlCallback, wl_compositor::WlCompositor,
    wl_data_device::WlDataDevice, wl_data_device_manager::WlDataDeviceManager, wl_output::WlOutput,
    wl_seat::WlSeat, wl_shm::WlShm, wl_subcompositor::WlSubcompositor, wl_surface::WlSurface,
};
use smithay::reexports::wayland_server::{
    delegate_dispatch, Client, DataInit, DisplayHandle, GlobalDispatch, New, Weak,
};
use smithay::wayland::compositor::CompositorState;
use smithay::wayland::cursor_shape::{CursorShapeDeviceUserData, CursorShapeManagerState};
use smithay::wayland::dmabuf::{
    DmabufData, DmabufFeedbackData, DmabufGlobalData, DmabufParamsData, DmabufState,
};
use smithay::wayland::fractional_scale::FractionalScaleManagerState;
use smithay::wayland::idle_inhibit::inhibitor::IdleInhibitorState;
use smithay::wayland::idle_inhibit::IdleInhibitManagerState;
use smithay::wayland::keyboard_shortcuts_inhibit::{
    KeyboardShortcutsInhibitState, KeyboardShortcutsInhibitorUserData,
};
use smithay::wayland::output::{
    OutputManagerState, OutputUserData, WlOutputData, XdgOutputUserData,
};
use smithay::wayland::presentation::{PresentationFeedbackState, PresentationState};
use smithay::wayland::seat::SeatGlobalData;
use smithay::wayland::selection::data_device::{DataDeviceState, DataDeviceUserData};
use smithay::wayland::shell::xdg::decoration::{
    XdgDecorationManagerGlobalData, XdgDecorationState,
};
use smithay::wayland::shell::xdg::{
    ToplevelSurface, XdgShellState, XdgShellSurfaceUserData, XdgWmBaseUserData,
};
use smithay::wayland::shm::ShmState;
use smithay::wayland::viewporter::{ViewportState, ViewporterState};

use crate::state::{ClientState, State};

/// Whether `client` may see (and bind) `global`. Clients are always inserted
/// with a `ClientState`; anything else sees nothing.
pub fn visible(client: &Client, global: Global) -> bool {
    client
        .get_data::<ClientState>()
        .is_some_and(|data| data.globals.contains(global))
}

/// `GlobalDispatch` for one global: Smithay binds it, the policy decides who
/// sees it.
macro_rules! gated {
    ($interface:ty: $data:ty => $smithay:ty, $global:expr) => {
        impl GlobalDispatch<$interface, $data> for State {
            fn bind(
                state: &mut State,
                handle: &DisplayHandle,
                client: &Client,
                resource: New<$interface>,
                global_data: &$data,
                data_init: &mut DataInit<'_, State>,
            ) {
                <$smithay as GlobalDispatch<$interface, $data, State>>::bind(
                    state,
                    handle,
                    client,
                    resource,
                    global_data,
                    data_init,
                )
            }

            fn can_view(client: Client, _global_data: &$data) -> bool {
                visible(&client, $global)
            }
        }
    };
}

gated!(WlCompositor: () => CompositorState, Global::Compositor);
gated!(WlSubcompositor: () => CompositorState, Global::Subcompositor);
// WlCompositor: (): checked against the limits in limits.rs, then Smithay's.
// WlSurface: SurfaceUserData: checked against the limits in limits.rs, then Smithay's.
// WlRegion: RegionUserData: checked against the limits in limits.rs, then Smithay's.
delegate_dispatch!(State: [WlCallback: ()] => CompositorState);
delegate_dispatch!(State: [WlSubcompositor: ()] => CompositorState);
// WlSubsurface: SubsurfaceUserData: coordinates clamped in validate.rs, then Smithay's.

gated!(WlShm: () => ShmState, Global::Shm);
// WlShm: (): checked against the limits in limits.rs, then Smithay's.
// WlShmPool: ShmPoolUserData: checked against the limits in limits.rs, then Smithay's.
// WlBuffer: ShmBufferUserData: checked against the limits in limits.rs, then Smithay's.

gated!(XdgWmBase: () => XdgShellState, Global::XdgWmBase);
delegate_dispatch!(State: [XdgWmBase: XdgWmBaseUserData] => XdgShellState);
// XdgPositioner: XdgPositionerUserData: coordinates clamped in validate.rs, then Smithay's.
delegate_dispatch!(State: [XdgPopup: XdgShellSurfaceUserData] => XdgShellState);
// XdgSurface: XdgSurfaceUserData: sizes checked in validate.rs, then Smithay's.
// XdgToplevel: XdgShellSurfaceUserData: sizes checked in validate.rs, then Smithay's.

gated!(ZxdgDecorationManagerV1: XdgDecorationManagerGlobalData => XdgDecorationState, Global::XdgDecoration);
delegate_dispatch!(State: [ZxdgDecorationManagerV1: ()] => XdgDecorationState);
delegate_dispatch!(State: [ZxdgToplevelDecorationV1: ToplevelSurface] => XdgDecorationState);

gated!(WlSeat: SeatGlobalData<State> => SeatState<State>, Global::Seat);
// WlSeat: SeatUserData<State>: checked against the limits in limits.rs, then Smithay's.
// WlPointer: PointerUserData<State>: checked against the limits in limits.rs, then Smithay's.
// WlKeyboard: KeyboardUserData<State>: checked against the limits in limits.rs, then Smithay's.
// WlTouch: TouchUserData<State>: checked against the limits in limits.rs, then Smithay's.

gated!(WlOutput: WlOutputData => OutputManagerState, Global::Output);
gated!(ZxdgOutputManagerV1: () => OutputManagerState, Global::XdgOutput);
delegate_dispatch!(State: [WlOutput: OutputUserData] => OutputManagerState);
delegate_dispatch!(State: [ZxdgOutputV1: XdgOutputUserData] => OutputManagerState);
delegate_dispatch!(State: [ZxdgOutputManagerV1: ()] => OutputManagerState);

gated!(WlDataDeviceManager: () => DataDeviceState, Global::DataDevice);
delegate_dispatch!(State: [WlDataDeviceManager: ()] => DataDeviceState);
delegate_dispatch!(State: [WlDataDevice: DataDeviceUserData] => DataDeviceState);
// WlDataSource: DataSourceUserData: checked against the limits in limits.rs, then Smithay's.

gated!(WpViewporter: () => ViewporterState, Global::Viewporter);
delegate_dispatch!(State: [WpViewporter: ()] => ViewporterState);
delegate_dispatch!(State: [WpViewport: ViewportState] => ViewportState);

gated!(WpFractionalScaleManagerV1: () => FractionalScaleManagerState, Global::FractionalScale);
delegate_dispatch!(State: [WpFractionalScaleManagerV1: ()] => FractionalScaleManagerState);
delegate_dispatch!(State: [WpFractionalScaleV1: Weak<WlSurface>] => FractionalScaleManagerState);

gated!(WpPresentation: u32 => PresentationState, Global::Presentation);
delegate_dispatch!(State: [WpPresentation: u32] => PresentationState);
delegate_dispatch!(State: [WpPresentationFeedback: ()] => PresentationFeedbackState);

gated!(WpCursorShapeManagerV1: () => CursorShapeManagerState, Global::CursorShape);
delegate_dispatch!(State: [WpCursorShapeManagerV1: ()] => CursorShapeManagerState);
delegate_dispatch!(State: [WpCursorShapeDeviceV1: CursorShapeDeviceUserData<State>] => CursorShapeManagerState);

gated!(ZwpKeyboardShortcutsInhibitManagerV1: () => KeyboardShortcutsInhibitState, Global::KeyboardShortcutsInhibit);
delegate_dispatch!(State: [ZwpKeyboardShortcutsInhibitManagerV1: ()] => KeyboardShortcutsInhibitState);
delegate_dispatch!(State: [ZwpKeyboardShortcutsInhibitorV1: KeyboardShortcutsInhibitorUserData] => KeyboardShortcutsInhibitState);

gated!(ZwpIdleInhibitManagerV1: () => IdleInhibitManagerState, Global::IdleInhibit);
delegate_dispatch!(State: [ZwpIdleInhibitManagerV1: ()] => IdleInhibitManagerState);
delegate_dispatch!(State: [ZwpIdleInhibitorV1: IdleInhibitorState] => IdleInhibitManagerState);

gated!(ZwpLinuxDmabufV1: DmabufGlobalData => DmabufState, Global::LinuxDmabuf);
delegate_dispatch!(State: [ZwpLinuxDmabufV1: DmabufData] => DmabufState);
delegate_dispatch!(State: [ZwpLinuxBufferParamsV1: DmabufParamsData] => DmabufState);
delegate_dispatch!(State: [WlBuffer: Dmabuf] => DmabufState);
delegate_dispatch!(State: [zwp_linux_dmabuf_feedback_v1::ZwpLinuxDmabufFeedbackV1: DmabufFeedbackData] => DmabufState);
