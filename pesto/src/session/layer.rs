//! [`SessionLayer`]: what [`TestApp`](crate::TestApp) needs to seed and inspect the sessions of an
//! app wrapped in session middleware.

use futures_util::future::BoxFuture;

use super::config::{Persist, SessionData};
use super::middleware::SessionApp;
use super::{envelope, SessionId, SessionStore};

/// What [`TestApp`](crate::TestApp) needs to seed and inspect sessions. Not a stable API.
#[doc(hidden)]
pub trait SessionLayer: Send + Sync {
    /// The cookie (and query parameter) name.
    fn cookie_name(&self) -> &str;
    /// Where the id travels.
    fn persist(&self) -> Persist;
    /// The stored JSON of session `id`, if it exists and has not expired.
    fn load_json<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, super::Result<Option<Vec<u8>>>>;
    /// Stores `json` as session `id`'s data.
    fn store_json<'a>(
        &'a self,
        id: &'a SessionId,
        json: Vec<u8>,
    ) -> BoxFuture<'a, super::Result<()>>;
    /// Runs the purge now with the configured idle limit.
    fn purge_now(&self) -> BoxFuture<'_, super::Result<u64>>;
}

impl<M: SessionStore, S: SessionData> SessionLayer for SessionApp<M, S> {
    fn cookie_name(&self) -> &str {
        &self.inner.config.cookie_name
    }

    fn persist(&self) -> Persist {
        self.inner.config.persist
    }

    fn load_json<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, super::Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let inner = &self.inner;
            let now = inner.clock.now();
            let Some(record) = inner.store.load(&id.key()).await? else {
                return Ok(None);
            };
            if inner.is_expired(record.last_access, now) {
                return Ok(None);
            }
            Ok(envelope::decode(&record.data)
                .filter(|(created, _)| !inner.is_past_lifetime(*created, now))
                .map(|(_, json)| json))
        })
    }

    fn store_json<'a>(
        &'a self,
        id: &'a SessionId,
        json: Vec<u8>,
    ) -> BoxFuture<'a, super::Result<()>> {
        Box::pin(async move {
            let inner = &self.inner;
            let now = inner.clock.now();
            let key = id.key();
            // Seeding an existing session keeps its age; a new one begins now.
            let created = inner
                .store
                .load(&key)
                .await?
                .and_then(|r| envelope::decode(&r.data))
                .map_or(now, |(created, _)| created);
            let record = envelope::encode(created, &json);
            inner.store.store(&key, &record, inner.lease(now)).await
        })
    }

    fn purge_now(&self) -> BoxFuture<'_, super::Result<u64>> {
        Box::pin(self.inner.purge(self.inner.config.olderthan))
    }
}
