//! The two writes that race other requests of the same session: saving changed data and renewing
//! the id (the session guide, "Concurrent requests").
//!
//! Both write with the store's compare-and-swap over the version this request loaded. When
//! another request saved the session meanwhile, the write is refused; this request then reloads
//! what the store holds, re-applies its own changes to it ([`merge`]) and tries again, at most
//! [`MAX_SAVE_ATTEMPTS`] times — a save either lands, merged, or answers an error; it is never
//! silently dropped (unless the session ended meanwhile). The first try takes no lock, so
//! requests of one session never wait on each other while they run; only the retries of a
//! conflict queue, per session in this process ([`RetryLocks`]), so that a hundred requests
//! saving one session at once settle in a hundred retries rather than collide again and again.

use std::time::SystemTime;

use http::StatusCode;

use super::envelope;
use super::merge::{merge, Merged};
use super::reply::Reply;
use super::save::{random_failed, store_error, store_full, Baseline, Created};
use super::shared::{Shared, MAX_FORWARDS};
use super::store::{UpdateOutcome, Version};
use super::transport::Transport;
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
/// by its key: held for one reload-merge-save (never through a backoff pause), so a retry under
/// it loses only to a first try or to another process.
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

/// What became of a [`Shared::save_changes`].
pub(super) enum Saved {
    /// Written; `renewed` when it went to where another request's `cycle_id()` moved the session
    /// meanwhile — then the id this request carries is the old one, not to be announced again.
    Written { renewed: bool },
    /// The session ended during the request: nothing written.
    Ended,
}

impl Shared {
    /// Saves a loaded session's changed data over the version this request loaded, under `key`;
    /// when another request saved it since, merges and tries again. A session ended meanwhile
    /// stays ended (docs/security.md, "Session lifecycle"; rack-session CVE-2025-46336).
    pub(super) async fn save_changes(
        &self,
        id: &SessionId,
        key: &SessionKey,
        returned: &ReturnedSession,
        baseline: &Baseline,
        now: SystemTime,
    ) -> Result<Saved, Response> {
        // The first try takes no lock: the save of a session nobody else is saving.
        let record = envelope::encode(baseline.created, returned.data(), returned.flashes());
        if let Some(saved) = self
            .try_update(key, &record, baseline.version, id, now, false)
            .await?
        {
            return Ok(saved);
        }
        for attempt in 1..MAX_SAVE_ATTEMPTS {
            backoff(attempt).await;
            // Another request saved the session since this one loaded it: reload, re-apply
            // this request's changes, and write over what was reloaded — under the session's
            // retry lock, so the retries of one process queue instead of colliding again.
            let _queued = self.retry_locks.lock(key).await;
            let Some(current) = self
                .current(key, true)
                .await
                .map_err(|e| store_error(&e, id))?
            else {
                tracing::info!(session = ?id, "session ended during the request; not saved");
                return Ok(Saved::Ended);
            };
            let data = self.judge(returned, &current, id).map_err(Response::from)?;
            let flashes = merged_flashes(returned, &current);
            let record = envelope::encode(current.created, &data, &flashes);
            let renewed = current.key != *key;
            if let Some(saved) = self
                .try_update(&current.key, &record, current.version, id, now, renewed)
                .await?
            {
                return Ok(saved);
            }
        }
        Err(gave_up(id))
    }

    /// One compare-and-swap of `record` over `version` at `key` (`renewed`: where another
    /// request's `cycle_id()` moved the session): `None` on a conflict.
    async fn try_update(
        &self,
        key: &SessionKey,
        record: &[u8],
        version: Version,
        id: &SessionId,
        now: SystemTime,
        renewed: bool,
    ) -> Result<Option<Saved>, Response> {
        if !self.fits(record, id) {
            return Err(Response::internal_server_error());
        }
        match self
            .store
            .update(key, record, version, self.lease(now))
            .await
        {
            Ok(UpdateOutcome::Written) => Ok(Some(Saved::Written { renewed })),
            Ok(UpdateOutcome::Absent) => {
                tracing::info!(session = ?id, "session ended during the request; not saved");
                Ok(Some(Saved::Ended))
            }
            Ok(UpdateOutcome::Conflict) => Ok(None),
            Err(e) => Err(store_error(&e, id)),
        }
    }

    /// `cycle_id()`: stores the session under the new id, then swaps the old record for a
    /// forward to it (compare-and-swap, so no concurrent save is lost: one that lands first is
    /// merged into the new session). The forward lasts the renewal grace window for a rotation
    /// in cookie mode; after a change of the data (a login), or in querystring mode, it is dead
    /// at once and removed. `Ok(false)` when the session ended during the request: it is not
    /// renewed.
    pub(super) async fn renew(
        &self,
        old: &SessionId,
        returned: &ReturnedSession,
        baseline: &Baseline,
        reply: &Reply,
        now: SystemTime,
    ) -> Result<bool, Response> {
        // `cycle_id()` left the new id to be drawn now, as the session is stored under it.
        let new = returned
            .state
            .id
            .get_or_draw()
            .map_err(|error| random_failed(&error))?;
        let old_key = baseline.key_of(old);
        // A logout elsewhere during this request ended the session: do not re-issue its data
        // under a new id (docs/security.md, "Session lifecycle"). A rotation by another request
        // moved it: renew from where it went.
        let Some(mut current) = self
            .current(old_key, true)
            .await
            .map_err(|e| store_error(&e, old))?
        else {
            tracing::info!(session = ?old, "session ended during the request; not renewed");
            return Ok(false);
        };
        let rotation = !returned.changed;
        // A rotation is the same session under a new id: its absolute lifetime goes on. A login
        // starts a new one.
        let created = if rotation { current.created } else { now };
        let (mut data, mut flashes) =
            if current.version == baseline.version && current.key == *old_key {
                (returned.data().to_vec(), returned.flashes().to_vec())
            } else {
                let data = self
                    .judge(returned, &current, new)
                    .map_err(Response::from)?;
                (data, merged_flashes(returned, &current))
            };
        match self.create(new, &data, &flashes, created, now).await {
            Ok(Created::Yes) => {}
            Ok(Created::Full) => {
                // A renewal leaves the count unchanged: make the room the old record takes,
                // then create again, so a full store never blocks a login's cycle_id(). No
                // forward then.
                if let Err(e) = self.store.remove(&current.key).await {
                    return Err(store_error(&e, old));
                }
                return match self.create(new, &data, &flashes, created, now).await {
                    Ok(Created::Yes) => Ok(true),
                    // Another create took the room meanwhile: the old session is gone (the safe
                    // side), so the client's id is expired along with the 503.
                    Ok(Created::Full) => Err(self.transport.expire(store_full(), reply)),
                    Err(response) => Err(response),
                };
            }
            Err(response) => return Err(response),
        }
        // The old id reaches the new session only for a rotation, and only in cookie mode: a
        // request that arrives through a forward cannot learn the new id, so in querystring
        // mode its links would carry the old one, dead once the window ends.
        let grace = self.config.renewal_grace;
        let window = (rotation
            && !grace.is_zero()
            && !matches!(self.transport, Transport::QueryString { .. }))
        .then(|| now.checked_add(grace))
        .flatten();
        let forward = envelope::encode_forward(new.key(), window.unwrap_or(now));
        for attempt in 0..MAX_SAVE_ATTEMPTS {
            // After a conflict: another request saved the session meanwhile. Bring its changes
            // into the new session, which no other request can reach yet (the forward is not
            // written), under the retry lock, held until the swap below.
            let _queued = if attempt > 0 {
                backoff(attempt).await;
                let queued = self.retry_locks.lock(old_key).await;
                let reloaded = match self.current(old_key, true).await {
                    Ok(Some(reloaded)) => reloaded,
                    Ok(None) => {
                        tracing::info!(session = ?old, "session ended during the request; not renewed");
                        self.discard(new).await;
                        return Ok(false);
                    }
                    Err(e) => {
                        self.discard(new).await;
                        return Err(store_error(&e, old));
                    }
                };
                current = reloaded;
                match self.judge(returned, &current, new) {
                    Ok(merged) => data = merged,
                    Err(refused) => {
                        self.discard(new).await;
                        return Err(refused.into());
                    }
                }
                flashes = merged_flashes(returned, &current);
                let record = envelope::encode(created, &data, &flashes);
                if let Err(e) = self.store.store(new.key(), &record, self.lease(now)).await {
                    self.discard(new).await;
                    return Err(store_error(&e, new));
                }
                Some(queued)
            } else {
                None
            };
            // The forward keeps the store's usual lifetime: a request that loaded the old id
            // before the renewal still follows it to save (`current`), however slow; new
            // requests follow it only until `until`.
            match self
                .store
                .update(&current.key, &forward, current.version, self.lease(now))
                .await
            {
                Ok(UpdateOutcome::Written) => {
                    if window.is_none() {
                        if let Err(e) = self.store.remove(&current.key).await {
                            return Err(store_error(&e, old));
                        }
                    }
                    return Ok(true);
                }
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

/// The flash messages to save over a concurrent save: the ones the other request left, less
/// those this request took (shown, so gone), plus those it added — so no message is lost or
/// shown twice.
fn merged_flashes(returned: &ReturnedSession, current: &Current) -> Vec<Flash> {
    let state = &returned.state;
    let mut flashes = current.flashes.clone();
    for taken in &state.flashes_taken {
        if let Some(at) = flashes.iter().position(|f| f == taken) {
            flashes.remove(at);
        }
    }
    flashes.extend(state.flashes_added.iter().cloned());
    flashes
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
