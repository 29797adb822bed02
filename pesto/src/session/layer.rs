//! [`SessionLayer`]: what [`TestApp`](crate::TestApp) needs to seed and inspect the sessions of an
//! app wrapped in session middleware.

use futures_util::future::BoxFuture;

use super::config::{Persist, SessionData};
use super::middleware::SessionApp;
use super::{SessionId, SessionManager};

/// What [`TestApp`](crate::TestApp) needs to seed and inspect sessions. Not a stable API.
#[doc(hidden)]
pub trait SessionLayer: Send + Sync {
    /// The cookie (and query parameter) name.
    fn cookie_name(&self) -> &str;
    /// Where the id travels.
    fn persist(&self) -> Persist;
    /// The stored JSON of session `id`, if it exists.
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

impl<M: SessionManager, S: SessionData> SessionLayer for SessionApp<M, S> {
    fn cookie_name(&self) -> &str {
        &self.inner.config.cookie_name
    }

    fn persist(&self) -> Persist {
        self.inner.config.persist
    }

    fn load_json<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, super::Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let now = self.inner.clock.now();
            Ok(self
                .inner
                .manager
                .load(&id.key())
                .await?
                .filter(|r| !self.inner.is_expired(r.last_access, now))
                .map(|r| r.data))
        })
    }

    fn store_json<'a>(
        &'a self,
        id: &'a SessionId,
        json: Vec<u8>,
    ) -> BoxFuture<'a, super::Result<()>> {
        Box::pin(async move {
            let lease = self.inner.lease(self.inner.clock.now());
            self.inner.manager.store(&id.key(), &json, lease).await
        })
    }

    fn purge_now(&self) -> BoxFuture<'_, super::Result<u64>> {
        Box::pin(self.inner.purge(self.inner.config.olderthan))
    }
}
