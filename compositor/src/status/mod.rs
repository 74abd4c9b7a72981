//! Battery (UPower) and Wi-Fi (iwd) status for the panel, from D-Bus.
//!
//! zbus runs on a thread of its own so that a slow or hung bus can never stall
//! the compositor's event loop; updates travel back on a calloop channel,
//! which wakes that loop. Everything is driven by signals (PropertiesChanged,
//! InterfacesAdded/Removed, NameOwnerChanged): nothing is polled. Both
//! services are optional: a missing one is reported once as `Unavailable`
//! (the panel's neutral indicator) and picked up if it appears later. With no
//! bus at all the thread reports `Unavailable` once, logs once and ends.

mod iwd;
mod upower;

use std::collections::HashMap;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_lite::stream::{self, Stream, StreamExt};
pub use palisade_panel::{BatteryState, WifiState};
use smithay::reexports::calloop::channel::Sender;
use tracing::{debug, info, warn};
use zbus::message::{Flags, Type};
use zbus::zvariant::{OwnedObjectPath, OwnedValue};
use zbus::{connection, Connection, MatchRule, Message, MessageStream};

/// A new value for one of the panel's status indicators.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusUpdate {
    Battery(BatteryState),
    Wifi(WifiState),
}

/// Which bus to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// The system bus, where UPower and iwd live.
    System,
    /// A bus at this D-Bus address (tests run a private dbus-daemon).
    Address(String),
}

/// Keeps the watcher thread alive; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct StatusHandle {
    _thread: Option<BusThread>,
}

/// A D-Bus task on a thread of its own (zbus must never stall the event
/// loop). Dropping it stops and joins the thread.
#[derive(Debug)]
pub(crate) struct BusThread {
    stop: async_channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
    what: &'static str,
}

impl BusThread {
    /// Runs `task` on a new thread named `name` until it ends or the
    /// handle is dropped. None if the thread cannot be started.
    pub(crate) fn spawn(
        name: &str,
        what: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<BusThread> {
        let (stop, stop_rx) = async_channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let stopped = async move {
                    // Err means the handle closed the channel: time to stop.
                    let _ = stop_rx.recv().await;
                };
                futures_lite::future::block_on(futures_lite::future::or(task, stopped));
            })?;
        Ok(BusThread {
            stop,
            thread: Some(thread),
            what,
        })
    }

    /// Whether the task has ended by itself.
    pub(crate) fn has_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for BusThread {
    fn drop(&mut self) {
        // Closing the channel completes the thread's stop future, which
        // wins the race against the task at its next poll; the join is
        // therefore short.
        self.stop.close();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!("{}: the D-Bus thread panicked", self.what);
            }
        }
    }
}

/// A method call that takes longer than this is treated as failed, so one
/// stuck service cannot hold up the other service's updates for long.
const METHOD_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-subscription queue length. zbus stops reading the socket while a
/// queue is full, so this is sized well above any burst we expect while a
/// method call is outstanding (and METHOD_TIMEOUT bounds that wait anyway).
const QUEUE_LEN: usize = 256;

const DBUS_NAME: &str = "org.freedesktop.DBus";
const DBUS_PATH: &str = "/org/freedesktop/DBus";
const PROPERTIES_INTERFACE: &str = "org.freedesktop.DBus.Properties";
const OBJECT_MANAGER_INTERFACE: &str = "org.freedesktop.DBus.ObjectManager";

/// Starts watching UPower and iwd on `bus`. Sends the current battery and
/// Wi-Fi state on `tx` once at start (`Unavailable` for an absent service)
/// and again whenever either changes. The thread also ends on its own when
/// the receiving end of `tx` is dropped.
pub fn start(bus: Bus, tx: Sender<StatusUpdate>) -> StatusHandle {
    let thread = BusThread::spawn("palisade-status", "status", watch(bus, tx.clone()));
    let thread = thread.map_err(|err| {
        warn!("status: cannot start the D-Bus watcher thread ({err}); battery and Wi-Fi are unavailable");
        let _ = tx.send(StatusUpdate::Battery(BatteryState::Unavailable));
        let _ = tx.send(StatusUpdate::Wifi(WifiState::Unavailable));
    });
    StatusHandle {
        _thread: thread.ok(),
    }
}

/// The whole life of the watcher thread.
async fn watch(bus: Bus, tx: Sender<StatusUpdate>) {
    let mut watcher = Watcher::new(tx);
    let conn = match connect(&bus).await {
        Ok(conn) => conn,
        Err(err) => {
            // Once, and then nothing: a machine without a (reachable) bus
            // simply has no battery or Wi-Fi indicator.
            warn!("status: no D-Bus connection to {bus:?} ({err}); battery and Wi-Fi show as unavailable");
            watcher.publish();
            return;
        }
    };
    match watcher.run(&conn).await {
        Ok(End::ReceiverGone) => debug!("status: the compositor stopped listening"),
        Ok(End::ConnectionLost) => {
            warn!("status: lost the D-Bus connection; battery and Wi-Fi show as unavailable");
            watcher.forget_services();
            watcher.publish();
        }
        Err(err) => {
            warn!("status: cannot watch D-Bus ({err}); battery and Wi-Fi show as unavailable");
            watcher.forget_services();
            watcher.publish();
        }
    }
}

/// A connection to `bus` whose method calls time out.
pub(crate) async fn connect(bus: &Bus) -> zbus::Result<Connection> {
    let builder = match bus {
        Bus::System => connection::Builder::system()?,
        Bus::Address(address) => connection::Builder::address(address.as_str())?,
    };
    builder.method_timeout(METHOD_TIMEOUT).build().await
}

/// Why the watcher stopped.
enum End {
    ReceiverGone,
    ConnectionLost,
}

/// Which subscription a message came in on.
#[derive(Debug, Clone, Copy)]
enum Source {
    UpowerOwner,
    IwdOwner,
    Upower,
    Iwd,
}

/// The bus's NameOwnerChanged signals for `name` (a service starting,
/// stopping or being replaced).
pub(crate) fn owner_changes(name: &'static str) -> zbus::Result<MatchRule<'static>> {
    Ok(MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(DBUS_NAME)?
        .path(DBUS_PATH)?
        .interface(DBUS_NAME)?
        .member("NameOwnerChanged")?
        .arg(0, name)?
        .build())
}

/// The signals we listen to, merged into one stream. The owner changes come
/// first so that, when several messages are waiting, we learn of a new
/// service owner before judging its signals.
async fn subscribe(
    conn: &Connection,
) -> zbus::Result<impl Stream<Item = (Source, zbus::Result<Message>)> + Unpin> {
    let upower_rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(upower::SERVICE)?
        .path(upower::DISPLAY_DEVICE)?
        .interface(PROPERTIES_INTERFACE)?
        .member("PropertiesChanged")?
        .arg(0, upower::DEVICE_INTERFACE)?
        .build();
    // Everything iwd broadcasts is either PropertiesChanged or the object
    // manager's signals; one subscription keeps them in order.
    let iwd_rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(iwd::SERVICE)?
        .build();

    let tagged = |stream: MessageStream, source: Source| stream.map(move |m| (source, m));
    let upower_owner =
        MessageStream::for_match_rule(owner_changes(upower::SERVICE)?, conn, Some(QUEUE_LEN))
            .await?;
    let iwd_owner =
        MessageStream::for_match_rule(owner_changes(iwd::SERVICE)?, conn, Some(QUEUE_LEN)).await?;
    let upower = MessageStream::for_match_rule(upower_rule, conn, Some(QUEUE_LEN)).await?;
    let iwd = MessageStream::for_match_rule(iwd_rule, conn, Some(QUEUE_LEN)).await?;
    Ok(stream::or(
        stream::or(
            tagged(upower_owner, Source::UpowerOwner),
            tagged(iwd_owner, Source::IwdOwner),
        ),
        stream::or(tagged(upower, Source::Upower), tagged(iwd, Source::Iwd)),
    ))
}

/// What we know about one service's presence on the bus.
#[derive(Debug, Default)]
struct Service {
    /// The unique name currently owning the service's well-known name.
    /// Signals from anyone else are ignored: a unicast signal addressed to
    /// us could otherwise put made-up values on the trusted panel.
    owner: Option<String>,
    /// The bus policy refused us reading from this owner (iwd's default
    /// policy only lets root and the wheel and netdev groups talk to it,
    /// and the session user may be in neither). Asking again
    /// would only fail again, so the service counts as absent until its
    /// owner changes.
    denied: bool,
    /// A read failure for this owner has been logged at warn already.
    warned: bool,
}

impl Service {
    fn set_owner(&mut self, owner: Option<String>) {
        *self = Service {
            owner,
            ..Service::default()
        };
    }

    /// The owner to read from, if there is one we may read.
    fn readable_owner(&self) -> Option<&str> {
        self.owner.as_deref().filter(|_| !self.denied)
    }

    /// Records a failed read. Logs at warn once per owner so a service that
    /// keeps failing, or a signal storm, cannot flood the log.
    fn read_failed(&mut self, name: &str, err: &zbus::Error) {
        self.denied |= is_access_denied(err);
        if self.warned {
            debug!("status: cannot read {name}: {err}");
        } else if self.denied {
            warn!("status: D-Bus policy does not let this user read {name} ({err}); it shows as unavailable");
        } else {
            warn!("status: cannot read {name}: {err}");
        }
        self.warned = true;
    }
}

/// The watcher's picture of both services and what it last sent.
struct Watcher {
    tx: Sender<StatusUpdate>,
    upower: Service,
    iwd: Service,
    battery: upower::Battery,
    wifi: iwd::Model,
    sent_battery: Option<BatteryState>,
    sent_wifi: Option<WifiState>,
}

impl Watcher {
    fn new(tx: Sender<StatusUpdate>) -> Self {
        Self {
            tx,
            upower: Service::default(),
            iwd: Service::default(),
            battery: upower::Battery::default(),
            wifi: iwd::Model::default(),
            sent_battery: None,
            sent_wifi: None,
        }
    }

    async fn run(&mut self, conn: &Connection) -> zbus::Result<End> {
        // Subscribe before reading the initial state, so that a change in
        // between is queued rather than lost.
        let mut events = subscribe(conn).await?;
        self.upower
            .set_owner(name_owner(conn, upower::SERVICE).await);
        self.iwd.set_owner(name_owner(conn, iwd::SERVICE).await);
        self.refresh_upower(conn).await;
        self.refresh_iwd(conn).await;
        if !self.publish() {
            return Ok(End::ReceiverGone);
        }
        if self.upower.owner.is_none() {
            activate(conn, upower::SERVICE).await;
        }
        while let Some((source, msg)) = events.next().await {
            match msg {
                Ok(msg) => self.handle(conn, source, &msg).await,
                Err(err) => debug!("status: unreadable D-Bus message: {err}"),
            }
            if !self.publish() {
                return Ok(End::ReceiverGone);
            }
        }
        Ok(End::ConnectionLost)
    }

    async fn handle(&mut self, conn: &Connection, source: Source, msg: &Message) {
        match source {
            Source::UpowerOwner | Source::IwdOwner => {
                let header = msg.header();
                if header.sender().map(|s| s.as_str()) != Some(DBUS_NAME) {
                    return;
                }
                let Ok((name, _old, new)) = msg.body().deserialize::<(String, String, String)>()
                else {
                    return;
                };
                let new_owner = (!new.is_empty()).then_some(new);
                match name.as_str() {
                    upower::SERVICE => {
                        log_owner_change("UPower", new_owner.is_some());
                        self.upower.set_owner(new_owner);
                        self.refresh_upower(conn).await;
                    }
                    iwd::SERVICE => {
                        log_owner_change("iwd", new_owner.is_some());
                        self.iwd.set_owner(new_owner);
                        self.refresh_iwd(conn).await;
                    }
                    _ => {}
                }
            }
            Source::Upower => {
                if !sent_by(msg, &self.upower) {
                    return;
                }
                let Some((interface, changed, invalidated)) = properties_changed(msg) else {
                    return;
                };
                if interface != upower::DEVICE_INTERFACE {
                    return;
                }
                self.battery.apply(&changed);
                if !invalidated.is_empty() {
                    self.refresh_upower(conn).await;
                }
            }
            Source::Iwd => {
                if !sent_by(msg, &self.iwd) {
                    return;
                }
                if self.apply_iwd_signal(msg) == iwd::Applied::NeedsRefresh {
                    self.refresh_iwd(conn).await;
                }
            }
        }
    }

    fn apply_iwd_signal(&mut self, msg: &Message) -> iwd::Applied {
        let header = msg.header();
        let (Some(interface), Some(member), Some(path)) =
            (header.interface(), header.member(), header.path())
        else {
            return iwd::Applied::Done;
        };
        match (interface.as_str(), member.as_str()) {
            (PROPERTIES_INTERFACE, "PropertiesChanged") => {
                let Some((interface, changed, invalidated)) = properties_changed(msg) else {
                    return iwd::Applied::Done;
                };
                self.wifi
                    .properties_changed(path.as_str(), &interface, &changed, &invalidated)
            }
            // The object manager lives at "/"; the same signals from
            // elsewhere would not describe iwd's devices.
            (OBJECT_MANAGER_INTERFACE, "InterfacesAdded") if path.as_str() == "/" => {
                type Added = (
                    OwnedObjectPath,
                    HashMap<String, HashMap<String, OwnedValue>>,
                );
                if let Ok((object, interfaces)) = msg.body().deserialize::<Added>() {
                    self.wifi.interfaces_added(object.as_str(), &interfaces);
                }
                iwd::Applied::Done
            }
            (OBJECT_MANAGER_INTERFACE, "InterfacesRemoved") if path.as_str() == "/" => {
                type Removed = (OwnedObjectPath, Vec<String>);
                if let Ok((object, interfaces)) = msg.body().deserialize::<Removed>() {
                    self.wifi.interfaces_removed(object.as_str(), &interfaces);
                }
                iwd::Applied::Done
            }
            _ => iwd::Applied::Done,
        }
    }

    async fn refresh_upower(&mut self, conn: &Connection) {
        let Some(owner) = self.upower.readable_owner().map(str::to_owned) else {
            self.battery = upower::Battery::default();
            return;
        };
        self.battery = match upower::fetch(conn, &owner).await {
            Ok(battery) => battery,
            Err(err) => {
                self.upower.read_failed("UPower", &err);
                upower::Battery::default()
            }
        };
    }

    async fn refresh_iwd(&mut self, conn: &Connection) {
        let Some(owner) = self.iwd.readable_owner().map(str::to_owned) else {
            self.wifi = iwd::Model::default();
            return;
        };
        self.wifi = match iwd::fetch(conn, &owner).await {
            Ok(model) => model,
            Err(err) => {
                self.iwd.read_failed("iwd", &err);
                iwd::Model::default()
            }
        };
    }

    /// Forgets both services, so the next publish says `Unavailable`.
    fn forget_services(&mut self) {
        self.upower.set_owner(None);
        self.iwd.set_owner(None);
        self.battery = upower::Battery::default();
        self.wifi = iwd::Model::default();
    }

    /// Sends whatever changed since the last send (everything, the first
    /// time). Returns false once the compositor has dropped the receiver.
    fn publish(&mut self) -> bool {
        let battery = self.battery.state();
        if self.sent_battery.as_ref() != Some(&battery) {
            if self.tx.send(StatusUpdate::Battery(battery)).is_err() {
                return false;
            }
            self.sent_battery = Some(battery);
        }
        let wifi = self.wifi.wifi_state();
        if self.sent_wifi.as_ref() != Some(&wifi) {
            if self.tx.send(StatusUpdate::Wifi(wifi.clone())).is_err() {
                return false;
            }
            self.sent_wifi = Some(wifi);
        }
        true
    }
}

fn log_owner_change(service: &str, present: bool) {
    if present {
        info!("status: {service} appeared on D-Bus");
    } else {
        info!("status: {service} left D-Bus");
    }
}

/// Whether `msg` comes from the current owner of a service we may read.
/// (Signals from an owner we may not query would only give half a picture.)
fn sent_by(msg: &Message, service: &Service) -> bool {
    let header = msg.header();
    match (header.sender(), service.readable_owner()) {
        (Some(sender), Some(owner)) => sender.as_str() == owner,
        _ => false,
    }
}

fn is_access_denied(err: &zbus::Error) -> bool {
    match err {
        zbus::Error::MethodError(name, _, _) => {
            name.as_str() == "org.freedesktop.DBus.Error.AccessDenied"
        }
        zbus::Error::FDO(fdo) => matches!(**fdo, zbus::fdo::Error::AccessDenied(_)),
        _ => false,
    }
}

/// Asks the bus to start `name` if it is activatable, without waiting for
/// the answer: UPower is often started on demand rather than at boot, and
/// GLib clients (GNOME, Xfce) do the same. If it starts, NameOwnerChanged
/// brings it in; if it cannot, nothing more happens. iwd is never started
/// this way: bringing up the radio daemon is the init system's decision.
async fn activate(conn: &Connection, name: &str) {
    let msg = Message::method_call(DBUS_PATH, "StartServiceByName")
        .and_then(|m| m.destination(DBUS_NAME))
        .and_then(|m| m.interface(DBUS_NAME))
        .and_then(|m| m.with_flags(Flags::NoReplyExpected))
        .and_then(|m| m.build(&(name, 0u32)));
    let sent = match msg {
        Ok(msg) => conn.send(&msg).await,
        Err(err) => Err(err),
    };
    if let Err(err) = sent {
        debug!("status: cannot ask the bus to start {name}: {err}");
    }
}

/// A PropertiesChanged body: interface, changed values, invalidated names.
fn properties_changed(msg: &Message) -> Option<(String, HashMap<String, OwnedValue>, Vec<String>)> {
    msg.body().deserialize().ok()
}

/// The unique name owning `name`, or None when nobody does.
pub(crate) async fn name_owner(conn: &Connection, name: &str) -> Option<String> {
    let reply = conn
        .call_method(
            Some(DBUS_NAME),
            DBUS_PATH,
            Some(DBUS_NAME),
            "GetNameOwner",
            &(name,),
        )
        .await;
    match reply {
        Ok(reply) => reply.body().deserialize::<String>().ok(),
        // NameHasNoOwner is the normal "not running" answer.
        Err(err) => {
            debug!("status: {name} is not on the bus: {err}");
            None
        }
    }
}
