//! The two writes that race other requests of the same session: saving changed data and renewing
//! the id (the session guide, "Concurrent requests").
//!
//! Both write with the store's compare-and-swap over the version this request loaded. When
//! another request saved the session meanwhile, the write is refused; this request then reloads
//! what the store holds, re-applies its own changes to it ([`merge`]) and tries again, at most
//! [`MAX_SAVE_ATTEMPTS`] times — no save is silently lost. The first try takes no lock, so
//! requests of one session never wait on each other while they run; only the retries of a
//! conflict queue, per session in this process ([`RetryLocks`]), so that a hundred requests
//! saving one session at once settle in a hundred retries rather than collide again and again.

use std::borrow::Cow;
use std::time::SystemTime;

use http::StatusCode;

use super::envelope;
use super::merge::{merge, Merged};
use super::save::{store_error, store_full, Baseline, Created};
use super::shared::{Shared, MAX_FORWARDS};
use super::store::{Lease, UpdateOutcome, Version};
use super::transport::Reply;
use super::OnConflict;
use crate::exchange::session::ReturnedSession;
use crate::exchange::{Flash, Response, SessionId, SessionKey};

/// How many times a save is tried before the request gives up with a 500: each retry means yet
/// another request saved the same session meanwhile. With [`backoff`] between them the tries
/// span a few seconds at most, through which hundreds of concurrent saves of one session get
/// in; two tabs settle in one retry.
pub(super) const MAX_SAVE_ATTEMPTS: u32 = 16;

/// How many locks the retries of conflicting saves are spread over (by the session's key).
const RETRY_LOCKS: usize = 64;

/// The locks conflicting saves queue on for their retries, one of [`RETRY_LOCKS`] per session
/// by its key: held for one reload-merge-save, so a retry under it loses only to a first try
/// or to another process.
#[derive(Debug)]
pub(super) struct RetryLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for RetryLocks {
    fn default() -> Self {
        RetryLocks(
            (0..RETRY_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        )
    }
}

impl RetryLocks {
    /// Waits for the lock of `key`'s session.
    async fn lock(&self, key: &SessionKey) -> tokio::sync::MutexGuard<'_, ()> {
        // The key is a SHA-256 in hex: its first two digits are uniform.
        let stripe = key
            .as_str()
            .get(..2)
            .and_then(|hex| usize::from_str_radix(hex, 16).ok())
            .unwrap_or(0);
        self.0[stripe % self.0.len()].lock().await
    }
}

/// A session as the store holds it now.
struct Current {
    key: SessionKey,
    json: Vec<u8>,
    flashes: Vec<Flash>,
    created: SystemTime,
    version: Version,
}

impl Shared {
    /// Saves a loaded session's changed data over the version this request loaded, under `key`;
    /// when another request saved it since, merges and tries again. A session ended meanwhile
    /// stays ended (docs/security.md, "Session lifecycle"; rack-session CVE-2025-46336).
    pub(super) async fn save_changes(
        &self,
        key: &SessionKey,
        returned: &ReturnedSession,
        baseline: &Baseline,
        now: SystemTime,
    ) -> Result<(), Response> {
        let id = &returned.state.id;
        let mut key = Cow::Borrowed(key);
        let mut data = Cow::Borrowed(returned.data());
        let mut flashes = Cow::Borrowed(returned.flashes());
        let (mut version, mut created) = (baseline.version, baseline.created);
        let mut queued = None;
        for attempt in 0..MAX_SAVE_ATTEMPTS {
            backoff(attempt).await;
            let record = envelope::encode(created, &data, &flashes);
            if !self.fits(&record, id) {
                return Err(Response::internal_server_error());
            }
            match self
                .store
                .update(&key, &record, version, self.lease(now))
                .await
            {
                Ok(UpdateOutcome::Written) => return Ok(()),
                Ok(UpdateOutcome::Absent) => {
                    tracing::info!(session = ?id, "session ended during the request; not saved");
                    return Ok(());
                }
                Ok(UpdateOutcome::Conflict) => {}
                Err(e) => return Err(store_error(&e, id)),
            }
            // Another request saved the session since this one loaded it (or since the last try).
            if queued.is_none() {
                queued = Some(self.retry_locks.lock(&key).await);
            }
            let Some(current) = self
                .current(&key, true)
                .await
                .map_err(|e| store_error(&e, id))?
            else {
                tracing::info!(session = ?id, "session ended during the request; not saved");
                return Ok(());
            };
            let merged = self.judge(returned, &current, id).map_err(Response::from)?;
            flashes = Cow::Owned(merged_flashes(returned, &current));
            (data, version, created) = (Cow::Owned(merged), current.version, current.created);
            key = Cow::Owned(current.key);
        }
        Err(gave_up(id))
    }

    /// `cycle_id()`: stores the session under the new id, then turns the old id's record into a
    /// forward to it for the renewal grace window — or removes it, when the window is zero or
    /// the request changed the data.
    /// `Ok(false)` when the session ended during the request: it is not renewed.
    pub(super) async fn renew(
        &self,
        old: &SessionId,
        returned: &ReturnedSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Result<bool, Response> {
        let new = &returned.state.id;
        let old_key = baseline.key_of(old);
        // A logout elsewhere during this request ended the session: do not re-issue its data
        // under a new id (docs/security.md, "Session lifecycle").
        let Some(mut current) = self
            .current(old_key, false)
            .await
            .map_err(|e| store_error(&e, old))?
        else {
            tracing::info!(session = ?old, "session ended during the request; not renewed");
            return Ok(false);
        };
        let (mut data, mut flashes) = if current.version == baseline.version {
            (returned.data().to_vec(), returned.flashes().to_vec())
        } else {
            let data = self
                .judge(returned, &current, new)
                .map_err(Response::from)?;
            (data, merged_flashes(returned, &current))
        };
        let mut old_removed = false;
        let mut created = self.create(new, &data, &flashes, now).await;
        if let Ok(Created::Full) = created {
            // A renewal leaves the count unchanged: make the room the old record takes, then
            // create again, so a full store never blocks a login's cycle_id(). No forward then.
            if let Err(e) = self.store.remove(old_key).await {
                return Err(store_error(&e, old));
            }
            old_removed = true;
            created = self.create(new, &data, &flashes, now).await;
        }
        match created {
            Ok(Created::Yes) => {}
            // Another create took the room meanwhile: the old session is gone (the safe side),
            // so the client's id is expired along with the 503.
            Ok(Created::Full) if old_removed => {
                return Err(self.transport.expire(store_full(), reply))
            }
            Ok(Created::Full) => return Err(store_full()),
            Err(response) => return Err(response),
        }
        if old_removed {
            return Ok(true);
        }
        let grace = self.config.renewal_grace;
        // A forward only for a rotation: after a change of the data (a login) the old id must
        // reach nothing, or whoever planted it would be let into the new state (fixation).
        if grace.is_zero() || returned.changed {
            if let Err(e) = self.store.remove(old_key).await {
                return Err(store_error(&e, old));
            }
            return Ok(true);
        }
        let forward = envelope::encode_forward(new.key(), now + grace);
        // The forward lives for the window only (a store with native expiry drops it then).
        let lease = Lease { now, ttl: grace };
        let mut queued = None;
        for attempt in 0..MAX_SAVE_ATTEMPTS {
            backoff(attempt).await;
            match self
                .store
                .update(old_key, &forward, current.version, lease)
                .await
            {
                Ok(UpdateOutcome::Written) => return Ok(true),
                Ok(UpdateOutcome::Absent) => {
                    tracing::info!(session = ?old, "session ended during the request; not renewed");
                    self.discard(new).await;
                    return Ok(false);
                }
                Ok(UpdateOutcome::Conflict) => {}
                Err(e) => {
                    self.discard(new).await;
                    return Err(store_error(&e, old));
                }
            }
            // Saved by another request meanwhile: bring its changes into the new session, which
            // no other request can reach yet (the forward is not written), then try again.
            if queued.is_none() {
                queued = Some(self.retry_locks.lock(old_key).await);
            }
            let Some(now_current) = self
                .current(old_key, false)
                .await
                .map_err(|e| store_error(&e, old))?
            else {
                tracing::info!(session = ?old, "session ended during the request; not renewed");
                self.discard(new).await;
                return Ok(false);
            };
            current = now_current;
            data = self
                .judge(returned, &current, new)
                .map_err(Response::from)?;
            flashes = merged_flashes(returned, &current);
            let record = envelope::encode(now, &data, &flashes);
            if let Err(e) = self.store.store(new.key(), &record, self.lease(now)).await {
                return Err(store_error(&e, new));
            }
        }
        self.discard(new).await;
        Err(gave_up(old))
    }

    /// Removes a session this request created and will not hand out.
    async fn discard(&self, id: &SessionId) {
        if let Err(error) = self.store.remove(id.key()).await {
            tracing::warn!(%error, session = ?id, "could not remove an unused renewed session");
        }
    }

    /// The session under `key` as the store holds it now, following a forward left by a
    /// renewal when `follow` (this request's save then goes to the renewed session). `None` if
    /// there is none. Lifetimes are not checked: the request already loaded it alive.
    async fn current(&self, key: &SessionKey, follow: bool) -> super::Result<Option<Current>> {
        let mut key = key.clone();
        for _ in 0..=MAX_FORWARDS {
            let Some(record) = self.store.load(&key).await? else {
                return Ok(None);
            };
            if let Some(stored) = envelope::decode(&record.data) {
                return Ok(Some(Current {
                    key,
                    json: stored.data,
                    flashes: stored.flashes,
                    created: stored.created,
                    version: record.version,
                }));
            }
            match envelope::decode_forward(&record.data) {
                Some(forward) if follow => key = forward.to,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// This request's changes re-applied to what another request saved (`current`), or the
    /// `409` the app's [`OnConflict`] policy asks for.
    fn judge(
        &self,
        returned: &ReturnedSession,
        current: &Current,
        id: &SessionId,
    ) -> Result<Vec<u8>, Refused> {
        let Merged { json, overlaps } = merge(returned.loaded(), returned.data(), &current.json);
        let refuse = match self.config.on_conflict {
            OnConflict::Refuse => true,
            OnConflict::RefuseOverlap => !overlaps.is_empty(),
            OnConflict::Merge => false,
        };
        if refuse {
            tracing::info!(session = ?id, "session saved by another request meanwhile; answered 409 (OnConflict)");
            return Err(Refused);
        }
        for field in &overlaps {
            match field {
                Some(field) => tracing::warn!(
                    session = ?id,
                    field = %field,
                    "two requests changed one session field at once; the later save wins"
                ),
                None => tracing::warn!(
                    session = ?id,
                    "two requests changed one session at once; the later save wins"
                ),
            }
        }
        Ok(json)
    }
}

/// The pause before try `attempt` of a save: none for the first two (a conflict between two
/// requests is settled by one retry; under the retry lock the next one is about always the
/// last), then — the lock lost to other processes' saves — a random wait of up to 2^attempt ms (at most 512 ms),
/// so that many requests racing one session stop colliding in lockstep.
async fn backoff(attempt: u32) {
    if attempt < 2 {
        return;
    }
    let ceiling = 1u64 << attempt.min(9);
    let wait = rand::random_range(0..=ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
}

/// A save the app's [`OnConflict`] policy refused.
struct Refused;

impl From<Refused> for Response {
    fn from(_: Refused) -> Response {
        Response::text(
            "409 Conflict: another request changed this session at the same time, and nothing \
             was saved. Reload the page and try again.\n",
        )
        .with_status(StatusCode::CONFLICT)
    }
}

/// The flash messages to save over a concurrent save: this request's, if it added or took any
/// (what it showed is gone, what it added is kept), else the ones the other request left.
fn merged_flashes(returned: &ReturnedSession, current: &Current) -> Vec<Flash> {
    if returned.state.flashes_changed {
        returned.flashes().to_vec()
    } else {
        current.flashes.clone()
    }
}

/// The answer when every save attempt met yet another concurrent save: a 500, never a lost save.
fn gave_up(id: &SessionId) -> Response {
    tracing::error!(
        session = ?id,
        attempts = MAX_SAVE_ATTEMPTS,
        "session not saved: other requests of the same session kept saving it at the same time"
    );
    Response::internal_server_error()
}
