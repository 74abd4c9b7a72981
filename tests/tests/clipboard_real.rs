//! The clipboard between identities with real programs: foot in identity
//! "vm" copies (OSC 52 from its shell); Chromium in identity "browser"
//! cannot paste it, until the user sends it with Super+Shift+C and focuses
//! Chromium; then one paste gets it, and the next gets nothing.
//!
//! tests/data/paste.html reports in its title every key that reached the
//! page, every paste with the text it carried, and the textarea's value.

use std::time::Duration;

use palisade::backend::headless::VirtualOutput;
use palisade::clipboard::TransitInfo;
use palisade::config::Config;
use palisade::introspect::StateInfo;
use palisade::scenario::driver::Driver;
use palisade::Identity;
use palisade_tests::fixture::{
    chromium_command, data_file, ensure_runtime_dir, init_logging, require_program, temp_dir,
    wait_state,
};

const CLIP: &str = "palisade-clip-42";
/// CLIP in base64, for OSC 52.
const CLIP_BASE64: &str = "cGFsaXNhZGUtY2xpcC00Mg==";

fn vm() -> Identity {
    Identity {
        id: "vm".into(),
        label: "Dev VM".into(),
        color: [0x34, 0xa8, 0x53],
    }
}

fn browser() -> Identity {
    Identity {
        id: "browser".into(),
        label: "Chromium".into(),
        color: [0x42, 0x85, 0xf4],
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// What the page's title says: (keys, pastes, text, value).
#[derive(Debug, Clone, PartialEq)]
struct Page {
    keys: u32,
    pastes: u32,
    text: String,
    value: String,
}

fn field<'a>(title: &'a str, name: &str) -> Option<&'a str> {
    let start = title.find(&format!("{name}="))? + name.len() + 1;
    let rest = &title[start..];
    if let Some(bracketed) = rest.strip_prefix('[') {
        return bracketed.find(']').map(|end| &bracketed[..end]);
    }
    Some(rest.split(['|', ' ']).next().unwrap_or(rest))
}

fn page(info: &StateInfo) -> Option<Page> {
    let window = info.windows.iter().find(|w| w.identity == "browser")?;
    let t = window.title.as_str();
    Some(Page {
        keys: field(t, "keys")?.parse().ok()?,
        pastes: field(t, "pastes")?.parse().ok()?,
        text: field(t, "text")?.to_owned(),
        value: field(t, "value")?.to_owned(),
    })
}

fn focused(info: &StateInfo) -> Option<&str> {
    let window = info.windows.iter().find(|w| w.focused)?;
    Some(window.identity.as_str())
}

/// The user presses Super+Tab (at least once) until a window of `identity`
/// has focus.
fn focus_by_user(driver: &mut Driver, identity: &str) {
    for _ in 0..4 {
        driver.key_chord("Super+Tab").expect("Super+Tab");
        if focused(&driver.state.pal.state_info()) == Some(identity) {
            return;
        }
    }
    let info = driver.state.pal.state_info();
    panic!("Super+Tab never focused {identity}: {info:#?}");
}

/// Ctrl+V in Chromium; waits until the page has seen both keys and its
/// paste event (Chromium fires one with an empty clipboard too; it can come
/// after the keys' title update) and `done` holds.
fn paste(driver: &mut Driver, what: &str, done: impl Fn(&Page) -> bool) -> Page {
    let start = page(&driver.state.pal.state_info()).expect("the page's title");
    driver.key_chord("Ctrl+V").expect("Ctrl+V");
    let info = wait_state(driver, Duration::from_secs(20), what, |s| {
        page(s).is_some_and(|p| p.keys >= start.keys + 2 && p.pastes > start.pastes && done(&p))
    });
    page(&info).expect("the page's title")
}

#[test]
fn foot_copies_and_chromium_pastes_only_after_the_trusted_transfer_and_once() {
    require_program("foot");
    require_program("chromium");
    init_logging();
    ensure_runtime_dir();
    let output = VirtualOutput {
        name: Some("headless-1".into()),
        size: (1280, 800),
        scale: 1.0,
    };
    let mut driver =
        Driver::new(Config::embedded_default(), vec![output]).expect("starting Palisade");
    let slow = Duration::from_secs(60);

    let profile = temp_dir("clipboard-chromium-profile");
    let chromium = chromium_command(&profile, &data_file("paste.html"));
    driver
        .state
        .pal
        .spawn(&chromium, &[], browser())
        .expect("spawning Chromium");
    wait_state(&mut driver, slow, "Chromium to show the page", |s| {
        page(s).is_some()
    });

    // dash with a fixed prompt and no rc file.
    let config = format!("--config={}", data_file("foot.ini").display());
    let env = [("PS1", "ready$ "), ("ENV", "")].map(|(k, v)| (k.to_owned(), v.to_owned()));
    driver
        .state
        .pal
        .spawn(&strings(&["foot", &config, "sh"]), &env, vm())
        .expect("spawning foot");
    wait_state(&mut driver, slow, "foot's window", |s| {
        s.windows.iter().any(|w| w.identity == "vm")
    });
    if focused(&driver.state.pal.state_info()) != Some("vm") {
        focus_by_user(&mut driver, "vm");
    }
    // The shell reads what we type once it is up; what it prints does not
    // matter. foot takes OSC 52 from it as a copy to the clipboard.
    driver.settle(Duration::from_secs(1)).expect("settling");
    let osc = format!("printf '\\033]52;c;%s\\a' {CLIP_BASE64}\n");
    driver.type_text(&osc).expect("typing into foot");
    wait_state(&mut driver, slow, "foot to set the clipboard", |s| {
        s.clipboard.owner.as_deref() == Some("vm")
    });

    // Chromium is not offered foot's clipboard: a paste brings nothing.
    focus_by_user(&mut driver, "browser");
    let before = paste(&mut driver, "the paste to reach the page", |_| true);
    assert!(
        before.text.is_empty() && before.value.is_empty(),
        "Chromium pasted another identity's clipboard: {before:?}"
    );

    // The trusted transfer: Super+Shift+C in foot, then focus Chromium.
    focus_by_user(&mut driver, "vm");
    driver.key_chord("Super+Shift+C").expect("Super+Shift+C");
    let info = wait_state(&mut driver, slow, "the transfer in transit", |s| {
        s.clipboard.transit.is_some()
    });
    let in_transit = TransitInfo {
        from: "vm".into(),
        bytes: CLIP.len(),
        to: None,
    };
    assert_eq!(info.clipboard.transit, Some(in_transit));
    focus_by_user(&mut driver, "browser");
    let transit = driver.state.pal.state_info().clipboard.transit;
    assert_eq!(transit.and_then(|t| t.to).as_deref(), Some("browser"));

    // One paste: the paste event and the textarea both get the text.
    let pasted = paste(&mut driver, "the transferred text in the page", |p| {
        p.text == CLIP && p.value == CLIP
    });
    assert_eq!(pasted.pastes, before.pastes + 1, "{pasted:?}");

    // The next paste gets nothing, and the textarea keeps the one copy.
    let again = paste(&mut driver, "the second paste to reach the page", |p| {
        p.pastes > pasted.pastes
    });
    assert!(
        again.text.is_empty(),
        "a second paste got the text: {again:?}"
    );
    assert_eq!(again.value, CLIP, "{again:?}");
    let info = driver.state.pal.state_info();
    assert_eq!(info.clipboard.transit, None);

    // Ends Chromium and foot (the compositor kills the children it started).
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
}
