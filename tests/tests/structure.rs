//! The trusted path's rules are each enforced in one place. These tests read
//! the compositor's source and fail when a second place appears: a special
//! case added somewhere else is exactly how the rules broke before (a
//! cursor drawn outside the stack, keyboard focus set from several paths).

use std::path::{Path, PathBuf};

/// Every .rs file under compositor/src, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compositor/src");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("reading a source file");
                let rel = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
                out.push((rel, text));
            }
        }
    }
    assert!(out.len() > 20, "found only {} source files", out.len());
    out
}

/// The files (relative to compositor/src) whose code, comments aside,
/// contains `needle`.
fn files_with(needle: &str) -> Vec<String> {
    let mut found: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| {
            text.lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .any(|code| code.contains(needle))
        })
        .map(|(path, _)| path.display().to_string())
        .collect();
    found.sort();
    found
}

#[test]
fn keyboard_focus_is_set_in_one_place() {
    assert_eq!(
        files_with(".set_focus("),
        ["focus.rs"],
        "KeyboardHandle::set_focus"
    );
}

#[test]
fn only_focus_decides_which_window_is_activated() {
    // Shell::set_activated is defined in shell.rs and called from focus.rs;
    // the space is never asked to activate anything.
    assert_eq!(files_with("set_activated("), ["focus.rs", "shell.rs"]);
    for (path, text) in sources() {
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("raise_element(") || code.contains("map_element(") {
                assert!(
                    code.contains(", false)"),
                    "{}: the space may activate a window here: {line}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn smithays_popup_grabs_are_never_used() {
    // They ignore focus changes and hand the keyboard back to the grabbing
    // client when they end (SMITHAY-NOTES.md).
    for name in ["PopupKeyboardGrab", "PopupPointerGrab", "grab_popup("] {
        assert_eq!(files_with(name), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn what_is_drawn_and_what_is_hit_come_from_one_stack() {
    // Surface trees are turned into render elements only in render.rs, and
    // surfaces are looked up under a point only in stack.rs.
    let trees = files_with("render_elements(");
    assert_eq!(trees, ["render.rs"], "render elements of client surfaces");
    assert_eq!(
        files_with("render_elements_from_surface_tree"),
        ["render.rs"]
    );
    assert_eq!(files_with("surface_under("), ["stack.rs"], "hit-testing");
    assert_eq!(files_with("under_from_surface_tree"), Vec::<String>::new());
}
