//! Redis session store (cargo feature `redis`): sessions shared by every process that points at
//! the same Redis (or Redis Cluster), expired by Redis itself.
//!
//! # Layout
//! One Redis string per session, under `<prefix><SessionKey>` (the SHA-256 of the id, never the
//! id itself; the default prefix is `pesto:session:`): a fixed-width header, then the record the
//! middleware gives, byte for byte (the session JSON) — see `record.rs`:
//!
//! ```text
//! v1 <version: 20 digits> <last access: 20 characters, signed Unix ms>\n<data>
//! ```
//!
//! The version is the record's [`Version`], for `update`'s compare-and-swap; the last access is
//! [`Lease::now`] of the last write or touch. `load` is one plain `GETRANGE` that stops one byte
//! past the size limit, and `create` one `SET … NX PX`. The key's time to live is
//! [`Lease::ttl`] (`auto_purge_olderthan`), set again by every create, store, update and touch,
//! so an idle session disappears on its own. `touch` rewrites only the header's time and the TTL,
//! never the data. The writes that must read first are single-key Lua scripts, so each is atomic
//! (`update` never brings back a session removed meanwhile, by any server) and keeps working after
//! a Redis restart (redis-rs reloads a script Redis no longer knows).
//!
//! # Cluster
//! [`new_cluster`](RedisStore::new_cluster) and
//! [`connect_cluster`](RedisStore::connect_cluster) use redis-rs's cluster client
//! (`cluster_async::ClusterConnection`), which follows `MOVED`/`ASK` redirections and the
//! cluster's topology. Every per-session command and script names exactly one key, so each runs
//! on the node that owns the key's slot; `purge` walks every primary with `SCAN` and deletes per
//! hash slot, so no command ever spans slots (`CROSSSLOT`).
//!
//! # TLS
//! `rediss://` URLs connect over TLS (rustls, *ring* provider) and verify the server certificate
//! against the system trust store, or against the CAs given to
//! [`with_tls_root_certificates`](RedisStore::with_tls_root_certificates).
//!
//! # Faults
//! Every command runs under a timeout (default 2 s, see
//! [`with_timeout`](RedisStore::with_timeout)). A Redis that is down or does not answer
//! yields [`Error::Backend`] within about that time, which the middleware answers with 503 on
//! load and 500 on save; redis-rs's `ConnectionManager` (or, for a cluster, its cluster
//! connection) reconnects by itself once Redis is back.
//!
//! # Files
//! This file holds the [`RedisStore`] type, its key layout, the command runner (timeout and error
//! mapping) and the [`SessionStore`] impl. `setup.rs` builds a store (URLs, TLS, `connect`, the
//! `with_*` methods); `connection.rs` opens and drives the connection, one server or a Cluster;
//! `scripts.rs` holds the Lua scripts behind the writes; `record.rs` encodes a record and decodes
//! what `load` reads back; `purge.rs` is the `SCAN`-based purge.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use redis::{RedisError, Script, Value};
use tokio::sync::OnceCell;

use super::store::{
    check_record_size, Error, Lease, Record, Result, SessionStore, UpdateOutcome, Version,
};
use crate::exchange::SessionKey;
use crate::session::millis::{from_millis, to_millis};

mod commands;
mod connection;
mod purge;
pub(crate) mod record;
mod scripts;
mod setup;
#[cfg(test)]
mod tests;

use connection::{Backend, Connection};
use record::NotASession;
use scripts::{STORE, TOUCH, UPDATE};

/// Upper bound for a key's TTL (about 30,000 years): Redis refuses an expiry that overflows.
const MAX_TTL_MS: u128 = 1_000_000_000_000_000;

/// Sessions in Redis, shared by every process configured with the same URL (or cluster nodes)
/// and prefix.
///
/// Built from a URL without touching the network: the connection (one multiplexed connection,
/// managed by redis-rs's `ConnectionManager`, which reconnects after a failure) is opened on
/// first use, from inside the Tokio runtime that serves the app. Use
/// [`connect`](Self::connect) to fail at start-up instead when Redis is unreachable. For a
/// Redis Cluster, use [`new_cluster`](Self::new_cluster) or
/// [`connect_cluster`](Self::connect_cluster) with the URLs of some of its nodes.
///
/// Redis expires idle sessions itself, so the store is
/// [`self_expiring`](SessionStore::self_expiring): the session middleware runs no periodic
/// purge for it (an explicit [`purge`](SessionStore::purge) still works).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use pesto::prelude::*;
/// use pesto::session_middleware;
/// use pesto::session::RedisStore;
///
/// #[route("/", GET)]
/// async fn index(req: &mut Request<SessionMap>) -> String {
///     format!("{} keys in this session", req.session.len())
/// }
/// dispatcher_app!(App = [index]);
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0")
///     .await?
///     .with_prefix("myapp:session:")
///     .with_timeout(Duration::from_secs(3));
/// // Or, for a Redis Cluster, some of its nodes (the client discovers the others):
/// // RedisStore::connect_cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
/// let app = session_middleware(store)
///     // Also the keys' time to live: Redis expires idle sessions itself.
///     .auto_purge_olderthan(Duration::from_secs(1800))
///     .wrap(App::new());
/// pesto::serve(([127, 0, 0, 1], 8080).into(), app).await?;
/// # Ok(()) }
/// ```
pub struct RedisStore {
    backend: Backend,
    connection: OnceCell<Connection>,
    prefix: String,
    timeout: Duration,
    max_record_size: usize,
    /// `host:port/db` (or the socket path, or the cluster's seed nodes), for messages: never
    /// the credentials.
    target: String,
}

impl RedisStore {
    /// The Redis key under which `key`'s session lives: the prefix and the key's 64 hex digits.
    pub fn redis_key(&self, key: &SessionKey) -> String {
        let key = key.as_str();
        let mut redis_key = String::with_capacity(self.prefix.len() + key.len());
        redis_key.push_str(&self.prefix);
        redis_key.push_str(key);
        redis_key
    }

    /// The shared connection: for one server, set up (without connecting) on first use; for a
    /// cluster, connected (nodes and slot map) on first use, and again on the next use if that
    /// failed.
    async fn connection(&self) -> Result<Connection> {
        match self.connection.get() {
            Some(connection) => Ok(connection.clone()),
            // Boxed: opening a connection (a cluster's above all) takes a large future, which
            // every command's future would otherwise make room for, and glibc serves a box of
            // more than about a kilobyte from its slower path.
            None => Box::pin(self.open_connection()).await,
        }
    }

    /// [`connection`](Self::connection)'s first use.
    async fn open_connection(&self) -> Result<Connection> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                self.backend.open(self.timeout).await.map_err(|e| {
                    Error::Backend(format!(
                        "cannot set up the Redis connection to {}: {}",
                        self.target,
                        describe(&e)
                    ))
                })
            })
            .await?;
        Ok(connection.clone())
    }

    /// Runs one command (or script) on the shared connection under the timeout.
    async fn run<T, F, Fut>(&self, op: &str, command: F) -> Result<T>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = std::result::Result<T, RedisError>>,
    {
        let work = async {
            let connection = self.connection().await?;
            command(connection).await.map_err(|e| {
                Error::Backend(format!(
                    "Redis at {} failed on {op}: {}",
                    self.target,
                    describe(&e)
                ))
            })
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(Error::Backend(format!(
                "Redis at {} timed out after {:?} on {op}",
                self.target, self.timeout
            ))),
        }
    }

    /// Runs a single-key write script with the given arguments; returns its integer reply.
    async fn script(
        &self,
        op: &str,
        script: &Script,
        key: &SessionKey,
        args: &[&[u8]],
    ) -> Result<i64> {
        let redis_key = self.redis_key(key);
        self.run(op, |mut c| async move {
            let mut invocation = script.key(redis_key);
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke_async(&mut c).await
        })
        .await
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address only: the URL may carry a password.
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("max_record_size", &self.max_record_size)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    /// One `GETRANGE` of at most the header and the size limit plus one byte: a larger record
    /// never crosses the network whole.
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let redis_key = self.redis_key(key);
        let limit = self.max_record_size;
        let last = record::HEADER_LEN.saturating_add(limit);
        let value = self
            .run("load", |mut c| async move {
                let read = commands::getrange(&redis_key, last)
                    .query_async::<Vec<u8>>(&mut c)
                    .await;
                match read {
                    // Another type of value under our key.
                    Err(e) if e.code() == Some("WRONGTYPE") => Ok(None),
                    read => read.map(Some),
                }
            })
            .await?;
        let Some(value) = value else {
            tracing::warn!(session = ?key, "Redis key under the session prefix is not a pesto session; ignoring it");
            return Ok(None);
        };
        if value.len() > last {
            tracing::warn!(session = ?key, limit, "oversized Redis session treated as absent");
            return Ok(None);
        }
        match record::decode(value) {
            Ok(record) => Ok(record),
            Err(NotASession::MalformedStamp) => {
                tracing::warn!(session = ?key, "Redis session has a malformed version or stamp; ignoring it");
                Ok(None)
            }
            Err(NotASession::Foreign) => {
                tracing::warn!(session = ?key, "Redis key under the session prefix is not a pesto session; ignoring it");
                Ok(None)
            }
        }
    }

    /// One `SET … NX PX`: written only if the key is free, with its TTL, atomically.
    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        check_record_size(data, self.max_record_size)?;
        let value = record::encode(Version::FIRST, to_millis(lease.now), data);
        let redis_key = self.redis_key(key);
        let reply = self
            .run("create", |mut c| async move {
                commands::set_new(&redis_key, &value, ttl_millis(lease.ttl))
                    .query_async::<Value>(&mut c)
                    .await
            })
            .await?;
        Ok(reply != Value::Nil)
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        check_record_size(data, self.max_record_size)?;
        let stamp = record::stamp_field(to_millis(lease.now));
        let ttl = ttl_millis(lease.ttl).to_string();
        let args: [&[u8]; 3] = [data, stamp.as_bytes(), ttl.as_bytes()];
        self.script("store", &STORE, key, &args).await.map(drop)
    }

    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome> {
        check_record_size(data, self.max_record_size)?;
        // One atomic script: no window between the checks and the write.
        let value = record::encode(expected.next(), to_millis(lease.now), data);
        let ttl = ttl_millis(lease.ttl).to_string();
        let expected = record::version_field(expected);
        let args: [&[u8]; 3] = [&value, ttl.as_bytes(), expected.as_bytes()];
        match self.script("update", &UPDATE, key, &args).await? {
            1 => Ok(UpdateOutcome::Written),
            2 => Ok(UpdateOutcome::Conflict),
            _ => Ok(UpdateOutcome::Absent),
        }
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        let stamp = record::stamp_field(to_millis(lease.now));
        let ttl = ttl_millis(lease.ttl).to_string();
        let args: [&[u8]; 2] = [stamp.as_bytes(), ttl.as_bytes()];
        self.script("touch", &TOUCH, key, &args).await.map(drop)
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        let redis_key = self.redis_key(key);
        self.run("DEL", |mut c| async move {
            redis::cmd("DEL")
                .arg(redis_key)
                .query_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }

    /// Walks the prefix with `SCAN` (on every primary of a cluster) and removes sessions last
    /// accessed before `cutoff`.
    ///
    /// Redis already deletes a session once it has been idle for its TTL, so with an unchanged
    /// `auto_purge_olderthan` this finds nothing; it matters after the setting was shortened
    /// (keys written earlier keep their longer TTL) and for records written with an old
    /// [`Lease::now`]. Each `SCAN` step and each batch delete is one command under the timeout.
    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        self.purge_before(cutoff).await
    }

    /// Always true: Redis expires every session key by its TTL.
    fn self_expiring(&self) -> bool {
        true
    }

    fn max_record_size(&self) -> usize {
        self.max_record_size
    }
}

/// A redis-rs error as text, with its detail but without anything from the URL.
fn describe(error: &RedisError) -> String {
    error.to_string()
}

/// A lease's TTL in milliseconds, at least 1 (`PEXPIRE 0` would delete the key at once) and at
/// most [`MAX_TTL_MS`].
fn ttl_millis(ttl: Duration) -> i64 {
    let ms = ttl.as_millis().clamp(1, MAX_TTL_MS);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
