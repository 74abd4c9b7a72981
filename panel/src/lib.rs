//! The trusted panel: panel state in, pixels out.
//!
//! This crate will draw the strip at the top of every output (window list with
//! identity chips, the focused window's identity, USB, Wi-Fi, battery, clock,
//! lock button) with tiny-skia and cosmic-text, at the output's scale. It holds
//! no Wayland types so it can be reviewed and tested on its own. Until then the
//! compositor draws the reserved strip as a plain bar; [`DEFAULT_HEIGHT`] is the
//! one number both sides already share.

pub mod model;

pub use model::{BatteryState, Hit, PanelState, UsbState, WifiState, WindowEntry};

/// Height of the reserved strip in logical pixels.
pub const DEFAULT_HEIGHT: i32 = 32;
