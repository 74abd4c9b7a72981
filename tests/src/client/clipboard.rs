//! The clipboard (wl_data_device): setting a selection like a toolkit does, and reading the
//! selection others set, including through an offer kept on purpose after the compositor
//! withdrew it, as a malicious client would.
//!
//! Nothing here blocks: the source writes its text straight into the fd it is handed (small
//! enough for any pipe buffer), and [`ClipboardRead`] polls its pipe without waiting, so tests
//! step the fixture between polls.

use std::io::Write as _;
use std::os::fd::{AsFd as _, OwnedFd};

use smithay::reexports::rustix;
use smithay::reexports::rustix::io::Errno;
use smithay::reexports::rustix::pipe::{pipe_with, PipeFlags};
use wayland_client::protocol::wl_data_device::{self, WlDataDevice};
use wayland_client::protocol::wl_data_device_manager::WlDataDeviceManager;
use wayland_client::protocol::wl_data_offer::WlDataOffer;
use wayland_client::protocol::wl_data_source::{self, WlDataSource};
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{delegate_noop, event_created_child, Connection, Dispatch, QueueHandle};

use super::state::State;
use super::TestClient;

/// The only type our sources offer and our reads ask for.
pub const TEXT_MIME: &str = "text/plain;charset=utf-8";

/// Clipboard bookkeeping inside [`State`].
#[derive(Default)]
pub(super) struct Clipboard {
    device: Option<WlDataDevice>,
    /// Whether each source we created (by index) has been sent `cancelled`.
    cancelled: Vec<bool>,
    /// Keep a cancelled source alive instead of destroying it like real toolkits do.
    keep_cancelled_sources: bool,
    /// The offer of the latest wl_data_device.selection; None after selection(NULL).
    selection: Option<WlDataOffer>,
    /// Every non-null selection offer in the order they came, never destroyed by us even
    /// after the compositor replaced them.
    kept: Vec<WlDataOffer>,
    /// The mime type of every wl_data_source.send our sources were asked for, in order.
    sends: Vec<String>,
    /// Sources that take the fd and never write or close it (a stuck source).
    hold_fds: Option<Vec<OwnedFd>>,
    /// Text our sources serve instead of their own (for oversized transfers).
    override_text: Option<Vec<u8>>,
    /// wl_data_device.enter events: a drag came over one of our surfaces.
    drag_enters: usize,
}

/// User data of our wl_data_source: its index and the text it serves.
pub(super) struct SourceData {
    index: usize,
    text: Vec<u8>,
}

impl State {
    /// Creates our wl_data_device once both the manager and the seat are bound.
    pub(super) fn create_data_device(&mut self, qh: &QueueHandle<Self>) {
        if self.clipboard.device.is_some() {
            return;
        }
        if let (Some(manager), Some(seat)) = (&self.data_device_manager, &self.seat) {
            self.clipboard.device = Some(manager.get_data_device(seat, qh, ()));
        }
    }
}

impl TestClient {
    /// Offers `text` as the clipboard (wl_data_device.set_selection with a new source offering
    /// [`TEXT_MIME`]), using the serial of our last wl_keyboard.enter. False when nothing could
    /// be sent (no data device or never had keyboard focus); true says only that the request
    /// was sent, not that the compositor accepted it.
    pub fn set_clipboard(&mut self, text: &str) -> bool {
        let (Some(manager), Some(device), Some(serial)) = (
            self.state.data_device_manager.clone(),
            self.state.clipboard.device.clone(),
            self.state.keyboard_enter_serial,
        ) else {
            return false;
        };
        let source = self.text_source(&manager, text);
        device.set_selection(Some(&source), serial);
        true
    }

    /// A new data source serving `text` as [`TEXT_MIME`], counted for
    /// [`Self::clipboard_cancelled`].
    fn text_source(&mut self, manager: &WlDataDeviceManager, text: &str) -> WlDataSource {
        let index = self.state.clipboard.cancelled.len();
        self.state.clipboard.cancelled.push(false);
        let data = SourceData {
            index,
            text: text.as_bytes().to_vec(),
        };
        let source = manager.create_data_source(&self.qh, data);
        source.offer(TEXT_MIME.to_owned());
        source
    }

    /// Whether the source of the latest [`Self::set_clipboard`] has been cancelled.
    pub fn clipboard_cancelled(&self) -> bool {
        self.state
            .clipboard
            .cancelled
            .last()
            .copied()
            .unwrap_or(false)
    }

    /// By default a cancelled source is destroyed, as real toolkits do; `false` keeps it.
    pub fn set_destroy_on_cancel(&mut self, destroy: bool) {
        self.state.clipboard.keep_cancelled_sources = !destroy;
    }

    /// The mime types our sources were asked to send, one entry per wl_data_source.send.
    pub fn clipboard_sends(&self) -> &[String] {
        &self.state.clipboard.sends
    }

    /// From now on our sources keep every fd they are asked to write and never write or
    /// close it: a stuck clipboard owner.
    pub fn hold_clipboard_fds(&mut self) {
        self.state.clipboard.hold_fds = Some(Vec::new());
    }

    /// From now on our sources serve `text` whatever they were created with (written from a
    /// thread when large, so a full pipe blocks nothing).
    pub fn serve_clipboard_text(&mut self, text: Vec<u8>) {
        self.state.clipboard.override_text = Some(text);
    }

    /// Starts a drag of `text` from window `w` (wl_data_device.start_drag), with the serial of
    /// our last button press, which must still be held. False when nothing could be sent.
    pub fn start_drag(&mut self, w: usize, text: &str) -> bool {
        self.drag(w, text, None)
    }

    /// Like [`Self::start_drag`], with a drag icon: a `size` surface in
    /// `rgba`, committed once it has the icon role (as toolkits draw it), and
    /// kept alive for as long as the client is.
    pub fn start_drag_with_icon(
        &mut self,
        w: usize,
        text: &str,
        size: (i32, i32),
        rgba: [u8; 4],
    ) -> bool {
        let Some(icon) = self.solid_surface(size, rgba) else {
            return false;
        };
        let sent = self.drag(w, text, Some(&icon));
        icon.commit();
        self.state.extra_surfaces.push(icon);
        sent
    }

    fn drag(&mut self, w: usize, text: &str, icon: Option<&WlSurface>) -> bool {
        let (Some(manager), Some(device), Some(serial)) = (
            self.state.data_device_manager.clone(),
            self.state.clipboard.device.clone(),
            self.state.button_serial,
        ) else {
            return false;
        };
        let source = self.text_source(&manager, text);
        let origin = self.state.windows[w].shell.surface.clone();
        device.start_drag(Some(&source), &origin, icon, serial);
        true
    }

    /// How many times a drag entered one of our surfaces (wl_data_device.enter).
    pub fn drag_enters(&self) -> usize {
        self.state.clipboard.drag_enters
    }

    /// How many selection offers (non-null wl_data_device.selection) we were sent.
    pub fn selection_offers(&self) -> usize {
        self.state.clipboard.kept.len()
    }

    /// Whether the latest wl_data_device.selection carried an offer (not NULL).
    pub fn selection_offer(&self) -> bool {
        self.state.clipboard.selection.is_some()
    }

    /// Asks for [`TEXT_MIME`] from the latest non-null selection offer, even if the compositor
    /// has since sent selection(NULL). None when no offer ever arrived or the pipe failed.
    pub fn request_clipboard(&mut self) -> Option<ClipboardRead> {
        let latest = self.state.clipboard.kept.len().checked_sub(1)?;
        self.request_clipboard_offer(latest)
    }

    /// Like [`Self::request_clipboard`], from the `n`th selection offer we were ever sent
    /// (0 = the first): a client that kept an old offer on purpose.
    pub fn request_clipboard_offer(&mut self, n: usize) -> Option<ClipboardRead> {
        let offer = self.state.clipboard.kept.get(n)?.clone();
        let flags = PipeFlags::CLOEXEC | PipeFlags::NONBLOCK;
        let (read, write) = pipe_with(flags)
            .map_err(|e| tracing::warn!("test client: pipe for the clipboard: {e}"))
            .ok()?;
        // The connection dups the fd when queueing the request, so ours can close now: the
        // only write ends left are the ones travelling to the source's owner.
        offer.receive(TEXT_MIME.to_owned(), write.as_fd());
        drop(write);
        Some(ClipboardRead {
            pipe: read,
            data: Vec::new(),
            eof: false,
        })
    }
}

/// The read end of one clipboard transfer.
pub struct ClipboardRead {
    pipe: OwnedFd,
    data: Vec<u8>,
    eof: bool,
}

impl ClipboardRead {
    /// Reads whatever has arrived without blocking. Some(everything) once the writer closed
    /// its end (EOF), None while it may still write.
    pub fn try_read(&mut self) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        while !self.eof {
            match rustix::io::read(&self.pipe, &mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.data.extend_from_slice(&buf[..n]),
                Err(Errno::AGAIN) => return None,
                Err(Errno::INTR) => {}
                Err(e) => panic!("reading the clipboard pipe: {e}"),
            }
        }
        Some(self.data.clone())
    }

    /// What has been read so far, EOF or not.
    pub fn received(&self) -> &[u8] {
        &self.data
    }
}

impl Dispatch<WlDataSource, SourceData> for State {
    fn event(
        state: &mut Self,
        source: &WlDataSource,
        event: wl_data_source::Event,
        data: &SourceData,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_data_source::Event::Send { mime_type, fd } => {
                state.clipboard.sends.push(mime_type.clone());
                if mime_type != TEXT_MIME {
                    return;
                }
                if let Some(held) = &mut state.clipboard.hold_fds {
                    held.push(fd);
                    return;
                }
                let text = state.clipboard.override_text.as_ref().unwrap_or(&data.text);
                // Closing the fd (dropping the file) is the end of the transfer; a large text
                // would block on a full pipe, so it is written from a thread.
                if text.len() > 32 * 1024 {
                    let text = text.clone();
                    std::thread::spawn(move || {
                        let _ = std::fs::File::from(fd).write_all(&text);
                    });
                    return;
                }
                let written = std::fs::File::from(fd).write_all(text);
                if let Err(e) = written {
                    tracing::warn!("test client: writing the clipboard: {e}");
                }
            }
            wl_data_source::Event::Cancelled => {
                if let Some(cancelled) = state.clipboard.cancelled.get_mut(data.index) {
                    *cancelled = true;
                }
                if !state.clipboard.keep_cancelled_sources {
                    source.destroy();
                }
            }
            _ => {}
        }
    }
}

impl Dispatch<WlDataDevice, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlDataDevice,
        event: wl_data_device::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        // Offers introduced by data_offer but never made the selection (drag and drop) are
        // simply left alone; a drag's enters are counted.
        let id = match event {
            wl_data_device::Event::Selection { id } => id,
            wl_data_device::Event::Enter { .. } => {
                state.clipboard.drag_enters += 1;
                return;
            }
            _ => return,
        };
        let clipboard = &mut state.clipboard;
        clipboard.selection = id.clone();
        if let Some(offer) = id {
            clipboard.kept.push(offer);
        }
    }

    event_created_child!(State, WlDataDevice, [
        wl_data_device::EVT_DATA_OFFER_OPCODE => (WlDataOffer, ()),
    ]);
}

// Offered mime types and drag-and-drop actions are not needed: our reads always ask for text.
delegate_noop!(State: ignore WlDataOffer);
delegate_noop!(State: WlDataDeviceManager);
