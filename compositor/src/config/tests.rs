//! Unit tests of the config parser: every error names its line.
use super::*;

const PATH: &str = "/etc/palisade/config.toml";

/// A valid five-line app table (id on line 2) followed by `$extra`.
macro_rules! app {
    ($id:literal, $extra:literal) => {
        concat!(
            "[[app]]\nid = \"",
            $id,
            "\"\nlabel = \"L\"\ncolor = \"#102030\"\n",
            "command = [\"x\"]\n",
            $extra
        )
    };
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(PATH))
}

/// Rejected configs: (text, line of the error, words the reason contains).
/// One case a line reads best, so rustfmt is told to leave the table be.
#[rustfmt::skip]
const REJECTED: &[(&str, usize, &str)] = &[
    // Syntax and type errors.
    ("public_socket = false\n\n[keyboard\nlayout = \"us\"\n", 3, ""),
    ("public_socket = 3\n", 1, "boolean"),
    ("[keyboard]\nlayout = \"us\n", 2, ""),
    ("[keyboard]\nrepeat_rate_hz = -1\n", 2, "u32"),
    ("[bindings]\nclose = 1\n", 2, "string"),
    (concat!(app!("a", ""), "[[app]]\nid = \"b\"\nlabel = \"L\"\ncolor = 5\n"), 9, "string"),
    // Unknown keys.
    ("[[apps]]\nid = \"x\"\n", 1, "apps"),
    (app!("a", "colour = \"#000000\"\n"), 6, "colour"),
    ("[keyboard]\nlayout = \"us\"\nrepeat = 3\n", 3, "repeat"),
    ("[bindings]\nsuspend = \"Super+S\"\n", 2, "suspend"),
    // A missing field names the app's table.
    ("\n[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#000000\"\n", 2, "command"),
    // Ids.
    (concat!("\n\n", app!("", "")), 4, "empty"),
    (app!("Browser", ""), 2, "a-z"),
    (app!("web browser", ""), 2, "a-z"),
    (app!("unknown", ""), 2, "reserved"),
    (app!("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ""), 2, "longer"),
    (concat!(app!("a", ""), app!("b", "\n"), app!("a", "")), 13, "duplicate app id \"a\" (first on line 2)"),
    // Label and colour.
    ("[[app]]\nid = \"a\"\nlabel = \" \"\ncolor = \"#000000\"\ncommand = [\"x\"]\n", 3, "label"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\n\ncolor = \"crimson\"\ncommand = [\"x\"]\n", 5, "palette colour (blue, green"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#12345\"\ncommand = [\"x\"]\n", 4, "#rrggbb"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#gggggg\"\ncommand = [\"x\"]\n", 4, "#rrggbb"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#ééé\"\ncommand = [\"x\"]\n", 4, "#rrggbb"),
    // Commands.
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#000000\"\ncommand = []\n", 5, "command must not be empty"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#000000\"\ncommand = [\"\", \"x\"]\n", 5, "program"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#000000\"\ncommand = [\n \"x\",\n \"\\u0000\",\n]\n", 7, "NUL"),
    ("[[app]]\nid = \"a\"\nlabel = \"L\"\ncolor = \"#000000\"\ncommand = \"x\"\n", 5, "sequence"),
    // Shortcuts: bad chords, and clashes with bindings (default or
    // overridden, whatever the key's case) and with other apps.
    (app!("a", "\nshortcut = \"Hyper+X\"\n"), 7, "Hyper"),
    (app!("a", "shortcut = \"Super+\"\n"), 6, "empty part"),
    (app!("a", "shortcut = \"super+q\"\n"), 6, "already the close binding"),
    (app!("a", "shortcut = \"Shift+Super+Tab\"\n"), 6, "already the focus_prev binding"),
    (concat!("[bindings]\nclose = \"Alt+F4\"\n", app!("a", "shortcut = \"Mod1+F4\"\n")), 8, "close binding"),
    (concat!(app!("a", "shortcut = \"Super+X\"\n"), app!("b", "shortcut = \"Super+x\"\n")), 12, "already used by app \"a\" (line 6)"),
    // Bindings.
    ("[bindings]\n\nclose = \"Super+Super+Q\"\n", 3, "bindings.close"),
    ("[bindings]\nfocus_next = \"Super+Shift+Tab\"\n", 2, "focus_prev"),
    ("[bindings]\nclose = \"Super+Tab\"\n", 2, "bindings.close and bindings.focus_next"),
    // The privileged bindings take part in every conflict check.
    ("[bindings]\nfocus_next = \"Super+L\"\n", 2, "bindings.lock and bindings.focus_next are both Super+L"),
    ("[bindings]\nlock = \"Super+U\"\n", 2, "bindings.lock and bindings.toggle_usb"),
    ("[bindings]\n\nsecure_attention = \"Super+Q\"\n", 3, "bindings.secure_attention and bindings.close"),
    ("[bindings]\ntoggle_usb = \"Super+\"\n", 2, "bindings.toggle_usb"),
    (app!("a", "shortcut = \"Super+u\"\n"), 6, "already the toggle_usb binding"),
    (app!("a", "shortcut = \"Super+L\"\n"), 6, "already the lock binding"),
    (app!("a", "shortcut = \"Control+Mod1+Delete\"\n"), 6, "already the secure_attention binding"),
    (concat!("[bindings]\nlock = \"Super+Escape\"\n", app!("a", "shortcut = \"Super+Escape\"\n")), 8, "lock binding"),
    // Keyboard.
    ("[keyboard]\nrepeat_delay_ms = 20000\n", 2, "at most 10000"),
    ("[keyboard]\n\nrepeat_rate_hz = 1001\n", 3, "at most 1000"),
    ("[keyboard]\nlayout = \"us\\u0000\"\n", 2, "control"),
    // Environment.
    (app!("a", "env = { WAYLAND_SOCKET = \"3\" }\n"), 6, "WAYLAND_SOCKET is set by the compositor"),
    (app!("a", "[app.env]\nOK = \"1\"\nWAYLAND_DISPLAY = \"w\"\n"), 8, "WAYLAND_DISPLAY"),
    (app!("a", "env = { \"A=B\" = \"1\" }\n"), 6, "env name"),
    (app!("a", "env = { \"1A\" = \"1\" }\n"), 6, "env name"),
    (app!("a", "env = { A = \"\\u0000\" }\n"), 6, "NUL"),
    // The lock section.
    ("[lock]\n\nidle_after = \"5\"\n", 3, "lock.idle_after: \"5\" needs a unit"),
    ("[lock]\nidle_after = \"0s\"\n", 2, "between 1s and 86400s"),
    ("[lock]\noutputs_off_after = \"2h\"\n", 2, "lock.outputs_off_after must be between"),
    ("[lock]\nidle_inhibit = \"maybe\"\n", 2, "keep-screen-on"),
    ("[lock]\nidle_after = 300\n", 2, "string"),
    ("[lock]\nidle = \"5m\"\n", 2, "idle"),
    // The global policy: never-offered, unknown and repeated globals.
    ("[policy]\napps = [\n  \"wl_compositor\",\n  \"zwlr_screencopy_manager_v1\",\n]\n", 4, "policy.apps: \"zwlr_screencopy_manager_v1\" is never offered"),
    ("[policy]\nunknown = [\"wl_shm\", \"zwlr_layer_shell_v1\"]\n", 2, "policy.unknown: \"zwlr_layer_shell_v1\" is never offered"),
    ("[policy]\nunknown = [\"wl_shm\", \"wl_shm\"]\n", 2, "wl_shm is listed twice"),
    ("[policy]\napps = [\"wl_compostor\"]\n", 2, "not a global Palisade offers"),
    ("[policy]\nbrowser = []\n", 2, "browser"),
    (app!("a", "globals = [\"wl_shm\",\n \"zwp_virtual_keyboard_manager_v1\"]\n"), 7, "globals: \"zwp_virtual_keyboard_manager_v1\" is never offered"),
    (app!("a", "globals = \"wl_shm\"\n"), 6, "sequence"),
    // The renderer.
    ("public_socket = false\nrenderer = \"vulkan\"\n", 2, "renderer \"vulkan\" is not one of auto, gles or pixman"),
    ("renderer = 1\n", 1, "string"),
    // Garbage.
    ("\u{0}", 1, ""),
    ("[[app]]", 1, "missing field"),
    ("app = 3", 1, ""),
    ("[a.b.c]\n[[a.b]]", 2, ""),
];

#[test]
fn rejected_configs_name_line_and_reason() {
    for &(text, want_line, needle) in REJECTED {
        let Err(ConfigError::Invalid {
            path, line, reason, ..
        }) = parse(text)
        else {
            panic!("should be rejected:\n{text}");
        };
        assert_eq!(path, Path::new(PATH));
        assert_eq!(line, want_line, "wrong line for {reason:?} in:\n{text}");
        assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
    }
}

#[test]
fn display_is_path_line_column_reason() {
    let e = parse(concat!(app!("a", ""), "\n", app!("a", ""))).unwrap_err();
    let want = "/etc/palisade/config.toml:8:6: duplicate app id \"a\" (first on line 2)";
    assert_eq!(e.to_string(), want);
    // End-of-file errors point at the end of the last line.
    let e = parse("public_socket = false\ncommand = [\"y\"\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/etc/palisade/config.toml:2:15: "),
        "{e}"
    );
}

#[test]
fn embedded_default_parses() {
    let c = Config::embedded_default();
    assert!(!c.public_socket);
    assert_eq!(c.keyboard, KeyboardConfig::default());
    assert_eq!(c.bindings, Bindings::default());
    assert_eq!(c.lock, LockConfig::default());
    // The shipped file spells out the built-in policy, so an admin sees it.
    assert_eq!(c.policy, palisade_protocols::Policy::default());
    let ids: Vec<_> = c.apps.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["browser", "vm"]);

    let b = c.app("browser").unwrap();
    assert_eq!(
        (b.label.as_str(), b.color),
        ("Chromium", [0x42, 0x85, 0xf4])
    );
    assert_eq!(b.command[0], "chromium");
    assert!(b.command.iter().any(|a| a == "--ozone-platform=wayland"));
    assert!(!b
        .command
        .iter()
        .any(|a| a.contains("no-sandbox") || a.contains("x11")));
    // Chromium honours only the last of each feature-list switch.
    for switch in ["--enable-features=", "--disable-features="] {
        assert!(b.command.iter().filter(|a| a.starts_with(switch)).count() <= 1);
    }
    assert_eq!(b.shortcut, Some(Chord::parse("Super+B").unwrap()));

    let vm = c.app("vm").unwrap();
    assert_eq!(vm.label, "Dev VM");
    assert_eq!(vm.command, ["foot", "ssh", "dev-vm"]);
    assert_eq!(vm.shortcut, Some(Chord::parse("Super+Return").unwrap()));
    assert!(!vm.autostart && !b.autostart && vm.env.is_empty());
    assert!(c.app("unknown").is_none());
}

#[test]
fn defaults_and_overrides() {
    let c = parse("").unwrap();
    assert!(c.apps.is_empty() && !c.public_socket);
    assert_eq!(c.keyboard, KeyboardConfig::default());
    let b = [
        &c.bindings.focus_next,
        &c.bindings.focus_prev,
        &c.bindings.close,
        &c.bindings.toggle_usb,
        &c.bindings.lock,
        &c.bindings.secure_attention,
        &c.bindings.send_clipboard,
    ];
    let b = b.map(ToString::to_string);
    let want = [
        "Super+Tab",
        "Shift+Super+Tab",
        "Super+Q",
        "Super+U",
        "Super+L",
        "Ctrl+Alt+Delete",
        "Shift+Super+C",
    ];
    assert_eq!(b, want);
    let k = &c.keyboard;
    let k = (k.layout.as_str(), k.repeat_delay_ms, k.repeat_rate_hz);
    assert_eq!(k, ("us", 600, 25));

    let text = concat!(
        "public_socket = true\n[keyboard]\nlayout = \"de\"\noptions = \"ctrl:nocaps\"\n",
        "repeat_rate_hz = 0\n[bindings]\nclose = \"Ctrl+Alt+W\"\nlock = \"Super+Escape\"\n",
        app!(
            "t",
            "shortcut = \"Super+Q\"\nautostart = true\nenv = { X = \"1\", A_1 = \"\" }\n"
        ),
    );
    let c = parse(text).unwrap();
    let k = &c.keyboard;
    let k = (k.layout.as_str(), k.options.as_deref(), k.repeat_rate_hz);
    assert_eq!((c.public_socket, k), (true, ("de", Some("ctrl:nocaps"), 0)));
    assert_eq!(c.bindings.close.to_string(), "Ctrl+Alt+W");
    assert_eq!(c.bindings.focus_next, Bindings::default().focus_next);
    assert_eq!(c.bindings.lock.to_string(), "Super+Escape");
    assert_eq!(c.bindings.toggle_usb, Bindings::default().toggle_usb);
    // Super+Q is free once `close` has moved elsewhere.
    let t = c.app("t").unwrap();
    assert_eq!(t.shortcut, Some(Chord::parse("Super+Q").unwrap()));
    assert_eq!((t.autostart, t.color), (true, [0x10, 0x20, 0x30]));
    let env: Vec<_> = t
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("A_1", ""), ("X", "1")]);
    assert!(parse(app!("my_app-2", "")).is_ok());
}

#[test]
fn load_reads_files_and_reports_io_errors() {
    let e = Config::load(Path::new("/nonexistent/palisade.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/palisade.toml"), "{e}");

    let name = format!("palisade-config-test-{}.toml", std::process::id());
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, "public_socket = true\n[[app]]\nid = 3\n").unwrap();
    let bad = Config::load(&path);
    std::fs::write(&path, EMBEDDED_DEFAULT).unwrap();
    let good = Config::load(&path);
    let _ = std::fs::remove_file(&path);
    let e = bad.unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:3:6: ", path.display())), "{e}");
    assert_eq!(good.unwrap().apps.len(), 2);
}

#[test]
fn line_col_is_robust() {
    let text = "ab\ncé\nd";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 2), (1, 3));
    assert_eq!(line_col(text, 3), (2, 1));
    assert_eq!(line_col(text, 6), (2, 3)); // after the two-byte 'é'
    assert_eq!(line_col(text, 5), (2, 3)); // inside 'é': no panic
    assert_eq!(line_col(text, 1000), (3, 2));
    assert_eq!(line_col("", 5), (1, 1));
    assert_eq!(line_col("\n", 1), (1, 1));
}

#[test]
fn an_app_colour_may_name_a_palette_colour_of_the_theme() {
    let text = "theme = \"high-contrast\"\n[[app]]\nid = \"a\"\nlabel = \"A\"\ncolor = \"green\"\ncommand = [\"x\"]\n";
    let config = parse(text).expect("a palette colour is valid");
    let theme = palisade_themes::Theme::builtin("high-contrast").expect("builtin");
    assert_eq!(Some(config.apps[0].color), theme.palette_color("green"));
}

#[test]
fn the_lock_section_reads_durations_off_and_policies() {
    let c = parse("[lock]\nidle_after = \"off\"\noutputs_off_after = \"90s\"\nidle_inhibit = \"prevent-lock\"\n").unwrap();
    assert_eq!(c.lock.idle_after, None);
    assert_eq!(
        c.lock.outputs_off_after,
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(c.lock.idle_inhibit, IdleInhibit::PreventLock);
    let d = parse("").unwrap().lock;
    assert_eq!(d.idle_after, Some(std::time::Duration::from_secs(300)));
    assert_eq!(
        d.outputs_off_after,
        Some(std::time::Duration::from_secs(40))
    );
    assert_eq!(d.idle_inhibit, IdleInhibit::KeepScreenOn);
}

#[test]
fn the_policy_section_and_app_globals_set_each_identitys_globals() {
    use palisade_protocols::{default_apps, default_unknown, Global};
    let d = parse("").unwrap().policy;
    assert_eq!(d.apps, default_apps());
    assert_eq!(d.unknown, default_unknown());
    assert!(d.per_app.is_empty());

    let text = concat!(
        "[policy]\nunknown = []\napps = [\"wl_compositor\", \"wl_shm\"]\n",
        app!(
            "term",
            "globals = [\"wl_compositor\", \"zwp_keyboard_shortcuts_inhibit_manager_v1\"]\n"
        ),
        app!("web", ""),
    );
    let c = parse(text).unwrap();
    let p = &c.policy;
    assert_eq!(p.for_identity("unknown"), GlobalSet::EMPTY);
    assert_eq!(
        p.for_identity("web"),
        GlobalSet::of(&[Global::Compositor, Global::Shm])
    );
    assert_eq!(
        p.for_identity("term"),
        GlobalSet::of(&[Global::Compositor, Global::KeyboardShortcutsInhibit])
    );
    assert_eq!(c.app("term").unwrap().globals, Some(p.for_identity("term")));
    assert_eq!(c.app("web").unwrap().globals, None);
}

#[test]
fn the_renderer_is_auto_unless_the_config_says() {
    assert_eq!(Config::embedded_default().renderer, RendererChoice::Auto);
    for (name, want) in [
        ("auto", RendererChoice::Auto),
        ("gles", RendererChoice::Gles),
        ("pixman", RendererChoice::Pixman),
    ] {
        let config = parse(&format!("renderer = \"{name}\"\n")).expect("a valid renderer");
        assert_eq!(config.renderer, want, "{name}");
    }
}
