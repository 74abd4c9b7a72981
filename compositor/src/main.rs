//! `palisade`: the compositor binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use palisade::backend::{headless::VirtualOutput, Backend, Headless, Kind};
use palisade::cli::{self, Command};
use palisade::config::RendererChoice;
use palisade::config::{self, Config};
use palisade::helper::{HelperLink, ENV as HELPER_ENV};
use palisade::State;
use smithay::reexports::calloop::EventLoop;
use smithay::reexports::wayland_server::Display;
use tracing::{error, info, warn};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(err) => {
            error!("{err}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            // user-facing output: the usage text.
            #[allow(clippy::print_stdout)]
            {
                println!("{}", cli::USAGE); // user-facing output
            }
            Ok(())
        }
        Command::Validate { config } => validate(config.as_deref()),
        Command::Scenario { file, config } => palisade::scenario::run(&file, config.as_deref()),
        Command::Run {
            backend,
            config,
            outputs,
        } => run(backend.as_deref(), config.as_deref(), outputs),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `palisade validate`: every error in the config and its theme, each with
/// file, line and reason.
fn validate(path: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = config_path(path) else {
        info!("no config file: the built-in default is used, and it is valid");
        return Ok(());
    };
    match Config::load_all(&path) {
        Ok(_) => {
            info!("config is valid");
            Ok(())
        }
        Err(errors) => {
            for err in &errors {
                error!("{err}");
            }
            anyhow::bail!("{} error(s) in {}", errors.len(), path.display())
        }
    }
}

fn config_path(path: Option<&Path>) -> Option<PathBuf> {
    match path {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(config::DEFAULT_PATH)).filter(|p| p.exists()),
    }
}

/// --config, else /etc/palisade/config.toml if present, else the built-in
/// default. A config that exists but is malformed stops the start.
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match config_path(path) {
        Some(p) => Ok(Config::load(&p)?),
        None => Ok(Config::embedded_default()),
    }
}

fn run(
    backend: Option<&str>,
    config: Option<&Path>,
    mut outputs: Vec<VirtualOutput>,
) -> anyhow::Result<()> {
    let config = load_config(config)?;
    // Claimed before anything else can open files, so the inherited number
    // is still the helper's socket.
    let helper = HelperLink::from_env()?;
    palisade::limits::raise_descriptor_limit();
    let kind = Kind::choose(backend)?;
    let mut event_loop: EventLoop<'static, State> =
        EventLoop::try_new().context("creating the event loop")?;
    let display: Display<State> = Display::new().context("creating the Wayland display")?;
    let backend = match kind {
        Kind::Headless => {
            if outputs.is_empty() {
                outputs.push(VirtualOutput {
                    name: None,
                    size: (1280, 800),
                    scale: 1.0,
                });
            }
            Backend::Headless(Headless::new(outputs)?)
        }
        Kind::Winit => Backend::Winit(Box::new(palisade::backend::Winit::new(&display.handle())?)),
        Kind::Udev => Backend::Udev(Box::new(palisade::backend::Udev::new(
            &event_loop.handle(),
            renderer_choice(&config)?,
        )?)),
    };
    let mut state = State::new(
        display,
        event_loop.handle(),
        event_loop.get_signal(),
        backend,
        config,
    )?;
    match helper {
        // With a helper the session starts locked: the lock screen is also
        // the login screen.
        Some(link) => {
            state.pal.connect_helper(link)?;
            state.pal.start_locked();
        }
        None if kind == Kind::Headless => info!("no helper link ({HELPER_ENV} not set)"),
        None => warn!(
            "no helper link ({HELPER_ENV} not set): USB reads \"helper not connected\" and \
             privileged actions only log"
        ),
    }
    if let Some(name) = &state.pal.public_socket {
        info!("public socket: WAYLAND_DISPLAY={name}");
    }
    // The real session reads battery and Wi-Fi from the system bus and follows
    // logind there; headless runs (demos, scenarios) do not, so their panels
    // are reproducible and a host's suspend does not lock them.
    if kind != Kind::Headless {
        state.start_status(palisade::status::Bus::System);
        state.start_logind(palisade::status::Bus::System);
    }
    state.start_autostart_apps();
    info!(?kind, "palisade running");
    event_loop
        .run(None, &mut state, |state| state.refresh())
        .context("running the event loop")?;
    Ok(())
}

/// The renderer for the DRM backend: PALISADE_RENDERER, else the config's.
fn renderer_choice(config: &palisade::config::Config) -> anyhow::Result<RendererChoice> {
    match std::env::var("PALISADE_RENDERER") {
        Ok(name) => RendererChoice::parse(&name).with_context(|| {
            format!(
                "PALISADE_RENDERER={name:?} is not one of {}",
                RendererChoice::NAMES
            )
        }),
        Err(_) => Ok(config.renderer),
    }
}
