//! Sessions: the typed `request.session`, the session middleware and its storage backends.
//!
//! See `docs/sessions.md` for the guide.

mod clock;
mod config;
pub mod conformance;
mod envelope;
mod file;
mod id;
mod layer;
mod memory;
mod middleware;
#[cfg(feature = "redis")]
mod redis;
mod store;

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{session_middleware, Persist, SameSite, SessionData, SessionMiddleware};
pub use file::FileStore;
pub use id::{ParseIdError, SessionId, SessionKey};
#[doc(hidden)]
pub use layer::SessionLayer;
pub use memory::MemoryStore;
pub use middleware::SessionApp;
pub use store::{Error, Lease, Record, Result, SessionStore};

/// A ready-made dynamic session type for Pesto-style dictionary use: string keys, JSON values.
pub type SessionMap = serde_json::Map<String, serde_json::Value>;

/// The user's session as seen by a handler: dereferences to the application's own type `S`.
///
/// Without session middleware (`S = ()`), the session is detached: it has no id and nothing is stored.
pub struct Session<S> {
    data: S,
    state: Option<SessionState>,
}

/// Bookkeeping the middleware needs about one request's session.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(crate) id: SessionId,
    pub(crate) is_new: bool,
    /// The id the request arrived with, when `cycle_id()` replaced it (removed at the end of the request).
    pub(crate) cycled_from: Option<SessionId>,
    pub(crate) force_save: bool,
    pub(crate) invalidated: bool,
    /// In querystring mode, the id that generated URLs and redirects must carry (shared with the
    /// request's URL context so `url()` sees a `cycle_id()` made earlier in the same handler).
    pub(crate) query_id: Option<Arc<Mutex<Option<String>>>>,
}

impl<S> Session<S> {
    /// A session that is not backed by any store (used when no session middleware is installed).
    pub fn detached(data: S) -> Self {
        Session { data, state: None }
    }

    pub(crate) fn attached(data: S, state: SessionState) -> Self {
        Session {
            data,
            state: Some(state),
        }
    }

    pub(crate) fn into_parts(self) -> (S, Option<SessionState>) {
        (self.data, self.state)
    }

    pub(crate) fn state(&self) -> Option<&SessionState> {
        self.state.as_ref()
    }

    /// The session id, or `None` for a detached session.
    pub fn id(&self) -> Option<&SessionId> {
        self.state.as_ref().map(|s| &s.id)
    }

    /// True when this request created the session (no valid session arrived with it).
    pub fn is_new(&self) -> bool {
        self.state.as_ref().is_none_or(|s| s.is_new)
    }

    /// Saves the session at the end of the request even if its data did not change.
    ///
    /// Changes are detected automatically, so this is only needed to force a write (for example
    /// to refresh the stored copy after a change in serialisation format).
    pub fn save(&mut self) {
        if let Some(state) = &mut self.state {
            // An invalidated session stays ended: saving it must not bring it back.
            state.force_save = true;
        }
    }

    /// Ends the session: at the end of the request it is removed from the store and, in cookie mode,
    /// the cookie is expired. The data is reset to its default.
    pub fn invalidate(&mut self)
    where
        S: Default,
    {
        self.data = S::default();
        if let Some(state) = &mut self.state {
            state.invalidated = true;
            state.force_save = false;
            if let Some(q) = &state.query_id {
                set_shared(q, None);
            }
        }
    }

    /// Gives the session a new id, keeping its data; the old id is removed from the store.
    ///
    /// Call it after every privilege change (login), so that an id an attacker planted or saw
    /// before the change is worthless after it (session fixation; OWASP).
    ///
    /// # Errors
    /// Fails only if the operating system's random generator fails.
    pub fn cycle_id(&mut self) -> Result<()> {
        if let Some(state) = &mut self.state {
            let new_id = SessionId::generate()?;
            let old = std::mem::replace(&mut state.id, new_id);
            // Only an id that was in the store needs removing; a chain of cycles removes the first.
            if !state.is_new && state.cycled_from.is_none() {
                state.cycled_from = Some(old);
            }
            state.invalidated = false;
            if let Some(q) = &state.query_id {
                set_shared(q, Some(state.id.to_string()));
            }
        }
        Ok(())
    }
}

fn set_shared(cell: &Mutex<Option<String>>, value: Option<String>) {
    // A poisoned lock only means another thread panicked mid-write of a plain Option: the value is still usable.
    let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
    *guard = value;
}

impl<S> Deref for Session<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.data
    }
}

impl<S> DerefMut for Session<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.data
    }
}

/// Shows the id's hash prefix and state, never the data: `{:?}` of a request must not put
/// personal data or tokens kept in the session into logs.
impl<S> fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("is_new", &self.is_new())
            .finish_non_exhaustive()
    }
}
