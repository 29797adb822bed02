//! What the middleware writes after a request: the store decision ([`Write`]) for the session the
//! handler gave back, the writes themselves, and what the client is told (a new id, an expired
//! one). The two writes that race other requests of the same session — saving changes and
//! renewing the id — are in `concurrent.rs`.

use std::time::SystemTime;

use futures_util::future::BoxFuture;
use http::StatusCode;

use super::concurrent::Saved;
use super::envelope;
use super::reply::Reply;
use super::shared::{Shared, MAX_FORWARDS};
use super::store::{self, Version};
use super::transport::Transport;
use crate::exchange::session::{LentSession, ReturnedSession};
use crate::exchange::session_json::DEFAULT_DATA;
use crate::exchange::{Flash, RandomError, Response, SessionId, SessionKey};

/// What the store held when the request began, to decide what to write afterwards.
pub(super) struct Baseline {
    /// The record's last access (`None` for a new session), for the touch interval.
    pub(super) last_access: Option<SystemTime>,
    /// When the session began, for the absolute lifetime.
    pub(super) created: SystemTime,
    /// The record's version, which a save must still find (compare-and-swap).
    pub(super) version: Version,
    /// When the id presented was renewed and its key is a forward: (that key, the session's).
    pub(super) forward: Option<(SessionKey, SessionKey)>,
}

impl Baseline {
    /// What a new session starts from.
    pub(super) fn new_session(now: SystemTime) -> Self {
        Baseline {
            last_access: None,
            created: now,
            version: Version::FIRST,
            forward: None,
        }
    }

    /// The key the session of `id` lives under: where the forward led, if `id` was presented
    /// through one, else `id`'s own.
    pub(super) fn key_of<'a>(&'a self, id: &'a SessionId) -> &'a SessionKey {
        match &self.forward {
            Some((from, to)) if from == id.key() => to,
            _ => id.key(),
        }
    }
}

/// The store decision for a session a handler gave back.
enum Write {
    /// The session ended: remove what was stored (if anything) and expire the id.
    Remove(Option<SessionId>),
    /// The session ended and was written to afterwards: remove what was stored (if anything) and
    /// start a new session with the data written, under a fresh id.
    Restart { ended: Option<SessionId> },
    /// `cycle_id()`: store the data under the new id, leave a forward under the old one (or
    /// remove it), announce the new id.
    Renew { old: SessionId },
    /// A new session: create it and announce its id.
    Create,
    /// Changed data: replace the stored data (only if the record still exists, merging with
    /// any save of another request since this one loaded it).
    Update,
    /// Unchanged data, last access due for a refresh.
    Touch,
    /// Nothing to write.
    Nothing,
}

/// The store writes [`Shared::persist`] leaves to do; they answer the response to send.
pub(super) type Writes<'a> = BoxFuture<'a, Response>;

/// What became of a [`Shared::create`].
pub(super) enum Created {
    Yes,
    /// The store is at its cap ([`store::Error::Full`]).
    Full,
}

impl Shared {
    /// Creates a record of a session begun at `created`; an existing one is never overwritten
    /// (docs/security.md, "Session ids"). A store at its cap is not an error here: the caller
    /// decides what a refused session means.
    pub(super) async fn create(
        &self,
        id: &SessionId,
        json: &[u8],
        flashes: &[Flash],
        created: SystemTime,
        now: SystemTime,
    ) -> Result<Created, Response> {
        let key = id.key();
        let record = envelope::encode(created, json, flashes);
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
    pub(super) fn fits(&self, record: &[u8], id: &SessionId) -> bool {
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
                .or_else(|| state.id.get().filter(|_| !state.is_new).cloned());
            // `invalidate()` cleared the flash messages: any left were added after it.
            if returned.changed || !returned.flashes().is_empty() {
                return Write::Restart { ended: stored };
            }
            return Write::Remove(stored);
        }
        if let Some(old) = &state.cycled_from {
            return Write::Renew { old: old.clone() };
        }
        if state.is_new {
            return if !self.config.lazy || returned.has_changes() || state.force_save {
                Write::Create
            } else {
                Write::Nothing
            };
        }
        if state.force_save || returned.has_changes() {
            Write::Update
        } else if self.touch_due(baseline.last_access, now) {
            Write::Touch
        } else {
            Write::Nothing
        }
    }

    /// Makes the store decision for `returned` and tells the client what changed in `response`:
    /// at once when nothing is to be written (most requests), else through the returned store
    /// writes, boxed so that their large state is not part of every request's future.
    pub(super) fn persist<'a>(
        &'a self,
        response: &mut Response,
        returned: ReturnedSession,
        baseline: &'a Baseline,
        reply: &'a Reply,
        now: SystemTime,
    ) -> Option<Writes<'a>> {
        match self.decide(&returned, baseline, now) {
            // In place: most requests end here, and taking the response out for `tell` would
            // leave an allocated `Response` behind.
            Write::Nothing => {
                self.tell(response, &returned, baseline, reply, false, false);
                None
            }
            write => {
                let answer = std::mem::take(response);
                Some(Box::pin(
                    self.write(write, answer, returned, baseline, reply, now),
                ))
            }
        }
    }

    /// Carries out `write`, the store decision for `returned`, and tells the client.
    async fn write(
        &self,
        write: Write,
        mut response: Response,
        returned: ReturnedSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Response {
        let state = &returned.state;
        // Set when the session turned out to have been renewed by another request meanwhile:
        // the id this request carries is then the old one.
        let mut renewed_meanwhile = false;
        let announce = match write {
            Write::Remove(stored) => {
                if let Err(response) = self.end(stored.as_ref(), baseline).await {
                    return response;
                }
                if state.is_new {
                    return response;
                }
                return self.transport.expire(response, reply);
            }
            Write::Restart { ended } => {
                // Written to after `invalidate()`: the ended session goes, and what was written
                // starts a new one under a fresh id (the session guide, "Ending a session").
                if let Err(response) = self.end(ended.as_ref(), baseline).await {
                    return response;
                }
                let Ok(fresh) = SessionId::generate() else {
                    tracing::error!(
                        "the random generator failed; no new session after invalidate()"
                    );
                    return Response::internal_server_error();
                };
                return match self
                    .create(&fresh, returned.data(), returned.flashes(), now, now)
                    .await
                {
                    Ok(Created::Yes) => self.transport.announce(response, &fresh, reply),
                    Ok(Created::Full) => store_full(),
                    Err(response) => response,
                };
            }
            Write::Renew { old } => match self.renew(&old, &returned, baseline, reply, now).await {
                Ok(true) => true,
                Ok(false) => return response,
                Err(response) => return response,
            },
            Write::Create => {
                let anonymous = !returned.has_changes() && !state.force_save;
                let id = match state.id.get_or_draw() {
                    Ok(id) => id,
                    Err(error) => return random_failed(&error),
                };
                match self
                    .create(id, returned.data(), returned.flashes(), now, now)
                    .await
                {
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
                let Some(id) = state.id.get() else {
                    // Only a session that was loaded is updated, and its id came with it.
                    return response;
                };
                let key = baseline.key_of(id);
                match self.save_changes(id, key, &returned, baseline, now).await {
                    Ok(Saved::Written { renewed }) => renewed_meanwhile = renewed,
                    Ok(Saved::Ended) => {}
                    Err(response) => return response,
                }
                self.cookie_refresh_due(baseline, now)
            }
            Write::Touch => {
                let Some(id) = state.id.get() else {
                    // Only a session that was loaded is touched, and its id came with it.
                    return response;
                };
                let key = baseline.key_of(id);
                if let Err(e) = self.store.touch(key, self.lease(now)).await {
                    return store_error(&e, id);
                }
                // A cookie refresh must not hand back an id a concurrent cycle_id() replaced.
                if self.transport.has_max_age() && self.holds_forward(key).await {
                    renewed_meanwhile = true;
                }
                self.transport.has_max_age()
            }
            // `persist` answers at once when there is nothing to write; never sent here.
            Write::Nothing => false,
        };
        self.tell(
            &mut response,
            &returned,
            baseline,
            reply,
            announce,
            renewed_meanwhile,
        );
        response
    }

    /// Tells the client, in `response`, what became of its session once it is stored: its id
    /// when `announce` says so (new, or its cookie's `Max-Age` to refresh), in querystring mode
    /// the id of any live session. `renewed_meanwhile`: another request renewed the session
    /// since this one loaded it, so the id this request carries is the old one.
    fn tell(
        &self,
        response: &mut Response,
        returned: &ReturnedSession,
        baseline: &Baseline,
        reply: &Reply,
        announce: bool,
        renewed_meanwhile: bool,
    ) {
        let state = &returned.state;
        // A new session that was not stored has no id: nothing to carry.
        let id = state.id.get().filter(|_| announce || !state.is_new);
        if let Some(id) = id {
            // Querystring mode carries the id of every live session; a cookie is sent only
            // when the id is new or its Max-Age needs refreshing — and never for an id that
            // reached its session through a forward: the browser already holds the new one.
            let forwarded =
                (baseline.forward.is_some() || renewed_meanwhile) && state.cycled_from.is_none();
            match (&self.transport, announce) {
                (Transport::Cookie(_), false) => {}
                (Transport::Cookie(_), true) if forwarded => {}
                _ => self.transport.announce_in(response, id, reply),
            }
        } else {
            // A lazy session that was never written: no id to carry.
            reply.restore_live_id(None);
        }
    }

    /// Removes an ended session, the one `stored` (the id the request arrived with) reaches,
    /// and the forward it came through, if any — following the forwards a concurrent
    /// `cycle_id()` may have left meanwhile, so that a logout racing a renewal ends the renewed
    /// session too.
    async fn end(&self, stored: Option<&SessionId>, baseline: &Baseline) -> Result<(), Response> {
        let Some(id) = stored else {
            return Ok(());
        };
        let key = baseline.key_of(id);
        if key != id.key() {
            if let Err(e) = self.store.remove(id.key()).await {
                return Err(store_error(&e, id));
            }
        }
        let mut next = Some(key.clone());
        for _ in 0..=MAX_FORWARDS {
            let Some(key) = next.take() else { break };
            let forward = match self.store.load(&key).await {
                Ok(record) => record.and_then(|r| envelope::decode_forward(&r.data)),
                Err(e) => return Err(store_error(&e, id)),
            };
            if let Err(e) = self.store.remove(&key).await {
                return Err(store_error(&e, id));
            }
            next = forward.map(|f| f.to);
        }
        Ok(())
    }

    /// Whether the record under `key` is a forward now (its session was renewed meanwhile).
    async fn holds_forward(&self, key: &SessionKey) -> bool {
        match self.store.load(key).await {
            Ok(Some(record)) => envelope::decode_forward(&record.data).is_some(),
            _ => false,
        }
    }

    /// A session no handler layer opened (a 404 before any dispatcher, an endpoint without
    /// sessions): an existing one is touched when due, a new one is stored in eager mode with the
    /// default data.
    pub(super) fn persist_unopened<'a>(
        &'a self,
        response: &mut Response,
        lent: LentSession,
        baseline: &'a Baseline,
        reply: &'a Reply,
        now: SystemTime,
    ) -> Option<Writes<'a>> {
        if lent.json.is_some() && !self.touch_due(baseline.last_access, now) {
            return None;
        }
        if lent.json.is_none() && self.config.lazy {
            reply.restore_live_id(None);
            return None;
        }
        let answer = std::mem::take(response);
        Some(Box::pin(
            self.write_unopened(answer, lent, baseline, reply, now),
        ))
    }

    /// The store writes for an unopened session that needs one: a touch, or (eager mode) a new
    /// session's record.
    async fn write_unopened(
        &self,
        response: Response,
        lent: LentSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Response {
        let id = match lent.id.get_or_draw() {
            Ok(id) => id,
            Err(error) => return random_failed(&error),
        };
        if lent.json.is_some() {
            let key = baseline.key_of(id);
            if let Err(error) = self.store.touch(key, self.lease(now)).await {
                return store_error(&error, id);
            }
            if self.transport.has_max_age()
                && baseline.forward.is_none()
                && !self.holds_forward(key).await
            {
                return self.transport.announce(response, id, reply);
            }
            return response;
        }
        match self.create(id, DEFAULT_DATA, &[], now, now).await {
            Ok(Created::Yes) => self.transport.announce(response, id, reply),
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

/// The answer when a session needs its id drawn and the generator cannot be seeded: a plain
/// 500, with the error logged.
pub(super) fn random_failed(error: &RandomError) -> Response {
    tracing::error!(%error, "cannot generate a session id");
    Response::internal_server_error()
}

/// The answer when the store failed on a save: a plain 500, with the error logged.
pub(super) fn store_error(error: &store::Error, id: &SessionId) -> Response {
    tracing::error!(%error, session = ?id, "session store failed on save");
    Response::internal_server_error()
}

/// The answer when a session that must be stored cannot be, because the store is full: 503 with a
/// `Retry-After`, as the purge makes room (docs/security.md, "Storage").
pub(super) fn store_full() -> Response {
    tracing::warn!("session store full; request refused with 503");
    Response::text("503 Service Unavailable\n")
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .with_header(http::header::RETRY_AFTER, "60")
}
