//! The crash-safe filesystem primitives the file store is built from: private temp files written
//! and synced before they become visible, the atomic exchange of two names, `fsync` of a
//! directory, opening without following symlinks, and the check that refuses a session directory
//! others could tamper with.
//!
//! They hold the rules of docs/security.md, Storage: directories are 0700 and files 0600 whatever
//! the umask; a symlinked, world-writable or foreign-owned session directory is refused; nothing
//! inside the tree is opened through a symlink (`O_NOFOLLOW`, `O_EXCL`); and a write goes to a
//! temp file in the target's directory that is then renamed, linked or exchanged into place, so no
//! reader and no crash sees a torn file. None of this knows about sessions beyond the names it is
//! given.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Names starting with this are in-flight writes (or leftovers of a crash), never sessions.
pub(super) const TEMP_PREFIX: &str = ".tmp-";
/// The mode of every directory of the tree.
pub(super) const DIR_MODE: u32 = 0o700;
/// The mode of every file of the tree.
const FILE_MODE: u32 = 0o600;

/// Refuses a session directory that others could tamper with, then makes it private.
pub(super) fn check_root(root: &Path) -> io::Result<()> {
    let refuse = |why: String| {
        io::Error::new(
            ErrorKind::PermissionDenied,
            format!("refusing session directory {}: {why}", root.display()),
        )
    };
    let meta = fs::symlink_metadata(root)?;
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link".to_owned()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".to_owned()));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(refuse("it is world-writable".to_owned()));
    }
    let me =
        probe_uid(root).map_err(|e| context(e, format!("cannot write to {}", root.display())))?;
    if meta.uid() != me {
        return Err(refuse(format!(
            "it is owned by uid {}, not by this process's uid {me}",
            meta.uid()
        )));
    }
    if meta.mode() & 0o777 != DIR_MODE {
        fs::set_permissions(root, Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// The uid that owns files this process creates, learnt by creating one (no `unsafe` `geteuid`).
fn probe_uid(dir: &Path) -> io::Result<u32> {
    let (path, file) = create_temp(dir, "probe-")?;
    let uid = file.metadata().map(|m| m.uid());
    drop(file);
    let _ = fs::remove_file(&path);
    uid
}

/// The error for a path that should be a directory and is not (or is a symlink to one).
pub(super) fn not_a_dir(dir: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is not a directory (a symbolic link is not followed)",
        dir.display()
    ))
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: atomically swaps two existing names (`ENOENT` if one is missing).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
pub(super) fn exchange(a: &Path, b: &Path) -> rustix::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
}

/// No exchange on this system: `update` checks then renames.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub(super) fn exchange(_: &Path, _: &Path) -> rustix::io::Result<()> {
    Err(rustix::io::Errno::NOSYS)
}

/// The errors by which a kernel or filesystem says it cannot exchange two names.
pub(super) fn exchange_unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    // EPERM: seccomp sandboxes (containers) often refuse renameat2 that way.
    e == Errno::INVAL
        || e == Errno::NOSYS
        || e == Errno::OPNOTSUPP
        || e == Errno::NOTSUP
        || e == Errno::PERM
}

/// Whether a session file (a regular file, not followed through a symlink) exists at `path`.
pub(super) fn is_session_file(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.is_file()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `content` to a new temp file in `dir`, with mtime `now`, synced to disk when `sync`;
/// removed again on error.
pub(super) fn write_temp(
    dir: &Path,
    content: &[u8],
    now: SystemTime,
    sync: bool,
) -> io::Result<PathBuf> {
    let (temp, mut file) = create_temp(dir, "")?;
    let written = (|| {
        file.write_all(content)?;
        // After the last write, or the write would move the mtime again.
        file.set_modified(now)?;
        // Durable before it becomes visible: a crash never leaves an empty or partial session.
        if sync {
            file.sync_all()?;
        }
        Ok(())
    })();
    drop(file);
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// An exclusive `flock(2)` on a directory, released when dropped (the descriptor closes).
///
/// Writers of the file store take it on a shard directory around a compare-and-swap; `flock`
/// locks are shared by every process that opens the directory, so this serializes writers of all
/// processes using the tree, and the kernel releases it if the holder dies.
pub(super) struct DirLock(#[allow(dead_code)] File);

/// Takes the [`DirLock`] of `dir`, waiting for it.
pub(super) fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(dir)?;
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(DirLock(dir))
}

/// `fsync(2)` on a directory, so that the names created, renamed or removed in it survive a power loss.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens an existing file without following a symlink in its last component.
pub(super) fn open_nofollow(path: &Path, write: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        // O_NONBLOCK: a FIFO planted in the tree must not hang the open; no effect on regular files.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Creates a new private temp file in `dir` (`O_EXCL | O_NOFOLLOW`, mode 0600).
pub(super) fn create_temp(dir: &Path, tag: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Asked once: `getpid` is a system call on every write otherwise. A forked child keeps the
    // parent's number, which the random part and `O_EXCL` cover as they cover containers.
    static PID: OnceLock<u32> = OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    for _ in 0..8 {
        // pid + counter is unique within a machine; the random part covers containers sharing a
        // volume. A name need not be secret, only distinct: the thread's generator (seeded from
        // the OS) serves, without a `getrandom` call per file.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let r: u64 = rand::random();
        let path = dir.join(format!("{TEMP_PREFIX}{tag}{pid:x}-{n:x}-{r:016x}"));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path);
        match opened {
            Ok(file) => {
                // Explicit chmod: the umask may have removed bits from the mode given to open.
                if let Err(e) = file.set_permissions(Permissions::from_mode(FILE_MODE)) {
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
                return Ok((path, file));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        ErrorKind::AlreadyExists,
        "no free temporary file name",
    ))
}

/// Prefixes an I/O error's message with what was being done, keeping its kind.
pub(super) fn context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}
