//! `purge` on Redis: a `SCAN` of the prefix on the one server or on every Cluster primary, and
//! the deletion of the sessions last accessed before the cutoff by a single-slot script.
//!
//! Redis expires idle sessions by their TTL, so this only finds sessions written with a longer TTL
//! (before `auto_purge_olderthan` was shortened) or an old [`Lease::now`](crate::session::Lease::now).
//! No command spans hash slots, so it works on a Cluster (`CROSSSLOT`).

use std::collections::HashMap;
use std::time::SystemTime;

use futures_util::{StreamExt, TryStreamExt};
use redis::cluster_routing::Slot;

use super::connection::Node;
use super::scripts::PURGE;
use super::{to_millis, RedisStore};
use crate::session::store::Result;

/// Keys asked of each `SCAN` step during purge.
const SCAN_COUNT: usize = 500;
/// Purge deletions in flight at once on a cluster (one script per hash slot).
const PURGE_CONCURRENCY: usize = 16;

impl RedisStore {
    /// Walks the prefix on every node that holds keys and removes the sessions last accessed
    /// before `cutoff`; returns how many it removed.
    pub(super) async fn purge_before(&self, cutoff: SystemTime) -> Result<u64> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let cutoff = to_millis(cutoff);
        let nodes = self
            .run("PING", |mut c| async move { c.scan_targets().await })
            .await?;
        let mut removed: u64 = 0;
        for node in &nodes {
            removed += self.purge_node(node.as_ref(), &pattern, cutoff).await?;
        }
        Ok(removed)
    }

    /// Walks one server (or one cluster primary) with `SCAN` and removes the sessions under the
    /// prefix last accessed before `cutoff` (ms). Each `SCAN` step and each delete is one
    /// command under the timeout.
    async fn purge_node(&self, node: Option<&Node>, pattern: &str, cutoff: i64) -> Result<u64> {
        let mut cursor: u64 = 0;
        let mut removed: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .run("SCAN", |mut c| async move {
                    let mut scan = redis::cmd("SCAN");
                    scan.arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT);
                    c.query_on(&scan, node).await
                })
                .await?;
            removed += self.purge_keys(keys, cutoff).await?;
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Runs the purge script on `keys`: in one call on a single server, in one call per hash
    /// slot on a cluster (a script's keys must share a slot there).
    async fn purge_keys(&self, keys: Vec<Vec<u8>>, cutoff: i64) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let batches: Vec<Vec<Vec<u8>>> = if self.is_cluster() {
            let mut by_slot: HashMap<Slot, Vec<Vec<u8>>> = HashMap::new();
            for key in keys {
                by_slot.entry(Slot::for_key(&key)).or_default().push(key);
            }
            by_slot.into_values().collect()
        } else {
            vec![keys]
        };
        futures_util::stream::iter(batches)
            .map(|batch| {
                self.run("purge", move |mut c| async move {
                    let mut invocation = PURGE.prepare_invoke();
                    for key in &batch {
                        invocation.key(key.as_slice());
                    }
                    invocation.arg(cutoff).invoke_async::<u64>(&mut c).await
                })
            })
            .buffer_unordered(PURGE_CONCURRENCY)
            .try_fold(0, |total, n| async move { Ok(total + n) })
            .await
    }
}

/// Escapes the `SCAN MATCH` glob characters in a literal prefix.
pub(super) fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for ch in literal.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
