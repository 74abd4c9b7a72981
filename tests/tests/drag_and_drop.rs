//! Drag and drop stays inside the identity that started it: a drag from one
//! identity's window gets no enter, no offer and no drop on another
//! identity's window, while the same drag onto a window of its own identity
//! works (the control).

use palisade::scenario::driver::BTN_LEFT;
use palisade_tests::fixture::{identity, output, Fixture};

const RED: [u8; 4] = [200, 30, 30, 255];
const BLUE: [u8; 4] = [30, 30, 200, 255];

/// How often a drag from `a`'s window entered the window of a client of
/// `target` identity (wl_data_device.enter, which carries the data offer).
fn drag_onto(target: &str) -> usize {
    // Two outputs side by side: the source's window on the left one, the
    // target's on the right one, each placed where the pointer is.
    let mut f = Fixture::new(vec![output(800, 600, 1.0), output(800, 600, 1.0)]);
    let a = f.add_client(identity("a", "A", [0xaa, 0, 0]));
    let b = f.add_client(identity(target, target, [0, 0, 0xaa]));
    f.driver.pointer_to(400.0, 300.0);
    let wa = f.map_window(a, RED);
    f.driver.pointer_to(1200.0, 300.0);
    f.map_window(b, BLUE);
    let outputs: Vec<String> = (f.state().windows.iter())
        .map(|w| w.output.clone())
        .collect();
    assert_eq!(outputs.len(), 2);
    assert_ne!(outputs[0], outputs[1], "both windows on one output");

    // Press on a's window, start the drag, carry it over b's window and
    // let go there.
    f.driver.pointer_to(400.0, 300.0);
    let time = f.driver.state.pal.now_ms();
    f.driver.state.handle_button(BTN_LEFT, true, time);
    f.roundtrip(a);
    assert!(f.client(a).start_drag(wa, "dragged secret"), "no drag sent");
    f.roundtrip(a);
    assert!(
        f.driver.state.pal.input.drag_identity() == Some("a"),
        "the compositor did not see the drag start"
    );
    for x in [600.0, 900.0, 1100.0, 1200.0] {
        f.driver.pointer_to(x, 300.0);
        f.roundtrip(b);
    }
    let entered = f.client(b).drag_enters();
    let time = f.driver.state.pal.now_ms();
    f.driver.state.handle_button(BTN_LEFT, false, time);
    f.roundtrip(b);
    f.roundtrip(a);
    assert_eq!(
        f.driver.state.pal.input.drag_identity(),
        None,
        "the drag ended"
    );
    entered
}

#[test]
fn a_drag_reaches_windows_of_its_own_identity() {
    let enters = drag_onto("a");
    assert!(
        enters >= 1,
        "the drag never entered the same identity's window"
    );
}

#[test]
fn a_drag_never_reaches_another_identitys_window() {
    let enters = drag_onto("b");
    assert_eq!(enters, 0, "the drag entered another identity's window");
}
