//! Wi-Fi from iwd: the station state of each wireless adapter and the name of
//! the network it is on. iwd publishes everything through one ObjectManager at
//! "/", so one `GetManagedObjects` gives a full snapshot and
//! InterfacesAdded/Removed plus PropertiesChanged keep it current.

use std::collections::{BTreeMap, HashMap};

use palisade_panel::WifiState;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zbus::Connection;

/// iwd's well-known bus name.
pub(crate) const SERVICE: &str = "net.connman.iwd";
/// An adapter in station (client) mode; absent when the adapter is powered
/// off or in another mode.
pub(crate) const STATION_INTERFACE: &str = "net.connman.iwd.Station";
/// A network iwd has seen in a scan or knows.
pub(crate) const NETWORK_INTERFACE: &str = "net.connman.iwd.Network";

/// IEEE 802.11 caps an SSID at 32 bytes; anything longer is not a real name.
const MAX_SSID_CHARS: usize = 32;

/// `GetManagedObjects`' answer, with interface names as plain strings.
pub(crate) type ManagedObjects =
    HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedValue>>>;

/// One adapter's station properties, as last seen.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Station {
    state: Option<String>,
    connected_network: Option<String>,
}

/// Everything iwd told us that the panel needs, keyed by object path.
/// BTreeMaps so that the choice among several adapters is deterministic.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Model {
    stations: BTreeMap<String, Station>,
    /// Network object path -> network name.
    networks: BTreeMap<String, String>,
}

/// What a property change asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The model is up to date.
    Done,
    /// The change could not be applied from the signal alone (an invalidated
    /// station state, an unknown network): take a fresh snapshot.
    NeedsRefresh,
}

impl Model {
    /// Builds the model from a `GetManagedObjects` snapshot.
    pub(crate) fn from_managed_objects(objects: &ManagedObjects) -> Self {
        let mut model = Self::default();
        for (path, interfaces) in objects {
            model.interfaces_added(path.as_str(), interfaces);
        }
        model
    }

    /// Applies an InterfacesAdded signal (or one snapshot entry).
    pub(crate) fn interfaces_added(
        &mut self,
        path: &str,
        interfaces: &HashMap<String, HashMap<String, OwnedValue>>,
    ) {
        if let Some(props) = interfaces.get(STATION_INTERFACE) {
            let station = self.stations.entry(path.to_string()).or_default();
            apply_station(station, props);
        }
        if let Some(props) = interfaces.get(NETWORK_INTERFACE) {
            if let Some(name) = props.get("Name").and_then(string_of) {
                self.networks.insert(path.to_string(), sanitize_ssid(&name));
            }
        }
    }

    /// Applies an InterfacesRemoved signal.
    pub(crate) fn interfaces_removed(&mut self, path: &str, interfaces: &[String]) {
        for interface in interfaces {
            match interface.as_str() {
                STATION_INTERFACE => {
                    self.stations.remove(path);
                }
                NETWORK_INTERFACE => {
                    self.networks.remove(path);
                }
                _ => {}
            }
        }
    }

    /// Applies a PropertiesChanged signal from the object at `path`.
    pub(crate) fn properties_changed(
        &mut self,
        path: &str,
        interface: &str,
        changed: &HashMap<String, OwnedValue>,
        invalidated: &[String],
    ) -> Applied {
        match interface {
            STATION_INTERFACE => {
                let Some(station) = self.stations.get_mut(path) else {
                    // A station we never saw added: our picture is stale.
                    return Applied::NeedsRefresh;
                };
                apply_station(station, changed);
                for name in invalidated {
                    match name.as_str() {
                        // iwd (through ell) invalidates ConnectedNetwork when
                        // it has no value, i.e. on disconnect.
                        "ConnectedNetwork" => station.connected_network = None,
                        "State" => return Applied::NeedsRefresh,
                        _ => {}
                    }
                }
                let unknown_network = station
                    .connected_network
                    .as_ref()
                    .is_some_and(|n| !self.networks.contains_key(n));
                if unknown_network {
                    return Applied::NeedsRefresh;
                }
            }
            NETWORK_INTERFACE => {
                if let Some(name) = changed.get("Name").and_then(string_of) {
                    self.networks.insert(path.to_string(), sanitize_ssid(&name));
                }
            }
            _ => {}
        }
        Applied::Done
    }

    /// What the panel shows. With several adapters the most connected one
    /// wins (connected, then connecting, then the rest), ties by path.
    pub(crate) fn wifi_state(&self) -> WifiState {
        // max_by_key keeps the last of equal maxima; reversed, that is the
        // first path.
        let best = self
            .stations
            .values()
            .rev()
            .max_by_key(|s| rank(s.state.as_deref()));
        let Some(station) = best else {
            // iwd is running but no adapter is in station mode (none
            // plugged in, or powered off): nothing to say.
            return WifiState::Unavailable;
        };
        let ssid = || {
            station
                .connected_network
                .as_ref()
                .and_then(|n| self.networks.get(n))
                .cloned()
                .unwrap_or_default()
        };
        match station.state.as_deref() {
            // While roaming the link is still up on the same network.
            Some("connected" | "roaming") => WifiState::Connected { ssid: ssid() },
            Some("connecting") => WifiState::Connecting { ssid: ssid() },
            _ => WifiState::Disconnected,
        }
    }
}

fn rank(state: Option<&str>) -> u8 {
    match state {
        Some("connected" | "roaming") => 2,
        Some("connecting") => 1,
        _ => 0,
    }
}

fn apply_station(station: &mut Station, props: &HashMap<String, OwnedValue>) {
    if let Some(state) = props.get("State").and_then(string_of) {
        station.state = Some(state);
    }
    if let Some(network) = props.get("ConnectedNetwork").and_then(string_of) {
        station.connected_network = Some(network);
    }
}

/// A string or object-path property as a String; anything else is ignored.
fn string_of(value: &OwnedValue) -> Option<String> {
    let value: &Value<'_> = value;
    match value {
        Value::Str(s) => Some(s.to_string()),
        Value::ObjectPath(p) => Some(p.to_string()),
        _ => None,
    }
}

/// The network name comes from whatever access point is in radio range, so
/// it is untrusted text on the trusted panel: drop control characters (which
/// could break the layout) and cap the length at what an SSID can be.
fn sanitize_ssid(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SSID_CHARS)
        .collect()
}

/// Takes a snapshot of everything iwd exports, from its current owner (its
/// unique name, so the call never triggers D-Bus activation).
pub(crate) async fn fetch(conn: &Connection, owner: &str) -> zbus::Result<Model> {
    let reply = conn
        .call_method(
            Some(owner),
            "/",
            Some("org.freedesktop.DBus.ObjectManager"),
            "GetManagedObjects",
            &(),
        )
        .await?;
    let objects: ManagedObjects = reply.body().deserialize()?;
    Ok(Model::from_managed_objects(&objects))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATION: &str = "/net/connman/iwd/0/4";
    const HOME: &str = "/net/connman/iwd/0/4/686f6d652d6e6574_psk";

    fn props(entries: Vec<(&str, Value<'static>)>) -> HashMap<String, OwnedValue> {
        entries
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), OwnedValue::try_from(v).ok()?)))
            .collect()
    }

    fn object_path(p: &'static str) -> Value<'static> {
        Value::ObjectPath(zbus::zvariant::ObjectPath::from_static_str_unchecked(p))
    }

    fn iface(
        name: &str,
        p: HashMap<String, OwnedValue>,
    ) -> HashMap<String, HashMap<String, OwnedValue>> {
        HashMap::from([(name.to_string(), p)])
    }

    fn connected_model() -> Model {
        let mut m = Model::default();
        m.interfaces_added(
            HOME,
            &iface(
                NETWORK_INTERFACE,
                props(vec![("Name", Value::from("home-net"))]),
            ),
        );
        m.interfaces_added(
            STATION,
            &iface(
                STATION_INTERFACE,
                props(vec![
                    ("State", Value::from("connected")),
                    ("ConnectedNetwork", object_path(HOME)),
                ]),
            ),
        );
        m
    }

    #[test]
    fn no_station_is_unavailable() {
        assert_eq!(Model::default().wifi_state(), WifiState::Unavailable);
    }

    #[test]
    fn connected_station_names_its_network() {
        assert_eq!(
            connected_model().wifi_state(),
            WifiState::Connected {
                ssid: "home-net".into()
            }
        );
    }

    #[test]
    fn disconnect_with_invalidated_network() {
        let mut m = connected_model();
        let applied = m.properties_changed(
            STATION,
            STATION_INTERFACE,
            &props(vec![("State", Value::from("disconnected"))]),
            &["ConnectedNetwork".to_string()],
        );
        assert_eq!(applied, Applied::Done);
        assert_eq!(m.wifi_state(), WifiState::Disconnected);
    }

    #[test]
    fn unknown_network_or_station_asks_for_a_refresh() {
        let mut m = connected_model();
        let applied = m.properties_changed(
            STATION,
            STATION_INTERFACE,
            &props(vec![
                ("State", Value::from("connecting")),
                (
                    "ConnectedNetwork",
                    object_path("/net/connman/iwd/0/4/abc_open"),
                ),
            ]),
            &[],
        );
        assert_eq!(applied, Applied::NeedsRefresh);
        assert_eq!(
            m.wifi_state(),
            WifiState::Connecting {
                ssid: String::new()
            }
        );
        let applied = m.properties_changed(
            "/net/connman/iwd/1/9",
            STATION_INTERFACE,
            &props(vec![("State", Value::from("connected"))]),
            &[],
        );
        assert_eq!(applied, Applied::NeedsRefresh);
    }

    #[test]
    fn removing_the_station_makes_wifi_unavailable() {
        let mut m = connected_model();
        m.interfaces_removed(STATION, &[STATION_INTERFACE.to_string()]);
        assert_eq!(m.wifi_state(), WifiState::Unavailable);
    }

    #[test]
    fn the_most_connected_adapter_wins() {
        let mut m = connected_model();
        m.interfaces_added(
            "/net/connman/iwd/0/1",
            &iface(
                STATION_INTERFACE,
                props(vec![("State", Value::from("disconnected"))]),
            ),
        );
        assert_eq!(
            m.wifi_state(),
            WifiState::Connected {
                ssid: "home-net".into()
            }
        );
    }

    #[test]
    fn hostile_network_names_are_tamed() {
        let mut m = connected_model();
        m.properties_changed(
            HOME,
            NETWORK_INTERFACE,
            &props(vec![(
                "Name",
                Value::from("evil\n\u{1b}[31mname-that-is-far-too-long-for-an-ssid"),
            )]),
            &[],
        );
        let WifiState::Connected { ssid } = m.wifi_state() else {
            panic!("expected to stay connected, got {:?}", m.wifi_state());
        };
        assert!(!ssid.chars().any(char::is_control));
        assert_eq!(ssid.chars().count(), MAX_SSID_CHARS);
    }
}
