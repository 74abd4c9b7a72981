//! The clipboard between identities.
//!
//! There is one clipboard (the seat's wl_data_device selection), and it is
//! offered only to the identity that owns it: the data device focus, which
//! decides who is sent the selection, follows keyboard focus only into
//! clients of the owner's identity and is None everywhere else. Another
//! identity gets the owner's text only through the trusted transfer: the
//! user presses the privileged `send_clipboard` chord in the owner's window,
//! the compositor reads the text itself (asynchronously, capped, with a
//! timeout), the panel shows it in transit, and the next window of another
//! identity the user focuses is offered it as a compositor-owned selection
//! for one paste. Then it is withdrawn.
//!
//! "One paste" is every read from the first one until the user's next key
//! or button press (or focus change): Chromium reads the selection twice for
//! a single Ctrl+V, and nothing reads it before the user pastes, so a read
//! count of one would break the paste itself.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::{Interest, Mode, PostAction, RegistrationToken};
use smithay::reexports::rustix;
use smithay::reexports::rustix::io::Errno;
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::selection::data_device::{
    clear_data_device_selection, current_data_device_selection_userdata,
    request_data_device_client_selection, set_data_device_focus, set_data_device_selection,
};
use tracing::{debug, info, warn};

use crate::state::{ClientState, Identity, Palisade, State};

/// The text types a transfer reads (the first the owner offers, in this
/// order) and offers to the receiving window. Text only: no HTML, images or
/// file lists cross identities.
pub const TEXT_TYPES: [&str; 5] = [
    "text/plain;charset=utf-8",
    "text/plain",
    "UTF8_STRING",
    "STRING",
    "TEXT",
];

/// The most a transfer carries; a bigger selection is refused, not cut.
pub const MAX_TRANSFER_BYTES: usize = 1 << 20;

/// The clipboard's owner and the transfer in progress, if any.
#[derive(Debug)]
pub struct Clipboard {
    /// The identity whose selection the seat holds; None with no selection.
    owner: Option<Identity>,
    /// The types the owner's client offers (empty for the compositor's own
    /// selection: a delivered transfer is not sent on again).
    owner_types: Vec<String>,
    transfer: Transfer,
    next_id: u64,
    /// Writes into receivers' pipes still in progress: their source and
    /// timeout timer, so either can remove the other.
    writers: HashMap<u64, (RegistrationToken, RegistrationToken)>,
    /// A key or button is being handled: a focus change now is the user's.
    user_input: bool,
    /// How long the owner has to write its selection.
    pub read_timeout: Duration,
    /// How long a receiver has to read what it asked for.
    pub write_timeout: Duration,
}

impl Default for Clipboard {
    fn default() -> Self {
        Clipboard {
            owner: None,
            owner_types: Vec::new(),
            transfer: Transfer::Idle,
            next_id: 1,
            writers: HashMap::new(),
            user_input: false,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Default)]
enum Transfer {
    #[default]
    Idle,
    /// The compositor is reading the owner's selection.
    Reading {
        id: u64,
        from: Identity,
        data: Vec<u8>,
        /// The pipe's source and the timeout timer.
        sources: (RegistrationToken, RegistrationToken),
        /// The user moved focus while the owner was still writing.
        user_moved: bool,
        /// Read as X11 `STRING` (Latin-1), to be turned into UTF-8.
        latin1: bool,
    },
    /// Read; waiting for the user to focus a window of another identity.
    InTransit {
        id: u64,
        from: Identity,
        data: Arc<[u8]>,
    },
    /// Offered to `to` as the compositor's selection (user data `id`).
    Delivered {
        id: u64,
        from: Identity,
        to: Identity,
        data: Arc<[u8]>,
        /// A read has started the one paste.
        pasting: bool,
    },
}

/// The `clipboard` object of the state JSON.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct ClipboardInfo {
    /// The identity id whose selection the seat holds, or null.
    pub owner: Option<String>,
    /// The transfer in transit or delivered and not yet pasted, or null.
    pub transit: Option<TransitInfo>,
    /// The compositor is still reading the owner's selection.
    pub reading: bool,
}

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TransitInfo {
    /// The identity id it came from.
    pub from: String,
    pub bytes: usize,
    /// The identity id it was offered to; null while waiting for a window.
    pub to: Option<String>,
}

fn identity_of(client: &Client) -> Option<Identity> {
    client.get_data::<ClientState>().map(|d| d.identity.clone())
}

impl Palisade {
    /// The identity of the client holding keyboard focus. Not callable from
    /// `SeatHandler::focus_changed`, which runs with the keyboard locked.
    fn focused_client(&self) -> Option<Client> {
        let surface = self.seat.get_keyboard()?.current_focus()?;
        self.display_handle.get_client(surface.id()).ok()
    }

    /// Point the data device focus at `client` if its identity may see the
    /// current selection, else at nobody. Smithay offers the selection to
    /// the focus whenever either changes.
    fn set_selection_focus(&mut self, client: Option<Client>) {
        let allowed = client.filter(|c| match &self.clipboard.owner {
            None => true,
            Some(owner) => identity_of(c).is_some_and(|i| i.id == owner.id),
        });
        set_data_device_focus(&self.display_handle, &self.seat, allowed);
    }

    /// Keyboard focus moved to `client` (from `SeatHandler::focus_changed`:
    /// only the argument may be used, the keyboard is locked).
    pub fn clipboard_focus_changed(&mut self, client: Option<Client>) {
        if matches!(
            self.clipboard.transfer,
            Transfer::Delivered { pasting: true, .. }
        ) {
            self.withdraw_transfer();
        }
        if let Some(client) = &client {
            let identity = identity_of(client);
            let user = self.clipboard.user_input;
            match &mut self.clipboard.transfer {
                Transfer::Reading {
                    from, user_moved, ..
                } if user && identity.as_ref().is_some_and(|i| i.id != from.id) => {
                    *user_moved = true;
                }
                Transfer::InTransit { from, .. }
                    if user && identity.as_ref().is_some_and(|i| i.id != from.id) =>
                {
                    if let Some(to) = identity {
                        self.deliver(to);
                    }
                }
                _ => {}
            }
        }
        self.set_selection_focus(client);
    }

    /// A client set (or cleared) the selection; Smithay installs it after
    /// this returns. Only the keyboard-focused client may set it, so its
    /// identity is the new owner.
    pub fn clipboard_new_selection(&mut self, types: Option<Vec<String>>) {
        let owner = types
            .as_ref()
            .and(self.focused_client())
            .and_then(|c| identity_of(&c));
        debug!(owner = ?owner.as_ref().map(|i| &i.id), "new selection");
        self.clipboard.owner = owner;
        self.clipboard.owner_types = types.unwrap_or_default();
        // A delivered transfer was the selection that is being replaced.
        if matches!(self.clipboard.transfer, Transfer::Delivered { .. }) {
            self.clipboard.transfer = Transfer::Idle;
            self.queue_redraw_all();
        }
        // The setter may not have the data device focus yet (it had none
        // while another identity owned the clipboard). It gets it once
        // Smithay has installed the new selection: pointing the focus at it
        // now would offer it the old selection, another identity's.
        self.loop_handle.insert_idle(|state: &mut State| {
            let client = state.pal.focused_client();
            state.pal.set_selection_focus(client);
        });
    }

    /// A key or button event starts (`pressed`: a press): the first press
    /// after a paste began ends that paste. Focus changes until
    /// [`Self::clipboard_input_ends`] are the user's.
    pub fn clipboard_input_begins(&mut self, pressed: bool) {
        if pressed
            && matches!(
                self.clipboard.transfer,
                Transfer::Delivered { pasting: true, .. }
            )
        {
            self.withdraw_transfer();
        }
        self.clipboard.user_input = true;
    }

    pub fn clipboard_input_ends(&mut self) {
        self.clipboard.user_input = false;
    }

    /// The lock began: the selection is already cleared; whatever is read,
    /// in transit or being written is dropped too.
    pub fn clipboard_lock_began(&mut self) {
        self.cancel_transfer();
        for (_, (writer, timer)) in self.clipboard.writers.drain() {
            self.loop_handle.remove(writer);
            self.loop_handle.remove(timer);
        }
        self.clipboard.owner = None;
        self.clipboard.owner_types.clear();
        set_data_device_focus(&self.display_handle, &self.seat, None);
    }

    /// Drop the transfer, whatever its stage.
    fn cancel_transfer(&mut self) {
        match std::mem::take(&mut self.clipboard.transfer) {
            Transfer::Idle => return,
            Transfer::Reading {
                sources: (pipe, timer),
                ..
            } => {
                self.loop_handle.remove(pipe);
                self.loop_handle.remove(timer);
            }
            Transfer::InTransit { .. } => {}
            delivered @ Transfer::Delivered { .. } => {
                self.clipboard.transfer = delivered;
                self.withdraw_transfer();
            }
        }
        info!("clipboard transfer cancelled");
        self.queue_redraw_all();
    }

    /// A delivered transfer is over: its selection is cleared (the receiver
    /// is sent selection(NULL)) and later reads of its offers get nothing.
    fn withdraw_transfer(&mut self) {
        let Transfer::Delivered { id, .. } = std::mem::take(&mut self.clipboard.transfer) else {
            return;
        };
        let ours = current_data_device_selection_userdata(&self.seat).map(|d| *d) == Some(id);
        if ours {
            clear_data_device_selection(&self.display_handle, &self.seat);
            self.clipboard.owner = None;
            self.clipboard.owner_types.clear();
        }
        debug!(id, "clipboard transfer withdrawn");
        self.queue_redraw_all();
    }

    /// Offer the transfer in transit to `to`, which has keyboard focus.
    fn deliver(&mut self, to: Identity) {
        let Transfer::InTransit { id, from, data } = std::mem::take(&mut self.clipboard.transfer)
        else {
            return;
        };
        info!(from = %from.id, to = %to.id, bytes = data.len(), "clipboard transfer delivered");
        // The swap is offered to nobody; the caller then points the data
        // device focus at the receiver, which is offered the new selection.
        set_data_device_focus(&self.display_handle, &self.seat, None);
        let types = TEXT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        set_data_device_selection(&self.display_handle, &self.seat, types, id);
        self.clipboard.owner = Some(to.clone());
        self.clipboard.owner_types.clear();
        self.clipboard.transfer = Transfer::Delivered {
            id,
            from,
            to,
            data,
            pasting: false,
        };
        self.queue_redraw_all();
    }

    /// A client asked to read the compositor's selection `id` (the user data
    /// of the offer it holds). Only the delivered transfer's offers are
    /// served; a stale offer's fd is closed at once, so its read is empty.
    pub fn clipboard_send(&mut self, id: u64, mime: &str, fd: OwnedFd) {
        let data = match &mut self.clipboard.transfer {
            Transfer::Delivered {
                id: current,
                data,
                pasting,
                ..
            } if *current == id && TEXT_TYPES.contains(&mime) => {
                *pasting = true;
                data.clone()
            }
            _ => {
                debug!(
                    id,
                    mime, "a read of a withdrawn clipboard offer: nothing sent"
                );
                return;
            }
        };
        self.write_to_receiver(fd, data);
    }

    /// Write `data` into a receiver's pipe without ever blocking: what the
    /// pipe does not take at once is written as it drains, and a receiver
    /// that stops reading is dropped after `write_timeout`. (The compositor
    /// ignores SIGPIPE, as every Rust program does: a closed pipe is EPIPE.)
    fn write_to_receiver(&mut self, fd: OwnedFd, data: Arc<[u8]>) {
        let flags = rustix::fs::fcntl_getfl(&fd).map(|f| f | rustix::fs::OFlags::NONBLOCK);
        if let Err(err) = flags.and_then(|f| rustix::fs::fcntl_setfl(&fd, f)) {
            warn!("clipboard: the receiver's fd: {err}");
            return;
        }
        let mut written = 0;
        if write_some(&fd, &data, &mut written) != PostAction::Continue {
            return;
        }
        let wid = self.clipboard.next_id;
        self.clipboard.next_id += 1;
        let writer = Generic::new(fd, Interest::WRITE, Mode::Level);
        let writer = self
            .loop_handle
            .insert_source(writer, move |_, fd, state: &mut State| {
                let action = write_some(fd, &data, &mut written);
                if action == PostAction::Remove {
                    if let Some((_, timer)) = state.pal.clipboard.writers.remove(&wid) {
                        state.pal.loop_handle.remove(timer);
                    }
                }
                Ok(action)
            });
        let timer = Timer::from_duration(self.clipboard.write_timeout);
        let timer = self
            .loop_handle
            .insert_source(timer, move |_, _, state: &mut State| {
                if let Some((writer, _)) = state.pal.clipboard.writers.remove(&wid) {
                    warn!("clipboard: a receiver did not read its paste in time");
                    state.pal.loop_handle.remove(writer);
                }
                TimeoutAction::Drop
            });
        match (writer, timer) {
            (Ok(writer), Ok(timer)) => {
                self.clipboard.writers.insert(wid, (writer, timer));
            }
            (writer, timer) => {
                warn!("clipboard: cannot watch the receiver's pipe");
                for token in [writer.ok(), timer.ok()].into_iter().flatten() {
                    self.loop_handle.remove(token);
                }
            }
        }
    }

    /// Writes into receivers' pipes still under way (tests watch them end).
    pub fn clipboard_writers(&self) -> usize {
        self.clipboard.writers.len()
    }

    /// What the state JSON shows.
    pub fn clipboard_info(&self) -> ClipboardInfo {
        let c = &self.clipboard;
        let transit = match &c.transfer {
            Transfer::InTransit { from, data, .. } => Some((from, data, None)),
            Transfer::Delivered { from, to, data, .. } => Some((from, data, Some(to))),
            _ => None,
        };
        ClipboardInfo {
            owner: c.owner.as_ref().map(|i| i.id.clone()),
            transit: transit.map(|(from, data, to)| TransitInfo {
                from: from.id.clone(),
                bytes: data.len(),
                to: to.map(|i| i.id.clone()),
            }),
            reading: matches!(c.transfer, Transfer::Reading { .. }),
        }
    }

    /// What the panel shows: the transfer in transit (or delivered and not
    /// yet pasted), from whom and to whom.
    pub fn clipboard_panel(&self) -> Option<palisade_panel::ClipboardTransit> {
        let (from, data, to) = match &self.clipboard.transfer {
            Transfer::InTransit { from, data, .. } => (from, data, None),
            Transfer::Delivered { from, to, data, .. } => (from, data, Some(to)),
            _ => return None,
        };
        Some(palisade_panel::ClipboardTransit {
            from_label: from.label.clone(),
            from_color: from.color,
            bytes: data.len(),
            to_label: to.map(|i| i.label.clone()),
        })
    }
}

/// Write what is left of `data` from `*written`; Continue while the pipe is
/// full, Remove once done or the receiver is gone.
fn write_some(fd: &OwnedFd, data: &[u8], written: &mut usize) -> PostAction {
    while *written < data.len() {
        match rustix::io::write(fd, &data[*written..]) {
            Ok(n) => *written += n,
            Err(Errno::AGAIN) => return PostAction::Continue,
            Err(Errno::INTR) => {}
            Err(err) => {
                debug!("clipboard: the receiver's pipe: {err}");
                return PostAction::Remove;
            }
        }
    }
    PostAction::Remove
}

impl State {
    /// The `send_clipboard` chord: in the owner's window, read its text and
    /// put it in transit; with a transfer under way, cancel it.
    pub fn send_clipboard(&mut self) {
        let pal = &mut self.pal;
        if !matches!(pal.clipboard.transfer, Transfer::Idle) {
            pal.cancel_transfer();
            return;
        }
        let Some(from) = pal.focused_client().and_then(|c| identity_of(&c)) else {
            return;
        };
        if pal.clipboard.owner.as_ref().map(|o| &o.id) != Some(&from.id) {
            info!(focused = %from.id, "clipboard transfer: the focused window's identity has no clipboard");
            return;
        }
        let Some(mime) = TEXT_TYPES
            .iter()
            .find(|t| pal.clipboard.owner_types.iter().any(|o| o == *t))
        else {
            info!(from = %from.id, "clipboard transfer: the clipboard holds no text");
            return;
        };
        let flags = rustix::pipe::PipeFlags::CLOEXEC;
        let (read, write) = match rustix::pipe::pipe_with(flags) {
            Ok(pipe) => pipe,
            Err(err) => {
                warn!("clipboard transfer: pipe: {err}");
                return;
            }
        };
        let nonblocking = rustix::fs::fcntl_setfl(&read, rustix::fs::OFlags::NONBLOCK);
        if let Err(err) = nonblocking {
            warn!("clipboard transfer: pipe: {err}");
            return;
        }
        if let Err(err) = request_data_device_client_selection(&pal.seat, (*mime).to_owned(), write)
        {
            warn!("clipboard transfer: asking the owner: {err}");
            return;
        }
        let id = pal.clipboard.next_id;
        pal.clipboard.next_id += 1;
        let pipe = Generic::new(read, Interest::READ, Mode::Level);
        let pipe = pal
            .loop_handle
            .insert_source(pipe, move |_, fd, state| Ok(state.pal.read_some(id, fd)));
        let timer = Timer::from_duration(pal.clipboard.read_timeout);
        let timer = pal.loop_handle.insert_source(timer, move |_, _, state| {
            let pal = &mut state.pal;
            if let Transfer::Reading {
                id: r,
                sources: (pipe, _),
                ..
            } = pal.clipboard.transfer
            {
                if r == id {
                    // Not `cancel_transfer`: a source does not remove itself.
                    warn!("clipboard transfer: the owner did not write its selection in time");
                    pal.clipboard.transfer = Transfer::Idle;
                    pal.loop_handle.remove(pipe);
                }
            }
            TimeoutAction::Drop
        });
        let (pipe, timer) = match (pipe, timer) {
            (Ok(pipe), Ok(timer)) => (pipe, timer),
            (pipe, timer) => {
                warn!("clipboard transfer: cannot watch the pipe");
                for token in [pipe.ok(), timer.ok()].into_iter().flatten() {
                    pal.loop_handle.remove(token);
                }
                return;
            }
        };
        info!(from = %from.id, mime, "clipboard transfer: reading");
        pal.clipboard.transfer = Transfer::Reading {
            id,
            from,
            data: Vec::new(),
            sources: (pipe, timer),
            user_moved: false,
            latin1: *mime == "STRING",
        };
    }
}

impl Palisade {
    /// The owner's pipe is readable: take what is there. Remove once the
    /// transfer is complete, refused or no longer this one.
    fn read_some(&mut self, id: u64, fd: &OwnedFd) -> PostAction {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let Transfer::Reading {
                id: current,
                data,
                sources,
                ..
            } = &mut self.clipboard.transfer
            else {
                return PostAction::Remove;
            };
            if *current != id {
                return PostAction::Remove;
            }
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => {
                    let timer = sources.1;
                    self.loop_handle.remove(timer);
                    self.read_complete();
                    return PostAction::Remove;
                }
                Ok(n) if data.len() + n > MAX_TRANSFER_BYTES => {
                    let timer = sources.1;
                    self.loop_handle.remove(timer);
                    self.clipboard.transfer = Transfer::Idle;
                    warn!("clipboard transfer refused: more than {MAX_TRANSFER_BYTES} bytes");
                    self.queue_redraw_all();
                    return PostAction::Remove;
                }
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(Errno::AGAIN) => return PostAction::Continue,
                Err(Errno::INTR) => {}
                Err(err) => {
                    let timer = sources.1;
                    self.loop_handle.remove(timer);
                    self.clipboard.transfer = Transfer::Idle;
                    warn!("clipboard transfer: reading the owner's pipe: {err}");
                    return PostAction::Remove;
                }
            }
        }
    }

    /// The owner closed its pipe: the text is in transit, or delivered at
    /// once if the user already moved to another identity's window.
    fn read_complete(&mut self) {
        let Transfer::Reading {
            id,
            from,
            data,
            user_moved,
            latin1,
            ..
        } = std::mem::take(&mut self.clipboard.transfer)
        else {
            return;
        };
        self.queue_redraw_all();
        if data.is_empty() {
            info!(from = %from.id, "clipboard transfer: the clipboard was empty");
            return;
        }
        // It is offered as UTF-8 text: anything else is refused here rather
        // than handed on as text.
        let data = if latin1 {
            data.iter().map(|&b| char::from(b)).collect::<String>()
        } else {
            match String::from_utf8(data) {
                Ok(text) => text,
                Err(_) => {
                    warn!(from = %from.id, "clipboard transfer refused: not UTF-8 text");
                    return;
                }
            }
        };
        if data.len() > MAX_TRANSFER_BYTES {
            warn!("clipboard transfer refused: more than {MAX_TRANSFER_BYTES} bytes");
            return;
        }
        info!(from = %from.id, bytes = data.len(), "clipboard transfer in transit");
        self.clipboard.transfer = Transfer::InTransit {
            id,
            from: from.clone(),
            data: data.into_bytes().into(),
        };
        let focused = self.focused_client();
        let to = focused.as_ref().and_then(identity_of);
        if let Some(to) = to.filter(|to| user_moved && to.id != from.id) {
            self.deliver(to);
            self.set_selection_focus(focused);
        }
    }
}
