//! Redis session store (cargo feature `redis`): sessions shared by every process that points at
//! the same Redis (or Redis Cluster), expired by Redis itself.
//!
//! # Layout
//! One Redis hash per session, under `<prefix><SessionKey>` (the SHA-256 of the id, never the
//! id itself; the default prefix is `pesto:session:`):
//!
//! | field            | value                                                            |
//! |------------------|------------------------------------------------------------------|
//! | `data`           | the record the middleware gives, byte for byte (the session JSON) |
//! | `last_access_ms` | [`Lease::now`] of the last write or touch, Unix milliseconds     |
//!
//! The key's time to live is [`Lease::ttl`] (`auto_purge_olderthan`), set again by every
//! create, store, update and touch, so an idle session disappears on its own. `touch` rewrites
//! only `last_access_ms` and the TTL, never `data`. Writes are single-key Lua scripts, so each
//! is atomic (`create` never overwrites; `update` never brings back a session removed meanwhile,
//! by any server) and keeps working after a Redis restart (redis-rs reloads a script Redis no
//! longer knows).
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

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_routing::Slot;
use redis::{Client, ConnectionAddr, IntoConnectionInfo, RedisError, Script, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::sync::OnceCell;

use super::id::SessionKey;
use super::store::{Error, Lease, Record, Result, SessionStore};

/// Hash field holding the session bytes.
const DATA: &str = "data";
/// Hash field holding the last access, in Unix milliseconds.
const STAMP: &str = "last_access_ms";
/// Keys asked of each `SCAN` step during purge.
const SCAN_COUNT: usize = 500;
/// Purge deletions in flight at once on a cluster (one script per hash slot).
const PURGE_CONCURRENCY: usize = 16;
/// Upper bound for a key's TTL (about 30,000 years): Redis refuses an expiry that overflows.
const MAX_TTL_MS: u128 = 1_000_000_000_000_000;

mod connection;
mod scripts;
#[cfg(test)]
mod tests;

use connection::{cluster_client, Backend, Connection, Node};
use scripts::{CREATE, PURGE, STORE, TOUCH, UPDATE};

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
    /// `host:port/db` (or the socket path, or the cluster's seed nodes), for messages: never
    /// the credentials.
    target: String,
}

impl RedisStore {
    /// The key prefix used unless [`with_prefix`](Self::with_prefix) says otherwise.
    pub const DEFAULT_PREFIX: &'static str = "pesto:session:";
    /// The per-command timeout used unless [`with_timeout`](Self::with_timeout) says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// A store for the Redis at `url`, connecting on first use.
    ///
    /// `url` is `redis://[[user]:password@]host[:port][/db]` (port 6379 and db 0 by default),
    /// `rediss://…` for Redis over TLS, or `redis+unix:///path/to/redis.sock[?db=N]`. Over TLS the
    /// server's certificate is verified against the operating system's trust store (or the
    /// certificates given to [`with_tls_root_certificates`](Self::with_tls_root_certificates));
    /// turning verification off (`#insecure`) is refused. For a Redis Cluster, use
    /// [`new_cluster`](Self::new_cluster).
    ///
    /// # Errors
    /// [`Error::Backend`] if the URL is malformed or asks for something this build does not
    /// support. No connection is attempted, so an unreachable Redis is not an error here.
    ///
    /// # Examples
    /// ```
    /// use pesto::session::RedisStore;
    /// let store = RedisStore::new("redis://:secret@127.0.0.1:6379/2").unwrap();
    /// assert!(!format!("{store:?}").contains("secret"));
    /// assert!(RedisStore::new("rediss://redis.example:6380/0").is_ok());
    /// assert!(RedisStore::new("http://127.0.0.1/").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self> {
        let client = Client::open(url)
            .map_err(|e| Error::Backend(format!("invalid Redis URL: {}", describe(&e))))?;
        let info = client.get_connection_info();
        let tls = check_tls(info.addr(), "Redis URL")?;
        let target = format!("{}/{}{tls}", info.addr(), info.redis_settings().db());
        Ok(Self::with_backend(Backend::Single(client), target))
    }

    /// A store for the Redis Cluster that the nodes at `urls` belong to, connecting on first use.
    ///
    /// `urls` are `redis://[[user]:password@]host:port` (or `rediss://…`) URLs of one or more of
    /// the cluster's nodes: the client learns the others, and which hash slots each primary
    /// holds, from them (`CLUSTER SLOTS`), follows `MOVED` and `ASK` redirections, and picks up
    /// topology changes (failovers, resharding) by itself. Give several nodes so that start-up
    /// does not depend on one. All URLs must use the same scheme and credentials; Unix sockets
    /// and `#insecure` are refused; Redis Cluster has only database 0.
    ///
    /// # Errors
    /// [`Error::Backend`] if `urls` is empty or a URL is malformed or inconsistent with the
    /// others. No connection is attempted.
    ///
    /// # Examples
    /// ```
    /// use pesto::session::RedisStore;
    /// let store = RedisStore::new_cluster(&[
    ///     "redis://:secret@10.0.0.1:7000",
    ///     "redis://:secret@10.0.0.2:7000",
    /// ])
    /// .unwrap();
    /// assert!(store.is_cluster());
    /// assert!(!format!("{store:?}").contains("secret"));
    /// assert!(RedisStore::new_cluster::<&str>(&[]).is_err());
    /// ```
    pub fn new_cluster<S: AsRef<str>>(urls: &[S]) -> Result<Self> {
        let invalid =
            |detail: String| Error::Backend(format!("invalid Redis Cluster URL: {detail}"));
        if urls.is_empty() {
            return Err(invalid("no node URL given".to_owned()));
        }
        let mut nodes = Vec::with_capacity(urls.len());
        let mut addresses = Vec::with_capacity(urls.len());
        let mut tls = "";
        for url in urls {
            let info = url
                .as_ref()
                .into_connection_info()
                .map_err(|e| invalid(describe(&e)))?;
            if matches!(info.addr(), ConnectionAddr::Unix(_)) {
                return Err(invalid(format!(
                    "{} is a Unix socket; cluster nodes are reached over TCP",
                    info.addr()
                )));
            }
            tls = check_tls(info.addr(), "Redis Cluster URL")?;
            addresses.push(info.addr().to_string());
            nodes.push(info);
        }
        let db = nodes[0].redis_settings().db();
        let target = format!("cluster [{}]/{db}{tls}", addresses.join(", "));
        // Let redis-rs check the nodes against each other (credentials, TLS mode, database).
        cluster_client(&nodes, None, Self::DEFAULT_TIMEOUT).map_err(|e| invalid(describe(&e)))?;
        Ok(Self::with_backend(
            Backend::Cluster {
                nodes,
                root_certificates: None,
            },
            target,
        ))
    }

    fn with_backend(backend: Backend, target: String) -> Self {
        RedisStore {
            backend,
            connection: OnceCell::new(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            target,
        }
    }

    /// Trusts only the certificate authorities in `pem` (PEM text, one or more certificates)
    /// for a `rediss://` URL (or cluster), instead of the operating system's trust store: for a
    /// Redis whose certificate comes from a private CA (as some managed services issue).
    ///
    /// # Errors
    /// [`Error::Backend`] if the store's URL is not `rediss://`, or `pem` holds no usable
    /// certificate.
    pub fn with_tls_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        let is_tls = match &self.backend {
            Backend::Single(client) => {
                matches!(
                    client.get_connection_info().addr(),
                    ConnectionAddr::TcpTls { .. }
                )
            }
            Backend::Cluster { nodes, .. } => nodes
                .iter()
                .all(|node| matches!(node.addr(), ConnectionAddr::TcpTls { .. })),
        };
        if !is_tls {
            return Err(Error::Backend(format!(
                "TLS root certificates given for {}, which is not a rediss:// URL",
                self.target
            )));
        }
        // redis-rs accepts PEM text without any certificate (an empty trust store that would
        // refuse every server): insist on at least one, and on all of them parsing.
        let parsed: std::result::Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
        match parsed {
            Ok(found) if !found.is_empty() => {}
            Ok(_) => {
                return Err(Error::Backend(
                    "invalid TLS root certificates: no PEM certificate found".to_owned(),
                ))
            }
            Err(e) => {
                return Err(Error::Backend(format!(
                    "invalid TLS root certificates: {e}"
                )))
            }
        }
        let invalid = |e: RedisError| {
            Error::Backend(format!("invalid TLS root certificates: {}", describe(&e)))
        };
        match &mut self.backend {
            Backend::Single(client) => {
                let certificates = TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                };
                let info = client.get_connection_info().clone();
                *client = Client::build_with_tls(info, certificates).map_err(invalid)?;
            }
            Backend::Cluster {
                nodes,
                root_certificates,
            } => {
                cluster_client(nodes, Some(pem), self.timeout).map_err(invalid)?;
                *root_certificates = Some(pem.to_vec());
            }
        }
        self.connection = OnceCell::new();
        Ok(self)
    }

    /// A store for the Redis at `url` (see [`new`](Self::new)) that has answered a `PING`.
    ///
    /// # Errors
    /// [`Error::Backend`] if the URL is invalid, Redis does not answer within
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) (the message names the address, never the
    /// password), or the server is a Redis Cluster node (use
    /// [`connect_cluster`](Self::connect_cluster) for those: a single-node connection would
    /// fail on every key another node holds).
    pub async fn connect(url: &str) -> Result<Self> {
        let store = Self::new(url)?;
        store.ping().await?;
        // `INFO cluster` may be refused (ACL, managed service): then nothing is known, go on.
        let info: Option<String> = store
            .run("INFO", |mut c| async move {
                Ok(redis::cmd("INFO")
                    .arg("cluster")
                    .query_async::<String>(&mut c)
                    .await
                    .ok())
            })
            .await?;
        if info.is_some_and(|info| info.lines().any(|line| line.trim() == "cluster_enabled:1")) {
            return Err(Error::Backend(format!(
                "Redis at {} is a Redis Cluster node: use connect_cluster (or new_cluster) with \
                 the URLs of its nodes",
                store.target
            )));
        }
        Ok(store)
    }

    /// A store for the Redis Cluster at `urls` (see [`new_cluster`](Self::new_cluster)) whose
    /// primaries have all answered a `PING`.
    ///
    /// # Errors
    /// [`Error::Backend`] if a URL is invalid, no node answers, the nodes are not in cluster
    /// mode, or a primary does not answer within [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT).
    pub async fn connect_cluster<S: AsRef<str>>(urls: &[S]) -> Result<Self> {
        let store = Self::new_cluster(urls)?;
        store.ping().await?;
        Ok(store)
    }

    /// Sends a `PING` (to every primary, on a cluster): a health check for start-up or a
    /// readiness probe.
    ///
    /// # Errors
    /// [`Error::Backend`] if Redis does not answer `PONG` within the timeout.
    pub async fn ping(&self) -> Result<()> {
        let pong: String = self
            .run("PING", |mut c| async move {
                redis::cmd("PING").query_async(&mut c).await
            })
            .await
            .map_err(|e| match e {
                Error::Backend(detail) => Error::Backend(format!("Redis not reachable: {detail}")),
                other => other,
            })?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(Error::Backend(format!(
                "Redis at {} answered PING with {pong:?}",
                self.target
            )))
        }
    }

    /// Puts every key under `prefix` instead of `pesto:session:` (for several apps on one Redis).
    ///
    /// On a cluster, keep `{` and `}` out of the prefix: a hash tag would put every session in
    /// the same hash slot, so on the same node.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds every command, connecting included, by `timeout` (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)).
    ///
    /// A request whose session cannot be loaded in time gets 503 Service Unavailable. Set this
    /// before the first use: the connection is reopened with the new timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.connection = OnceCell::new();
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether this store talks to a Redis Cluster ([`new_cluster`](Self::new_cluster)).
    pub fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster { .. })
    }

    /// The Redis key under which `key`'s session lives: the prefix and the key's 64 hex digits.
    pub fn redis_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// The shared connection: for one server, set up (without connecting) on first use; for a
    /// cluster, connected (nodes and slot map) on first use, and again on the next use if that
    /// failed.
    async fn connection(&self) -> Result<Connection> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let cannot = |e: RedisError| {
                    Error::Backend(format!(
                        "cannot set up the Redis connection to {}: {}",
                        self.target,
                        describe(&e)
                    ))
                };
                match &self.backend {
                    Backend::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(self.timeout))
                            .set_response_timeout(Some(self.timeout))
                            // Retry soon and often: the outer timeout bounds what a request
                            // waits, and a restarted Redis should be picked up within a second.
                            .set_min_delay(Duration::from_millis(50))
                            .set_max_delay(Duration::from_millis(500))
                            .set_number_of_retries(3);
                        ConnectionManager::new_lazy_with_config(client.clone(), config)
                            .map(Connection::Single)
                            .map_err(cannot)
                    }
                    Backend::Cluster {
                        nodes,
                        root_certificates,
                    } => {
                        let client =
                            cluster_client(nodes, root_certificates.as_deref(), self.timeout)
                                .map_err(cannot)?;
                        client
                            .get_async_connection()
                            .await
                            .map(Connection::Cluster)
                            .map_err(cannot)
                    }
                }
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
        args: Args<'_>,
    ) -> Result<i64> {
        let redis_key = self.redis_key(key);
        self.run(op, |mut c| async move {
            let mut invocation = script.key(redis_key);
            match args {
                Args::Write { data, stamp, ttl } => invocation.arg(data).arg(stamp).arg(ttl),
                Args::Touch { stamp, ttl } => invocation.arg(stamp).arg(ttl),
            };
            invocation.invoke_async(&mut c).await
        })
        .await
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

/// Refuses `#insecure` TLS; returns the suffix that marks a TLS target in messages.
fn check_tls(addr: &ConnectionAddr, what: &str) -> Result<&'static str> {
    match addr {
        ConnectionAddr::TcpTls { insecure: true, .. } => Err(Error::Backend(format!(
            "invalid {what}: `#insecure` (no TLS certificate verification) is not \
             supported; use with_tls_root_certificates for a private CA"
        ))),
        ConnectionAddr::TcpTls { .. } => {
            ensure_crypto_provider();
            Ok(" (TLS)")
        }
        _ => Ok(""),
    }
}

/// The arguments of the write scripts.
enum Args<'a> {
    Write {
        data: &'a [u8],
        stamp: i64,
        ttl: i64,
    },
    Touch {
        stamp: i64,
        ttl: i64,
    },
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address only: the URL may carry a password.
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        let redis_key = self.redis_key(key);
        let reply = self
            .run("HMGET", |mut c| async move {
                redis::cmd("HMGET")
                    .arg(redis_key)
                    .arg(DATA)
                    .arg(STAMP)
                    .query_async::<(Option<Vec<u8>>, Option<String>)>(&mut c)
                    .await
                    .map(Some)
                    .or_else(|e| {
                        // Something else under our key (another app's string): not a session.
                        if e.code() == Some("WRONGTYPE") {
                            Ok(None)
                        } else {
                            Err(e)
                        }
                    })
            })
            .await?;
        match reply {
            Some((None, None)) => Ok(None),
            Some((Some(data), Some(stamp))) => match stamp.parse::<i64>() {
                Ok(ms) => Ok(Some(Record {
                    data,
                    last_access: from_millis(ms),
                })),
                Err(_) => {
                    tracing::warn!(session = ?key, "Redis session has a malformed last_access_ms; ignoring it");
                    Ok(None)
                }
            },
            _ => {
                tracing::warn!(session = ?key, "Redis key under the session prefix is not a pesto session; ignoring it");
                Ok(None)
            }
        }
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        let args = Args::Write {
            data,
            stamp: to_millis(lease.now),
            ttl: ttl_millis(lease.ttl),
        };
        Ok(self.script("create", &CREATE, key, args).await? == 1)
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        let args = Args::Write {
            data,
            stamp: to_millis(lease.now),
            ttl: ttl_millis(lease.ttl),
        };
        self.script("store", &STORE, key, args).await.map(drop)
    }

    async fn update(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        // One atomic script: no window between the existence check and the write.
        let args = Args::Write {
            data,
            stamp: to_millis(lease.now),
            ttl: ttl_millis(lease.ttl),
        };
        Ok(self.script("update", &UPDATE, key, args).await? == 1)
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        let args = Args::Touch {
            stamp: to_millis(lease.now),
            ttl: ttl_millis(lease.ttl),
        };
        self.script("touch", &TOUCH, key, args).await.map(drop)
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

    /// Always true: Redis expires every session key by its TTL.
    fn self_expiring(&self) -> bool {
        true
    }
}

/// Makes sure rustls has a process-wide crypto provider before a TLS connection is built.
///
/// rustls picks one by itself when exactly one provider is compiled in; an app that compiles in
/// several (ring and aws-lc-rs) and installs none would otherwise make connecting panic. An app
/// that wants its own provider installs it before creating the store.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing the race to another installer is fine: some provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A redis-rs error as text, with its detail but without anything from the URL.
fn describe(error: &RedisError) -> String {
    error.to_string()
}

/// `time` as Unix milliseconds (negative before 1970; saturating far out).
fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The inverse of [`to_millis`].
fn from_millis(ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    let time = if ms >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A lease's TTL in milliseconds, at least 1 (`PEXPIRE 0` would delete the key at once) and at
/// most [`MAX_TTL_MS`].
fn ttl_millis(ttl: Duration) -> i64 {
    let ms = ttl.as_millis().clamp(1, MAX_TTL_MS);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Escapes the `SCAN MATCH` glob characters in a literal prefix.
fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for ch in literal.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
