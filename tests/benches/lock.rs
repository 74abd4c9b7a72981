//! Lock latency (run: `cargo bench -p palisade-tests --bench lock`): the
//! time from the lock key's press being handled to a locked frame rendered
//! on every output, with 1, 5 and 20 windows on 1 and 3 outputs (1920x1080
//! each, in-process clients), for the first lock of a fresh compositor and
//! for a later one. Also counts the frames each output rendered in between:
//! the goal is that the locked frame is the very next one. It prints numbers
//! and asserts nothing.

// The report on stdout is what this program is for.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use palisade_shortcuts::proto::UsbGrant;
use palisade_tests::fixture::{identity, output, Fixture, HelperPeer};
use smithay::input::keyboard::Keycode;

const RUNS: usize = 15;
const REFRESH: Duration = Duration::from_micros(16_667);

struct Sample {
    latency: Duration,
    /// Frames rendered per output until its locked frame (1 = the next).
    frames_until_locked: u64,
}

/// A compositor with `windows` windows on `outputs` outputs and a helper
/// link the benchmark answers itself.
fn setup(windows: usize, outputs: usize) -> (Fixture, HelperPeer) {
    let outs = (0..outputs).map(|_| output(1920, 1080, 1.0)).collect();
    let mut f = Fixture::new(outs);
    let peer = f.connect_welcomed_helper(UsbGrant::Denied);
    let c = f.add_client(identity("vm", "Dev VM", [0x34, 0xa8, 0x53]));
    for i in 0..windows {
        f.map_window(c, [(i * 12) as u8, 0x80, 0xff, 0xff]);
    }
    (f, peer)
}

/// Presses Super+L and measures until every output rendered a locked frame.
fn lock(f: &mut Fixture) -> Sample {
    // Let every frame the windows caused be rendered and paced out.
    f.driver.settle(Duration::from_millis(200)).expect("settle");
    let names = f.driver.output_names();
    let before: Vec<u64> = names.iter().map(|n| f.driver.output_frames(n)).collect();
    let start = Instant::now();
    let time = f.driver.state.pal.now_ms();
    // Super+L: the press of L is the lock key.
    f.driver.state.handle_key(Keycode::new(125 + 8), true, time);
    f.driver.state.handle_key(Keycode::new(38 + 8), true, time);
    let all_shown = |f: &Fixture| f.driver.state.pal.outputs.iter().all(|o| o.lock.shown);
    while !all_shown(f) {
        f.driver
            .dispatch(Duration::from_millis(1))
            .expect("dispatch");
    }
    let latency = start.elapsed();
    let frames_until_locked = names
        .iter()
        .zip(before)
        .map(|(n, b)| f.driver.output_frames(n) - b)
        .max()
        .unwrap_or(0);
    let time = f.driver.state.pal.now_ms();
    f.driver.state.handle_key(Keycode::new(38 + 8), false, time);
    f.driver
        .state
        .handle_key(Keycode::new(125 + 8), false, time);
    Sample {
        latency,
        frames_until_locked,
    }
}

/// The first lock of a fresh compositor (glyphs not yet rasterized), and
/// a later one.
fn one_run(windows: usize, outputs: usize) -> (Sample, Sample) {
    let (mut f, mut peer) = setup(windows, outputs);
    let first = lock(&mut f);
    f.unlock_with_password(&mut peer);
    let later = lock(&mut f);
    (first, later)
}

/// The lock screen's own drawing, without the compositor around it.
fn drawing_only() -> Duration {
    let theme = palisade_themes::Theme::builtin("dark").expect("dark theme");
    let mut screen = palisade_lockscreen::LockScreen::new(&theme);
    let view = palisade_lockscreen::LockView {
        time: "12:34".into(),
        user: "alice".into(),
        dots: 0,
        message: None,
        retry_in_s: None,
        reboot_in_s: Some(64_800),
        usb: palisade_panel::UsbState::Denied,
        phase: palisade_lockscreen::Phase::Locking,
    };
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let pixels = screen.render(&view, 1920, 1080, 1.0);
            std::hint::black_box(pixels);
            start.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    palisade_tests::fixture::ensure_runtime_dir();
    println!(
        "lock screen drawing alone, 1920x1080: median {:.2} ms",
        drawing_only().as_secs_f64() * 1e3
    );
    println!("lock latency: key press handled -> locked frame rendered on every output");
    println!("(median and max of {RUNS} runs; one refresh interval is 16.7 ms; 1920x1080 outputs)");
    println!();
    println!(
        "| windows | outputs | lock | median | max | frames until locked | median / refresh |"
    );
    println!("|---|---|---|---|---|---|---|");
    for outputs in [1, 3] {
        for windows in [1, 5, 20] {
            let runs: Vec<(Sample, Sample)> =
                (0..RUNS).map(|_| one_run(windows, outputs)).collect();
            let (firsts, laters): (Vec<Sample>, Vec<Sample>) = runs.into_iter().unzip();
            for (which, mut samples) in [("first", firsts), ("later", laters)] {
                samples.sort_by_key(|s| s.latency);
                let median = samples[RUNS / 2].latency;
                let max = samples[RUNS - 1].latency;
                let frames = samples
                    .iter()
                    .map(|s| s.frames_until_locked)
                    .max()
                    .unwrap_or(0);
                println!(
                    "| {windows} | {outputs} | {which} | {:.2} ms | {:.2} ms | {frames} | {:.3} |",
                    median.as_secs_f64() * 1e3,
                    max.as_secs_f64() * 1e3,
                    median.as_secs_f64() / REFRESH.as_secs_f64()
                );
            }
        }
    }
}
