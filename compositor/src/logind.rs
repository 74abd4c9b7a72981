//! Locking for logind: the session's `Lock` signal (`loginctl lock-session`)
//! and a lock before every suspend.
//!
//! Before suspending, logind broadcasts `PrepareForSleep(true)` and waits
//! (at most `InhibitDelayMaxSec`) for every delay inhibitor to be released.
//! We hold one while awake and release it only once a locked frame is on
//! every output, so the machine never wakes up showing the desktop. As in
//! `status`, zbus runs on a thread of its own so a hung bus cannot stall the
//! event loop, and events reach the compositor on a calloop channel.

use std::cell::Cell;
use std::pin::Pin;

use futures_lite::future;
use futures_lite::stream::{self, Stream, StreamExt};
use smithay::reexports::calloop::channel::{self, Sender};
use tracing::{debug, info, warn};
use zbus::message::Type;
use zbus::zvariant::{OwnedFd, OwnedObjectPath};
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::state::{Palisade, State};
use crate::status::{connect, name_owner, owner_changes, Bus, BusThread};

/// What logind asks of the compositor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogindEvent {
    /// Lock the session (`loginctl lock-session`, `lock-sessions`).
    Lock,
    /// true: the machine is about to sleep; false: it has woken up.
    PrepareForSleep(bool),
}

/// Keeps the logind thread alive; dropping it stops and joins the thread
/// (which also releases any inhibitor it holds).
#[derive(Debug)]
pub struct LogindHandle {
    shown: async_channel::Sender<u64>,
    /// `PrepareForSleep(true)` events the compositor has received. Sent with
    /// `lock_is_shown`, so the thread never releases the inhibitor of a
    /// later sleep on the strength of a lock shown for an earlier one.
    sleeps: Cell<u64>,
    thread: Option<BusThread>,
}

impl LogindHandle {
    /// The locked frame is on every output: if a sleep is pending, let it
    /// go ahead. Does nothing when no sleep is pending.
    pub fn lock_is_shown(&self) {
        // Unbounded, so this never blocks the event loop; it fails only when
        // the thread has ended, and then no inhibitor is held any more.
        let _ = self.shown.try_send(self.sleeps.get());
    }

    /// Whether the thread has ended (no bus, no logind, connection lost).
    pub fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(BusThread::has_ended)
    }
}

const LOGIN1: &str = "org.freedesktop.login1";
const LOGIN1_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const SESSION: &str = "org.freedesktop.login1.Session";
const DBUS_NAME: &str = "org.freedesktop.DBus";
/// Per-subscription queue; logind's signals are rare, this is plenty.
const QUEUE_LEN: usize = 64;

/// Starts following logind on `bus`; events arrive on `tx`. Without a bus
/// or without logind the thread logs once and ends: no lock from logind.
pub fn start(bus: Bus, tx: Sender<LogindEvent>) -> LogindHandle {
    let (shown_tx, shown_rx) = async_channel::unbounded();
    let thread = BusThread::spawn("palisade-logind", "logind", watch(bus, tx, shown_rx));
    let thread = thread.map_err(|err| {
        warn!("logind: cannot start the D-Bus thread ({err}); no lock on suspend");
    });
    LogindHandle {
        shown: shown_tx,
        sleeps: Cell::new(0),
        thread: thread.ok(),
    }
}

/// The whole life of the thread.
async fn watch(bus: Bus, tx: Sender<LogindEvent>, shown: async_channel::Receiver<u64>) {
    let conn = match connect(&bus).await {
        Ok(conn) => conn,
        Err(err) => {
            warn!("logind: no D-Bus connection to {bus:?} ({err}); no lock from logind");
            return;
        }
    };
    let mut watcher = Watcher {
        conn,
        tx,
        shown,
        owner: None,
        inhibitor: None,
        sleeps: 0,
        sleeping: false,
    };
    match watcher.run().await {
        Ok(End::ReceiverGone) => debug!("logind: the compositor stopped listening"),
        Ok(End::NoLogind) => warn!("logind is not on {bus:?}; no lock from logind"),
        Ok(End::ConnectionLost) => warn!("logind: lost the D-Bus connection; no lock on suspend"),
        Err(err) => warn!("logind: cannot follow logind ({err}); no lock on suspend"),
    }
}

enum End {
    ReceiverGone,
    NoLogind,
    ConnectionLost,
}

/// Which subscription a message came in on.
#[derive(Debug, Clone, Copy)]
enum Source {
    Owner,
    Sleep,
    Lock,
}

type Events = Pin<Box<dyn Stream<Item = (Source, zbus::Result<Message>)> + Send>>;

/// What woke the thread; None when that side has gone.
enum Input {
    Shown(Option<u64>),
    Signal(Option<(Source, zbus::Result<Message>)>),
}

struct Watcher {
    conn: Connection,
    tx: Sender<LogindEvent>,
    shown: async_channel::Receiver<u64>,
    /// The unique name owning org.freedesktop.login1. The bus filters
    /// broadcasts by it already, but a signal sent straight to us bypasses
    /// match rules: anyone could otherwise forge a sleep or a lock.
    owner: Option<String>,
    /// The delay inhibitor; dropping the fd releases it.
    inhibitor: Option<OwnedFd>,
    /// `PrepareForSleep(true)` events sent to the compositor.
    sleeps: u64,
    /// Between `PrepareForSleep(true)` and `(false)`.
    sleeping: bool,
}

impl Watcher {
    async fn run(&mut self) -> zbus::Result<End> {
        let session = self.session().await;
        // Subscribe before taking the inhibitor: a PrepareForSleep we missed
        // while holding it would make logind wait out the whole delay.
        let mut events = subscribe(&self.conn, session.as_ref()).await?;
        self.owner = name_owner(&self.conn, LOGIN1).await;
        if self.owner.is_none() {
            return Ok(End::NoLogind);
        }
        match &session {
            Some(path) => info!(session = %path.as_str(), "logind: following the session"),
            None => warn!("logind: this process is in no logind session; only a suspend locks"),
        }
        self.inhibit().await;
        loop {
            // The compositor's answer first: it may be what logind waits for.
            let shown = async { Input::Shown(self.shown.recv().await.ok()) };
            let signal = async { Input::Signal(events.next().await) };
            match future::or(shown, signal).await {
                Input::Shown(Some(sleep)) => self.lock_shown(sleep),
                Input::Signal(Some((source, Ok(msg)))) => {
                    if !self.handle(source, &msg).await {
                        return Ok(End::ReceiverGone);
                    }
                }
                Input::Signal(Some((_, Err(err)))) => debug!("logind: unreadable message: {err}"),
                Input::Shown(None) => return Ok(End::ReceiverGone),
                Input::Signal(None) => return Ok(End::ConnectionLost),
            }
        }
    }

    /// Our session's object path: by XDG_SESSION_ID when the session
    /// manager set it, else by our PID (logind knows which session started
    /// us). None outside any session, or without logind.
    async fn session(&self) -> Option<OwnedObjectPath> {
        let reply = match std::env::var("XDG_SESSION_ID") {
            Ok(id) => self.call("GetSession", &(id,)).await,
            Err(_) => self.call("GetSessionByPID", &(std::process::id(),)).await,
        };
        match reply.and_then(|r| r.body().deserialize::<OwnedObjectPath>()) {
            Ok(path) => Some(path),
            Err(err) => {
                // Logged once we know whether logind is there at all.
                debug!("logind: no session for us: {err}");
                None
            }
        }
    }

    async fn call<B>(&self, method: &str, body: &B) -> zbus::Result<Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        (self.conn)
            .call_method(Some(LOGIN1), LOGIN1_PATH, Some(MANAGER), method, body)
            .await
    }

    async fn inhibit(&mut self) {
        let why = (
            "sleep",
            "Palisade",
            "Lock the screen before sleeping",
            "delay",
        );
        let reply = self.call("Inhibit", &why).await;
        match reply.and_then(|r| r.body().deserialize::<OwnedFd>()) {
            Ok(fd) => {
                // zbus receives descriptors without MSG_CMSG_CLOEXEC; apps
                // must never hold our inhibitor (the launcher also marks
                // every stray fd close-on-exec in the child).
                let cloexec = smithay::reexports::rustix::io::FdFlags::CLOEXEC;
                if let Err(err) = smithay::reexports::rustix::io::fcntl_setfd(&fd, cloexec) {
                    warn!("logind: marking the inhibitor close-on-exec: {err}");
                }
                debug!("logind: holding a sleep delay inhibitor");
                self.inhibitor = Some(fd);
            }
            // Polkit may refuse it. The screen still locks on
            // PrepareForSleep, but the machine may not wait for that.
            Err(err) => warn!("logind: no sleep delay inhibitor ({err}); the lock may come late"),
        }
    }

    /// Returns false once the compositor has dropped the receiver.
    async fn handle(&mut self, source: Source, msg: &Message) -> bool {
        let sender = msg.header().sender().map(|s| s.to_string());
        match source {
            Source::Owner => {
                if sender.as_deref() != Some(DBUS_NAME) {
                    return true;
                }
                let Ok((_, _, new)) = msg.body().deserialize::<(String, String, String)>() else {
                    return true;
                };
                let new = (!new.is_empty()).then_some(new);
                if new == self.owner {
                    return true;
                }
                self.owner = new;
                info!(present = self.owner.is_some(), "logind: its owner changed");
                // A restarted logind may not know our inhibitor: take a
                // fresh one (unless asleep, when the lock decides).
                if self.owner.is_some() && !self.sleeping {
                    self.inhibitor = None;
                    self.inhibit().await;
                }
                true
            }
            _ if sender.is_none() || sender != self.owner => {
                debug!(?sender, "logind: ignored a signal not sent by logind");
                true
            }
            Source::Lock => {
                // Logind's `Unlock` is deliberately not followed: only the
                // helper's accepted password unlocks, never a bus message.
                info!("logind: asked to lock the session");
                self.tx.send(LogindEvent::Lock).is_ok()
            }
            Source::Sleep => match msg.body().deserialize::<bool>() {
                Ok(true) => {
                    self.sleeping = true;
                    self.sleeps += 1;
                    info!("logind: preparing for sleep; locking before letting it go ahead");
                    self.tx.send(LogindEvent::PrepareForSleep(true)).is_ok()
                }
                Ok(false) => {
                    self.sleeping = false;
                    info!("logind: woke up");
                    let sent = self.tx.send(LogindEvent::PrepareForSleep(false)).is_ok();
                    // The delay may have run out before the lock was shown:
                    // that inhibitor is still valid, keep it.
                    if self.inhibitor.is_none() {
                        self.inhibit().await;
                    }
                    sent
                }
                Err(err) => {
                    debug!("logind: odd PrepareForSleep: {err}");
                    true
                }
            },
        }
    }

    fn lock_shown(&mut self, sleep: u64) {
        if self.sleeping && sleep == self.sleeps && self.inhibitor.take().is_some() {
            info!("logind: the lock is on every output; the sleep may go ahead");
        }
    }
}

/// The signals we follow, merged. Owner changes come first so that a new
/// owner is known before its signals are judged.
async fn subscribe(conn: &Connection, session: Option<&OwnedObjectPath>) -> zbus::Result<Events> {
    let tagged = |stream: MessageStream, source: Source| stream.map(move |m| (source, m));
    let owner = owner_changes(LOGIN1)?;
    // With a well-known sender the bus delivers only what its current
    // owner broadcasts.
    let sleep = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(LOGIN1)?
        .path(LOGIN1_PATH)?
        .interface(MANAGER)?
        .member("PrepareForSleep")?
        .build();
    let owner = MessageStream::for_match_rule(owner, conn, Some(QUEUE_LEN)).await?;
    let sleep = MessageStream::for_match_rule(sleep, conn, Some(QUEUE_LEN)).await?;
    let mut events: Events = Box::pin(stream::or(
        tagged(owner, Source::Owner),
        tagged(sleep, Source::Sleep),
    ));
    if let Some(path) = session {
        let lock = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(LOGIN1)?
            .path(path.as_str())?
            .interface(SESSION)?
            .member("Lock")?
            .build();
        let lock = MessageStream::for_match_rule(lock, conn, Some(QUEUE_LEN)).await?;
        events = Box::pin(stream::or(events, tagged(lock, Source::Lock)));
    }
    Ok(events)
}

impl State {
    /// Follows logind on `bus`: its Lock signal and the machine's sleeps.
    pub fn start_logind(&mut self, bus: Bus) {
        let (tx, rx) = channel::channel();
        let inserted = self
            .pal
            .loop_handle
            .insert_source(rx, |event, _, state: &mut State| {
                if let channel::Event::Msg(event) = event {
                    state.pal.logind_event(event);
                }
            });
        match inserted {
            Ok(_) => self.pal.logind = Some(start(bus, tx)),
            Err(err) => warn!("listening for logind: {err}"),
        }
    }
}

impl Palisade {
    pub fn logind_event(&mut self, event: LogindEvent) {
        match event {
            LogindEvent::Lock => self.request_lock(),
            LogindEvent::PrepareForSleep(true) => {
                if let Some(logind) = &self.logind {
                    logind.sleeps.set(logind.sleeps.get() + 1);
                }
                // Before the request: with no outputs the lock engages
                // inside it, and that releases the sleep.
                self.sleep_pending = true;
                self.request_lock();
                if self.lock_shown_everywhere() {
                    self.release_sleep_delay();
                }
            }
            LogindEvent::PrepareForSleep(false) => self.sleep_pending = false,
        }
    }

    /// The lock is on every output: a pending sleep may go ahead.
    pub fn release_sleep_delay(&mut self) {
        if std::mem::take(&mut self.sleep_pending) {
            if let Some(logind) = &self.logind {
                logind.lock_is_shown();
            }
        }
    }
}
