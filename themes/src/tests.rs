use std::path::Path;

use crate::{fallback_dark, rgba_to_u8, Theme, ThemeError, BUILTIN_NAMES, BUILTIN_TEXTS};

const DARK: &str = include_str!("../dark.toml");

fn parse(text: &str) -> Result<Theme, ThemeError> {
    Theme::parse(text, Path::new("test.toml"))
}

/// The (line, column, reason) of a parse that must fail.
fn invalid(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(ThemeError::Invalid {
            line,
            column,
            reason,
            ..
        }) => (line, column, reason),
        other => panic!("expected an Invalid error, got {other:?}\n--- input ---\n{text}"),
    }
}

/// The dark file with one line replaced, keeping line numbers stable.
fn dark_with(old: &str, new: &str) -> String {
    assert!(DARK.contains(old), "{old:?} not in dark.toml");
    DARK.replacen(old, new, 1)
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

#[test]
fn every_builtin_parses_without_inherit() {
    assert_eq!(Theme::builtin_names(), BUILTIN_NAMES);
    for (name, text) in BUILTIN_NAMES.iter().zip(BUILTIN_TEXTS) {
        assert!(!text.contains("inherit"), "{name} must stand alone");
        let theme = crate::parse_builtin(name, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(theme.name, *name);
        assert_eq!(Theme::builtin(name), Some(theme));
    }
    assert_eq!(Theme::builtin("sepia"), None);
}

#[test]
fn builtins_share_palette_names_so_configs_survive_a_theme_change() {
    let names = |t: Theme| t.palette.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    let dark = names(Theme::default());
    assert_eq!(dark, ["blue", "green", "red", "yellow", "purple", "grey"]);
    for name in Theme::builtin_names() {
        assert_eq!(names(Theme::builtin(name).unwrap()), dark, "{name}");
    }
}

#[test]
fn default_is_dark_and_matches_the_coded_fallback() {
    let theme = Theme::default();
    assert_eq!(theme, Theme::builtin("dark").unwrap());
    assert_eq!(theme, fallback_dark());
    // The compositor's tests and earlier defaults assume these shades.
    let near = |a: [f32; 4], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.01);
    assert!(near(theme.background, [0.20, 0.22, 0.25]), "{theme:?}");
    assert!(
        near(theme.panel_background, [0.11, 0.12, 0.14]),
        "{theme:?}"
    );
    assert_eq!(theme.panel_background[3], 1.0);
    assert_eq!(theme.panel_height, 32);
    assert_eq!(theme.palette_color("blue"), Some([0x42, 0x85, 0xf4]));
    assert_eq!(theme.palette_color("Blue"), None);
}

#[test]
fn light_and_high_contrast_have_their_character() {
    let luma = |c: [f32; 4]| c[0] * 0.3 + c[1] * 0.59 + c[2] * 0.11;
    let light = Theme::builtin("light").unwrap();
    assert!(luma(light.panel_background) > 0.8 && luma(light.panel_text) < 0.2);

    let hc = Theme::builtin("high-contrast").unwrap();
    assert_eq!(rgba_to_u8(hc.panel_background), [0, 0, 0, 255]);
    assert_eq!(rgba_to_u8(hc.panel_text), [255, 255, 255, 255]);
    assert_eq!(rgba_to_u8(hc.panel_warning), [255, 255, 0, 255]);
    assert_eq!(hc.border_width, 4);

    for name in Theme::builtin_names() {
        let t = Theme::builtin(name).unwrap();
        // Untrusted titles are dimmer than trusted text on a dark panel and
        // lighter than it on a light one: closer to the background either way.
        let (bg, text, untrusted) = (
            luma(t.panel_background),
            luma(t.panel_text),
            luma(t.panel_untrusted_text),
        );
        assert!((untrusted - bg).abs() < (text - bg).abs(), "{name}");
    }
}

#[test]
fn inherit_overrides_keys_and_merges_the_palette() {
    let text = r##"
inherit = "dark"
[colors]
panel_warning = "#ff000080"
[sizes]
panel_height = 40
font_size = 12.5
[palette]
blue = "#0000ff"
teal = "#008080"
"##;
    let theme = Theme::parse(text, Path::new("/home/u/.config/palisade/mine.toml")).unwrap();
    let dark = Theme::default();
    assert_eq!(theme.name, "mine");
    assert_eq!(theme.background, dark.background);
    assert_eq!(rgba_to_u8(theme.panel_warning), [255, 0, 0, 128]);
    assert_eq!(theme.panel_height, 40);
    assert_eq!(theme.font_size, 12.5);
    assert_eq!(theme.border_width, dark.border_width);
    assert_eq!(theme.palette.len(), dark.palette.len() + 1);
    assert_eq!(theme.palette[0], ("blue".to_owned(), [0, 0, 255]));
    assert_eq!(theme.palette.last().unwrap().0, "teal");
    assert_eq!(theme.palette_color("green"), dark.palette_color("green"));

    let named = parse("inherit = \"high-contrast\"\nname = \"hc2\"\n").unwrap();
    assert_eq!(named.name, "hc2");
    assert_eq!(named.border_width, 4);
}

#[test]
fn inherit_rejects_unknown_builtins_at_their_line() {
    let (line, column, reason) = invalid("name = \"x\"\ninherit = \"sepia\"\n");
    assert_eq!((line, column), (2, 11));
    assert!(
        reason.contains("sepia") && reason.contains("high-contrast"),
        "{reason}"
    );
}

#[test]
fn builtins_may_not_inherit() {
    let err = crate::parse::parse("inherit = \"dark\"", Path::new("b.toml"), false);
    assert!(
        matches!(err, Err(ThemeError::Invalid { line: 1, .. })),
        "{err:?}"
    );
}

#[test]
fn bad_colours_name_their_line() {
    for bad in ["#1c1f2", "1c1f24", "#1c1f2g", "#1c1f24f", "#１c1f24", ""] {
        let text = dark_with(
            "panel_background = \"#1c1f24\"",
            &format!("panel_background = {bad:?}"),
        );
        let (line, column, reason) = invalid(&text);
        assert_eq!(line, line_of(DARK, "panel_background ="), "{bad:?}");
        assert_eq!(column, 20, "{bad:?}");
        assert!(reason.contains("panel_background"), "{reason}");
    }
    let text = dark_with("panel_text = \"#e6e6e6\"", "panel_text = 0xe6e6e6");
    let (line, _, reason) = invalid(&text);
    assert_eq!(line, line_of(DARK, "panel_text ="));
    assert!(reason.contains("string"), "{reason}");
}

#[test]
fn out_of_range_sizes_name_their_line() {
    let cases = [
        ("panel_height = 32", "panel_height = 23"),
        ("panel_height = 32", "panel_height = 65"),
        ("panel_height = 32", "panel_height = 99999999999"),
        ("font_size = 13", "font_size = 7.5"),
        ("font_size = 13", "font_size = nan"),
        ("focused_font_size = 15", "focused_font_size = 41"),
        ("focused_font_size = 15", "focused_font_size = inf"),
        ("border_width = 2", "border_width = 0"),
        ("border_width = 2", "border_width = 9"),
    ];
    for (old, new) in cases {
        let (line, _, reason) = invalid(&dark_with(old, new));
        assert_eq!(line, line_of(DARK, old), "{new}");
        let key = old.split(' ').next().unwrap();
        assert!(reason.contains(key) && reason.contains("range"), "{reason}");
    }
    // A fractional height is a type error, still at its line.
    let (line, _, _) = invalid(&dark_with("panel_height = 32", "panel_height = 32.5"));
    assert_eq!(line, line_of(DARK, "panel_height"));
}

#[test]
fn unknown_keys_name_their_line() {
    let text = dark_with(
        "border_width = 2",
        "border_width = 2\nborder_colour = \"#fff\"",
    );
    let (line, column, reason) = invalid(&text);
    assert_eq!((line, column), (line_of(DARK, "border_width") + 1, 1));
    assert!(reason.contains("border_colour"), "{reason}");

    let (line, _, reason) = invalid(&format!("{DARK}\n[fonts]\nfamily = \"x\"\n"));
    assert_eq!(line, DARK.lines().count() + 2);
    assert!(reason.contains("fonts"), "{reason}");

    let (line, _, reason) = invalid(&dark_with("name = \"dark\"", "nmae = \"dark\""));
    assert_eq!(line, line_of(DARK, "name ="));
    assert!(reason.contains("nmae"), "{reason}");
}

#[test]
fn missing_keys_name_the_table_header_or_line_one() {
    let text = dark_with("panel_warning = \"#f0a030\"\n", "");
    let (line, column, reason) = invalid(&text);
    assert_eq!((line, column), (line_of(DARK, "[colors]"), 1));
    assert!(
        reason.contains("panel_warning") && reason.contains("[colors]"),
        "{reason}"
    );

    let text = dark_with("font_size = 13\n", "");
    let (line, _, reason) = invalid(&text);
    assert_eq!(line, line_of(DARK, "[sizes]"));
    assert!(reason.contains("font_size"), "{reason}");

    let (line, column, reason) = invalid(&dark_with("name = \"dark\"\n", ""));
    assert_eq!((line, column), (1, 1));
    assert!(reason.contains("name"), "{reason}");

    let no_sizes = DARK
        .lines()
        .filter(|l| !l.contains("size") && !l.contains("_height") && !l.contains("border"))
        .collect::<Vec<_>>()
        .join("\n");
    let (line, column, reason) = invalid(&no_sizes);
    assert_eq!((line, column), (1, 1));
    assert!(reason.contains("[sizes]"), "{reason}");

    let palette_at = DARK.find("[palette]").unwrap();
    let (line, column, reason) = invalid(&DARK[..palette_at]);
    assert_eq!((line, column), (1, 1));
    assert!(reason.contains("[palette]"), "{reason}");

    let (line, _, reason) = invalid(&format!("{}[palette]\n", &DARK[..palette_at]));
    assert_eq!(line, line_of(DARK, "[palette]"));
    assert!(reason.contains("at least one"), "{reason}");
}

#[test]
fn bad_palette_entries_name_their_line() {
    let (line, column, reason) = invalid(&dark_with("purple = ", "Purple = "));
    assert_eq!((line, column), (line_of(DARK, "purple ="), 1));
    assert!(reason.contains("Purple"), "{reason}");

    let (line, _, _) = invalid(&dark_with("purple = ", "\"pur ple\" = "));
    assert_eq!(line, line_of(DARK, "purple ="));
    let (line, _, _) = invalid(&dark_with("purple = ", "\"\" = "));
    assert_eq!(line, line_of(DARK, "purple ="));

    // Palette colours are opaque: a border must not fade into the window.
    let (line, column, reason) = invalid(&dark_with("\"#a142f4\"", "\"#a142f480\""));
    assert_eq!((line, column), (line_of(DARK, "purple ="), 10));
    assert!(
        reason.contains("purple") && reason.contains("#rrggbb"),
        "{reason}"
    );

    // A repeated name, even quoted differently, is TOML's duplicate key.
    let (line, _, _) = invalid(&dark_with("grey = ", "\"blue\" = \"#000000\"\ngrey = "));
    assert_eq!(line, line_of(DARK, "grey ="));
}

#[test]
fn untrusted_text_must_differ_from_trusted_text() {
    let text = dark_with("\"#9aa0a6\"", "\"#E6E6E6\"");
    let (line, column, reason) = invalid(&text);
    assert_eq!((line, column), (line_of(DARK, "panel_untrusted_text"), 24));
    assert!(reason.contains("panel_untrusted_text"), "{reason}");

    // Inheriting: blame whichever of the pair this file set.
    let (line, _, _) = invalid("inherit = \"dark\"\n[colors]\npanel_text = \"#9aa0a6\"\n");
    assert_eq!(line, 3);
    // An alpha that rounds away still counts as the same drawn colour.
    let text = dark_with("\"#9aa0a6\"", "\"#e6e6e6ff\"");
    assert_eq!(invalid(&text).0, line_of(DARK, "panel_untrusted_text"));

    let text = dark_with("\"#e6e6e6\"", "\"#1c1f24\"");
    let (line, _, reason) = invalid(&text);
    assert_eq!(line, line_of(DARK, "panel_text ="));
    assert!(reason.contains("panel_background"), "{reason}");
}

#[test]
fn syntax_errors_name_their_line() {
    let text = dark_with("[sizes]", "[sizes");
    let (line, _, reason) = invalid(&text);
    assert_eq!(line, line_of(DARK, "[sizes"));
    assert!(!reason.contains('\n'), "{reason:?}");
    let (line, column, _) = invalid("name = \"x\"\n\nname = \"y\"\n");
    assert_eq!((line, column), (3, 1));
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        "\u{feff}",
        "é = 1",
        "[colors]\nbackground = \"#ééééé\"",
        "[palette]\nblue = {r = 1}",
        "colors = 5",
        "[[palette]]\nx = 1",
        "inherit = 5",
        "\0",
    ] {
        assert!(parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn display_names_path_line_and_column() {
    let text = dark_with("border_width = 2", "border_width = 12");
    let err = Theme::parse(&text, Path::new("/etc/palisade/theme.toml")).unwrap_err();
    let line = line_of(DARK, "border_width");
    assert_eq!(
        err.to_string(),
        format!("/etc/palisade/theme.toml:{line}:16: `border_width`: 12 is out of range 1..=8")
    );
}

#[test]
fn load_reads_files_and_reports_io_errors() {
    let dir = std::env::temp_dir().join(format!("palisade-themes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("light-copy.toml");
    std::fs::write(&path, include_str!("../light.toml")).unwrap();
    assert_eq!(
        Theme::load(&path).unwrap(),
        Theme::builtin("light").unwrap()
    );

    let missing = dir.join("missing.toml");
    let err = Theme::load(&missing).unwrap_err();
    assert!(
        matches!(&err, ThemeError::Io { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with(&format!("{}: ", missing.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rgba_to_u8_clamps_and_rounds() {
    assert_eq!(rgba_to_u8([0.0, 1.0, 0.5, 2.0]), [0, 255, 128, 255]);
    assert_eq!(
        rgba_to_u8([-1.0, f32::NAN, f32::INFINITY, 0.2]),
        [0, 0, 255, 51]
    );
    let dark = Theme::default();
    assert_eq!(rgba_to_u8(dark.background), [0x33, 0x38, 0x40, 0xff]);
}

#[test]
fn line_column_counts_characters() {
    assert_eq!(crate::parse::line_column("ab\néx", 4), (2, 2));
    assert_eq!(crate::parse::line_column("ab", 99), (1, 3));
}

#[test]
fn parse_all_reports_every_error_with_its_line() {
    let text = "inherit = \"dark\"\n[colors]\npanel_text = \"#12\"\npanel_warning = \"nope\"\n[sizes]\nborder_width = 99\n";
    let errors = Theme::parse_all(text, Path::new("t.toml")).expect_err("three errors");
    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (i, prefix) in ["t.toml:3:", "t.toml:4:", "t.toml:6:"].iter().enumerate() {
        assert!(lines[i].starts_with(prefix), "{lines:?}");
    }
}
