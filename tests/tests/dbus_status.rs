//! Battery and Wi-Fi status from D-Bus, against a private dbus-daemon with
//! stand-ins for UPower and iwd that export the real names, object paths,
//! interfaces and properties. The stand-ins change a property and emit
//! PropertiesChanged the way the real services do; the watcher's update must
//! arrive on the calloop channel the compositor listens to.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use palisade::status::{start, BatteryState, Bus, StatusHandle, StatusUpdate, WifiState};
use palisade_tests::dbus::PrivateBus;
use palisade_tests::fixture::init_logging;
use smithay::reexports::calloop::channel::{channel, Channel, Event, Sender};
use smithay::reexports::calloop::EventLoop;
use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, Value};

const UPOWER: &str = "org.freedesktop.UPower";
const DISPLAY_DEVICE: &str = "/org/freedesktop/UPower/devices/DisplayDevice";
const IWD: &str = "net.connman.iwd";
const STATION: &str = "/net/connman/iwd/0/4";
const HOME_NET: &str = "/net/connman/iwd/0/4/686f6d652d6e6574_psk";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// Generous: the private bus is local, but CI machines can be slow.
const TIMEOUT: Duration = Duration::from_secs(10);

/// UPower's display device, as far as the panel looks at it.
struct Device {
    percentage: f64,
    state: u32,
    is_present: bool,
}

#[zbus::interface(name = "org.freedesktop.UPower.Device")]
impl Device {
    #[zbus(property)]
    fn percentage(&self) -> f64 {
        self.percentage
    }
    #[zbus(property)]
    fn state(&self) -> u32 {
        self.state
    }
    #[zbus(property)]
    fn is_present(&self) -> bool {
        self.is_present
    }
    /// 2 = battery.
    #[zbus(property, name = "Type")]
    fn kind(&self) -> u32 {
        2
    }
}

/// iwd's station interface on an adapter.
struct Station {
    state: String,
    connected_network: OwnedObjectPath,
}

#[zbus::interface(name = "net.connman.iwd.Station")]
impl Station {
    #[zbus(property)]
    fn state(&self) -> String {
        self.state.clone()
    }
    #[zbus(property)]
    fn connected_network(&self) -> OwnedObjectPath {
        self.connected_network.clone()
    }
    #[zbus(property)]
    fn scanning(&self) -> bool {
        false
    }
}

/// A network iwd knows about.
struct Network {
    name: String,
}

#[zbus::interface(name = "net.connman.iwd.Network")]
impl Network {
    #[zbus(property)]
    fn name(&self) -> String {
        self.name.clone()
    }
    #[zbus(property)]
    fn connected(&self) -> bool {
        true
    }
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        "psk".into()
    }
}

/// Claims org.freedesktop.UPower with a battery at 80 %, discharging.
fn fake_upower(bus: &PrivateBus) -> Connection {
    Builder::address(bus.address.as_str())
        .and_then(|b| b.name(UPOWER))
        .and_then(|b| {
            b.serve_at(
                DISPLAY_DEVICE,
                Device {
                    percentage: 80.0,
                    state: 2,
                    is_present: true,
                },
            )
        })
        .and_then(|b| b.build())
        .expect("serving the fake UPower")
}

/// Claims net.connman.iwd with one station connected to "home-net".
fn fake_iwd(bus: &PrivateBus) -> Connection {
    let network = OwnedObjectPath::try_from(HOME_NET).expect("network path");
    Builder::address(bus.address.as_str())
        .and_then(|b| b.name(IWD))
        .and_then(|b| b.serve_at("/", zbus::fdo::ObjectManager))
        .and_then(|b| {
            b.serve_at(
                HOME_NET,
                Network {
                    name: "home-net".into(),
                },
            )
        })
        .and_then(|b| {
            b.serve_at(
                STATION,
                Station {
                    state: "connected".into(),
                    connected_network: network,
                },
            )
        })
        .and_then(|b| b.build())
        .expect("serving the fake iwd")
}

/// Emits PropertiesChanged the way the real services do: changed values,
/// plus the names of properties that no longer have one.
fn emit_changed(
    conn: &Connection,
    path: &str,
    interface: &str,
    changed: HashMap<&str, Value<'_>>,
    invalidated: Vec<&str>,
) {
    conn.emit_signal(
        None::<&str>,
        path,
        PROPERTIES,
        "PropertiesChanged",
        &(interface, changed, invalidated),
    )
    .expect("emitting PropertiesChanged");
}

/// The charger goes in: the fake UPower reports 55 % charging, both
/// properties in one PropertiesChanged, as the real service does.
fn charge_to_55(upower: &Connection) {
    {
        let device = upower
            .object_server()
            .interface::<_, Device>(DISPLAY_DEVICE)
            .expect("the fake device");
        let mut device = device.get_mut();
        device.percentage = 55.0;
        device.state = 1;
    }
    emit_changed(
        upower,
        DISPLAY_DEVICE,
        "org.freedesktop.UPower.Device",
        HashMap::from([("Percentage", Value::F64(55.0)), ("State", Value::U32(1))]),
        vec![],
    );
}

/// Both indicators turn neutral exactly once, and nothing follows.
fn unavailable_once_then_quiet(updates: &mut Updates) {
    updates.expect_pair(BatteryState::Unavailable, WifiState::Unavailable);
    assert_eq!(updates.collect_for(Duration::from_secs(1)), vec![]);
}

/// Dropping the handle stops the watcher thread promptly.
fn stops_quickly(handle: StatusHandle) {
    let stopping = Instant::now();
    drop(handle);
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "stopping took too long"
    );
}

/// The compositor's side: a calloop loop with the status channel in it.
struct Updates {
    event_loop: EventLoop<'static, Vec<StatusUpdate>>,
    received: Vec<StatusUpdate>,
}

impl Updates {
    fn new() -> (Updates, Sender<StatusUpdate>) {
        let (tx, rx): (Sender<StatusUpdate>, Channel<StatusUpdate>) = channel();
        let event_loop = EventLoop::try_new().expect("creating an event loop");
        event_loop
            .handle()
            .insert_source(rx, |event, _, received: &mut Vec<StatusUpdate>| {
                if let Event::Msg(update) = event {
                    received.push(update);
                }
            })
            .expect("inserting the status channel");
        let updates = Updates {
            event_loop,
            received: Vec::new(),
        };
        (updates, tx)
    }

    /// The next update, waiting up to `timeout` for the loop to be woken.
    fn next(&mut self, timeout: Duration) -> Option<StatusUpdate> {
        let deadline = Instant::now() + timeout;
        while self.received.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.event_loop
                .dispatch(Some(left), &mut self.received)
                .expect("dispatching the event loop");
        }
        Some(self.received.remove(0))
    }

    /// Everything that arrives within `window`.
    fn collect_for(&mut self, window: Duration) -> Vec<StatusUpdate> {
        let deadline = Instant::now() + window;
        let mut all = Vec::new();
        while let Some(update) = self.next(deadline.saturating_duration_since(Instant::now())) {
            all.push(update);
        }
        all
    }

    fn expect(&mut self, expected: StatusUpdate) {
        let got = self.next(TIMEOUT);
        assert_eq!(got, Some(expected));
    }

    /// The next two updates, whichever order they come in.
    fn expect_pair(&mut self, battery: BatteryState, wifi: WifiState) {
        let mut got = vec![self.next(TIMEOUT), self.next(TIMEOUT)];
        got.sort_by_key(|u| !matches!(u, Some(StatusUpdate::Battery(_))));
        assert_eq!(
            got,
            vec![
                Some(StatusUpdate::Battery(battery)),
                Some(StatusUpdate::Wifi(wifi))
            ]
        );
    }
}

/// CPU time used so far by the watcher threads of this test process (all
/// tests', as they may run in parallel), from /proc; None where the kernel
/// does not say.
fn watcher_cpu_time() -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "palisade-status" {
            continue;
        }
        // The first field of schedstat is the time spent on a CPU, in ns.
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        let ns: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
        total += Duration::from_nanos(ns);
    }
    Some(total)
}

fn home_net() -> WifiState {
    WifiState::Connected {
        ssid: "home-net".into(),
    }
}

#[test]
fn battery_and_wifi_follow_property_changes() {
    init_logging();
    let bus = PrivateBus::start();
    let upower = fake_upower(&bus);
    let iwd = fake_iwd(&bus);
    let (mut updates, tx) = Updates::new();
    let handle = start(Bus::Address(bus.address.clone()), tx);

    updates.expect_pair(
        BatteryState::Level {
            percent: 80.0,
            charging: false,
        },
        home_net(),
    );

    // The charger goes in: UPower changes both in one signal.
    charge_to_55(&upower);
    updates.expect(StatusUpdate::Battery(BatteryState::Level {
        percent: 55.0,
        charging: true,
    }));

    // The link drops: iwd changes State and, having no connected network
    // any more, invalidates ConnectedNetwork.
    iwd.object_server()
        .interface::<_, Station>(STATION)
        .expect("the fake station")
        .get_mut()
        .state = "disconnected".into();
    emit_changed(
        &iwd,
        STATION,
        "net.connman.iwd.Station",
        HashMap::from([("State", Value::from("disconnected"))]),
        vec!["ConnectedNetwork"],
    );
    updates.expect(StatusUpdate::Wifi(WifiState::Disconnected));

    // A service that goes away leaves a neutral indicator behind.
    drop(iwd);
    updates.expect(StatusUpdate::Wifi(WifiState::Unavailable));
    drop(upower);
    updates.expect(StatusUpdate::Battery(BatteryState::Unavailable));

    stops_quickly(handle);
}

#[test]
fn missing_services_are_reported_unavailable_once() {
    init_logging();
    let bus = PrivateBus::start();
    let (mut updates, tx) = Updates::new();
    let _handle = start(Bus::Address(bus.address.clone()), tx);

    // Once each (a slow machine may take a while to get there), and then
    // quiet.
    updates.expect_pair(BatteryState::Unavailable, WifiState::Unavailable);
    assert_eq!(updates.collect_for(Duration::from_secs(1)), vec![]);
    // Waiting for signals costs nothing; a retry loop would show up here.
    if let Some(cpu) = watcher_cpu_time() {
        assert!(cpu < Duration::from_millis(300), "watchers used {cpu:?}");
    }
}

#[test]
fn services_that_start_later_are_picked_up() {
    init_logging();
    let bus = PrivateBus::start();
    let (mut updates, tx) = Updates::new();
    let _handle = start(Bus::Address(bus.address.clone()), tx);
    updates.expect_pair(BatteryState::Unavailable, WifiState::Unavailable);

    let _upower = fake_upower(&bus);
    updates.expect(StatusUpdate::Battery(BatteryState::Level {
        percent: 80.0,
        charging: false,
    }));
    let _iwd = fake_iwd(&bus);
    updates.expect(StatusUpdate::Wifi(home_net()));
}

#[test]
fn no_bus_at_all_is_reported_once_and_the_watcher_ends() {
    init_logging();
    let dir = std::env::temp_dir().join(format!("palisade-no-bus-{}", std::process::id()));
    let address = format!("unix:path={}", dir.join("nothing-here").display());
    let (mut updates, tx) = Updates::new();
    let handle = start(Bus::Address(address), tx);

    unavailable_once_then_quiet(&mut updates);
    stops_quickly(handle);
}

#[test]
fn an_iwd_we_may_not_read_is_unavailable_and_stays_quiet() {
    init_logging();
    let bus = PrivateBus::start_with("iwd-denied.conf");
    let _upower = fake_upower(&bus);
    let iwd = fake_iwd(&bus);
    let (mut updates, tx) = Updates::new();
    let _handle = start(Bus::Address(bus.address.clone()), tx);
    updates.expect_pair(
        BatteryState::Level {
            percent: 80.0,
            charging: false,
        },
        WifiState::Unavailable,
    );

    // iwd's broadcasts still arrive, but they are neither shown (half a
    // picture) nor a reason to ask again: the bus rejected one call, once.
    for state in ["connecting", "connected", "disconnected"] {
        emit_changed(
            &iwd,
            STATION,
            "net.connman.iwd.Station",
            HashMap::from([("State", Value::from(state))]),
            vec![],
        );
    }
    assert_eq!(updates.collect_for(Duration::from_millis(500)), vec![]);
    let rejected = bus.log().matches("Rejected send message").count();
    assert_eq!(rejected, 1, "{}", bus.log());
}

#[test]
fn losing_the_bus_leaves_neutral_indicators_and_no_retries() {
    init_logging();
    let mut bus = PrivateBus::start();
    let _upower = fake_upower(&bus);
    let _iwd = fake_iwd(&bus);
    let (mut updates, tx) = Updates::new();
    let handle = start(Bus::Address(bus.address.clone()), tx);
    updates.expect_pair(
        BatteryState::Level {
            percent: 80.0,
            charging: false,
        },
        home_net(),
    );

    bus.kill();
    unavailable_once_then_quiet(&mut updates);
    stops_quickly(handle);
}

/// The whole path: a headless compositor watching the private bus shows the
/// battery and the network in its panel, and repaints them (only them) when
/// the services change a property.
#[test]
fn the_panel_repaints_with_the_new_value() {
    init_logging();
    let bus = PrivateBus::start();
    let upower = fake_upower(&bus);
    let _iwd = fake_iwd(&bus);
    let config = palisade::config::Config::embedded_default();
    let outputs = vec![palisade::backend::headless::VirtualOutput {
        name: None,
        size: (1280, 800),
        scale: 1.0,
    }];
    let mut d = palisade::scenario::driver::Driver::new(config, outputs).expect("compositor");
    d.state.pal.clock_override = Some("12:00".into());
    d.state.start_status(Bus::Address(bus.address.clone()));
    let shown = |d: &palisade::scenario::driver::Driver| {
        let out = d
            .state
            .pal
            .output_by_name("headless-1")
            .expect("output")
            .clone();
        let state = d.state.pal.panel_state(&out);
        (state.battery, state.wifi)
    };
    d.wait_until(TIMEOUT, "the panel to show 80% and home-net", |d| {
        Ok(shown(d)
            == (
                BatteryState::Level {
                    percent: 80.0,
                    charging: false,
                },
                home_net(),
            ))
    })
    .expect("first values in the panel");
    let before = d.pixels("headless-1").expect("pixels");

    charge_to_55(&upower);
    d.wait_until(TIMEOUT, "the panel to show 55% charging", |d| {
        Ok(shown(d).0
            == BatteryState::Level {
                percent: 55.0,
                charging: true,
            })
    })
    .expect("the new value in the panel");
    let after = d.pixels("headless-1").expect("pixels");

    // The strip's pixels changed, and only in the strip.
    let rows = 32 * before.width as usize * 4;
    assert_ne!(
        before.rgba[..rows],
        after.rgba[..rows],
        "the panel did not repaint"
    );
    assert_eq!(
        before.rgba[rows..],
        after.rgba[rows..],
        "something below the strip changed"
    );
    let (mismatch, first) = d.strip_mismatch("headless-1").expect("strip");
    assert_eq!(
        mismatch, 0,
        "the strip is not the panel's pixels, first at {first:?}"
    );
}
