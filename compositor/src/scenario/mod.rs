//! `palisade scenario FILE`: a headless run driven by a file of steps, in the
//! format of shared/SCENARIO.md. Each step runs after every frame the previous
//! one caused has been rendered; a failing step stops the run with its number,
//! its line and the reason.

pub mod driver;
pub mod file;
mod toml_tree;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::backend::headless::VirtualOutput;
use crate::config::Config;
use crate::helper::{HelperLink, HelperStatus, ENV};
use crate::state::Identity;
use driver::{Driver, BTN_LEFT, BTN_MIDDLE, BTN_RIGHT};
use file::{Action, Button, Step, UsbWait};
use palisade_lockscreen::Phase;
use palisade_shortcuts::proto::{AuthOutcome, Password, Request};
use std::sync::atomic::{AtomicU64, Ordering};

impl From<&file::OutputSpec> for VirtualOutput {
    fn from(spec: &file::OutputSpec) -> Self {
        VirtualOutput {
            name: spec.name.clone(),
            size: spec.size,
            scale: spec.scale,
        }
    }
}

/// Load and check a scenario file; errors name the file and line.
pub fn load(path: &Path) -> anyhow::Result<file::Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    file::parse(&text, base)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.reason))
}

/// Run a scenario file. `config_override` (from --config) wins over the
/// file's own `config` key; without either, the embedded default is used.
pub fn run(path: &Path, config_override: Option<&Path>) -> anyhow::Result<()> {
    let scenario = load(path)?;
    // Taken first, as in `palisade` itself: a bad value stops the run.
    let helper = HelperLink::from_env()?;
    let config = match config_override
        .map(Path::to_path_buf)
        .or(scenario.config.clone())
    {
        Some(p) => Config::load(&p)?,
        None => Config::embedded_default(),
    };
    let outputs = scenario.outputs.iter().map(VirtualOutput::from).collect();
    let mut driver = Driver::new(config, outputs)?;
    if let Some(link) = helper {
        driver.state.pal.connect_helper(link)?;
        driver.state.pal.start_locked();
    }
    driver.state.start_autostart_apps();
    driver.settle(Duration::from_secs(1))?;
    for step in &scenario.steps {
        run_step(&mut driver, step).map_err(|e| {
            anyhow::anyhow!(
                "{}: step {} (line {}) failed: {e:#}",
                path.display(),
                step.index,
                step.line
            )
        })?;
    }
    Ok(())
}

fn run_step(driver: &mut Driver, step: &Step) -> anyhow::Result<()> {
    tracing::info!(step = step.index, line = step.line, action = ?step.action, "scenario step");
    let timeout = step.timeout;
    match &step.action {
        Action::Launch(id) => {
            // A scenario's steps stand for the user.
            driver.state.launch_app_for_user(id)?;
        }
        Action::Run(command) => {
            driver
                .state
                .pal
                .spawn_for_user(command, &[], Identity::unknown())?;
        }
        Action::WaitWindows(n) => {
            let n = *n;
            driver.wait_until(timeout, &format!("{n} mapped window(s)"), |d| {
                Ok(d.mapped_windows() >= n)
            })?;
        }
        Action::WaitMs(ms) => driver.run_for(Duration::from_millis(*ms))?,
        Action::Key(chord) => driver.key_chord(chord)?,
        Action::Type(text) => driver.type_text(text)?,
        Action::Pointer(x, y) => driver.pointer_to(*x, *y),
        Action::Click(button) => driver.click(match button {
            Button::Left => BTN_LEFT,
            Button::Right => BTN_RIGHT,
            Button::Middle => BTN_MIDDLE,
        }),
        Action::AddOutput(spec) => {
            driver.add_output(spec.into())?;
        }
        Action::RemoveOutput(name) => driver.remove_output(name)?,
        Action::Screenshot(dir) => {
            driver.settle(timeout)?;
            for name in driver.output_names() {
                let pixels = driver.pixels(&name)?;
                crate::screenshot::write_png(&pixels, &dir.join(format!("{name}.png")))?;
            }
        }
        Action::State(path) => {
            driver.settle(timeout)?;
            write_state(driver, path)?;
        }
        Action::WaitColor {
            output,
            color,
            min_pixels,
            tolerance,
        } => {
            let what = format!(
                "{min_pixels} pixels of #{:02x}{:02x}{:02x} on {}",
                color[0],
                color[1],
                color[2],
                output.as_deref().unwrap_or("any output")
            );
            let (color, min, tol, output) = (*color, *min_pixels, *tolerance, output.clone());
            driver.wait_until(timeout, &what, |d| {
                let names = match &output {
                    Some(o) => vec![o.clone()],
                    None => d.output_names(),
                };
                for name in names {
                    if d.pixels(&name)?.count_near(color, tol) >= min {
                        return Ok(true);
                    }
                }
                Ok(false)
            })?;
        }
        Action::WaitTitle(text) => {
            driver.wait_until(timeout, &format!("a window titled like {text:?}"), |d| {
                Ok(d.state
                    .pal
                    .state_info()
                    .windows
                    .iter()
                    .any(|w| w.title.contains(text.as_str())))
            })?;
        }
        Action::WaitHelper => {
            driver.wait_until(timeout, "the helper link to connect", |d| {
                helper_connected(&d.state.pal)
            })?;
        }
        Action::WaitUsb(want) => {
            let (grant, word) = match want {
                UsbWait::Allowed => ("allowed", "USB to be allowed"),
                UsbWait::Denied => ("denied", "USB to be denied"),
            };
            driver.wait_until(timeout, word, |d| {
                Ok(helper_connected(&d.state.pal)? && d.state.pal.helper_info().usb == grant)
            })?;
        }
        Action::Authenticate(password) => authenticate(driver, password, timeout)?,
        Action::Fullscreen(on) => {
            let surface = driver
                .state
                .pal
                .focused_window()
                .and_then(|w| w.toplevel().map(|t| t.wl_surface().clone()))
                .context("no focused window to fullscreen")?;
            driver.state.pal.set_fullscreen(&surface, *on);
        }
    }
    driver.settle(timeout)
}

/// Types a password into the lock screen and presses Enter (or, when the
/// screen is not locked, sends it to the helper directly), then waits for
/// the helper's verdict; anything but "accepted" fails the step.
fn authenticate(driver: &mut Driver, password: &Password, timeout: Duration) -> anyhow::Result<()> {
    // Unlocked sessions send with generations of their own, far from the
    // lock's.
    static GENERATION: AtomicU64 = AtomicU64::new(1 << 32);
    driver.wait_until(timeout, "the helper link to connect", |d| {
        helper_connected(&d.state.pal)
    })?;
    // A lock still engaging takes no password yet.
    driver.wait_until(timeout, "the lock to be engaged", |d| {
        Ok(matches!(
            d.state.pal.lock.phase(),
            Phase::Locked | Phase::Unlocked
        ))
    })?;
    let pal = &mut driver.state.pal;
    let generation = if pal.is_locked() {
        pal.lock.password_clear();
        pal.lock
            .password_push(std::str::from_utf8(password.expose()).unwrap_or_default());
        pal.submit_password()
            .context("the lock screen did not take the password")?
    } else {
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        let request = Request::Authenticate {
            generation,
            password: password.clone(),
        };
        anyhow::ensure!(
            pal.send_helper(&request),
            "the helper link went down before the password was sent"
        );
        generation
    };
    let mut outcome = None;
    driver.wait_until(timeout, "the helper's answer to the password", |d| {
        outcome = d
            .state
            .pal
            .lock
            .last_auth()
            .filter(|(g, _)| *g == generation)
            .map(|(_, o)| o);
        if outcome.is_none() {
            helper_connected(&d.state.pal)?;
        }
        Ok(outcome.is_some())
    })?;
    match outcome {
        Some(AuthOutcome::Accepted) => Ok(()),
        other => anyhow::bail!("the helper did not accept the password: {other:?}"),
    }
}

/// Whether the helper link is up; a link that is absent or lost can never
/// come up, so waiting for it fails at once with the reason.
fn helper_connected(pal: &crate::state::Palisade) -> anyhow::Result<bool> {
    match pal.helper_status() {
        HelperStatus::Connected => Ok(true),
        HelperStatus::Connecting => Ok(false),
        HelperStatus::Absent => anyhow::bail!("there is no helper link ({} is not set)", ENV),
        HelperStatus::Lost(reason) => anyhow::bail!("the helper link was lost: {reason}"),
    }
}

fn write_state(driver: &Driver, path: &PathBuf) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&driver.state.pal.state_info())?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))
}

impl Driver {
    /// Wait until `pred` holds for the compositor's state; the error shows
    /// the last state seen.
    pub fn wait_state(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&crate::introspect::StateInfo) -> bool,
    ) -> anyhow::Result<crate::introspect::StateInfo> {
        let result = self.wait_until(timeout, what, |d| Ok(pred(&d.state.pal.state_info())));
        let info = self.state.pal.state_info();
        result.with_context(|| format!("the last state was {info:?}"))?;
        Ok(info)
    }
}
