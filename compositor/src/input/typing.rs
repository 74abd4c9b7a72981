//! Synthetic typing for scenarios and tests: which key (and whether Shift)
//! produces a character or a keysym in the configured layout.

use smithay::input::keyboard::{xkb, Keycode, Keysym};

use crate::config::Config;

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
