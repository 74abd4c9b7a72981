//! `palisade-hostile MODE`: a deliberately hostile Wayland client, for the
//! hostile-client tests (tests/tests/hostile.rs) and for anyone who wants to
//! see what the compositor does with one. It connects to WAYLAND_DISPLAY
//! (the compositor's public socket) and misbehaves in one way per case,
//! each case on a connection of its own, so that one disconnection does not
//! end the mode. It reports one line per case on stdout:
//!
//! ```text
//! case NAME: disconnected: WHY   the compositor cut the connection
//! case NAME: survived: WHAT      still connected when the case ended
//! case NAME: failed: WHY         the case could not be set up (a test bug)
//! ```
//!
//! `palisade-hostile MODE CASE` runs only that case. Exit status 0 once
//! every case has run, 2 on a usage error.

mod raw;
mod session;
mod shm;
mod storm;
mod surfaces;

use std::io::Write as _;
use std::process::ExitCode;

use session::{End, Step};

/// A case: its name and what it does. `Ok` carries what it saw when it
/// survived to its end.
pub type Case = (&'static str, fn() -> Step<String>);

const MODES: &[(&str, &[Case])] = &[
    ("random-bytes", raw::RANDOM_BYTES),
    ("bad-object-id", raw::BAD_OBJECT_ID),
    ("bad-opcode", raw::BAD_OPCODE),
    ("huge-shm-pool", shm::HUGE_POOL),
    ("short-buffer", shm::SHORT_BUFFER),
    ("negative-sizes", surfaces::NEGATIVE_SIZES),
    ("many-surfaces", surfaces::MANY_SURFACES),
    ("commit-storm", storm::COMMIT_STORM),
    ("fd-flood", shm::FD_FLOOD),
    ("mid-frame-disconnect", storm::MID_FRAME_DISCONNECT),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = args.get(1);
    let Some((_, cases)) = MODES
        .iter()
        .find(|(name, _)| matches!(args.len(), 1 | 2) && args[0] == *name)
    else {
        let names: Vec<&str> = MODES.iter().map(|(name, _)| *name).collect();
        let _ = writeln!(
            std::io::stderr(),
            "usage: palisade-hostile MODE [CASE]\nmodes: {}",
            names.join(" ")
        );
        return ExitCode::from(2);
    };
    for (name, case) in cases
        .iter()
        .filter(|(name, _)| only.is_none_or(|o| o == name))
    {
        let (result, said) = capture_stderr(case);
        let line = match result {
            Ok(what) => format!("case {name}: survived: {what}"),
            Err(End::Cut(why)) => format!("case {name}: disconnected: {why}{said}"),
            Err(End::Failed(why)) => format!("case {name}: failed: {why}{said}"),
        };
        // One line at a time, so a test sees every finished case even if this
        // process is killed in the middle of the next one.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line.replace('\n', " "));
        let _ = out.flush();
    }
    ExitCode::SUCCESS
}

/// Run `case` with stderr going to a file, and return what libwayland-client
/// wrote there: it prints the compositor's error message (its API hands out
/// only the code and the object), so that text joins the report.
fn capture_stderr(case: &fn() -> Step<String>) -> (Step<String>, String) {
    use std::io::{Read as _, Seek as _};
    use std::os::fd::AsRawFd as _;
    let Ok(mut file) = session::memfd(0) else {
        return (case(), String::new());
    };
    // SAFETY: dup and dup2 on descriptors this process owns; fd 2 gets its
    // saved copy back before this function returns.
    let saved = unsafe { libc::dup(2) };
    // SAFETY: as above.
    unsafe { libc::dup2(file.as_raw_fd(), 2) };
    let result = case();
    if saved >= 0 {
        // SAFETY: as above; `saved` is closed once restored.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error ")).collect();
    let said = match errors.is_empty() {
        true => String::new(),
        false => format!(" [libwayland: {}]", errors.join("; ")),
    };
    (result, said)
}
