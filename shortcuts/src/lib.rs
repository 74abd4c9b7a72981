//! Key chords, privileged actions and the helper wire protocol ([`proto`]) shared
//! by the compositor and `palisade-helper`.
//!
//! This crate deliberately depends on no graphics or Wayland crate: the helper
//! runs as root and links it, so it must stay small and auditable.
//!
//! A [`Chord`] is what an administrator writes in the config, e.g.
//! `"Super+Shift+Tab"`. Keys are xkb keysym *names*; resolving them to
//! keysyms is the compositor's job (it has xkbcommon), so this crate only
//! checks that a name is plausible.

pub mod proto;

mod duration;
pub use duration::parse_duration;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The set of modifiers held for a chord.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Mods {
    /// Control.
    pub ctrl: bool,
    /// Alt (Mod1).
    pub alt: bool,
    /// Shift.
    pub shift: bool,
    /// Super / Logo / Mod4 / Windows key.
    pub logo: bool,
}

impl Mods {
    /// No modifier held.
    pub const NONE: Mods = Mods {
        ctrl: false,
        alt: false,
        shift: false,
        logo: false,
    };

    /// True when no modifier is set.
    pub fn is_empty(&self) -> bool {
        *self == Mods::NONE
    }

    /// Whether `m` is set.
    pub fn contains(&self, m: Modifier) -> bool {
        match m {
            Modifier::Ctrl => self.ctrl,
            Modifier::Alt => self.alt,
            Modifier::Shift => self.shift,
            Modifier::Logo => self.logo,
        }
    }

    fn set(&mut self, m: Modifier) {
        match m {
            Modifier::Ctrl => self.ctrl = true,
            Modifier::Alt => self.alt = true,
            Modifier::Shift => self.shift = true,
            Modifier::Logo => self.logo = true,
        }
    }
}

/// One modifier key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// Control.
    Ctrl,
    /// Alt (Mod1).
    Alt,
    /// Shift.
    Shift,
    /// Super / Logo.
    Logo,
}

impl Modifier {
    /// Canonical order used by [`Chord`]'s `Display`.
    pub const CANONICAL: [Modifier; 4] = [
        Modifier::Ctrl,
        Modifier::Alt,
        Modifier::Shift,
        Modifier::Logo,
    ];

    /// Parses a modifier name, case-insensitively. Several spellings are
    /// accepted because admins copy bindings from sway, GNOME and X11 docs.
    pub fn from_name(name: &str) -> Option<Modifier> {
        match name.to_ascii_lowercase().as_str() {
            "super" | "logo" | "mod4" | "win" => Some(Modifier::Logo),
            "ctrl" | "control" => Some(Modifier::Ctrl),
            "alt" | "mod1" => Some(Modifier::Alt),
            "shift" => Some(Modifier::Shift),
            _ => None,
        }
    }

    /// The canonical name written by `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Modifier::Ctrl => "Ctrl",
            Modifier::Alt => "Alt",
            Modifier::Shift => "Shift",
            Modifier::Logo => "Super",
        }
    }

    /// The xkb keysym name of the left-hand key, used to press this modifier
    /// with synthetic input.
    pub fn keysym_name(self) -> &'static str {
        match self {
            Modifier::Ctrl => "Control_L",
            Modifier::Alt => "Alt_L",
            Modifier::Shift => "Shift_L",
            Modifier::Logo => "Super_L",
        }
    }
}

/// Why a chord string was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChordError {
    /// The whole string is empty or blank.
    #[error("empty key chord")]
    Empty,
    /// Something like `"Super++Q"` or `"Super+"`.
    #[error("empty part in key chord (two '+' in a row, or a leading or trailing '+')")]
    EmptyPart,
    /// A part before the key is not a known modifier.
    #[error("unknown modifier {0:?} (expected Super, Logo, Mod4, Win, Ctrl, Control, Alt, Mod1 or Shift)")]
    UnknownModifier(String),
    /// The last part is a modifier, so there is no key, e.g. `"Super+Shift"`.
    #[error("key chord has no key after the modifiers (the last part {0:?} is a modifier)")]
    NoKey(String),
    /// The same modifier appears twice, possibly under two spellings.
    #[error("modifier {0:?} given twice")]
    DuplicateModifier(String),
    /// The key contains whitespace.
    #[error("key {0:?} contains whitespace")]
    KeyWhitespace(String),
    /// The key is not shaped like an xkb keysym name.
    #[error("key {0:?} is not an xkb keysym name (use names such as \"q\", \"Tab\", \"Return\", \"F1\", \"comma\")")]
    InvalidKey(String),
}

/// A key chord: modifiers plus one key, e.g. `Super+Shift+Tab`.
///
/// Equality and hashing ignore the order the modifiers were written in, since
/// `Shift+Super+Tab` and `Super+Shift+Tab` are the same binding; the written
/// order is kept only for [`Chord::keys_in_order`].
#[derive(Debug, Clone)]
pub struct Chord {
    /// The modifiers held.
    pub mods: Mods,
    /// The xkb keysym name as written, e.g. `"Tab"`, `"q"`, `"F1"`. Single
    /// ASCII letters keep their case; the compositor lowercases them when it
    /// resolves the keysym.
    pub key: String,
    /// Modifiers in the order they were written (no duplicates).
    order: Vec<Modifier>,
}

impl Chord {
    /// Builds a chord from parts without validating `key`; modifiers are
    /// pressed in canonical order. Use [`Chord::parse`] for untrusted text.
    pub fn new(mods: Mods, key: impl Into<String>) -> Chord {
        Chord {
            mods,
            key: key.into(),
            order: Vec::new(),
        }
    }

    /// Parses `"Mod+Mod+Key"`. Modifier names are case-insensitive; blanks
    /// around parts are ignored so `"Super + Q"` works too.
    pub fn parse(s: &str) -> Result<Chord, ChordError> {
        if s.trim().is_empty() {
            return Err(ChordError::Empty);
        }
        let parts: Vec<&str> = s.split('+').map(str::trim).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(ChordError::EmptyPart);
        }
        // `split` on a non-empty string always yields at least one part.
        let Some((key, modifiers)) = parts.split_last() else {
            return Err(ChordError::Empty);
        };

        let mut mods = Mods::NONE;
        let mut order = Vec::with_capacity(modifiers.len());
        for name in modifiers {
            let m = Modifier::from_name(name)
                .ok_or_else(|| ChordError::UnknownModifier((*name).to_owned()))?;
            if mods.contains(m) {
                return Err(ChordError::DuplicateModifier((*name).to_owned()));
            }
            mods.set(m);
            order.push(m);
        }

        if Modifier::from_name(key).is_some() {
            return Err(ChordError::NoKey((*key).to_owned()));
        }
        if key.chars().any(char::is_whitespace) {
            return Err(ChordError::KeyWhitespace((*key).to_owned()));
        }
        // xkb keysym names (including "U20AC" and "0x1008ff13" forms) are
        // ASCII letters, digits and '_'. Rejecting anything else here gives
        // the admin a clear error instead of a binding that silently never
        // resolves.
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ChordError::InvalidKey((*key).to_owned()));
        }

        Ok(Chord {
            mods,
            key: (*key).to_owned(),
            order,
        })
    }

    /// Modifiers in the order they were written, followed by any modifier set
    /// in `mods` but not written (e.g. after editing `mods` directly) in
    /// canonical order. Modifiers cleared in `mods` are skipped.
    pub fn modifiers_in_order(&self) -> Vec<Modifier> {
        let mut out: Vec<Modifier> = self
            .order
            .iter()
            .copied()
            .filter(|m| self.mods.contains(*m))
            .collect();
        for m in Modifier::CANONICAL {
            if self.mods.contains(m) && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    /// The xkb keysym names to press, in order, to type this chord with
    /// synthetic input: the modifiers as written (`Super_L`, `Control_L`,
    /// `Alt_L`, `Shift_L`), then the key. Release in reverse order.
    pub fn keys_in_order(&self) -> Vec<String> {
        self.modifiers_in_order()
            .into_iter()
            .map(|m| m.keysym_name().to_owned())
            .chain(std::iter::once(self.key.clone()))
            .collect()
    }

    /// Whether two chords would fire on the same key press. Unlike `==` this
    /// ignores ASCII case in the key: the compositor may resolve `q` and `Q`
    /// (or `tab` and `Tab`) to the same keysym, and a false clash is a clear
    /// config error while a missed one would let one binding shadow another.
    pub fn conflicts_with(&self, other: &Chord) -> bool {
        self.mods == other.mods && self.key.eq_ignore_ascii_case(&other.key)
    }
}

impl PartialEq for Chord {
    fn eq(&self, other: &Self) -> bool {
        self.mods == other.mods && self.key == other.key
    }
}

impl Eq for Chord {}

impl Hash for Chord {
    // Must agree with `PartialEq`, which ignores the written order.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.mods.hash(state);
        self.key.hash(state);
    }
}

impl fmt::Display for Chord {
    /// Canonical form: `Ctrl+Alt+Shift+Super+Key`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in Modifier::CANONICAL {
            if self.mods.contains(m) {
                write!(f, "{}+", m.name())?;
            }
        }
        f.write_str(&self.key)
    }
}

impl FromStr for Chord {
    type Err = ChordError;

    fn from_str(s: &str) -> Result<Chord, ChordError> {
        Chord::parse(s)
    }
}

// Chords travel as their text form so config files and wire messages read
// the same, and deserialising always goes through the validating parser.
impl serde::Serialize for Chord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Chord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Chord, D::Error> {
        let s = String::deserialize(deserializer)?;
        Chord::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(s: &str) -> Chord {
        match Chord::parse(s) {
            Ok(c) => c,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn parses_modifiers_and_key() {
        let c = chord("Super+Shift+Tab");
        assert_eq!(
            c.mods,
            Mods {
                shift: true,
                logo: true,
                ..Mods::NONE
            }
        );
        assert_eq!(c.key, "Tab");
    }

    #[test]
    fn modifier_aliases_are_case_insensitive() {
        for (s, m) in [
            ("super+a", Modifier::Logo),
            ("LOGO+a", Modifier::Logo),
            ("Mod4+a", Modifier::Logo),
            ("win+a", Modifier::Logo),
            ("Ctrl+a", Modifier::Ctrl),
            ("control+a", Modifier::Ctrl),
            ("ALT+a", Modifier::Alt),
            ("mod1+a", Modifier::Alt),
            ("sHiFt+a", Modifier::Shift),
        ] {
            let c = chord(s);
            assert!(c.mods.contains(m), "{s}");
            assert_eq!(c.modifiers_in_order(), vec![m], "{s}");
        }
    }

    #[test]
    fn key_alone_is_a_chord() {
        let c = chord("F1");
        assert!(c.mods.is_empty());
        assert_eq!(c.key, "F1");
        assert_eq!(c.keys_in_order(), vec!["F1"]);
    }

    #[test]
    fn letters_keep_case() {
        assert_eq!(chord("Super+Q").key, "Q");
        assert_eq!(chord("Super+q").key, "q");
        assert_ne!(chord("Super+Q"), chord("Super+q"));
        assert!(chord("Super+Q").conflicts_with(&chord("super+q")));
        assert!(!chord("Super+Q").conflicts_with(&chord("Super+Shift+Q")));
    }

    #[test]
    fn blanks_around_parts_are_ignored() {
        assert_eq!(chord(" Super + Return "), chord("Super+Return"));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(
            chord("super+shift+alt+control+Delete").to_string(),
            "Ctrl+Alt+Shift+Super+Delete"
        );
        assert_eq!(chord("Mod4+q").to_string(), "Super+q");
        let round: Chord = chord("shift+win+Tab").to_string().parse().unwrap();
        assert_eq!(round, chord("Super+Shift+Tab"));
    }

    #[test]
    fn equality_ignores_written_order() {
        use std::collections::HashSet;
        let a = chord("Shift+Super+Tab");
        let b = chord("Super+Shift+Tab");
        assert_eq!(a, b);
        let set: HashSet<Chord> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn keys_in_order_follows_written_order() {
        assert_eq!(
            chord("Shift+Super+Tab").keys_in_order(),
            vec!["Shift_L", "Super_L", "Tab"]
        );
        assert_eq!(
            chord("Super+Shift+Tab").keys_in_order(),
            vec!["Super_L", "Shift_L", "Tab"]
        );
        assert_eq!(
            chord("Alt+Ctrl+Delete").keys_in_order(),
            vec!["Alt_L", "Control_L", "Delete"]
        );
    }

    #[test]
    fn keys_in_order_tracks_edited_mods() {
        let mut c = chord("Shift+Super+Tab");
        c.mods.shift = false;
        c.mods.ctrl = true;
        assert_eq!(c.keys_in_order(), vec!["Super_L", "Control_L", "Tab"]);
        let n = Chord::new(
            Mods {
                logo: true,
                ctrl: true,
                ..Mods::NONE
            },
            "q",
        );
        assert_eq!(n.keys_in_order(), vec!["Control_L", "Super_L", "q"]);
        assert_eq!(n, chord("Super+Ctrl+q"));
    }

    #[test]
    fn errors() {
        use ChordError::*;
        let cases: &[(&str, ChordError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("Super++Q", EmptyPart),
            ("Super+", EmptyPart),
            ("+Q", EmptyPart),
            ("+", EmptyPart),
            ("Hyper+Q", UnknownModifier("Hyper".into())),
            ("Super+Shift", NoKey("Shift".into())),
            ("Ctrl", NoKey("Ctrl".into())),
            ("Ctrl+Control+Q", DuplicateModifier("Control".into())),
            ("Super+Page Up", KeyWhitespace("Page Up".into())),
            ("Super+,", InvalidKey(",".into())),
            ("Super+é", InvalidKey("é".into())),
        ];
        for (s, want) in cases {
            assert_eq!(Chord::parse(s).as_ref(), Err(want), "{s:?}");
            // Every error has a human-readable message.
            assert!(!want.to_string().is_empty());
        }
    }

    #[test]
    fn error_messages_name_the_culprit() {
        let e = Chord::parse("Hyper+Q").unwrap_err().to_string();
        assert!(e.contains("Hyper"), "{e}");
        let e = Chord::parse("Super+Super+Q").unwrap_err().to_string();
        assert!(e.contains("Super"), "{e}");
    }

    #[test]
    fn serde_uses_the_text_form() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::Deserialize;
        let c = Chord::deserialize(StrDeserializer::<Error>::new("shift+super+Tab")).unwrap();
        assert_eq!(c, chord("Super+Shift+Tab"));
        assert_eq!(c.keys_in_order(), vec!["Shift_L", "Super_L", "Tab"]);
        let e = Chord::deserialize(StrDeserializer::<Error>::new("Super+")).unwrap_err();
        assert!(e.to_string().contains("empty part"), "{e}");
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in ["\u{0}", "++++", "Super+\u{200b}", "Ctrl+\n", "ß+ß", "a+b+c"] {
            let _ = Chord::parse(s);
        }
    }
}
