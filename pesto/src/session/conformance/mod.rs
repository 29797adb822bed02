//! A conformance suite for [`SessionStore`] backends: every store in pesto runs it, and so can yours.
//!
//! [`run`] runs every check; each check is also a public function, so a failure names the check
//! (`session store conformance: check_create_only: …`). Checks use keys of fresh random ids and
//! remove what they wrote, so they can run against a shared backend. Timestamps are around
//! 2023-11-14 (well in the past), and compared with a tolerance of two seconds, since a backend may
//! keep coarser times than [`SystemTime`](std::time::SystemTime). The suite needs a backend that can hold at least
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

//!
//! The checks sit in two files: `records.rs` (writing, reading, touching, removing and purging
//! records, limits, concurrency across keys) and `versions.rs` (the compare-and-swap of `update`
//! and its races); `check.rs` holds what they share.

mod check;
mod records;
mod versions;

use super::store::SessionStore;

pub use records::{
    check_absent_keys, check_concurrent_stores, check_create_only, check_create_race,
    check_create_then_load, check_keys_independent, check_large_value, check_purge,
    check_record_size_limit, check_remove, check_store_replaces, check_touch,
};
pub use versions::{check_update_compare_and_swap, check_update_only_existing, check_update_race};

/// How many records [`check_concurrent_stores`] writes at once.
pub const CONCURRENT_KEYS: usize = 64;

/// How many writers [`check_update_race`] races on one record.
pub const RACERS: usize = 16;

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
