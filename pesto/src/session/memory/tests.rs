//! Unit tests of the memory store, and the fixtures the stores' unit tests share.
use super::*;
use fixtures::{key, lease};

#[test]
fn keys_hash_by_their_own_bytes_spread_over_the_buckets_and_shards() {
    use std::collections::HashSet;
    use std::hash::BuildHasher;
    let keys: Vec<RawKey> = (0..4096).map(|_| RawKey::of(&key())).collect();
    let hashes: HashSet<u64> = keys.iter().map(|k| key::KeyHash.hash_one(k)).collect();
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
    // The table's hash and the LRU maps' agree, whatever hasher instance.
    assert_eq!(key::KeyHash.hash_one(keys[0]), keys[0].table_hash());
    let shards: HashSet<usize> = keys.iter().map(|k| k.shard(SHARDS)).collect();
    assert_eq!(shards.len(), SHARDS, "every shard used");
}

#[test]
fn a_raw_key_is_the_bytes_its_hex_digits_spell() {
    let k = SessionKey::parse(&"0f".repeat(32)).expect("a key");
    let raw = RawKey::of(&k);
    assert_eq!(raw, RawKey::of(&k.clone()));
    assert_ne!(
        raw,
        RawKey::of(&SessionKey::parse(&"f0".repeat(32)).expect("a key"))
    );
    assert_eq!(raw.table_hash(), u64::from_le_bytes([0x0f; 8]));
    assert_eq!(raw.shard(65_536), 0x0f0f);
}

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
    let (shard, k) = m.shard(k);
    shard.contains(&k)
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
        .filter_map(|i| m.lock(i).limit().map(|l| l.total))
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
