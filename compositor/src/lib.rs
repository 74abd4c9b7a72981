//! Palisade, the trusted system compositor.
//!
//! The crate is the `palisade` binary's library half, so tests and benchmarks
//! can drive the very same compositor in-process.

pub mod backend;
pub mod cli;
pub mod clipboard;
pub mod config;
pub mod dnd;
pub mod focus;
pub mod handlers;
pub mod helper;
pub mod idle;
pub mod input;
pub mod introspect;
pub mod launcher;
pub mod layout;
pub mod limits;
pub mod lock;
pub mod logind;
pub mod panel;
pub mod render;
pub mod scenario;
pub mod screenshot;
pub mod shell;
pub mod stack;
pub mod state;
pub mod status;

pub use shell::Mapped;
pub use state::{ClientState, Identity, Palisade, State};
