//! `palisade-helper`, the root daemon behind the narrow socket.
//!
//! It creates a socketpair, forks, drops to the session user and execs the
//! session (`palisade`) with the other end inherited (PALISADE_HELPER_FD);
//! it restarts the session locked when it dies, and owns USB authorization,
//! PAM password checks and the reboot-to-rest timer. Its dependency tree
//! holds no graphics or Wayland crate (a test checks).

mod config;
mod core;
mod daemon;
mod pam;
mod session;
mod throttle;
mod usb;

use std::path::PathBuf;
use std::process::ExitCode;

use tracing::{error, info, warn};

const USAGE: &str = "usage: palisade-helper [--config FILE] [--check]
  --config FILE   default /etc/palisade/helper.toml
  --check         validate the config and exit
Logging: PALISADE_HELPER_LOG=error|warn|info|debug (default info), to stderr.";

fn main() -> ExitCode {
    let level = match std::env::var("PALISADE_HELPER_LOG").as_deref() {
        Ok("error") => tracing::Level::ERROR,
        Ok("warn") => tracing::Level::WARN,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let mut path = PathBuf::from(config::DEFAULT_PATH);
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => match args.next() {
                Some(p) => path = p.into(),
                None => return usage("--config needs a FILE"),
            },
            "--check" => check = true,
            "-h" | "--help" => {
                info!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unexpected argument {other:?}")),
        }
    }
    let config = match config::Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    if check {
        info!("{} is valid", path.display());
        return ExitCode::SUCCESS;
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        error!("palisade-helper must run as root (it drops to the session user itself)");
        return ExitCode::from(2);
    }
    if config.test_overrides {
        warn!(
            "the [test] section of {} changes production timings",
            path.display()
        );
    }
    let result = daemon::Daemon::new(config).and_then(|mut d| d.run());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    error!("{msg}\n{USAGE}");
    ExitCode::from(2)
}
