//! Battery from UPower's display device: the one composite battery UPower
//! maintains for exactly this purpose (a panel icon), so laptops with two
//! batteries still show one number.

use std::collections::HashMap;

use palisade_panel::BatteryState;
use zbus::zvariant::{OwnedValue, Value};
use zbus::Connection;

/// UPower's well-known bus name.
pub(crate) const SERVICE: &str = "org.freedesktop.UPower";
/// The composite device UPower keeps for panels.
pub(crate) const DISPLAY_DEVICE: &str = "/org/freedesktop/UPower/devices/DisplayDevice";
/// The interface carrying Percentage, State and IsPresent.
pub(crate) const DEVICE_INTERFACE: &str = "org.freedesktop.UPower.Device";

/// UPower's `State` values (see the UPower D-Bus reference).
const STATE_CHARGING: u32 = 1;
const STATE_FULLY_CHARGED: u32 = 4;
const STATE_PENDING_CHARGE: u32 = 5;

/// The display device's properties that matter to the panel, as last seen.
/// Kept separately (rather than mapped straight to a `BatteryState`) because
/// PropertiesChanged only carries the properties that changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Battery {
    percentage: Option<f64>,
    state: Option<u32>,
    is_present: Option<bool>,
}

impl Battery {
    /// Builds the cache from a `GetAll` answer.
    pub(crate) fn from_properties(props: &HashMap<String, OwnedValue>) -> Self {
        let mut battery = Self::default();
        battery.apply(props);
        battery
    }

    /// Merges the properties a PropertiesChanged signal carried. Values of an
    /// unexpected type are ignored rather than trusted.
    pub(crate) fn apply(&mut self, changed: &HashMap<String, OwnedValue>) {
        for (name, value) in changed {
            let value: &Value<'_> = value;
            match (name.as_str(), value) {
                ("Percentage", Value::F64(v)) => self.percentage = Some(*v),
                ("State", Value::U32(v)) => self.state = Some(*v),
                ("IsPresent", Value::Bool(v)) => self.is_present = Some(*v),
                _ => {}
            }
        }
    }

    /// What the panel shows for this device.
    pub(crate) fn state(&self) -> BatteryState {
        // A desktop without a battery still has a display device, with
        // IsPresent false; that is the neutral indicator, not "0 %".
        if self.is_present != Some(true) {
            return BatteryState::Unavailable;
        }
        let Some(percent) = self.percentage.filter(|p| p.is_finite()) else {
            return BatteryState::Unavailable;
        };
        // "charging" here means "on external power": a full battery on the
        // charger, or one held back by a charge threshold, is not draining
        // and the panel should not suggest it is.
        let charging = matches!(
            self.state,
            Some(STATE_CHARGING | STATE_FULLY_CHARGED | STATE_PENDING_CHARGE)
        );
        BatteryState::Level {
            percent: percent.clamp(0.0, 100.0),
            charging,
        }
    }
}

/// Reads the display device's properties from the service's current owner
/// (its unique name, so the call never triggers D-Bus activation).
pub(crate) async fn fetch(conn: &Connection, owner: &str) -> zbus::Result<Battery> {
    let reply = conn
        .call_method(
            Some(owner),
            DISPLAY_DEVICE,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(DEVICE_INTERFACE,),
        )
        .await?;
    let props: HashMap<String, OwnedValue> = reply.body().deserialize()?;
    Ok(Battery::from_properties(&props))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(entries: Vec<(&str, Value<'static>)>) -> HashMap<String, OwnedValue> {
        entries
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), OwnedValue::try_from(v).ok()?)))
            .collect()
    }

    #[test]
    fn present_battery_reports_level_and_charging() {
        let b = Battery::from_properties(&props(vec![
            ("Percentage", Value::F64(80.0)),
            ("State", Value::U32(2)),
            ("IsPresent", Value::Bool(true)),
            ("Type", Value::U32(2)),
        ]));
        assert_eq!(
            b.state(),
            BatteryState::Level {
                percent: 80.0,
                charging: false
            }
        );
    }

    #[test]
    fn changes_merge_into_the_cache() {
        let mut b = Battery::from_properties(&props(vec![
            ("Percentage", Value::F64(80.0)),
            ("State", Value::U32(2)),
            ("IsPresent", Value::Bool(true)),
        ]));
        b.apply(&props(vec![("State", Value::U32(STATE_CHARGING))]));
        assert_eq!(
            b.state(),
            BatteryState::Level {
                percent: 80.0,
                charging: true
            }
        );
        b.apply(&props(vec![
            ("Percentage", Value::F64(100.0)),
            ("State", Value::U32(STATE_FULLY_CHARGED)),
        ]));
        assert_eq!(
            b.state(),
            BatteryState::Level {
                percent: 100.0,
                charging: true
            }
        );
    }

    #[test]
    fn absent_or_malformed_battery_is_unavailable() {
        assert_eq!(Battery::default().state(), BatteryState::Unavailable);
        let no_battery = Battery::from_properties(&props(vec![
            ("Percentage", Value::F64(0.0)),
            ("IsPresent", Value::Bool(false)),
        ]));
        assert_eq!(no_battery.state(), BatteryState::Unavailable);
        // Wrong types are ignored, not coerced.
        let wrong = Battery::from_properties(&props(vec![
            ("Percentage", Value::Str("80".into())),
            ("IsPresent", Value::Bool(true)),
        ]));
        assert_eq!(wrong.state(), BatteryState::Unavailable);
        let nan = Battery::from_properties(&props(vec![
            ("Percentage", Value::F64(f64::NAN)),
            ("IsPresent", Value::Bool(true)),
        ]));
        assert_eq!(nan.state(), BatteryState::Unavailable);
    }

    #[test]
    fn out_of_range_percentages_are_clamped() {
        let b = Battery::from_properties(&props(vec![
            ("Percentage", Value::F64(140.0)),
            ("IsPresent", Value::Bool(true)),
        ]));
        assert_eq!(
            b.state(),
            BatteryState::Level {
                percent: 100.0,
                charging: false
            }
        );
    }
}
