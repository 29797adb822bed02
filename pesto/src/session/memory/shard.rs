//! One shard of the memory store: its records behind one lock, either in one hash table
//! (unbounded) or as a segmented LRU (bounded; see [`MemoryStore`](super::MemoryStore) for why
//! two segments).
//!
//! The unbounded table holds one pointer per record, to the record's key, stamp and version
//! (one allocation) beside its data (another): about 160 bytes for a small session, against
//! some 290 when every store kept a linked LRU of hex-text keys (bench/load's `session_memory`).

use std::time::SystemTime;

use hashbrown::HashTable;
use lru::LruCache;

use super::key::{KeyHash, RawKey};
use crate::session::store::{Record, Version};

/// A session as the store keeps it.
pub(super) struct Entry {
    pub(super) data: Box<[u8]>,
    pub(super) last_access: SystemTime,
    pub(super) version: Version,
}

impl Entry {
    pub(super) fn new(data: &[u8], last_access: SystemTime, version: Version) -> Self {
        Entry {
            data: data.into(),
            last_access,
            version,
        }
    }

    /// A copy for the caller.
    pub(super) fn record(&self) -> Record {
        Record {
            data: self.data.to_vec(),
            last_access: self.last_access,
            version: self.version,
        }
    }
}

/// A bounded shard's share of the capacity.
#[derive(Clone, Copy)]
pub(super) struct Limit {
    /// Records the shard may hold.
    pub(super) total: usize,
    /// Records the protected segment may hold before its least recent one is demoted.
    pub(super) protected: usize,
}

/// An unbounded shard's record: its key with it, so that the table holds one thin pointer.
pub(super) struct Keyed {
    key: RawKey,
    entry: Entry,
}

/// One shard's records.
pub(super) enum Shard {
    /// [`MemoryStore::new`](super::MemoryStore::new): every record until the purge removes it.
    Unbounded(HashTable<Box<Keyed>>),
    /// [`MemoryStore::with_capacity`](super::MemoryStore::with_capacity): a segmented LRU.
    Bounded(Segmented),
}

/// A segmented LRU: both segments unbounded in themselves, `limit` enforced here.
pub(super) struct Segmented {
    probation: LruCache<RawKey, Entry, KeyHash>,
    protected: LruCache<RawKey, Entry, KeyHash>,
    limit: Limit,
}

impl Shard {
    pub(super) fn new(limit: Option<Limit>) -> Self {
        match limit {
            None => Shard::Unbounded(HashTable::new()),
            Some(limit) => Shard::Bounded(Segmented {
                probation: LruCache::unbounded_with_hasher(KeyHash),
                protected: LruCache::unbounded_with_hasher(KeyHash),
                limit,
            }),
        }
    }

    /// The share of the capacity, when bounded.
    #[cfg(test)]
    pub(super) fn limit(&self) -> Option<Limit> {
        match self {
            Shard::Unbounded(_) => None,
            Shard::Bounded(lru) => Some(lru.limit),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Shard::Unbounded(table) => table.len(),
            Shard::Bounded(lru) => lru.probation.len() + lru.protected.len(),
        }
    }

    #[cfg(test)]
    pub(super) fn contains(&self, key: &RawKey) -> bool {
        match self {
            Shard::Unbounded(table) => table.find(key.table_hash(), |k| k.key == *key).is_some(),
            Shard::Bounded(lru) => lru.protected.contains(key) || lru.probation.contains(key),
        }
    }

    /// Finds a record and marks it used (bounded: it becomes the most recent protected record).
    pub(super) fn access(&mut self, key: &RawKey) -> Option<&mut Entry> {
        match self {
            Shard::Unbounded(table) => table
                .find_mut(key.table_hash(), |k| k.key == *key)
                .map(|k| &mut k.entry),
            Shard::Bounded(lru) => lru.access(key),
        }
    }

    /// Adds the record `entry()` under `key` unless the key is taken; whether it was added.
    /// Unbounded, in one probe of the table: a store of many sessions misses the cache on
    /// each probe, and every new session comes here.
    pub(super) fn insert_if_absent(&mut self, key: RawKey, entry: impl FnOnce() -> Entry) -> bool {
        match self {
            Shard::Unbounded(table) => {
                match table.entry(key.table_hash(), |k| k.key == key, |k| k.key.table_hash()) {
                    hashbrown::hash_table::Entry::Occupied(_) => false,
                    hashbrown::hash_table::Entry::Vacant(slot) => {
                        slot.insert(Box::new(Keyed {
                            key,
                            entry: entry(),
                        }));
                        true
                    }
                }
            }
            Shard::Bounded(lru) => {
                if lru.protected.contains(&key) || lru.probation.contains(&key) {
                    return false;
                }
                lru.insert_new(key, entry());
                true
            }
        }
    }

    /// Adds a record that is not in the shard yet (bounded: on probation, evicting if over
    /// capacity).
    pub(super) fn insert_new(&mut self, key: RawKey, entry: Entry) {
        match self {
            Shard::Unbounded(table) => {
                table.insert_unique(key.table_hash(), Box::new(Keyed { key, entry }), |k| {
                    k.key.table_hash()
                });
            }
            Shard::Bounded(lru) => lru.insert_new(key, entry),
        }
    }

    pub(super) fn remove(&mut self, key: &RawKey) {
        match self {
            Shard::Unbounded(table) => {
                if let Ok(found) = table.find_entry(key.table_hash(), |k| k.key == *key) {
                    found.remove();
                }
            }
            Shard::Bounded(lru) => {
                lru.probation.pop(key);
                lru.protected.pop(key);
            }
        }
    }

    /// Removes the records last accessed before `cutoff`; returns how many.
    pub(super) fn purge(&mut self, cutoff: SystemTime) -> u64 {
        let before = self.len();
        match self {
            Shard::Unbounded(table) => table.retain(|k| k.entry.last_access >= cutoff),
            Shard::Bounded(lru) => {
                for segment in [&mut lru.probation, &mut lru.protected] {
                    let old: Vec<RawKey> = segment
                        .iter()
                        .filter(|(_, entry)| entry.last_access < cutoff)
                        .map(|(key, _)| *key)
                        .collect();
                    for key in &old {
                        segment.pop(key);
                    }
                }
            }
        }
        (before - self.len()) as u64
    }
}

impl Segmented {
    fn access(&mut self, key: &RawKey) -> Option<&mut Entry> {
        if let Some((k, entry)) = self.probation.pop_entry(key) {
            self.protected.push(k, entry);
            self.demote_overflow();
        }
        // With a protected share of zero (capacity 1) the record was demoted straight back.
        if self.protected.contains(key) {
            self.protected.get_mut(key)
        } else {
            self.probation.get_mut(key)
        }
    }

    fn insert_new(&mut self, key: RawKey, entry: Entry) {
        self.probation.push(key, entry);
        while self.probation.len() + self.protected.len() > self.limit.total {
            // The new record is the most recent probationary one and probation always keeps room
            // for at least one, so it is never the one evicted here.
            if self.probation.pop_lru().is_none() && self.protected.pop_lru().is_none() {
                break;
            }
        }
    }

    /// Moves the least recent protected records back to probation while the protected segment
    /// is over its share.
    fn demote_overflow(&mut self) {
        while self.protected.len() > self.limit.protected {
            match self.protected.pop_lru() {
                Some((k, entry)) => {
                    self.probation.push(k, entry);
                }
                None => break,
            }
        }
    }
}
