//! Key bindings: which chord means which action, matched before any client
//! sees the key. A client's keyboard-shortcuts inhibitor lets the
//! window-management bindings through to it, never the privileged ones.

use smithay::input::keyboard::{xkb, Keysym, ModifiersState};

use crate::config::Config;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::typing::TypingMap;

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
}
