//! Running ops against a fresh headless Palisade: the world a case runs
//! in (the fixture, its clients, the helper's end of the link) and what
//! each op does there. After every op the world is settled: every client
//! has had two round trips (so what one client's request caused for
//! another has been read too) and every frame that was due is rendered,
//! so the checks look at a quiet compositor and a frame that shows it.

use palisade::backend::headless::Pixels;
use palisade::config::Config;
use palisade::input::TypingMap;
use palisade_shortcuts::proto::{Request, UsbGrant};
use palisade_shortcuts::Chord;
use smithay::input::keyboard::Keycode;
use smithay::utils::{Logical, Point};
use wayland_protocols::xdg::shell::client::xdg_positioner::{
    Anchor, ConstraintAdjustment, Gravity,
};

use super::ops::{rgba, At, Button, CursorOp, Grab, Op, PopupOp, CURSOR, TREE};
use super::view;
use crate::client::{CursorSpec, PopupId, PositionerSpec, SubsurfaceSpec, WindowId};
use crate::fixture::{output, ClientId, Fixture, HelperPeer};

/// The first output of every case.
pub const FIRST_OUTPUT: (i32, i32) = (1024, 640);

/// Buffers are capped at this size each way: huge enough to overflow any
/// work area, small enough to fill quickly.
const MAX_DRAW: (i32, i32) = (2600, 1800);

/// One fuzz client: its test client and what the runner knows it holds.
pub struct FuzzClient {
    pub id: ClientId,
    pub label: String,
    /// Live windows, oldest first.
    pub windows: Vec<WindowId>,
    /// Live popups with their parent window, oldest first.
    pub popups: Vec<(PopupId, WindowId)>,
    /// Windows that have a wp_viewport (a second one is a protocol error).
    viewports: Vec<WindowId>,
    /// The icon size of a drag this client started while a button is held.
    pub drag_icon: Option<(i32, i32)>,
}

/// What the ops of a run achieved, to show the fuzzer gets somewhere
/// (a grab that is never granted tests nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Coverage {
    pub windows: u64,
    pub popups_shown: u64,
    pub grabs_granted: u64,
    pub client_cursor_frames: u64,
    pub drags: u64,
    pub locks: u64,
    pub unlocks: u64,
    pub hotplugs: u64,
}

impl Coverage {
    pub fn add(&mut self, o: &Coverage) {
        self.windows += o.windows;
        self.popups_shown += o.popups_shown;
        self.grabs_granted += o.grabs_granted;
        self.client_cursor_frames += o.client_cursor_frames;
        self.drags += o.drags;
        self.locks += o.locks;
        self.unlocks += o.unlocks;
        self.hotplugs += o.hotplugs;
    }
}

pub struct World {
    pub f: Fixture,
    pub coverage: Coverage,
    /// Which key types what in the fixture's layout (the default config's).
    pub typing: TypingMap,
    /// The first frame of every output after a `Lock` op's keys, rendered
    /// before anything else ran: the lock must hold from that frame on.
    pub lock_frames: Vec<(String, Pixels)>,
    pub helper: HelperPeer,
    pub clients: Vec<FuzzClient>,
    /// The helper has been told the current lock is engaged (its Lock
    /// request arrived): only then does a password count.
    lock_reported: bool,
    held: Vec<Button>,
    /// Frames of outputs that were unplugged (they leave `driver.frames`).
    removed_frames: u64,
}

/// The key the probe presses (a keysym name): F12, which no binding uses
/// and which types nothing on the lock screen.
pub const PROBE_KEY: &str = "F12";

impl World {
    pub fn new(clients: usize) -> World {
        let mut config = Config::embedded_default();
        // Nothing may depend on how long a case takes: no idle lock, no
        // outputs switching off while locked.
        config.lock.idle_after = None;
        config.lock.outputs_off_after = None;
        let (w, h) = FIRST_OUTPUT;
        let mut f = Fixture::with_config(config, vec![output(w, h, 1.0)]);
        f.driver.state.pal.clock_override = Some("12:00".into());
        let helper = f.connect_welcomed_helper(UsbGrant::Denied);
        // Background clients: a user launch would let a first window take
        // focus only within a time limit, which a slow run could miss.
        let clients = (0..clients.clamp(1, super::ops::MAX_CLIENTS))
            .map(|c| {
                let identity = super::ops::identity(c);
                FuzzClient {
                    label: identity.label.clone(),
                    id: f.add_background_client(identity),
                    windows: Vec::new(),
                    popups: Vec::new(),
                    viewports: Vec::new(),
                    drag_icon: None,
                }
            })
            .collect();
        let mut world = World {
            f,
            coverage: Coverage::default(),
            typing: TypingMap::new(&Config::embedded_default()).expect("the default layout"),
            lock_frames: Vec::new(),
            helper,
            clients,
            lock_reported: false,
            held: Vec::new(),
            removed_frames: 0,
        };
        world.settle();
        world
    }

    /// Frames rendered so far, unplugged outputs included.
    pub fn frames(&self) -> u64 {
        view::frames(&self.f) + self.removed_frames
    }

    pub fn locked(&self) -> bool {
        self.f.driver.state.pal.is_locked()
    }

    /// Two round trips for every connected client, then every frame due
    /// rendered, then whatever the helper was sent read.
    pub fn settle(&mut self) {
        self.sync_all();
        self.f
            .driver
            .flush_frames()
            .expect("rendering the frames due");
        self.sync_all();
        self.drain_helper();
    }

    pub fn sync_all(&mut self) {
        for _ in 0..2 {
            let ids: Vec<ClientId> = self.clients.iter().map(|c| c.id).collect();
            let syncs: Vec<_> = (ids.into_iter())
                .filter_map(|id| {
                    let client = self.f.client(id);
                    client.is_connected().then(|| (id, client.send_sync()))
                })
                .collect();
            self.f.wait("every client's round trip", |f| {
                (syncs.iter())
                    .all(|&(id, s)| f.client(id).sync_done(s) || !f.client(id).is_connected())
            });
        }
    }

    fn drain_helper(&mut self) {
        while let Some(request) = self.helper.try_recv() {
            if request == Request::Lock {
                self.lock_reported = true;
            }
        }
    }

    fn client_index(&self, c: usize) -> usize {
        c % self.clients.len()
    }

    fn window(&self, c: usize, w: usize) -> Option<(usize, WindowId)> {
        let c = self.client_index(c);
        let live = &self.clients[c].windows;
        (!live.is_empty()).then(|| (c, live[w % live.len()]))
    }

    /// A point of `at` in global logical coordinates.
    fn global(&self, at: At) -> Point<f64, Logical> {
        let outputs = view::outputs(&self.f);
        let loc = outputs
            .get(at.o % outputs.len().max(1))
            .map_or((0, 0).into(), |o| o.geo.loc);
        Point::from((
            f64::from(loc.x) + f64::from(at.x) + 0.5,
            f64::from(loc.y) + f64::from(at.y) + 0.5,
        ))
    }

    /// Do `op`, then settle.
    pub fn apply(&mut self, op: &Op) {
        tracing::debug!(?op, "fuzz op");
        let was_locked = self.locked();
        self.lock_frames.clear();
        match *op {
            Op::FocusNext => self.f.key_chord("Super+Tab"),
            Op::FocusPrev => self.f.key_chord("Super+Shift+Tab"),
            Op::Move { at } => {
                let p = self.global(at);
                self.f.driver.pointer_to(p.x, p.y);
            }
            Op::Click { at, button } => {
                let p = self.global(at);
                self.f.driver.pointer_to(p.x, p.y);
                self.f.driver.click(button.code());
            }
            Op::ClickEntry { n } => self.click_entry(n),
            Op::Press { button } => {
                self.f.button(button.code(), true);
                self.held.push(button);
            }
            Op::Release { button } => {
                self.f.button(button.code(), false);
                self.held.retain(|b| *b != button);
                if self.held.is_empty() {
                    self.clients.iter_mut().for_each(|c| c.drag_icon = None);
                }
            }
            Op::Type { text } => self.f.driver.type_text(text).expect("typing"),
            Op::Lock { sak } => self.lock(sak),
            Op::Unlock => self.unlock(),
            Op::AddOutput { size, scale } => {
                if view::outputs(&self.f).len() < 2 {
                    (self.f.driver)
                        .add_output(output(size.0, size.1, scale))
                        .expect("adding an output");
                    self.coverage.hotplugs += 1;
                }
            }
            Op::RemoveOutput { o } => {
                let outputs = view::outputs(&self.f);
                if outputs.len() >= 2 {
                    let name = outputs[o % outputs.len()].name.clone();
                    self.removed_frames += view::output_frames(&self.f, &name);
                    (self.f.driver)
                        .remove_output(&name)
                        .expect("removing an output");
                    self.coverage.hotplugs += 1;
                }
            }
            _ => self.client_op(op),
        }
        if !was_locked && self.locked() {
            self.coverage.locks += 1;
            // A new lock: its Lock report is still to come (it may be
            // queued already; `settle` reads it).
            self.lock_reported = false;
        }
        self.settle();
    }

    fn click_entry(&mut self, n: usize) {
        let entries = view::entries(&self.f);
        if entries.is_empty() {
            return;
        }
        let entry = &entries[n % entries.len()];
        let outputs = view::outputs(&self.f);
        let Some(out) = outputs.iter().find(|o| o.name == entry.output) else {
            return;
        };
        if let Some(p) = view::entry_point(&self.f, out, entry.id) {
            self.f.driver.pointer_to(p.x, p.y);
            self.f.driver.click(Button::Left.code());
        }
    }

    /// The lock chord's keys, then at once the next frame of every output
    /// (kept for the checks), then the loop as usual.
    fn lock(&mut self, sak: bool) {
        self.lock_frames.clear();
        let chord = if sak { "Ctrl+Alt+Delete" } else { "Super+L" };
        let keys = self.chord_keys(chord);
        let time = self.f.driver.state.pal.now_ms();
        for &(code, pressed) in &keys {
            self.f.driver.state.handle_key(code, pressed, time);
        }
        if self.locked() {
            let driver = &mut self.f.driver;
            driver
                .flush_frames()
                .expect("rendering the first locked frames");
            for name in driver.output_names() {
                let px = driver.last_frame(&name).expect("reading a locked frame");
                self.lock_frames.push((name, px));
            }
        }
        self.clients.iter_mut().for_each(|c| c.drag_icon = None);
    }

    /// A chord's keys as the driver presses them: in order, then released
    /// in reverse.
    fn chord_keys(&self, chord: &str) -> Vec<(Keycode, bool)> {
        let chord = Chord::parse(chord).expect("a valid chord");
        let codes: Vec<Keycode> = (chord.keys_in_order().iter())
            .map(|name| {
                self.typing
                    .key_for_name(name)
                    .expect("a key in the layout")
                    .0
            })
            .collect();
        (codes.iter().map(|&c| (c, true)))
            .chain(codes.iter().rev().map(|&c| (c, false)))
            .collect()
    }

    fn unlock(&mut self) {
        if !self.locked() {
            return;
        }
        // A password counts only once the lock is engaged, which the
        // helper hears of first.
        while !self.lock_reported {
            let request = (self.f).next_helper_request(&mut self.helper, "the helper's Lock");
            self.lock_reported = request == Request::Lock;
        }
        self.f.unlock_with_password(&mut self.helper);
        self.coverage.unlocks += 1;
    }

    fn client_op(&mut self, op: &Op) {
        match *op {
            Op::Map { c } => {
                let c = self.client_index(c);
                let id = self.clients[c].id;
                let w = self.f.client(id).create_window();
                self.f.wait("a new window's first configure", |f| {
                    !f.client(id).configures(w).is_empty() || !f.client(id).is_connected()
                });
                self.f.client(id).ack_and_draw(w, None, rgba(TREE[c]));
                self.clients[c].windows.push(w);
                self.coverage.windows += 1;
            }
            Op::Draw { c, w, size } => self.with_window(c, w, |f, id, w, color| {
                f.client(id).ack_and_draw(w, size.map(cap), color)
            }),
            Op::Destroy { c, w } => {
                if let Some((c, w)) = self.window(c, w) {
                    let id = self.clients[c].id;
                    self.f.client(id).destroy_window(w);
                    let fc = &mut self.clients[c];
                    fc.windows.retain(|x| *x != w);
                    fc.popups.retain(|(_, parent)| *parent != w);
                }
            }
            Op::Popup { c, w, grab, at } => self.popup(c, w, grab, at),
            Op::DestroyPopup { c, p } => {
                let c = self.client_index(c);
                let live = &self.clients[c].popups;
                if !live.is_empty() {
                    let (p, _) = live[p % live.len()];
                    let id = self.clients[c].id;
                    self.f.client(id).destroy_popup(p);
                    self.clients[c].popups.retain(|(x, _)| *x != p);
                }
            }
            Op::Subsurface { c, w, pos, size } => self.with_window(c, w, |f, id, w, color| {
                f.client(id).add_subsurface(w, pos, cap(size), color)
            }),
            Op::Viewport { c, w, size } => {
                if let Some((c, w)) = self.window(c, w) {
                    if !self.clients[c].viewports.contains(&w) {
                        self.clients[c].viewports.push(w);
                        let id = self.clients[c].id;
                        self.f.client(id).set_viewport_destination(w, size);
                    }
                }
            }
            Op::Cursor { c, cursor } => {
                let c = self.client_index(c);
                let id = self.clients[c].id;
                self.f
                    .client(id)
                    .set_cursor_image(&cursor_spec(&cursor, CURSOR[c]));
            }
            Op::Drag { c, w, icon } => {
                if let Some((c, w)) = self.window(c, w) {
                    let id = self.clients[c].id;
                    let icon = cap(icon);
                    let sent =
                        (self.f.client(id)).start_drag_with_icon(w, "dragged", icon, rgba(TREE[c]));
                    if sent && !self.held.is_empty() {
                        self.clients[c].drag_icon = Some(icon);
                        self.coverage.drags += 1;
                    }
                }
            }
            Op::Fullscreen { c, w, on } => self.with_window(c, w, |f, id, w, color| {
                f.client(id).set_fullscreen(w, on);
                roundtrip(f, id);
                f.client(id).ack_and_draw(w, None, color);
            }),
            Op::Maximize { c, w, on } => self.with_window(c, w, |f, id, w, color| {
                f.client(id).set_maximized(w, on);
                roundtrip(f, id);
                f.client(id).ack_and_draw(w, None, color);
            }),
            Op::MoveResize { c, w, resize } => self.with_window(c, w, |f, id, w, _| {
                f.client(id).request_move_or_resize(w, resize)
            }),
            Op::MinSize { c, w, size } => self.with_window(c, w, |f, id, w, color| {
                f.client(id).set_min_size(w, size);
                f.client(id).ack_and_draw(w, Some(cap(size)), color);
            }),
            Op::EmptyInputRegion { c, w } => {
                self.with_window(c, w, |f, id, w, _| f.client(id).set_input_region(w, &[]))
            }
            Op::Title { c, w, of } => {
                let label = super::ops::identity(of % self.clients.len()).label;
                self.with_window(c, w, |f, id, w, _| f.client(id).set_title(w, &label))
            }
            Op::AppId { c, w, of } => {
                let app_id = super::ops::identity(of % self.clients.len()).id;
                self.with_window(c, w, |f, id, w, _| f.client(id).set_app_id(w, &app_id))
            }
            Op::Clipboard { c } => {
                let id = self.clients[self.client_index(c)].id;
                self.f.client(id).set_clipboard("fuzz");
            }
            _ => unreachable!("user ops are handled in `apply`"),
        }
    }

    fn with_window(
        &mut self,
        c: usize,
        w: usize,
        act: impl FnOnce(&mut Fixture, ClientId, WindowId, [u8; 4]),
    ) {
        if let Some((c, w)) = self.window(c, w) {
            let id = self.clients[c].id;
            if self.f.client(id).is_connected() {
                act(&mut self.f, id, w, rgba(TREE[c]));
            }
        }
    }

    fn popup(&mut self, c: usize, w: usize, grab: Grab, at: PopupOp) {
        let Some((c, w)) = self.window(c, w) else {
            return;
        };
        let id = self.clients[c].id;
        if !self.f.client(id).is_connected() {
            return;
        }
        let serial = match grab {
            Grab::NoGrab => None,
            Grab::Own => Some(self.f.client(id).last_input_serial().unwrap_or(0)),
            Grab::Bogus(s) => Some(s),
            Grab::Theirs(k) => {
                let other = self.clients[k % self.clients.len()].id;
                Some(self.f.client(other).last_input_serial().unwrap_or(0))
            }
        };
        let spec = positioner(&at);
        let client = self.f.client(id);
        let p = match serial {
            Some(serial) => client.create_grabbing_popup(w, &spec, serial),
            None => client.create_popup(w, &spec),
        };
        self.f.wait("the popup's configure or popup_done", |f| {
            let client = f.client(id);
            !client.popup_configures(p).is_empty() || client.popup_done(p) || !client.is_connected()
        });
        if !self.f.client(id).popup_done(p) {
            self.f.client(id).ack_and_draw_popup(p, rgba(TREE[c]));
            self.coverage.popups_shown += 1;
            if serial.is_some() {
                roundtrip(&mut self.f, id);
                let granted = self.f.client(id).keyboard_focus_popup() == Some(p);
                self.coverage.grabs_granted += u64::from(granted);
            }
        }
        self.clients[c].popups.push((p, w));
    }
}

/// A round trip that also ends when the compositor disconnected the
/// client (a protocol error is the compositor's right, not a hang).
fn roundtrip(f: &mut Fixture, id: ClientId) {
    let sync = f.client(id).send_sync();
    f.wait("a client round trip", |f| {
        f.client(id).sync_done(sync) || !f.client(id).is_connected()
    });
}

fn cap((w, h): (i32, i32)) -> (i32, i32) {
    (w.clamp(1, MAX_DRAW.0), h.clamp(1, MAX_DRAW.1))
}

fn cursor_spec(op: &CursorOp, color: [u8; 3]) -> CursorSpec {
    let rgba = rgba(color);
    CursorSpec {
        size: cap(op.size),
        rgba,
        hotspot: op.hotspot,
        attach_offset: op.offset,
        viewport: op.viewport,
        subsurfaces: (op.sub.iter())
            .map(|&(x, y, w, h)| SubsurfaceSpec {
                pos: (x, y),
                size: cap((w, h)),
                rgba,
            })
            .collect(),
    }
}

fn positioner(at: &PopupOp) -> PositionerSpec {
    const GRAVITIES: [Gravity; 9] = [
        Gravity::None,
        Gravity::Top,
        Gravity::Bottom,
        Gravity::Left,
        Gravity::Right,
        Gravity::TopLeft,
        Gravity::BottomLeft,
        Gravity::TopRight,
        Gravity::BottomRight,
    ];
    PositionerSpec {
        size: (at.size.0.max(1), at.size.1.max(1)),
        anchor_rect: (at.anchor.0, at.anchor.1, 1, 1),
        anchor: Anchor::TopLeft,
        gravity: GRAVITIES[usize::from(at.gravity) % GRAVITIES.len()],
        constraint: match at.constrain {
            true => ConstraintAdjustment::all(),
            false => ConstraintAdjustment::None,
        },
        offset: at.offset,
    }
}
