//! What a launched app inherits: stdio and its own Wayland socket, and not
//! one other descriptor of the compositor's, even one some library opened
//! without O_CLOEXEC (zbus receives logind's inhibitor fd that way).

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use palisade::config::Config;
use palisade_tests::fixture::{output, temp_dir, Fixture};
use smithay::reexports::rustix;

#[test]
fn a_launched_app_inherits_only_stdio_and_its_wayland_socket() {
    let dir = temp_dir("launcher-fds");
    // A descriptor the compositor's process holds without CLOEXEC: dup(2)
    // never sets it.
    let file = std::fs::File::create(dir.join("leak-marker")).expect("creating the marker");
    let leaked = rustix::io::dup(file.as_fd()).expect("dup");
    let flags = rustix::io::fcntl_getfd(&leaked).expect("getfd");
    assert!(!flags.contains(rustix::io::FdFlags::CLOEXEC));

    let config = "[[app]]\nid = \"probe\"\nlabel = \"Probe\"\ncolor = \"#808080\"\n\
                  command = [\"sleep\", \"60\"]\n";
    let config = Config::parse(config, Path::new("launcher-fds.toml")).expect("config");
    let mut f = Fixture::with_config(config, vec![output(320, 240, 1.0)]);
    let pid = f
        .driver
        .state
        .launch_app("probe")
        .expect("launching the probe");
    // Read its descriptors once it runs `sleep` (before exec the forked
    // child still has the close-on-exec ones).
    let comm = format!("/proc/{pid}/comm");
    f.wait_for(Duration::from_secs(20), "the app to exec", |_| {
        std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep")
    });
    let mut fds = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("listing its fds") {
        let entry = entry.expect("an fd entry");
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        fds.push((entry.file_name().to_string_lossy().into_owned(), target));
    }
    // SAFETY: kill(2) on the app this test launched.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    drop(leaked);

    let extra: Vec<_> = (fds.iter())
        .filter(|(n, _)| !["0", "1", "2"].contains(&n.as_str()))
        .collect();
    assert!(
        !fds.iter().any(|(_, t)| t.ends_with("leak-marker")),
        "the app inherited the compositor's descriptor: {fds:?}"
    );
    assert_eq!(
        extra.len(),
        1,
        "expected only the Wayland socket beyond stdio: {fds:?}"
    );
    assert!(
        extra[0].1.to_string_lossy().starts_with("socket:"),
        "{fds:?}"
    );
}
