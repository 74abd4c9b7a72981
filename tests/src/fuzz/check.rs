//! The invariants, checked after every op on the settled world. Each
//! check collects every breach it sees, named by invariant:
//!
//! 1. **Strip**: unlocked, every output's strip shows exactly the panel's
//!    own pixels; only inside the compositor's cursor box, when the
//!    pointer is on the strip, may a pixel instead be that cursor's pure
//!    black or white.
//! 2. **One focus**: unlocked, exactly the client owning the panel's
//!    focused entry gets a probe key (bound to nothing), and nobody when
//!    no entry is focused; no other client gets any key event; within
//!    that client the keyboard is on that window or one of its popups;
//!    that window is the only one whose newest configure says Activated;
//!    keys typed by a `Type` op went to that client alone.
//! 3. **Lock**: locked, no client has keyboard or pointer focus (as the
//!    client sees it), no client colour is on any output (from the first
//!    frame rendered after the lock keys on), nobody gets the
//!    probe key; from one locked op to the next no client gets a key,
//!    enter or button event, and the clipboard owner does not change.
//! 4. **Work area**: unlocked, no client colour in any strip; an output
//!    shows a client's window colour only if that client has a window on
//!    it (or drags an icon at the pointer there), and a client's cursor
//!    colour only within 256 logical px of the pointer, in a box at most
//!    that large, while the window visibly on top at the pointer is that
//!    client's.

use palisade::backend::headless::Pixels;
use palisade::input::TypingMap;
use wayland_protocols::xdg::shell::client::xdg_toplevel::State as XdgState;

use super::ops::{Op, CURSOR, TREE};
use super::runner::{World, PROBE_KEY};
use super::view::{self, OutputView};
use crate::client::KeyboardEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    /// The run itself failed: a wait timed out or something panicked.
    Harness,
    Strip,
    OneFocus,
    Lock,
    WorkArea,
}

impl Invariant {
    pub fn describe(self) -> &'static str {
        match self {
            Invariant::Harness => "the run (a wait timed out or something panicked)",
            Invariant::Strip => "invariant 1 (the strip shows exactly the panel's pixels)",
            Invariant::OneFocus => "invariant 2 (keys and Activated follow the panel's focus)",
            Invariant::Lock => "invariant 3 (while locked no client has input or pixels)",
            Invariant::WorkArea => "invariant 4 (client pixels stay in their work areas)",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub invariant: Invariant,
    /// Which check saw it (finer than the invariant), for telling
    /// distinct breaches apart.
    pub kind: &'static str,
    pub what: String,
}

/// The match tolerance per channel for a client colour.
const TOLERANCE: u8 = 8;
/// The compositor's own cursor, in logical px (a square with a dark rim).
const COMPOSITOR_CURSOR: f64 = 12.0;
/// The largest client cursor shown, logical px each way.
const MAX_CURSOR: f64 = 256.0;

/// What the checks compare against the state before an op.
#[derive(Debug, Clone)]
pub struct Before {
    locked: bool,
    keys: Vec<usize>,
    enters: Vec<usize>,
    buttons: Vec<usize>,
    clipboard: Option<String>,
}

pub fn before(w: &mut World) -> Before {
    let mut b = Before {
        locked: w.locked(),
        keys: Vec::new(),
        enters: Vec::new(),
        buttons: Vec::new(),
        clipboard: view::clipboard_owner(&w.f),
    };
    for c in 0..w.clients.len() {
        let client = w.f.client(w.clients[c].id);
        b.keys.push(client.keyboard_events().len());
        b.enters.push(client.pointer_enters());
        b.buttons.push(client.pointer_buttons());
    }
    b
}

/// Every breach after `op`, which has been applied and settled.
pub fn check(w: &mut World, op: &Op, before: &Before) -> Vec<Breach> {
    let mut out = Vec::new();
    let outputs = view::outputs(&w.f);
    let frames: Vec<Pixels> = (outputs.iter())
        .map(|o| (w.f.driver.last_frame(&o.name)).expect("reading an output's last frame"))
        .collect();
    for (name, px) in std::mem::take(&mut w.lock_frames) {
        // The first frame after the lock keys, before anything else ran.
        for (c, role, count, first) in paints(&px, w.clients.len()) {
            out.push(breach(
                Invariant::Lock,
                "lock-first-frame",
                format!(
                    "{count} px of {}'s {role} colour on {name} in the first frame after the \
                     lock keys, first at {first:?}",
                    who(w, c)
                ),
            ));
        }
    }
    if w.locked() {
        locked(w, before, &outputs, &frames, &mut out);
    } else {
        for (o, px) in outputs.iter().zip(&frames) {
            strip(w, o, px, &mut out);
            work_area(w, o, px, &mut out);
        }
        if matches!(op, Op::Type { .. }) && !before.locked {
            typed(w, op, before, &mut out);
        }
    }
    if before.locked {
        // Whatever was typed on the lock screen (the password too)
        // reached no client, unlocking or not.
        for c in 0..w.clients.len() {
            let keys = key_events(w, c, before.keys[c]);
            if !keys.is_empty() {
                out.push(breach(
                    Invariant::Lock,
                    "lock-keys",
                    format!("{} got keys typed while locked: {keys:?}", who(w, c)),
                ));
            }
        }
    }
    probe(w, &mut out);
    out
}

fn breach(invariant: Invariant, kind: &'static str, what: String) -> Breach {
    Breach {
        invariant,
        kind,
        what,
    }
}

fn who(w: &World, c: usize) -> String {
    format!("client {c} ({})", w.clients[c].label)
}

/// Key events client `c` received since index `from` of its log.
fn key_events(w: &mut World, c: usize, from: usize) -> Vec<(u32, bool)> {
    let events = w.f.client(w.clients[c].id).keyboard_events();
    (events[from.min(events.len())..].iter())
        .filter_map(|e| match e {
            KeyboardEvent::Key { key, pressed } => Some((*key, *pressed)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Pixels.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Tree,
    Cursor,
}

/// Which client colour a pixel is, as (client, role), if any.
fn paint_of(p: [u8; 4], clients: usize) -> Option<(usize, Role)> {
    let mut rgb = [0u8; 3];
    for i in 0..3 {
        rgb[i] = match p[i] {
            v if v <= TOLERANCE => 0,
            v if v >= 255 - TOLERANCE => 255,
            _ => return None,
        };
    }
    let c = TREE.iter().position(|t| *t == rgb);
    if let Some(c) = c.filter(|&c| c < clients) {
        return Some((c, Role::Tree));
    }
    let c = CURSOR.iter().position(|t| *t == rgb)?;
    (c < clients).then_some((c, Role::Cursor))
}

/// Physical rows of the strip on `o`: as many as the panel drew.
fn strip_rows(w: &World, o: &OutputView, px: &Pixels) -> u32 {
    let panel = view::panel_pixels(&w.f, &o.name);
    match (panel.len() / 4) as u32 / px.width.max(1) {
        0 => (f64::from(o.work_area.loc.y - o.geo.loc.y) * o.scale).round() as u32,
        rows => rows.min(px.height),
    }
}

/// A rectangle of physical pixels, x0..x1 by y0..y1.
#[derive(Debug, Clone, Copy)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    fn contains(&self, x: u32, y: u32) -> bool {
        let (x, y) = (f64::from(x), f64::from(y));
        self.x0 <= x && x < self.x1 && self.y0 <= y && y < self.y1
    }
}

fn strip(w: &mut World, o: &OutputView, px: &Pixels, out: &mut Vec<Breach>) {
    let panel = view::panel_pixels(&w.f, &o.name);
    let rows = strip_rows(w, o, px);
    if panel.len() < (rows * px.width * 4) as usize {
        out.push(breach(
            Invariant::Strip,
            "panel-undrawn",
            format!("the panel of {} has not been drawn", o.name),
        ));
        return;
    }
    // The compositor's cursor, when the pointer is on this strip.
    let pointer = view::pointer(&w.f);
    let on_strip = view::cursor_visible(&w.f)
        && o.contains(pointer)
        && pointer.y < f64::from(o.work_area.loc.y);
    let cursor = on_strip.then(|| {
        let (x, y) = o.to_physical(pointer);
        let size = (COMPOSITOR_CURSOR * o.scale).round();
        // One pixel of slack each way for rounding.
        let (x, y) = (x.round() - 1.0, y.round() - 1.0);
        Box2 {
            x0: x,
            y0: y,
            x1: x + size + 2.0,
            y1: y + size + 2.0,
        }
    });
    let mut count = 0;
    let mut first = None;
    for y in 0..rows {
        for x in 0..px.width {
            let i = ((y * px.width + x) * 4) as usize;
            let shown = px.at(x, y);
            let drawn = &panel[i..i + 3];
            if (0..3).all(|c| shown[c].abs_diff(drawn[c]) <= 1) {
                continue;
            }
            let black_or_white = shown[..3] == [0, 0, 0] || shown[..3] == [255, 255, 255];
            if black_or_white && cursor.is_some_and(|b| b.contains(x, y)) {
                continue;
            }
            count += 1;
            first.get_or_insert((x, y, shown));
        }
    }
    if count > 0 {
        let (x, y, p) = first.unwrap_or_default();
        out.push(breach(
            Invariant::Strip,
            "strip-not-panel",
            format!(
                "{count} strip pixels of {} are not the panel's, first at ({x}, {y}): {:?}{}",
                o.name,
                &p[..3],
                if on_strip {
                    " (pointer on this strip)"
                } else {
                    ""
                },
            ),
        ));
    }
}

/// Where a client colour may show on one output, physical pixels; None:
/// nowhere.
type Allowed = Option<Box2>;

const EVERYWHERE: Box2 = Box2 {
    x0: f64::NEG_INFINITY,
    y0: f64::NEG_INFINITY,
    x1: f64::INFINITY,
    y1: f64::INFINITY,
};

fn work_area(w: &mut World, o: &OutputView, px: &Pixels, out: &mut Vec<Breach>) {
    let n = w.clients.len();
    let state = w.f.state();
    let pointer = view::pointer(&w.f);
    let visible = view::cursor_visible(&w.f);
    let on_top = view::top_label_at(&w.f, pointer);
    let (pxp, pyp) = o.to_physical(pointer);
    let mut allowed: Vec<(Allowed, Allowed)> = Vec::new();
    for c in 0..n {
        let id = super::ops::identity(c).id;
        let has_window =
            (state.windows.iter()).any(|win| win.identity == id && win.output == o.name);
        let tree = if has_window {
            Some(EVERYWHERE)
        } else {
            // A drag icon is drawn at the pointer, wherever that is.
            (w.clients[c].drag_icon)
                .filter(|_| visible && o.contains(pointer))
                .map(|(iw, ih)| Box2 {
                    x0: pxp - 2.0,
                    y0: pyp - 2.0,
                    x1: pxp + f64::from(iw) * o.scale + 2.0,
                    y1: pyp + f64::from(ih) * o.scale + 2.0,
                })
        };
        let mine = on_top.as_deref() == Some(w.clients[c].label.as_str());
        let reach = MAX_CURSOR * o.scale + 2.0;
        let cursor = (visible && mine).then_some(Box2 {
            x0: pxp - reach,
            y0: pyp - reach,
            x1: pxp + reach,
            y1: pyp + reach,
        });
        allowed.push((tree, cursor));
    }
    let rows = strip_rows(w, o, px);
    // Per (client, role): pixels in the strip, pixels out of place (first
    // of each), and the bounding box of the cursor's pixels.
    let mut strip = vec![[(0u64, (0, 0)); 2]; n];
    let mut misplaced = vec![[(0u64, (0, 0)); 2]; n];
    let mut cursor_box = vec![None::<(u32, u32, u32, u32)>; n];
    for y in 0..px.height {
        for x in 0..px.width {
            let Some((c, role)) = paint_of(px.at(x, y), n) else {
                continue;
            };
            let r = role as usize;
            if y < rows {
                let s = &mut strip[c][r];
                s.0 += 1;
                if s.0 == 1 {
                    s.1 = (x, y);
                }
                continue;
            }
            let ok = match role {
                Role::Tree => allowed[c].0,
                Role::Cursor => allowed[c].1,
            };
            if !ok.is_some_and(|b| b.contains(x, y)) {
                let m = &mut misplaced[c][r];
                m.0 += 1;
                if m.0 == 1 {
                    m.1 = (x, y);
                }
            }
            if role == Role::Cursor {
                let b = cursor_box[c].get_or_insert((x, y, x, y));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    if cursor_box.iter().any(Option::is_some) {
        w.coverage.client_cursor_frames += 1;
    }
    let top = on_top.as_deref().unwrap_or("nothing");
    let at = format!("pointer at ({:.0}, {:.0}) over {top}", pointer.x, pointer.y);
    for c in 0..n {
        for (r, role) in ["window", "cursor"].iter().enumerate() {
            let (count, first) = strip[c][r];
            if count > 0 {
                out.push(breach(
                    Invariant::WorkArea,
                    "colour-in-strip",
                    format!(
                        "{count} px of {}'s {role} colour in the strip of {}, first at {first:?}",
                        who(w, c),
                        o.name
                    ),
                ));
            }
            let (count, first) = misplaced[c][r];
            if count > 0 {
                let why = match r {
                    0 => format!("where it has no window ({at})"),
                    _ => format!("outside its reach ({at})"),
                };
                out.push(breach(
                    Invariant::WorkArea,
                    "colour-misplaced",
                    format!(
                        "{count} px of {}'s {role} colour on {} {why}, first at {first:?}",
                        who(w, c),
                        o.name
                    ),
                ));
            }
        }
        if let Some((x0, y0, x1, y1)) = cursor_box[c] {
            let limit = MAX_CURSOR * o.scale + 2.0;
            let (bw, bh) = (f64::from(x1 - x0 + 1), f64::from(y1 - y0 + 1));
            if bw > limit || bh > limit {
                out.push(breach(
                    Invariant::WorkArea,
                    "cursor-too-large",
                    format!(
                        "{}'s cursor shows {bw}x{bh} physical px on {} (over 256 logical)",
                        who(w, c),
                        o.name
                    ),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The lock.

fn locked(
    w: &mut World,
    before: &Before,
    outputs: &[OutputView],
    frames: &[Pixels],
    out: &mut Vec<Breach>,
) {
    let n = w.clients.len();
    for c in 0..n {
        let id = w.clients[c].id;
        let client = w.f.client(id);
        if !client.is_connected() {
            continue;
        }
        let (kb, ptr) = (client.keyboard_focus(), client.has_pointer_focus());
        if kb || ptr {
            out.push(breach(
                Invariant::Lock,
                "lock-focus",
                format!(
                    "{} holds focus while locked (keyboard {kb}, pointer {ptr})",
                    who(w, c)
                ),
            ));
        }
        if !before.locked {
            continue;
        }
        // From one locked op to the next: no input at all.
        let client = w.f.client(id);
        let enters_kb = client.keyboard_events()[before.keys[c]..]
            .iter()
            .filter(|e| **e == KeyboardEvent::Enter)
            .count();
        let enters = client.pointer_enters() - before.enters[c];
        let buttons = client.pointer_buttons() - before.buttons[c];
        if enters_kb + enters + buttons > 0 {
            out.push(breach(
                Invariant::Lock,
                "lock-input",
                format!(
                    "{} got input while locked: {enters_kb} keyboard enters, {enters} pointer \
                     enters, {buttons} buttons",
                    who(w, c)
                ),
            ));
        }
    }
    if before.locked {
        let owner = view::clipboard_owner(&w.f);
        if owner != before.clipboard {
            out.push(breach(
                Invariant::Lock,
                "lock-clipboard",
                format!(
                    "the clipboard owner changed while locked: {:?} -> {owner:?}",
                    before.clipboard
                ),
            ));
        }
    }
    for (o, px) in outputs.iter().zip(frames) {
        for (c, role, count, first) in paints(px, n) {
            out.push(breach(
                Invariant::Lock,
                "lock-pixels",
                format!(
                    "{count} px of {}'s {role} colour on {} while locked, first at {first:?}",
                    who(w, c),
                    o.name
                ),
            ));
        }
    }
}

/// Every client colour on `px`: (client, "window" or "cursor", how many
/// pixels, the first).
fn paints(px: &Pixels, clients: usize) -> Vec<(usize, &'static str, u64, (u32, u32))> {
    let mut seen = vec![[(0u64, (0, 0)); 2]; clients];
    for y in 0..px.height {
        for x in 0..px.width {
            if let Some((c, role)) = paint_of(px.at(x, y), clients) {
                let s = &mut seen[c][role as usize];
                s.0 += 1;
                if s.0 == 1 {
                    s.1 = (x, y);
                }
            }
        }
    }
    let mut found = Vec::new();
    for (c, roles) in seen.iter().enumerate() {
        for (r, &(count, first)) in roles.iter().enumerate() {
            if count > 0 {
                found.push((c, ["window", "cursor"][r], count, first));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Keys and activation.

/// The client owning the panel's focused entry and which of its windows
/// that is; breaches if the panels disagree or the window is none of the
/// client's live ones.
fn panel_focus(w: &mut World, out: &mut Vec<Breach>) -> Option<(usize, Option<usize>)> {
    let focused: Vec<view::Entry> = (view::entries(&w.f).into_iter())
        .filter(|e| e.focused)
        .collect();
    if focused.len() > 1 {
        out.push(breach(
            Invariant::OneFocus,
            "panels-focus",
            format!(
                "the panels show {} entries focused: {focused:?}",
                focused.len()
            ),
        ));
    }
    let entry = focused.first()?;
    let Some(c) = w.clients.iter().position(|c| c.label == entry.label) else {
        out.push(breach(
            Invariant::OneFocus,
            "panel-focus-unknown",
            format!("the panel's focused entry {entry:?} is no fuzz client's"),
        ));
        return None;
    };
    let surface = view::entry_surface_id(&w.f, entry.id);
    let id = w.clients[c].id;
    let window = (w.clients[c].windows.iter().copied())
        .find(|&win| Some(w.f.client(id).window_surface_id(win)) == surface);
    Some((c, window))
}

/// The evdev keys (press, release) typing `chars` sends.
fn expected_keys(map: &TypingMap, chars: &str) -> Vec<(u32, bool)> {
    let evdev = |k: smithay::input::keyboard::Keycode| k.raw() - 8;
    let (shift, _) = map.key_for_name("Shift_L").expect("Shift_L");
    let mut keys = Vec::new();
    for ch in chars.chars() {
        let (code, shifted) = map.key_for_char(ch).expect("a typable character");
        if shifted {
            keys.push((evdev(shift), true));
        }
        keys.extend([(evdev(code), true), (evdev(code), false)]);
        if shifted {
            keys.push((evdev(shift), false));
        }
    }
    keys
}

fn probe_keys(map: &TypingMap) -> Vec<(u32, bool)> {
    let (code, _) = map.key_for_name(PROBE_KEY).expect("the probe key");
    vec![(code.raw() - 8, true), (code.raw() - 8, false)]
}

/// A `Type` op's keys went to the focused client only.
fn typed(w: &mut World, op: &Op, before: &Before, out: &mut Vec<Breach>) {
    let Op::Type { text } = *op else {
        return;
    };
    let mut ignore = Vec::new();
    let owner = panel_focus(w, &mut ignore).map(|(c, _)| c);
    for c in 0..w.clients.len() {
        let got = key_events(w, c, before.keys[c]);
        let want = if owner == Some(c) {
            expected_keys(&w.typing, text)
        } else {
            Vec::new()
        };
        if got != want {
            out.push(breach(
                Invariant::OneFocus,
                "typed-keys",
                format!(
                    "typing {text:?} with the panel showing {} focused: {} got {got:?}",
                    owner.map_or("nothing".into(), |o| who(w, o)),
                    who(w, c)
                ),
            ));
        }
    }
}

/// Press and release the probe key; exactly the panel's focused client
/// gets it (nobody while locked), and only its focused window is
/// activated.
fn probe(w: &mut World, out: &mut Vec<Breach>) {
    let locked = w.locked();
    let focus = if locked { None } else { panel_focus(w, out) };
    let from: Vec<usize> = (0..w.clients.len())
        .map(|c| w.f.client(w.clients[c].id).keyboard_events().len())
        .collect();
    w.f.key_chord(PROBE_KEY);
    w.sync_all();
    let invariant = if locked {
        Invariant::Lock
    } else {
        Invariant::OneFocus
    };
    let shows = match focus {
        Some((c, _)) if !locked => format!("the panel shows {} focused", who(w, c)),
        _ if locked => "locked".to_string(),
        _ => "the panel shows nothing focused".to_string(),
    };
    for (c, &from) in from.iter().enumerate() {
        if !w.f.client(w.clients[c].id).is_connected() {
            continue;
        }
        let got = key_events(w, c, from);
        let want = match focus {
            Some((f, _)) if f == c => probe_keys(&w.typing),
            _ => Vec::new(),
        };
        if got != want {
            out.push(breach(
                invariant,
                "probe-keys",
                format!("probe key with {shows}: {} got {got:?}", who(w, c)),
            ));
        }
    }
    if locked {
        return;
    }
    // Within the focused client: its keyboard is on the focused window or
    // on a popup of that window (a grab), never on another of its windows.
    if let Some((c, Some(fw))) = focus {
        let client = w.f.client(w.clients[c].id);
        let (kw, kp) = (
            client.keyboard_focus_window(),
            client.keyboard_focus_popup(),
        );
        let on_popup = kp.is_some_and(|p| w.clients[c].popups.contains(&(p, fw)));
        if kw != Some(fw) && !on_popup {
            out.push(breach(
                Invariant::OneFocus,
                "keyboard-window",
                format!(
                    "{}'s keyboard is on (window, popup) {:?}, not on its window {fw} the panel \
                     shows focused",
                    who(w, c),
                    (kw, kp)
                ),
            ));
        }
    }
    if let Some((c, None)) = focus {
        out.push(breach(
            Invariant::OneFocus,
            "panel-focus-dead",
            format!(
                "the panel's focused entry is none of {}'s live windows",
                who(w, c)
            ),
        ));
    }
    for c in 0..w.clients.len() {
        let id = w.clients[c].id;
        if !w.f.client(id).is_connected() {
            continue;
        }
        for win in w.clients[c].windows.clone() {
            let activated = (w.f.client(id).configures(win).last())
                .is_some_and(|conf| conf.states.contains(&XdgState::Activated));
            let want = focus == Some((c, Some(win)));
            if activated != want {
                out.push(breach(
                    Invariant::OneFocus,
                    "activated",
                    format!(
                        "{}'s window {win}: newest configure {} Activated, while {shows}",
                        who(w, c),
                        if activated { "says" } else { "does not say" },
                    ),
                ));
            }
        }
    }
}
