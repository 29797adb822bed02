//! In-memory session store: sharded, optionally bounded with a scan-resistant LRU.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use lru::LruCache;

use super::store::{
    check_record_size, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
    DEFAULT_MAX_RECORD_SIZE,
};
use crate::exchange::SessionKey;

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

    fn shard(&self, key: &SessionKey) -> MutexGuard<'_, Shard> {
        // Keys are SHA-256 hashes, so their leading hex digits are uniformly spread.
        let prefix = key.as_str().get(..4).unwrap_or_default();
        let n = usize::from(u16::from_str_radix(prefix, 16).unwrap_or(0));
        self.lock(n % self.shards.len())
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
        let mut shard = self.shard(key);
        Ok(shard.access(key).map(|entry| Record {
            data: entry.data.clone(),
            last_access: entry.last_access,
            version: entry.version,
        }))
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        check_record_size(data, self.max_record_size)?;
        let mut shard = self.shard(key);
        if shard.contains(key) {
            return Ok(false);
        }
        shard.insert_new(key.clone(), Entry::new(data, lease.now, Version::FIRST));
        Ok(true)
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        check_record_size(data, self.max_record_size)?;
        let mut shard = self.shard(key);
        match shard.access(key) {
            Some(entry) => *entry = Entry::new(data, lease.now, entry.version.next()),
            None => shard.insert_new(key.clone(), Entry::new(data, lease.now, Version::FIRST)),
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
        Ok(match self.shard(key).access(key) {
            Some(entry) if entry.version == expected => {
                *entry = Entry::new(data, lease.now, expected.next());
                UpdateOutcome::Written
            }
            Some(_) => UpdateOutcome::Conflict,
            None => UpdateOutcome::Absent,
        })
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        if let Some(entry) = self.shard(key).access(key) {
            entry.last_access = lease.now;
        }
        Ok(())
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        self.shard(key).remove(key);
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

struct Entry {
    data: Vec<u8>,
    last_access: SystemTime,
    version: Version,
}

impl Entry {
    fn new(data: &[u8], last_access: SystemTime, version: Version) -> Self {
        Entry {
            data: data.to_vec(),
            last_access,
            version,
        }
    }
}

#[derive(Clone, Copy)]
struct Limit {
    /// Records the shard may hold.
    total: usize,
    /// Records the protected segment may hold before its least recent one is demoted.
    protected: usize,
}

/// One shard: a segmented LRU (both segments unbounded in themselves; `limit` is enforced here).
struct Shard {
    probation: LruCache<SessionKey, Entry, KeyHash>,
    protected: LruCache<SessionKey, Entry, KeyHash>,
    limit: Option<Limit>,
}

/// Hashes a [`SessionKey`] by its own digits. A key is already a SHA-256, uniformly spread, so
/// running SipHash over its 64 characters again (three times per lookup in the two segments)
/// buys nothing; and no client chooses what is inserted (keys of server-drawn ids only), so no
/// flood of colliding entries can be built. Digits 5 to 20 are taken (the first four pick the
/// shard), and a multiply spreads their 64 bits of entropy over the whole hash.
#[derive(Clone, Copy, Default)]
struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyDigits;
    fn build_hasher(&self) -> KeyDigits {
        KeyDigits(None)
    }
}

/// The [`KeyHash`] hasher: a mix of the first write's digits 5 to 20.
struct KeyDigits(Option<u64>);

impl Hasher for KeyDigits {
    fn write(&mut self, bytes: &[u8]) {
        // `str`'s `Hash` writes the text, then one `0xff` byte (`write_u8`): only the text counts.
        if self.0.is_some() {
            return;
        }
        let word = |at: usize| {
            let mut word = [0u8; 8];
            if let Some(digits) = bytes.get(at..at + 8) {
                word.copy_from_slice(digits);
            }
            u64::from_le_bytes(word)
        };
        // Each hex digit's byte holds its 4 bits of entropy in its low half; 16 of them fill 64.
        let mixed = (word(4) ^ word(12).rotate_left(4)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = Some(mixed ^ (mixed >> 29));
    }

    fn write_u8(&mut self, _separator: u8) {}

    fn finish(&self) -> u64 {
        self.0.unwrap_or(0)
    }
}

impl Shard {
    fn new(limit: Option<Limit>) -> Self {
        Shard {
            probation: LruCache::unbounded_with_hasher(KeyHash),
            protected: LruCache::unbounded_with_hasher(KeyHash),
            limit,
        }
    }

    fn len(&self) -> usize {
        self.probation.len() + self.protected.len()
    }

    fn contains(&self, key: &SessionKey) -> bool {
        self.protected.contains(key) || self.probation.contains(key)
    }

    /// Finds a record and marks it used: it becomes the most recent protected record.
    fn access(&mut self, key: &SessionKey) -> Option<&mut Entry> {
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

    /// Adds a record that is not in the shard yet, on probation, evicting if over capacity.
    fn insert_new(&mut self, key: SessionKey, entry: Entry) {
        self.probation.push(key, entry);
        if let Some(limit) = self.limit {
            while self.len() > limit.total {
                // The new record is the most recent probationary one and probation always keeps room
                // for at least one, so it is never the one evicted here.
                if self.probation.pop_lru().is_none() && self.protected.pop_lru().is_none() {
                    break;
                }
            }
        }
    }

    /// Moves the least recent protected records back to probation while the protected segment is over its share.
    fn demote_overflow(&mut self) {
        if let Some(limit) = self.limit {
            while self.protected.len() > limit.protected {
                match self.protected.pop_lru() {
                    Some((k, entry)) => {
                        self.probation.push(k, entry);
                    }
                    None => break,
                }
            }
        }
    }

    fn remove(&mut self, key: &SessionKey) {
        self.probation.pop(key);
        self.protected.pop(key);
    }

    fn purge(&mut self, cutoff: SystemTime) -> u64 {
        let mut removed = 0;
        for segment in [&mut self.probation, &mut self.protected] {
            let old: Vec<SessionKey> = segment
                .iter()
                .filter(|(_, entry)| entry.last_access < cutoff)
                .map(|(key, _)| key.clone())
                .collect();
            for key in &old {
                segment.pop(key);
            }
            removed += old.len() as u64;
        }
        removed
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use fixtures::{key, lease};

    #[test]
    fn keys_hash_by_their_digits_spread_over_the_buckets() {
        use std::collections::HashSet;
        use std::hash::BuildHasher;
        let keys: Vec<SessionKey> = (0..4096)
            .map(|_| {
                crate::exchange::SessionId::generate()
                    .expect("ids")
                    .key()
                    .clone()
            })
            .collect();
        let hashes: HashSet<u64> = keys.iter().map(|k| KeyHash.hash_one(k)).collect();
        assert_eq!(hashes.len(), keys.len(), "distinct keys, distinct hashes");
        // hashbrown picks the bucket by the low bits and the tag by the top seven.
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0x3ff).collect();
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(
            low.len() > 900,
            "{} of 1024 low-bit buckets used",
            low.len()
        );
        assert_eq!(top.len(), 128, "every tag value used");
        // The same key hashes alike, whatever hasher instance.
        assert_eq!(
            KeyHash.hash_one(&keys[0]),
            KeyHash.hash_one(keys[0].clone())
        );
    }

    /// Fixtures shared by the stores' unit tests (these, and the file store's in `file/tests`).
    pub(in crate::session) mod fixtures {
        use std::time::{Duration, SystemTime};

        use crate::session::store::Lease;
        use crate::session::{SessionId, SessionKey};

        /// A fixed clock reading, so that timestamps (and file mtimes) compare exactly.
        pub(in crate::session) const T0: u64 = 1_700_000_000;

        /// `secs` after [`T0`].
        pub(in crate::session) fn at(secs: u64) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
        }

        /// A write at `at(secs)`, valid for 1800 s of idleness.
        pub(in crate::session) fn lease(secs: u64) -> Lease {
            Lease {
                now: at(secs),
                ttl: Duration::from_secs(1800),
            }
        }

        /// The key of a fresh random session id.
        pub(in crate::session) fn key() -> SessionKey {
            SessionId::generate().expect("OS rng").key().clone()
        }
    }

    async fn present(m: &MemoryStore, k: &SessionKey) -> bool {
        m.shard(k).contains(k)
    }

    async fn create(m: &MemoryStore, k: &SessionKey) {
        assert!(m.create(k, b"{}", lease(0)).await.expect("create"));
    }

    #[tokio::test]
    async fn small_capacity_uses_one_shard_and_sums_up() {
        assert_eq!(MemoryStore::with_capacity(10).shards.len(), 1);
        assert_eq!(MemoryStore::with_capacity(0).capacity(), Some(1));
        let m = MemoryStore::with_capacity(200);
        assert_eq!(m.shards.len(), 6);
        let total: usize = (0..m.shards.len())
            .filter_map(|i| m.lock(i).limit.map(|l| l.total))
            .sum();
        assert_eq!(total, 200);
        assert_eq!(MemoryStore::new().shards.len(), SHARDS);
    }

    #[tokio::test]
    async fn bounded_store_evicts_least_recently_used() {
        let m = MemoryStore::with_capacity(3);
        let [a, b, c, d] = [key(), key(), key(), key()];
        for k in [&a, &b, &c, &d] {
            create(&m, k).await;
        }
        assert_eq!(m.len(), 3);
        assert!(!present(&m, &a).await, "the oldest is evicted first");
        for k in [&b, &c, &d] {
            assert!(present(&m, k).await);
        }
    }

    #[tokio::test]
    async fn loading_a_session_protects_it() {
        let m = MemoryStore::with_capacity(3);
        let [a, b, c, d] = [key(), key(), key(), key()];
        for k in [&a, &b, &c] {
            create(&m, k).await;
        }
        assert!(m.load(&a).await.expect("load").is_some());
        create(&m, &d).await;
        assert!(present(&m, &a).await, "a was used again");
        assert!(!present(&m, &b).await, "b is now the least recently used");
    }

    #[tokio::test]
    async fn flood_of_new_sessions_does_not_evict_returning_users() {
        // docs/security.md, "Storage" ("a flood of anonymous sessions must not evict logged-in users").
        let m = MemoryStore::with_capacity(10);
        let users: Vec<SessionKey> = (0..8).map(|_| key()).collect();
        for (i, k) in users.iter().enumerate() {
            create(&m, k).await;
            if i % 2 == 0 {
                // A returning client: its session is loaded again…
                assert!(m.load(k).await.expect("load").is_some());
            } else {
                // …or written again after creation (login).
                m.store(k, br#"{"user":"u"}"#, lease(1))
                    .await
                    .expect("store");
            }
        }
        let mut flood = Vec::new();
        for _ in 0..1_000 {
            let k = key();
            create(&m, &k).await;
            flood.push(k);
        }
        assert_eq!(m.len(), 10);
        for k in &users {
            assert!(present(&m, k).await, "a returning user was evicted");
        }
        // The newest anonymous sessions survive in the probationary share.
        assert!(present(&m, &flood[999]).await);
        assert!(present(&m, &flood[998]).await);
        assert!(!present(&m, &flood[0]).await);
    }

    #[tokio::test]
    async fn protected_overflow_is_demoted_then_evicted_first() {
        // Capacity 5: protected share 4, probation keeps at least 1.
        let m = MemoryStore::with_capacity(5);
        let users: Vec<SessionKey> = (0..5).map(|_| key()).collect();
        for k in &users {
            create(&m, k).await;
            m.touch(k, lease(1)).await.expect("touch");
        }
        // Five returning users exceed the protected share: the least recent one went back on probation.
        let newcomer = key();
        create(&m, &newcomer).await;
        assert!(!present(&m, &users[0]).await);
        for k in users[1..].iter().chain([&newcomer]) {
            assert!(present(&m, k).await);
        }
    }

    #[tokio::test]
    async fn capacity_one_keeps_the_latest() {
        let m = MemoryStore::with_capacity(1);
        let [a, b] = [key(), key()];
        create(&m, &a).await;
        assert!(m.load(&a).await.expect("load").is_some());
        create(&m, &b).await;
        assert_eq!(m.len(), 1);
        assert!(present(&m, &b).await);
        assert!(m.load(&b).await.expect("load").is_some());
    }

    #[tokio::test]
    async fn unbounded_store_never_evicts() {
        let m = MemoryStore::new();
        let keys: Vec<SessionKey> = (0..2_000).map(|_| key()).collect();
        for k in &keys {
            create(&m, k).await;
        }
        assert_eq!(m.len(), 2_000);
        let cutoff = lease(1).now;
        m.touch(&keys[0], lease(5)).await.expect("touch");
        assert_eq!(m.purge(cutoff).await.expect("purge"), 1_999);
        assert_eq!(m.len(), 1);
        assert!(m.load(&keys[0]).await.expect("load").is_some());
    }

    #[test]
    fn debug_shows_no_records() {
        let m = MemoryStore::with_capacity(200);
        assert_eq!(
            format!("{m:?}"),
            "MemoryStore { capacity: Some(200), shards: 6, max_record_size: 65536, .. }"
        );
    }
}
