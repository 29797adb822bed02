//! The session middleware: [`SessionApp`] wraps any [`Endpoint`], lends it the request's session
//! and saves what came back.
//!
//! The order of work for one request (see `docs/sessions.md`):
//! 1. read the ids the request presents ([`Transport`]), load the record by the id's hash; an
//!    unknown or expired id is never adopted (strict mode, as Pesto), and a session whose data
//!    does not decode as the app's type is replaced by a new one when the dispatcher opens it;
//! 2. in querystring mode, redirect a GET without a valid id to the same URL carrying a new one;
//! 3. lend the session to the inner endpoint through a [`SessionSlot`] and call it;
//! 4. unless the handler failed or the answer is a 5xx, make the store decision (create / update /
//!    touch / remove) — before the response head is returned, so the client's next request sees
//!    it — and announce a new or changed id.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use http::request::Parts;
use http::StatusCode;

use super::config::SessionMiddleware;
use super::envelope;
use super::inspector::SessionInspector;
use super::purge::PurgeTask;
use super::shared::{Found, Shared};
use super::store::{self, SessionStore};
use super::transport::{Reply, Transport};
use crate::endpoint::{AppCheck, Endpoint};
use crate::exchange::session::{
    LentSession, ReturnedSession, SessionSlot, SlotOutcome, DEFAULT_DATA,
};
use crate::exchange::{IntoResponse, RawRequest, Response, SessionId};

/// An endpoint wrapped in session middleware: an [`Endpoint`] to serve or test.
///
/// The background purge starts with the app ([`Endpoint::start`], which the server calls), or
/// with its first request when nothing started it, and stops when the app is dropped (which the
/// server does at shutdown).
pub struct SessionApp<E> {
    shared: Arc<Shared>,
    purge: PurgeTask,
    inner: E,
}

impl<E> fmt::Debug for SessionApp<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionApp")
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// Wraps `app` — a [`Dispatcher`](crate::Dispatcher) whose handlers take
    /// `&mut Request<S>`, a [`Mount`](crate::Mount) of one, or any other [`Endpoint`].
    pub fn wrap<E: Endpoint>(self, app: E) -> SessionApp<E> {
        let transport = self.config.transport();
        SessionApp {
            shared: Arc::new(Shared {
                store: self.store,
                config: self.config,
                transport,
                clock: self.clock,
            }),
            purge: PurgeTask::default(),
            inner: app,
        }
    }
}

impl<E> SessionApp<E> {
    /// Removes every session idle for longer than `olderthan`; returns how many.
    ///
    /// # Errors
    /// The store's error.
    pub async fn purge(&self, olderthan: std::time::Duration) -> store::Result<u64> {
        self.shared.purge(olderthan).await
    }

    /// The session store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.shared.store
    }

    /// A handle that reads and seeds this app's sessions, for
    /// [`TestApp::with_sessions`](crate::TestApp::with_sessions).
    pub fn inspector(&self) -> SessionInspector {
        SessionInspector::new(Arc::clone(&self.shared))
    }

    /// The wrapped endpoint.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: Endpoint> Endpoint for SessionApp<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        self.purge.ensure_started(&self.shared);
        Box::pin(async move {
            let response = self.handle(req).await;
            self.shared.transport.decorate(response)
        })
    }

    fn start(&self) {
        self.purge.ensure_started(&self.shared);
        self.inner.start();
    }

    fn check(&self, check: &mut AppCheck) {
        check.with_sessions(|check| self.inner.check(check));
    }
}

/// The session a request arrived with (or a fresh one), and what the store held.
struct Loaded {
    id: SessionId,
    /// The stored data's JSON; `None` for a new session.
    json: Option<Vec<u8>>,
    baseline: Baseline,
}

/// What the store held when the request began, to decide what to write afterwards.
struct Baseline {
    /// The record's last access (`None` for a new session), for the touch interval.
    last_access: Option<SystemTime>,
    /// When the session began, for the absolute lifetime.
    created: SystemTime,
}

impl<E: Endpoint> SessionApp<E> {
    async fn handle(&self, req: RawRequest) -> Response {
        let shared = &*self.shared;
        let transport = &shared.transport;
        let now = shared.clock.now();
        let (mut parts, body) = req.into_parts();
        // A forged cross-site request is refused before any session is loaded or made.
        if let Some(protection) = &shared.config.cross_origin {
            if let Err(refused) = protection.check(&parts) {
                return refused.into_response();
            }
        }
        let ids = transport.incoming_ids(&mut parts);
        let loaded = match shared.load(ids, now).await {
            Ok(loaded) => loaded,
            Err(response) => return response,
        };
        let is_new = loaded.json.is_none();
        if is_new && transport.redirects_new_visitors(&parts, shared.config.lazy) {
            return shared
                .redirect_new_visitor(&loaded.id, &mut parts, now)
                .await;
        }

        // Links rendered by this request carry the id even in lazy mode, where it becomes real
        // only if the handler writes to the session: an id that was never stored is refused
        // on the next request anyway.
        let reply = Reply::new(&mut parts, transport.live_id(&loaded.id));
        let slot = SessionSlot::lend(LentSession {
            id: loaded.id.clone(),
            json: loaded.json,
            live: reply.live.clone(),
        });
        parts.extensions.insert(slot.clone());

        let response = self
            .inner
            .call(http::Request::from_parts(parts, body))
            .await;

        let outcome = slot.outcome();
        let lost = matches!(outcome, SlotOutcome::Lost);
        let response = match outcome {
            // Whatever failed around the handler, a 5xx saves nothing either.
            _ if response.status().is_server_error() => response,
            SlotOutcome::Returned(returned) => {
                shared
                    .persist(response, returned, &loaded.baseline, &reply, now)
                    .await
            }
            SlotOutcome::Unopened(lent) => {
                shared
                    .persist_unopened(response, lent, &loaded.baseline, &reply, now)
                    .await
            }
            SlotOutcome::Lost => response,
        };
        if lost || response.status().is_server_error() {
            // Nothing was saved: redirects carry the id the request arrived with, if any.
            reply.restore_live_id((!is_new).then_some(&loaded.id));
        }
        transport.rewrite_location(response, &reply)
    }
}

/// The store decision for a session a handler gave back.
enum Write {
    /// The session ended: remove what was stored (if anything) and expire the id.
    Remove(Option<SessionId>),
    /// The session ended and was written to afterwards: remove what was stored (if anything) and
    /// start a new session with the data written, under a fresh id.
    Restart { ended: Option<SessionId> },
    /// `cycle_id()`: store the data under the new id, remove the old one, announce the new id.
    Renew { old: SessionId },
    /// A new session: create it and announce its id.
    Create,
    /// Changed data: replace the stored data (only if the record still exists).
    Update,
    /// Unchanged data, last access due for a refresh.
    Touch,
    /// Nothing to write.
    Nothing,
}

impl Shared {
    /// Finds the first presented id with a live session, or draws a new id.
    async fn load(&self, ids: Vec<SessionId>, now: SystemTime) -> Result<Loaded, Response> {
        for id in ids {
            let key = id.key();
            match self.find(key, now).await {
                Err(error) => {
                    tracing::error!(%error, session = ?key, "session store failed on load");
                    return Err(Response::error_page(StatusCode::SERVICE_UNAVAILABLE));
                }
                Ok(Found::Live(record)) => {
                    return Ok(Loaded {
                        id,
                        json: Some(record.json),
                        baseline: Baseline {
                            last_access: Some(record.last_access),
                            created: record.created,
                        },
                    })
                }
                Ok(Found::Dead { expired: true }) => {
                    if let Err(error) = self.store.remove(key).await {
                        tracing::warn!(%error, session = ?key, "could not remove an expired session");
                    }
                }
                Ok(Found::Dead { expired: false }) => {
                    tracing::warn!(session = ?key, "stored record is not a session; starting a new one");
                }
                Ok(Found::Absent) => {}
            }
        }
        let id = SessionId::generate().map_err(|error| {
            tracing::error!(%error, "cannot generate a session id");
            Response::internal_server_error()
        })?;
        Ok(Loaded {
            id,
            json: None,
            baseline: Baseline {
                last_access: None,
                created: now,
            },
        })
    }

    /// Querystring mode, GET without a valid id: store a fresh session and send the client to
    /// the same URL carrying its id (Pesto).
    async fn redirect_new_visitor(
        &self,
        id: &SessionId,
        parts: &mut Parts,
        now: SystemTime,
    ) -> Response {
        match self.create(id, DEFAULT_DATA, now).await {
            Ok(Created::Yes) => self.transport.redirect_carrying(id, parts),
            // No id to carry: the visitor cannot be served a session now.
            Ok(Created::Full) => store_full(),
            Err(response) => response,
        }
    }

    /// Creates a record; an existing one is never overwritten (docs/security.md, "Session ids").
    /// A store at its cap is not an error here: the caller decides what a refused session means.
    async fn create(
        &self,
        id: &SessionId,
        json: &[u8],
        now: SystemTime,
    ) -> Result<Created, Response> {
        let key = id.key();
        // A new record, or a renewed id: its lifetime starts now.
        let record = envelope::encode(now, json);
        if !self.fits(&record, id) {
            return Err(Response::internal_server_error());
        }
        match self.store.create(key, &record, self.lease(now)).await {
            Ok(true) => Ok(Created::Yes),
            Err(store::Error::Full { limit }) => {
                tracing::debug!(limit, "session store full; no new session");
                Ok(Created::Full)
            }
            Ok(false) => {
                tracing::error!(session = ?key, "session id collision on create; refusing to overwrite");
                Err(Response::internal_server_error())
            }
            Err(error) => {
                tracing::error!(%error, session = ?key, "session store failed on create");
                Err(Response::internal_server_error())
            }
        }
    }

    /// Whether a record is within the store's size limit. One that is not is never written: the
    /// request answers 500, which leaks nothing, the log says why, and the stored session, if
    /// any, stays as it was. Stores refuse such a record themselves (`Error::TooLarge`, their
    /// contract with every caller); checking here first names the session in the log and spares
    /// the trip to the store.
    fn fits(&self, record: &[u8], id: &SessionId) -> bool {
        let limit = self.store.max_record_size();
        if record.len() > limit {
            tracing::error!(
                session = ?id,
                size = record.len(),
                limit,
                "session data too large to store; nothing saved (see the store's with_max_record_size)"
            );
            return false;
        }
        true
    }

    /// What to write for a session a handler gave back.
    fn decide(&self, returned: &ReturnedSession, baseline: &Baseline, now: SystemTime) -> Write {
        let state = &returned.state;
        if state.invalidated {
            let stored = state
                .cycled_from
                .clone()
                .or_else(|| (!state.is_new).then(|| state.id.clone()));
            if returned.changed {
                return Write::Restart { ended: stored };
            }
            return Write::Remove(stored);
        }
        if let Some(old) = &state.cycled_from {
            return Write::Renew { old: old.clone() };
        }
        if state.is_new {
            return if !self.config.lazy || returned.changed || state.force_save {
                Write::Create
            } else {
                Write::Nothing
            };
        }
        if state.force_save || returned.changed {
            Write::Update
        } else if self.touch_due(baseline.last_access, now) {
            Write::Touch
        } else {
            Write::Nothing
        }
    }

    /// Makes the store decision for `returned` and tells the client what changed.
    async fn persist(
        &self,
        response: Response,
        returned: ReturnedSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Response {
        let state = &returned.state;
        let store_error = |error: store::Error| {
            tracing::error!(%error, session = ?state.id, "session store failed on save");
            Response::internal_server_error()
        };
        let announce = match self.decide(&returned, baseline, now) {
            Write::Remove(stored) => {
                if let Some(id) = stored {
                    if let Err(e) = self.store.remove(id.key()).await {
                        return store_error(e);
                    }
                }
                if state.is_new {
                    return response;
                }
                return self.transport.expire(response, reply);
            }
            Write::Restart { ended } => {
                // Written to after `invalidate()`: the ended session goes, and what was written
                // starts a new one under a fresh id (the session guide, "Ending a session").
                if let Some(id) = ended {
                    if let Err(e) = self.store.remove(id.key()).await {
                        return store_error(e);
                    }
                }
                let Ok(fresh) = SessionId::generate() else {
                    tracing::error!(
                        "the random generator failed; no new session after invalidate()"
                    );
                    return Response::internal_server_error();
                };
                return match self.create(&fresh, returned.data(), now).await {
                    Ok(Created::Yes) => self.transport.announce(response, &fresh, reply),
                    Ok(Created::Full) => store_full(),
                    Err(response) => response,
                };
            }
            Write::Renew { old } => {
                // A logout elsewhere during this request ended the session: do not re-issue its
                // data under a new id (docs/security.md, "Session lifecycle").
                match self.store.load(old.key()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::info!(session = ?old, "session ended during the request; not renewed");
                        return response;
                    }
                    Err(e) => return store_error(e),
                }
                let mut old_removed = false;
                let mut created = self.create(&state.id, returned.data(), now).await;
                if let Ok(Created::Full) = created {
                    // A renewal leaves the count unchanged: make the room the old record takes,
                    // then create again, so a full store never blocks a login's cycle_id().
                    if let Err(e) = self.store.remove(old.key()).await {
                        return store_error(e);
                    }
                    old_removed = true;
                    created = self.create(&state.id, returned.data(), now).await;
                }
                match created {
                    Ok(Created::Yes) => {}
                    // Another create took the room meanwhile: the old session is gone (the safe
                    // side), so the client's id is expired along with the 503.
                    Ok(Created::Full) if old_removed => {
                        return self.transport.expire(store_full(), reply);
                    }
                    Ok(Created::Full) => return store_full(),
                    Err(response) => return response,
                }
                if !old_removed {
                    if let Err(e) = self.store.remove(old.key()).await {
                        return store_error(e);
                    }
                }
                true
            }
            Write::Create => {
                let anonymous = !returned.changed && !state.force_save;
                match self.create(&state.id, returned.data(), now).await {
                    Ok(Created::Yes) => true,
                    // A first visit that wrote nothing is served without a session.
                    Ok(Created::Full) if anonymous => {
                        reply.restore_live_id(None);
                        return response;
                    }
                    Ok(Created::Full) => return store_full(),
                    Err(response) => return response,
                }
            }
            Write::Update => {
                // A request that began before a logout elsewhere must not bring the session back
                // (rack-session CVE-2025-46336): only an existing record is updated.
                let key = state.id.key();
                let record = envelope::encode(baseline.created, returned.data());
                if !self.fits(&record, &state.id) {
                    return Response::internal_server_error();
                }
                match self.store.update(key, &record, self.lease(now)).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::info!(session = ?key, "session ended during the request; not saved")
                    }
                    Err(e) => return store_error(e),
                }
                self.cookie_refresh_due(baseline, now)
            }
            Write::Touch => {
                if let Err(e) = self.store.touch(state.id.key(), self.lease(now)).await {
                    return store_error(e);
                }
                self.transport.has_max_age()
            }
            Write::Nothing => false,
        };
        if announce || !state.is_new {
            // Querystring mode carries the id of every live session; a cookie is sent only
            // when the id is new or its Max-Age needs refreshing.
            match (&self.transport, announce) {
                (Transport::Cookie(_), false) => response,
                _ => self.transport.announce(response, &state.id, reply),
            }
        } else {
            // A lazy session that was never written: no id to carry.
            reply.restore_live_id(None);
            response
        }
    }

    /// A session no handler layer opened (a 404 before any dispatcher, an endpoint without
    /// sessions): an existing one is touched when due, a new one is stored in eager mode with the
    /// default data.
    async fn persist_unopened(
        &self,
        response: Response,
        lent: LentSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Response {
        if lent.json.is_some() {
            if self.touch_due(baseline.last_access, now) {
                if let Err(error) = self.store.touch(lent.id.key(), self.lease(now)).await {
                    tracing::error!(%error, session = ?lent.id, "session store failed on save");
                    return Response::internal_server_error();
                }
                if self.transport.has_max_age() {
                    return self.transport.announce(response, &lent.id, reply);
                }
            }
            return response;
        }
        if self.config.lazy {
            reply.restore_live_id(None);
            return response;
        }
        match self.create(&lent.id, DEFAULT_DATA, now).await {
            Ok(Created::Yes) => self.transport.announce(response, &lent.id, reply),
            Ok(Created::Full) => {
                reply.restore_live_id(None);
                response
            }
            Err(response) => response,
        }
    }

    /// Whether a saved session's cookie `Max-Age` is due for a refresh.
    fn cookie_refresh_due(&self, baseline: &Baseline, now: SystemTime) -> bool {
        self.transport.has_max_age() && self.touch_due(baseline.last_access, now)
    }
}

/// What became of a [`Shared::create`].
enum Created {
    Yes,
    /// The store is at its cap ([`store::Error::Full`]).
    Full,
}

/// The answer when a session that must be stored cannot be, because the store is full: 503 with a
/// `Retry-After`, as the purge makes room (docs/security.md, "Storage").
fn store_full() -> Response {
    tracing::warn!("session store full; request refused with 503");
    Response::text("503 Service Unavailable\n")
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .with_header(http::header::RETRY_AFTER, "60")
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
