//! The `palisade` binary as a black box: `palisade scenario FILE`,
//! `palisade validate` and the start-up refusing a malformed config. Exit
//! codes, files written and the messages a user reads.
//!
//! The binary lives in another package, so Cargo does not build it for this
//! test target: the first test to need it runs `cargo build` for it (same
//! profile) and takes the path Cargo reports.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;

use std::time::Duration;

use palisade_tests::binary::palisade_binary;
use palisade_tests::fixture::{data_file, ensure_runtime_dir, require_program, temp_dir};
use smithay::reexports::rustix::process::{kill_process, Pid, Signal};

/// Long enough for a debug build on two slow cores; a run that takes
/// longer is hung, and is killed.
const LIMIT: Duration = Duration::from_secs(60);
/// A compositor given a malformed config must not start: it exits at once.
const PROMPT: Duration = Duration::from_secs(20);

struct Run {
    status: ExitStatus,
    /// stderr with ANSI colour sequences removed.
    stderr: String,
}

impl Run {
    fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}); stderr:\n{}",
            self.status,
            self.stderr
        );
    }

    fn assert_failure(&self, what: &str) {
        assert!(
            !self.status.success(),
            "{what} should have failed; stderr:\n{}",
            self.stderr
        );
        // A failure is an orderly exit with an error, not a crash.
        assert!(
            self.status.code().is_some(),
            "{what} died of a signal ({}); stderr:\n{}",
            self.status,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{what} panicked; stderr:\n{}",
            self.stderr
        );
    }

    fn assert_stderr_has(&self, what: &str, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{what}: stderr lacks {needle:?}:\n{}",
                self.stderr
            );
        }
    }
}

/// Run `palisade ARGS` in `dir`; kill it (by pid) and fail if it is still
/// running after `limit`.
fn run<S: AsRef<OsStr>>(args: &[S], dir: &Path, limit: Duration) -> Run {
    ensure_runtime_dir();
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    let child = Command::new(palisade_binary())
        .args(args)
        .current_dir(dir)
        // Whatever the caller's environment: info logs, no colour, and no
        // way for the headless compositor to reach a real display.
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting palisade {shown:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(limit) {
        Ok(output) => output.expect("waiting for palisade"),
        Err(_) => {
            let raw = Pid::from_raw(pid as i32).expect("a child pid is positive");
            let killed = kill_process(raw, Signal::KILL);
            // Collect what it said before it was killed, if it lets go.
            let said = match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(out)) => strip_ansi(&String::from_utf8_lossy(&out.stderr)),
                _ => "(not collected)".to_owned(),
            };
            panic!(
                "palisade {shown:?} still ran after {} s; killed pid {pid} ({killed:?}); \
                 stderr:\n{said}",
                limit.as_secs()
            );
        }
    };
    Run {
        status: output.status,
        stderr: strip_ansi(&String::from_utf8_lossy(&output.stderr)),
    }
}

/// Remove `ESC [ ... final` sequences (tracing colours its output even when
/// it is not a terminal).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, up to the final byte @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An RGBA image from a PNG file.
fn read_png(path: &Path) -> (u32, u32, Vec<[u8; 4]>) {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("decoding {}: {e}", path.display()));
    let bytes = &buf[..frame.buffer_size()];
    assert_eq!(frame.bit_depth, png::BitDepth::Eight, "{}", path.display());
    let pixels = match frame.color_type {
        png::ColorType::Rgba => bytes
            .chunks_exact(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect(),
        png::ColorType::Rgb => bytes
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    (frame.width, frame.height, pixels)
}

fn json_rect(value: &serde_json::Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
        .unwrap_or_default()
}

#[test]
fn scenario_runs_weston_and_writes_screenshot_and_state() {
    require_program("weston-simple-shm");
    let dir = temp_dir("cli-weston");
    let scenario = data_file("weston.toml");
    let run = run(&[OsStr::new("scenario"), scenario.as_os_str()], &dir, LIMIT);
    run.assert_success("palisade scenario weston.toml");

    // Output paths are relative to the current directory.
    let shot = dir.join("shots").join("headless-1.png");
    assert!(
        shot.exists(),
        "no {}; stderr:\n{}",
        shot.display(),
        run.stderr
    );
    let (width, height, pixels) = read_png(&shot);
    assert_eq!((width, height), (1280, 800), "{}", shot.display());

    let state_path = dir.join("out").join("state.json");
    let text = std::fs::read_to_string(&state_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", state_path.display()));
    let state: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", state_path.display()));
    assert_eq!(state["locked"], false, "{text}");
    let outputs = state["outputs"].as_array().expect("outputs is an array");
    assert_eq!(outputs.len(), 1, "{text}");
    assert_eq!(outputs[0]["name"], "headless-1", "{text}");
    assert_eq!(json_rect(&outputs[0]["size"]), [1280, 800], "{text}");
    assert_eq!(
        json_rect(&outputs[0]["work_area"]),
        [0, 32, 1280, 768],
        "{text}"
    );
    let windows = state["windows"].as_array().expect("windows is an array");
    assert_eq!(windows.len(), 1, "{text}");
    let window = &windows[0];
    assert_eq!(window["identity"], "unknown", "{text}");
    assert_eq!(window["output"], "headless-1", "{text}");
    let geo = json_rect(&window["geometry"]);
    assert_eq!(geo.len(), 4, "{text}");
    assert!(
        geo[0] >= 0 && geo[1] >= 32 && geo[0] + geo[2] <= 1280 && geo[1] + geo[3] <= 800,
        "window {geo:?} is outside the work area: {text}"
    );

    // The screenshot shows weston's pattern where the state says the window
    // is: pixels unlike both the strip (top right) and the desktop (bottom
    // right, far from the 250x250 window).
    let at = |x: i64, y: i64| pixels[(y * i64::from(width) + x) as usize];
    let strip = at(1279, 0);
    let desktop = at(1279, 799);
    assert_ne!(
        strip, desktop,
        "strip and desktop look alike in the screenshot"
    );
    let like = |p: [u8; 4], q: [u8; 4]| (0..3).all(|i| p[i].abs_diff(q[i]) <= 2);
    let own = (geo[1]..geo[1] + geo[3])
        .flat_map(|y| (geo[0]..geo[0] + geo[2]).map(move |x| (x, y)))
        .filter(|&(x, y)| !like(at(x, y), strip) && !like(at(x, y), desktop))
        .count();
    assert!(
        own > 20_000,
        "only {own} pixels of weston's pattern in {geo:?} in {}",
        shot.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_scenario_names_file_line_and_reason() {
    let dir = temp_dir("cli-bad-scenario");
    let scenario = data_file("bad-scenario.toml");
    let run = run(&[OsStr::new("scenario"), scenario.as_os_str()], &dir, LIMIT);
    run.assert_failure("a scenario with an unknown key");
    run.assert_stderr_has(
        "a scenario with an unknown key",
        &["unknown key", "timeout_msec"],
    );
    // The file, then the line: `FILE:line 5:COL` or `FILE:5:COL`.
    assert!(
        ["bad-scenario.toml:line 5:", "bad-scenario.toml:5:"]
            .iter()
            .any(|at| run.stderr.contains(at)),
        "the error does not point at bad-scenario.toml line 5:\n{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_config_is_refused_by_validate_and_at_start() {
    let dir = temp_dir("cli-bad-config");
    let config = data_file("bad-color.toml");
    // path:LINE:COL: reason — the colour value starts on line 7, column 9.
    let location = format!("{}:7:9:", config.display());
    let needles = [location.as_str(), "#12345", "#rrggbb"];

    let validate = run(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &dir,
        LIMIT,
    );
    validate.assert_failure("palisade validate on a bad colour");
    validate.assert_stderr_has("palisade validate on a bad colour", &needles);

    // The compositor itself refuses to start: it exits (promptly, or `run`
    // kills it and fails) without ever running.
    let start = run(
        &[
            OsStr::new("--backend"),
            OsStr::new("headless"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &dir,
        PROMPT,
    );
    start.assert_failure("starting headless with a bad colour");
    start.assert_stderr_has("starting headless with a bad colour", &needles);
    assert!(
        !start.stderr.contains("palisade running"),
        "the compositor started with a malformed config:\n{}",
        start.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn step_that_times_out_fails_the_run_naming_step_and_line() {
    let dir = temp_dir("cli-timeout");
    let scenario = data_file("timeout.toml");
    let run = run(&[OsStr::new("scenario"), scenario.as_os_str()], &dir, LIMIT);
    run.assert_failure("a scenario whose wait times out");
    // [[step]] is on line 5 of timeout.toml.
    run.assert_stderr_has(
        "a scenario whose wait times out",
        &["timeout.toml", "step 1", "line 5", "timed out", "300 ms"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shipped_config_validates() {
    let dir = temp_dir("cli-validate");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/config.toml");
    assert!(config.exists(), "{} is missing", config.display());
    let run = run(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &dir,
        LIMIT,
    );
    run.assert_success("palisade validate --config assets/config.toml");
    run.assert_stderr_has("palisade validate", &["config is valid"]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn read_state(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()))
}

fn window_on<'a>(state: &'a serde_json::Value, output: &str) -> &'a serde_json::Value {
    state["windows"]
        .as_array()
        .and_then(|ws| ws.iter().find(|w| w["output"] == output))
        .unwrap_or_else(|| panic!("no window on {output}: {state}"))
}

#[test]
fn scenario_pointer_click_fullscreen_and_wait_title() {
    require_program("weston-simple-shm");
    let dir = temp_dir("cli-steps");
    let run = run(
        &[OsStr::new("scenario"), data_file("steps.toml").as_os_str()],
        &dir,
        LIMIT,
    );
    run.assert_success("palisade scenario steps.toml");

    let border = i64::from(palisade_tests::fixture::border_width());
    let two = read_state(&dir.join("out/two.json"));
    assert_eq!(
        window_on(&two, "headless-2")["focused"],
        true,
        "the newest window has focus: {two}"
    );
    assert_eq!(window_on(&two, "headless-1")["focused"], false, "{two}");
    assert_eq!(
        json_rect(&window_on(&two, "headless-2")["geometry"])[..2],
        [1280 + border, 32 + border],
        "{two}"
    );

    let clicked = read_state(&dir.join("out/clicked.json"));
    let first = window_on(&clicked, "headless-1");
    assert_eq!(
        first["focused"], true,
        "a click focuses the window under the pointer: {clicked}"
    );
    assert_eq!(
        first["fullscreen"], true,
        "the fullscreen step applies to the focused window: {clicked}"
    );
    assert_eq!(
        json_rect(&first["geometry"])[1],
        32 + border,
        "fullscreen stays below the strip and inside the border: {clicked}"
    );
    assert_eq!(
        window_on(&clicked, "headless-2")["focused"],
        false,
        "{clicked}"
    );
}

/// The README's demo (assets/demo.toml) runs: Chromium from the config, foot
/// typing, Super+Tab, a second output coming and going.
#[test]
fn the_demo_scenario_runs_and_shows_what_it_says() {
    for program in ["chromium", "foot", "weston-simple-shm"] {
        require_program(program);
    }
    let dir = temp_dir("cli-demo");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    // The demo config names its page relative to the current directory.
    std::os::unix::fs::symlink(repo.join("assets"), dir.join("assets")).expect("linking assets");
    let scenario = repo.join("assets/demo.toml");
    let run = run(
        &[OsStr::new("scenario"), scenario.as_os_str()],
        &dir,
        Duration::from_secs(180),
    );
    run.assert_success("palisade scenario assets/demo.toml");

    for shot in [
        "1-browser/headless-1",
        "2-terminal/headless-1",
        "3-super-tab/headless-1",
        "4-two-outputs/headless-2",
    ] {
        let path = dir.join(format!("demo-out/{shot}.png"));
        let (w, h, _) = read_png(&path);
        assert!(w > 0 && h > 0, "{}", path.display());
    }
    let (_, _, browser) = read_png(&dir.join("demo-out/1-browser/headless-1.png"));
    let blue = browser
        .iter()
        .filter(|p| {
            p[0].abs_diff(0x34) <= 8 && p[1].abs_diff(0x65) <= 8 && p[2].abs_diff(0xa4) <= 8
        })
        .count();
    assert!(
        blue > 200_000,
        "the demo page's blue is missing from the browser shot ({blue} px)"
    );

    let two = read_state(&dir.join("demo-out/state-two-outputs.json"));
    assert_eq!(
        window_on(&two, "headless-2")["identity"],
        "unknown",
        "{two}"
    );
    let state = read_state(&dir.join("demo-out/state.json"));
    let windows = state["windows"].as_array().expect("windows");
    let ids: Vec<&str> = windows
        .iter()
        .filter_map(|w| w["identity"].as_str())
        .collect();
    assert_eq!(ids, ["browser", "term", "unknown"], "{state}");
    assert!(
        windows.iter().all(|w| w["output"] == "headless-1"),
        "removed output's window moved: {state}"
    );
}

fn validate(config: &str) -> Run {
    let dir = temp_dir("cli-theme");
    let config = data_file(config);
    run(
        &[
            OsStr::new("validate"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &dir,
        LIMIT,
    )
}

#[test]
fn the_config_chooses_a_theme_and_validate_checks_it() {
    validate("theme-light.toml").assert_success("a built-in theme");

    let unknown = validate("theme-unknown.toml");
    unknown.assert_failure("an unknown theme name");
    assert!(
        unknown.stderr.contains("theme-unknown.toml:3:") && unknown.stderr.contains("solarized"),
        "the error names the config line and the theme: {}",
        unknown.stderr
    );

    let bad = validate("theme-file.toml");
    bad.assert_failure("a malformed theme file");
    assert!(
        bad.stderr.contains("bad-theme.toml:4:") && bad.stderr.contains("#12"),
        "the error names the theme file, its line and the bad value: {}",
        bad.stderr
    );
}

#[test]
fn validate_reports_every_error_with_its_file_and_line() {
    let run = validate("many-errors.toml");
    run.assert_failure("a config with five errors, two in its theme");
    for (file_line, what) in [
        ("many-errors.toml:4:", "repeat_rate_hz"),
        ("many-errors.toml:9:", "#12345"),
        ("many-errors.toml:16:", "command"),
        ("bad-theme.toml:4:", "#12"),
        ("bad-theme.toml:7:", "panel_height"),
    ] {
        let line = run.stderr.lines().find(|l| l.contains(file_line));
        assert!(
            line.is_some_and(|l| l.contains(what)),
            "no error at {file_line} about {what}; stderr:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("5 error(s)"), "{}", run.stderr);
}

#[test]
fn validate_refuses_a_config_that_grants_a_never_offered_global() {
    let run = validate("policy-never-offered.toml");
    run.assert_failure("a config granting screencopy and virtual-keyboard");
    for (file_line, what) in [
        (
            "policy-never-offered.toml:13:",
            "\"zwlr_screencopy_manager_v1\" is never offered",
        ),
        (
            "policy-never-offered.toml:21:",
            "\"zwp_virtual_keyboard_manager_v1\" is never offered",
        ),
    ] {
        let line = run.stderr.lines().find(|l| l.contains(file_line));
        assert!(
            line.is_some_and(|l| l.contains(what)),
            "no error at {file_line} about {what}; stderr:\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("2 error(s)"), "{}", run.stderr);
}
