//! Password checks through Linux-PAM.
//!
//! A hand-written FFI of the six libpam calls we need instead of a PAM crate:
//! the helper runs as root, so every dependency is attack surface, and this
//! much C is easier to audit than a crate's worth of wrappers.
//!
//! Outcome mapping (see [`authenticate`]):
//! - `Accepted` only when `pam_authenticate` and `pam_acct_mgmt` both return
//!   `PAM_SUCCESS`.
//! - `Rejected` for the answers that mean "this password does not unlock this
//!   account now": `PAM_AUTH_ERR`, `PAM_USER_UNKNOWN`, `PAM_MAXTRIES`,
//!   `PAM_PERM_DENIED`, `PAM_CRED_INSUFFICIENT`, and from account management
//!   also `PAM_ACCT_EXPIRED` and `PAM_NEW_AUTHTOK_REQD` (a lock screen cannot
//!   change an expired password, so the account cannot be unlocked here).
//!   `PAM_USER_UNKNOWN` is a wrong-password answer, not an error, so that the
//!   caller throttles it like any failure; the user is fixed by configuration,
//!   so the distinction is logged for the administrator instead.
//! - Everything else (broken configuration, missing modules, an unavailable
//!   authentication backend, a conversation we cannot answer) is a
//!   [`PamError`] with libpam's own message.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::path::PathBuf;
use std::ptr;

use palisade_shortcuts::proto::Password;
use zeroize::Zeroize;

// Values from <security/_pam_types.h>; they are part of the Linux-PAM ABI.
const PAM_SUCCESS: c_int = 0;
const PAM_PERM_DENIED: c_int = 6;
const PAM_AUTH_ERR: c_int = 7;
const PAM_CRED_INSUFFICIENT: c_int = 8;
const PAM_USER_UNKNOWN: c_int = 10;
const PAM_MAXTRIES: c_int = 11;
const PAM_NEW_AUTHTOK_REQD: c_int = 12;
const PAM_ACCT_EXPIRED: c_int = 13;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
const PAM_SILENT: c_int = 0x8000;
const PAM_DISALLOW_NULL_AUTHTOK: c_int = 0x0001;
const PAM_FAIL_DELAY: c_int = 10;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;
/// Linux-PAM never sends more messages than this in one conversation call.
const PAM_MAX_NUM_MSG: c_int = 32;

#[repr(C)]
struct PamHandle {
    _opaque: [u8; 0],
}

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    // Linux-PAM >= 1.4 (Debian 12 ships 1.5.2).
    fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
}

/// Which PAM service to use and where its file lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamConfig {
    /// The service name, i.e. the file name under the PAM config directory.
    pub service: String,
    /// Read service files only from this directory (tests, or a private
    /// policy); `None` means the system's `/etc/pam.d`.
    pub confdir: Option<PathBuf>,
}

/// The answer to a password check.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
}

/// Failures that are not a wrong password: configuration or system trouble.
#[derive(Debug, thiserror::Error)]
pub enum PamError {
    #[error("{0} contains a NUL byte")]
    InvalidArgument(&'static str),
    #[error("pam_start failed for service {service:?}: {message} (code {code})")]
    Start {
        service: String,
        code: i32,
        message: String,
    },
    #[error("{stage} failed: {message} (code {code})")]
    Unexpected {
        stage: &'static str,
        code: i32,
        message: String,
    },
}

/// What the conversation function gets through `appdata_ptr`.
struct ConvData<'a> {
    password: &'a [u8],
}

/// Checks `password` for `user` against the PAM service in `cfg`.
///
/// Blocks for as long as the PAM modules take; PAM's own failure delay is
/// switched off because the caller throttles (see `throttle.rs`).
pub fn authenticate(cfg: &PamConfig, user: &str, password: &Password) -> Result<Verdict, PamError> {
    let secret = password.expose();
    // The conversation hands PAM a C string: a NUL would silently truncate
    // the password, so such a password can never be the right one.
    if secret.contains(&0) {
        return Ok(Verdict::Rejected);
    }
    let service = CString::new(cfg.service.as_str())
        .map_err(|_| PamError::InvalidArgument("PAM service name"))?;
    let c_user = CString::new(user).map_err(|_| PamError::InvalidArgument("user name"))?;
    let confdir = match &cfg.confdir {
        Some(dir) => Some(
            CString::new(dir.as_os_str().as_encoded_bytes())
                .map_err(|_| PamError::InvalidArgument("PAM confdir"))?,
        ),
        None => None,
    };

    // Both live on this stack frame until after pam_end (the handle's Drop
    // runs before them), so the pointers PAM keeps stay valid.
    let mut data = ConvData { password: secret };
    let conv = PamConv {
        conv: converse,
        appdata_ptr: (&mut data as *mut ConvData).cast(),
    };

    let mut raw: *mut PamHandle = ptr::null_mut();
    let code = match &confdir {
        // SAFETY: all strings are NUL-terminated and outlive the call; conv
        // and raw are valid pointers to live locals.
        Some(dir) => unsafe {
            pam_start_confdir(
                service.as_ptr(),
                c_user.as_ptr(),
                &conv,
                dir.as_ptr(),
                &mut raw,
            )
        },
        // SAFETY: as above.
        None => unsafe { pam_start(service.as_ptr(), c_user.as_ptr(), &conv, &mut raw) },
    };
    if code != PAM_SUCCESS || raw.is_null() {
        return Err(PamError::Start {
            service: cfg.service.clone(),
            code,
            message: strerror(ptr::null_mut(), code),
        });
    }
    let mut handle = Handle { raw, last: code };

    // Without this, modules that call pam_fail_delay (pam_unix does) make
    // pam_authenticate sleep about 2 s on every failure; the helper's own
    // throttle is the single source of delays.
    let delay: extern "C" fn(c_int, c_uint, *mut c_void) = no_delay;
    // SAFETY: handle.raw is a live handle; PAM_FAIL_DELAY takes a function
    // pointer of exactly this signature.
    let code = unsafe { pam_set_item(handle.raw, PAM_FAIL_DELAY, delay as *const c_void) };
    if code != PAM_SUCCESS {
        tracing::warn!(
            code,
            "PAM refused the fail-delay hook; failures will sleep in PAM too"
        );
    }

    let flags = PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK;
    // SAFETY: handle.raw is a live handle; the conversation data it points
    // to lives on this frame.
    let code = unsafe { pam_authenticate(handle.raw, flags) };
    handle.last = code;
    match code {
        PAM_SUCCESS => {}
        PAM_AUTH_ERR | PAM_MAXTRIES | PAM_PERM_DENIED | PAM_CRED_INSUFFICIENT => {
            return Ok(Verdict::Rejected)
        }
        PAM_USER_UNKNOWN => {
            tracing::warn!(
                user,
                "PAM does not know this user; treating as a wrong password"
            );
            return Ok(Verdict::Rejected);
        }
        _ => return Err(handle.error("pam_authenticate", code)),
    }

    // SAFETY: as for pam_authenticate.
    let code = unsafe { pam_acct_mgmt(handle.raw, flags) };
    handle.last = code;
    match code {
        PAM_SUCCESS => Ok(Verdict::Accepted),
        PAM_AUTH_ERR | PAM_PERM_DENIED | PAM_USER_UNKNOWN | PAM_ACCT_EXPIRED
        | PAM_NEW_AUTHTOK_REQD => {
            // The password was right, so saying why is not a leak, and the
            // administrator needs it to understand a refused unlock.
            let reason = handle.strerror(code);
            tracing::warn!(user, code, %reason, "right password but PAM account check refused");
            Ok(Verdict::Rejected)
        }
        _ => Err(handle.error("pam_acct_mgmt", code)),
    }
}

/// Owns a PAM handle so that every return path ends it.
struct Handle {
    raw: *mut PamHandle,
    /// pam_end passes the last status on to the modules' cleanup hooks.
    last: c_int,
}

impl Handle {
    fn strerror(&self, code: c_int) -> String {
        strerror(self.raw, code)
    }

    fn error(&self, stage: &'static str, code: c_int) -> PamError {
        PamError::Unexpected {
            stage,
            code,
            message: self.strerror(code),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: raw came from a successful pam_start and is ended only here.
        let code = unsafe { pam_end(self.raw, self.last) };
        if code != PAM_SUCCESS {
            tracing::warn!(code, "pam_end failed");
        }
    }
}

fn strerror(pamh: *mut PamHandle, code: c_int) -> String {
    // SAFETY: Linux-PAM's pam_strerror ignores the handle (it may be null)
    // and returns a pointer to a static string or null.
    let text = unsafe { pam_strerror(pamh, code) };
    if text.is_null() {
        return format!("PAM error {code}");
    }
    // SAFETY: non-null, NUL-terminated static string from libpam.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

extern "C" fn no_delay(_retval: c_int, _usec: c_uint, _appdata: *mut c_void) {}

/// The PAM conversation: answers password prompts with the password.
///
/// Runs inside libpam, so it must not unwind; it is written without
/// panicking operations and additionally fenced with `catch_unwind`.
extern "C" fn converse(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    std::panic::catch_unwind(|| {
        // SAFETY: libpam passes the pointers described in pam_conv(3);
        // converse_inner validates them before use.
        unsafe { converse_inner(num_msg, msg, resp, appdata) }
    })
    .unwrap_or(PAM_CONV_ERR)
}

/// # Safety
/// `msg` must be null or point to `num_msg` pointers to messages (Linux-PAM
/// layout), `resp` null or writable, `appdata` null or a live `ConvData`.
// SAFETY: callers uphold the contract in the doc comment above.
unsafe fn converse_inner(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    if msg.is_null()
        || resp.is_null()
        || appdata.is_null()
        || !(1..=PAM_MAX_NUM_MSG).contains(&num_msg)
    {
        return PAM_CONV_ERR;
    }
    // SAFETY: checked non-null; the caller guarantees it is a writable slot.
    unsafe { *resp = ptr::null_mut() };
    // SAFETY: appdata is the ConvData set up by authenticate, alive for the
    // whole PAM transaction; we only read it.
    let data = unsafe { &*(appdata as *const ConvData) };
    let count = num_msg as usize; // 1..=32, checked above.

    // calloc: PAM expects memory it can free(), all fields zeroed.
    // SAFETY: plain allocation call.
    let replies =
        unsafe { libc::calloc(count, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..count {
        // SAFETY: msg holds count entries (caller contract); i < count.
        let m = unsafe { *msg.add(i) };
        if m.is_null() {
            // SAFETY: replies holds count zero-initialised entries.
            unsafe { free_replies(replies, count) };
            return PAM_CONV_ERR;
        }
        // SAFETY: m is non-null and points to a PAM message.
        let style = unsafe { (*m).msg_style };
        match style {
            PAM_PROMPT_ECHO_OFF => {
                let copy = malloc_cstring(data.password);
                if copy.is_null() {
                    // SAFETY: as above.
                    unsafe { free_replies(replies, count) };
                    return PAM_BUF_ERR;
                }
                // SAFETY: i < count entries of replies.
                unsafe { (*replies.add(i)).resp = copy };
            }
            // Informational; PAM wants a null response for these.
            PAM_TEXT_INFO | PAM_ERROR_MSG => {}
            // PAM_PROMPT_ECHO_ON asks for a user name or other visible
            // input: the user was fixed at pam_start and we have nothing
            // else to give. Binary prompts and unknown styles likewise.
            _ => {
                tracing::warn!(style, "PAM asked for something other than the password");
                // SAFETY: as above.
                unsafe { free_replies(replies, count) };
                return PAM_CONV_ERR;
            }
        }
    }
    // SAFETY: resp checked non-null above; PAM takes ownership of replies.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

/// A malloc'd NUL-terminated copy of `bytes` (which must not contain NUL),
/// or null when out of memory. Copied straight into PAM-owned memory so no
/// other copy of the secret exists.
fn malloc_cstring(bytes: &[u8]) -> *mut c_char {
    let Some(size) = bytes.len().checked_add(1) else {
        return ptr::null_mut();
    };
    // SAFETY: plain allocation call.
    let buf = unsafe { libc::malloc(size) }.cast::<u8>();
    if buf.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: buf has room for bytes.len() + 1 bytes and cannot overlap a
    // fresh allocation.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    buf.cast()
}

/// Wipes and frees a reply array on the error path (PAM will not see it).
///
/// # Safety
/// `replies` must be a calloc'd array of `count` entries whose `resp` fields
/// are null or NUL-terminated strings from `malloc_cstring`.
// SAFETY: callers uphold the contract in the doc comment above.
unsafe fn free_replies(replies: *mut PamResponse, count: usize) {
    for i in 0..count {
        // SAFETY: i < count (caller contract).
        let r = unsafe { (*replies.add(i)).resp };
        if !r.is_null() {
            // SAFETY: r is a NUL-terminated allocation we made; wipe the
            // password bytes before the memory goes back to the allocator.
            unsafe {
                let len = libc::strlen(r);
                std::slice::from_raw_parts_mut(r.cast::<u8>(), len).zeroize();
                libc::free(r.cast());
            }
        }
    }
    // SAFETY: replies came from calloc and is not used after this.
    unsafe { libc::free(replies.cast()) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    const PAM_PROMPT_ECHO_ON: c_int = 2;
    const PERMIT: &str = "auth required pam_permit.so\naccount required pam_permit.so\n";

    /// A self-removing temp directory (no tempfile crate in the helper).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let name = format!("palisade-pam-{}-{n}", std::process::id());
            let dir = std::env::temp_dir().join(name);
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `authenticate` against service "t" with `text` in `dir`.
    fn run_in(dir: &Path, text: &str, user: &str, pw: &[u8]) -> Result<Verdict, PamError> {
        fs::write(dir.join("t"), text).unwrap();
        let cfg = PamConfig {
            service: "t".into(),
            confdir: Some(dir.to_path_buf()),
        };
        authenticate(&cfg, user, &Password::new(pw.to_vec()).unwrap())
    }

    fn run(text: &str, user: &str, pw: &[u8]) -> Result<Verdict, PamError> {
        run_in(&TempDir::new().0, text, user, pw)
    }

    #[test]
    fn permit_accepts_deny_rejects() {
        assert_eq!(run(PERMIT, "nobody", b"x").unwrap(), Verdict::Accepted);
        let auth_deny = "auth required pam_deny.so\naccount required pam_permit.so\n";
        assert_eq!(run(auth_deny, "nobody", b"x").unwrap(), Verdict::Rejected);
        let acct_deny = "auth required pam_permit.so\naccount required pam_deny.so\n";
        assert_eq!(run(acct_deny, "nobody", b"x").unwrap(), Verdict::Rejected);
    }

    #[test]
    fn nul_bytes() {
        // Rejected up front, even by a policy that permits everything.
        assert_eq!(run(PERMIT, "nobody", b"a\0b").unwrap(), Verdict::Rejected);
        let err = run(PERMIT, "a\0b", b"x").unwrap_err();
        assert!(matches!(err, PamError::InvalidArgument(_)), "{err}");
    }

    #[test]
    fn missing_service_in_confdir_is_not_accepted() {
        // Under a confdir Linux-PAM reads only that directory: with neither
        // the service file nor "other" there, 1.5.2's pam_start_confdir
        // fails with PAM_ABORT; the system's /etc/pam.d is never consulted.
        let dir = TempDir::new();
        let cfg = PamConfig {
            service: "absent".into(),
            confdir: Some(dir.0.clone()),
        };
        let result = authenticate(&cfg, "nobody", &Password::new(b"x".to_vec()).unwrap());
        assert!(!matches!(result, Ok(Verdict::Accepted)), "{result:?}");
    }

    #[test]
    fn pam_failure_delay_is_disabled() {
        // pam_faildelay asks for 5 s after a failure; our hook skips it.
        let text = "auth optional pam_faildelay.so delay=5000000\nauth required pam_deny.so\n";
        let start = Instant::now();
        assert_eq!(run(text, "nobody", b"x").unwrap(), Verdict::Rejected);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// Exercises the real conversation: pam_exec asks for the password
    /// (PAM_PROMPT_ECHO_OFF) and pipes it to a script that checks it.
    #[test]
    fn conversation_delivers_password() {
        let dir = TempDir::new();
        let script = dir.0.join("check.sh");
        let check = "#!/bin/sh\npw=$(tr -d '\\000')\n[ \"$pw\" = 'correct horse' ]\n";
        fs::write(&script, check).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let text = format!(
            "auth [success=1 default=ignore] pam_exec.so quiet expose_authtok {}\n\
             auth requisite pam_deny.so\n{PERMIT}",
            script.display()
        );
        let ok = run_in(&dir.0, &text, "nobody", b"correct horse");
        assert_eq!(ok.unwrap(), Verdict::Accepted);
        let wrong = run_in(&dir.0, &text, "nobody", b"wrong");
        assert_eq!(wrong.unwrap(), Verdict::Rejected);
    }

    /// Calls the conversation like libpam does and collects (and frees)
    /// the replies.
    fn call(messages: &[(c_int, &CStr)], password: &[u8]) -> (c_int, Vec<Option<Vec<u8>>>) {
        let msgs: Vec<PamMessage> = messages
            .iter()
            .map(|(s, t)| PamMessage {
                msg_style: *s,
                msg: t.as_ptr(),
            })
            .collect();
        let mut ptrs: Vec<*const PamMessage> = msgs.iter().map(|m| m as *const _).collect();
        let mut data = ConvData { password };
        let appdata = (&mut data as *mut ConvData).cast();
        let mut resp: *mut PamResponse = ptr::null_mut();
        let code = converse(ptrs.len() as c_int, ptrs.as_mut_ptr(), &mut resp, appdata);
        let mut out = Vec::new();
        if !resp.is_null() {
            for i in 0..ptrs.len() {
                // SAFETY: converse returned an array of ptrs.len() replies.
                let r = unsafe { (*resp.add(i)).resp };
                // SAFETY: non-null replies are malloc'd C strings we now own.
                out.push((!r.is_null()).then(|| unsafe { CStr::from_ptr(r) }.to_bytes().to_vec()));
                // SAFETY: as above; free(NULL) is a no-op.
                unsafe { libc::free(r.cast()) };
            }
            // SAFETY: the array came from calloc.
            unsafe { libc::free(resp.cast()) };
        }
        (code, out)
    }

    #[test]
    fn converse_answers_prompts_and_ignores_info() {
        let msgs = [
            (PAM_TEXT_INFO, c"hi"),
            (PAM_PROMPT_ECHO_OFF, c"Password: "),
            (PAM_ERROR_MSG, c"e"),
        ];
        let (code, out) = call(&msgs, b"s3cret");
        assert_eq!(code, PAM_SUCCESS);
        assert_eq!(out, vec![None, Some(b"s3cret".to_vec()), None]);
    }

    #[test]
    fn converse_refuses_echo_on_and_unknown_styles() {
        for style in [PAM_PROMPT_ECHO_ON, 99] {
            let msgs = [(PAM_PROMPT_ECHO_OFF, c"Password: "), (style, c"login: ")];
            let (code, out) = call(&msgs, b"x");
            assert_eq!(code, PAM_CONV_ERR);
            assert!(out.is_empty(), "nothing handed out on error");
        }
    }

    #[test]
    fn converse_rejects_bad_arguments() {
        let mut data = ConvData { password: b"x" };
        let appdata: *mut c_void = (&mut data as *mut ConvData).cast();
        let m = PamMessage {
            msg_style: PAM_PROMPT_ECHO_OFF,
            msg: c"p".as_ptr(),
        };
        let mut ok = [&m as *const PamMessage; 1];
        let mut nulls = [ptr::null::<PamMessage>(); 1];
        let mut resp: *mut PamResponse = ptr::null_mut();
        let r: *mut *mut PamResponse = &mut resp;
        let bad = [
            (0, ok.as_mut_ptr(), r, appdata),
            (-1, ok.as_mut_ptr(), r, appdata),
            (PAM_MAX_NUM_MSG + 1, ok.as_mut_ptr(), r, appdata),
            (1, ptr::null_mut(), r, appdata),
            (1, ok.as_mut_ptr(), ptr::null_mut(), appdata),
            (1, ok.as_mut_ptr(), r, ptr::null_mut()),
            (1, nulls.as_mut_ptr(), r, appdata),
        ];
        for (n, msg, resp_slot, data) in bad {
            assert_eq!(converse(n, msg, resp_slot, data), PAM_CONV_ERR);
        }
        assert!(resp.is_null());
    }
}
