//! Wayland protocol handlers: one file per protocol where there is logic,
//! the rest here. Every global the compositor offers is created in
//! `Palisade::new` and gated per identity in `globals.rs`; there is
//! deliberately no Xwayland, layer-shell, session-lock, screencopy,
//! data-control or virtual input anywhere.

mod compositor;
mod globals;
mod keyboard_shortcuts_inhibit;
mod limits;
mod validate;
mod xdg_shell;

use smithay::backend::allocator::dmabuf::Dmabuf;
use smithay::input::pointer::CursorImageStatus;
use smithay::input::{Seat, SeatHandler, SeatState};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::dmabuf::{DmabufGlobal, DmabufHandler, DmabufState, ImportNotifier};
use smithay::wayland::fractional_scale::{with_fractional_scale, FractionalScaleHandler};
use smithay::wayland::output::OutputHandler;
use smithay::wayland::selection::data_device::{
    DataDeviceHandler, DataDeviceState, ServerDndGrabHandler,
};
use smithay::wayland::selection::{SelectionHandler, SelectionSource, SelectionTarget};
use smithay::wayland::tablet_manager::TabletSeatHandler;
use std::os::fd::OwnedFd;

use crate::state::State;

impl SeatHandler for State {
    type KeyboardFocus = WlSurface;
    type PointerFocus = WlSurface;
    type TouchFocus = WlSurface;

    fn seat_state(&mut self) -> &mut SeatState<State> {
        &mut self.pal.protocols.seat_state
    }

    fn cursor_image(&mut self, _seat: &Seat<Self>, image: CursorImageStatus) {
        // Whether it shows is the stack's decision (`crate::stack`).
        self.pal.input.set_cursor_image(image);
        if let Some(output) = self.pal.active_output() {
            self.pal.queue_redraw(&output);
        }
    }

    fn focus_changed(&mut self, _seat: &Seat<Self>, focused: Option<&WlSurface>) {
        // The clipboard follows keyboard focus, within the owner's identity.
        let client = focused.and_then(|s| self.pal.display_handle.get_client(s.id()).ok());
        self.pal.clipboard_focus_changed(client);
    }
}

impl TabletSeatHandler for State {}

impl SelectionHandler for State {
    /// The id of the clipboard transfer a compositor-owned selection carries.
    type SelectionUserData = u64;

    fn new_selection(
        &mut self,
        ty: SelectionTarget,
        source: Option<SelectionSource>,
        _: Seat<Self>,
    ) {
        if self.pal.lock.is_locked() {
            // Nobody has keyboard focus while locked, so Smithay refuses
            // already; whatever focus a client might hold, a selection set
            // now is cleared again the moment Smithay has installed it, and
            // its source is cancelled.
            tracing::warn!("a selection set while locked: cleared");
            self.pal.loop_handle.insert_idle(|state: &mut State| {
                if state.pal.lock.is_locked() {
                    smithay::wayland::selection::data_device::clear_data_device_selection(
                        &state.pal.display_handle,
                        &state.pal.seat,
                    );
                }
            });
            return;
        }
        if ty == SelectionTarget::Clipboard {
            self.pal
                .clipboard_new_selection(source.map(|s| s.mime_types()));
        }
    }

    fn send_selection(
        &mut self,
        ty: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
        _: Seat<Self>,
        transfer: &u64,
    ) {
        if ty == SelectionTarget::Clipboard {
            self.pal.clipboard_send(*transfer, &mime_type, fd);
        }
    }
}

impl DataDeviceHandler for State {
    fn data_device_state(&self) -> &DataDeviceState {
        &self.pal.protocols.data_device_state
    }
}
impl ServerDndGrabHandler for State {}

impl OutputHandler for State {}

impl FractionalScaleHandler for State {
    fn new_fractional_scale(&mut self, surface: WlSurface) {
        // Tell the client the scale of the output it is on (or the first
        // output) so it can render sharp from its very first buffer.
        let scale = self
            .pal
            .shell
            .windows()
            .iter()
            .find(|m| m.window.toplevel().map(|t| t.wl_surface()) == Some(&surface))
            .and_then(|m| self.pal.output_by_name(&m.output).cloned())
            .or_else(|| self.pal.active_output())
            .map(|o| o.current_scale().fractional_scale())
            .unwrap_or(1.0);
        smithay::wayland::compositor::with_states(&surface, |states| {
            with_fractional_scale(states, |fs| fs.set_preferred_scale(scale));
        });
    }
}

impl DmabufHandler for State {
    fn dmabuf_state(&mut self) -> &mut DmabufState {
        &mut self
            .pal
            .protocols
            .dmabuf
            .as_mut()
            .expect("the dmabuf global exists only together with its state")
            .0
    }

    fn dmabuf_imported(
        &mut self,
        _global: &DmabufGlobal,
        dmabuf: Dmabuf,
        notifier: ImportNotifier,
    ) {
        if self.backend.import_dmabuf(&dmabuf) {
            let _ = notifier.successful::<State>();
        } else {
            notifier.failed();
        }
    }
}
