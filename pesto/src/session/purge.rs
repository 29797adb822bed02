//! [`PurgeTask`]: the background task that removes idle sessions every `auto_purge_every`.
//!
//! It starts with the app ([`Endpoint::start`](crate::Endpoint::start), which the server calls)
//! or with the first request when nothing started it, and stops when the app is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::shared::Shared;

/// The purge task of one session app.
#[derive(Debug)]
pub(super) struct PurgeTask {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    started: AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Default for PurgeTask {
    fn default() -> Self {
        PurgeTask {
            task: Mutex::new(None),
            started: AtomicBool::new(false),
            stop: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Drop for PurgeTask {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl PurgeTask {
    /// Starts the purge of `shared`'s store on the current runtime if it is not running yet.
    pub(super) fn ensure_started(&self, shared: &Arc<Shared>) {
        // The per-request fast path: one atomic load, no lock.
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let every = shared.config.purge_every;
        // A backend that expires records itself (Redis) leaves the periodic purge nothing to do.
        if every.is_zero() || shared.store.self_expiring() {
            return;
        }
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Shared> = Arc::downgrade(shared);
        let mut stop = self.stop.subscribe();
        *task = Some(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; purging at start-up is not wanted.
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stop.changed() => break,
                }
                let Some(shared) = weak.upgrade() else { break };
                match shared.purge(shared.config.olderthan).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "purged idle sessions"),
                    // One failure must not end the purge (Python Pesto's purge thread died on the first error).
                    Err(error) => tracing::error!(%error, "session purge failed"),
                }
            }
        }));
        self.started.store(true, Ordering::Release);
    }
}
