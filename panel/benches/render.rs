//! Panel render times: a full render versus a clock-only repaint, at 1920
//! logical pixels wide, scale 1 and 2. Run with
//! `cargo bench -p palisade-panel --bench render`.
//!
//! Printing the numbers is the point of a benchmark binary, hence:
#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use palisade_panel::{Panel, PanelStyle, PanelSurface};
use std::hint::black_box;
use std::time::{Duration, Instant};

const WIDTH: i32 = 1920;
const ITERATIONS: usize = 300;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let before = rss_kib();
    let mut panel = Panel::new();
    let after_fonts = rss_kib();
    {
        // One output at 1920 wide, scale 1 and 2: what a session keeps.
        let (mut one, mut two) = (PanelSurface::new(), PanelSurface::new());
        let state = common::sample_state();
        panel.render(&mut one, &state, &PanelStyle::default(), WIDTH, 1.0);
        panel.render(&mut two, &state, &PanelStyle::default(), WIDTH, 2.0);
        println!(
            "RSS: {} KiB for the fonts (loaded once), {} KiB more after a first render at scale 1 and 2",
            after_fonts.saturating_sub(before),
            rss_kib().saturating_sub(after_fonts)
        );
    }
    let style = PanelStyle::default();
    let state = common::sample_state();
    let mut ticked = state.clone();
    ticked.clock = "12:35".into();
    println!("panel render, {WIDTH} logical px wide, median of {ITERATIONS}");
    for scale in [1.0, 2.0] {
        // Full: a fresh surface each time (what a new output or a scale
        // change costs); the glyph cache is warm, as it is in a session.
        let mut full = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let mut surface = PanelSurface::new();
            let start = Instant::now();
            let frame = panel.render(&mut surface, &state, &style, WIDTH, scale);
            black_box(frame.pixels.len());
            full.push(start.elapsed());
        }
        // Clock-only: alternate between two clock values on one surface.
        let mut surface = PanelSurface::new();
        panel.render(&mut surface, &state, &style, WIDTH, scale);
        let mut clock = Vec::with_capacity(ITERATIONS);
        for i in 0..ITERATIONS {
            let s = if i % 2 == 0 { &ticked } else { &state };
            let start = Instant::now();
            let frame = panel.render(&mut surface, s, &style, WIDTH, scale);
            black_box(frame.damage.len());
            clock.push(start.elapsed());
        }
        let (full, clock) = (median(full), median(clock));
        println!(
            "scale {scale}: full {:>8.1} µs  clock-only {:>7.1} µs  clock/full {:.3}",
            full.as_secs_f64() * 1e6,
            clock.as_secs_f64() * 1e6,
            clock.as_secs_f64() / full.as_secs_f64().max(f64::MIN_POSITIVE),
        );
    }
}
