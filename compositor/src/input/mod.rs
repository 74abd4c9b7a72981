//! Input routing. Every key is routed by [`keys::route_key`] before any
//! client sees it; the pointer goes where the output's stack
//! (`crate::stack`) says, filtered by what a running drag or popup grab
//! allows (`pointer.rs`). Every event first brings the keyboard in line
//! with the focus value (`State::sync_focus`) and does so again after it
//! ran, so a focus change never waits for the next loop iteration.
//! Backends feed `process_input_event` (libinput, winit); the headless
//! backend and the scenario runner call the `handle_*` methods directly.

pub mod bindings;
pub mod keys;
mod pointer;
pub mod typing;

use smithay::backend::input::{
    AbsolutePositionEvent, Axis, AxisSource, ButtonState, Event, InputBackend, InputEvent,
    KeyState, KeyboardKeyEvent, PointerAxisEvent, PointerButtonEvent, PointerMotionEvent,
};
use smithay::input::keyboard::{xkb, FilterResult, Keycode};
use smithay::input::pointer::{AxisFrame, CursorImageStatus};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::utils::{Logical, Point, Rectangle, SERIAL_COUNTER};

use crate::state::State;
pub use bindings::{match_binding, vt_number, Action};
pub use keys::{route_key, KeyContext, KeyRoute, PasswordEdit, SuppressedKeys};
pub use typing::TypingMap;

/// What input routing keeps between events.
#[derive(Debug)]
pub struct InputState {
    suppressed: SuppressedKeys,
    pointer: Point<f64, Logical>,
    /// The compositor's own cursor is drawn once the pointer has moved.
    cursor_visible: bool,
    /// What the pointer's client last asked the cursor to be; whether it is
    /// shown is the stack's decision.
    cursor: CursorImageStatus,
    drag: Option<Drag>,
    /// What the outputs show changed since the pointer's surface was last
    /// decided (see `State::refresh`).
    stack_changed: bool,
}

/// A client's drag under way.
#[derive(Debug, Clone)]
struct Drag {
    /// The identity of the drag's source; None: a drag without a source,
    /// which Smithay keeps inside its own client.
    identity: Option<String>,
    icon: Option<WlSurface>,
}

impl Default for InputState {
    fn default() -> Self {
        InputState {
            suppressed: SuppressedKeys::default(),
            pointer: (0.0, 0.0).into(),
            cursor_visible: false,
            cursor: CursorImageStatus::default_named(),
            drag: None,
            stack_changed: false,
        }
    }
}

impl InputState {
    pub fn pointer_location(&self) -> Point<f64, Logical> {
        self.pointer
    }

    pub fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }

    pub fn cursor_image(&self) -> &CursorImageStatus {
        &self.cursor
    }

    pub fn set_cursor_image(&mut self, image: CursorImageStatus) {
        self.cursor = image;
    }

    /// A drag began; its icon is drawn at the pointer (cropped, never while
    /// locked) until it ends.
    pub fn drag_started(&mut self, identity: Option<String>, icon: Option<WlSurface>) {
        self.drag = Some(Drag { identity, icon });
    }

    pub fn drag_ended(&mut self) {
        self.drag = None;
    }

    /// The identity whose drag runs, if one does.
    pub fn drag_identity(&self) -> Option<&str> {
        self.drag.as_ref()?.identity.as_deref()
    }

    pub fn dragging(&self) -> bool {
        self.drag.is_some()
    }

    pub fn drag_icon(&self) -> Option<&WlSurface> {
        self.drag.as_ref()?.icon.as_ref().filter(|s| s.is_alive())
    }

    /// After an output went away: a pointer left outside every output moves
    /// to the middle of `first`.
    pub fn keep_pointer_on(&mut self, shell: &crate::shell::Shell, first: Rectangle<i32, Logical>) {
        if shell.space().output_under(self.pointer).next().is_none() {
            self.pointer = first.loc.to_f64()
                + Point::from((first.size.w as f64 / 2.0, first.size.h as f64 / 2.0));
        }
    }

    pub fn mark_stack_changed(&mut self) {
        self.stack_changed = true;
    }

    pub fn take_stack_changed(&mut self) -> bool {
        std::mem::take(&mut self.stack_changed)
    }

    /// Keys whose press the compositor took and whose release it waits for.
    pub fn suppressed(&self) -> &SuppressedKeys {
        &self.suppressed
    }
}

impl State {
    pub fn process_input_event<I: InputBackend>(&mut self, event: InputEvent<I>) {
        match event {
            InputEvent::Keyboard { event } => {
                let pressed = event.state() == KeyState::Pressed;
                self.handle_key(event.key_code(), pressed, event.time_msec());
            }
            InputEvent::PointerMotion { event } => {
                let pos = self.pal.input.pointer + event.delta();
                self.handle_pointer_motion(pos, event.time_msec());
            }
            InputEvent::PointerMotionAbsolute { event } => {
                // Absolute devices (the nested window) map onto the first output.
                let Some(geo) =
                    (self.pal.outputs.first()).and_then(|o| self.pal.output_geometry(&o.output))
                else {
                    return;
                };
                let pos = event.position_transformed(geo.size) + geo.loc.to_f64();
                self.handle_pointer_motion(pos, event.time_msec());
            }
            InputEvent::PointerButton { event } => {
                let pressed = event.state() == ButtonState::Pressed;
                self.handle_button(event.button_code(), pressed, event.time_msec());
            }
            InputEvent::PointerAxis { event } => {
                let mut frame = AxisFrame::new(event.time_msec()).source(event.source());
                for axis in [Axis::Horizontal, Axis::Vertical] {
                    let amount = event
                        .amount(axis)
                        .or_else(|| event.amount_v120(axis).map(|v| v * 15.0 / 120.0));
                    if let Some(amount) = amount {
                        frame = frame.value(axis, amount);
                        if let Some(v120) = event.amount_v120(axis) {
                            frame = frame.v120(axis, v120 as i32);
                        }
                    } else if event.source() == AxisSource::Finger {
                        frame = frame.stop(axis);
                    }
                }
                self.handle_axis(frame);
            }
            _ => {}
        }
    }

    /// A key, as an xkb keycode (evdev + 8).
    pub fn handle_key(&mut self, keycode: Keycode, pressed: bool, time: u32) {
        let woke = self.note_input();
        // A lock or focus change the previous event asked for takes effect
        // before this key is routed.
        self.sync_focus();
        let Some(keyboard) = self.pal.seat.get_keyboard() else {
            return;
        };
        // Before the key reaches anyone: a press ends a paste of a clipboard
        // transfer, and focus changes until the end are the user's.
        self.pal.clipboard_input_begins(pressed);
        let serial = SERIAL_COUNTER.next_serial();
        let focus = keyboard.current_focus();
        let inhibited = self.pal.shortcuts_inhibited(focus.as_ref());
        let locked = self.pal.lock.is_locked();
        let state = match pressed {
            true => KeyState::Pressed,
            false => KeyState::Released,
        };
        let route = keyboard.input(self, keycode, state, serial, time, |state, mods, handle| {
            let raw_syms = handle.raw_syms();
            let key = KeyContext {
                config: &state.pal.config,
                code: keycode.raw(),
                pressed,
                mods: *mods,
                raw_syms: &raw_syms,
                sym: handle.modified_sym(),
                locked,
                inhibited,
                woke,
            };
            match route_key(&mut state.pal.input.suppressed, &key) {
                KeyRoute::Forward => FilterResult::Forward,
                route => FilterResult::Intercept(route),
            }
        });
        match route {
            None if pressed => {
                // The focused client got this press: a grab may carry it.
                if let Some(client) = focus.and_then(|s| s.client()) {
                    self.pal.focus.note_press(&client.id(), serial);
                }
            }
            Some(KeyRoute::Run(action)) => self.run_action(action),
            Some(KeyRoute::Password(edit)) => self.pal.edit_password(edit),
            _ => {}
        }
        self.sync_focus();
        self.pal.clipboard_input_ends();
    }

    pub fn run_action(&mut self, action: Action) {
        tracing::debug!(?action, "binding");
        match action {
            Action::FocusNext => self.pal.cycle_focus(true),
            Action::FocusPrev => self.pal.cycle_focus(false),
            Action::Close => self.pal.close_focused(),
            Action::ChangeVt(vt) => {
                if let crate::backend::Backend::Udev(udev) = &mut self.backend {
                    udev.change_vt(vt);
                }
            }
            Action::Launch(id) => {
                if let Err(err) = self.launch_app_for_user(&id) {
                    tracing::warn!("launching {id}: {err:#}");
                }
            }
            Action::ToggleUsb => self.pal.toggle_usb(),
            Action::Lock | Action::SecureAttention => self.pal.request_lock(),
            Action::SendClipboard => self.send_clipboard(),
        }
        self.sync_focus();
    }
}

impl crate::state::Palisade {
    /// A key on the lock screen.
    fn edit_password(&mut self, edit: PasswordEdit) {
        match edit {
            PasswordEdit::Submit => {
                self.submit_password();
            }
            PasswordEdit::Backspace => self.lock.password_backspace(),
            PasswordEdit::Clear => self.lock.password_clear(),
            PasswordEdit::Type(sym) => {
                let text = xkb::keysym_to_utf8(sym);
                let text: String = text.chars().filter(|c| !c.is_control()).collect();
                if !text.is_empty() {
                    self.lock.password_push(&text);
                }
            }
        }
        self.queue_redraw_all();
    }
}
