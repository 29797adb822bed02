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
use std::time::SystemTime;

use super::store::{Error, Lease, Record, Result, SessionStore};
use crate::exchange::SessionKey;

pub(crate) mod format;
mod fs;
mod ops;
mod purge;
#[cfg(test)]
mod tests;

use format::encode;
use fs::{check_root, context, exchange, sync_dir, DIR_MODE};
pub use ops::Durability;
use ops::{load_file, remove_file, shard_path, touch_file, update_file, write_file, Landing};

/// The directory created inside the one given to [`FileStore::new`] (Pesto's name).
const SESSION_DIR: &str = "_pesto_sessions";

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
/// Writes are atomic whatever the setting: a reader sees the old file or the new one, and a file a
/// crash left incomplete fails to decode and counts as absent. What survives a power loss, on a
/// filesystem that honours `fsync(2)`, is chosen with [`FileStore::durability`]:
/// - always: once [`remove`](SessionStore::remove) has returned `Ok`, the shard directory has been
///   fsynced, so a logout (or the old id after `cycle_id()`) is never undone by a crash;
/// - with [`Durability::Everything`] also: a new file's content and mtime are fsynced before it
///   becomes the session, and once [`store`](SessionStore::store), [`create`](SessionStore::create)
///   (when it returns `true`) or [`update`](SessionStore::update) (when it returns `true`) has
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
    durability: Durability,
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
            durability: Durability::default(),
        })
    }

    /// How much of a write reaches the disk before the store returns (default
    /// [`Durability::Removals`]: a logout is always on disk; see the type for the trade-off).
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
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
        let (content, durability) = (encode(data)?, self.durability);
        self.on_key(key, move |root, key| {
            write_file(
                root,
                key,
                &content,
                lease.now,
                Landing::CreateOnly,
                durability,
            )
        })
        .await
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        let (content, durability) = (encode(data)?, self.durability);
        self.on_key(key, move |root, key| {
            write_file(root, key, &content, lease.now, Landing::Replace, durability).map(|_| ())
        })
        .await
    }

    /// Atomic where the filesystem supports `renameat2(RENAME_EXCHANGE)`: the new file is swapped
    /// with the existing one, and the swap fails if a `remove` (of any process) got there first.
    async fn update(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        let (content, durability) = (encode(data)?, self.durability);
        self.on_key(key, move |root, key| {
            update_file(root, key, &content, lease.now, exchange, durability)
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
        blocking(move || purge::run(&root, cutoff)).await
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
