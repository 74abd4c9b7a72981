//! Headless benchmark at 1920x1080 (run: `cargo bench -p palisade-tests
//! --bench headless`). Prints numbers and ratios against baselines measured
//! in the same run; it asserts nothing, because machines are noisy.
//!
//! - exec -> first client frame composited (weston-simple-shm)
//! - compositor CPU time per composited frame, 1 vs 10 animating shm clients
//! - wakeups and CPU over 10 s idle, with no client and with one static window
//! - compositor RSS idle and with 10 clients

// The report on stdout is what this program is for.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_tests::fixture::{ensure_runtime_dir, identity, output, require_program, Fixture};

/// CPU time of this thread (the compositor runs on it), from the scheduler's
/// nanosecond accounting.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn driver() -> Driver {
    Driver::new(
        palisade::config::Config::embedded_default(),
        vec![output(1920, 1080, 1.0)],
    )
    .expect("headless compositor")
}

fn spawn_shm(d: &mut Driver, n: usize) {
    for _ in 0..n {
        d.state
            .pal
            .spawn(&["weston-simple-shm".to_string()], &[], Identity::unknown())
            .expect("spawning weston-simple-shm");
    }
    d.wait_until(Duration::from_secs(30), "shm clients mapped", |d| {
        Ok(d.mapped_windows() >= n)
    })
    .expect("clients mapped");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn first_frame_ms() -> f64 {
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut d = driver();
        d.settle(Duration::from_millis(200)).expect("settle");
        let start = Instant::now();
        d.state
            .pal
            .spawn(&["weston-simple-shm".to_string()], &[], Identity::unknown())
            .expect("spawn");
        d.wait_until(Duration::from_secs(30), "mapped", |d| {
            Ok(d.mapped_windows() >= 1)
        })
        .expect("mapped");
        // Mapping queues a frame: the first frame with the client in it.
        let frames = d.frames();
        d.wait_until(Duration::from_secs(5), "a composited frame", |d| {
            Ok(d.frames() > frames)
        })
        .expect("frame");
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    median(samples)
}

/// (CPU µs per frame, frames per second) with `n` animating clients.
fn cpu_per_frame(n: usize) -> (f64, f64) {
    let mut d = driver();
    spawn_shm(&mut d, n);
    d.run_for(Duration::from_millis(500)).expect("warm up");
    let (cpu0, frames0, t0) = (thread_cpu(), d.frames(), Instant::now());
    d.run_for(Duration::from_secs(3)).expect("run");
    let frames = (d.frames() - frames0).max(1) as f64;
    let cpu = (thread_cpu() - cpu0).as_secs_f64() * 1e6;
    (cpu / frames, frames / t0.elapsed().as_secs_f64())
}

/// (wakeups, CPU ms) over `secs` with nothing happening.
fn idle(d: &mut Driver, secs: u64) -> (u64, f64) {
    d.settle(Duration::from_millis(600)).expect("settle");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let cpu0 = thread_cpu();
    let mut wakeups = 0;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        d.event_loop
            .dispatch(Some(deadline - now), &mut d.state)
            .expect("dispatch");
        d.state.refresh();
        if Instant::now() < deadline {
            wakeups += 1;
        }
    }
    (wakeups, (thread_cpu() - cpu0).as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing
    // useful either: this program only measures.
    ensure_runtime_dir();
    require_program("weston-simple-shm");

    let first = first_frame_ms();
    println!("exec -> first client frame composited: {first:.1} ms (median of 5)");

    let (cpu1, fps1) = cpu_per_frame(1);
    let (cpu10, fps10) = cpu_per_frame(10);
    println!("CPU per composited frame, 1 animating client:   {cpu1:.0} us ({fps1:.1} frames/s)");
    println!("CPU per composited frame, 10 animating clients: {cpu10:.0} us ({fps10:.1} frames/s)");
    println!("  ratio 10 clients / 1 client: {:.2}x", cpu10 / cpu1);

    let mut d = driver();
    let rss_idle = rss_kib();
    let (wake0, cpu0) = idle(&mut d, 10);
    println!("idle 10 s, no client: {wake0} wakeups, {cpu0:.2} ms CPU");
    drop(d);

    let mut f = Fixture::new(vec![output(1920, 1080, 1.0)]);
    let c = f.add_client(identity("static", "Static", [1, 2, 3]));
    f.map_window(c, [10, 20, 30, 255]);
    let (wake1, cpu1_idle) = idle(&mut f.driver, 10);
    println!("idle 10 s, one static window: {wake1} wakeups, {cpu1_idle:.2} ms CPU");
    drop(f);

    let mut d = driver();
    let base = rss_kib();
    spawn_shm(&mut d, 10);
    d.run_for(Duration::from_secs(1)).expect("run");
    let rss10 = rss_kib();
    println!(
        "compositor RSS: idle {} KiB (process start {} KiB), with 10 shm clients {} KiB",
        base, rss_idle, rss10
    );
    println!(
        "  ratio 10 clients / idle: {:.2}x",
        rss10 as f64 / base.max(1) as f64
    );
}
