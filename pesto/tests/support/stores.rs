//! Store-side fixtures: fresh keys, and a memory store that counts its writes and can be told to
//! fail.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use pesto::session::{
    Lease, MemoryStore, Record, SessionId, SessionKey, SessionStore, UpdateOutcome, Version,
};

/// The store key of a fresh random session id.
pub fn new_key() -> SessionKey {
    SessionId::generate().expect("OS rng").key().clone()
}

/// A memory store that counts writes and touches, and fails loads or saves when told to.
#[derive(Debug, Default)]
pub struct Counting {
    pub inner: MemoryStore,
    pub writes: AtomicUsize,
    pub touches: AtomicUsize,
    pub fail_load: AtomicBool,
    pub fail_save: AtomicBool,
}

impl Counting {
    /// How many records were created, stored or updated.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    fn down(&self) -> pesto::session::Error {
        pesto::session::Error::Backend("store is down".to_owned())
    }
}

#[async_trait]
impl SessionStore for Counting {
    async fn load(&self, key: &SessionKey) -> pesto::session::Result<Option<Record>> {
        if self.fail_load.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.inner.load(key).await
    }

    async fn create(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<bool> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.create(key, data, lease).await
    }

    async fn store(
        &self,
        key: &SessionKey,
        data: &[u8],
        lease: Lease,
    ) -> pesto::session::Result<()> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.store(key, data, lease).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> pesto::session::Result<UpdateOutcome> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(self.down());
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.update(key, data, expected, lease).await
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> pesto::session::Result<()> {
        self.touches.fetch_add(1, Ordering::SeqCst);
        self.inner.touch(key, lease).await
    }

    async fn remove(&self, key: &SessionKey) -> pesto::session::Result<()> {
        self.inner.remove(key).await
    }

    async fn purge(&self, cutoff: SystemTime) -> pesto::session::Result<u64> {
        self.inner.purge(cutoff).await
    }
}
