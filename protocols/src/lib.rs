//! Per-identity global policy.
//!
//! This crate will decide, for each client identity, which Wayland globals it
//! may see (`GlobalDispatch::can_view`), with the list of globals that no client
//! is ever offered. For now it names that list, so that the compositor and its
//! tests agree on what must never appear.

/// Interfaces no client of Palisade is ever offered, whatever its identity.
pub const NEVER_OFFERED: &[&str] = &[
    "zwlr_screencopy_manager_v1",
    "ext_image_copy_capture_manager_v1",
    "ext_output_image_capture_source_manager_v1",
    "zwlr_data_control_manager_v1",
    "ext_data_control_manager_v1",
    "zwp_virtual_keyboard_manager_v1",
    "zwlr_virtual_pointer_manager_v1",
    "zwp_input_method_manager_v2",
    "zwlr_layer_shell_v1",
    "ext_session_lock_manager_v1",
    "zwlr_foreign_toplevel_manager_v1",
    "ext_foreign_toplevel_list_v1",
    "zwlr_output_manager_v1",
    "zwlr_gamma_control_manager_v1",
    "xwayland_shell_v1",
];
