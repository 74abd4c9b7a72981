//! Input routing: every key passes the binding matcher before any client sees
//! it; a key whose press a binding took has its release and its repeats taken
//! too. A client's keyboard-shortcuts inhibitor lets the window-management
//! bindings through to it, never the privileged ones.
//! Backends feed `process_input_event` (libinput, winit); the headless
//! backend and the scenario runner call the `handle_*` methods directly.

use smithay::backend::input::{
    AbsolutePositionEvent, Axis, AxisSource, ButtonState, Event, InputBackend, InputEvent,
    KeyState, KeyboardKeyEvent, PointerAxisEvent, PointerButtonEvent, PointerMotionEvent,
};
use smithay::input::keyboard::{xkb, FilterResult, Keycode, Keysym, ModifiersState};
use smithay::input::pointer::{AxisFrame, ButtonEvent, MotionEvent};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Point, SERIAL_COUNTER};
use smithay::wayland::seat::WaylandFocus;

use crate::config::Config;
use crate::state::State;
use palisade_shortcuts::Chord;

/// What a binding does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    FocusNext,
    FocusPrev,
    Close,
    Launch(String),
    /// Ctrl+Alt+Fn on a real session: XF86Switch_VT_n.
    ChangeVt(i32),
    /// Ask the helper to allow or deny new USB devices.
    ToggleUsb,
    Lock,
    /// The secure attention key: for now the same as `Lock` (the lock screen
    /// is the trusted path the user reaches with it).
    SecureAttention,
    /// Put the focused window's clipboard in transit to the next window of
    /// another identity the user focuses (or cancel the transfer).
    SendClipboard,
}

impl Action {
    /// Privileged actions are matched even while the focused client holds
    /// an active keyboard-shortcuts inhibitor: no client can take them.
    pub fn is_privileged(&self) -> bool {
        match self {
            Action::ToggleUsb
            | Action::Lock
            | Action::SecureAttention
            | Action::ChangeVt(_)
            | Action::SendClipboard => true,
            Action::FocusNext | Action::FocusPrev | Action::Close | Action::Launch(_) => false,
        }
    }
}

/// Resolve a chord's key name to a keysym, lowercased so "Q" and "q" match.
fn chord_keysym(chord: &Chord) -> Keysym {
    let mut sym = xkb::keysym_from_name(&chord.key, xkb::KEYSYM_NO_FLAGS);
    if sym.raw() == 0 {
        sym = xkb::keysym_from_name(&chord.key, xkb::KEYSYM_CASE_INSENSITIVE);
    }
    lower(sym)
}

/// XF86Switch_VT_n, which the keymap produces for Ctrl+Alt+Fn: matched on
/// the modified keysym, and never a client's business.
pub fn vt_number(sym: Keysym) -> Option<i32> {
    let first = Keysym::XF86_Switch_VT_1.raw();
    let raw = sym.raw();
    (first..=Keysym::XF86_Switch_VT_12.raw())
        .contains(&raw)
        .then(|| (raw - first + 1) as i32)
}

/// ASCII-letter lowercase for keysyms (xkbcommon 0.8 has no to_lower); the
/// Latin-1 letter keysyms equal their code points.
fn lower(sym: Keysym) -> Keysym {
    match sym.raw() {
        r @ 0x41..=0x5a => Keysym::new(r + 0x20),
        r => Keysym::new(r),
    }
}

fn chord_matches(chord: &Chord, mods: &ModifiersState, raw_syms: &[Keysym]) -> bool {
    let m = &chord.mods;
    if m.ctrl != mods.ctrl || m.alt != mods.alt || m.shift != mods.shift || m.logo != mods.logo {
        return false;
    }
    let want = chord_keysym(chord);
    want.raw() != 0 && raw_syms.iter().any(|s| lower(*s) == want)
}

/// The binding a key press triggers, if any. Pure: modifiers and the key's
/// unmodified keysyms in, action out (Shift+Tab is matched on Tab, not on
/// ISO_Left_Tab). `inhibited`: the focused surface holds an active
/// keyboard-shortcuts inhibitor, so only privileged bindings match.
pub fn match_binding(
    config: &Config,
    mods: &ModifiersState,
    raw_syms: &[Keysym],
    inhibited: bool,
) -> Option<Action> {
    let b = &config.bindings;
    let privileged = [
        (&b.toggle_usb, Action::ToggleUsb),
        (&b.lock, Action::Lock),
        (&b.secure_attention, Action::SecureAttention),
        (&b.send_clipboard, Action::SendClipboard),
    ];
    if let Some((_, action)) =
        (privileged.into_iter()).find(|(c, _)| chord_matches(c, mods, raw_syms))
    {
        return Some(action);
    }
    if inhibited {
        return None;
    }
    if chord_matches(&b.focus_next, mods, raw_syms) {
        return Some(Action::FocusNext);
    }
    if chord_matches(&b.focus_prev, mods, raw_syms) {
        return Some(Action::FocusPrev);
    }
    if chord_matches(&b.close, mods, raw_syms) {
        return Some(Action::Close);
    }
    config.apps.iter().find_map(|app| {
        let chord = app.shortcut.as_ref()?;
        chord_matches(chord, mods, raw_syms).then(|| Action::Launch(app.id.clone()))
    })
}

/// A key while locked: it belongs to the lock screen and never to a
/// client. Privileged bindings still run (VT switching; the helper refuses
/// USB while locked); everything else edits the password field.
fn locked_key(
    state: &mut State,
    mods: &ModifiersState,
    handle: &smithay::input::keyboard::KeysymHandle<'_>,
    pressed: bool,
    raw: u32,
) -> FilterResult<Option<Action>> {
    let taken = state.pal.suppressed_keys.iter().position(|k| *k == raw);
    if !pressed {
        if let Some(pos) = taken {
            state.pal.suppressed_keys.swap_remove(pos);
        }
        return FilterResult::Intercept(None);
    }
    let action = vt_number(handle.modified_sym())
        .map(Action::ChangeVt)
        .or_else(|| match_binding(&state.pal.config, mods, &handle.raw_syms(), true));
    if let Some(action) = action {
        if taken.is_none() {
            state.pal.suppressed_keys.push(raw);
        }
        return FilterResult::Intercept(Some(action));
    }
    let sym = handle.modified_sym();
    match sym {
        Keysym::Return | Keysym::KP_Enter => {
            state.pal.submit_password();
        }
        Keysym::BackSpace => state.pal.password.backspace(),
        Keysym::Escape => state.pal.password.clear(),
        _ => {
            let text = xkb::keysym_to_utf8(sym);
            let text: String = text.chars().filter(|c| !c.is_control()).collect();
            if !text.is_empty() {
                state.pal.password.push_str(&text);
            }
        }
    }
    state.pal.queue_redraw_all();
    FilterResult::Intercept(None)
}

impl State {
    pub fn process_input_event<I: InputBackend>(&mut self, event: InputEvent<I>) {
        match event {
            InputEvent::Keyboard { event } => {
                let pressed = event.state() == KeyState::Pressed;
                self.handle_key(event.key_code(), pressed, event.time_msec());
            }
            InputEvent::PointerMotion { event } => {
                let pos = self.pal.pointer_location + event.delta();
                self.handle_pointer_motion(pos, event.time_msec());
            }
            InputEvent::PointerMotionAbsolute { event } => {
                // Absolute devices (the nested window) map onto the first output.
                let Some(geo) = self
                    .pal
                    .outputs
                    .first()
                    .and_then(|o| self.pal.output_geometry(&o.output))
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
            InputEvent::PointerAxis { .. } if self.note_input() || self.pal.is_locked() => {}
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
                if let Some(pointer) = self.pal.seat.get_pointer() {
                    pointer.axis(self, frame);
                    pointer.frame(self);
                }
            }
            _ => {}
        }
    }

    /// A key, as an xkb keycode (evdev + 8).
    pub fn handle_key(&mut self, keycode: Keycode, pressed: bool, time: u32) {
        let woke = self.note_input();
        // A lock requested by the previous key takes focus away before this
        // one is routed.
        self.enforce_lock();
        self.apply_focus();
        let Some(keyboard) = self.pal.seat.get_keyboard() else {
            return;
        };
        // Before the key reaches anyone: a press ends a paste of a clipboard
        // transfer, and focus changes until the end are the user's.
        self.pal.clipboard_input_begins(pressed);
        let serial = SERIAL_COUNTER.next_serial();
        let raw = keycode.raw();
        let inhibited = self
            .pal
            .shortcuts_inhibited(keyboard.current_focus().as_ref());
        let action = keyboard.input(
            self,
            keycode,
            if pressed {
                KeyState::Pressed
            } else {
                KeyState::Released
            },
            serial,
            time,
            |state, mods, handle| {
                if woke {
                    // The key that switched the outputs on was meant for
                    // that alone: its press (and so its release) is ours,
                    // never a character in the password field.
                    let known = state.pal.suppressed_keys.iter().position(|k| *k == raw);
                    match (pressed, known) {
                        (true, None) => state.pal.suppressed_keys.push(raw),
                        (false, Some(pos)) => {
                            state.pal.suppressed_keys.swap_remove(pos);
                        }
                        _ => {}
                    }
                    return FilterResult::Intercept(None);
                }
                if state.pal.is_locked() {
                    return locked_key(state, mods, &handle, pressed, raw);
                }
                let taken = state.pal.suppressed_keys.iter().position(|k| *k == raw);
                if !pressed {
                    // The release of a key whose press we took is ours too.
                    if let Some(pos) = taken {
                        state.pal.suppressed_keys.swap_remove(pos);
                        return FilterResult::Intercept(None);
                    }
                    return FilterResult::Forward;
                }
                let syms = handle.raw_syms();
                let action = vt_number(handle.modified_sym())
                    .map(Action::ChangeVt)
                    .or_else(|| match_binding(&state.pal.config, mods, &syms, inhibited));
                if let Some(pos) = taken {
                    if action.is_some() {
                        // A repeated press (some backends send them for held
                        // keys) while the chord is still held: swallowed, and
                        // the action runs only once.
                        return FilterResult::Intercept(None);
                    }
                    // The chord is gone, so this is a new press and the old
                    // entry's release was lost (a nested window losing focus
                    // drops it): forget it rather than eat this key forever.
                    state.pal.suppressed_keys.swap_remove(pos);
                }
                match action {
                    Some(action) => {
                        state.pal.suppressed_keys.push(raw);
                        FilterResult::Intercept(Some(action))
                    }
                    None => FilterResult::Forward,
                }
            },
        );
        if let Some(Some(action)) = action {
            self.run_action(action);
        }
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
        self.apply_focus();
    }

    /// The surface under a global position, and that surface's origin.
    pub fn surface_under(
        &self,
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        let output = self.pal.space.output_under(pos).next()?;
        // The strip belongs to the compositor: no client gets the pointer there.
        if let Some(area) = self.pal.work_area(output) {
            if !area.to_f64().contains(pos) {
                return None;
            }
        }
        let name = output.name();
        self.pal.space.elements().rev().find_map(|window| {
            let ours = self
                .pal
                .windows
                .iter()
                .any(|m| m.mapped && &m.window == window && m.output == name);
            if !ours {
                return None;
            }
            let loc = self.pal.space.element_location(window)? - window.geometry().loc;
            let (surface, surface_loc) = window
                .surface_under(pos - loc.to_f64(), smithay::desktop::WindowSurfaceType::ALL)?;
            Some((surface, (surface_loc + loc).to_f64()))
        })
    }

    pub fn handle_pointer_motion(&mut self, pos: Point<f64, Logical>, time: u32) {
        // Waking the outputs is all a motion does while they are off (they
        // are only ever off while locked, so there is no client to tell).
        if self.note_input() {
            return;
        }
        self.enforce_lock();
        self.apply_focus();
        let pos = self.clamp_to_outputs(pos);
        self.pal.pointer_location = pos;
        self.pal.cursor_visible = true;
        // While locked the pointer is over the lock screen, never a client.
        let under = if self.pal.is_locked() {
            None
        } else {
            self.surface_under(pos)
        };
        let under = self.drag_filter(under);
        if let Some(pointer) = self.pal.seat.get_pointer() {
            let serial = SERIAL_COUNTER.next_serial();
            pointer.motion(
                self,
                under,
                &MotionEvent {
                    location: pos,
                    serial,
                    time,
                },
            );
            pointer.frame(self);
        }
        // The cursor moved: redraw where it was and where it is.
        self.pal.queue_redraw_all();
    }

    fn clamp_to_outputs(&self, pos: Point<f64, Logical>) -> Point<f64, Logical> {
        if self.pal.space.output_under(pos).next().is_some() {
            return pos;
        }
        let geos: Vec<_> = self
            .pal
            .outputs
            .iter()
            .filter_map(|o| self.pal.output_geometry(&o.output))
            .collect();
        let Some(first) = geos.first() else {
            return pos;
        };
        let min_x = geos.iter().map(|g| g.loc.x).min().unwrap_or(0) as f64;
        let max_x = geos.iter().map(|g| g.loc.x + g.size.w).max().unwrap_or(1) as f64 - 1.0;
        let x = pos.x.clamp(min_x, max_x);
        let geo = geos
            .iter()
            .find(|g| (g.loc.x as f64) <= x && x < (g.loc.x + g.size.w) as f64)
            .unwrap_or(first);
        let y = pos
            .y
            .clamp(geo.loc.y as f64, (geo.loc.y + geo.size.h) as f64 - 1.0);
        (x, y).into()
    }

    /// A pointer button (evdev code, e.g. 0x110 = BTN_LEFT). A press on a
    /// window focuses it.
    pub fn handle_button(&mut self, button: u32, pressed: bool, time: u32) {
        let woke = self.note_input();
        self.enforce_lock();
        if woke || self.pal.is_locked() {
            return;
        }
        self.apply_focus();
        self.pal.clipboard_input_begins(pressed);
        let serial = SERIAL_COUNTER.next_serial();
        if pressed {
            let pos = self.pal.pointer_location;
            if let Some(hit) = self.pal.panel_hit(pos) {
                self.panel_click(hit);
            } else if let Some((surface, _)) = self.surface_under(pos) {
                let mut root = surface;
                while let Some(parent) = smithay::wayland::compositor::get_parent(&root) {
                    root = parent;
                }
                let window = self
                    .pal
                    .windows
                    .iter()
                    .find(|m| m.window.wl_surface().as_deref() == Some(&root))
                    .map(|m| m.window.clone());
                if let Some(window) = window {
                    if self.pal.focused_window().as_ref() != Some(&window) {
                        self.pal.focus_by_user(&window);
                        self.apply_focus();
                    }
                }
            }
        }
        if let Some(pointer) = self.pal.seat.get_pointer() {
            let state = if pressed {
                ButtonState::Pressed
            } else {
                ButtonState::Released
            };
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
        }
        self.pal.clipboard_input_ends();
    }
}

/// Which key (and whether Shift) produces a character or a keysym in the
/// configured layout: synthetic typing for scenarios and tests.
#[derive(Debug, Default)]
pub struct TypingMap {
    by_sym: std::collections::HashMap<u32, (Keycode, bool)>,
}

impl TypingMap {
    pub fn new(config: &Config) -> anyhow::Result<TypingMap> {
        let kb = &config.keyboard;
        let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
        let keymap = xkb::Keymap::new_from_names(
            &context,
            &kb.rules,
            &kb.model,
            &kb.layout,
            &kb.variant,
            kb.options.clone(),
            xkb::KEYMAP_COMPILE_NO_FLAGS,
        )
        .ok_or_else(|| anyhow::anyhow!("the configured keyboard layout does not compile"))?;
        let mut by_sym = std::collections::HashMap::new();
        for level in [0u32, 1] {
            for code in keymap.min_keycode().raw()..=keymap.max_keycode().raw() {
                let keycode = Keycode::new(code);
                for sym in keymap.key_get_syms_by_level(keycode, 0, level) {
                    by_sym.entry(sym.raw()).or_insert((keycode, level == 1));
                }
            }
        }
        Ok(TypingMap { by_sym })
    }

    /// The key for a keysym name such as "Tab", "Super_L" or "q".
    pub fn key_for_name(&self, name: &str) -> Option<(Keycode, bool)> {
        let mut sym = xkb::keysym_from_name(name, xkb::KEYSYM_NO_FLAGS);
        if sym.raw() == 0 {
            sym = xkb::keysym_from_name(name, xkb::KEYSYM_CASE_INSENSITIVE);
        }
        self.by_sym.get(&sym.raw()).copied()
    }

    /// The key for a character; newline is Return, tab is Tab.
    pub fn key_for_char(&self, c: char) -> Option<(Keycode, bool)> {
        let sym = match c {
            '\n' => Keysym::Return,
            '\t' => Keysym::Tab,
            _ => xkb::utf32_to_keysym(c as u32),
        };
        self.by_sym.get(&sym.raw()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(ctrl: bool, alt: bool, shift: bool, logo: bool) -> ModifiersState {
        ModifiersState {
            ctrl,
            alt,
            shift,
            logo,
            ..Default::default()
        }
    }

    #[test]
    fn super_tab_cycles_and_shift_reverses() {
        let config = Config::embedded_default();
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, false, true),
                &[Keysym::Tab],
                false
            ),
            Some(Action::FocusNext)
        );
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, true, true),
                &[Keysym::Tab],
                false
            ),
            Some(Action::FocusPrev)
        );
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, false, false),
                &[Keysym::Tab],
                false
            ),
            None
        );
        assert_eq!(
            match_binding(
                &config,
                &mods(true, false, false, true),
                &[Keysym::Tab],
                false
            ),
            None
        );
    }

    #[test]
    fn close_matches_either_case_and_only_with_super() {
        let config = Config::embedded_default();
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, false, true),
                &[Keysym::q],
                false
            ),
            Some(Action::Close)
        );
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, false, true),
                &[Keysym::Q],
                false
            ),
            Some(Action::Close)
        );
        assert_eq!(
            match_binding(
                &config,
                &mods(false, false, false, false),
                &[Keysym::q],
                false
            ),
            None
        );
    }

    #[test]
    fn app_shortcuts_launch_their_app() {
        let config = Config::embedded_default();
        let app = config
            .apps
            .iter()
            .find(|a| a.shortcut.is_some())
            .expect("default config has an app shortcut");
        let chord = app.shortcut.clone().unwrap_or_else(|| unreachable!());
        let m = mods(
            chord.mods.ctrl,
            chord.mods.alt,
            chord.mods.shift,
            chord.mods.logo,
        );
        let map = TypingMap::new(&config).expect("us layout compiles");
        let (code, _) = map
            .key_for_name(&chord.key)
            .expect("key exists in us layout");
        let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
        let keymap = xkb::Keymap::new_from_names(
            &context,
            "",
            "",
            "us",
            "",
            None,
            xkb::KEYMAP_COMPILE_NO_FLAGS,
        )
        .expect("us");
        let syms = keymap.key_get_syms_by_level(code, 0, 0).to_vec();
        assert_eq!(
            match_binding(&config, &m, &syms, false),
            Some(Action::Launch(app.id.clone()))
        );
    }

    #[test]
    fn privileged_bindings_match_with_their_defaults() {
        let config = Config::embedded_default();
        let logo = mods(false, false, false, true);
        let ctrl_alt = mods(true, true, false, false);
        for inhibited in [false, true] {
            let m = |m: ModifiersState, sym| match_binding(&config, &m, &[sym], inhibited);
            assert_eq!(m(logo, Keysym::u), Some(Action::ToggleUsb));
            assert_eq!(m(logo, Keysym::l), Some(Action::Lock));
            assert_eq!(m(logo, Keysym::L), Some(Action::Lock));
            assert_eq!(m(ctrl_alt, Keysym::Delete), Some(Action::SecureAttention));
            let logo_shift = mods(false, false, true, true);
            assert_eq!(m(logo_shift, Keysym::c), Some(Action::SendClipboard));
            assert_eq!(m(logo, Keysym::c), None);
            // Modifiers must match exactly, inhibited or not.
            assert_eq!(m(mods(false, false, true, true), Keysym::u), None);
            assert_eq!(m(mods(true, false, false, false), Keysym::Delete), None);
            assert_eq!(m(mods(false, false, false, false), Keysym::l), None);
        }
    }

    #[test]
    fn an_inhibitor_lets_only_privileged_bindings_match() {
        let mut config = Config::embedded_default();
        config.bindings.lock = palisade_shortcuts::Chord::parse("Super+Escape").expect("chord");
        let logo = mods(false, false, false, true);
        let syms = |name: &str| vec![xkb::keysym_from_name(name, xkb::KEYSYM_NO_FLAGS)];
        let free = [
            ("Tab", false),
            ("q", false),
            ("b", false),
            ("Return", false),
        ];
        let privileged = [("u", true), ("Escape", true)];
        for (key, is_privileged) in free.into_iter().chain(privileged) {
            let open = match_binding(&config, &logo, &syms(key), false);
            let open = open.unwrap_or_else(|| panic!("Super+{key} is bound"));
            assert_eq!(open.is_privileged(), is_privileged, "Super+{key}");
            let held = match_binding(&config, &logo, &syms(key), true);
            let want = is_privileged.then_some(open);
            assert_eq!(held, want, "Super+{key} under an inhibitor");
        }
        // The old lock chord is free now, inhibited or not.
        assert_eq!(match_binding(&config, &logo, &syms("l"), false), None);
    }

    #[test]
    fn privileged_actions_are_exactly_the_helper_lock_and_vt_ones() {
        let all = [
            (Action::FocusNext, false),
            (Action::FocusPrev, false),
            (Action::Close, false),
            (Action::Launch("browser".into()), false),
            (Action::ChangeVt(2), true),
            (Action::ToggleUsb, true),
            (Action::Lock, true),
            (Action::SecureAttention, true),
            (Action::SendClipboard, true),
        ];
        for (action, privileged) in all {
            assert_eq!(action.is_privileged(), privileged, "{action:?}");
        }
    }

    #[test]
    fn vt_keysyms_map_to_their_number() {
        assert_eq!(vt_number(Keysym::XF86_Switch_VT_1), Some(1));
        assert_eq!(vt_number(Keysym::XF86_Switch_VT_12), Some(12));
        assert_eq!(vt_number(Keysym::F1), None);
    }

    #[test]
    fn typing_map_finds_shifted_characters() {
        let map = TypingMap::new(&Config::embedded_default()).expect("us layout compiles");
        let (a, shift_a) = map.key_for_char('a').expect("a");
        let (big_a, shift_big_a) = map.key_for_char('A').expect("A");
        assert_eq!(a, big_a);
        assert!(!shift_a && shift_big_a);
        assert!(map.key_for_char('\n').is_some());
        assert!(map.key_for_name("Super_L").is_some());
    }
}
