//! Launching apps, each on its own pre-connected Wayland socket. The
//! compositor inserts our end of the socketpair with the identity it chose
//! before the child runs a single instruction, so identity can never come
//! from the client.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use smithay::reexports::rustix;
use tracing::{info, warn};

use crate::state::{Identity, Palisade};

/// Children we started; reaped each loop iteration, ended when we stop.
#[derive(Debug, Default)]
pub struct Children {
    list: Vec<(Child, String)>,
}

impl Children {
    /// Collect exited children so none stays a zombie.
    pub fn reap(&mut self) {
        self.list.retain_mut(|(child, id)| match child.try_wait() {
            Ok(Some(status)) => {
                info!(identity = %id, pid = child.id(), %status, "app exited");
                false
            }
            Ok(None) => true,
            Err(err) => {
                warn!(identity = %id, "waiting for a child: {err}");
                false
            }
        });
    }

    pub fn pids(&self) -> Vec<u32> {
        self.list.iter().map(|(c, _)| c.id()).collect()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // Only processes we started, by their handle.
        for (child, _) in &mut self.list {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Palisade {
    /// Run `command` with its own Wayland connection (WAYLAND_SOCKET) and the
    /// given identity. Returns the child's pid. Not at the user's request:
    /// its windows take focus from no other identity (`crate::focus`).
    pub fn spawn(
        &mut self,
        command: &[String],
        env: &[(String, String)],
        identity: Identity,
    ) -> anyhow::Result<u32> {
        self.spawn_client(command, env, identity)
            .map(|(pid, _)| pid)
    }

    /// `spawn`, because the user asked for it: the app's first window may
    /// take focus from another identity.
    pub fn spawn_for_user(
        &mut self,
        command: &[String],
        env: &[(String, String)],
        identity: Identity,
    ) -> anyhow::Result<u32> {
        let (pid, client) = self.spawn_client(command, env, identity)?;
        self.note_user_launch(&client);
        Ok(pid)
    }

    /// `spawn`, returning the inserted client too.
    pub(crate) fn spawn_client(
        &mut self,
        command: &[String],
        env: &[(String, String)],
        identity: Identity,
    ) -> anyhow::Result<(u32, smithay::reexports::wayland_server::Client)> {
        let (program, args) = command.split_first().context("empty command")?;
        let (ours, theirs) = UnixStream::pair().context("creating the client socketpair")?;
        let fd = theirs.as_raw_fd();

        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("WAYLAND_SOCKET", fd.to_string())
            // No other way in: no display socket, no X11.
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            // The helper's socket is the compositor's alone: apps get
            // neither its number (after `envs`, so the config cannot put it
            // back) nor the fd, which `HelperLink` made close-on-exec.
            .env_remove(crate::helper::ENV)
            .stdin(Stdio::null());
        // SAFETY: pre_exec runs between fork and exec; close_range, fcntl,
        // setrlimit and prctl are async-signal-safe system calls, and `fd` stays open
        // in the child because `theirs` lives until after spawn.
        unsafe {
            cmd.pre_exec(move || {
                // The app gets stdio and its Wayland socket, nothing else:
                // every other descriptor becomes close-on-exec, including
                // any a library opened without O_CLOEXEC (zbus receives the
                // logind inhibitor's fd that way). Errors are ignored: on a
                // kernel without close_range the fds we made are CLOEXEC
                // anyway.
                let flags = libc::CLOSE_RANGE_CLOEXEC as libc::c_int;
                let fd_u = fd as libc::c_uint;
                if fd_u > 3 {
                    libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, fd_u - 1, flags);
                }
                libc::syscall(libc::SYS_close_range, fd_u + 1, libc::c_uint::MAX, flags);
                let fd = BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
                crate::limits::restore_descriptor_limit();
                // Apps die with the compositor, even a SIGKILLed one: the
                // helper restarts it locked, and no app should outlive that.
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::TERM,
                ))?;
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {program:?}"))?;
        drop(theirs);
        let pid = child.id();
        info!(identity = %identity.id, pid, program = %program, "launched");
        let id = identity.id.clone();
        let client = self.insert_client(ours, identity, Some(pid))?;
        self.children.list.push((child, id));
        Ok((pid, client))
    }
}
