//! The operations on one session's file, synchronous, run on the blocking pool: where the file
//! lives (its shard directory), and load, write (create-only or replace), update, touch and remove.
//!
//! `update` is a compare-and-swap: under an exclusive `flock(2)` on the shard directory (held by
//! writers of every process sharing the tree, for one read and one rename) it reads the current
//! version, and only if it is the expected one swaps the new file with the existing one in a
//! single `renameat2(RENAME_EXCHANGE)`. The exchange fails if the target is gone, so a request
//! that began before a logout (a `remove`, which takes no lock, from this process or another)
//! cannot bring the session back (docs/security.md, Session lifecycle; rack-session
//! CVE-2025-46336).
//!
//! Durability (see [`Durability`]): a remove always fsyncs the directory before it returns, so a
//! power loss never undoes a logout. With [`Durability::Everything`], a file's content and mtime
//! are also fsynced before the file becomes visible, and the directory after a write or an update
//! (and `_pesto_sessions` after a new shard directory is made), so a power loss after one of them
//! returned loses no login either. Without it, a write is still atomic (a reader sees the old file
//! or the new one), and a file a crash left incomplete fails to decode and counts as absent.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, ErrorKind, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::format::{decode, frame};
use super::fs::{
    exchange_unsupported, is_session_file, lock_dir, not_a_dir, open_nofollow, sync_dir,
    write_temp, DIR_MODE,
};
use super::shards::KnownShards;
use crate::exchange::SessionKey;
use crate::session::store::{Record, UpdateOutcome, Version};

/// The shard directory of a key, `<root>/<first 2 chars of key>`, whether it exists or not.
pub(super) fn shard_path(root: &Path, key: &SessionKey) -> PathBuf {
    root.join(key.as_str().get(..2).unwrap_or_default())
}

/// How much of a write reaches the disk before the store returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Removals (a logout, the old id after `cycle_id()`) are fsynced; new and changed sessions
    /// are written atomically but not fsynced, so a crash or power loss may lose the last seconds
    /// of them — at worst a re-login — but never undoes a logout or leaves a torn record. Python
    /// Pesto, Django and PHP do not fsync session files at all. The default.
    #[default]
    Removals,
    /// Every write is fsynced, content and directory, before the store returns.
    Everything,
}

impl Durability {
    pub(super) fn syncs_writes(self) -> bool {
        self == Durability::Everything
    }
}

/// The shard directory for a key, `None` if it does not exist; refuses anything but a real
/// directory, and records one it found (or made) in `known`.
fn shard_dir(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    create: bool,
) -> io::Result<Option<PathBuf>> {
    let dir = shard_path(root, key);
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => {
            known.insert(key);
            return Ok(Some(dir));
        }
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
    known.insert(key);
    Ok(Some(dir))
}

/// The shard directory to read a key's file from: without a `stat` once `known` holds it (see
/// [`KnownShards`] for why that is safe), else as [`shard_dir`] finds it.
fn shard_dir_to_read(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
) -> io::Result<Option<PathBuf>> {
    if known.contains(key) {
        return Ok(Some(shard_path(root, key)));
    }
    shard_dir(root, known, key, false)
}

/// Loads a session file of at most `max_content` bytes; a larger one is logged and treated as
/// absent, and no more than `max_content + 1` bytes of it are ever read.
pub(super) fn load_file(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    max_content: u64,
) -> io::Result<Option<Record>> {
    let dir = match shard_dir_to_read(root, known, key) {
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
    if meta.len() > max_content {
        return oversized(key, meta.len(), max_content);
    }
    // A session file never changes once in place (every write makes a new file and renames it),
    // so one read asking for a byte more than `metadata` reported gets it whole — a short read of
    // a regular file is its end — and no more than `max_content + 1` bytes are ever read.
    let Some(buffer) = usize::try_from(meta.len())
        .ok()
        .and_then(|size| size.checked_add(1))
    else {
        return oversized(key, meta.len(), max_content);
    };
    let mut content = vec![0; buffer];
    let read = loop {
        match file.read(&mut content) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            read => break read,
        }
    };
    match read {
        Ok(n) => content.truncate(n),
        Err(e) => return unreadable(key, e),
    }
    if content.len() as u64 > max_content {
        return oversized(key, content.len() as u64, max_content);
    }
    let last_access = match meta.modified() {
        Ok(time) => time,
        Err(e) => return unreadable(key, e),
    };
    match decode(&content) {
        Ok((data, version)) => Ok(Some(Record {
            data,
            last_access,
            version,
        })),
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

/// A file over the size limit counts as absent (docs/security.md, "Storage": a planted huge
/// record must not make every request that presents its id read it).
fn oversized<T>(key: &SessionKey, size: u64, limit: u64) -> io::Result<Option<T>> {
    tracing::warn!(
        key = key.short(),
        size,
        limit,
        "oversized session file treated as absent"
    );
    Ok(None)
}

/// How a write lands on its target.
#[derive(Clone, Copy)]
pub(super) enum Landing {
    /// `rename(2)`: atomically replaces whatever is there.
    Replace,
    /// `link(2)`: fails if the target exists, so an existing session is never overwritten.
    CreateOnly,
}

/// Writes a complete file beside the target, then puts it in place; `false` if create-only found the key taken.
pub(super) fn write_file(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    content: &[u8],
    now: SystemTime,
    how: Landing,
    durability: Durability,
) -> io::Result<bool> {
    let dir = shard_dir(root, known, key, true)?.ok_or_else(|| not_a_dir(root))?;
    // No look before a create-only write: it is for a new id, 256 random bits that no file
    // holds, and the link below refuses an existing name anyway (the temp file is then dropped).
    let target = dir.join(key.as_str());
    let temp = write_temp(&dir, content, now, durability.syncs_writes())?;
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
    if landed && durability.syncs_writes() {
        // The new name (and the temp's removal) on disk before the caller relies on it.
        sync_dir(&dir)?;
    }
    Ok(landed)
}

/// How a data write is made: the record's new last access, what is synced, and the largest file
/// a load reads (for the version check).
#[derive(Clone, Copy)]
pub(super) struct WriteOptions {
    pub(super) now: SystemTime,
    pub(super) durability: Durability,
    pub(super) max_content: u64,
}

/// Creates or replaces a session file with `data` (checked JSON), at the version after the one it
/// replaces, or [`Version::FIRST`]. Under the shard lock, so that no update's compare-and-swap
/// runs between the read of the old version and the rename.
pub(super) fn store_file(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    data: &[u8],
    options: WriteOptions,
) -> io::Result<()> {
    let dir = shard_dir(root, known, key, true)?.ok_or_else(|| not_a_dir(root))?;
    let _lock = lock_dir(&dir)?;
    let version = match load_file(root, known, key, options.max_content)? {
        Some(record) => record.version.next(),
        None => Version::FIRST,
    };
    let content = frame(data, version);
    write_file(
        root,
        known,
        key,
        &content,
        options.now,
        Landing::Replace,
        options.durability,
    )
    .map(drop)
}

/// Replaces an existing session file of version `expected` only (compare-and-swap): `Absent`, and
/// nothing left behind, if the file is gone, `Conflict` if it holds another version.
///
/// The version is read and the file replaced under the shard directory's lock, which every
/// writer of the tree takes, so no other write lands in between. The new content is written to a
/// temp file, which `swap` exchanges with the target in one step: if the target was unlinked (a
/// logout, which takes no lock) before that step the exchange fails with `ENOENT`, and after it a
/// `remove` unlinks the new file, so a removed session is never recreated. The temp name then holds
/// the old record, which is unlinked. Where the filesystem cannot exchange, it checks and renames.
pub(super) fn update_file(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    data: &[u8],
    expected: Version,
    options: WriteOptions,
    swap: impl Fn(&Path, &Path) -> rustix::io::Result<()>,
) -> io::Result<UpdateOutcome> {
    // No shard directory, no session; update never creates one.
    let Some(dir) = shard_dir(root, known, key, false)? else {
        return Ok(UpdateOutcome::Absent);
    };
    let target = dir.join(key.as_str());
    let _lock = lock_dir(&dir)?;
    // A symlink, a directory or a corrupt file is no record, as for load.
    match load_file(root, known, key, options.max_content)? {
        None => return Ok(UpdateOutcome::Absent),
        Some(record) if record.version != expected => return Ok(UpdateOutcome::Conflict),
        Some(_) => {}
    }
    let content = frame(data, expected.next());
    let sync = options.durability.syncs_writes();
    let temp = write_temp(&dir, &content, options.now, sync)?;
    let updated = match swap(&temp, &target) {
        // The temp name now holds the old record; discard_temp unlinks it.
        Ok(()) => Ok(UpdateOutcome::Written),
        // Removed meanwhile: it stays removed.
        Err(e) if e == rustix::io::Errno::NOENT => Ok(UpdateOutcome::Absent),
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
            // Still atomic against other writers (the lock), not against a concurrent remove.
            if is_session_file(&target)? {
                fs::rename(&temp, &target).map(|()| UpdateOutcome::Written)
            } else {
                Ok(UpdateOutcome::Absent)
            }
        }
        Err(e) => Err(e.into()),
    };
    discard_temp(&temp, key);
    let updated = updated?;
    if updated == UpdateOutcome::Written && sync {
        // The new file in place and the old one gone, on disk, before the caller relies on it.
        sync_dir(&dir)?;
    }
    Ok(updated)
}

/// Removes a temp name after a write; already gone (renamed into place) is fine.
fn discard_temp(temp: &Path, key: &SessionKey) {
    match fs::remove_file(temp) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(key = key.short(), error = %e, "cannot remove temp session file"),
    }
}

pub(super) fn touch_file(
    root: &Path,
    known: &KnownShards,
    key: &SessionKey,
    now: SystemTime,
) -> io::Result<()> {
    let Some(dir) = shard_dir_to_read(root, known, key)? else {
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

/// Removes a session's file; `true` if this call removed one (`false`: it was already gone).
pub(super) fn remove_file(root: &Path, known: &KnownShards, key: &SessionKey) -> io::Result<bool> {
    let Some(dir) = shard_dir(root, known, key, false)? else {
        return Ok(false);
    };
    // unlink(2) removes a symlink itself, never its target.
    let removed = match fs::remove_file(dir.join(key.as_str())) {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    // Also when it was already gone: another process's unlink may not be on disk yet. A logout is
    // durable once this returns.
    sync_dir(&dir)?;
    Ok(removed)
}
