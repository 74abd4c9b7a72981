//! Starting the session: the compositor as the unprivileged user, holding one
//! end of a socketpair. No socket path exists anywhere; the inherited fd is
//! the only way to reach the helper.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::config::Config;

/// The session user, resolved once at start.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// Supplementary groups (video, input, ... as the admin set them).
    pub groups: Vec<libc::gid_t>,
    pub home: PathBuf,
    pub shell: PathBuf,
}

impl User {
    pub fn lookup(name: &str) -> io::Result<User> {
        let cname = CString::new(name).map_err(|_| invalid("user name contains NUL"))?;
        let mut pw: libc::passwd = zeroed_passwd();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives the use
        // of the strings in `pw` below.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pw,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Err(invalid(&format!("no such user: {name}")));
        }
        // SAFETY: getpwnam_r succeeded, so these point to NUL-terminated
        // strings inside `buf`, which is still alive.
        let (home, shell) = unsafe {
            (
                CStr::from_ptr(pw.pw_dir).to_string_lossy().into_owned(),
                CStr::from_ptr(pw.pw_shell).to_string_lossy().into_owned(),
            )
        };
        if pw.pw_uid == 0 {
            return Err(invalid("the session user must not be root"));
        }
        let mut groups = vec![0 as libc::gid_t; 256];
        let mut n = groups.len() as libc::c_int;
        // SAFETY: `groups` has room for `n` entries; getgrouplist writes at
        // most that many and sets `n` to the real count.
        let rc =
            unsafe { libc::getgrouplist(cname.as_ptr(), pw.pw_gid, groups.as_mut_ptr(), &mut n) };
        if rc < 0 {
            return Err(invalid("the session user is in more than 256 groups"));
        }
        groups.truncate(n.max(0) as usize);
        Ok(User {
            name: name.to_string(),
            uid: pw.pw_uid,
            gid: pw.pw_gid,
            groups,
            home: home.into(),
            shell: shell.into(),
        })
    }
}

fn zeroed_passwd() -> libc::passwd {
    libc::passwd {
        pw_name: std::ptr::null_mut(),
        pw_passwd: std::ptr::null_mut(),
        pw_uid: 0,
        pw_gid: 0,
        pw_gecos: std::ptr::null_mut(),
        pw_dir: std::ptr::null_mut(),
        pw_shell: std::ptr::null_mut(),
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// XDG_RUNTIME_DIR: created 0700 and owned by the user; an existing one that
/// belongs to someone else is refused rather than used.
pub fn prepare_runtime_dir(config: &Config, user: &User) -> io::Result<PathBuf> {
    let dir = PathBuf::from(config.runtime_dir.replace("{uid}", &user.uid.to_string()));
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::create_dir(&dir) {
        Ok(()) => {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = std::fs::metadata(&dir)?;
            if meta.uid() != user.uid || meta.mode() & 0o077 != 0 {
                return Err(invalid(&format!(
                    "{} exists but is not a private directory of {}",
                    dir.display(),
                    user.name
                )));
            }
        }
        Err(e) => return Err(e),
    }
    Ok(dir)
}

/// A running session: the child, a pidfd to wait on, and the helper's end
/// of the socketpair.
#[derive(Debug)]
pub struct Session {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
    pub conn: UnixStream,
}

/// Forks the session command as `user`, with the other end of a fresh
/// socketpair inherited as PALISADE_HELPER_FD.
pub fn spawn(config: &Config, user: &User, runtime_dir: &PathBuf) -> io::Result<Session> {
    // Both ends are close-on-exec; only the child's copy of its own end is
    // made inheritable, after fork.
    let (ours, theirs) = UnixStream::pair()?;
    let child_fd: RawFd = theirs.as_raw_fd();
    let (uid, gid, groups) = (user.uid, user.gid, user.groups.clone());
    let parent = std::process::id() as libc::pid_t;

    let mut cmd = Command::new(&config.session[0]);
    cmd.args(&config.session[1..])
        .env_clear()
        .env("HOME", &user.home)
        .env("USER", &user.name)
        .env("LOGNAME", &user.name)
        .env("SHELL", &user.shell)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .envs(&config.env)
        .env("PALISADE_HELPER_FD", child_fd.to_string())
        .current_dir(&user.home)
        .stdin(Stdio::null());
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe syscalls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || drop_to_user(child_fd, uid, gid, &groups, parent));
    }
    let child = cmd.spawn()?;
    drop(theirs);
    let pid = child.id() as libc::pid_t;
    // The Child handle is not kept: the pidfd is how we wait, and reaping
    // happens through waitid on it.
    drop(child);
    let pidfd = pidfd_open(pid)?;
    ours.set_nonblocking(true)?;
    Ok(Session {
        pid,
        pidfd,
        conn: ours,
    })
}

/// In the child: keep the helper fd, become the user for good, and die
/// with the helper.
fn drop_to_user(
    fd: RawFd,
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: &[libc::gid_t],
    parent: libc::pid_t,
) -> io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    // SAFETY: plain syscalls on integers and on `groups`, a live slice.
    unsafe {
        check(libc::fcntl(fd, libc::F_SETFD, 0))?;
        let empty: libc::sigset_t = std::mem::zeroed();
        check(libc::sigprocmask(
            libc::SIG_SETMASK,
            &empty,
            std::ptr::null_mut(),
        ))?;
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        check(libc::setgroups(groups.len(), groups.as_ptr()))?;
        check(libc::setresgid(gid, gid, gid))?;
        check(libc::setresuid(uid, uid, uid))?;
    }
    // Verify the drop took: every id is the user's, and root cannot be
    // regained.
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut rg, mut eg, mut sg) = (0, 0, 0);
    // SAFETY: the out-pointers are valid locals.
    unsafe {
        check(libc::getresuid(&mut r, &mut e, &mut s))?;
        check(libc::getresgid(&mut rg, &mut eg, &mut sg))?;
    }
    // SAFETY: setuid(0) only changes credentials if we were still privileged.
    let regained = unsafe { libc::setuid(0) } == 0;
    if [r, e, s] != [uid; 3] || [rg, eg, sg] != [gid; 3] || regained {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "dropping to the session user did not take",
        ));
    }
    // Set after the uid change, which clears it. If the helper died in the
    // meantime, stop here instead of running unsupervised.
    // SAFETY: prctl with integer arguments; getppid cannot fail.
    unsafe {
        check(libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
        ))?;
        if libc::getppid() != parent {
            return Err(io::Error::other(
                "the helper exited during the session start",
            ));
        }
    }
    Ok(())
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Sends `sig` through the pidfd (no pid-reuse race).
pub fn signal(session: &Session, sig: libc::c_int) {
    // SAFETY: pidfd_send_signal with a valid pidfd and a null siginfo.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            session.pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        tracing::debug!(pid = session.pid, "signal: {}", io::Error::last_os_error());
    }
}

/// Reaps the session once its pidfd is readable; returns a description of
/// how it ended, or `None` if it is still running.
pub fn try_reap(session: &Session) -> Option<String> {
    // SAFETY: siginfo_t is plain data; zero is a valid bit pattern.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with P_PIDFD on our own pidfd and a valid out-pointer.
    let rc = unsafe {
        libc::waitid(
            libc::P_PIDFD,
            session.pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG,
        )
    };
    // SAFETY: after a successful waitid the pid and status fields are set
    // (pid 0 when the child has not exited yet).
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if rc < 0 || pid == 0 {
        return None;
    }
    Some(match info.si_code {
        libc::CLD_EXITED => format!("exited with status {status}"),
        _ => format!("killed by signal {status}"),
    })
}
