//! `palisade-helper`, the root daemon behind the narrow socket.
//!
//! It will create a socketpair, fork, drop to the session user and exec
//! `palisade` with the other end inherited (PALISADE_HELPER_FD), restart it
//! locked when it dies, and own USB authorization, PAM password checks and the
//! reboot-to-rest timer. Its dependency tree holds no graphics or Wayland
//! crate. Until the helper issue lands it only says so and exits non-zero,
//! because a helper that pretends to work would break "fail closed".

fn main() -> std::process::ExitCode {
    let _ = palisade_shortcuts::Chord::parse("Super+L");
    // user-facing output: there is no logging set up in this stub.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("palisade-helper: not implemented yet"); // user-facing output
    }
    std::process::ExitCode::from(2)
}
