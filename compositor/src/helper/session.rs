//! The helper link inside the compositor: its read source, the USB
//! countdown on the panel, and the privileged actions the bindings and the
//! panel ask for.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use palisade_shortcuts::proto::{Request, VERSION};
use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::{Interest, Mode, PostAction, RegistrationToken};
use tracing::{error, info, warn};

use super::{next_tick, panel_usb, HelperLink, LinkStatus};
use crate::state::{Palisade, State};

/// Reads per wakeup before the loop serves others again; a peer that floods
/// is read again on the next iteration (the source is level-triggered).
const MAX_READS: usize = 16;

/// The helper link as the scenario runner and tests wait on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperStatus {
    /// Started without `PALISADE_HELPER_FD`.
    Absent,
    Connecting,
    Connected,
    Lost(String),
}

impl Palisade {
    /// Puts `link` into the event loop and says `Hello`. After this the
    /// link only goes away by being lost.
    pub fn connect_helper(&mut self, mut link: HelperLink) -> anyhow::Result<()> {
        let stream = link
            .stream
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the helper link is already lost"))?;
        // A dup for the source (made close-on-exec by std); writes go
        // through the link's own handle.
        let reader = stream
            .try_clone()
            .map_err(|e| anyhow::anyhow!("duplicating the helper socket: {e}"))?;
        let source = Generic::new(reader, Interest::READ, Mode::Level);
        let token = self
            .loop_handle
            .insert_source(source, |_, stream, state: &mut State| {
                Ok(state.pal.helper_readable(stream))
            })
            .map_err(|e| anyhow::anyhow!("watching the helper socket: {e}"))?;
        link.source = Some(token);
        self.helper = Some(link);
        self.send_helper(&Request::Hello { version: VERSION });
        Ok(())
    }

    /// Everything the helper sent so far. Runs inside the source's own
    /// callback, so a lost link removes the source by returning `Remove`.
    fn helper_readable(&mut self, stream: &UnixStream) -> PostAction {
        let Some(link) = self.helper.as_mut() else {
            return PostAction::Remove;
        };
        let mut buf = [0u8; palisade_shortcuts::proto::MAX_FRAME];
        let mut changed = false;
        let mut lost = None;
        for _ in 0..MAX_READS {
            match (&*stream).read(&mut buf) {
                Ok(0) => {
                    lost = Some(link.eof_reason());
                    break;
                }
                Ok(n) => match link.receive(&buf[..n], Instant::now()) {
                    Ok(c) => changed |= c,
                    Err(e) => {
                        lost = Some(format!("protocol error: {e}"));
                        break;
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    lost = Some(format!("reading from the helper: {e}"));
                    break;
                }
            }
        }
        let action = match lost {
            Some(reason) => {
                // Our own source: returning Remove drops it; the countdown
                // timer is removed here.
                let [_, countdown] = link.mark_lost(reason.clone());
                self.remove_sources([None, countdown]);
                log_lost(&reason);
                changed = true;
                PostAction::Remove
            }
            None => PostAction::Continue,
        };
        let auth = self.helper.as_mut().and_then(HelperLink::take_auth_result);
        if let Some(result) = auth {
            self.auth_answered(result.generation, result.outcome);
        }
        if matches!(action, PostAction::Remove) {
            self.lock_helper_lost();
        }
        if changed {
            self.helper_changed();
        }
        action
    }

    /// Sends `request` if there is a link that is not lost; returns whether
    /// it went out. A write that fails drops the link.
    pub fn send_helper(&mut self, request: &Request) -> bool {
        let Some(link) = self.helper.as_mut() else {
            return false;
        };
        if matches!(link.status, LinkStatus::Lost(_)) {
            return false;
        }
        match link.send(request) {
            Ok(()) => {
                info!(request = request.kind(), "sent to the helper");
                true
            }
            Err(reason) => {
                let reason = format!("sending {}: {reason}", request.kind());
                let tokens = link.mark_lost(reason.clone());
                self.remove_sources(tokens);
                log_lost(&reason);
                self.lock_helper_lost();
                self.helper_changed();
                false
            }
        }
    }

    fn remove_sources(&self, tokens: [Option<RegistrationToken>; 2]) {
        for token in tokens.into_iter().flatten() {
            self.loop_handle.remove(token);
        }
    }

    /// The helper's state (or the link) changed: repaint the panels and run
    /// the USB countdown only while USB is allowed.
    fn helper_changed(&mut self) {
        self.queue_redraw_all();
        let Some(link) = self.helper.as_mut() else {
            return;
        };
        // Restarted on every change, so each tick lands where the shown
        // seconds change.
        if let Some(token) = link.countdown.take() {
            self.loop_handle.remove(token);
        }
        let Some(first) = link.usb_remaining(Instant::now()).and_then(next_tick) else {
            return;
        };
        let timer = Timer::from_duration(first);
        let inserted = self
            .loop_handle
            .insert_source(timer, |_, _, state: &mut State| {
                state.pal.queue_redraw_all();
                let next = (state.pal.helper.as_ref())
                    .and_then(|l| l.usb_remaining(Instant::now()))
                    .and_then(next_tick);
                match next {
                    Some(next) => TimeoutAction::ToDuration(next),
                    None => {
                        // At zero: nothing left to count, so no wakeups
                        // until the helper says what USB does now.
                        if let Some(link) = state.pal.helper.as_mut() {
                            link.countdown = None;
                        }
                        TimeoutAction::Drop
                    }
                }
            });
        match inserted {
            Ok(token) => link.countdown = Some(token),
            Err(err) => warn!("starting the USB countdown: {err}"),
        }
    }

    /// The helper link's status, for waits and tests.
    pub fn helper_status(&self) -> HelperStatus {
        match self.helper.as_ref().map(HelperLink::status) {
            None => HelperStatus::Absent,
            Some(LinkStatus::Connecting) => HelperStatus::Connecting,
            Some(LinkStatus::Connected) => HelperStatus::Connected,
            Some(LinkStatus::Lost(reason)) => HelperStatus::Lost(reason.clone()),
        }
    }

    /// What the panel shows for USB: only what the helper said, counted
    /// down locally; "helper not connected" whenever there is no answer.
    pub fn usb_state(&self) -> palisade_panel::UsbState {
        let state = (self.helper.as_ref()).and_then(|l| l.state_at(Instant::now()));
        panel_usb(state.as_ref())
    }

    /// The USB binding: ask the helper to flip USB. Without a connected
    /// helper nothing else can do it, so this only says so.
    pub fn toggle_usb(&mut self) {
        if !self.helper.as_ref().is_some_and(HelperLink::is_connected) {
            warn!("USB toggle ignored: the helper is not connected");
            return;
        }
        self.send_helper(&Request::ToggleUsb);
    }
}

fn log_lost(reason: &str) {
    error!(
        "helper link lost: {reason}; USB now reads \"helper not connected\" and privileged \
         actions do nothing until palisade is restarted"
    );
}
