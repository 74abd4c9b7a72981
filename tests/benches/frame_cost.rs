//! The compositor's cost per frame, made countable: one in-process client
//! redraws its whole 1920x1080 window (a fresh buffer, full damage) for
//! `FRAMES` frames while the pointer sits on it, and the compositor's side
//! (`Driver::dispatch`: requests, refresh, rendering) is all that runs in
//! that function. Run plainly it prints wall and CPU time per frame; run
//! under callgrind with collection toggled on that function it gives
//! instruction counts that do not depend on how busy the machine is:
//!
//! ```sh
//! cargo bench -p palisade-tests --bench frame_cost --no-run
//! valgrind --tool=callgrind --collect-atstart=no \
//!   --toggle-collect='palisade::scenario::driver::Driver::dispatch' \
//!   target/release/deps/frame_cost-<hash>
//! ```
//!
//! `tests/benches/frame-cost.sh` does that for two builds side by side.

// The report on stdout is what this program is for.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use palisade_tests::fixture::{identity, output, Fixture};

const FRAMES: u32 = 120;

fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = (text.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn main() {
    palisade_tests::fixture::ensure_runtime_dir();
    let frames: u32 = std::env::var("FRAME_COST_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FRAMES);
    let mut f = Fixture::new(vec![output(1920, 1080, 1.0)]);
    // A fixed clock: a minute turning over would redraw the panel and the
    // lock screen in the middle of the count.
    f.driver.state.pal.clock_override = Some("12:00".into());
    let c = f.add_client(identity("load", "Load", [1, 2, 3]));
    let w = f.map_window(c, [200, 40, 40, 255]);
    f.driver.pointer_to(900.0, 500.0);
    f.step();
    let (cpu0, t0, rendered0) = (thread_cpu(), Instant::now(), f.driver.frames());
    for i in 0..frames {
        let done = f.client(c).frames_done(w);
        // A different colour every frame: the whole window is new.
        let shade = (i % 200) as u8;
        f.client(c).ack_and_draw(w, None, [200, shade, 40, 255]);
        f.wait("the frame callback", |f| f.client(c).frames_done(w) > done);
    }
    let rendered = f.driver.frames() - rendered0;
    let cpu = (thread_cpu() - cpu0).as_secs_f64() * 1e6 / f64::from(frames);
    let wall = t0.elapsed().as_secs_f64() * 1e3 / f64::from(frames);
    println!(
        "{frames} client frames, {rendered} rendered: {cpu:.0} us CPU (compositor and client) and \
         {wall:.1} ms wall per frame"
    );
}
