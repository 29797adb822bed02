//! File session store: one JSON file per session, written atomically, shareable between processes.
//!
//! Layout (Pesto's, with the hashed key as the name): `<dir>/_pesto_sessions/<first 2 chars of key>/<key>`.
//! A file holds `{"v":1,"data":<the session JSON>}`; its mtime is the session's last access.
//!
//! SECURITY-NOTES: Storage. Directories are 0700 and files 0600 whatever the umask; a symlinked,
//! world-writable or foreign-owned session directory is refused; nothing inside the tree is opened
//! through a symlink (`O_NOFOLLOW`, `O_EXCL`); writes go to a temp file in the same directory which
//! is then renamed (or hard-linked, for create-only, or exchanged, for update) over the target, so no
//! reader and no crash sees a torn file; the format is JSON, never one that can run code (Beaker
//! CVE-2013-7489).
//!
//! SECURITY-NOTES: Lifecycle. `update` swaps the new file with the existing one in a single
//! `renameat2(RENAME_EXCHANGE)`, which fails if the target is gone, so a request that began before a
//! logout (a `remove`, from this process or another sharing the directory) cannot bring the session
//! back (rack-session CVE-2025-46336).
//!
//! Durability: a file's content and mtime are fsynced before the file becomes visible, and the
//! directory holding it is fsynced before `store`, `create`, `update` and `remove` return `Ok` (and
//! `_pesto_sessions` after a new shard directory is made), so a power loss after one of them returned
//! neither undoes a logout nor loses a login's new file.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::id::SessionKey;
use super::store::{Error, Lease, Record, Result, SessionStore};

/// The directory created inside the one given to [`FileStore::new`] (Pesto's name).
const SESSION_DIR: &str = "_pesto_sessions";
/// The file format version written in every file; files of other versions are treated as absent.
const FORMAT_VERSION: u32 = 1;
/// Names starting with this are in-flight writes (or leftovers of a crash), never sessions.
const TEMP_PREFIX: &str = ".tmp-";
/// A temp file whose inode changed longer ago than this belongs to no live write; purge removes it.
const STALE_TEMP: Duration = Duration::from_secs(3600);
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Sessions stored as files under a directory, usable by several processes of the same user.
///
/// Every session is one file, `<dir>/_pesto_sessions/<k[..2]>/<k>` where `k` is the session's
/// [`SessionKey`] (a SHA-256 of the id, so a leaked directory yields no usable cookie). Writes are
/// atomic; the file's mtime is the last access, so [`touch`](SessionStore::touch) only changes the
/// mtime. A corrupt, unreadable or foreign file is logged and treated as absent. All file I/O runs on
/// tokio's blocking thread pool.
///
/// # Durability
///
/// What survives a crash or power loss, on a filesystem that honours `fsync(2)`:
/// - a new file's content and mtime are fsynced before the file replaces or becomes the session, so
///   a session file is never empty or partial;
/// - once [`store`](SessionStore::store), [`create`](SessionStore::create) (when it returns
///   `true`), [`update`](SessionStore::update) (when it returns `true`) or
///   [`remove`](SessionStore::remove) has returned `Ok`, the shard directory has been fsynced, so the
///   new file, or the removal, is on disk; a shard directory made for the write has been recorded in
///   `_pesto_sessions` the same way, and `_pesto_sessions` itself in its parent when
///   [`new`](Self::new) made it (the parents of that directory are not synced);
/// - not synced: [`touch`](SessionStore::touch) (a lost mtime only makes a session look older) and
///   [`purge`](SessionStore::purge)'s removals (a purged session that comes back is still expired
///   and is purged again).
///
/// # Requirements
///
/// The filesystem must support hard links (create-only writes rely on `link(2)` failing when the
/// target exists). [`update`](SessionStore::update) is atomic where `renameat2(RENAME_EXCHANGE)`
/// is supported (Linux on the common local filesystems: ext4, xfs, btrfs, tmpfs, f2fs; APFS through
/// `RENAME_SWAP` on macOS). Where it is not (NFS, other systems) `update` checks that the file exists
/// and then renames over it, as the trait's default does, which leaves a small window in which a
/// concurrent `remove` can be undone; this is logged once at debug level. Surrounding whitespace of
/// the stored JSON is not preserved.
#[derive(Debug, Clone)]
pub struct FileStore {
    /// `<dir>/_pesto_sessions`.
    root: Arc<Path>,
}

impl FileStore {
    /// Opens (creating if needed) the session directory `dir/_pesto_sessions`.
    ///
    /// `dir` is created if missing. The session directory is created with mode 0700, or set to
    /// 0700 if it exists.
    ///
    /// # Errors
    /// An I/O error if a directory cannot be created, and a `PermissionDenied` error if the session
    /// directory is a symbolic link, is world-writable, is owned by another user, or is not a directory.
    ///
    /// # Examples
    ///
    /// ```
    /// use pesto::session::FileStore;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = FileStore::new(dir.path())?;
    /// assert_eq!(store.directory(), dir.path().join("_pesto_sessions"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref();
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| context(e, format!("cannot create {}", dir.display())))?;
        let root = dir.join(SESSION_DIR);
        match DirBuilder::new().mode(DIR_MODE).create(&root) {
            // Record the new directory in its parent, or a power loss could drop it with every session.
            Ok(()) => {
                sync_dir(dir).map_err(|e| context(e, format!("cannot sync {}", dir.display())))?
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(context(e, format!("cannot create {}", root.display()))),
        }
        check_root(&root)?;
        Ok(FileStore {
            root: Arc::from(root),
        })
    }

    /// The session directory, `<dir>/_pesto_sessions`.
    pub fn directory(&self) -> &Path {
        &self.root
    }

    /// The file that holds (or would hold) a session.
    pub fn file_path(&self, key: &SessionKey) -> PathBuf {
        shard_path(&self.root, key).join(key.as_str())
    }
}

impl FileStore {
    /// Runs `op` for `key` on the blocking pool, off the async worker threads.
    async fn on_key<T, F>(&self, key: &SessionKey, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path, &SessionKey) -> io::Result<T> + Send + 'static,
    {
        let (root, key) = (Arc::clone(&self.root), key.clone());
        blocking(move || op(&root, &key)).await
    }
}

#[async_trait::async_trait]
impl SessionStore for FileStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        self.on_key(key, load_file).await
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        let content = encode(data)?;
        self.on_key(key, move |root, key| {
            write_file(root, key, &content, lease.now, Landing::CreateOnly)
        })
        .await
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        let content = encode(data)?;
        self.on_key(key, move |root, key| {
            write_file(root, key, &content, lease.now, Landing::Replace).map(|_| ())
        })
        .await
    }

    /// Atomic where the filesystem supports `renameat2(RENAME_EXCHANGE)`: the new file is swapped
    /// with the existing one, and the swap fails if a `remove` (of any process) got there first.
    async fn update(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        let content = encode(data)?;
        self.on_key(key, move |root, key| {
            update_file(root, key, &content, lease.now, exchange)
        })
        .await
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        self.on_key(key, move |root, key| touch_file(root, key, lease.now))
            .await
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        self.on_key(key, remove_file).await
    }

    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        let root = self.root.clone();
        blocking(move || {
            // Temp files age by the real clock (their ctime), whatever clock the middleware uses.
            let temp_cutoff = SystemTime::now()
                .checked_sub(STALE_TEMP)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            purge_tree(&root, cutoff, temp_cutoff)
        })
        .await
    }
}

/// Runs file I/O on the blocking pool, off the async worker threads.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Error::Io),
        Err(e) => Err(Error::Backend(format!(
            "file session store task failed: {e}"
        ))),
    }
}

// ---- format ----

#[derive(Serialize)]
struct FileOut<'a> {
    v: u32,
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct FileIn<'a> {
    v: u32,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Just the version, to tell "a format we do not know" from "corrupt" in the log.
#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Wraps session JSON in the versioned file format (the JSON is embedded as is, not re-encoded).
fn encode(data: &[u8]) -> Result<Vec<u8>> {
    let raw: &RawValue = serde_json::from_slice(data)
        .map_err(|e| Error::Encode(format!("session data is not JSON: {e}")))?;
    serde_json::to_vec(&FileOut {
        v: FORMAT_VERSION,
        data: raw,
    })
    .map_err(|e| Error::Encode(e.to_string()))
}

/// Extracts the session JSON from a file's content.
fn decode(content: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let unsupported = |v: u32| format!("unsupported format version {v}");
    match serde_json::from_slice::<FileIn<'_>>(content) {
        Ok(file) if file.v == FORMAT_VERSION => Ok(file.data.get().as_bytes().to_vec()),
        Ok(file) => Err(unsupported(file.v)),
        Err(e) => match serde_json::from_slice::<VersionOnly>(content) {
            Ok(only) if only.v != FORMAT_VERSION => Err(unsupported(only.v)),
            _ => Err(e.to_string()),
        },
    }
}

// ---- directory checks ----

/// Refuses a session directory that others could tamper with, then makes it private.
fn check_root(root: &Path) -> io::Result<()> {
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

fn shard_path(root: &Path, key: &SessionKey) -> PathBuf {
    root.join(key.as_str().get(..2).unwrap_or_default())
}

/// The shard directory for a key, `None` if it does not exist; refuses anything but a real directory.
fn shard_dir(root: &Path, key: &SessionKey, create: bool) -> io::Result<Option<PathBuf>> {
    let dir = shard_path(root, key);
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => return Ok(Some(dir)),
        Ok(_) => return Err(not_a_dir(&dir)),
        Err(e) if e.kind() == ErrorKind::NotFound && create => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    match DirBuilder::new().mode(DIR_MODE).create(&dir) {
        // Explicit chmod: the umask may have removed bits from the mode given to mkdir.
        Ok(()) => fs::set_permissions(&dir, Permissions::from_mode(DIR_MODE))?,
        // Another writer created it meanwhile: check it as above.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            if !fs::symlink_metadata(&dir)?.is_dir() {
                return Err(not_a_dir(&dir));
            }
        }
        Err(e) => return Err(e),
    }
    // Record the new shard in the root before any file in it counts as durable. Also when another
    // writer made it: that writer may not have synced the root yet.
    sync_dir(root)?;
    Ok(Some(dir))
}

fn not_a_dir(dir: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is not a directory (a symbolic link is not followed)",
        dir.display()
    ))
}

// ---- operations (run on the blocking pool) ----

fn load_file(root: &Path, key: &SessionKey) -> io::Result<Option<Record>> {
    let dir = match shard_dir(root, key, false) {
        Ok(Some(dir)) => dir,
        Ok(None) => return Ok(None),
        Err(e) => return unreadable(key, e),
    };
    let mut file = match open_nofollow(&dir.join(key.as_str()), false) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return unreadable(key, e),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return unreadable(key, e),
    };
    if !meta.is_file() {
        return unreadable(key, io::Error::other("not a regular file"));
    }
    let mut content = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    if let Err(e) = file.read_to_end(&mut content) {
        return unreadable(key, e);
    }
    let last_access = match meta.modified() {
        Ok(time) => time,
        Err(e) => return unreadable(key, e),
    };
    match decode(&content) {
        Ok(data) => Ok(Some(Record { data, last_access })),
        Err(why) => {
            tracing::warn!(
                key = key.short(),
                "corrupt session file treated as absent: {why}"
            );
            Ok(None)
        }
    }
}

/// A file that cannot be read counts as absent (and is logged), unless the process itself is out of
/// resources: then the caller must fail rather than hand out a fresh session for a valid one.
fn unreadable<T>(key: &SessionKey, e: io::Error) -> io::Result<Option<T>> {
    if matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
    ) {
        return Err(e);
    }
    tracing::warn!(key = key.short(), error = %e, "unreadable session file treated as absent");
    Ok(None)
}

/// How a write lands on its target.
#[derive(Clone, Copy)]
enum Landing {
    /// `rename(2)`: atomically replaces whatever is there.
    Replace,
    /// `link(2)`: fails if the target exists, so an existing session is never overwritten.
    CreateOnly,
}

/// Writes a complete file beside the target, then puts it in place; `false` if create-only found the key taken.
fn write_file(
    root: &Path,
    key: &SessionKey,
    content: &[u8],
    now: SystemTime,
    how: Landing,
) -> io::Result<bool> {
    let dir = shard_dir(root, key, true)?.ok_or_else(|| not_a_dir(root))?;
    let target = dir.join(key.as_str());
    if let Landing::CreateOnly = how {
        // Cheap early answer; the link below is what guarantees it.
        if fs::symlink_metadata(&target).is_ok() {
            return Ok(false);
        }
    }
    let temp = write_temp(&dir, content, now)?;
    let landed = match how {
        Landing::Replace => fs::rename(&temp, &target).map(|()| true),
        Landing::CreateOnly => match fs::hard_link(&temp, &target) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        },
    };
    // After a rename the temp name is already gone; after a link (or a failure) it must not linger.
    discard_temp(&temp, key);
    let landed = landed?;
    if landed {
        // The new name (and the temp's removal) on disk before the caller relies on it.
        sync_dir(&dir)?;
    }
    Ok(landed)
}

/// Replaces an existing session file only; `false`, and nothing left behind, if it is absent.
///
/// The new content is written to a temp file, which `swap` exchanges with the target in one step: if
/// the target was unlinked (a logout) before that step the exchange fails with `ENOENT`, and after it
/// a `remove` unlinks the new file, so a removed session is never recreated. The temp name then holds
/// the old record, which is unlinked. Where the filesystem cannot exchange, it checks and renames.
fn update_file(
    root: &Path,
    key: &SessionKey,
    content: &[u8],
    now: SystemTime,
    swap: impl Fn(&Path, &Path) -> rustix::io::Result<()>,
) -> io::Result<bool> {
    // No shard directory, no session; update never creates one.
    let Some(dir) = shard_dir(root, key, false)? else {
        return Ok(false);
    };
    let target = dir.join(key.as_str());
    // Cheap early answer (a symlink or a directory is no record, as for load); the exchange below is
    // what guarantees it.
    if !is_session_file(&target)? {
        return Ok(false);
    }
    let temp = write_temp(&dir, content, now)?;
    let updated = match swap(&temp, &target) {
        // The temp name now holds the old record; discard_temp unlinks it.
        Ok(()) => Ok(true),
        // Removed meanwhile: it stays removed.
        Err(e) if e == rustix::io::Errno::NOENT => Ok(false),
        Err(e) if exchange_unsupported(e) => {
            static LOGGED: std::sync::Once = std::sync::Once::new();
            LOGGED.call_once(|| {
                tracing::debug!(
                    dir = %dir.display(),
                    error = %e,
                    "the filesystem cannot exchange files (renameat2 RENAME_EXCHANGE): session \
                     updates check then rename, which is not atomic against a concurrent remove"
                );
            });
            // The trait's default behaviour, with its small window between the check and the rename.
            if is_session_file(&target)? {
                fs::rename(&temp, &target).map(|()| true)
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(e.into()),
    };
    discard_temp(&temp, key);
    let updated = updated?;
    if updated {
        // The new file in place and the old one gone, on disk, before the caller relies on it.
        sync_dir(&dir)?;
    }
    Ok(updated)
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: atomically swaps two existing names (`ENOENT` if one is missing).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> rustix::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
}

/// No exchange on this system: `update` checks then renames.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_: &Path, _: &Path) -> rustix::io::Result<()> {
    Err(rustix::io::Errno::NOSYS)
}

/// The errors by which a kernel or filesystem says it cannot exchange two names.
fn exchange_unsupported(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    // EPERM: seccomp sandboxes (containers) often refuse renameat2 that way.
    e == Errno::INVAL
        || e == Errno::NOSYS
        || e == Errno::OPNOTSUPP
        || e == Errno::NOTSUP
        || e == Errno::PERM
}

/// Whether a session file (a regular file, not followed through a symlink) exists at `path`.
fn is_session_file(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(meta.is_file()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `content` to a new temp file in `dir`, with mtime `now`, synced to disk; removed again on error.
fn write_temp(dir: &Path, content: &[u8], now: SystemTime) -> io::Result<PathBuf> {
    let (temp, mut file) = create_temp(dir, "")?;
    let written = (|| {
        file.write_all(content)?;
        // After the last write, or the write would move the mtime again.
        file.set_modified(now)?;
        // Durable before it becomes visible: a crash never leaves an empty or partial session.
        file.sync_all()
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

/// Removes a temp name after a write; already gone (renamed into place) is fine.
fn discard_temp(temp: &Path, key: &SessionKey) {
    match fs::remove_file(temp) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(key = key.short(), error = %e, "cannot remove temp session file"),
    }
}

/// `fsync(2)` on a directory, so that the names created, renamed or removed in it survive a power loss.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn touch_file(root: &Path, key: &SessionKey, now: SystemTime) -> io::Result<()> {
    let Some(dir) = shard_dir(root, key, false)? else {
        return Ok(());
    };
    let file = match open_nofollow(&dir.join(key.as_str()), true) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("session path is not a regular file"));
    }
    file.set_modified(now)
}

fn remove_file(root: &Path, key: &SessionKey) -> io::Result<()> {
    let Some(dir) = shard_dir(root, key, false)? else {
        return Ok(());
    };
    // unlink(2) removes a symlink itself, never its target.
    match fs::remove_file(dir.join(key.as_str())) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    // Also when it was already gone: another process's unlink may not be on disk yet. A logout is
    // durable once this returns.
    sync_dir(&dir)
}

/// Opens an existing file without following a symlink in its last component.
fn open_nofollow(path: &Path, write: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(!write)
        .write(write)
        // O_NONBLOCK: a FIFO planted in the tree must not hang the open; no effect on regular files.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Creates a new private temp file in `dir` (`O_EXCL | O_NOFOLLOW`, mode 0600).
fn create_temp(dir: &Path, tag: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for _ in 0..8 {
        // pid + counter is unique within a machine; the random part covers containers sharing a volume.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let r = OsRng.try_next_u64().unwrap_or(0);
        let path = dir.join(format!(
            "{TEMP_PREFIX}{tag}{:x}-{n:x}-{r:016x}",
            std::process::id()
        ));
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

// ---- purge ----

/// Walks the two-level tree with streaming `read_dir`, removing sessions last accessed before
/// `cutoff` and temp files whose ctime is before `temp_cutoff`; returns the number of sessions removed.
///
/// SECURITY-NOTES: Storage. Foreign names and non-files are skipped; files vanishing mid-walk (another
/// process purging or removing) are fine; any per-file error is logged and the walk goes on.
fn purge_tree(root: &Path, cutoff: SystemTime, temp_cutoff: SystemTime) -> io::Result<u64> {
    let mut removed = 0;
    for entry in fs::read_dir(root)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(error = %e, "session purge: cannot read the session directory");
                continue;
            }
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(TEMP_PREFIX) && entry.file_type().is_ok_and(|t| t.is_file()) {
            // A probe file left by a crash in `FileStore::new`.
            if let Err(e) = purge_temp(&entry.path(), temp_cutoff) {
                tracing::warn!(error = %e, "session purge: cannot remove a temp file");
            }
            continue;
        }
        if !is_shard_name(name) {
            continue;
        }
        // DirEntry::file_type does not follow symlinks: a symlinked shard is skipped.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        removed += purge_shard(&entry.path(), name, cutoff, temp_cutoff);
    }
    Ok(removed)
}

fn is_shard_name(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn purge_shard(dir: &Path, shard: &str, cutoff: SystemTime, temp_cutoff: SystemTime) -> u64 {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            if e.kind() != ErrorKind::NotFound {
                tracing::warn!(shard, error = %e, "session purge: cannot read shard directory");
            }
            return 0;
        }
    };
    let mut removed = 0;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(shard, error = %e, "session purge: cannot read shard directory");
                continue;
            }
        };
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(key) = SessionKey::parse(name).filter(|k| k.as_str().starts_with(shard)) {
            match purge_session(dir, &key, cutoff) {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(key = key.short(), error = %e, "session purge: cannot remove")
                }
            }
        } else if name.starts_with(TEMP_PREFIX) {
            if let Err(e) = purge_temp(&entry.path(), temp_cutoff) {
                tracing::warn!(shard, error = %e, "session purge: cannot remove a temp file");
            }
        }
    }
    removed
}

/// Removes one session file if it was last accessed before `cutoff`; `true` if it did.
///
/// The file is first renamed aside and checked again, so a session another process rewrote or touched
/// between the check and the removal is put back rather than lost.
fn purge_session(dir: &Path, key: &SessionKey, cutoff: SystemTime) -> io::Result<bool> {
    let path = dir.join(key.as_str());
    if !is_older(fs::symlink_metadata(&path), cutoff)? {
        return Ok(false);
    }
    // Reserve a unique name, then rename over it (rename cannot be create-only).
    let (aside, file) = create_temp(dir, "purge-")?;
    drop(file);
    if let Err(e) = fs::rename(&path, &aside) {
        let _ = fs::remove_file(&aside);
        return if e.kind() == ErrorKind::NotFound {
            Ok(false)
        } else {
            Err(e)
        };
    }
    let still_old = is_older(fs::symlink_metadata(&aside), cutoff);
    let mut restored = false;
    if !matches!(still_old, Ok(true)) {
        // A fresher session was swapped in meanwhile: put it back, unless a newer one exists by now.
        match fs::hard_link(&aside, &path) {
            Ok(()) => restored = true,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                // Keep the data under the temp name rather than lose it; report the failure.
                return Err(e);
            }
        }
    }
    fs::remove_file(&aside)?;
    // Removals are not synced (a purged session that comes back is still expired); a live session
    // put back is, as a store would be.
    if restored {
        sync_dir(dir)?;
    }
    Ok(matches!(still_old, Ok(true)))
}

/// Whether stat says "a file last modified before `cutoff`"; a vanished file is not old.
fn is_older(meta: io::Result<fs::Metadata>, cutoff: SystemTime) -> io::Result<bool> {
    match meta {
        Ok(meta) => Ok(meta.is_file() && meta.modified()? < cutoff),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a temp file left by a crashed write, judged by its ctime (which `set_modified` cannot move back).
fn purge_temp(path: &Path, temp_cutoff: SystemTime) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let changed = u64::try_from(meta.ctime())
        .ok()
        .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
    if changed.is_some_and(|t| t < temp_cutoff) {
        match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {
                tracing::debug!(path = %path.display(), "session purge: removed a stale temp file")
            }
        }
    }
    Ok(())
}

fn context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

#[cfg(test)]
mod tests;
