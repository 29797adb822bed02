//! [`Shared`]: what a session app, its purge task and its inspector share — the store, the
//! settings, the clock — and the lifetime rules they all apply.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::clock::Clock;
use super::concurrent::RetryLocks;
use super::config::Config;
use super::envelope;
use super::store::{self, Lease, SessionStore, Version};
use super::transport::Transport;
use crate::exchange::{Flash, SessionKey};

/// The store, settings and clock of one session app.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) store: Arc<dyn SessionStore>,
    pub(super) config: Config,
    pub(super) transport: Transport,
    pub(super) clock: Arc<dyn Clock>,
    /// Where conflicting saves of one session queue in this process (`concurrent.rs`).
    pub(super) retry_locks: RetryLocks,
}

/// A stored session that is still alive: its data (JSON), when it began and when it was last used.
pub(super) struct LiveRecord {
    pub(super) json: Vec<u8>,
    /// The flash messages waiting to be shown.
    pub(super) flashes: Vec<Flash>,
    pub(super) created: SystemTime,
    pub(super) last_access: SystemTime,
    pub(super) version: Version,
    /// The key the session lives under when the id presented was renewed by `cycle_id()` and its
    /// key is a forward, within the grace window; `None` when it lives under the id's own key.
    pub(super) forwarded_to: Option<SessionKey>,
}

/// How many forwards a look-up follows: a session renewed twice within the grace window is
/// reached from its first id through two.
pub(super) const MAX_FORWARDS: usize = 3;

/// What a look-up by key found.
pub(super) enum Found {
    /// A live session.
    Live(LiveRecord),
    /// An idle or too old session (to be removed), or bytes that are not a session record.
    Dead { expired: bool },
    /// Nothing under the key.
    Absent,
}

impl Shared {
    /// Removes every session idle for longer than `olderthan`; returns how many.
    pub(super) async fn purge(&self, olderthan: Duration) -> store::Result<u64> {
        match self.clock.now().checked_sub(olderthan) {
            Some(cutoff) => self.store.purge(cutoff).await,
            None => Ok(0),
        }
    }

    /// The lease of a write at `now`.
    pub(super) fn lease(&self, now: SystemTime) -> Lease {
        Lease {
            now,
            ttl: self.config.olderthan,
        }
    }

    /// Loads `key` and applies the idle and absolute lifetimes at `now` (docs/security.md,
    /// "Session lifecycle": timeouts are enforced when the session is loaded). A forward left by
    /// `cycle_id()` is followed while its grace window lasts, and is dead after it.
    pub(super) async fn find(&self, key: &SessionKey, now: SystemTime) -> store::Result<Found> {
        let mut forwarded_to: Option<SessionKey> = None;
        for _ in 0..=MAX_FORWARDS {
            let through_forward = forwarded_to.is_some();
            let at = forwarded_to.as_ref().unwrap_or(key);
            let Some(record) = self.store.load(at).await? else {
                return Ok(Found::Absent);
            };
            let (last_access, version) = (record.last_access, record.version);
            let stored = envelope::decode_owned(record.data);
            let expired = self.is_idle(last_access, now)
                || stored
                    .as_ref()
                    .is_ok_and(|stored| self.is_past_lifetime(stored.created, now));
            let found = match stored {
                Ok(stored) if !expired => Found::Live(LiveRecord {
                    json: stored.data,
                    flashes: stored.flashes,
                    created: stored.created,
                    last_access,
                    version,
                    forwarded_to,
                }),
                Ok(_) => Found::Dead { expired },
                Err(bytes) => match envelope::decode_forward(&bytes) {
                    Some(forward) if now < forward.until => {
                        forwarded_to = Some(forward.to);
                        continue;
                    }
                    Some(_) => Found::Dead { expired: true },
                    None => Found::Dead { expired },
                },
            };
            // Past a forward, a dead session is the target's business (its own id removes it,
            // or the purge does); the forward itself simply leads nowhere.
            return Ok(match found {
                Found::Dead { .. } if through_forward => Found::Absent,
                found => found,
            });
        }
        Ok(Found::Absent)
    }

    /// Whether a session begun at `created` has outlived the absolute lifetime, if one is set.
    fn is_past_lifetime(&self, created: SystemTime, now: SystemTime) -> bool {
        self.config
            .absolute_timeout
            .is_some_and(|lifetime| now.duration_since(created).is_ok_and(|age| age > lifetime))
    }

    /// Whether a session last used at `last_access` has been idle too long.
    fn is_idle(&self, last_access: SystemTime, now: SystemTime) -> bool {
        // A last access in the future (clock stepped back) is not expiry; never panic on it.
        now.duration_since(last_access)
            .is_ok_and(|idle| idle > self.config.olderthan)
    }

    /// Whether a session last used at `last_access` is due for a refresh of that time.
    pub(super) fn touch_due(&self, last_access: Option<SystemTime>, now: SystemTime) -> bool {
        let interval = self.touch_interval();
        last_access.is_some_and(|at| now.duration_since(at).is_ok_and(|since| since >= interval))
    }

    /// The least time between two refreshes of the last access: the configured interval, but
    /// never more than a quarter of the idle timeout — else a user active all along would be
    /// logged out when the idle timeout is shorter than the interval.
    fn touch_interval(&self) -> Duration {
        self.config.touch_interval.min(self.config.olderthan / 4)
    }
}
