//! The purge walk: removes sessions last accessed before a cutoff, and temp files that no live
//! write can own any more, from the two-level tree, with streaming `read_dir`.
//!
//! It runs beside live requests and other processes sharing the directory, so it skips foreign
//! names and non-files, takes files vanishing mid-walk in its stride, logs any per-file error and
//! goes on (docs/security.md, Storage: Python Pesto's purge thread died on its first `OSError`),
//! and never loses a session that was written or touched while it was looking.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::fs::{create_temp, sync_dir, TEMP_PREFIX};
use crate::exchange::SessionKey;

/// The default of [`FileStore::stale_temp_after`](super::FileStore::stale_temp_after): a temp file
/// whose inode changed longer ago than this belongs to no live write; purge removes it.
pub(super) const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Purges the tree under `root` of the sessions last accessed before `cutoff`, and of stale temp
/// files (unchanged for `stale_temp`); returns the number of sessions removed.
pub(super) fn run(root: &Path, cutoff: SystemTime, stale_temp: Duration) -> io::Result<u64> {
    // Temp files age by the real clock (their ctime), whatever clock the middleware uses.
    let temp_cutoff = SystemTime::now()
        .checked_sub(stale_temp)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    purge_tree(root, cutoff, temp_cutoff)
}

/// Walks the two-level tree with streaming `read_dir`, removing sessions last accessed before
/// `cutoff` and temp files whose ctime is before `temp_cutoff`; returns the number of sessions removed.
///
/// Foreign names and non-files are skipped; files vanishing mid-walk (another process purging or
/// removing) are fine; any per-file error is logged and the walk goes on.
pub(super) fn purge_tree(
    root: &Path,
    cutoff: SystemTime,
    temp_cutoff: SystemTime,
) -> io::Result<u64> {
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

pub(super) fn is_shard_name(name: &str) -> bool {
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
