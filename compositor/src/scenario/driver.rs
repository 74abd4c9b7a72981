//! A headless compositor driven step by step: the scenario runner and the
//! in-process test harness both stand on this, so what a scenario does and
//! what a test does are the same code.

use std::time::{Duration, Instant};

use anyhow::Context;
use smithay::input::keyboard::Keycode;
use smithay::reexports::calloop::EventLoop;
use smithay::reexports::wayland_server::Display;

use crate::backend::headless::{Headless, Pixels, VirtualOutput};
use crate::backend::Backend;
use crate::config::Config;
use crate::input::TypingMap;
use crate::state::State;
use palisade_shortcuts::Chord;

/// evdev button codes.
pub const BTN_LEFT: u32 = 0x110;
pub const BTN_RIGHT: u32 = 0x111;
pub const BTN_MIDDLE: u32 = 0x112;

/// How long frames must stop coming before a step counts as settled.
const QUIET: Duration = Duration::from_millis(120);
/// The longest a step waits for clients to go quiet.
const MAX_SETTLE: Duration = Duration::from_millis(600);

pub struct Driver {
    pub event_loop: EventLoop<'static, State>,
    pub state: State,
    typing: TypingMap,
}

impl Driver {
    pub fn new(config: Config, outputs: Vec<VirtualOutput>) -> anyhow::Result<Driver> {
        let event_loop: EventLoop<'static, State> =
            EventLoop::try_new().context("creating the event loop")?;
        let display: Display<State> = Display::new().context("creating the Wayland display")?;
        let backend = Backend::Headless(Headless::new(outputs)?);
        let typing = TypingMap::new(&config)?;
        let state = State::new(
            display,
            event_loop.handle(),
            event_loop.get_signal(),
            backend,
            config,
        )?;
        let mut driver = Driver {
            event_loop,
            state,
            typing,
        };
        driver.dispatch(Duration::ZERO)?;
        Ok(driver)
    }

    fn headless(&mut self) -> &mut Headless {
        match &mut self.state.backend {
            Backend::Headless(h) => h,
            // Driver::new is the only constructor and always builds Headless.
            _ => unreachable!("a Driver always runs the headless backend"),
        }
    }

    /// One loop iteration: wait up to `timeout` for events, then refresh
    /// (which renders what is due and flushes clients).
    pub fn dispatch(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.event_loop
            .dispatch(Some(timeout), &mut self.state)
            .context("dispatching the event loop")?;
        self.state.refresh();
        Ok(())
    }

    /// Run the loop until `done` holds, or fail after `timeout` with `what`.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&mut Driver) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self)? {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                anyhow::bail!(
                    "timed out after {} ms waiting for {what}",
                    timeout.as_millis()
                );
            }
            self.dispatch((deadline - now).min(Duration::from_millis(10)))?;
        }
    }

    /// Total frames rendered on all outputs.
    pub fn frames(&self) -> u64 {
        self.state.pal.outputs.iter().map(|o| o.redraw.frames).sum()
    }

    /// Wait until every frame the last action caused has been rendered and
    /// clients have stopped producing new ones for a short while. A client
    /// that animates forever never goes quiet: then the step ends once the
    /// frames due have been rendered and `limit` has passed.
    pub fn settle(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit.min(MAX_SETTLE);
        let mut last_frames = self.frames();
        let mut quiet_since = Instant::now();
        loop {
            self.dispatch(Duration::from_millis(5))?;
            let busy = self.state.pal.outputs.iter().any(|o| o.redraw.needed);
            let frames = self.frames();
            if busy || frames != last_frames {
                last_frames = frames;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= QUIET {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return self.flush_frames();
            }
        }
    }

    /// Run the loop for a fixed time (the scenario `wait_ms` step).
    pub fn run_for(&mut self, duration: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.dispatch((deadline - Instant::now()).min(Duration::from_millis(10)))?;
        }
        Ok(())
    }

    pub fn mapped_windows(&self) -> usize {
        self.state.pal.shell.mapped().count()
    }

    pub fn add_output(&mut self, spec: VirtualOutput) -> anyhow::Result<String> {
        let Driver { state, .. } = self;
        let State { backend, pal } = state;
        match backend {
            Backend::Headless(h) => h.add_output(pal, spec),
            _ => unreachable!("a Driver always runs the headless backend"),
        }
    }

    pub fn remove_output(&mut self, name: &str) -> anyhow::Result<()> {
        let State { backend, pal } = &mut self.state;
        match backend {
            Backend::Headless(h) => h.remove_output(pal, name),
            _ => unreachable!("a Driver always runs the headless backend"),
        }
    }

    pub fn output_names(&mut self) -> Vec<String> {
        self.headless().output_names()
    }

    /// The last frame an output rendered, without rendering anything: what
    /// a screen would show right now.
    pub fn last_frame(&mut self, output: &str) -> anyhow::Result<Pixels> {
        self.headless().pixels(output)
    }

    /// Frames rendered so far on one output.
    pub fn output_frames(&self, output: &str) -> u64 {
        (self.state.pal.outputs.iter())
            .find(|o| o.output.name() == output)
            .map_or(0, |o| o.redraw.frames)
    }

    /// The last frame of an output, after rendering anything still due.
    pub fn pixels(&mut self, output: &str) -> anyhow::Result<Pixels> {
        self.flush_frames()?;
        self.headless().pixels(output)
    }

    /// Render whatever is due right now, ignoring pacing (a screenshot must
    /// show the state as it is).
    pub fn flush_frames(&mut self) -> anyhow::Result<()> {
        let names: Vec<String> = self
            .state
            .pal
            .outputs
            .iter()
            .filter(|o| o.redraw.needed)
            .map(|o| o.output.name())
            .collect();
        for name in names {
            self.state.backend.render(&mut self.state.pal, &name);
        }
        self.state
            .pal
            .display_handle
            .flush_clients()
            .context("flushing clients")?;
        Ok(())
    }

    fn key(&mut self, code: Keycode, pressed: bool) {
        let time = self.state.pal.now_ms();
        self.state.handle_key(code, pressed, time);
    }

    /// Press a chord's keys in order, then release them in reverse.
    pub fn key_chord(&mut self, chord: &str) -> anyhow::Result<()> {
        let chord = Chord::parse(chord).map_err(|e| anyhow::anyhow!("bad chord {chord:?}: {e}"))?;
        let mut codes = Vec::new();
        for name in chord.keys_in_order() {
            let (code, _) = self
                .typing
                .key_for_name(&name)
                .with_context(|| format!("no key produces {name:?} in the configured layout"))?;
            codes.push(code);
        }
        for &code in &codes {
            self.key(code, true);
        }
        for &code in codes.iter().rev() {
            self.key(code, false);
        }
        self.dispatch(Duration::ZERO)
    }

    /// Type text through the keymap, with Shift where the layout needs it.
    pub fn type_text(&mut self, text: &str) -> anyhow::Result<()> {
        let (shift, _) = self
            .typing
            .key_for_name("Shift_L")
            .context("the layout has no Shift_L")?;
        for c in text.chars() {
            let (code, needs_shift) = self
                .typing
                .key_for_char(c)
                .with_context(|| format!("no key types {c:?} in the configured layout"))?;
            if needs_shift {
                self.key(shift, true);
            }
            self.key(code, true);
            self.key(code, false);
            if needs_shift {
                self.key(shift, false);
            }
            // Let the client read each key before the next, as a person types.
            self.dispatch(Duration::ZERO)?;
        }
        Ok(())
    }

    pub fn pointer_to(&mut self, x: f64, y: f64) {
        let time = self.state.pal.now_ms();
        self.state.handle_pointer_motion((x, y).into(), time);
    }

    pub fn click(&mut self, button: u32) {
        let time = self.state.pal.now_ms();
        self.state.handle_button(button, true, time);
        self.state.handle_button(button, false, time);
    }
}

impl Driver {
    /// Pixels in `output`'s strip that differ from what the panel drew: 0
    /// means nothing but the panel shows there (the cursor aside, so keep
    /// the pointer off the strip when asking).
    pub fn strip_mismatch(&mut self, output: &str) -> anyhow::Result<(usize, Option<(u32, u32)>)> {
        let px = self.pixels(output)?;
        let entry = self
            .state
            .pal
            .outputs
            .iter()
            .find(|o| o.output.name() == output)
            .with_context(|| format!("no output named {output:?}"))?;
        let panel = &entry.panel.pixels;
        let rows = (panel.len() / 4) as u32 / px.width.max(1);
        anyhow::ensure!(rows > 0, "the panel of {output} has not been drawn");
        let mut count = 0;
        let mut first = None;
        for y in 0..rows.min(px.height) {
            for x in 0..px.width {
                let i = ((y * px.width + x) * 4) as usize;
                let shown = px.at(x, y);
                let drawn = &panel[i..i + 3];
                if (0..3).any(|c| shown[c].abs_diff(drawn[c]) > 1) {
                    count += 1;
                    first.get_or_insert((x, y));
                }
            }
        }
        Ok((count, first))
    }
}
