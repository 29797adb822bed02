//! File session store: one JSON file per session, written atomically, shareable between processes.
//!
//! Layout (Pesto's, with the hashed key as the name): `<dir>/_pesto_sessions/<first 2 chars of key>/<key>`.
//! A file's mtime is the session's last access.
//!
//! This file is the store's async face: the [`FileStore`] type, its constructor and the
//! [`SessionStore`] impl, which hands every operation to tokio's blocking pool. The rest:
//! - `format.rs`: what a file holds (versioned JSON);
//! - `ops.rs`: the operations on one session's file, and why `update` cannot undo a logout;
//! - `fs.rs`: the crash-safe filesystem primitives and the session directory check;
//! - `purge.rs`: the walk that removes expired sessions and stale temp files.

use std::fs::DirBuilder;
use std::io::{self, ErrorKind};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::store::{
    check_record_size, Error, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
    DEFAULT_MAX_RECORD_SIZE,
};
use crate::exchange::SessionKey;

mod cap;
pub(crate) mod format;
mod fs;
mod ops;
mod purge;
mod shards;
#[cfg(test)]
mod tests;

use cap::RecordCap;
use format::{check_json, frame, OVERHEAD};
use fs::{check_root, context, exchange, sync_dir, DIR_MODE};
pub use ops::Durability;
use ops::{
    load_file, remove_file, shard_path, store_file, touch_file, update_file, write_file, Landing,
    WriteOptions,
};
use shards::KnownShards;

/// The directory created inside the one given to [`FileStore::new`] (Pesto's name).
const SESSION_DIR: &str = "_pesto_sessions";

/// Sessions stored as files under a directory, usable by several processes of the same user.
///
/// Every session is one file, `<dir>/_pesto_sessions/<k[..2]>/<k>` where `k` is the session's
/// [`SessionKey`] (a SHA-256 of the id, so a leaked directory yields no usable cookie). Writes are
/// atomic; the file's mtime is the last access, so [`touch`](SessionStore::touch) only changes the
/// mtime. A corrupt, unreadable or foreign file is logged and treated as absent.
///
/// Reading a session, touching it, and writing one that needs no `fsync` (the default
/// [`Durability::Removals`], into a shard directory that exists) run on the async worker thread:
/// each is a handful of system calls on one small file, quicker than handing it to tokio's
/// blocking thread pool and back. Everything that syncs (removals, [`Durability::Everything`], a
/// new shard directory) and the purge run on the blocking pool. On a network filesystem, where any
/// call can wait for a round trip, put all of it on the pool with
/// [`inline_io(false)`](Self::inline_io).
///
/// # Durability
///
/// Writes are atomic whatever the setting: a reader sees the old file or the new one, and a file a
/// crash left incomplete fails to decode and counts as absent. What survives a power loss, on a
/// filesystem that honours `fsync(2)`, is chosen with [`FileStore::durability`]:
/// - always: once [`remove`](SessionStore::remove) has returned `Ok`, the shard directory has been
///   fsynced, so a logout (or the old id after `cycle_id()`) is never undone by a crash;
/// - with [`Durability::Everything`] also: a new file's content and mtime are fsynced before it
///   becomes the session, and once [`store`](SessionStore::store), [`create`](SessionStore::create)
///   (when it returns `true`) or [`update`](SessionStore::update) (when it returns `Written`) has
///   returned `Ok` the shard directory has been fsynced; a shard directory made for the write has
///   been recorded in `_pesto_sessions` the same way, and `_pesto_sessions` itself in its parent
///   when [`new`](Self::new) made it (the parents of that directory are not synced);
/// - by default ([`Durability::Removals`]) a crash may lose the last seconds of new and changed
///   sessions, which costs those users a new login — the choice of Python Pesto, Django and PHP,
///   which never fsync session files;
/// - never synced: [`touch`](SessionStore::touch) (a lost mtime only makes a session look older)
///   and [`purge`](SessionStore::purge)'s removals (a purged session that comes back is still
///   expired and is purged again).
///
/// The setting matters only when the machine goes down (power loss, kernel panic). When only the
/// process dies (a crash, `SIGKILL`, the OOM killer), the kernel keeps everything written, so every
/// write that returned is there with either setting, and an interrupted write leaves at most a temp
/// file, which [`purge`](SessionStore::purge) removes once it is older than
/// [`stale_temp_after`](Self::stale_temp_after). `tests/file_store_crash.rs` checks this under load.
///
/// # Requirements
///
/// The filesystem must support hard links (create-only writes rely on `link(2)` failing when the
/// target exists) and `flock(2)` (writers serialize on the shard directory; where the lock does not
/// reach other hosts, processes on different hosts sharing one tree can lose an update).
/// [`update`](SessionStore::update) is atomic against a `remove` where `renameat2(RENAME_EXCHANGE)`
/// is supported (Linux on the common local filesystems: ext4, xfs, btrfs, tmpfs, f2fs; APFS through
/// `RENAME_SWAP` on macOS). Where it is not (NFS, other systems) `update` checks that the file exists
/// and then renames over it, which leaves a small window in which a
/// concurrent `remove` can be undone; this is logged once at debug level. Surrounding whitespace of
/// the stored JSON is not preserved.
#[derive(Debug, Clone)]
pub struct FileStore {
    /// `<dir>/_pesto_sessions`.
    root: Arc<Path>,
    /// The shard directories seen to be real directories, so reads skip checking them again.
    shards: Arc<KnownShards>,
    /// Whether unsynced single-file I/O runs on the calling worker thread.
    inline_io: bool,
    durability: Durability,
    max_record_size: usize,
    cap: Option<Arc<RecordCap>>,
    /// How old a temp file must be for purge to remove it.
    stale_temp: Duration,
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
            shards: Arc::default(),
            inline_io: true,
            durability: Durability::default(),
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            cap: None,
            stale_temp: purge::STALE_TEMP,
        })
    }

    /// How much of a write reaches the disk before the store returns (default
    /// [`Durability::Removals`]: a logout is always on disk; see the type for the trade-off).
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Whether reads, touches and unsynced writes of one session file run on the async worker
    /// thread that asks for them (default `true`): on a local filesystem they take microseconds,
    /// less than a hand-off to tokio's blocking thread pool. Set `false` when the directory is on a
    /// network filesystem (NFS, SMB), where a call can stall a worker for a round trip or a
    /// server timeout; then all file I/O runs on the blocking pool. Whatever syncs to disk runs
    /// there either way.
    #[must_use]
    pub fn inline_io(mut self, inline: bool) -> Self {
        self.inline_io = inline;
        self
    }

    /// The largest record it writes or loads, in bytes (default
    /// [`DEFAULT_MAX_RECORD_SIZE`]). A larger write fails with [`Error::TooLarge`]; a larger file
    /// (put there by something else) is logged and treated as absent after reading at most one
    /// byte past the limit.
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// Caps the number of sessions: once the store holds `max`, [`create`](SessionStore::create)
    /// refuses new ones with [`Error::Full`] (the middleware then serves a first visit without a
    /// session, and answers 503 to a request that would store data, such as a login). No session
    /// is ever evicted to make room, so a flood of first visits cannot log anyone out; the purge
    /// makes room again. The count is this process's view (see docs/security.md, "Storage"): the
    /// files found at first use and after each purge, plus its own creates, minus its removals.
    /// Default: no cap.
    #[must_use]
    pub fn with_max_records(mut self, max: u64) -> Self {
        self.cap = Some(Arc::new(RecordCap::new(max)));
        self
    }

    /// How long a temp file may go unchanged before [`purge`](SessionStore::purge) takes it for
    /// the leftover of a write that a crash interrupted and removes it (default 1 hour).
    ///
    /// A write holds its temp file for milliseconds, so the default is generous, for a directory
    /// shared by processes on a busy disk; lower it to reclaim a crash's leftovers sooner, but not
    /// below the longest a write may stall. A purge that removes the temp file of a write still in
    /// progress makes that write fail (or an update not happen), and the session keeps its former
    /// state; if the temp file held a session that another process's purge had set aside to check,
    /// that session is lost as though idle. `Duration::ZERO` removes every temp file: use it only
    /// when no other process uses the directory, e.g. to clean up after a crash before serving
    /// again. Temp files age by the real clock (their ctime, in whole seconds), whatever clock the
    /// middleware uses.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use pesto::session::{FileStore, SessionStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let dir = tempfile::tempdir()?;
    /// // After a crash, with no other process on the directory: remove every leftover temp file
    /// // (a cutoff at the epoch purges no session).
    /// let store = FileStore::new(dir.path())?.stale_temp_after(Duration::ZERO);
    /// assert_eq!(store.purge(SystemTime::UNIX_EPOCH).await?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn stale_temp_after(mut self, age: Duration) -> Self {
        self.stale_temp = age;
        self
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
    /// Refuses data over the size limit or that is not JSON, which the file format embeds as is.
    fn check(&self, data: &[u8]) -> Result<()> {
        check_record_size(data, self.max_record_size)?;
        check_json(data)
    }

    /// The largest file content a load reads: the record size limit and the format's frame.
    fn max_content(&self) -> u64 {
        (self.max_record_size as u64).saturating_add(OVERHEAD)
    }

    /// How a write at `lease` is made.
    fn write_options(&self, lease: Lease) -> WriteOptions {
        WriteOptions {
            now: lease.now,
            durability: self.durability,
            max_content: self.max_content(),
        }
    }

    /// Whether a write of `key` may run on the worker thread: it syncs nothing, and its shard
    /// directory exists (making one syncs the root).
    fn writes_inline(&self, key: &SessionKey) -> bool {
        self.inline_io && !self.durability.syncs_writes() && self.shards.contains(key)
    }

    /// Runs `op` for `key` right here when `inline`, else on the blocking pool.
    async fn on_key<T, F>(&self, key: &SessionKey, inline: bool, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path, &KnownShards, &SessionKey) -> io::Result<T> + Send + 'static,
    {
        if inline {
            return op(&self.root, &self.shards, key).map_err(Error::Io);
        }
        let (root, shards, key) = (
            Arc::clone(&self.root),
            Arc::clone(&self.shards),
            key.clone(),
        );
        blocking(move || op(&root, &shards, &key)).await
    }
}

#[async_trait::async_trait]
impl SessionStore for FileStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let max_content = self.max_content();
        self.on_key(key, self.inline_io, move |root, known, key| {
            load_file(root, known, key, max_content)
        })
        .await
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        self.check(data)?;
        let (content, durability) = (frame(data, Version::FIRST), self.durability);
        let cap = self.cap.clone();
        // The cap's first count walks the whole tree: not on a worker thread.
        let inline = self.writes_inline(key) && cap.as_ref().is_none_or(|cap| cap.is_counted());
        let created = self
            .on_key(key, inline, move |root, known, key| {
                if cap.as_ref().is_some_and(|cap| !cap.reserve(root)) {
                    return Ok(None);
                }
                let how = Landing::CreateOnly;
                let landed = write_file(root, known, key, &content, lease.now, how, durability);
                if let (Some(cap), false) = (&cap, matches!(landed, Ok(true))) {
                    cap.release(root);
                }
                landed.map(Some)
            })
            .await?;
        created.ok_or_else(|| Error::Full {
            limit: self.cap.as_ref().map_or(0, |cap| cap.max()),
        })
    }

    /// Not counted against [`with_max_records`](Self::with_max_records): `store` is the
    /// administrative overwrite (seeding in tests), never a visitor's new session.
    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        self.check(data)?;
        let (data, options) = (data.to_vec(), self.write_options(lease));
        self.on_key(key, self.writes_inline(key), move |root, known, key| {
            store_file(root, known, key, &data, options)
        })
        .await
    }

    /// A compare-and-swap under the shard directory's `flock(2)`, shared by every process on the
    /// tree; atomic against a `remove` too where the filesystem supports
    /// `renameat2(RENAME_EXCHANGE)`: the new file is swapped with the existing one, and the swap
    /// fails if a `remove` (of any process) got there first.
    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome> {
        self.check(data)?;
        let (data, options) = (data.to_vec(), self.write_options(lease));
        self.on_key(key, self.writes_inline(key), move |root, known, key| {
            update_file(root, known, key, &data, expected, options, exchange)
        })
        .await
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        self.on_key(key, self.inline_io, move |root, known, key| {
            touch_file(root, known, key, lease.now)
        })
        .await
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        let cap = self.cap.clone();
        // Always synced (a logout must survive a power loss), so never on a worker thread.
        self.on_key(key, false, move |root, known, key| {
            if remove_file(root, known, key)? {
                if let Some(cap) = &cap {
                    cap.release(root);
                }
            }
            Ok(())
        })
        .await
    }

    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        let (root, cap, stale_temp) = (self.root.clone(), self.cap.clone(), self.stale_temp);
        blocking(move || {
            let removed = purge::run(&root, cutoff, stale_temp)?;
            if let Some(cap) = cap {
                cap.recount(&root);
            }
            Ok(removed)
        })
        .await
    }

    fn max_record_size(&self) -> usize {
        self.max_record_size
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
