//! Cases from seeds. The generator keeps a rough model of what exists
//! (windows and popups per client, outputs, the lock, held buttons) only
//! to weight its choices towards ops that do something; the runner never
//! relies on it, so a shrunk sequence means the same as it did.

use super::ops::{At, Button, CursorOp, Grab, Op, PopupOp};
use super::rng::Rng;
use super::Case;

/// Rough model of the world, for weighting.
struct Model {
    clients: usize,
    windows: Vec<usize>,
    popups: Vec<usize>,
    outputs: usize,
    locked: bool,
    held: bool,
}

/// A case from `seed`: 2 or 3 clients and 30 to 50 ops.
pub fn case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let clients = 2 + rng.below(2);
    let len = 30 + rng.below(21);
    let mut m = Model {
        clients,
        windows: vec![0; clients],
        popups: vec![0; clients],
        outputs: 1,
        locked: false,
        held: false,
    };
    let mut ops = Vec::with_capacity(len + 4);
    while ops.len() < len {
        for op in next(&mut rng, &mut m) {
            ops.push(op);
        }
    }
    Case { clients, ops }
}

/// One op, or a few that only make sense together (a press, a drag and
/// the motion that carries it; a click and the menu it opens).
fn next(r: &mut Rng, m: &mut Model) -> Vec<Op> {
    let c = r.below(m.clients);
    let w = r.below(4);
    let total: usize = m.windows.iter().sum();
    // (weight, kind): weights shift with what exists.
    let has = |n: usize| if n > 0 { 1 } else { 0 };
    let table: [(usize, u8); 30] = [
        (
            match total {
                0 => 60,
                1 => 12,
                2..=4 => 5,
                _ => 1,
            },
            0,
        ),
        (3 * has(m.windows[c]), 1),
        (2 * has(m.windows[c]), 2),
        (5 * has(m.windows[c]), 3),
        (2 * has(m.popups[c]), 4),
        (3 * has(m.windows[c]), 5),
        (has(m.windows[c]), 6),
        (5, 7),
        (2 * has(m.windows[c]), 8),
        (2 * has(m.windows[c]), 9),
        (has(m.windows[c]), 10),
        (has(m.windows[c]), 11),
        (has(m.windows[c]), 12),
        (has(m.windows[c]), 13),
        (has(m.windows[c]), 14),
        (2, 15),
        (4, 16),
        (2, 17),
        (5, 18),
        (6, 19),
        (3, 20),
        (2, 21),
        (if m.held { 3 } else { 0 }, 22),
        (2, 23),
        (if m.locked { 1 } else { 2 }, 24),
        (if m.locked { 5 } else { 0 }, 25),
        (if m.outputs < 2 { 2 } else { 0 }, 26),
        (if m.outputs > 1 { 1 } else { 0 }, 27),
        (3 * has(m.windows[c]), 28),
        (2 * has(total), 29),
    ];
    let sum: usize = table.iter().map(|(w, _)| w).sum();
    let mut pick = r.below(sum);
    let mut kind = 0;
    for (weight, k) in table {
        if pick < weight {
            kind = k;
            break;
        }
        pick -= weight;
    }
    match kind {
        0 => {
            // Mostly a client with the fewest windows: every identity gets
            // some, so focus has somewhere to go.
            let fewest = (0..m.clients).min_by_key(|&k| m.windows[k]).unwrap_or(0);
            let c = if r.chance(70) { fewest } else { c };
            m.windows[c] += 1;
            vec![Op::Map { c }]
        }
        1 => vec![Op::Draw {
            c,
            w,
            size: r.chance(50).then(|| (r.range(1, 2400), r.range(1, 1600))),
        }],
        2 => {
            m.windows[c] -= 1;
            m.popups[c] = 0;
            vec![Op::Destroy { c, w }]
        }
        3 => {
            m.popups[c] += 1;
            vec![popup(r, c, w)]
        }
        4 => {
            m.popups[c] -= 1;
            vec![Op::DestroyPopup { c, p: r.below(4) }]
        }
        5 => vec![Op::Subsurface {
            c,
            w,
            pos: if r.chance(10) {
                (
                    r.pick(&[-30000, -1, 0, 30000]),
                    r.pick(&[-30000, -40, 30000]),
                )
            } else {
                (r.range(-1500, 1500), r.range(-800, 800))
            },
            size: (r.range(1, 1400), r.range(1, 500)),
        }],
        6 => vec![Op::Viewport {
            c,
            w,
            size: (r.range(1, 5000), r.range(1, 5000)),
        }],
        7 => vec![Op::Cursor {
            c,
            cursor: cursor(r),
        }],
        8 => {
            // A press on a window, a drag from it, and motion: across the
            // strip, to another output.
            m.held = true;
            vec![
                Op::Press {
                    button: Button::Left,
                },
                Op::Drag {
                    c,
                    w,
                    icon: (r.range(1, 300), r.range(1, 300)),
                },
                Op::Move { at: at(r) },
            ]
        }
        9 => vec![Op::Fullscreen {
            c,
            w,
            on: r.chance(70),
        }],
        10 if r.chance(50) => vec![Op::MoveResize {
            c,
            w,
            resize: r.chance(50),
        }],
        10 => vec![Op::Maximize {
            c,
            w,
            on: r.chance(70),
        }],
        11 => vec![Op::MinSize {
            c,
            w,
            size: (r.range(0, 8000), r.range(0, 8000)),
        }],
        12 => vec![Op::EmptyInputRegion { c, w }],
        13 => vec![Op::Title {
            c,
            w,
            of: r.below(m.clients),
        }],
        14 => vec![Op::AppId {
            c,
            w,
            of: r.below(m.clients),
        }],
        15 => vec![Op::Clipboard { c }],
        16 => vec![Op::FocusNext],
        17 => vec![Op::FocusPrev],
        18 => vec![Op::Move { at: at(r) }],
        19 => vec![Op::Click {
            at: at(r),
            button: r.pick(&[Button::Left, Button::Left, Button::Right, Button::Middle]),
        }],
        20 => vec![Op::ClickEntry { n: r.below(6) }],
        21 => {
            m.held = true;
            vec![Op::Press {
                button: r.pick(&[Button::Left, Button::Right]),
            }]
        }
        22 => {
            m.held = false;
            vec![Op::Release {
                button: Button::Left,
            }]
        }
        23 => vec![Op::Type {
            text: r.pick(&["hello", "x", "Secret1", "pw"]),
        }],
        24 => {
            m.locked = true;
            m.held = false;
            vec![Op::Lock { sak: r.chance(20) }]
        }
        25 => {
            m.locked = false;
            vec![Op::Unlock]
        }
        26 => {
            m.outputs = 2;
            let (size, scale) =
                r.pick(&[((800, 500), 1.0), ((1600, 1000), 2.0), ((1200, 750), 1.5)]);
            vec![Op::AddOutput { size, scale }]
        }
        27 => {
            m.outputs = 1;
            vec![Op::RemoveOutput { o: r.below(2) }]
        }
        28 => {
            // A right click (a toolkit's menu button) and the menu it
            // opens, grabbing with the click's serial.
            m.popups[c] += 1;
            vec![
                Op::Click {
                    at: work_point(r),
                    button: Button::Right,
                },
                Op::Popup {
                    c,
                    w,
                    grab: Grab::Own,
                    at: popup_at(r),
                },
            ]
        }
        _ => vec![
            Op::Move { at: work_point(r) },
            Op::Cursor {
                c,
                cursor: cursor(r),
            },
        ],
    }
}

/// Anywhere on an output, a quarter of the time on its strip.
fn at(r: &mut Rng) -> At {
    At {
        o: r.below(2),
        x: r.range(-20, 1100),
        y: if r.chance(25) {
            r.range(0, 31)
        } else {
            r.range(0, 700)
        },
    }
}

/// Inside a work area, often right below the strip.
fn work_point(r: &mut Rng) -> At {
    At {
        o: r.below(2),
        x: r.range(10, 780),
        y: if r.chance(40) {
            r.range(33, 60)
        } else {
            r.range(33, 480)
        },
    }
}

fn popup(r: &mut Rng, c: usize, w: usize) -> Op {
    let grab = match r.below(100) {
        0..=29 => Grab::NoGrab,
        30..=69 => Grab::Own,
        70..=84 => Grab::Bogus(r.range(0, 5000) as u32),
        _ => Grab::Theirs(r.below(3)),
    };
    Op::Popup {
        c,
        w,
        grab,
        at: popup_at(r),
    }
}

fn popup_at(r: &mut Rng) -> PopupOp {
    PopupOp {
        size: (r.range(1, 600), r.range(1, 500)),
        anchor: (r.range(-100, 1000), r.range(-300, 700)),
        offset: (r.range(-600, 600), r.range(-900, 600)),
        gravity: r.below(9) as u8,
        constrain: r.chance(50),
    }
}

fn cursor(r: &mut Rng) -> CursorOp {
    let size = if r.chance(20) {
        (r.range(200, 400), r.range(200, 400))
    } else {
        (r.range(1, 64), r.range(1, 64))
    };
    let hotspot = if r.chance(25) {
        (r.range(-400, 800), r.range(-400, 800))
    } else {
        (r.range(0, size.0 - 1), r.range(0, size.1 - 1))
    };
    CursorOp {
        size,
        hotspot,
        offset: r
            .chance(20)
            .then(|| (r.range(-300, 300), r.range(-300, 300))),
        viewport: r.chance(20).then(|| (r.range(1, 1500), r.range(1, 1000))),
        sub: r.chance(25).then(|| {
            (
                r.range(-700, 300),
                r.range(-700, 300),
                r.range(1, 1300),
                r.range(1, 400),
            )
        }),
    }
}
