//! What the panel shows: plain data the compositor fills in. Everything here
//! is either decided by the compositor (identities, focus, lock) or comes from
//! a system service (battery, Wi-Fi) or the helper (USB); a client's own words
//! (titles) are kept apart as untrusted text.

/// One window in an output's window list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowEntry {
    /// Stable compositor-side id, returned by hit tests.
    pub id: u64,
    /// Trusted: the identity label from the config ("Chromium", "Dev VM").
    pub label: String,
    /// Trusted: the identity colour from the config.
    pub color: [u8; 3],
    /// Untrusted: whatever title the client set. Drawn in a visibly
    /// different style and truncated.
    pub title: String,
    pub focused: bool,
    /// The window wants attention (it appeared while another identity had
    /// focus).
    pub attention: bool,
}

/// USB authorization state, as the helper reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsbState {
    /// No helper connection: the panel says so honestly.
    #[default]
    HelperNotConnected,
    /// New USB devices are refused.
    Denied,
    /// New USB devices are allowed for this many more seconds.
    AllowedFor { seconds: u32 },
}

/// Wi-Fi from iwd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WifiState {
    /// No iwd on the bus (or no adapter): a neutral indicator.
    #[default]
    Unavailable,
    Disconnected,
    Connecting {
        ssid: String,
    },
    Connected {
        ssid: String,
    },
}

/// Battery from UPower.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum BatteryState {
    /// No UPower or no battery: a neutral indicator.
    #[default]
    Unavailable,
    Level {
        percent: f64,
        charging: bool,
    },
}

/// Everything one output's panel shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelState {
    /// The windows on this output, in the order they appeared.
    pub windows: Vec<WindowEntry>,
    /// The focused window's identity (label, colour), shown prominently;
    /// None when nothing has focus.
    pub focused: Option<(String, [u8; 3])>,
    pub usb: UsbState,
    pub wifi: WifiState,
    pub battery: BatteryState,
    /// Already formatted by the caller ("14:05"), so tests can fix it.
    pub clock: String,
    pub locked: bool,
    /// A clipboard transfer the user started, until it is pasted or dropped.
    pub clipboard: Option<ClipboardTransit>,
}

/// Text the user sent from one identity's clipboard with the trusted
/// shortcut: in transit to the next window of another identity they focus,
/// or offered to one and not yet pasted. All of it is the compositor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipboardTransit {
    /// The source identity's label and colour from the config.
    pub from_label: String,
    pub from_color: [u8; 3],
    pub bytes: usize,
    /// The receiving identity's label once offered; None while waiting for
    /// the next window.
    pub to_label: Option<String>,
}

/// What a click at a panel position means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Focus this window (by `WindowEntry::id`).
    Window(u64),
    /// The lock button.
    Lock,
}
