//! What a fuzz case does, as plain data. Every type here derives a `Debug`
//! whose output is valid Rust (no `Vec`, no `String`), so a shrunk failing
//! sequence prints as code that pastes straight into a regression test
//! after `use palisade_tests::fuzz::ops::*;`.
//!
//! Ops name windows and popups by position among the client's *live* ones
//! (modulo their number), and clients and outputs modulo how many there
//! are: every op means something (or is a harmless no-op) in any sequence,
//! which is what lets the shrinker drop ops freely.

// The variants by name, so a printed case pastes as it is.
pub use Button::*;
pub use Grab::*;
pub use Op::*;

/// A point given relative to an output's top-left corner, in logical
/// pixels; the compositor clamps it onto the outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    /// Index among the outputs present, modulo their number.
    pub o: usize,
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Left,
    Right,
    Middle,
}

impl Button {
    pub fn code(self) -> u32 {
        use palisade::scenario::driver::{BTN_LEFT, BTN_MIDDLE, BTN_RIGHT};
        match self {
            Button::Left => BTN_LEFT,
            Button::Right => BTN_RIGHT,
            Button::Middle => BTN_MIDDLE,
        }
    }
}

/// The serial an xdg_popup.grab carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grab {
    /// No grab at all.
    NoGrab,
    /// The client's own latest key or button press (what a toolkit sends).
    Own,
    /// A number the client made up.
    Bogus(u32),
    /// Another client's latest press serial (client index, modulo).
    Theirs(usize),
}

/// An xdg_positioner, as far as the fuzzer varies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PopupOp {
    pub size: (i32, i32),
    /// The anchor point, relative to the parent's window geometry.
    pub anchor: (i32, i32),
    pub offset: (i32, i32),
    /// Index into the nine gravities (none, top, bottom, left, ...).
    pub gravity: u8,
    /// Let the compositor slide/flip/resize it (all adjustments) or not.
    pub constrain: bool,
}

/// A cursor image under the client's full control (see
/// `client::CursorSpec`): one optional subsurface `(x, y, w, h)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CursorOp {
    pub size: (i32, i32),
    pub hotspot: (i32, i32),
    pub offset: Option<(i32, i32)>,
    pub viewport: Option<(i32, i32)>,
    pub sub: Option<(i32, i32, i32, i32)>,
}

/// One step of a case: something a client or the user does.
///
/// `c` is a client index, `w` / `p` the index of one of its live windows /
/// popups (all modulo their number; a no-op when it has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    // --- clients -------------------------------------------------------
    /// Create a toplevel, wait for its configure, draw it at that size.
    Map {
        c: usize,
    },
    /// Ack the newest configure and draw at `size` (None: as configured).
    Draw {
        c: usize,
        w: usize,
        size: Option<(i32, i32)>,
    },
    Destroy {
        c: usize,
        w: usize,
    },
    Popup {
        c: usize,
        w: usize,
        grab: Grab,
        at: PopupOp,
    },
    DestroyPopup {
        c: usize,
        p: usize,
    },
    Subsurface {
        c: usize,
        w: usize,
        pos: (i32, i32),
        size: (i32, i32),
    },
    /// A wp_viewport destination on the window (once per window).
    Viewport {
        c: usize,
        w: usize,
        size: (i32, i32),
    },
    Cursor {
        c: usize,
        cursor: CursorOp,
    },
    /// A drag with a `icon`-sized icon, with the serial of the client's
    /// last button press (accepted only while that press is held).
    Drag {
        c: usize,
        w: usize,
        icon: (i32, i32),
    },
    /// Request (un)fullscreen, then redraw at whatever is configured.
    Fullscreen {
        c: usize,
        w: usize,
        on: bool,
    },
    /// An interactive move or resize request, with the client's last
    /// button serial.
    MoveResize {
        c: usize,
        w: usize,
        resize: bool,
    },
    Maximize {
        c: usize,
        w: usize,
        on: bool,
    },
    /// A min size, then a draw at that size (capped to keep buffers sane).
    MinSize {
        c: usize,
        w: usize,
        size: (i32, i32),
    },
    EmptyInputRegion {
        c: usize,
        w: usize,
    },
    /// The title set to client `of`'s identity label.
    Title {
        c: usize,
        w: usize,
        of: usize,
    },
    /// The app id set to client `of`'s identity id.
    AppId {
        c: usize,
        w: usize,
        of: usize,
    },
    Clipboard {
        c: usize,
    },

    // --- the user ------------------------------------------------------
    FocusNext,
    FocusPrev,
    Move {
        at: At,
    },
    Click {
        at: At,
        button: Button,
    },
    /// A left click on the `n`th window entry of the panels.
    ClickEntry {
        n: usize,
    },
    Press {
        button: Button,
    },
    Release {
        button: Button,
    },
    Type {
        text: &'static str,
    },
    /// Super+L, or the secure attention key (Ctrl+Alt+Delete).
    Lock {
        sak: bool,
    },
    /// The password typed on the lock screen and accepted by the helper.
    Unlock,
    /// A second output, right of the first (no-op with two already).
    AddOutput {
        size: (i32, i32),
        scale: f64,
    },
    /// Unplug output `o` (no-op with only one).
    RemoveOutput {
        o: usize,
    },
}

/// Colours: every client draws its windows, popups, subsurfaces and drag
/// icons in one colour and its cursors in another. All six are the
/// saturated corners of the RGB cube (each channel 0 or 255): no theme,
/// panel, lock screen or identity colour is one of them, and a blend of
/// two different ones (filtered edges at fractional scales) is never
/// within the match tolerance of a third.
pub const TREE: [[u8; 3]; 3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
pub const CURSOR: [[u8; 3]; 3] = [[0, 255, 255], [255, 0, 255], [255, 255, 0]];

/// The most clients a case has (one per identity).
pub const MAX_CLIENTS: usize = 3;

/// The identities of the fuzz clients: muted colours, far from the
/// client palette, so the border and the panel chips never match it.
pub fn identity(c: usize) -> palisade::Identity {
    const IDS: [(&str, &str, [u8; 3]); MAX_CLIENTS] = [
        ("fuzz-a", "Fuzz A", [0x8a, 0x6d, 0x3b]),
        ("fuzz-b", "Fuzz B", [0x3b, 0x6d, 0x8a]),
        ("fuzz-c", "Fuzz C", [0x6d, 0x3b, 0x8a]),
    ];
    let (id, label, color) = IDS[c % MAX_CLIENTS];
    crate::fixture::identity(id, label, color)
}

pub fn rgba(c: [u8; 3]) -> [u8; 4] {
    [c[0], c[1], c[2], 255]
}
