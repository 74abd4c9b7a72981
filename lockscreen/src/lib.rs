//! The lock screen.
//!
//! This crate will hold the lock state machine (unlocked, locking, locked,
//! authenticating, with a generation number so a late answer can never end a
//! newer lock) and the drawing of the lock screen. It has no Wayland types and
//! stays small enough to audit in one sitting. Nothing lives here yet: the
//! foundation compositor has no lock.
