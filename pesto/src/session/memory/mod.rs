//! In-memory session store: sharded, optionally bounded with a scan-resistant LRU.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::store::{
    check_record_size, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
    DEFAULT_MAX_RECORD_SIZE,
};
use crate::exchange::SessionKey;

mod key;
mod shard;

use key::RawKey;
use shard::{Entry, Limit, Shard};

/// Number of shards: requests for different sessions rarely wait on the same lock.
const SHARDS: usize = 16;
/// A bounded store gets fewer shards when small, so that each shard still holds this many records
/// (eviction is least-recently-used per shard, so tiny shards would make it crude).
const MIN_PER_SHARD: usize = 32;
/// At least one record in this many of a bounded shard's capacity is kept for probationary
/// (new, not yet returned) sessions, so that logged-in users can fill the rest without being
/// pushed out by new ones.
const PROBATION_SHARE: usize = 5;

/// Sessions kept in this process's memory.
///
/// Data is lost when the process ends and is not shared between processes: use
/// [`FileStore`](super::FileStore) (or another shared backend) when several
/// worker processes serve one site.
///
/// [`new`](Self::new) is unbounded, relying on purge to drop idle sessions;
/// [`with_capacity`](Self::with_capacity) bounds it like Pesto's `cache_size`. The bounded store is
/// a segmented LRU (docs/security.md, "Storage": "a flood of anonymous sessions must not evict logged-in
/// users"): a session that was only created sits in a probationary segment; once it is loaded,
/// touched or stored again (its client came back) it moves to a protected segment. Eviction takes the
/// least recently used probationary session first, so a flood of one-shot sessions only pushes out
/// other one-shot sessions. (It raises the cost of an attack, since each flooding session would need
/// a second request; it is not a quota.)
///
/// Records are spread over shards by key, each behind its own short-held lock, so concurrent
/// requests do not serialize on one global lock. In bounded mode each shard holds its share of the
/// capacity, so the least recently used session is the one evicted within its shard, not necessarily
/// across the whole store; stores smaller than 64 use a single shard and are exact.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use pesto::session::{Lease, MemoryStore, SessionId, SessionStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::with_capacity(200);
/// let key = SessionId::generate()?.key().clone();
/// let lease = Lease { now: SystemTime::now(), ttl: Duration::from_secs(1800) };
/// assert!(store.create(&key, br#"{"user":"alice"}"#, lease).await?);
/// assert_eq!(store.load(&key).await?.map(|r| r.data), Some(br#"{"user":"alice"}"#.to_vec()));
/// # Ok::<(), pesto::session::Error>(())
/// # }).unwrap();
/// ```
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    capacity: Option<usize>,
    max_record_size: usize,
}

impl MemoryStore {
    /// An unbounded store: it grows until purge removes idle sessions.
    pub fn new() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::new(None))).collect();
        MemoryStore {
            shards,
            capacity: None,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }

    /// A store holding at most `capacity` sessions (a capacity of 0 is treated as 1).
    ///
    /// Pesto's default `cache_size` was 200.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let count = (capacity / MIN_PER_SHARD).clamp(1, SHARDS);
        let shards = (0..count)
            .map(|i| {
                // Spread the remainder so the shard capacities add up to exactly `capacity`.
                let total = capacity / count + usize::from(i < capacity % count);
                let reserve = (total / PROBATION_SHARE).max(1);
                Mutex::new(Shard::new(Some(Limit {
                    total,
                    protected: total - reserve,
                })))
            })
            .collect();
        MemoryStore {
            shards,
            capacity: Some(capacity),
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
        }
    }

    /// The largest record it accepts, in bytes (default
    /// [`DEFAULT_MAX_RECORD_SIZE`](super::DEFAULT_MAX_RECORD_SIZE)); a larger write fails with
    /// [`Error::TooLarge`](super::Error::TooLarge). With a capacity, the memory a full store can
    /// take is bounded by about `capacity × max_record_size`.
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// The capacity given to [`with_capacity`](Self::with_capacity), or `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// The number of sessions held.
    pub fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).len()).sum()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard of `key` (locked), and the key as the shard holds it.
    fn shard(&self, key: &SessionKey) -> (MutexGuard<'_, Shard>, RawKey) {
        let raw = RawKey::of(key);
        (self.lock(raw.shard(self.shards.len())), raw)
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding a shard cannot leave the maps half-updated in a way that matters
        // (at worst one record sits in the wrong segment), so keep serving rather than fail forever.
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the records: they hold user data.
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .field("max_record_size", &self.max_record_size)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let (mut shard, key) = self.shard(key);
        Ok(shard.access(&key).map(|entry| entry.record()))
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        check_record_size(data, self.max_record_size)?;
        let (mut shard, key) = self.shard(key);
        Ok(shard.insert_if_absent(key, || Entry::new(data, lease.now, Version::FIRST)))
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        check_record_size(data, self.max_record_size)?;
        let (mut shard, key) = self.shard(key);
        match shard.access(&key) {
            Some(entry) => *entry = Entry::new(data, lease.now, entry.version.next()),
            None => shard.insert_new(key, Entry::new(data, lease.now, Version::FIRST)),
        }
        Ok(())
    }

    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome> {
        check_record_size(data, self.max_record_size)?;
        // Under the shard's lock: the comparison and the write are one step, and requests of
        // sessions in other shards never wait for it.
        let (mut shard, key) = self.shard(key);
        Ok(match shard.access(&key) {
            Some(entry) if entry.version == expected => {
                *entry = Entry::new(data, lease.now, expected.next());
                UpdateOutcome::Written
            }
            Some(_) => UpdateOutcome::Conflict,
            None => UpdateOutcome::Absent,
        })
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        let (mut shard, key) = self.shard(key);
        if let Some(entry) = shard.access(&key) {
            entry.last_access = lease.now;
        }
        Ok(())
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        let (mut shard, key) = self.shard(key);
        shard.remove(&key);
        Ok(())
    }

    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        // One shard at a time, so requests for sessions in other shards go on meanwhile.
        Ok((0..self.shards.len())
            .map(|i| self.lock(i).purge(cutoff))
            .sum())
    }

    /// Only its own writes fill it, so a record it loads is never over the limit.
    fn max_record_size(&self) -> usize {
        self.max_record_size
    }
}

#[cfg(test)]
pub(super) mod tests;
