//! Integration test support: the in-process harness (headless Palisade with
//! virtual outputs, synthetic input, pixel readback) and an in-process
//! Wayland test client.

pub mod binary;
pub mod client;
pub mod dbus;
pub mod fixture;
pub mod fuzz;
pub mod helper;
pub mod live;
