//! Per-identity global policy.
//!
//! Which Wayland globals a client may see is decided here, from the identity
//! the compositor gave the client when it inserted it (never from anything
//! the client says). The compositor asks [`GlobalSet::contains`] from
//! `GlobalDispatch::can_view`, so a global outside the set is neither
//! advertised to that client nor bindable by it (wayland-server refuses a bind
//! to a global the client cannot view, whatever name it guesses).
//!
//! This crate depends on nothing: the policy is data, checked by the config
//! loader and by `palisade validate`.

use std::collections::BTreeMap;
use std::fmt;

/// Interfaces no client of Palisade is ever offered, whatever its identity.
/// A config that grants one of them is rejected.
pub const NEVER_OFFERED: &[&str] = &[
    "zwlr_screencopy_manager_v1",
    "ext_image_copy_capture_manager_v1",
    "ext_output_image_capture_source_manager_v1",
    "ext_foreign_toplevel_image_capture_source_manager_v1",
    "zwlr_data_control_manager_v1",
    "ext_data_control_manager_v1",
    "zwp_virtual_keyboard_manager_v1",
    "zwlr_virtual_pointer_manager_v1",
    "zwp_input_method_manager_v2",
    "zwp_input_method_v1",
    "zwlr_layer_shell_v1",
    "ext_session_lock_manager_v1",
    "zwlr_foreign_toplevel_manager_v1",
    "ext_foreign_toplevel_list_v1",
    "zwlr_output_manager_v1",
    "zwlr_output_power_manager_v1",
    "zwlr_gamma_control_manager_v1",
    "xwayland_shell_v1",
    "zwp_xwayland_keyboard_grab_manager_v1",
];

macro_rules! globals {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )+) => {
        /// Every global Palisade implements and can offer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Global {
            $( $(#[$doc])* $variant, )+
        }

        impl Global {
            /// All of them, in a fixed order.
            pub const ALL: &'static [Global] = &[$(Global::$variant,)+];

            /// The Wayland interface name, as clients see it in the registry.
            pub fn interface(self) -> &'static str {
                match self {
                    $(Global::$variant => $name,)+
                }
            }
        }
    };
}

globals! {
    /// Surfaces: every client that draws needs it.
    Compositor = "wl_compositor",
    Subcompositor = "wl_subcompositor",
    Shm = "wl_shm",
    XdgWmBase = "xdg_wm_base",
    /// Server-side decorations (the compositor draws the identity border).
    XdgDecoration = "zxdg_decoration_manager_v1",
    Seat = "wl_seat",
    Output = "wl_output",
    XdgOutput = "zxdg_output_manager_v1",
    /// The clipboard and drag and drop.
    DataDevice = "wl_data_device_manager",
    Viewporter = "wp_viewporter",
    FractionalScale = "wp_fractional_scale_manager_v1",
    Presentation = "wp_presentation",
    CursorShape = "wp_cursor_shape_manager_v1",
    /// Lets a client receive the inhibitable bindings (never the privileged
    /// ones). Off by default: a web page in fullscreen can ask the browser for
    /// it (the Keyboard Lock API).
    KeyboardShortcutsInhibit = "zwp_keyboard_shortcuts_inhibit_manager_v1",
    IdleInhibit = "zwp_idle_inhibit_manager_v1",
    /// GPU buffers; only exists on the DRM backend.
    LinuxDmabuf = "zwp_linux_dmabuf_v1",
}

impl Global {
    /// The global with this interface name, if Palisade implements it.
    pub fn from_interface(name: &str) -> Option<Global> {
        Global::ALL.iter().copied().find(|g| g.interface() == name)
    }
}

impl Global {
    /// The global named `name`, as a config may grant it: a never-offered
    /// interface is refused with its own error, so the admin learns why.
    pub fn parse(name: &str) -> Result<Global, PolicyError> {
        if NEVER_OFFERED.contains(&name) {
            return Err(PolicyError::NeverOffered(name.to_owned()));
        }
        Global::from_interface(name).ok_or_else(|| PolicyError::Unknown(name.to_owned()))
    }
}

impl fmt::Display for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

/// A set of globals (a bit per [`Global`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct GlobalSet(u32);

impl GlobalSet {
    pub const EMPTY: GlobalSet = GlobalSet(0);

    fn bit(global: Global) -> u32 {
        1 << (global as u32)
    }

    pub fn of(globals: &[Global]) -> GlobalSet {
        globals.iter().fold(GlobalSet::EMPTY, |set, &g| set.with(g))
    }

    pub fn with(self, global: Global) -> GlobalSet {
        GlobalSet(self.0 | Self::bit(global))
    }

    pub fn contains(self, global: Global) -> bool {
        self.0 & Self::bit(global) != 0
    }

    /// The members, in [`Global::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Global> {
        Global::ALL
            .iter()
            .copied()
            .filter(move |&g| self.contains(g))
    }

    /// The interface names of the members.
    pub fn interfaces(self) -> Vec<&'static str> {
        self.iter().map(Global::interface).collect()
    }

    /// Parse a list of interface names. Every name must be one Palisade
    /// implements; a never-offered one is refused with its own error.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<GlobalSet, PolicyError> {
        let mut set = GlobalSet::EMPTY;
        for name in names {
            let global = Global::parse(name.as_ref())?;
            if set.contains(global) {
                return Err(PolicyError::Duplicate(global.interface().to_owned()));
            }
            set = set.with(global);
        }
        Ok(set)
    }
}

/// Why a list of globals in the config was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// A global no client may ever see (screencopy, virtual input, ...).
    NeverOffered(String),
    /// Not a global Palisade implements (a typo, or an unsupported one).
    Unknown(String),
    Duplicate(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::NeverOffered(name) => write!(
                f,
                "{name:?} is never offered to any client (it would let a client \
                 read the screen, inject input, or replace a trusted part)"
            ),
            PolicyError::Unknown(name) => write!(
                f,
                "{name:?} is not a global Palisade offers; known: {}",
                GlobalSet::of(Global::ALL).interfaces().join(", ")
            ),
            PolicyError::Duplicate(name) => write!(f, "{name:?} is listed twice"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// The identity of clients the compositor did not launch (public socket).
pub const UNKNOWN_IDENTITY: &str = "unknown";

/// What each identity may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Apps from the config without a list of their own.
    pub apps: GlobalSet,
    /// Clients of the public socket.
    pub unknown: GlobalSet,
    /// Apps with their own list (`globals` in their `[[app]]` entry).
    pub per_app: BTreeMap<String, GlobalSet>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            apps: default_apps(),
            unknown: default_unknown(),
            per_app: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// The globals a client of this identity may see.
    pub fn for_identity(&self, id: &str) -> GlobalSet {
        if id == UNKNOWN_IDENTITY {
            return self.unknown;
        }
        self.per_app.get(id).copied().unwrap_or(self.apps)
    }
}

/// What a browser and a terminal need: surfaces, shells, input, outputs, the
/// clipboard, scaling and timing, cursor shapes, idle inhibition (a video) and
/// GPU buffers. Not keyboard-shortcuts-inhibit (see [`Global`]).
pub fn default_apps() -> GlobalSet {
    use Global::*;
    GlobalSet::of(&[
        Compositor,
        Subcompositor,
        Shm,
        XdgWmBase,
        XdgDecoration,
        Seat,
        Output,
        XdgOutput,
        DataDevice,
        Viewporter,
        FractionalScale,
        Presentation,
        CursorShape,
        IdleInhibit,
        LinuxDmabuf,
    ])
}

/// The minimum to show a window and take input: no output details beyond
/// wl_output, no timing, no inhibitors, no GPU buffers. The clipboard is in
/// it because foot refuses to start without wl_data_device_manager; what an
/// "unknown" client copies is offered only to "unknown" clients, like any
/// identity's.
pub fn default_unknown() -> GlobalSet {
    use Global::*;
    GlobalSet::of(&[
        Compositor,
        Subcompositor,
        Shm,
        XdgWmBase,
        Seat,
        Output,
        DataDevice,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_global_has_a_unique_name_and_round_trips() {
        for &g in Global::ALL {
            assert_eq!(Global::from_interface(g.interface()), Some(g));
            assert!(!NEVER_OFFERED.contains(&g.interface()), "{g} is offerable");
        }
        let names = GlobalSet::of(Global::ALL).interfaces();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
        assert!(Global::ALL.len() <= 32, "GlobalSet is a u32");
    }

    #[test]
    fn parse_refuses_never_offered_unknown_and_duplicates() {
        assert_eq!(
            GlobalSet::parse(&["wl_compositor", "zwlr_screencopy_manager_v1"]),
            Err(PolicyError::NeverOffered(
                "zwlr_screencopy_manager_v1".into()
            ))
        );
        assert_eq!(
            GlobalSet::parse(&["wl_compostor"]),
            Err(PolicyError::Unknown("wl_compostor".into()))
        );
        assert_eq!(
            GlobalSet::parse(&["wl_shm", "wl_shm"]),
            Err(PolicyError::Duplicate("wl_shm".into()))
        );
        let set = GlobalSet::parse(&["wl_shm", "wl_compositor"]).unwrap();
        assert_eq!(set.interfaces(), ["wl_compositor", "wl_shm"]);
        assert_eq!(GlobalSet::parse::<&str>(&[]), Ok(GlobalSet::EMPTY));
    }

    #[test]
    fn identities_get_their_own_set() {
        let mut policy = Policy::default();
        let term = GlobalSet::of(&[Global::Compositor, Global::KeyboardShortcutsInhibit]);
        policy.per_app.insert("term".into(), term);
        assert_eq!(policy.for_identity("term"), term);
        assert_eq!(policy.for_identity("browser"), default_apps());
        assert_eq!(policy.for_identity(UNKNOWN_IDENTITY), default_unknown());
        assert!(!default_apps().contains(Global::KeyboardShortcutsInhibit));
        assert!(!default_unknown().contains(Global::IdleInhibit));
        // The unknown identity gets a strict subset of what apps get.
        for g in default_unknown().iter() {
            assert!(default_apps().contains(g), "{g}");
        }
    }
}
