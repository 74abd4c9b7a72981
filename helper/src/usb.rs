//! Who may plug in new USB devices.
//!
//! Two kernel interfaces, picked by [`UsbMode`]:
//! - linux-hardened's sysctl `kernel.deny_new_usb` (`1` = deny): one switch
//!   that covers every bus, including controllers added later.
//! - on mainline kernels, `authorized_default` of each USB host controller
//!   (`usbN` under `/sys/bus/usb/devices`, `0` = deny). A controller that
//!   appears later (a Thunderbolt dock, a re-probed xHCI) starts with the
//!   kernel's default, so we watch for new controllers and write the current
//!   state to them. That leaves a short window; booting with
//!   `usbcore.authorized_default=0` closes it.
//!
//! Only new devices are affected: devices already connected stay authorized.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Most drained watch messages per `on_readable` call, so a flood of
/// uevents cannot starve the rest of the event loop; poll reports the rest.
const MAX_DRAIN: usize = 256;
/// Kernel uevents are at most 2 KiB (UEVENT_BUFFER_SIZE); inotify events
/// are small. Twice that leaves room.
const BUF_SIZE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsbMode {
    /// Sysctl when the kernel has it, else sysfs.
    Auto,
    Sysctl,
    Sysfs,
}

impl FromStr for UsbMode {
    type Err = String;

    fn from_str(s: &str) -> Result<UsbMode, String> {
        match s {
            "auto" => Ok(UsbMode::Auto),
            "sysctl" => Ok(UsbMode::Sysctl),
            "sysfs" => Ok(UsbMode::Sysfs),
            other => Err(format!(
                "unknown USB mode {other:?} (expected auto, sysctl or sysfs)"
            )),
        }
    }
}

pub struct UsbControl {
    mode: UsbMode,
    sysctl: PathBuf,
    devices: PathBuf,
    /// The remembered state; deny until told otherwise, so a controller
    /// that appears before the first `apply` is denied.
    allow: bool,
    /// Controllers seen by the last scan, to log only new ones.
    known: BTreeSet<String>,
    netlink: Option<OwnedFd>,
    inotify: Option<OwnedFd>,
}

impl UsbControl {
    /// Resolves `mode` and, in sysfs mode, starts watching for new
    /// controllers. Writes nothing until [`UsbControl::apply`].
    pub fn new(mode: UsbMode, proc_root: &Path, sys_root: &Path) -> io::Result<UsbControl> {
        let sysctl = proc_root.join("sys/kernel/deny_new_usb");
        let devices = sys_root.join("bus/usb/devices");
        let mode = match mode {
            UsbMode::Auto if sysctl.exists() => UsbMode::Sysctl,
            UsbMode::Auto => UsbMode::Sysfs,
            forced => forced,
        };
        let mut ctl = UsbControl {
            mode,
            sysctl,
            devices,
            allow: false,
            known: BTreeSet::new(),
            netlink: None,
            inotify: None,
        };
        if mode == UsbMode::Sysctl && !ctl.sysctl.exists() {
            let why = "no deny_new_usb sysctl (not linux-hardened?); use the sysfs mode";
            return Err(missing(&ctl.sysctl, why));
        }
        if mode == UsbMode::Sysfs {
            if !ctl.devices.is_dir() {
                return Err(missing(&ctl.devices, "no USB support in this kernel?"));
            }
            ctl.netlink = open_uevent_socket()
                .inspect_err(|e| tracing::warn!(error = %e, "no uevent socket; relying on inotify"))
                .ok();
            ctl.inotify = Some(open_inotify(&ctl.devices)?);
            ctl.known = ctl.controllers()?.into_iter().collect();
        }
        tracing::info!(mode = ?ctl.mode, "USB control ready");
        Ok(ctl)
    }

    /// The resolved mode, never `Auto`.
    pub fn mode(&self) -> UsbMode {
        self.mode
    }

    /// Allows or denies new USB devices. Every target is written even when
    /// one fails, so a deny reaches as many controllers as possible; the
    /// first error is returned.
    pub fn apply(&mut self, allow: bool) -> io::Result<()> {
        self.allow = allow;
        tracing::info!(allow, "setting USB authorization");
        match self.mode {
            UsbMode::Sysctl => write_value(&self.sysctl, if allow { "0" } else { "1" }),
            _ => self.write_controllers(),
        }
    }

    /// The fds to poll for readability (empty in sysctl mode).
    pub fn watch_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.netlink
            .iter()
            .chain(self.inotify.iter())
            .map(|fd| fd.as_fd())
            .collect()
    }

    /// Drains the watch fds and, when something may have been added,
    /// writes the remembered state to every controller.
    pub fn on_readable(&mut self) -> io::Result<()> {
        let mut rescan = false;
        if let Some(fd) = &self.netlink {
            rescan |= drain_uevents(fd)?;
        }
        if let Some(fd) = &self.inotify {
            // Any event in the devices directory (or a queue overflow) is
            // reason enough: a rescan is cheap and idempotent.
            rescan |= drain_inotify(fd)?;
        }
        if rescan {
            self.write_controllers()?;
        }
        Ok(())
    }

    /// Names of the host controllers (`usb1`, `usb2`, …); devices (`1-1`)
    /// and interfaces (`1-0:1.0`) are skipped.
    fn controllers(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.devices)? {
            let name = entry?.file_name();
            if let Some(name) = name.to_str().filter(|n| is_controller(n)) {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn write_controllers(&mut self) -> io::Result<()> {
        let value = if self.allow { "1" } else { "0" };
        let names = self.controllers()?;
        if names.is_empty() {
            tracing::warn!(dir = %self.devices.display(), "no USB host controllers found");
        }
        let mut first_error = None;
        for name in &names {
            if !self.known.contains(name) {
                tracing::info!(controller = %name, allow = self.allow, "new USB host controller");
            }
            let path = self.devices.join(name).join("authorized_default");
            if let Err(e) = write_value(&path, value) {
                tracing::error!(path = %path.display(), error = %e, "cannot set authorized_default");
                first_error.get_or_insert(e);
            }
        }
        self.known = names.into_iter().collect();
        first_error.map_or(Ok(()), Err)
    }
}

fn missing(path: &Path, why: &str) -> io::Error {
    let text = format!("{} does not exist: {why}", path.display());
    io::Error::new(io::ErrorKind::NotFound, text)
}

fn is_controller(name: &str) -> bool {
    name.strip_prefix("usb")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes a sysfs/procfs attribute. No `create`: a missing attribute is an
/// error, never a new regular file.
fn write_value(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A NETLINK_KOBJECT_UEVENT socket on the kernel's multicast group.
fn open_uevent_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant arguments.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_KOBJECT_UEVENT,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // Group 1 carries the kernel's own uevents (udev re-broadcasts on 2).
    addr.nl_groups = 1;
    // SAFETY: addr is a valid sockaddr_nl and the length matches it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn open_inotify(dir: &Path) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant flags.
    let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let c_dir = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in sysfs path"))?;
    // SAFETY: fd is a live inotify fd and c_dir a NUL-terminated path.
    let wd = unsafe {
        libc::inotify_add_watch(
            fd.as_raw_fd(),
            c_dir.as_ptr(),
            libc::IN_CREATE | libc::IN_MOVED_TO,
        )
    };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Reads pending uevents; true when one announces a new USB device (a new
/// controller comes with its root hub, a `usb_device`). Only messages from
/// the kernel (netlink port id 0) count: anything else could be forged.
fn drain_uevents(fd: &OwnedFd) -> io::Result<bool> {
    let mut rescan = false;
    let mut buf = [0u8; BUF_SIZE];
    for _ in 0..MAX_DRAIN {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut addr as *mut libc::sockaddr_nl).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: msg points to live, correctly sized buffers for the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => continue,
                // The socket overran and events were lost: rescan to be sure.
                Some(libc::ENOBUFS) => {
                    tracing::warn!("uevent socket overrun; rescanning USB controllers");
                    rescan = true;
                    continue;
                }
                _ => return Err(e),
            }
        }
        let from_kernel = msg.msg_namelen as usize >= std::mem::size_of::<libc::sockaddr_nl>()
            && addr.nl_family == libc::AF_NETLINK as libc::sa_family_t
            && addr.nl_pid == 0;
        if !from_kernel {
            tracing::debug!(pid = addr.nl_pid, "ignoring uevent not from the kernel");
            continue;
        }
        if msg.msg_flags & libc::MSG_TRUNC != 0 {
            // Cannot parse it, but it might be the one we want.
            rescan = true;
            continue;
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        rescan |= is_usb_add(&buf[..len]);
    }
    Ok(rescan)
}

/// `add@/devices/...\0ACTION=add\0...\0SUBSYSTEM=usb\0...`
fn is_usb_add(msg: &[u8]) -> bool {
    let mut fields = msg.split(|&b| b == 0);
    let header = fields.next().unwrap_or_default();
    header.starts_with(b"add@") && fields.any(|f| f == b"SUBSYSTEM=usb")
}

/// Empties the inotify queue; true when there was any event.
fn drain_inotify(fd: &OwnedFd) -> io::Result<bool> {
    let mut any = false;
    let mut buf = [0u8; BUF_SIZE];
    for _ in 0..MAX_DRAIN {
        // SAFETY: buf is a live, writable buffer of buf.len() bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => continue,
                _ => return Err(e),
            }
        }
        if n == 0 {
            break;
        }
        any = true;
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A self-removing fake /proc + /sys tree.
    struct Roots {
        base: PathBuf,
        proc_root: PathBuf,
        sys_root: PathBuf,
    }

    impl Roots {
        fn new(with_sysctl: bool) -> Roots {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let base =
                std::env::temp_dir().join(format!("palisade-usb-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&base);
            let proc_root = base.join("proc");
            let sys_root = base.join("sys");
            fs::create_dir_all(proc_root.join("sys/kernel")).unwrap();
            if with_sysctl {
                fs::write(proc_root.join("sys/kernel/deny_new_usb"), "0").unwrap();
            }
            fs::create_dir_all(sys_root.join("bus/usb/devices")).unwrap();
            let r = Roots {
                base,
                proc_root,
                sys_root,
            };
            for dev in ["usb1", "usb2", "1-1", "1-0:1.0"] {
                r.add(dev);
            }
            r
        }

        fn attr(&self, dev: &str) -> PathBuf {
            self.sys_root
                .join("bus/usb/devices")
                .join(dev)
                .join("authorized_default")
        }

        fn read(&self, dev: &str) -> String {
            fs::read_to_string(self.attr(dev)).unwrap()
        }

        fn add(&self, dev: &str) {
            fs::create_dir(self.attr(dev).parent().unwrap()).unwrap();
            fs::write(self.attr(dev), "1").unwrap();
        }

        fn sysctl(&self) -> String {
            fs::read_to_string(self.proc_root.join("sys/kernel/deny_new_usb")).unwrap()
        }
    }

    impl Drop for Roots {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    /// Polls the watch fds until one is readable or the timeout passes.
    fn wait_readable(ctl: &UsbControl, timeout_ms: i32) -> bool {
        let mut fds: Vec<libc::pollfd> = ctl
            .watch_fds()
            .iter()
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: fds is a live array of fds.len() pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        n > 0
    }

    #[test]
    fn names() {
        assert_eq!("auto".parse(), Ok(UsbMode::Auto));
        assert_eq!("sysctl".parse(), Ok(UsbMode::Sysctl));
        assert_eq!("sysfs".parse(), Ok(UsbMode::Sysfs));
        assert!("Sysfs".parse::<UsbMode>().is_err());
        assert!(is_controller("usb1") && is_controller("usb12"));
        for name in ["usb", "1-1", "1-0:1.0", "usbx", "usb1-1", "xusb1"] {
            assert!(!is_controller(name), "{name}");
        }
    }

    #[test]
    fn auto_picks_sysctl_when_present() {
        let r = Roots::new(true);
        let mut ctl = UsbControl::new(UsbMode::Auto, &r.proc_root, &r.sys_root).unwrap();
        assert_eq!(ctl.mode(), UsbMode::Sysctl);
        assert!(ctl.watch_fds().is_empty());
        ctl.apply(false).unwrap();
        assert_eq!(r.sysctl(), "1");
        assert_eq!(r.read("usb1"), "1", "sysfs untouched in sysctl mode");
        ctl.apply(true).unwrap();
        assert_eq!(r.sysctl(), "0");
        ctl.on_readable().unwrap();
    }

    #[test]
    fn auto_picks_sysfs_otherwise() {
        let r = Roots::new(false);
        let mut ctl = UsbControl::new(UsbMode::Auto, &r.proc_root, &r.sys_root).unwrap();
        assert_eq!(ctl.mode(), UsbMode::Sysfs);
        assert!(!ctl.watch_fds().is_empty());
        ctl.apply(false).unwrap();
        assert_eq!((r.read("usb1"), r.read("usb2")), ("0".into(), "0".into()));
        assert_eq!((r.read("1-1"), r.read("1-0:1.0")), ("1".into(), "1".into()));
        ctl.apply(true).unwrap();
        assert_eq!((r.read("usb1"), r.read("usb2")), ("1".into(), "1".into()));
    }

    #[test]
    fn forced_sysctl_without_file_is_clear_error() {
        let r = Roots::new(false);
        let Err(err) = UsbControl::new(UsbMode::Sysctl, &r.proc_root, &r.sys_root) else {
            panic!("forced sysctl mode without the sysctl must fail");
        };
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("deny_new_usb"), "{err}");
    }

    #[test]
    fn forced_sysfs_ignores_sysctl() {
        let r = Roots::new(true);
        let mut ctl = UsbControl::new(UsbMode::Sysfs, &r.proc_root, &r.sys_root).unwrap();
        assert_eq!(ctl.mode(), UsbMode::Sysfs);
        ctl.apply(false).unwrap();
        assert_eq!(r.sysctl(), "0");
        assert_eq!(r.read("usb1"), "0");
    }

    #[test]
    fn one_failing_controller_does_not_stop_the_rest() {
        let r = Roots::new(false);
        fs::remove_file(r.attr("usb1")).unwrap();
        let mut ctl = UsbControl::new(UsbMode::Sysfs, &r.proc_root, &r.sys_root).unwrap();
        assert!(ctl.apply(false).is_err());
        assert_eq!(r.read("usb2"), "0");
        assert!(!r.attr("usb1").exists(), "never creates attributes");
    }

    #[test]
    fn new_controller_gets_current_state() {
        let r = Roots::new(false);
        let mut ctl = UsbControl::new(UsbMode::Sysfs, &r.proc_root, &r.sys_root).unwrap();
        ctl.apply(false).unwrap();
        r.add("usb3");
        r.add("3-1");
        assert!(wait_readable(&ctl, 5000), "inotify never fired");
        ctl.on_readable().unwrap();
        assert_eq!(r.read("usb3"), "0");
        assert_eq!(r.read("3-1"), "1", "non-controller untouched");
        // Drained: nothing further pending from our own writes.
        ctl.on_readable().unwrap();
    }

    #[test]
    fn ignores_uevents_not_from_the_kernel() {
        let r = Roots::new(false);
        let mut ctl = UsbControl::new(UsbMode::Sysfs, &r.proc_root, &r.sys_root).unwrap();
        let Some(nl) = &ctl.netlink else {
            return; // no netlink in this sandbox: nothing to forge against
        };
        // SAFETY: all-zero sockaddr_nl is valid; getsockname fills it.
        let mut me: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        let me_ptr = (&mut me as *mut libc::sockaddr_nl).cast();
        // SAFETY: me and len are live and sized for a sockaddr_nl.
        let rc = unsafe { libc::getsockname(nl.as_raw_fd(), me_ptr, &mut len) };
        assert_eq!(rc, 0);
        ctl.apply(false).unwrap();
        // A user-space sender forges a USB add; the rescan would reset usb1.
        fs::write(r.attr("usb1"), "1").unwrap();
        let forged = b"add@/devices/x/usb9\0ACTION=add\0SUBSYSTEM=usb\0";
        let sender = open_uevent_socket().unwrap();
        // SAFETY: as above.
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        to.nl_pid = me.nl_pid;
        let (buf, to_ptr) = (
            forged.as_ptr().cast(),
            (&to as *const libc::sockaddr_nl).cast(),
        );
        // SAFETY: buf and to are live for the call with matching lengths.
        let sent = unsafe { libc::sendto(sender.as_raw_fd(), buf, forged.len(), 0, to_ptr, len) };
        let err = io::Error::last_os_error();
        assert_eq!(sent, forged.len() as isize, "{err}");
        assert!(wait_readable(&ctl, 5000), "forged uevent never arrived");
        ctl.on_readable().unwrap();
        assert_eq!(
            r.read("usb1"),
            "1",
            "a forged uevent must not cause a rescan"
        );
    }

    #[test]
    fn uevent_parsing() {
        let root_hub =
            b"add@/devices/pci0000:00/usb3\0ACTION=add\0SUBSYSTEM=usb\0DEVTYPE=usb_device";
        assert!(is_usb_add(root_hub));
        assert!(!is_usb_add(
            b"remove@/devices/x/usb3\0ACTION=remove\0SUBSYSTEM=usb\0"
        ));
        assert!(!is_usb_add(
            b"add@/devices/x/block/sda\0ACTION=add\0SUBSYSTEM=block\0"
        ));
        assert!(!is_usb_add(b"SUBSYSTEM=usb\0add@x"));
        assert!(!is_usb_add(b""));
    }
}
