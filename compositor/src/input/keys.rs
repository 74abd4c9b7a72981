//! Where a key goes, as a pure function: [`route_key`] takes the keys the
//! compositor has taken so far and what is known about this key, and says
//! whether the focused client gets it, the compositor swallows it, a
//! binding runs, or the lock screen's password field is edited. Nothing
//! else decides this, so the rules are all here and all unit-tested:
//!
//! - a key's release goes where its press went: a press the compositor
//!   took (a binding, the lock screen, the key that woke the outputs) has
//!   its release and any repeat taken too, even across a lock or unlock;
//! - privileged bindings match before any client, inhibitor or not;
//! - while locked no key reaches a client: it runs a privileged binding or
//!   edits the password;
//! - the key that switches the outputs on does only that.

use smithay::input::keyboard::{Keysym, ModifiersState};

use crate::config::Config;
use crate::input::bindings::{match_binding, vt_number, Action};

/// Keys (xkb keycodes) whose press the compositor took.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SuppressedKeys(Vec<u32>);

impl SuppressedKeys {
    fn take(&mut self, code: u32) -> bool {
        match self.0.iter().position(|k| *k == code) {
            Some(i) => {
                self.0.swap_remove(i);
                true
            }
            None => false,
        }
    }

    fn insert(&mut self, code: u32) {
        if !self.0.contains(&code) {
            self.0.push(code);
        }
    }

    pub fn contains(&self, code: u32) -> bool {
        self.0.contains(&code)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What is known about one key event.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    pub config: &'a Config,
    /// The xkb keycode.
    pub code: u32,
    pub pressed: bool,
    pub mods: ModifiersState,
    /// The key's keysyms without modifiers (bindings match these).
    pub raw_syms: &'a [Keysym],
    /// The keysym with modifiers applied (text, VT switching).
    pub sym: Keysym,
    /// Locked, locking or authenticating.
    pub locked: bool,
    /// The focused surface holds an active keyboard-shortcuts inhibitor.
    pub inhibited: bool,
    /// This event switched the outputs back on.
    pub woke: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRoute {
    /// To the focused client.
    Forward,
    /// To nobody.
    Swallow,
    Run(Action),
    Password(PasswordEdit),
}

/// An edit of the lock screen's password field. It carries the keysym, not
/// the text, so no secret is held anywhere but in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordEdit {
    Submit,
    Backspace,
    Clear,
    Type(Keysym),
}

pub fn route_key(suppressed: &mut SuppressedKeys, key: &KeyContext<'_>) -> KeyRoute {
    if !key.pressed {
        if suppressed.take(key.code) {
            return KeyRoute::Swallow;
        }
        // Pressed before the lock: the client it went to has lost focus
        // (and with it the key) already.
        return if key.locked {
            KeyRoute::Swallow
        } else {
            KeyRoute::Forward
        };
    }
    if key.woke {
        suppressed.insert(key.code);
        return KeyRoute::Swallow;
    }
    // While locked only the privileged bindings exist.
    let action = vt_number(key.sym).map(Action::ChangeVt).or_else(|| {
        match_binding(
            key.config,
            &key.mods,
            key.raw_syms,
            key.inhibited || key.locked,
        )
    });
    if suppressed.contains(key.code) {
        if action.is_some() {
            // A repeated press (some backends send them for held keys)
            // while the chord is still held: the action runs only once.
            return KeyRoute::Swallow;
        }
        // The chord is gone, so this is a new press and the old entry's
        // release was lost (a nested window losing focus drops it): forget
        // it rather than eat this key forever.
        suppressed.take(key.code);
    }
    if let Some(action) = action {
        suppressed.insert(key.code);
        return KeyRoute::Run(action);
    }
    if key.locked {
        suppressed.insert(key.code);
        return KeyRoute::Password(match key.sym {
            Keysym::Return | Keysym::KP_Enter => PasswordEdit::Submit,
            Keysym::BackSpace => PasswordEdit::Backspace,
            Keysym::Escape => PasswordEdit::Clear,
            sym => PasswordEdit::Type(sym),
        });
    }
    KeyRoute::Forward
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u32 = 38;
    const L: u32 = 46;
    const TAB: u32 = 23;
    const RET: u32 = 36;

    fn logo() -> ModifiersState {
        ModifiersState {
            logo: true,
            ..Default::default()
        }
    }

    struct Keys {
        config: Config,
        suppressed: SuppressedKeys,
        locked: bool,
        inhibited: bool,
    }

    impl Keys {
        fn new() -> Keys {
            Keys {
                config: Config::embedded_default(),
                suppressed: SuppressedKeys::default(),
                locked: false,
                inhibited: false,
            }
        }

        fn route(
            &mut self,
            code: u32,
            sym: Keysym,
            mods: ModifiersState,
            pressed: bool,
            woke: bool,
        ) -> KeyRoute {
            let raw = [sym];
            let key = KeyContext {
                config: &self.config,
                code,
                pressed,
                mods,
                raw_syms: &raw,
                sym,
                locked: self.locked,
                inhibited: self.inhibited,
                woke,
            };
            route_key(&mut self.suppressed, &key)
        }

        fn press(&mut self, code: u32, sym: Keysym, mods: ModifiersState) -> KeyRoute {
            self.route(code, sym, mods, true, false)
        }

        fn release(&mut self, code: u32, sym: Keysym, mods: ModifiersState) -> KeyRoute {
            self.route(code, sym, mods, false, false)
        }
    }

    #[test]
    fn plain_keys_go_to_the_client_press_and_release() {
        let mut k = Keys::new();
        let none = ModifiersState::default();
        assert_eq!(k.press(A, Keysym::a, none), KeyRoute::Forward);
        assert_eq!(k.release(A, Keysym::a, none), KeyRoute::Forward);
        assert!(k.suppressed.is_empty());
    }

    #[test]
    fn a_binding_takes_its_press_release_and_repeats() {
        let mut k = Keys::new();
        assert_eq!(
            k.press(TAB, Keysym::Tab, logo()),
            KeyRoute::Run(Action::FocusNext)
        );
        // A repeated press while the chord is held runs nothing again.
        assert_eq!(k.press(TAB, Keysym::Tab, logo()), KeyRoute::Swallow);
        // The release is taken even after Super went up first.
        let none = ModifiersState::default();
        assert_eq!(k.release(TAB, Keysym::Tab, none), KeyRoute::Swallow);
        assert!(k.suppressed.is_empty());
        // Next time the same key without Super is the client's.
        assert_eq!(k.press(TAB, Keysym::Tab, none), KeyRoute::Forward);
    }

    #[test]
    fn a_lost_release_does_not_eat_the_key_forever() {
        let mut k = Keys::new();
        assert_eq!(
            k.press(TAB, Keysym::Tab, logo()),
            KeyRoute::Run(Action::FocusNext)
        );
        // The release never came (a nested window lost focus); Tab alone
        // is a new press for the client.
        let none = ModifiersState::default();
        assert_eq!(k.press(TAB, Keysym::Tab, none), KeyRoute::Forward);
        assert_eq!(k.release(TAB, Keysym::Tab, none), KeyRoute::Forward);
    }

    #[test]
    fn inhibitors_let_window_bindings_through_never_privileged_ones() {
        let mut k = Keys::new();
        k.inhibited = true;
        assert_eq!(k.press(TAB, Keysym::Tab, logo()), KeyRoute::Forward);
        assert_eq!(k.release(TAB, Keysym::Tab, logo()), KeyRoute::Forward);
        assert_eq!(k.press(L, Keysym::l, logo()), KeyRoute::Run(Action::Lock));
        assert_eq!(k.release(L, Keysym::l, logo()), KeyRoute::Swallow);
    }

    #[test]
    fn a_key_held_at_lock_is_released_to_nobody() {
        let mut k = Keys::new();
        let none = ModifiersState::default();
        assert_eq!(k.press(A, Keysym::a, none), KeyRoute::Forward);
        k.locked = true;
        assert_eq!(k.release(A, Keysym::a, none), KeyRoute::Swallow);
    }

    #[test]
    fn the_lock_chord_release_is_swallowed_while_locked() {
        let mut k = Keys::new();
        assert_eq!(k.press(L, Keysym::l, logo()), KeyRoute::Run(Action::Lock));
        k.locked = true;
        assert_eq!(k.release(L, Keysym::l, logo()), KeyRoute::Swallow);
        assert!(k.suppressed.is_empty());
    }

    #[test]
    fn locked_keys_edit_the_password_and_never_reach_a_client() {
        let mut k = Keys::new();
        k.locked = true;
        let none = ModifiersState::default();
        assert_eq!(
            k.press(A, Keysym::a, none),
            KeyRoute::Password(PasswordEdit::Type(Keysym::a))
        );
        assert_eq!(k.release(A, Keysym::a, none), KeyRoute::Swallow);
        assert_eq!(
            k.press(22, Keysym::BackSpace, none),
            KeyRoute::Password(PasswordEdit::Backspace)
        );
        assert_eq!(
            k.press(9, Keysym::Escape, none),
            KeyRoute::Password(PasswordEdit::Clear)
        );
        // Window bindings do not exist while locked; privileged ones do.
        assert_eq!(
            k.press(TAB, Keysym::Tab, logo()),
            KeyRoute::Password(PasswordEdit::Type(Keysym::Tab))
        );
        assert_eq!(k.press(L, Keysym::l, logo()), KeyRoute::Run(Action::Lock));
        let vt = k.press(68, Keysym::XF86_Switch_VT_2, none);
        assert_eq!(vt, KeyRoute::Run(Action::ChangeVt(2)));
    }

    #[test]
    fn the_key_that_unlocks_is_released_to_nobody() {
        let mut k = Keys::new();
        k.locked = true;
        let none = ModifiersState::default();
        assert_eq!(
            k.press(RET, Keysym::Return, none),
            KeyRoute::Password(PasswordEdit::Submit)
        );
        // The helper accepted the password before Return went up.
        k.locked = false;
        assert_eq!(k.release(RET, Keysym::Return, none), KeyRoute::Swallow);
        assert_eq!(k.press(RET, Keysym::Return, none), KeyRoute::Forward);
    }

    #[test]
    fn the_waking_key_does_nothing_else() {
        let mut k = Keys::new();
        k.locked = true;
        let none = ModifiersState::default();
        assert_eq!(k.route(A, Keysym::a, none, true, true), KeyRoute::Swallow);
        assert_eq!(k.release(A, Keysym::a, none), KeyRoute::Swallow);
        // Even a binding's key only wakes.
        assert_eq!(k.route(L, Keysym::l, logo(), true, true), KeyRoute::Swallow);
        assert_eq!(k.release(L, Keysym::l, logo()), KeyRoute::Swallow);
        // The next key is typed.
        assert_eq!(
            k.press(A, Keysym::a, none),
            KeyRoute::Password(PasswordEdit::Type(Keysym::a))
        );
    }

    #[test]
    fn modifiers_alone_reach_the_client() {
        let mut k = Keys::new();
        let none = ModifiersState::default();
        // Nobody can know a chord is coming: Super itself goes through.
        assert_eq!(k.press(133, Keysym::Super_L, none), KeyRoute::Forward);
        assert_eq!(k.press(L, Keysym::l, logo()), KeyRoute::Run(Action::Lock));
        assert_eq!(k.release(133, Keysym::Super_L, logo()), KeyRoute::Forward);
    }
}
