//! [`SessionInspector`]: a handle on the sessions of one session app, for tests — read what the
//! store holds, seed a session, run the purge now. [`TestApp::with_sessions`](crate::TestApp::with_sessions)
//! takes one.

use std::fmt;
use std::sync::Arc;

use super::envelope;
use super::shared::{Found, Shared};
use super::store;
use super::transport::Persist;
use crate::exchange::SessionId;

/// Reads and seeds the sessions of the app it came from ([`SessionApp::inspector`](super::SessionApp::inspector)).
///
/// ```
/// use pesto::prelude::*;
/// use pesto::session::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Visitor { visits: u32 }
///
/// #[route("/", GET)]
/// async fn count(req: &mut Request<Visitor>) -> String {
///     req.session.visits += 1;
///     req.session.visits.to_string()
/// }
/// dispatcher_app!(App = [count]);
///
/// let app = pesto::session_middleware(MemoryStore::new()).wrap(App::new());
/// let sessions = app.inspector();
/// let client = pesto::TestApp::new(app).with_sessions(sessions);
/// client.session_transaction(|v: &mut Visitor| v.visits = 41);
/// assert_eq!(client.get("/").send().body_text(), "42");
/// assert_eq!(client.session::<Visitor>().map(|v| v.visits), Some(42));
/// ```
#[derive(Clone)]
pub struct SessionInspector {
    shared: Arc<Shared>,
}

impl fmt::Debug for SessionInspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionInspector")
            .field("store", &self.shared.store)
            .finish_non_exhaustive()
    }
}

impl SessionInspector {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        SessionInspector { shared }
    }

    /// The cookie's (and query parameter's) name.
    pub fn cookie_name(&self) -> &str {
        self.shared.transport.id_name()
    }

    /// Where the id travels.
    pub fn persist(&self) -> Persist {
        self.shared.transport.persist()
    }

    /// The stored data (JSON) of session `id`, if it exists and has not expired. A session
    /// stored before any handler saw it (in eager mode, or by the querystring-mode redirect of a
    /// new visitor) holds `null`, which stands for the session type's default.
    ///
    /// # Errors
    /// The store's error.
    pub async fn load_json(&self, id: &SessionId) -> store::Result<Option<Vec<u8>>> {
        let now = self.shared.clock.now();
        Ok(match self.shared.find(id.key(), now).await? {
            Found::Live(record) => Some(record.json),
            Found::Dead { .. } | Found::Absent => None,
        })
    }

    /// Stores `json` as session `id`'s data; an existing session keeps its age and its flash
    /// messages, a new one begins now.
    ///
    /// # Errors
    /// The store's error.
    pub async fn store_json(&self, id: &SessionId, json: &[u8]) -> store::Result<()> {
        let shared = &self.shared;
        let now = shared.clock.now();
        let key = id.key();
        let stored = shared
            .store
            .load(key)
            .await?
            .and_then(|r| envelope::decode(&r.data));
        let (created, flashes) = stored.map_or((now, Vec::new()), |s| (s.created, s.flashes));
        let record = envelope::encode(created, json, &flashes);
        shared.store.store(key, &record, shared.lease(now)).await
    }

    /// Runs the purge now with the app's idle limit and clock; returns how many sessions it removed.
    ///
    /// # Errors
    /// The store's error.
    pub async fn purge(&self) -> store::Result<u64> {
        self.shared.purge(self.shared.config.olderthan).await
    }
}
