//! A conformance suite for [`SessionStore`] backends: every store in pesto runs it, and so can yours.
//!
//! [`run`] runs every check; each check is also a public function, so a failure names the check
//! (`session store conformance: check_create_only: …`). Checks use keys of fresh random ids and
//! remove what they wrote, so they can run against a shared backend. Timestamps are around
//! 2023-11-14 (well in the past), and compared with a tolerance of two seconds, since a backend may
//! keep coarser times than [`SystemTime`]. The suite needs a backend that can hold at least
//! [`CONCURRENT_KEYS`] records, and that no other run of [`check_purge`] purges at the same time.
//!
//! # Examples
//!
//! A complete backend (a `HashMap` behind a lock) and the test that checks it:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Mutex, MutexGuard, PoisonError};
//! use std::time::SystemTime;
//! use pesto::session::{
//!     check_record_size, Lease, Record, Result, SessionKey, SessionStore, UpdateOutcome, Version,
//!     DEFAULT_MAX_RECORD_SIZE,
//! };
//!
//! #[derive(Debug, Default)]
//! struct MapStore(Mutex<HashMap<SessionKey, Record>>);
//!
//! impl MapStore {
//!     fn map(&self) -> MutexGuard<'_, HashMap<SessionKey, Record>> {
//!         self.0.lock().unwrap_or_else(PoisonError::into_inner)
//!     }
//! }
//!
//! #[async_trait::async_trait]
//! impl SessionStore for MapStore {
//!     async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
//!         Ok(self.map().get(key).cloned())
//!     }
//!     async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
//!         check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
//!         let mut map = self.map();
//!         if map.contains_key(key) {
//!             return Ok(false);
//!         }
//!         let version = Version::FIRST;
//!         map.insert(key.clone(), Record { data: data.to_vec(), last_access: lease.now, version });
//!         Ok(true)
//!     }
//!     async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
//!         check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
//!         let mut map = self.map();
//!         let version = map.get(key).map_or(Version::FIRST, |old| old.version.next());
//!         map.insert(key.clone(), Record { data: data.to_vec(), last_access: lease.now, version });
//!         Ok(())
//!     }
//!     async fn update(
//!         &self,
//!         key: &SessionKey,
//!         data: &[u8],
//!         expected: Version,
//!         lease: Lease,
//!     ) -> Result<UpdateOutcome> {
//!         check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
//!         // Compare and write under one lock.
//!         let mut map = self.map();
//!         let Some(record) = map.get_mut(key) else { return Ok(UpdateOutcome::Absent) };
//!         if record.version != expected {
//!             return Ok(UpdateOutcome::Conflict);
//!         }
//!         *record = Record { data: data.to_vec(), last_access: lease.now, version: expected.next() };
//!         Ok(UpdateOutcome::Written)
//!     }
//!     async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
//!         if let Some(record) = self.map().get_mut(key) {
//!             record.last_access = lease.now;
//!         }
//!         Ok(())
//!     }
//!     async fn remove(&self, key: &SessionKey) -> Result<()> {
//!         self.map().remove(key);
//!         Ok(())
//!     }
//!     async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
//!         let mut map = self.map();
//!         let before = map.len();
//!         map.retain(|_, record| record.last_access >= cutoff);
//!         Ok((before - map.len()) as u64)
//!     }
//! }
//!
//! #[tokio::test]
//! async fn map_store_conforms() {
//!     pesto::session::conformance::run(&MapStore::default()).await;
//! }
//! # fn main() {
//! #     let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! #     rt.block_on(pesto::session::conformance::run(&MapStore::default()));
//! # }
//! ```

use std::fmt::Display;
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;

use super::store::{Error, Lease, Record, Result, SessionStore, UpdateOutcome, Version};
use crate::exchange::{SessionId, SessionKey};

/// How many records [`check_concurrent_stores`] writes at once.
pub const CONCURRENT_KEYS: usize = 64;

/// How many writers [`check_update_race`] races on one record.
pub const RACERS: usize = 16;

/// The suite's "now": 2023-11-14T22:13:20Z. Real sessions are newer, so the purge check never
/// touches them on a shared backend.
const BASE_SECS: u64 = 1_700_000_000;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// Largest difference accepted between a written and a read timestamp.
const TOLERANCE: Duration = Duration::from_secs(2);

/// Runs every check against `store`, panicking with the name of the first one that fails.
pub async fn run<M: SessionStore + ?Sized>(store: &M) {
    check_create_then_load(store).await;
    check_create_only(store).await;
    check_create_race(store).await;
    check_store_replaces(store).await;
    check_update_only_existing(store).await;
    check_update_compare_and_swap(store).await;
    check_update_race(store).await;
    check_touch(store).await;
    check_absent_keys(store).await;
    check_remove(store).await;
    check_purge(store).await;
    check_keys_independent(store).await;
    check_large_value(store).await;
    check_record_size_limit(store).await;
    check_concurrent_stores(store).await;
}

/// `create` on a free key returns `true`, and `load` returns the exact bytes and time written.
pub async fn check_create_then_load<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_then_load");
    // JSON a store must not reformat: key order, escapes, non-ASCII text, scalars.
    let samples: [&[u8]; 6] = [
        br#"{"user":"alice","logged_in":true}"#,
        br#"{"b":1,"a":[2,3.5,null,{"z":{}}]}"#,
        "{\"name\":\"Zoë ✓ 漢字\",\"esc\":\"\\u0000\\n\\\"\"}".as_bytes(),
        b"{}",
        b"null",
        br#""just a string""#,
    ];
    for data in samples {
        let key = c.key();
        c.expect_absent(store, &key, "a fresh key").await;
        if !c.ok("create", store.create(&key, data, lease(0)).await) {
            c.fail("create on a fresh key returned false");
        }
        c.expect_record(store, &key, data, at(0), "after create")
            .await;
        c.cleanup(store, [&key]).await;
    }
}

/// A second `create` of an existing key returns `false` and changes neither data nor last access.
///
/// docs/security.md, "Session ids" ("creating a session must not overwrite an existing record").
pub async fn check_create_only<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_only");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    if c.ok("create", store.create(&key, DATA_B, lease(HOUR)).await) {
        c.fail("a second create of the same key returned true (it must return false)");
    }
    c.expect_record(store, &key, DATA_A, at(0), "after the refused create")
        .await;
    // A key written by `store` is taken too.
    let stored = c.key();
    c.ok("store", store.store(&stored, DATA_A, lease(0)).await);
    if c.ok("create", store.create(&stored, DATA_B, lease(HOUR)).await) {
        c.fail("create over a key written by store returned true");
    }
    c.expect_record(store, &stored, DATA_A, at(0), "after the refused create")
        .await;
    c.cleanup(store, [&key, &stored]).await;
}

/// Concurrent `create`s of one key: exactly one returns `true`, and its data is what is stored.
pub async fn check_create_race<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_create_race");
    let key = c.key();
    let data: Vec<Vec<u8>> = (0..8)
        .map(|i| format!(r#"{{"writer":{i}}}"#).into_bytes())
        .collect();
    let results = join_all(data.iter().map(|d| store.create(&key, d, lease(0)))).await;
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        if c.ok("create", result) {
            winners.push(i);
        }
    }
    let [winner] = winners[..] else {
        c.fail(format_args!(
            "{} of 8 concurrent creates of one key returned true (exactly one must)",
            winners.len()
        ));
    };
    c.expect_record(store, &key, &data[winner], at(0), "after the race")
        .await;
    c.cleanup(store, [&key]).await;
}

/// `store` creates a missing record and replaces an existing one, data and last access alike.
pub async fn check_store_replaces<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_store_replaces");
    let key = c.key();
    c.ok("store", store.store(&key, DATA_A, lease(0)).await);
    c.expect_record(store, &key, DATA_A, at(0), "after store on a free key")
        .await;
    c.ok("store", store.store(&key, DATA_B, lease(HOUR)).await);
    c.expect_record(store, &key, DATA_B, at(HOUR), "after the second store")
        .await;
    // Shorter data must not leave a tail of the longer one behind.
    c.ok("store", store.store(&key, b"{}", lease(2 * HOUR)).await);
    c.expect_record(store, &key, b"{}", at(2 * HOUR), "after a shorter store")
        .await;
    c.cleanup(store, [&key]).await;
}

/// `update` replaces an existing record and never creates one (an ended session stays ended).
pub async fn check_update_only_existing<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_only_existing");
    let key = c.key();
    let outcome = c.ok(
        "update",
        store.update(&key, DATA_A, Version::FIRST, lease(0)).await,
    );
    if outcome != UpdateOutcome::Absent {
        c.fail(format_args!(
            "update of an absent key returned {outcome:?}, expected Absent"
        ));
    }
    c.expect_absent(store, &key, "after update on a free key")
        .await;
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    let version = c.version(store, &key, "after create").await;
    let outcome = c.ok(
        "update",
        store.update(&key, DATA_B, version, lease(HOUR)).await,
    );
    if outcome != UpdateOutcome::Written {
        c.fail(format_args!(
            "update of an existing key at its version returned {outcome:?}, expected Written"
        ));
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after update")
        .await;
    c.cleanup(store, [&key]).await;
}

/// Versions: `create` writes [`Version::FIRST`], `store` and `update` the [`next`](Version::next)
/// one, `touch` keeps it; `update` over any other version than the stored one is a `Conflict`
/// and writes nothing, neither data nor last access.
pub async fn check_update_compare_and_swap<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_compare_and_swap");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.expect_version(store, &key, Version::FIRST, "after create")
        .await;
    c.ok("touch", store.touch(&key, lease(HOUR)).await);
    c.expect_version(store, &key, Version::FIRST, "after touch")
        .await;
    let outcome = c.ok(
        "update",
        store
            .update(&key, DATA_B, Version::FIRST, lease(HOUR))
            .await,
    );
    if outcome != UpdateOutcome::Written {
        c.fail(format_args!(
            "update at the stored version returned {outcome:?}"
        ));
    }
    let second = Version::FIRST.next();
    c.expect_version(store, &key, second, "after update").await;
    // The version this request loaded is stale now: another request saved meanwhile.
    for stale in [Version::FIRST, second.next(), Version(0)] {
        let outcome = c.ok(
            "update",
            store
                .update(&key, br#"{"lost":true}"#, stale, lease(2 * HOUR))
                .await,
        );
        if outcome != UpdateOutcome::Conflict {
            c.fail(format_args!(
                "update at version {stale:?} of a record at {second:?} returned {outcome:?}, expected Conflict"
            ));
        }
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after refused updates")
        .await;
    c.expect_version(store, &key, second, "after refused updates")
        .await;
    c.ok("store", store.store(&key, DATA_A, lease(HOUR)).await);
    c.expect_version(store, &key, second.next(), "after store over it")
        .await;
    c.cleanup(store, [&key]).await;
}

/// Concurrent updates of one record: of [`RACERS`] updates over the same version exactly one is
/// written; and [`RACERS`] writers that each add one to a counter, reloading and retrying on a
/// conflict, end with the counter at [`RACERS`] — no update lost.
pub async fn check_update_race<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_update_race");
    let key = c.key();
    c.ok("create", store.create(&key, br#"{"n":0}"#, lease(0)).await);
    let data: Vec<Vec<u8>> = (0..RACERS)
        .map(|i| format!(r#"{{"n":0,"writer":{i}}}"#).into_bytes())
        .collect();
    let racing = data
        .iter()
        .map(|d| store.update(&key, d, Version::FIRST, lease(0)));
    let mut winners = Vec::new();
    for (i, outcome) in join_all(racing).await.into_iter().enumerate() {
        match c.ok("update", outcome) {
            UpdateOutcome::Written => winners.push(i),
            UpdateOutcome::Conflict => {}
            UpdateOutcome::Absent => c.fail("a racing update found the record absent"),
        }
    }
    let [winner] = winners[..] else {
        c.fail(format_args!(
            "{} of {RACERS} concurrent updates over one version were written (exactly one must)",
            winners.len()
        ));
    };
    c.expect_record(store, &key, &data[winner], at(0), "after the race")
        .await;

    c.ok("store", store.store(&key, br#"{"n":0}"#, lease(0)).await);
    let increments = (0..RACERS).map(|_| increment(&c, store, &key));
    join_all(increments).await;
    let expected = format!(r#"{{"n":{RACERS}}}"#);
    c.expect_record(
        store,
        &key,
        expected.as_bytes(),
        at(0),
        "after concurrent increments with retries",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// Adds one to the counter `{"n":…}` under `key`, retrying on conflicts.
async fn increment<M: SessionStore + ?Sized>(c: &Check, store: &M, key: &SessionKey) {
    for _ in 0..RACERS * 4 {
        let Some(record) = c.load(store, key).await else {
            c.fail("the counter record vanished");
        };
        let n = std::str::from_utf8(&record.data)
            .ok()
            .and_then(|text| {
                text.strip_prefix(r#"{"n":"#)?
                    .strip_suffix('}')?
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or_else(|| c.fail(format_args!("not a counter: {}", shorten(&record.data))));
        let next = format!(r#"{{"n":{}}}"#, n + 1);
        let outcome = store
            .update(key, next.as_bytes(), record.version, lease(0))
            .await;
        match c.ok("update", outcome) {
            UpdateOutcome::Written => return,
            UpdateOutcome::Conflict => tokio::task::yield_now().await,
            UpdateOutcome::Absent => c.fail("the counter record vanished"),
        }
    }
    c.fail("an increment kept conflicting");
}

/// `touch` moves last access (forwards or backwards) and keeps the data.
pub async fn check_touch<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_touch");
    let key = c.key();
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.ok("touch", store.touch(&key, lease(2 * HOUR)).await);
    c.expect_record(store, &key, DATA_A, at(2 * HOUR), "after touch")
        .await;
    // The middleware's clock may step back; the store just records what it is given.
    c.ok("touch", store.touch(&key, lease(HOUR)).await);
    c.expect_record(
        store,
        &key,
        DATA_A,
        at(HOUR),
        "after touch to an earlier time",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// `load` of a missing key is `None`; `touch` and `remove` of it are `Ok` and do not create it.
pub async fn check_absent_keys<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_absent_keys");
    let key = c.key();
    c.expect_absent(store, &key, "a fresh key").await;
    c.ok("touch of an absent key", store.touch(&key, lease(0)).await);
    c.expect_absent(store, &key, "after touch of an absent key")
        .await;
    c.ok("remove of an absent key", store.remove(&key).await);
    c.expect_absent(store, &key, "after remove of an absent key")
        .await;
}

/// After `remove` the key loads as `None` (twice removing is fine) and can be created again.
pub async fn check_remove<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_remove");
    let (key, other) = (c.key(), c.key());
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    c.ok("create", store.create(&other, DATA_B, lease(0)).await);
    c.ok("remove", store.remove(&key).await);
    c.expect_absent(store, &key, "after remove").await;
    c.ok("second remove", store.remove(&key).await);
    c.expect_record(store, &other, DATA_B, at(0), "after removing another key")
        .await;
    if !c.ok("create", store.create(&key, DATA_B, lease(HOUR)).await) {
        c.fail("create after remove returned false (the key must be free again)");
    }
    c.expect_record(store, &key, DATA_B, at(HOUR), "after re-create")
        .await;
    c.cleanup(store, [&key, &other]).await;
}

/// `purge(cutoff)` removes exactly the records with `last_access < cutoff` and returns their count.
pub async fn check_purge<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_purge");
    let cutoff = -DAY;
    let [old, older, boundary, touched, fresh] = [c.key(), c.key(), c.key(), c.key(), c.key()];
    c.ok("store", store.store(&older, DATA_A, lease(-3 * DAY)).await);
    c.ok("create", store.create(&old, DATA_A, lease(-2 * DAY)).await);
    c.ok(
        "create",
        store.create(&boundary, DATA_A, lease(cutoff)).await,
    );
    // Created long ago but touched since: touch counts as access.
    c.ok(
        "create",
        store.create(&touched, DATA_A, lease(-5 * DAY)).await,
    );
    c.ok("touch", store.touch(&touched, lease(-HOUR)).await);
    c.ok("store", store.store(&fresh, DATA_B, lease(0)).await);

    let removed = c.ok("purge", store.purge(at(cutoff)).await);
    if removed != 2 {
        c.fail(format_args!(
            "purge removed {removed} records, expected 2 (last accessed 3 and 2 days before the cutoff's day)"
        ));
    }
    c.expect_absent(store, &older, "after purge (3 days old)")
        .await;
    c.expect_absent(store, &old, "after purge (2 days old)")
        .await;
    c.expect_record(
        store,
        &boundary,
        DATA_A,
        at(cutoff),
        "after purge (last access == cutoff must be kept)",
    )
    .await;
    c.expect_record(
        store,
        &touched,
        DATA_A,
        at(-HOUR),
        "after purge (touched after creation)",
    )
    .await;
    c.expect_record(store, &fresh, DATA_B, at(0), "after purge (fresh)")
        .await;
    let again = c.ok("purge", store.purge(at(cutoff)).await);
    if again != 0 {
        c.fail(format_args!(
            "a second purge with the same cutoff removed {again} records, expected 0"
        ));
    }
    c.cleanup(store, [&boundary, &touched, &fresh]).await;
}

/// Writes, touches and removals of one key leave other keys alone.
pub async fn check_keys_independent<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_keys_independent");
    let (one, two) = (c.key(), c.key());
    c.ok("create", store.create(&one, DATA_A, lease(0)).await);
    c.ok("create", store.create(&two, DATA_B, lease(0)).await);
    c.ok(
        "store",
        store.store(&one, br#"{"changed":1}"#, lease(HOUR)).await,
    );
    c.ok("touch", store.touch(&one, lease(2 * HOUR)).await);
    c.expect_record(store, &two, DATA_B, at(0), "after writing another key")
        .await;
    c.ok("remove", store.remove(&one).await);
    c.expect_record(store, &two, DATA_B, at(0), "after removing another key")
        .await;
    c.cleanup(store, [&two]).await;
}

/// A record of the store's [`max_record_size`](SessionStore::max_record_size) (or of 256 KiB,
/// whichever is less) round-trips byte for byte.
pub async fn check_large_value<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_large_value");
    let key = c.key();
    let data = json_of_size(store.max_record_size().min(256 * 1024));
    c.ok("create", store.create(&key, &data, lease(0)).await);
    c.expect_record(
        store,
        &key,
        &data,
        at(0),
        "after create of the largest record",
    )
    .await;
    c.cleanup(store, [&key]).await;
}

/// A record one byte over [`max_record_size`](SessionStore::max_record_size) is refused with
/// [`Error::TooLarge`] by `create`, `store` and `update`, and none of them writes anything.
/// Skipped for a limit of 16 MiB or more (the test would hold it in memory three times).
pub async fn check_record_size_limit<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_record_size_limit");
    let limit = store.max_record_size();
    if limit >= 16 * 1024 * 1024 {
        return;
    }
    let over = json_of_size(limit + 1);
    let refused = |op: &str, result: Result<()>| match result {
        Err(Error::TooLarge { size, limit: l }) if size == limit + 1 && l == limit => {}
        Err(e) => c.fail(format_args!(
            "{op} of {} bytes failed with {e}, expected TooLarge",
            limit + 1
        )),
        Ok(()) => c.fail(format_args!(
            "{op} of {} bytes over a limit of {limit} succeeded",
            limit + 1
        )),
    };
    let key = c.key();
    refused(
        "create",
        store.create(&key, &over, lease(0)).await.map(drop),
    );
    c.expect_absent(store, &key, "after a refused create").await;
    refused("store", store.store(&key, &over, lease(0)).await);
    c.expect_absent(store, &key, "after a refused store").await;
    c.ok("create", store.create(&key, DATA_A, lease(0)).await);
    let version = c.version(store, &key, "after create").await;
    refused(
        "update",
        store.update(&key, &over, version, lease(1)).await.map(drop),
    );
    c.expect_record(store, &key, DATA_A, at(0), "after a refused update")
        .await;
    c.cleanup(store, [&key]).await;
}

/// [`CONCURRENT_KEYS`] stores on different keys in flight at once: every one is kept.
pub async fn check_concurrent_stores<M: SessionStore + ?Sized>(store: &M) {
    let c = Check("check_concurrent_stores");
    let keys: Vec<SessionKey> = (0..CONCURRENT_KEYS).map(|_| c.key()).collect();
    let data: Vec<Vec<u8>> = (0..CONCURRENT_KEYS)
        .map(|i| format!(r#"{{"n":{i}}}"#).into_bytes())
        .collect();
    let writes = keys
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(i, (key, d))| async move {
            // Half create, half store, so both write paths run side by side.
            if i % 2 == 0 {
                store.create(key, d, lease(0)).await.map(|_| ())
            } else {
                store.store(key, d, lease(0)).await
            }
        });
    for result in join_all(writes).await {
        c.ok("concurrent write", result);
    }
    let loads = join_all(keys.iter().map(|key| store.load(key))).await;
    for (i, loaded) in loads.into_iter().enumerate() {
        match c.ok("load", loaded) {
            Some(record) if record.data == data[i] => {}
            Some(_) => c.fail(format_args!(
                "record {i} of {CONCURRENT_KEYS} holds another record's data"
            )),
            None => c.fail(format_args!(
                "record {i} of {CONCURRENT_KEYS} written concurrently is missing"
            )),
        }
    }
    for result in join_all(keys.iter().map(|key| store.remove(key))).await {
        c.ok("concurrent remove", result);
    }
}

const DATA_A: &[u8] = br#"{"user":"alice","n":1}"#;
const DATA_B: &[u8] = br#"{"user":"bob","n":2}"#;

/// A JSON object of exactly `size` bytes (or 9, `{"b":"a"}`, if `size` is smaller).
fn json_of_size(size: usize) -> Vec<u8> {
    let fill = size.saturating_sub(r#"{"b":""}"#.len()).max(1);
    let mut data = Vec::with_capacity(size.max(9));
    data.extend_from_slice(br#"{"b":""#);
    data.extend((0..fill).map(|i| b'a' + (i % 26) as u8));
    data.extend_from_slice(br#""}"#);
    data
}

/// `BASE + offset` seconds.
fn at(offset: i64) -> SystemTime {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE_SECS);
    if offset >= 0 {
        base + Duration::from_secs(offset.unsigned_abs())
    } else {
        base - Duration::from_secs(offset.unsigned_abs())
    }
}

fn lease(offset: i64) -> Lease {
    Lease {
        now: at(offset),
        // Long enough that a backend with native expiry keeps everything for the whole run.
        ttl: Duration::from_secs(3600),
    }
}

fn close(a: SystemTime, b: SystemTime) -> bool {
    let diff = a.duration_since(b).unwrap_or_else(|e| e.duration());
    diff <= TOLERANCE
}

/// The running check's name, for failure messages.
struct Check(&'static str);

impl Check {
    fn fail(&self, what: impl Display) -> ! {
        panic!("session store conformance: {}: {what}", self.0)
    }

    fn ok<T>(&self, op: &str, result: Result<T>) -> T {
        result.unwrap_or_else(|e| self.fail(format_args!("{op} failed: {e}")))
    }

    fn key(&self) -> SessionKey {
        match SessionId::generate() {
            Ok(id) => id.key().clone(),
            Err(e) => self.fail(e),
        }
    }

    async fn load<M: SessionStore + ?Sized>(&self, m: &M, key: &SessionKey) -> Option<Record> {
        self.ok("load", m.load(key).await)
    }

    /// The version of the record under `key`, which must exist.
    async fn version<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        when: &str,
    ) -> Version {
        match self.load(m, key).await {
            Some(record) => record.version,
            None => self.fail(format_args!("load {when} returned none, expected a record")),
        }
    }

    async fn expect_version<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        expected: Version,
        when: &str,
    ) {
        let version = self.version(m, key, when).await;
        if version != expected {
            self.fail(format_args!(
                "load {when} returned version {version:?}, expected {expected:?}"
            ));
        }
    }

    async fn expect_absent<M: SessionStore + ?Sized>(&self, m: &M, key: &SessionKey, when: &str) {
        if self.load(m, key).await.is_some() {
            self.fail(format_args!("load {when} returned a record, expected none"));
        }
    }

    async fn expect_record<M: SessionStore + ?Sized>(
        &self,
        m: &M,
        key: &SessionKey,
        data: &[u8],
        last_access: SystemTime,
        when: &str,
    ) {
        let Some(record) = self.load(m, key).await else {
            self.fail(format_args!("load {when} returned none, expected a record"));
        };
        if record.data != data {
            self.fail(format_args!(
                "load {when} returned data {:?}, expected {:?}",
                shorten(&record.data),
                shorten(data)
            ));
        }
        if !close(record.last_access, last_access) {
            self.fail(format_args!(
                "load {when} returned last_access {:?}, expected {:?} (± {TOLERANCE:?})",
                record.last_access, last_access
            ));
        }
    }

    async fn cleanup<M: SessionStore + ?Sized, const N: usize>(
        &self,
        m: &M,
        keys: [&SessionKey; N],
    ) {
        for key in keys {
            self.ok("remove", m.remove(key).await);
        }
    }
}

/// Data for a failure message, cut so a 100 KiB value does not flood the output.
fn shorten(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}… ({} bytes)", &text[..i], data.len()),
        None => text.into_owned(),
    }
}
