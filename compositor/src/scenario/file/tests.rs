//! Unit tests for the scenario parser.

use super::*;

/// The example from SCENARIO.md, comments and all.
const EXAMPLE: &str = r#"config = "config.toml"          # optional; relative to this file; else the
                                # embedded default config

[[output]]                      # one or more virtual outputs, laid out
name  = "headless-1"            # left to right; name optional
size  = [1280, 800]             # physical pixels
scale = 1.0                     # optional

[[step]]
launch = "browser"              # an app id from the config (its identity)
[[step]]
run = ["weston-simple-shm"]     # any command: own socket, identity "unknown"
[[step]]
wait_windows = 2                # until at least N windows are mapped
timeout_ms = 10000              # optional on any waiting step (default 10 s)
[[step]]
wait_ms = 200
[[step]]
key = "Super+Tab"               # a chord: press in order, release reversed
[[step]]
type = "echo hi\n"              # text typed through the keymap
[[step]]
pointer = [640, 400]            # move to global logical coordinates
[[step]]
click = "left"                  # left | right | middle
[[step]]
add_output = { name = "headless-2", size = [1920, 1080], scale = 2.0 }
[[step]]
remove_output = "headless-2"
[[step]]
screenshot = "out"              # directory; writes out/<output name>.png
[[step]]
state = "out/state.json"        # dump the state (below)
"#;

const OUT: &str = "[[output]]\nsize = [800, 600]\n";

fn check(text: &str) -> Result<Scenario> {
    parse(text, Path::new("/scen"))
}

#[test]
fn full_example() {
    let s = check(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.config, Some(PathBuf::from("/scen/config.toml")));
    let out = |name: &str, size, scale| OutputSpec {
        name: Some(name.into()),
        size,
        scale,
    };
    assert_eq!(s.outputs, vec![out("headless-1", (1280, 800), 1.0)]);
    use Action::*;
    let expected = [
        Launch("browser".into()),
        Run(vec!["weston-simple-shm".into()]),
        WaitWindows(2),
        WaitMs(200),
        Key("Super+Tab".into()),
        Type("echo hi\n".into()),
        Pointer(640.0, 400.0),
        Click(Button::Left),
        AddOutput(out("headless-2", (1920, 1080), 2.0)),
        RemoveOutput("headless-2".into()),
        Screenshot("out".into()),
        State("out/state.json".into()),
    ];
    let lines = [9, 11, 13, 16, 18, 20, 22, 24, 26, 28, 30, 32];
    for (i, (step, (action, line))) in s.steps.iter().zip(expected.iter().zip(lines)).enumerate() {
        assert_eq!((&step.action, step.line, step.index), (action, line, i + 1));
        // The example's one `timeout_ms` restates the default.
        assert_eq!(step.timeout, DEFAULT_TIMEOUT);
    }
    assert_eq!(s.steps.len(), expected.len());
}

#[test]
fn additions_and_defaults() {
    let color = "{ output = \"a\", color = \"#FF0080\", min_pixels = 9, tolerance = 0 }";
    let s = check(&format!(
        "{OUT}[[step]]\nwait_color = {{ color = \"#000000\" }}\n[[step]]\nwait_color = {color}\n\
         [[step]]\nwait_title = \"Tab\"\n[[step]]\nfullscreen = false\n\
         [[step]]\npointer = [1.5, -2]\n[[step]]\nadd_output = {{ size = [10, 20] }}\n\
         [[step]]\nwait_color.color = \"#010203\"\n[[step]]\nwait_helper = \"connected\"\n\
         [[step]]\nwait_usb = \"allowed\"\ntimeout_ms = 3000\n[[step]]\nwait_usb = \"denied\"\n"
    ));
    let s = s.unwrap_or_else(|e| panic!("{e}"));
    let actions: Vec<Action> = s.steps.into_iter().map(|st| st.action).collect();
    let wait = |output: Option<&str>, color, min_pixels, tolerance| Action::WaitColor {
        output: output.map(str::to_owned),
        color,
        min_pixels,
        tolerance,
    };
    let unnamed = OutputSpec {
        name: None,
        size: (10, 20),
        scale: 1.0,
    };
    assert_eq!(
        actions,
        [
            wait(None, [0, 0, 0], 1, 8),
            wait(Some("a"), [255, 0, 128], 9, 0),
            Action::WaitTitle("Tab".into()),
            Action::Fullscreen(false),
            Action::Pointer(1.5, -2.0),
            Action::AddOutput(unnamed),
            wait(None, [1, 2, 3], 1, 8),
            Action::WaitHelper,
            Action::WaitUsb(UsbWait::Allowed),
            Action::WaitUsb(UsbWait::Denied),
        ]
    );
    let s = check(&format!("{OUT}[[step]]\nwait_ms = 0\ntimeout_ms = 5\n"));
    assert_eq!(s.map(|s| s.steps[0].timeout), Ok(Duration::from_millis(5)));
    // Dotted keys make tables toml gives no position for; they still work.
    let e = check(&format!("{OUT}[[step]]\nadd_output.size = [0, 1]\n")).map_err(|e| e.line);
    assert_eq!(e, Err(4));
}

/// Each case is "line:column|part of the reason|scenario text", with
/// `@` standing for a valid [[output]]; strings keep each case on a line.
#[test]
fn errors_name_the_right_line() {
    let cases = [
        // Missing outputs.
        "1:1|no [[output]]|\n\n[[step]]\nlaunch = \"a\"\n",
        "1:1|no [[output]]|",
        "3:10|empty|\n\noutput = []\n",
        "1:2|[[output]]|[output]\nsize = [1, 1]\n",
        // Unknown keys.
        "6:3|unknown key `bogus`|@\n[[step]]\nlaunch = \"a\"\n  bogus = 1\n",
        "1:1|unknown key `colour`|colour = 1\n@",
        "3:1|unknown key `dpi`|[[output]]\nsize = [1, 1]\ndpi = 2\n",
        "4:31|`rot`|@[[step]]\nadd_output = { size = [1, 1], rot = 9 }\n",
        "4:35|`px`|@[[step]]\nwait_color = { color = \"#ffffff\", px = 3 }\n",
        // Zero or two actions: the step's header.
        "5:1|step 2 has more|@[[step]]\nlaunch = \"a\"\n[[step]]\nlaunch = \"b\"\nkey = \"x\"\n",
        "3:1|step 1 has no action|@[[step]]\ntimeout_ms = 5\n",
        // Malformed values.
        "6:9|\"double\"|@[[step]]\n\n\nclick = \"double\"\n",
        "3:3|between 1 and 16384, got -800|[[output]]\nsize = [1280,\n  -800]\n",
        "2:9|got 16385|[[output]]\nsize = [16385, 10]\n",
        "2:8|[width, height]|[[output]]\nsize = [10]\n",
        "2:8|not a string|[[output]]\nsize = \"big\"\n",
        "3:9|scale|[[output]]\nsize = [1, 1]\nscale = 9\n",
        "3:9|finite|[[output]]\nsize = [1, 1]\nscale = nan\n",
        "2:1|needs `size|\n[[output]]\nname = \"x\"\n",
        "6:8|used twice|@name = \"a\"\n@name = \"a\"\n",
        "4:24|#rrggbb|@[[step]]\nwait_color = { color = \"red\" }\n",
        "4:24|#rrggbb|@[[step]]\nwait_color = { color = \"#ff00zz\" }\n",
        "4:47|255|@[[step]]\nwait_color = { color = \"#ffffff\", tolerance = 256 }\n",
        "4:16|at least 0|@[[step]]\nwait_windows = -1\n",
        "4:11|not a float|@[[step]]\nwait_ms = 1.5\n",
        "4:7|program|@[[step]]\nrun = []\n",
        "4:13|`run[1]`|@[[step]]\nrun = [\"a\", 1]\n",
        "4:15|number|@[[step]]\npointer = [1, \"2\"]\n",
        "4:14|true or false|@[[step]]\nfullscreen = \"yes\"\n",
        "5:15|`wait_helper` must be \"connected\", not \"up\"|@[[step]]\n\nwait_helper = \"up\"\n",
        "4:15|a string|@[[step]]\nwait_helper = true\n",
        "4:12|\"allowed\" or \"denied\", not \"Allowed\"|@[[step]]\nwait_usb = \"Allowed\"\n",
        "4:12|a string|@[[step]]\nwait_usb = 1\n",
        "5:14|at least 1|@[[step]]\nwait_usb = \"denied\"\ntimeout_ms = 0\n",
        "4:16|a string|@[[step]]\nauthenticate = 1\n",
        "4:10|empty|@[[step]]\nlaunch = \"\"\n",
        "5:14|at least 1|@[[step]]\nlaunch = \"a\"\ntimeout_ms = 0\n",
        "4:10|not a date or time|@[[step]]\nlaunch = 1979-05-27\n",
        "1:2|unknown key `a`|[a.b.c]\n@",
        // TOML syntax errors.
        "4:12|invalid|@[[step]]\nlaunch = \"a\n",
        "4:11|expected|@[[step]]\nrun = [\"a\"\n",
        "3:1|duplicate|[[output]]\nsize = [1, 1]\nsize = [2, 2]\n",
    ];
    for case in cases {
        let mut parts = case.splitn(3, '|');
        let (at, fragment) = (parts.next().unwrap(), parts.next().unwrap());
        let text = parts.next().unwrap().replace('@', OUT);
        match check(&text) {
            Ok(s) => panic!("{text:?} parsed: {s:?}"),
            Err(e) => {
                assert_eq!(format!("{}:{}", e.line, e.column), at, "{text:?}: {e}");
                assert!(
                    e.reason.contains(fragment) && !e.reason.contains('\n'),
                    "{e}"
                );
            }
        }
    }
}

#[test]
fn display_and_positions() {
    let e = ScenarioError {
        line: 3,
        column: 7,
        reason: "bad".into(),
    };
    assert_eq!(e.to_string(), "line 3:7: bad");
    assert_eq!(position("aé\nxyz", 3), (1, 3));
    assert_eq!(position("aé\nxyz", 5), (2, 2));
    assert_eq!(position("ab\n", 3), (1, 3));
    assert_eq!(position("", 10), (1, 1));
    assert_eq!(position("é", 1), (1, 2)); // inside a character: no panic
}

#[test]
fn never_panics_on_truncated_input() {
    for end in (0..=EXAMPLE.len()).filter(|&i| EXAMPLE.is_char_boundary(i)) {
        let _ = check(&EXAMPLE[..end]);
    }
}
