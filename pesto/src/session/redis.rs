//! Redis session store (cargo feature `redis`): sessions shared by every process that points at
//! the same Redis, expired by Redis itself.
//!
//! # Layout
//! One Redis hash per session, under `<prefix><SessionKey>` (the SHA-256 of the id, never the
//! id itself; the default prefix is `pesto:session:`):
//!
//! | field            | value                                                            |
//! |------------------|------------------------------------------------------------------|
//! | `data`           | the session's serialized JSON, byte for byte                    |
//! | `last_access_ms` | [`Lease::now`] of the last write or touch, Unix milliseconds     |
//!
//! The key's time to live is [`Lease::ttl`] (`auto_purge_olderthan`), set again by every
//! create, store, update and touch, so an idle session disappears on its own. `touch` rewrites
//! only `last_access_ms` and the TTL, never `data`. Writes are single-key Lua scripts, so each
//! is atomic (`create` never overwrites; `update` never brings back a session removed meanwhile,
//! by any server) and keeps working after a Redis restart (redis-rs reloads a script Redis no
//! longer knows).
//!
//! # TLS
//! `rediss://` URLs connect over TLS (rustls, *ring* provider) and verify the server certificate
//! against the system trust store, or against the CAs given to
//! [`with_tls_root_certificates`](RedisSessionManager::with_tls_root_certificates).
//!
//! # Faults
//! Every command runs under a timeout (default 2 s, see
//! [`with_timeout`](RedisSessionManager::with_timeout)). A Redis that is down or does not answer
//! yields [`Error::Backend`] within about that time, which the middleware answers with 503 on
//! load and 500 on save; redis-rs's `ConnectionManager` reconnects by itself once Redis is back.

use std::fmt;
use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionAddr, RedisError, Script, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::sync::OnceCell;

use super::id::SessionKey;
use super::store::{Error, Lease, Record, Result, SessionManager};

/// Hash field holding the session bytes.
const DATA: &str = "data";
/// Hash field holding the last access, in Unix milliseconds.
const STAMP: &str = "last_access_ms";
/// Keys asked of each `SCAN` step during purge.
const SCAN_COUNT: usize = 500;
/// Upper bound for a key's TTL (about 30,000 years): Redis refuses an expiry that overflows.
const MAX_TTL_MS: u128 = 1_000_000_000_000_000;

/// `create`: writes only if the key is free. KEYS[1] key; ARGV data, stamp, ttl (ms).
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `store`: replaces whatever the key held. Same arguments as [`CREATE`].
static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `update`: replaces the record only if the key exists (so that a request which began before a
/// logout, possibly on another server, cannot bring the session back). Same arguments as [`CREATE`].
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `touch`: new stamp and TTL, data untouched; an absent key stays absent. ARGV stamp, ttl.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_access_ms', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1",
    )
});

/// `purge`: of the given keys, deletes the session hashes last accessed before ARGV[1] (ms);
/// anything else under the prefix (another type, no stamp) is left alone. Returns the count.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cutoff = tonumber(ARGV[1])
local removed = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'hash' then
    local stamp = tonumber(redis.call('HGET', key, 'last_access_ms'))
    if stamp ~= nil and stamp < cutoff then
      removed = removed + redis.call('DEL', key)
    end
  end
end
return removed",
    )
});

/// Sessions in Redis, shared by every process configured with the same URL and prefix.
///
/// Built from a URL without touching the network: the connection (one multiplexed connection,
/// managed by redis-rs's `ConnectionManager`, which reconnects after a failure) is opened on
/// first use, from inside the Tokio runtime that serves the app. Use
/// [`connect`](Self::connect) to fail at start-up instead when Redis is unreachable.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use pesto::prelude::*;
/// use pesto::session::RedisSessionManager;
///
/// #[route("/", GET)]
/// async fn index(req: &mut Request<SessionMap>) -> String {
///     format!("{} keys in this session", req.session.len())
/// }
/// dispatcher_app!(App = [index]);
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisSessionManager::connect("redis://127.0.0.1:6379/0")
///     .await?
///     .with_prefix("myapp:session:")
///     .with_timeout(Duration::from_secs(3));
/// let app = session_middleware(store)
///     .auto_purge_olderthan(Duration::from_secs(1800))
///     // Redis expires idle sessions itself: the periodic purge has nothing to do.
///     .auto_purge_every(Duration::ZERO)
///     .wrap(App::new());
/// pesto::serve(([127, 0, 0, 1], 8080).into(), app).await?;
/// # Ok(()) }
/// ```
pub struct RedisSessionManager {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    /// `host:port/db` (or the socket path), for messages: never the credentials.
    target: String,
}

impl RedisSessionManager {
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
    /// turning verification off (`#insecure`) is refused.
    ///
    /// # Errors
    /// [`Error::Backend`] if the URL is malformed or asks for something this build does not
    /// support. No connection is attempted, so an unreachable Redis is not an error here.
    ///
    /// # Examples
    /// ```
    /// use pesto::session::RedisSessionManager;
    /// let store = RedisSessionManager::new("redis://:secret@127.0.0.1:6379/2").unwrap();
    /// assert!(!format!("{store:?}").contains("secret"));
    /// assert!(RedisSessionManager::new("rediss://redis.example:6380/0").is_ok());
    /// assert!(RedisSessionManager::new("http://127.0.0.1/").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self> {
        let client = Client::open(url)
            .map_err(|e| Error::Backend(format!("invalid Redis URL: {}", describe(&e))))?;
        let info = client.get_connection_info();
        let tls = match info.addr() {
            ConnectionAddr::TcpTls { insecure: true, .. } => {
                return Err(Error::Backend(
                    "invalid Redis URL: `#insecure` (no TLS certificate verification) is not \
                     supported; use with_tls_root_certificates for a private CA"
                        .to_owned(),
                ))
            }
            ConnectionAddr::TcpTls { .. } => {
                ensure_crypto_provider();
                " (TLS)"
            }
            _ => "",
        };
        let target = format!("{}/{}{tls}", info.addr(), info.redis_settings().db());
        Ok(RedisSessionManager {
            client,
            connection: OnceCell::new(),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            target,
        })
    }

    /// Trusts only the certificate authorities in `pem` (PEM text, one or more certificates)
    /// for a `rediss://` URL, instead of the operating system's trust store: for a Redis whose
    /// certificate comes from a private CA (as some managed services issue).
    ///
    /// # Errors
    /// [`Error::Backend`] if the store's URL is not `rediss://`, or `pem` holds no usable
    /// certificate.
    pub fn with_tls_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        let info = self.client.get_connection_info().clone();
        if !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
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
        let certificates = TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.to_vec()),
        };
        self.client = Client::build_with_tls(info, certificates).map_err(|e| {
            Error::Backend(format!("invalid TLS root certificates: {}", describe(&e)))
        })?;
        self.connection = OnceCell::new();
        Ok(self)
    }

    /// A store for the Redis at `url` (see [`new`](Self::new)) that has answered a `PING`.
    ///
    /// # Errors
    /// [`Error::Backend`] if the URL is invalid, or Redis does not answer within
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) (the message names the address, never the password).
    pub async fn connect(url: &str) -> Result<Self> {
        let store = Self::new(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// Sends a `PING`: a health check for start-up or a readiness probe.
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

    /// The Redis key under which `key`'s session lives: the prefix and the key's 64 hex digits.
    pub fn redis_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// The shared connection, set up (without connecting) on first use.
    async fn connection(&self) -> Result<ConnectionManager> {
        let manager = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    // Retry soon and often: the outer timeout bounds what a request waits, and a
                    // restarted Redis should be picked up within a second.
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500))
                    .set_number_of_retries(3);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config).map_err(|e| {
                    Error::Backend(format!(
                        "cannot set up the Redis connection to {}: {}",
                        self.target,
                        describe(&e)
                    ))
                })
            })
            .await?;
        Ok(manager.clone())
    }

    /// Runs one command (or script) on the shared connection under the timeout.
    async fn run<T, F, Fut>(&self, op: &str, command: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
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

impl fmt::Debug for RedisSessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The address only: the URL may carry a password.
        f.debug_struct("RedisSessionManager")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SessionManager for RedisSessionManager {
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

    /// Walks the prefix with `SCAN` and removes sessions last accessed before `cutoff`.
    ///
    /// Redis already deletes a session once it has been idle for its TTL, so with an unchanged
    /// `auto_purge_olderthan` this finds nothing; it matters after the setting was shortened
    /// (keys written earlier keep their longer TTL) and for records written with an old
    /// [`Lease::now`]. Each `SCAN` step and each batch delete is one command under the timeout.
    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let cutoff = to_millis(cutoff);
        let mut cursor: u64 = 0;
        let mut removed: u64 = 0;
        loop {
            let pattern = pattern.as_str();
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .run("SCAN", |mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if !keys.is_empty() {
                let n: u64 = self
                    .run("purge", |mut c| async move {
                        let mut invocation = PURGE.prepare_invoke();
                        for key in &keys {
                            invocation.key(key.as_slice());
                        }
                        invocation.arg(cutoff).invoke_async(&mut c).await
                    })
                    .await?;
                removed += n;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionId;

    #[test]
    fn urls_parse_without_connecting() {
        // Nothing listens on port 1: `new` must not care.
        let store = RedisSessionManager::new("redis://127.0.0.1:1/3").expect("valid URL");
        assert_eq!(store.target, "127.0.0.1:1/3");
        assert_eq!(store.prefix(), "pesto:session:");
        assert_eq!(store.timeout(), Duration::from_secs(2));
        let store = RedisSessionManager::new("redis://user:pw@redis.example:6380").expect("valid");
        assert_eq!(store.target, "redis.example:6380/0");
        let store =
            RedisSessionManager::new("redis+unix:///run/redis.sock?db=2&pass=pw").expect("unix");
        assert_eq!(store.target, "/run/redis.sock/2");
    }

    #[test]
    fn bad_urls_are_refused_with_a_clear_message() {
        for url in [
            "",
            "http://127.0.0.1/",
            "not a url",
            "redis://127.0.0.1:6379/notadb",
        ] {
            let err = RedisSessionManager::new(url).expect_err(url).to_string();
            assert!(err.contains("invalid Redis URL"), "{url}: {err}");
        }
        let err = RedisSessionManager::new("rediss://127.0.0.1:6380/0#insecure")
            .expect_err("verification cannot be turned off")
            .to_string();
        assert!(err.contains("#insecure"), "{err}");
    }

    #[test]
    fn tls_urls_and_root_certificates() {
        let store = RedisSessionManager::new("rediss://redis.example:6380/1").expect("TLS URL");
        assert_eq!(store.target, "redis.example:6380/1 (TLS)");
        let err = store
            .with_tls_root_certificates(b"not a certificate")
            .expect_err("no certificate in it")
            .to_string();
        assert!(err.contains("invalid TLS root certificates"), "{err}");
        let err = RedisSessionManager::new("redis://127.0.0.1/")
            .expect("plain URL")
            .with_tls_root_certificates(b"")
            .expect_err("not a TLS URL")
            .to_string();
        assert!(err.contains("not a rediss:// URL"), "{err}");
    }

    #[test]
    fn debug_and_errors_never_show_the_password() {
        let store = RedisSessionManager::new("redis://alice:hunter2@127.0.0.1:1/0").expect("valid");
        let debug = format!("{store:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("alice"),
            "{debug}"
        );
        let err = RedisSessionManager::new("redis://alice:hunter2@127.0.0.1:1/x")
            .expect_err("bad db")
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn keys_are_prefix_plus_hash_never_the_id() {
        let store = RedisSessionManager::new("redis://127.0.0.1/")
            .expect("valid")
            .with_prefix("app:");
        let id = SessionId::generate().expect("rng");
        let key = store.redis_key(&id.key());
        assert_eq!(key, format!("app:{}", id.key().as_str()));
        assert!(!key.contains(id.as_str()));
    }

    #[test]
    fn millis_round_trip_before_and_after_1970() {
        for ms in [0, 1, 1_700_000_000_123, -1, -86_400_000] {
            assert_eq!(to_millis(from_millis(ms)), ms);
        }
        let now = SystemTime::now();
        let back = from_millis(to_millis(now));
        assert!(now.duration_since(back).expect("not later") < Duration::from_millis(1));
    }

    #[test]
    fn ttls_are_clamped_to_what_redis_accepts() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_secs(1800)), 1_800_000);
        assert_eq!(ttl_millis(Duration::MAX), 1_000_000_000_000_000);
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped() {
        assert_eq!(glob_escape("pesto:session:"), "pesto:session:");
        assert_eq!(glob_escape(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_prompt_backend_error() {
        // Port 1 refuses connections: every operation fails fast, none hangs or panics.
        let store = RedisSessionManager::new("redis://127.0.0.1:1/0")
            .expect("valid")
            .with_timeout(Duration::from_millis(500));
        let key = SessionId::generate().expect("rng").key();
        let started = std::time::Instant::now();
        let err = store
            .load(&key)
            .await
            .expect_err("nothing listens on port 1");
        assert!(matches!(err, Error::Backend(_)), "{err}");
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
        assert!(store.ping().await.is_err());
        let err = RedisSessionManager::connect("redis://127.0.0.1:1/0")
            .await
            .expect_err("unreachable");
        assert!(err.to_string().contains("not reachable"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
    }
}
