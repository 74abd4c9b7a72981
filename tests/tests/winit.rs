//! The nested backend end to end: `palisade --backend winit` in a window on
//! Xvfb, drawing with Mesa's llvmpipe, autostarting weston-simple-shm. The X
//! server's screen, read back with `xwd`, must show the reserved strip and the
//! client's pixels below it.
//!
//! The test runs the `palisade` binary built next to this test executable
//! (`cargo test --workspace` builds it; with `-p palisade-tests` run
//! `cargo build --bin palisade` first, or the binary may be missing or stale).
//! A missing program fails the test: the README's test command installs them.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use palisade_tests::fixture::require_program;
use palisade_themes::Theme;
use smithay::reexports::rustix;

/// The virtual X screen.
const SCREEN: &str = "1280x800x24";
/// The reserved strip at the top of the compositor's output, in pixels.
const STRIP: usize = 32;
/// Narrowest strip we accept as the compositor's (the window is far wider).
const MIN_STRIP_WIDTH: usize = 200;
/// weston-simple-shm maps 250x250; demand a good part of it.
const MIN_CLIENT_PIXELS: usize = 5000;
/// Its ring pattern is a gradient: many distinct colours, unlike anything
/// the compositor draws itself.
const MIN_CLIENT_COLOURS: usize = 16;
/// Per-channel tolerance when matching the theme's colours.
const TOLERANCE: u8 = 2;
const XVFB_START_TIMEOUT: Duration = Duration::from_secs(15);
const CONTENT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

const CONFIG: &str = r##"public_socket = false

[[app]]
id = "shm"
label = "SHM"
color = "#ff0000"
command = ["weston-simple-shm"]
autostart = true
"##;

#[test]
fn nested_backend_shows_strip_and_client_on_xvfb() {
    for program in ["Xvfb", "xwd", "weston-simple-shm"] {
        require_program(program);
    }
    let binary = palisade_tests::binary::palisade_binary().to_path_buf();
    let mut session = Session::new();

    let display = session.start_xvfb();
    session.start_palisade(&binary, &display);

    let theme = Theme::default();
    let strip = rgb8(theme.panel_background);
    let background = rgb8(theme.background);

    let deadline = Instant::now() + CONTENT_TIMEOUT;
    let mut last = String::from("no screenshot taken");
    loop {
        if let Some(status) = session.palisade_exited() {
            panic!(
                "palisade exited ({status}) before showing the client\nlast check: {last}\n{}",
                session.logs()
            );
        }
        match screenshot(&display).and_then(|img| find_content(&img, strip, background)) {
            Ok(()) => break,
            Err(why) => last = why,
        }
        if Instant::now() >= deadline {
            panic!(
                "after {CONTENT_TIMEOUT:?} the nested window on X display {display} does not \
                 show the strip and weston-simple-shm's pixels\nlast check: {last}\n{}",
                session.logs()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Locate the compositor's window by its strip (a band of exactly `STRIP`
/// rows of the strip colour; with no window manager it sits at 0,0, but
/// nothing here assumes so), then count client pixels below it. `Err` says
/// what is missing.
fn find_content(img: &Image, strip: [u8; 3], background: [u8; 3]) -> Result<(), String> {
    let is_strip = |p: [u8; 3]| near(p, strip);
    // The first row with a long run of strip colour is the strip's top.
    let mut top = None;
    for y in 0..img.height {
        let (x0, x1) = longest_run(img.row(y), is_strip);
        if x1 - x0 >= MIN_STRIP_WIDTH {
            top = Some((y, x0, x1));
            break;
        }
    }
    let Some((y0, x0, x1)) = top else {
        return Err(format!(
            "no row has {MIN_STRIP_WIDTH} strip-coloured pixels {strip:?} in a row; colours: {}",
            img.summary()
        ));
    };
    if y0 + STRIP >= img.height {
        return Err(format!(
            "the strip starts at row {y0}, too low for a {STRIP}-row strip"
        ));
    }
    // The panel draws text, chips and a button on its background: every
    // strip row is still mostly the panel's background colour.
    for y in y0..y0 + STRIP {
        let row = &img.row(y)[x0..x1];
        let on = row.iter().filter(|&&p| is_strip(p)).count();
        if on * 2 < row.len() {
            return Err(format!(
                "strip row {y} (strip at x {x0}..{x1}, top row {y0}) is only {on} of {} pixels \
                 the panel colour {strip:?}",
                row.len()
            ));
        }
    }
    let below = &img.row(y0 + STRIP)[x0..x1];
    if below.iter().all(|&p| is_strip(p)) {
        return Err(format!(
            "the strip at x {x0}..{x1} is taller than {STRIP} rows (row {} is strip-coloured too)",
            y0 + STRIP
        ));
    }

    // Everything below the strip, across the strip's width, is the
    // compositor's work area: count what the compositor itself never draws
    // there (background, strip, and the black and white of its cursor).
    let mut client_pixels = 0;
    let mut colours = std::collections::HashSet::new();
    for y in y0 + STRIP..img.height {
        for &p in &img.row(y)[x0..x1] {
            let own = near(p, background)
                || is_strip(p)
                || near(p, [0, 0, 0])
                || near(p, [255, 255, 255]);
            if !own {
                client_pixels += 1;
                colours.insert(p);
            }
        }
    }
    if client_pixels < MIN_CLIENT_PIXELS || colours.len() < MIN_CLIENT_COLOURS {
        return Err(format!(
            "the strip is at x {x0}..{x1}, rows {y0}..{}, but below it are only \
             {client_pixels} client pixels in {} colours (want >= {MIN_CLIENT_PIXELS} in >= \
             {MIN_CLIENT_COLOURS}); colours: {}",
            y0 + STRIP,
            colours.len(),
            img.summary()
        ));
    }
    Ok(())
}

/// The longest run of pixels matching `pred`, as `(start, end)`.
fn longest_run(row: &[[u8; 3]], pred: impl Fn([u8; 3]) -> bool) -> (usize, usize) {
    let mut best = (0, 0);
    let mut start = None;
    for (x, &p) in row.iter().enumerate() {
        match (pred(p), start) {
            (true, None) => start = Some(x),
            (false, Some(s)) => {
                if x - s > best.1 - best.0 {
                    best = (s, x);
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        if row.len() - s > best.1 - best.0 {
            best = (s, row.len());
        }
    }
    best
}

/// A theme colour as the 8-bit RGB the renderer produces.
fn rgb8(c: [f32; 4]) -> [u8; 3] {
    [0, 1, 2].map(|i| (c[i].clamp(0.0, 1.0) * 255.0).round() as u8)
}

fn near(p: [u8; 3], rgb: [u8; 3]) -> bool {
    (0..3).all(|i| p[i].abs_diff(rgb[i]) <= TOLERANCE)
}

/// An RGB screenshot of the X root window.
struct Image {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

impl Image {
    fn row(&self, y: usize) -> &[[u8; 3]] {
        &self.pixels[y * self.width..(y + 1) * self.width]
    }

    /// The most common colours, for failure messages.
    fn summary(&self) -> String {
        let mut counts = std::collections::HashMap::<[u8; 3], usize>::new();
        for &p in &self.pixels {
            *counts.entry(p).or_default() += 1;
        }
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let top: Vec<String> = counts
            .iter()
            .take(8)
            .map(|(c, n)| format!("{c:?} x{n}"))
            .collect();
        format!(
            "{}x{}, {} distinct, most common: {}",
            self.width,
            self.height,
            counts.len(),
            top.join(", ")
        )
    }
}

/// `xwd -root` of the display, parsed.
fn screenshot(display: &str) -> Result<Image, String> {
    let out = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running xwd: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "xwd failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_xwd(&out.stdout)
}

/// Parse an XWD (X Window Dump, version 7) file: a header of big-endian
/// u32s, the window name, `ncolors` 12-byte colour entries, then the pixels.
/// Only what Xvfb produces at depth 24 is supported: a ZPixmap with 32 bits
/// per pixel and 8-bit channel masks, in either byte order.
fn parse_xwd(data: &[u8]) -> Result<Image, String> {
    const HEADER_FIELDS: usize = 25;
    const COLOR_SIZE: usize = 12;
    const ZPIXMAP: u32 = 2;
    let field = |i: usize| -> Result<u32, String> {
        data.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("xwd output is only {} bytes", data.len()))
    };
    let h: Vec<u32> = (0..HEADER_FIELDS).map(field).collect::<Result<_, _>>()?;
    // Field indices, as in X11/XWDFile.h.
    let (header_size, version, format) = (h[0], h[1], h[2]);
    let (width, height, byte_order) = (h[4], h[5], h[7]);
    let (bpp, bytes_per_line) = (h[11], h[12]);
    let (red_mask, green_mask, blue_mask) = (h[14], h[15], h[16]);
    let ncolors = h[19];
    if version != 7 || format != ZPIXMAP || bpp != 32 {
        return Err(format!(
            "unsupported xwd: version {version}, format {format}, {bpp} bits per pixel"
        ));
    }
    let (width, height, stride) = (width as usize, height as usize, bytes_per_line as usize);
    if stride < width * 4 {
        return Err(format!("xwd: {stride} bytes per line for {width} pixels"));
    }
    let offset = header_size as usize + ncolors as usize * COLOR_SIZE;
    let end = offset + stride * height;
    if data.len() < end {
        return Err(format!(
            "xwd output is {} bytes, want {end} for {width}x{height}",
            data.len()
        ));
    }
    let channel = |mask: u32| -> Result<(u32, u32), String> {
        if mask.count_ones() != 8 || (mask >> mask.trailing_zeros()) != 0xff {
            return Err(format!("xwd: unsupported channel mask {mask:#x}"));
        }
        Ok((mask, mask.trailing_zeros()))
    };
    let channels = [
        channel(red_mask)?,
        channel(green_mask)?,
        channel(blue_mask)?,
    ];
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let row = &data[offset + y * stride..offset + y * stride + width * 4];
        for b in row.chunks_exact(4) {
            let b = [b[0], b[1], b[2], b[3]];
            // byte_order 0 is LSBFirst, 1 is MSBFirst.
            let v = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            pixels.push(channels.map(|(mask, shift)| ((v & mask) >> shift) as u8));
        }
    }
    Ok(Image {
        width,
        height,
        pixels,
    })
}

/// The processes and files this test made; dropping it (also on a failed
/// assertion) kills the processes it started and removes the files.
struct Session {
    dir: PathBuf,
    xvfb: Option<Child>,
    /// Xvfb's -displayfd pipe, kept open so a late write cannot SIGPIPE it.
    _xvfb_stdout: Option<BufReader<ChildStdout>>,
    palisade: Option<Child>,
}

impl Session {
    fn new() -> Session {
        let dir = std::env::temp_dir().join(format!("palisade-winit-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        Session {
            dir,
            xvfb: None,
            _xvfb_stdout: None,
            palisade: None,
        }
    }

    fn log_file(&self, name: &str) -> File {
        let path = self.dir.join(name);
        File::create(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()))
    }

    /// Start Xvfb and return its display (":N"). With `-displayfd 1` Xvfb
    /// picks a free display itself and writes its number to stdout once it
    /// accepts connections: no guessing, no race, no readiness polling.
    fn start_xvfb(&mut self) -> String {
        let stderr = self.log_file("xvfb.log");
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", SCREEN])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting Xvfb: {e}"));
        let stdout = child.stdout.take().expect("Xvfb's stdout is piped");
        self.xvfb = Some(child);
        // A thread, so a hung Xvfb costs a timeout rather than the test.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send((result, reader));
        });
        let (line, reader) = match rx.recv_timeout(XVFB_START_TIMEOUT) {
            Ok(got) => got,
            Err(_) => panic!(
                "Xvfb did not report a display within {XVFB_START_TIMEOUT:?}\n{}",
                self.logs()
            ),
        };
        self._xvfb_stdout = Some(reader);
        let line = line.unwrap_or_else(|e| panic!("reading Xvfb's display: {e}"));
        let number: u32 = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "Xvfb reported display {line:?} (did it fail to start?)\n{}",
                self.logs()
            )
        });
        format!(":{number}")
    }

    fn start_palisade(&mut self, binary: &Path, display: &str) {
        let config = self.dir.join("config.toml");
        std::fs::write(&config, CONFIG)
            .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
        let runtime = self.dir.join("runtime");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&runtime)
            .unwrap_or_else(|e| panic!("creating {}: {e}", runtime.display()));
        let stderr = self.log_file("palisade.log");
        let child = Command::new(binary)
            .args(["--backend", "winit", "--config"])
            .arg(&config)
            .env("DISPLAY", display)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        self.palisade = Some(child);
    }

    fn palisade_exited(&mut self) -> Option<std::process::ExitStatus> {
        self.palisade.as_mut()?.try_wait().ok().flatten()
    }

    /// Both servers' logs, for failure messages: palisade's last lines, each
    /// cut short (its EGL and GL extension lists are kilobytes long).
    fn logs(&self) -> String {
        const LINES: usize = 40;
        const LINE_CHARS: usize = 300;
        let read = |name: &str| {
            std::fs::read_to_string(self.dir.join(name))
                .unwrap_or_else(|e| format!("(cannot read {name}: {e})"))
        };
        let palisade = read("palisade.log");
        let lines: Vec<&str> = palisade.lines().collect();
        let tail: Vec<String> = lines[lines.len().saturating_sub(LINES)..]
            .iter()
            .map(|line| match line.char_indices().nth(LINE_CHARS) {
                Some((cut, _)) => format!("{} [...]", &line[..cut]),
                None => line.to_string(),
            })
            .collect();
        let tail = tail.join("\n");
        format!(
            "--- palisade stderr (last {LINES} lines) ---\n{tail}\n--- Xvfb stderr ---\n{}",
            read("xvfb.log")
        )
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Palisade first: its client (weston-simple-shm) exits when its
        // socket closes.
        if let Some(mut child) = self.palisade.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Xvfb gets SIGTERM so it removes its lock file and socket; SIGKILL
        // if it has not gone within two seconds.
        if let Some(mut child) = self.xvfb.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
