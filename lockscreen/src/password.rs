//! The password being typed.
//!
//! The bytes live in one buffer allocated at its full size up front, so
//! typing never reallocates and leaves no stray copy of a prefix behind in
//! freed memory; whatever is removed is overwritten with zeros first, and
//! the whole buffer is zeroized when dropped. Only a count of characters
//! ever leaves this type before [`PasswordField::take`] hands the password
//! to the helper protocol's own zeroizing type.

use palisade_shortcuts::proto::{Password, MAX_PASSWORD};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The password being typed: zeroized on drop and on clear, capped at
/// MAX_PASSWORD bytes (further input ignored), never Debug-printed.
pub struct PasswordField {
    /// Valid UTF-8 (only whole encoded chars are ever appended), at most
    /// MAX_PASSWORD bytes, capacity MAX_PASSWORD from the start.
    bytes: Zeroizing<Vec<u8>>,
    chars: usize,
    /// Something did not fit: ignore input until the field shrinks, so what
    /// is kept is always a prefix of what was typed.
    full: bool,
}

impl PasswordField {
    pub fn new() -> PasswordField {
        PasswordField {
            bytes: Zeroizing::new(Vec::with_capacity(MAX_PASSWORD)),
            chars: 0,
            full: false,
        }
    }

    /// Appends typed text. Control characters (Enter, Tab, Escape, Delete
    /// and the like arrive as text from some keymaps) are dropped: they are
    /// keys, not part of a password. Once a character does not fit in
    /// MAX_PASSWORD bytes, it and all further input is ignored until
    /// backspace, clear or take.
    pub fn push_str(&mut self, s: &str) {
        let mut buf = [0u8; 4];
        for c in s.chars().filter(|c| !c.is_control()) {
            if self.full || self.bytes.len() + c.len_utf8() > MAX_PASSWORD {
                self.full = true;
                break;
            }
            let encoded = c.encode_utf8(&mut buf);
            // Within the capacity reserved in new(): no reallocation.
            self.bytes.extend_from_slice(encoded.as_bytes());
            self.chars += 1;
        }
        buf.zeroize();
    }

    /// Removes the last character and zeroes its bytes.
    pub fn backspace(&mut self) {
        // UTF-8 continuation bytes look like 0b10xx_xxxx; the char starts
        // at the last byte that is not one.
        let Some(start) = self.bytes.iter().rposition(|b| b & 0xc0 != 0x80) else {
            return;
        };
        self.bytes[start..].zeroize();
        self.bytes.truncate(start);
        self.chars = self.chars.saturating_sub(1);
        self.full = false;
    }

    /// Empties the field, zeroing what it held.
    pub fn clear(&mut self) {
        // Zeroize on a Vec wipes the contents and the spare capacity, then
        // empties it; the allocation (and so its capacity) is kept.
        self.bytes.zeroize();
        self.chars = 0;
        self.full = false;
    }

    /// The number of characters typed: all the lock screen ever shows.
    pub fn len_chars(&self) -> usize {
        self.chars
    }

    pub fn is_empty(&self) -> bool {
        self.chars == 0
    }

    /// Takes the password out (the field is cleared) as a proto::Password.
    pub fn take(&mut self) -> Password {
        // Moves the buffer itself into the Password: no copy to wipe.
        let bytes = std::mem::replace(&mut *self.bytes, Vec::with_capacity(MAX_PASSWORD));
        self.chars = 0;
        self.full = false;
        match Password::new(bytes) {
            Ok(password) => password,
            // Unreachable (push_str keeps to MAX_PASSWORD) and Password::new
            // has zeroized the bytes; an empty password is always refused.
            Err(_) => empty_password(),
        }
    }
}

/// An empty Password without a panic path: Password::new only fails for
/// more than MAX_PASSWORD bytes, so the fallback here is never taken.
fn empty_password() -> Password {
    Password::new(Vec::new()).unwrap_or_else(|_| empty_password())
}

impl Default for PasswordField {
    fn default() -> Self {
        PasswordField::new()
    }
}

/// Shows neither the password nor its length.
impl fmt::Debug for PasswordField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordField(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_string(f: &mut PasswordField) -> String {
        String::from_utf8(f.take().expose().to_vec()).expect("valid UTF-8")
    }

    #[test]
    fn typing_and_take() {
        let mut f = PasswordField::new();
        f.push_str("hunter");
        f.push_str("2");
        assert_eq!(f.len_chars(), 7);
        assert_eq!(take_string(&mut f), "hunter2");
        assert_eq!(f.len_chars(), 0);
        assert!(f.is_empty());
        assert!(f.take().expose().is_empty(), "take() cleared the field");
    }

    #[test]
    fn control_chars_are_ignored() {
        let mut f = PasswordField::new();
        f.push_str("a\rb\n\tc\u{1b}\u{7f}\u{8}d\u{0}");
        assert_eq!(f.len_chars(), 4);
        assert_eq!(take_string(&mut f), "abcd");
    }

    #[test]
    fn backspace_removes_whole_multibyte_chars() {
        let mut f = PasswordField::new();
        f.push_str("aé€😀");
        assert_eq!(f.len_chars(), 4);
        f.backspace();
        assert_eq!(f.len_chars(), 3);
        f.backspace();
        f.backspace();
        assert_eq!(take_string(&mut f), "a");
        f.backspace();
        f.backspace();
        assert_eq!(f.len_chars(), 0);
    }

    #[test]
    fn capped_at_max_password_bytes() {
        let mut f = PasswordField::new();
        f.push_str(&"x".repeat(MAX_PASSWORD - 1));
        f.push_str("€"); // 3 bytes: does not fit
        f.push_str("y"); // would fit, but input after an overflow is ignored
        assert_eq!(f.len_chars(), MAX_PASSWORD - 1);
        f.backspace();
        f.push_str("ab");
        assert_eq!(f.len_chars(), MAX_PASSWORD);
        f.push_str(&"z".repeat(10_000));
        assert_eq!(f.len_chars(), MAX_PASSWORD);
        assert_eq!(f.bytes.capacity(), MAX_PASSWORD, "never reallocated");
        let p = f.take();
        assert_eq!(p.expose().len(), MAX_PASSWORD);
        assert!(p.expose().ends_with(b"ab"));
    }

    #[test]
    fn clear_empties() {
        let mut f = PasswordField::new();
        f.push_str("secret");
        f.clear();
        assert_eq!(f.len_chars(), 0);
        assert!(f.take().expose().is_empty());
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut f = PasswordField::new();
        f.push_str("correct horse");
        let shown = format!("{f:?} {f:#?}");
        assert!(
            !shown.contains("correct") && !shown.contains("13"),
            "{shown}"
        );
    }
}
