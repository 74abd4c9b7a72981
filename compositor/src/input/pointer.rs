//! The pointer. What it is over comes from the output's stack alone
//! (`Palisade::under`): the lock and the strip are the compositor's, a
//! window's visible area is that window's whatever its input region says.
//! Which surface then receives pointer events is narrowed by what runs:
//! a drag reaches only its own identity's surfaces (`crate::dnd`), a popup
//! grab only its own client's. A press also decides focus: on a window it
//! is the user's choice, applied before the button is delivered and again
//! after it, and a press outside the grabbing client ends a popup grab.

use smithay::input::pointer::{AxisFrame, ButtonEvent, MotionEvent};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::Resource;
use smithay::utils::{Logical, Point, SERIAL_COUNTER};

use crate::stack::Under;
use crate::state::State;

impl State {
    /// The surface that gets pointer events for what is under the pointer.
    fn pointer_target(&self, under: &Under) -> Option<(WlSurface, Point<f64, Logical>)> {
        let (surface, origin) = under.surface()?.clone();
        let client = surface.client()?;
        if let Some(grabbing) = self.pal.focus.grab_client() {
            // Owner events: a grabbing client gets the pointer on its own
            // surfaces only.
            if client.id() != grabbing {
                return None;
            }
        }
        if !crate::dnd::drag_may_enter(&self.pal.input, &client) {
            return None;
        }
        Some((surface, origin))
    }

    /// Tell Smithay where the pointer is and what it is over now. Also
    /// called when nothing moved but the stack changed (a lock, a window
    /// raised), so the old surface gets its leave.
    fn pointer_moved(&mut self, time: u32) {
        self.end_stale_drag();
        let pos = self.pal.input.pointer;
        let under = self.pal.under(pos);
        let target = self.pointer_target(&under);
        if let Some(pointer) = self.pal.seat.get_pointer() {
            let event = MotionEvent {
                location: pos,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            };
            pointer.motion(self, target, &event);
            pointer.frame(self);
        }
    }

    /// Re-decide the pointer's surface from the stack when it changed
    /// under a still pointer (not during a button grab or a drag: those
    /// keep their surface until they end).
    pub fn sync_pointer(&mut self) {
        self.end_stale_drag();
        let Some(pointer) = self.pal.seat.get_pointer() else {
            return;
        };
        if pointer.is_grabbed() {
            if !self.pal.lock.is_locked() {
                return;
            }
            // Whatever a client held (a button, a drag) ends with the lock.
            // A drag first leaves its target, so ending it drops nothing.
            let time = self.pal.now_ms();
            if self.pal.input.dragging() {
                let event = MotionEvent {
                    location: self.pal.input.pointer,
                    serial: SERIAL_COUNTER.next_serial(),
                    time,
                };
                pointer.motion(self, None, &event);
            }
            pointer.unset_grab(self, SERIAL_COUNTER.next_serial(), time);
            self.pal.input.drag_ended();
        }
        let under = self.pal.under(self.pal.input.pointer);
        let target = self.pointer_target(&under).map(|(s, _)| s);
        if pointer.current_focus() != target {
            let time = self.pal.now_ms();
            self.pointer_moved(time);
        }
    }

    /// A drag whose grab is gone (its client went away without a drop)
    /// must not keep other identities' surfaces out of reach.
    fn end_stale_drag(&mut self) {
        let grabbed = self.pal.seat.get_pointer().is_some_and(|p| p.is_grabbed());
        if self.pal.input.dragging() && !grabbed {
            self.pal.input.drag_ended();
        }
    }

    pub fn handle_pointer_motion(&mut self, pos: Point<f64, Logical>, time: u32) {
        // Waking the outputs is all a motion does while they are off (they
        // are only ever off while locked, so there is no client to tell).
        if self.note_input() {
            return;
        }
        self.sync_focus();
        self.pal.input.pointer = self.clamp_to_outputs(pos);
        self.pal.input.cursor_visible = true;
        self.pointer_moved(time);
        // The cursor moved: redraw where it was and where it is.
        self.pal.queue_redraw_all();
    }

    fn clamp_to_outputs(&self, pos: Point<f64, Logical>) -> Point<f64, Logical> {
        if self.pal.shell.space().output_under(pos).next().is_some() {
            return pos;
        }
        let geos: Vec<_> = (self.pal.outputs.iter())
            .filter_map(|o| self.pal.output_geometry(&o.output))
            .collect();
        let Some(first) = geos.first() else {
            return pos;
        };
        let min_x = geos.iter().map(|g| g.loc.x).min().unwrap_or(0) as f64;
        let max_x = geos.iter().map(|g| g.loc.x + g.size.w).max().unwrap_or(1) as f64 - 1.0;
        let x = pos.x.clamp(min_x, max_x);
        let geo = (geos.iter())
            .find(|g| (g.loc.x as f64) <= x && x < (g.loc.x + g.size.w) as f64)
            .unwrap_or(first);
        let y = (pos.y).clamp(geo.loc.y as f64, (geo.loc.y + geo.size.h) as f64 - 1.0);
        (x, y).into()
    }

    /// A pointer button (evdev code, e.g. 0x110 = BTN_LEFT).
    pub fn handle_button(&mut self, button: u32, pressed: bool, time: u32) {
        if self.note_input() {
            return;
        }
        self.sync_focus();
        self.sync_pointer();
        self.pal.clipboard_input_begins(pressed);
        if pressed {
            let under = self.pal.under(self.pal.input.pointer);
            let on_grab_client = under
                .surface()
                .and_then(|(s, _)| s.client())
                .is_some_and(|c| Some(c.id()) == self.pal.focus.grab_client());
            if !on_grab_client {
                // A press outside the grabbing client dismisses its menus.
                self.pal.focus.end_grab();
            }
            match under {
                Under::Lock | Under::Nothing => {}
                Under::Panel => {
                    if let Some(hit) = self.pal.panel_hit(self.pal.input.pointer) {
                        self.panel_click(hit);
                    }
                }
                Under::Window { window, .. } => {
                    if self.pal.focused_window().as_ref() != Some(&window) {
                        self.pal.focus_by_user(&window);
                    }
                }
            }
            // The user's choice holds before the client hears of the press.
            self.sync_focus();
            self.sync_pointer();
        }
        let serial = SERIAL_COUNTER.next_serial();
        if let Some(pointer) = self.pal.seat.get_pointer() {
            let state = match pressed {
                true => smithay::backend::input::ButtonState::Pressed,
                false => smithay::backend::input::ButtonState::Released,
            };
            let receiver = pointer.current_focus();
            pointer.button(
                self,
                &ButtonEvent {
                    serial,
                    time,
                    button,
                    state,
                },
            );
            pointer.frame(self);
            if let Some(client) = receiver.filter(|_| pressed).and_then(|s| s.client()) {
                self.pal.focus.note_press(&client.id(), serial);
            }
        }
        // And after it: nothing the client did with the press moves focus.
        self.sync_focus();
        self.pal.clipboard_input_ends();
    }

    pub fn handle_axis(&mut self, frame: AxisFrame) {
        if self.note_input() {
            return;
        }
        self.sync_focus();
        self.sync_pointer();
        if let Some(pointer) = self.pal.seat.get_pointer() {
            pointer.axis(self, frame);
            pointer.frame(self);
        }
    }
}
