//! The lock screen: the lock state machine and the lock screen's pixels.
//!
//! Palisade has no lock client to crash or impersonate; the compositor draws
//! the lock screen itself, from this crate. It has no Wayland or Smithay
//! types and is meant to be audited in one sitting:
//!
//! - [`Lock`] (`lock.rs`): unlocked, locking, locked, authenticating, and a
//!   generation number bumped by every lock. Unlocked is reached only by an
//!   `Accepted` answer for the password in flight of the current generation,
//!   so an answer meant for an earlier lock can never end a later one, and a
//!   lost helper, an odd answer or a restart all leave the screen locked.
//!   A compositor that restarts starts again from [`Lock::new_locked`].
//! - [`PasswordField`] (`password.rs`): the password being typed, in one
//!   zeroizing buffer that never reallocates, capped at
//!   [`MAX_PASSWORD`](palisade_shortcuts::proto::MAX_PASSWORD) bytes,
//!   never printed; [`PasswordField::take`] moves it into the helper
//!   protocol's zeroizing [`Password`](palisade_shortcuts::proto::Password).
//! - [`LockView`] (`view.rs`): what the screen shows, plain data the
//!   compositor fills in. **No password text ever reaches it**: the field
//!   contributes only [`PasswordField::len_chars`] as `dots`. So the
//!   drawing code, its caches and anything that logs or compares views
//!   (`LockView` is `Debug` and `PartialEq`) never hold the secret, and the
//!   only path of the password is field -> `take()` -> helper request.
//! - [`LockScreen`] (`render.rs`): draws a view into a full-output, fully
//!   opaque RGBA buffer with the theme's colours and the panel's embedded
//!   fonts (one text path for all trusted words).
//!
//! The compositor's side of the contract: from [`Lock::lock`] on, no client
//! pixel is composited and no client gets input; it calls
//! [`Lock::engaged`] once every output has shown a frame from
//! [`LockScreen::render`]; outputs added while locked show the lock screen
//! from their first frame.

mod lock;
mod password;
mod render;
mod view;

pub use lock::{outcome_message, Answer, Lock, Phase};
pub use password::PasswordField;
pub use render::{LockScreen, MAX_SIDE};
pub use view::LockView;

// The types the API speaks in, so a caller needs no direct dependency.
pub use palisade_panel::{Rect, UsbState};
pub use palisade_shortcuts::proto::{AuthOutcome, Password, MAX_PASSWORD};
