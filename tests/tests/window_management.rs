//! Window management with in-process clients and real pixels: the work area,
//! fullscreen, popups, dialogs, focus, closing and outputs.

use palisade_tests::client::PositionerSpec;
use palisade_tests::fixture::{border_width, identity, output, window_area, Fixture};
use wayland_protocols::xdg::shell::client::{xdg_positioner, xdg_toplevel};

const OUT: &str = "headless-1";
const BLUE: [u8; 4] = [0, 0, 255, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const MAGENTA: [u8; 4] = [255, 0, 255, 255];

/// Pixels of a window filling headless-1's work area (inside its border).
fn area_px() -> u64 {
    let [_, _, w, h] = window_area([0, 32, 1280, 768]);
    (w * h) as u64
}

/// The configure size of a window filling a work area of `w`x`h`.
fn inset(w: i32, h: i32) -> (i32, i32) {
    (w - 2 * border_width(), h - 2 * border_width())
}

fn one_client() -> (Fixture, usize) {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("term", "Terminal", [0x34, 0xa8, 0x53]));
    (f, c)
}

#[test]
fn toplevel_fills_the_work_area_below_the_strip() {
    let (mut f, c) = one_client();
    let w = f.map_window(c, BLUE);
    let configure = f
        .client(c)
        .configures(w)
        .last()
        .cloned()
        .expect("configured");
    assert_eq!(
        configure.size,
        inset(1280, 768),
        "sized to the output minus the 32 px strip, inside the border"
    );
    let state = f.state();
    assert_eq!(state.outputs[0].work_area, [0, 32, 1280, 768]);
    assert_eq!(state.windows[0].geometry, window_area([0, 32, 1280, 768]));
    assert_eq!(state.windows[0].identity, "term");
    f.wait_color(OUT, [0, 0, 255], area_px());
    f.assert_strip_is_panel(OUT);
}

#[test]
fn fullscreen_fills_the_work_area_never_the_strip() {
    let (mut f, c) = one_client();
    let w = f.map_window(c, BLUE);
    f.client(c).set_fullscreen(w, true);
    f.wait("a fullscreen configure", |f| {
        f.client(c)
            .configures(w)
            .last()
            .is_some_and(|c| c.states.contains(&xdg_toplevel::State::Fullscreen))
    });
    let configure = f
        .client(c)
        .configures(w)
        .last()
        .cloned()
        .expect("configured");
    assert_eq!(
        configure.size,
        inset(1280, 768),
        "fullscreen is the work area, inside the border"
    );
    // A hostile client draws the whole output anyway: clipped, never in the strip.
    f.client(c).ack_and_draw(w, Some((1280, 800)), GREEN);
    f.wait_color(OUT, [0, 255, 0], area_px());
    f.assert_strip_is_panel(OUT);
    let state = f.state();
    assert!(state.windows[0].fullscreen);
    assert_eq!(
        state.windows[0].geometry[1],
        32 + border_width(),
        "the window starts below the strip and its border"
    );
}

#[test]
fn oversized_buffer_is_clipped_to_the_work_area() {
    let (mut f, c) = one_client();
    let w = f.map_window(c, BLUE);
    f.client(c).ack_and_draw(w, Some((4000, 4000)), GREEN);
    f.wait_color(OUT, [0, 255, 0], area_px());
    f.assert_strip_is_panel(OUT);
}

/// A 300x200 popup anchored at the window's top edge, growing upwards:
/// unconstrained, it would sit in the strip. Returns (fixture, client, popup)
/// once the popup's configure has arrived.
fn popup_above_the_window(
    constraint: xdg_positioner::ConstraintAdjustment,
    offset: (i32, i32),
) -> (Fixture, usize, usize) {
    let (mut f, c) = one_client();
    let w = f.map_window(c, BLUE);
    let spec = PositionerSpec {
        size: (300, 200),
        anchor_rect: (400, 0, 10, 1),
        anchor: xdg_positioner::Anchor::Top,
        gravity: xdg_positioner::Gravity::Top,
        constraint,
        offset,
    };
    let p = f.client(c).create_popup(w, &spec);
    f.wait("the popup configure", |f| {
        !f.client(c).popup_configures(p).is_empty()
    });
    (f, c, p)
}

#[test]
fn popup_anchored_above_the_window_is_kept_inside_the_work_area() {
    // With flip/slide allowed it must be moved down into the work area.
    let allowed =
        xdg_positioner::ConstraintAdjustment::FlipY | xdg_positioner::ConstraintAdjustment::SlideY;
    let (mut f, c, p) = popup_above_the_window(allowed, (0, 0));
    let conf = f
        .client(c)
        .popup_configures(p)
        .last()
        .cloned()
        .expect("configured");
    assert!(
        conf.y >= 0,
        "popup placed at y={} relative to the window, above the work area",
        conf.y
    );
    assert!(
        conf.x >= 0 && conf.x + conf.width <= 1280,
        "popup outside the output: {conf:?}"
    );
    f.client(c).ack_and_draw_popup(p, MAGENTA);
    f.wait_color(OUT, [255, 0, 255], 300 * 200);
    f.assert_strip_is_panel(OUT);
}

#[test]
fn popup_that_refuses_adjustment_is_clipped_out_of_the_strip() {
    let (mut f, c, p) =
        popup_above_the_window(xdg_positioner::ConstraintAdjustment::empty(), (0, -50));
    f.client(c).ack_and_draw_popup(p, MAGENTA);
    f.roundtrip(c);
    f.assert_strip_is_panel(OUT);
    let px = f.pixels(OUT);
    assert_eq!(
        px.count_near([255, 0, 255], 8),
        0,
        "the popup lies wholly above the work area"
    );
}

#[test]
fn dialog_is_centred_over_its_parent() {
    let (mut f, c) = one_client();
    let parent = f.map_window(c, BLUE);
    let dialog = f.client(c).create_window();
    f.client(c).set_parent(dialog, Some(parent));
    f.client(c).set_title(dialog, "dialog");
    f.roundtrip(c);
    f.wait("the dialog's configure", |f| {
        !f.client(c).configures(dialog).is_empty()
    });
    // The compositor lets a dialog pick its size: the client draws 400x300.
    f.client(c).ack_and_draw(dialog, Some((400, 300)), GREEN);
    f.wait("the dialog mapped", |f| f.driver.mapped_windows() == 2);
    let state = f.state();
    let d = state
        .windows
        .iter()
        .find(|w| w.title == "dialog")
        .expect("dialog in state");
    // Parent is [0,32,1280,768]: centre (640,416).
    assert_eq!(d.geometry, [440, 266, 400, 300]);
    assert!(d.focused, "the newest window gets focus");
    f.wait_color(OUT, [0, 255, 0], 400 * 300);
}

#[test]
fn every_window_has_a_border_in_its_identity_colour_even_fullscreen() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0)]);
    let green = [0x34, 0xa8, 0x53];
    let c = f.add_client(identity("term", "Terminal", green));
    let w = f.map_window(c, BLUE);
    let check = |f: &mut Fixture, what: &str| {
        let px = f.pixels(OUT);
        let b = border_width() as u32;
        // Inside each border bar, away from the corners.
        for (x, y) in [(640, 32), (640, 799 - b + 1), (0, 400), (1279 - b + 1, 400)] {
            for d in 0..b {
                let (x, y) = if y == 400 { (x + d, y) } else { (x, y + d) };
                assert_eq!(&px.at(x, y)[..3], &green, "{what}: border pixel ({x},{y})");
            }
        }
        assert_eq!(
            &px.at(640, 400)[..3],
            &[0, 0, 255],
            "{what}: the window itself"
        );
    };
    f.wait_color(OUT, [0, 0, 255], area_px());
    check(&mut f, "normal window");
    // A client drawing past its geometry does not paint over its border.
    f.client(c).ack_and_draw(w, Some((1400, 900)), BLUE);
    f.roundtrip(c);
    check(&mut f, "oversized buffer");
    f.client(c).set_fullscreen(w, true);
    f.wait("a fullscreen configure", |f| {
        f.client(c)
            .configures(w)
            .last()
            .is_some_and(|c| c.states.contains(&xdg_toplevel::State::Fullscreen))
    });
    f.client(c).ack_and_draw(w, None, BLUE);
    f.roundtrip(c);
    check(&mut f, "fullscreen");
}

#[test]
fn newest_window_gets_focus_and_super_tab_cycles() {
    let (mut f, c) = one_client();
    let mut ids = Vec::new();
    for title in ["one", "two", "three"] {
        let w = f.client(c).create_window();
        f.client(c).set_title(w, title);
        f.wait("configure", |f| !f.client(c).configures(w).is_empty());
        f.client(c).ack_and_draw(w, None, BLUE);
        let n = ids.len() + 1;
        f.wait("mapped", |f| f.driver.mapped_windows() == n);
        ids.push(w);
        f.roundtrip(c);
        let focused = focused_title(&f);
        assert_eq!(
            focused.as_deref(),
            Some(title),
            "the newest window has focus"
        );
        assert_eq!(
            f.client(c).keyboard_focus_window(),
            Some(w),
            "wl_keyboard.enter went to it"
        );
    }
    f.key_chord("Super+Tab");
    f.roundtrip(c);
    assert_eq!(
        focused_title(&f).as_deref(),
        Some("one"),
        "Super+Tab wraps to the first window"
    );
    assert_eq!(f.client(c).keyboard_focus_window(), Some(ids[0]));
    f.key_chord("Super+Tab");
    assert_eq!(focused_title(&f).as_deref(), Some("two"));
    f.key_chord("Super+Shift+Tab");
    f.key_chord("Super+Shift+Tab");
    f.roundtrip(c);
    assert_eq!(
        focused_title(&f).as_deref(),
        Some("three"),
        "Super+Shift+Tab goes backwards"
    );
    assert_eq!(f.client(c).keyboard_focus_window(), Some(ids[2]));
    // The binding's keys never reach the client: no Tab (evdev 15) at all.
    let tabs = f
        .client(c)
        .keyboard_events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                palisade_tests::client::KeyboardEvent::Key { key: 15, .. }
            )
        })
        .count();
    assert_eq!(
        tabs, 0,
        "a binding's key press or release leaked to the client"
    );
}

fn focused_title(f: &Fixture) -> Option<String> {
    f.state()
        .windows
        .into_iter()
        .find(|w| w.focused)
        .map(|w| w.title)
}

#[test]
fn super_q_asks_only_the_focused_window_to_close() {
    let (mut f, c) = one_client();
    let a = f.map_window(c, BLUE);
    let b = f.map_window(c, GREEN);
    f.key_chord("Super+Q");
    f.wait("the close event", |f| f.client(c).is_closed(b));
    assert!(
        !f.client(c).is_closed(a),
        "only the focused window is asked to close"
    );
    // The client obeys: focus returns to the remaining window.
    f.client(c).destroy_window(b);
    f.wait("focus back on the first window", |f| {
        focused_window_count(f) == 1 && f.driver.mapped_windows() == 1
    });
    f.roundtrip(c);
    assert_eq!(f.client(c).keyboard_focus_window(), Some(a));
}

fn focused_window_count(f: &Fixture) -> usize {
    f.state().windows.iter().filter(|w| w.focused).count()
}

#[test]
fn two_outputs_of_different_scale_and_hotplug_moves_windows() {
    let mut f = Fixture::new(vec![output(1280, 800, 1.0), output(1920, 1080, 2.0)]);
    let state = f.state();
    assert_eq!(
        state.outputs[1].position,
        [1280, 0],
        "outputs are laid out left to right"
    );
    assert_eq!(
        state.outputs[1].work_area,
        [1280, 32, 960, 508],
        "scale 2: 960x540 logical"
    );
    let c = f.add_client(identity("term", "Terminal", [1, 2, 3]));
    // A window opens on the output with the pointer.
    f.driver.pointer_to(1500.0, 300.0);
    let w = f.map_window(c, GREEN);
    let info = f.state().windows[0].clone();
    assert_eq!(info.output, "headless-2");
    assert_eq!(info.geometry, window_area([1280, 32, 960, 508]));
    assert_eq!(
        f.client(c).configures(w).last().map(|c| c.size),
        Some(inset(960, 508))
    );
    // Scale 2: the window (inside its border) covers twice its logical size
    // in physical pixels; the client draws that many at buffer scale 1.
    let (lw, lh) = inset(960, 508);
    f.client(c).ack_and_draw(w, Some((2 * lw, 2 * lh)), GREEN);
    f.wait_color("headless-2", [0, 255, 0], (2 * lw * 2 * lh) as u64 * 9 / 10);
    f.assert_strip_is_panel("headless-2");

    f.driver
        .remove_output("headless-2")
        .expect("removing an output");
    f.wait("the window to move to headless-1", |f| {
        f.state()
            .windows
            .first()
            .is_some_and(|w| w.output == "headless-1")
    });
    f.wait("a configure for the new output", |f| {
        f.client(c).configures(w).last().map(|c| c.size) == Some(inset(1280, 768))
    });
    f.client(c).ack_and_draw(w, None, GREEN);
    f.wait("the window to fill headless-1's work area", |f| {
        f.state().windows[0].geometry == window_area([0, 32, 1280, 768])
    });

    let name = f
        .driver
        .add_output(output(800, 600, 1.5))
        .expect("hot-adding an output");
    let state = f.state();
    let added = state
        .outputs
        .iter()
        .find(|o| o.name == name)
        .expect("new output listed");
    assert_eq!(added.position, [1280, 0]);
    assert_eq!(
        state.windows[0].output, "headless-1",
        "existing windows stay put"
    );
}

#[test]
fn garbage_on_one_socket_disconnects_only_that_client() {
    let (mut f, good) = one_client();
    let w = f.map_window(good, BLUE);
    let bad = f.add_client(identity("bad", "Bad", [9, 9, 9]));
    f.client(bad).dispatch();
    let fd = f
        .client(bad)
        .raw_socket_fd()
        .try_clone_to_owned()
        .expect("dup");
    let mut stream = std::os::unix::net::UnixStream::from(fd);
    use std::io::Write;
    // 0xffff.. claims a 64 KiB message: libwayland waits for all of it, and
    // hangs up once it cannot fit its buffer. 64 bytes would only stall it.
    let _ = stream.write_all(&[0xff; 8192]);
    f.wait("the garbage client to be dropped", |f| {
        !f.client(bad).is_connected()
    });
    assert_good_client_keeps_getting_frames(&mut f, good, w);
}

#[test]
fn protocol_violation_disconnects_only_that_client() {
    let (mut f, good) = one_client();
    let w = f.map_window(good, BLUE);
    let bad = f.add_client(identity("bad", "Bad", [9, 9, 9]));
    f.client(bad).send_protocol_violation();
    f.wait("a protocol error for the bad client", |f| {
        f.client(bad).protocol_error().is_some()
    });
    assert!(!f.client(bad).is_connected());
    assert_good_client_keeps_getting_frames(&mut f, good, w);
}

fn assert_good_client_keeps_getting_frames(f: &mut Fixture, c: usize, w: usize) {
    for (i, colour) in [GREEN, MAGENTA, BLUE].into_iter().enumerate() {
        let before = f.client(c).frames_done(w);
        f.client(c).ack_and_draw(w, None, colour);
        f.wait(&format!("frame callback {i} for the good client"), |f| {
            f.client(c).frames_done(w) > before
        });
        f.wait_color(OUT, [colour[0], colour[1], colour[2]], area_px());
    }
}

#[test]
fn clients_see_the_protocols_a_browser_and_terminal_need_and_nothing_privileged() {
    let (mut f, c) = one_client();
    let globals: Vec<String> = f
        .client(c)
        .globals()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for needed in [
        "wl_compositor",
        "wl_subcompositor",
        "wl_shm",
        "xdg_wm_base",
        "zxdg_decoration_manager_v1",
        "wl_seat",
        "wl_output",
        "zxdg_output_manager_v1",
        "wl_data_device_manager",
        "wp_viewporter",
        "wp_fractional_scale_manager_v1",
        "wp_presentation",
        "wp_cursor_shape_manager_v1",
        "zwp_linux_dmabuf_v1",
        "zwp_idle_inhibit_manager_v1",
    ] {
        assert!(
            globals.iter().any(|g| g == needed),
            "{needed} missing from {globals:?}"
        );
    }
    for never in palisade_protocols::NEVER_OFFERED {
        assert!(
            !globals.iter().any(|g| g == never),
            "{never} must never be offered"
        );
    }
    // Windows are decorated by the compositor, never by the client.
    let w = f.map_window(c, BLUE);
    f.roundtrip(c);
    assert_eq!(
        f.client(c).decoration_mode(w),
        Some(wayland_protocols::xdg::decoration::zv1::client::zxdg_toplevel_decoration_v1::Mode::ServerSide)
    );
}

#[test]
fn frames_are_rendered_only_while_something_changes() {
    let (mut f, c) = one_client();
    let w = f.map_window(c, BLUE);
    f.driver
        .settle(std::time::Duration::from_secs(2))
        .expect("settle");
    let idle_start = f.driver.frames();
    // Nothing changes: the loop sleeps through its timeouts and renders nothing.
    for _ in 0..10 {
        f.step();
        f.driver
            .dispatch(std::time::Duration::from_millis(30))
            .expect("dispatch");
    }
    assert_eq!(
        f.driver.frames(),
        idle_start,
        "frames were rendered while nothing changed"
    );
    // One commit: exactly the frames it needs, then quiet again.
    f.client(c).ack_and_draw(w, None, GREEN);
    f.wait_color(OUT, [0, 255, 0], area_px());
    f.driver
        .settle(std::time::Duration::from_secs(2))
        .expect("settle");
    let after = f.driver.frames();
    assert!(after > idle_start, "the commit was never rendered");
    assert!(
        after - idle_start <= 2,
        "one commit caused {} frames",
        after - idle_start
    );
}

#[test]
fn the_compositor_draws_its_own_cursor_where_the_pointer_is() {
    let (mut f, c) = one_client();
    f.map_window(c, BLUE);
    f.driver.pointer_to(600.0, 400.0);
    let px = f.pixels(OUT);
    assert_eq!(&px.at(600, 400)[..3], &[0, 0, 0], "the cursor's dark rim");
    assert_eq!(
        &px.at(605, 405)[..3],
        &[255, 255, 255],
        "the cursor's light centre"
    );
    assert_eq!(
        &px.at(640, 440)[..3],
        &[0, 0, 255],
        "the window away from the cursor"
    );
}

#[test]
fn the_keymap_comes_from_the_config() {
    let text = "[keyboard]\nlayout = \"de\"\n";
    let config =
        palisade::config::Config::parse(text, std::path::Path::new("de.toml")).expect("config");
    let mut f = Fixture::with_config(config, vec![output(1280, 800, 1.0)]);
    let c = f.add_client(identity("term", "Terminal", [1, 2, 3]));
    f.map_window(c, BLUE);
    f.roundtrip(c);
    f.driver.type_text("z").expect("typing");
    f.roundtrip(c);
    // On a German layout "z" is the key that is "y" on a US one: evdev 21.
    let keys: Vec<u32> = f
        .client(c)
        .keyboard_events()
        .iter()
        .filter_map(|e| match e {
            palisade_tests::client::KeyboardEvent::Key { key, pressed: true } => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(keys, vec![21], "typing z on the configured de layout");
}
