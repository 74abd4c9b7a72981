//! Hostile clients against the real `palisade` binary (issue 6): random
//! bytes, wrong object ids and opcodes, huge and short shm pools, negative
//! and extreme sizes, 10,000 surfaces, commit storms, descriptor floods and
//! connections that vanish mid-frame, each played by `palisade-hostile MODE`
//! on the public socket. For each mode: the compositor stays up, each case
//! ends the way the limits say (cut off, or harmless), a well-behaved client
//! on the same socket keeps getting frames the whole time, and once the
//! hostile client is gone the compositor's resident memory is back within
//! `RSS_SLACK` of what it was before.
//!
//! The public socket's clients are "unknown"; the config here grants them
//! every global an app gets, so the hostile client can reach everything a
//! compromised browser could.

use std::process::Stdio;
use std::time::{Duration, Instant};

use palisade_tests::client::TestClient;
use palisade_tests::fixture::init_logging;
use palisade_tests::live::{wait_on, GoodClient, Live};

const CONFIG: &str = r#"
public_socket = true

[lock]
# The runs are short, but an idle lock would stop every client's frames.
idle_after = "off"

[policy]
unknown = [
    "wl_compositor", "wl_subcompositor", "wl_shm", "xdg_wm_base",
    "zxdg_decoration_manager_v1", "wl_seat", "wl_output",
    "zxdg_output_manager_v1", "wl_data_device_manager", "wp_viewporter",
    "wp_fractional_scale_manager_v1", "wp_presentation",
    "wp_cursor_shape_manager_v1", "zwp_idle_inhibit_manager_v1",
]
"#;

/// The good client must never wait longer than this for its next frame
/// while an attack runs. A frame is due every 16.7 ms and the longest wait
/// measured is about 25 ms; this is room for a debug build on two busy
/// cores. It is shorter than one storm (3 s), so a client that holds the
/// compositor for a whole storm fails the test.
const FRAME_STALL: Duration = Duration::from_secs(2);
/// A whole mode must end within this.
const MODE_LIMIT: Duration = Duration::from_secs(150);
/// How far above its pre-attack level the compositor's VmRSS may stay once
/// the hostile client is gone: freed memory that the allocator keeps for
/// reuse instead of returning it (glibc trims only the top of its heap), and
/// the pages of the good client's newest buffers. A leak of what the modes
/// allocate (hundreds of MiB of pools, 10,000 surfaces, millions of
/// callbacks) is far above it.
const RSS_SLACK_KIB: u64 = 8 * 1024;

/// How a case must end.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Cut off, with this text in the error (the limit or the reason).
    Cut(&'static str),
    /// Still connected at its end: what it did is harmless.
    Survive,
}

struct CaseResult {
    name: String,
    outcome: String,
    detail: String,
}

fn parse_report(stdout: &str) -> Vec<CaseResult> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("case ")?;
            let (name, rest) = rest.split_once(": ")?;
            let (outcome, detail) = rest.split_once(": ").unwrap_or((rest, ""));
            Some(CaseResult {
                name: name.to_owned(),
                outcome: outcome.to_owned(),
                detail: detail.to_owned(),
            })
        })
        .collect()
}

/// Run `palisade-hostile MODE` against a fresh compositor with a good client
/// drawing all along, and check every case against `expect`.
fn run_mode(mode: &str, expect: &[(&str, Expect)]) {
    init_logging();
    let mut live = Live::start(&format!("hostile-{mode}"), CONFIG);
    let mut good = GoodClient::connect(&mut live);
    // The baseline: the good client is up and has drawn for a while.
    good.wait_frames(&mut live, 30, "frames before the attack");
    let baseline = live.rss_kib();

    let mut hostile = live
        .client_command(std::path::Path::new(env!("CARGO_BIN_EXE_palisade-hostile")))
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting palisade-hostile");
    let started = Instant::now();
    let frames_before = good.frames();
    let mut last_frame = (good.frames(), Instant::now());
    let mut longest_gap = Duration::ZERO;
    let status = loop {
        if let Some(status) = hostile.try_wait().expect("waiting for palisade-hostile") {
            break status;
        }
        if !live.alive() || started.elapsed() > MODE_LIMIT || last_frame.1.elapsed() > FRAME_STALL {
            let _ = hostile.kill();
            let out = hostile.wait_with_output().expect("palisade-hostile output");
            live.assert_alive(&format!("during {mode}"));
            panic!(
                "{mode}: {}; the good client had {} frames since the attack began; \
                 hostile stdout:\n{}\ncompositor log ends:\n{}",
                if started.elapsed() > MODE_LIMIT {
                    format!("did not finish within {} s", MODE_LIMIT.as_secs())
                } else {
                    format!(
                        "the good client got no frame for {} s",
                        FRAME_STALL.as_secs()
                    )
                },
                good.frames() - frames_before,
                String::from_utf8_lossy(&out.stdout),
                live.log_tail(40)
            );
        }
        good.pump(&mut live, Duration::from_millis(50));
        if good.frames() != last_frame.0 {
            longest_gap = longest_gap.max(last_frame.1.elapsed());
            last_frame = (good.frames(), Instant::now());
        }
    };
    // The time since the last frame counts too: a stall at the very end.
    longest_gap = longest_gap.max(last_frame.1.elapsed());
    let out = hostile.wait_with_output().expect("palisade-hostile output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let frames_during = good.frames() - frames_before;
    tracing::warn!(
        "{mode}: {frames_during} good frames in {:.1} s, longest gap {} ms, RSS before {baseline} KiB, \
         now {} KiB",
        started.elapsed().as_secs_f64(),
        longest_gap.as_millis(),
        live.rss_kib()
    );
    live.assert_alive(&format!("after {mode}"));
    assert!(
        status.success(),
        "palisade-hostile {mode} failed ({status}): {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );

    // Every case ran and ended as the limits say.
    let results = parse_report(&stdout);
    let log = live.log();
    let mut problems = Vec::new();
    for (name, want) in expect {
        let Some(got) = results.iter().find(|r| r.name == *name) else {
            problems.push(format!("{name}: no report"));
            continue;
        };
        // The error's text is in the hostile client's report (from the
        // wire, or as libwayland-client printed it) or in the compositor's
        // log (our limits log each one).
        let ok = match want {
            Expect::Cut(needle) => {
                got.outcome == "disconnected"
                    && (got.detail.contains(needle) || log.contains(needle))
            }
            Expect::Survive => got.outcome == "survived",
        };
        if !ok {
            problems.push(format!(
                "{name}: expected {want:?}, got {}: {}",
                got.outcome, got.detail
            ));
        }
    }
    for extra in results
        .iter()
        .filter(|r| !expect.iter().any(|(n, _)| *n == r.name))
    {
        problems.push(format!("{}: not expected by the test", extra.name));
    }
    assert!(
        problems.is_empty(),
        "{mode}:\n  {}\nhostile stdout:\n{stdout}\ncompositor log ends:\n{}",
        problems.join("\n  "),
        live.log_tail(30)
    );

    // The good client carries on, and the memory comes back.
    good.roundtrip(&mut live);
    good.wait_frames(&mut live, 10, "frames after the attack");
    assert!(
        longest_gap <= FRAME_STALL,
        "{mode}: the good client waited {} ms for a frame during the attack",
        longest_gap.as_millis()
    );
    assert_rss_returns(&mut live, &mut good, mode, baseline);
}

/// VmRSS back within `RSS_SLACK_KIB` of `baseline`. Freed shm pools are
/// unmapped on a thread of Smithay's and the allocator returns memory
/// lazily, so this samples a few times, each after some frames.
fn assert_rss_returns(live: &mut Live, good: &mut GoodClient, mode: &str, baseline: u64) {
    let mut samples = Vec::new();
    for _ in 0..5 {
        good.wait_frames(live, 10, "frames while memory settles");
        let rss = live.rss_kib();
        samples.push(rss);
        if rss <= baseline + RSS_SLACK_KIB {
            return;
        }
    }
    panic!(
        "{mode}: the compositor's VmRSS stayed above {baseline} KiB + {RSS_SLACK_KIB} KiB after \
         the hostile client left: samples {samples:?} KiB"
    );
}

use Expect::{Cut, Survive};

#[test]
fn random_bytes() {
    run_mode(
        "random-bytes",
        &[
            ("random-first-message", Cut("")),
            ("random-after-handshake", Cut("")),
            ("random-arguments", Cut("")),
        ],
    );
}

#[test]
fn bad_object_ids() {
    run_mode(
        "bad-object-id",
        &[
            // libwayland-server's own errors, before any of our code runs.
            ("unknown-sender", Cut("invalid object 77")),
            (
                "new-id-in-use",
                Cut("invalid arguments for wl_display@1.sync"),
            ),
            (
                "new-id-in-server-range",
                Cut("invalid arguments for wl_display@1.sync"),
            ),
            (
                "unknown-object-argument",
                Cut("invalid arguments for wl_surface@5.attach"),
            ),
            (
                "wrong-interface-argument",
                Cut("invalid arguments for wl_surface@5.attach"),
            ),
        ],
    );
}

#[test]
fn bad_opcodes() {
    run_mode(
        "bad-opcode",
        &[
            (
                "display-opcode-9",
                Cut("invalid method 9, object wl_display@1"),
            ),
            (
                "registry-opcode-3",
                Cut("invalid method 3, object wl_registry@2"),
            ),
            ("size-below-header", Cut("")),
            // Longer than the whole receive buffer: libwayland hangs up.
            ("oversized-message", Cut("")),
            (
                "string-length-overflow",
                Cut("invalid arguments for wl_registry@2.bind"),
            ),
            (
                "string-unterminated",
                Cut("invalid arguments for wl_registry@2.bind"),
            ),
        ],
    );
}

#[test]
fn huge_shm_pools() {
    run_mode(
        "huge-shm-pool",
        &[
            (
                "pool-2gib-on-4kib-file",
                Cut("bytes per wl_shm pool (asked for 2147483647)"),
            ),
            (
                "pool-past-1gib-real-file",
                Cut("bytes per wl_shm pool (asked for 1073745920)"),
            ),
            (
                "buffers-8gib-in-total",
                Cut("bytes of wl_shm buffers per client"),
            ),
            (
                "resize-to-2gib",
                Cut("bytes per wl_shm pool (asked for 2147483647)"),
            ),
        ],
    );
}

#[test]
fn short_buffers() {
    run_mode(
        "short-buffer",
        &[
            ("pool-larger-than-file", Cut("is larger than its file")),
            ("buffer-beyond-pool", Cut("offset is too large")),
            ("offset-beyond-pool", Cut("offset is too large")),
            // Its window opens behind the good client's focused one (no
            // focus stealing), so the truncated buffer is never read and
            // costs nothing. The visible case is
            // `a_visible_buffer_whose_file_shrinks_cuts_only_its_client`.
            ("file-shrunk-after-attach", Survive),
        ],
    );
}

#[test]
fn negative_sizes() {
    run_mode(
        "negative-sizes",
        &[
            ("create-pool-negative", Cut("invalid wl_shm_pool size")),
            ("create-pool-zero", Cut("invalid wl_shm_pool size")),
            // Smithay itself panics on a resize to zero.
            (
                "pool-resize-negative",
                Cut("a wl_shm pool resized to -1 bytes"),
            ),
            ("pool-resize-zero", Cut("a wl_shm pool resized to 0 bytes")),
            (
                "buffer-negative-width",
                Cut("invalid width or height (-1x10)"),
            ),
            (
                "buffer-negative-stride",
                Cut("width must not be larger than stride"),
            ),
            ("buffer-negative-offset", Cut("offset must not be negative")),
            ("window-geometry-negative", Cut("window geometry of -5x-5")),
            ("window-geometry-extreme", Survive),
            (
                "min-size-negative",
                Cut("a minimum or maximum size of -1x-1"),
            ),
            ("max-size-extreme", Survive),
            (
                "positioner-size-negative",
                Cut("Invalid size for positioner."),
            ),
            (
                "positioner-anchor-negative",
                Cut("Invalid size for positioner's anchor"),
            ),
            ("popup-offset-extreme", Survive),
            // Negative damage and region rectangles are empty ones.
            ("damage-negative", Survive),
            ("buffer-scale-negative", Cut("Scale must be positive")),
            ("buffer-scale-extreme", Survive),
            (
                "viewport-destination-negative",
                Cut("negative or zero values in width or height"),
            ),
            (
                "viewport-source-negative",
                Cut("or negative values in x or y"),
            ),
            ("viewport-destination-extreme", Survive),
            (
                "viewport-source-extreme",
                Cut("extends outside of the content area"),
            ),
            ("region-negative", Survive),
            ("surface-offset-extreme", Survive),
            ("subsurface-position-extreme", Survive),
        ],
    );
}

#[test]
fn many_surfaces() {
    run_mode(
        "many-surfaces",
        &[
            ("ten-thousand-surfaces", Cut("surfaces per client")),
            ("deep-subsurface-chain", Cut("surfaces per client")),
            ("hundreds-of-toplevels", Survive),
            ("region-of-100k-rectangles", Cut("rectangles per region")),
        ],
    );
}

#[test]
fn commit_storm() {
    run_mode(
        "commit-storm",
        &[
            ("attach-frame-commit", Survive),
            // Its callbacks are answered past the few a surface may hold.
            ("unmapped-frame-commit", Survive),
            (
                "sync-subsurface-commits",
                Cut("cached commits of a synchronized subsurface"),
            ),
            // Past the limit, the damage is the whole buffer.
            ("damage-without-commit", Survive),
            (
                "frames-without-commit",
                Cut("frame callbacks per surface before a commit"),
            ),
            ("display-sync", Survive),
        ],
    );
}

#[test]
fn fd_flood() {
    run_mode(
        "fd-flood",
        &[
            ("pool-flood", Cut("at most 64 wl_shm pools per client")),
            // libwayland-server takes so many descriptors a client has sent
            // and not used, then hangs up on it.
            ("stray-descriptors", Cut("")),
            (
                "keyboard-flood",
                Cut("at most 64 pointer, keyboard and touch objects per client"),
            ),
            (
                "connection-flood",
                Cut("public socket: refused a connection"),
            ),
        ],
    );
}

#[test]
fn mid_frame_disconnect() {
    run_mode(
        "mid-frame-disconnect",
        &[
            ("close-after-commit", Survive),
            ("close-mid-message", Survive),
            ("close-with-unread-events", Survive),
        ],
    );
}

/// Cycles before the measurement starts: the first connections fault in
/// code and data the compositor has not touched yet, and grow its
/// allocator's arenas and tables (client slots, object maps, surface lists)
/// to their working size; that is start-up cost, not growth per connection.
const WARMUP_CYCLES: usize = 100;
const CYCLES: usize = 1000;
/// The issue's bound for 1,000 cycles.
const CYCLE_GROWTH_KIB: u64 = 1024;

/// One short-lived client: registry, every global bound, a toplevel
/// created and configured, then gone.
fn cycle(live: &mut Live) {
    let mut client = TestClient::new(live.connect());
    wait_on(live, &mut client, "a cycling client's globals", |c| {
        c.is_ready()
    });
    let w = client.create_window();
    wait_on(live, &mut client, "a cycling client's configure", |c| {
        !c.configures(w).is_empty()
    });
}

#[test]
fn thousand_connect_disconnect_cycles_grow_memory_by_less_than_1_mib() {
    init_logging();
    // The public socket's own policy (the "unknown" globals): Smithay keeps
    // a wl_data_device until its client releases it, so a client that
    // binds one and disconnects leaves ~270 bytes behind (see the README).
    let config = "public_socket = true\n[lock]\nidle_after = \"off\"\n";
    let mut live = Live::start("hostile-cycles", config);
    let mut good = GoodClient::connect(&mut live);
    let mut samples = Vec::new();
    for _ in 0..WARMUP_CYCLES {
        cycle(&mut live);
    }
    // Every disconnection handled: the long-lived client's round trip comes
    // after them, and a few frames let Smithay's threads drop what they hold.
    good.roundtrip(&mut live);
    good.wait_frames(&mut live, 5, "frames after the warm-up");
    let before = live.rss_kib();
    for i in 0..CYCLES {
        cycle(&mut live);
        if i % 100 == 99 {
            samples.push(live.rss_kib());
        }
    }
    good.roundtrip(&mut live);
    good.wait_frames(&mut live, 5, "frames after the cycles");
    let after = live.rss_kib();
    tracing::warn!("cycles: VmRSS {before} KiB after the warm-up, {after} KiB after {CYCLES} more; every 100: {samples:?}");
    assert!(
        after <= before + CYCLE_GROWTH_KIB,
        "{CYCLES} connect/disconnect cycles grew the compositor from {before} KiB to {after} KiB \
         (more than {CYCLE_GROWTH_KIB} KiB); every 100 cycles: {samples:?} KiB"
    );
}

/// The short buffer that matters: one that is drawn. The hostile client is
/// the only (so focused, so visible) window of an in-process compositor:
/// compositing reads its truncated file, Smithay catches the SIGBUS and cuts
/// the client off, and the compositor goes on rendering.
#[test]
fn a_visible_buffer_whose_file_shrinks_cuts_only_its_client() {
    init_logging();
    palisade_tests::fixture::ensure_runtime_dir();
    let dir = palisade_tests::fixture::temp_dir("hostile-visible-short");
    let out = dir.join("out.txt");
    let hostile = env!("CARGO_BIN_EXE_palisade-hostile");
    let command = format!(
        "exec {hostile} short-buffer file-shrunk-after-attach > {}",
        out.display()
    );
    let output = palisade_tests::fixture::output(640, 480, 1.0);
    let config = palisade::config::Config::parse(CONFIG, std::path::Path::new("<hostile>"))
        .expect("the test config parses");
    let mut d = palisade::scenario::driver::Driver::new(config, vec![output]).expect("compositor");
    let args = ["sh".to_owned(), "-c".to_owned(), command];
    let pid = (d.state.pal)
        .spawn(&args, &[], palisade::Identity::unknown())
        .expect("starting palisade-hostile");
    d.wait_until(
        palisade_tests::live::WAIT,
        "palisade-hostile to finish",
        |_| Ok(!std::path::Path::new(&format!("/proc/{pid}")).exists()),
    )
    .expect("the hostile client ends");
    let said = std::fs::read_to_string(&out).expect("the hostile client's report");
    assert!(
        said.contains("case file-shrunk-after-attach: disconnected")
            && said.contains("Bad pool size"),
        "the drawn truncated buffer did not cut its client off: {said}"
    );
    // The compositor carries on: it still renders frames.
    let before = d.frames();
    d.state.pal.queue_redraw_all();
    d.wait_until(
        palisade_tests::live::WAIT,
        "a frame after the hostile client",
        |d| {
            d.state.pal.queue_redraw_all();
            Ok(d.frames() > before + 2)
        },
    )
    .expect("frames after the hostile client");
    let _ = std::fs::remove_dir_all(&dir);
}
