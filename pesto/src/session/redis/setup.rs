//! Building a [`RedisStore`]: URL parsing (one server or a Cluster's seed nodes), TLS settings,
//! the constructors that check the server answers, and the `with_*` builder methods.
//!
//! Nothing here touches the network except [`connect`](RedisStore::connect),
//! [`connect_cluster`](RedisStore::connect_cluster) and [`ping`](RedisStore::ping); the connection
//! itself is opened on first use (see `connection.rs`).

use std::time::Duration;

use redis::{Client, ConnectionAddr, IntoConnectionInfo, RedisError, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::sync::OnceCell;

use super::connection::{cluster_client, Backend};
use super::{describe, RedisStore};
use crate::session::store::{Error, Result, DEFAULT_MAX_RECORD_SIZE};

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
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
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

    /// The largest record it writes or loads, in bytes (default
    /// [`DEFAULT_MAX_RECORD_SIZE`]). A larger write fails with [`Error::TooLarge`]; a larger record
    /// (written by something else) is logged and treated as absent, checked inside Redis so that it
    /// never crosses the network.
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
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
