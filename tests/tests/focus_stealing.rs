//! No focus stealing with real programs: while the user types into foot,
//! a Chromium window that opens on its own (nobody launched it just now)
//! does not receive a single one of the keys typed after it appears. Its
//! panel entry is marked as wanting attention; once the user focuses it,
//! it gets keys, so the negative is not vacuous.
//!
//! foot runs `cat > FILE`, so what reached it is read back from the file.
//! Chromium's page (tests/data/keylog.html) counts every keydown in its
//! title, which the compositor sees as the window's title.

use std::path::Path;
use std::time::{Duration, Instant};

use palisade::backend::headless::VirtualOutput;
use palisade::config::Config;
use palisade::introspect::{StateInfo, WindowInfo};
use palisade::scenario::driver::{Driver, BTN_LEFT};
use palisade_panel::Hit;
use palisade_tests::fixture::{
    chromium_command, data_file, ensure_runtime_dir, init_logging, require_program, temp_dir,
    toml_strings, wait_check, window_id,
};

const OUTPUT: &str = "headless-1";
const WIDTH: u32 = 1280;
/// The reserved strip at the top of the output, in pixels (scale 1).
const STRIP: u32 = 32;
/// Chromium's first start with a fresh profile is slow on two cores.
const SLOW: Duration = Duration::from_secs(90);

fn config(typed: &Path, profile: &Path) -> Config {
    let text = format!(
        r##"
[[app]]
id = "term"
label = "Terminal"
color = "#34a853"
command = ["foot", "--config={foot_ini}", "sh", "-c", "exec cat > '{typed}'"]

[[app]]
id = "browser-test"
label = "Test Browser"
color = "#4285f4"
command = {chromium}
"##,
        foot_ini = data_file("foot.ini").display(),
        typed = typed.display(),
        chromium = toml_strings(&chromium_command(profile, &data_file("keylog.html"))),
    );
    Config::parse(&text, Path::new("<focus stealing config>"))
        .unwrap_or_else(|e| panic!("the test config does not parse: {e}\n{text}"))
}

fn window(info: &StateInfo, identity: &str) -> Option<WindowInfo> {
    info.windows
        .iter()
        .find(|w| w.identity == identity)
        .cloned()
}

/// The page's key log from Chromium's title ("ready keys:N:<keys> - ..."):
/// (N, keys). None before the page has loaded.
fn key_log(title: &str) -> Option<(u32, String)> {
    let rest = &title[title.find("ready keys:")? + "ready keys:".len()..];
    let (count, keys) = rest.split_once(':')?;
    let keys = keys.rsplit_once(" - ").map_or(keys, |(k, _)| k);
    Some((count.parse().ok()?, keys.to_string()))
}

/// The columns of window `id`'s panel entry, and how many of its strip
/// pixels are in the theme's warning colour (the attention marker).
fn entry_and_marker(driver: &mut Driver, id: u64) -> (std::ops::Range<u32>, usize) {
    let px = driver.pixels(OUTPUT).expect("reading the output's pixels");
    let pal = &driver.state.pal;
    let xs: Vec<u32> = (0..WIDTH)
        .filter(|&x| pal.panel_hit((f64::from(x) + 0.5, 16.0).into()) == Some(Hit::Window(id)))
        .collect();
    let (Some(&first), Some(&last)) = (xs.first(), xs.last()) else {
        panic!("window {id} has no entry in the panel");
    };
    let warning = palisade_panel::rgba8(pal.theme.panel_warning);
    let marker = (first..=last)
        .flat_map(|x| (0..STRIP).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = px.at(x, y);
            (0..3).all(|i| p[i].abs_diff(warning[i]) <= 8)
        })
        .count();
    (first..last + 1, marker)
}

/// Types the next character of a steady stream of text into the focused
/// window and remembers it.
struct Typist {
    typed: String,
    next: usize,
    last: Option<Instant>,
}

impl Typist {
    const ALPHABET: &'static [u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

    fn new() -> Typist {
        Typist {
            typed: String::new(),
            next: 0,
            last: None,
        }
    }

    /// At most one key every 20 ms, as a quick typist; a line ends every
    /// 40 characters (the terminal hands `cat` whole lines).
    fn maybe_type(&mut self, driver: &mut Driver) {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(20))
        {
            return;
        }
        self.last = Some(Instant::now());
        let c = if self.next % 41 == 40 {
            '\n'
        } else {
            char::from(Self::ALPHABET[self.next % Self::ALPHABET.len()])
        };
        self.next += 1;
        self.type_text(driver, &c.to_string());
    }

    fn type_text(&mut self, driver: &mut Driver, text: &str) {
        driver.type_text(text).expect("typing");
        self.typed.push_str(text);
    }
}

#[test]
fn chromium_opening_on_its_own_gets_none_of_the_keys_typed_into_foot() {
    require_program("foot");
    require_program("chromium");
    init_logging();
    ensure_runtime_dir();
    let dir = temp_dir("focus-stealing");
    let typed_file = dir.join("typed.txt");
    let profile = dir.join("chromium-profile");
    let output = VirtualOutput {
        name: Some(OUTPUT.into()),
        size: (WIDTH as i32, 800),
        scale: 1.0,
    };
    let mut driver = Driver::new(config(&typed_file, &profile), vec![output])
        .expect("starting a headless Palisade");

    // The user opens a terminal; it has focus once it shows.
    driver
        .state
        .launch_app_for_user("term")
        .expect("launching foot");
    wait_check(
        &mut driver,
        SLOW,
        "foot's window with keyboard focus",
        |d| {
            let info = d.state.pal.state_info();
            match window(&info, "term") {
                Some(w) if w.focused => Ok(()),
                other => Err(format!("foot's window: {other:?}")),
            }
        },
    );
    driver.settle(Duration::from_secs(1)).expect("settling");

    // Chromium starts on its own (the autostart path, not the user) while
    // the user keeps typing into foot: before, while and after it appears.
    let mut typist = Typist::new();
    driver
        .state
        .launch_app("browser-test")
        .expect("launching Chromium");
    let mut appeared_at = None;
    wait_check(
        &mut driver,
        SLOW,
        "Chromium's window and its page loaded",
        |d| {
            typist.maybe_type(d);
            let info = d.state.pal.state_info();
            let Some(chromium) = window(&info, "browser-test") else {
                return Err("no Chromium window yet".into());
            };
            appeared_at.get_or_insert(typist.typed.len());
            match key_log(&chromium.title) {
                Some(_) => Ok(()),
                None => Err(format!("Chromium's title: {:?}", chromium.title)),
            }
        },
    );
    // And some more once its page is ready for keys.
    typist.type_text(&mut driver, "\nafter chromium appeared: my password\n");
    let typed = typist.typed.clone();
    let appeared_at = appeared_at.unwrap_or(0);
    assert!(
        typed.len() - appeared_at >= 30,
        "too few keys typed after Chromium appeared: {typed:?} from {appeared_at}"
    );

    // foot got all of it, in order.
    wait_check(
        &mut driver,
        Duration::from_secs(20),
        "everything typed in foot's file",
        |_| {
            let got = std::fs::read_to_string(&typed_file).unwrap_or_default();
            match got == typed {
                true => Ok(()),
                false => Err(format!("the file holds {got:?}, typed {typed:?}")),
            }
        },
    );

    // Chromium never had focus and is marked as wanting attention.
    let info = driver.state.pal.state_info();
    let (foot, chromium) = (window(&info, "term"), window(&info, "browser-test"));
    let (Some(foot), Some(chromium)) = (foot, chromium) else {
        panic!("both windows should be mapped: {info:#?}");
    };
    assert!(foot.focused && !foot.attention, "{foot:#?}");
    assert!(!chromium.focused && chromium.attention, "{chromium:#?}");
    let chromium_id = window_id(&driver, "browser-test");
    let foot_id = window_id(&driver, "term");
    let (entry, marker) = entry_and_marker(&mut driver, chromium_id);
    assert!(
        marker >= 50,
        "{marker} marker pixels in Chromium's panel entry"
    );
    assert_eq!(
        entry_and_marker(&mut driver, foot_id).1,
        0,
        "foot's entry is marked"
    );

    // The user focuses Chromium through its panel entry and types one key.
    // Keys reach a client in order, so a title counting exactly this one
    // key shows that none of the earlier ones ever arrived.
    driver.pointer_to(f64::from(entry.start + 5), 16.0);
    driver.click(BTN_LEFT);
    wait_check(
        &mut driver,
        Duration::from_secs(10),
        "Chromium to be focused",
        |d| {
            let info = d.state.pal.state_info();
            match window(&info, "browser-test") {
                Some(w) if w.focused && !w.attention => Ok(()),
                other => Err(format!("Chromium's window: {other:?}")),
            }
        },
    );
    assert_eq!(
        entry_and_marker(&mut driver, chromium_id).1,
        0,
        "the marker stayed"
    );
    driver.type_text("x").expect("typing into Chromium");
    let mut title = String::new();
    wait_check(
        &mut driver,
        Duration::from_secs(20),
        "Chromium's page to count the key",
        |d| {
            let info = d.state.pal.state_info();
            title = window(&info, "browser-test")
                .map(|w| w.title)
                .unwrap_or_default();
            match key_log(&title) {
                Some((n, _)) if n > 0 => Ok(()),
                _ => Err(format!("Chromium's title: {title:?}")),
            }
        },
    );
    assert_eq!(
        key_log(&title),
        Some((1, "x".to_string())),
        "Chromium's page received more than the key typed after it was focused: {title:?}"
    );

    // Ends foot and Chromium (the compositor kills the children it started).
    drop(driver);
    let _ = std::fs::remove_dir_all(&dir);
}
