//! The optional cap on the number of records ([`FileStore::with_max_records`](super::FileStore::with_max_records)).
//!
//! A flood of first visits in eager mode makes one file each (50,657 files, 209 MB, in a 20 s
//! attack run). The cap refuses *new* records once the store holds `max` of them, and never
//! removes one: logged-in and recently written sessions are never evicted to make room
//! (docs/security.md, "Storage").
//!
//! Counting files on every create would cost a directory walk per new visitor, so the count is
//! this process's: the files found by a walk (on first use, and after every purge), plus this
//! process's creates, minus its removals. Processes sharing a directory each keep their own count,
//! which every purge brings back to the truth.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::purge::is_shard_name;
use crate::exchange::SessionKey;

/// The most records a store takes, and how many it holds as far as this process knows.
#[derive(Debug)]
pub(super) struct RecordCap {
    max: u64,
    /// Set by the first walk; `None` until then.
    count: OnceLock<AtomicU64>,
}

impl RecordCap {
    pub(super) fn new(max: u64) -> Self {
        RecordCap {
            max,
            count: OnceLock::new(),
        }
    }

    pub(super) fn max(&self) -> u64 {
        self.max
    }

    /// Whether the first walk has counted the tree (until then, [`RecordCap::reserve`] walks it).
    pub(super) fn is_counted(&self) -> bool {
        self.count.get().is_some()
    }

    /// Takes a place for a new record, in one atomic step so that concurrent creates cannot all
    /// pass a check and overshoot; `false` when the store is full. Walks the tree on first use
    /// (call on the blocking pool). A place not used ([`RecordCap::release`]) is given back.
    pub(super) fn reserve(&self, root: &Path) -> bool {
        self.counter(root)
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a place that [`RecordCap::reserve`] took for a create that wrote nothing, or
    /// counts a record this process removed.
    pub(super) fn release(&self, root: &Path) {
        let counter = self.counter(root);
        // Saturating: another process's record removed by this one was never counted up here.
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Brings the count back to what a fresh walk finds (after a purge), keeping the creates and
    /// removals this process made while the walk ran.
    pub(super) fn recount(&self, root: &Path) {
        let counter = self.counter(root);
        let before = counter.load(Ordering::Relaxed);
        let found = count_records(root);
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
            // `now - before` is what changed during the walk (it may be negative).
            Some(found.saturating_add(now).saturating_sub(before))
        });
    }

    fn counter(&self, root: &Path) -> &AtomicU64 {
        self.count
            .get_or_init(|| AtomicU64::new(count_records(root)))
    }
}

/// The session files under `root` (files named by a key, in their shard); unreadable parts of the
/// tree count as empty.
pub(super) fn count_records(root: &Path) -> u64 {
    let Ok(shards) = fs::read_dir(root) else {
        return 0;
    };
    shards
        .flatten()
        .filter(|shard| shard.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|shard| {
            let name = shard.file_name().to_str()?.to_owned();
            is_shard_name(&name).then(|| count_shard(&shard.path(), &name))
        })
        .sum()
}

fn count_shard(dir: &Path, shard: &str) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let is_record = |entry: &fs::DirEntry| -> io::Result<bool> {
        let name = entry.file_name();
        let key = name.to_str().and_then(SessionKey::parse);
        Ok(entry.file_type()?.is_file() && key.is_some_and(|k| k.as_str().starts_with(shard)))
    };
    entries
        .flatten()
        .filter(|entry| is_record(entry).unwrap_or(false))
        .count() as u64
}
