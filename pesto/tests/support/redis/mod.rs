//! Redis for the store tests: the shared server on 127.0.0.1:6379 (or `PESTO_TEST_REDIS_URL`)
//! with a key prefix per test; [`server::RedisServer`] and [`cluster::Cluster`], which a test
//! starts on free ports and which die with it; and the test certificates for `rediss://`.
//!
//! Nothing here passes silently: without a Redis, or without `redis-server` and `redis-cli` on
//! `PATH`, the tests fail and say how to get one.

pub mod cluster;
pub mod server;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use pesto::session::{RedisStore, SessionId};

use super::poll;

/// The directory of the test certificates: a CA, and a server certificate it signed for
/// localhost and 127.0.0.1.
pub const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/redis-tls");

/// The test CA that signed `tests/data/redis-tls/server.crt`.
pub const TEST_CA: &[u8] = include_bytes!("../../data/redis-tls/ca.crt");

/// The shared Redis the tests expect (`.ci/run` starts it when it does not answer `PING`).
pub fn redis_url() -> String {
    std::env::var("PESTO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A prefix of its own for each test, so tests running side by side never see each other's keys.
pub fn unique_prefix(test: &str) -> String {
    let id = SessionId::generate().expect("rng");
    format!("pesto:test:{test}:{}:", &id.as_str()[..12])
}

/// A store on the shared Redis, or a failure that says how to get one: never a silent pass.
pub async fn shared_store(test: &str) -> RedisStore {
    let url = redis_url();
    match RedisStore::connect(&url).await {
        Ok(store) => store.with_prefix(unique_prefix(test)),
        Err(error) => panic!(
            "{error} — start it with \
             `redis-server --daemonize yes --save '' --appendonly no` \
             or point PESTO_TEST_REDIS_URL at one"
        ),
    }
}

/// A plain redis-rs connection for looking at what the store wrote.
pub async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("valid URL")
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis not reachable at {url}: {e}"))
}

/// Every key under `prefix`, by `SCAN` (as an operator would look).
pub async fn keys_under(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// `store`, trusting the test CA (and the system's roots).
pub fn trusting_test_ca(store: RedisStore) -> RedisStore {
    store.with_tls_root_certificates(TEST_CA).expect("test CA")
}

/// Asserts that `store`, which does not trust the test CA, refuses the test server's
/// certificate (the system trust store does not know that CA).
pub async fn assert_unknown_ca_is_refused(store: RedisStore) {
    let refused = store
        .with_timeout(Duration::from_secs(1))
        .ping()
        .await
        .expect_err("an unknown CA must be refused");
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );
}

/// `n` distinct free TCP ports (all held open until every one is chosen).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// One free TCP port.
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// Waits (at most 10 s) until a server on `port` answers `PING` in plain text.
pub fn wait_for_ping(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
    poll::until(
        Duration::from_secs(10),
        &format!("redis-server on port {port} to start"),
        || {
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(200))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            match pong {
                Ok(pong) if pong == "PONG" => Ok(()),
                other => Err(other),
            }
        },
    );
}

/// `redis-server` on 127.0.0.1 with persistence off and its output discarded; the caller adds
/// the ports.
fn redis_server_command() -> Command {
    let mut command = Command::new("redis-server");
    command
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// The arguments that make `redis-server` serve TLS on `tls_port` with the test certificates,
/// without asking clients for theirs.
fn tls_args(tls_port: u16) -> Vec<String> {
    [
        "--tls-port".to_owned(),
        tls_port.to_string(),
        "--tls-cert-file".to_owned(),
        format!("{TLS_DIR}/server.crt"),
        "--tls-key-file".to_owned(),
        format!("{TLS_DIR}/server.key"),
        "--tls-ca-cert-file".to_owned(),
        format!("{TLS_DIR}/ca.crt"),
        "--tls-auth-clients".to_owned(),
        "no".to_owned(),
    ]
    .into()
}

/// Fails with a clear message when `program` is not on `PATH`.
fn require(program: &str) {
    if let Err(error) = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "cannot run `{program}` from PATH ({error}): the Redis tests that start their own \
             servers need redis-server and redis-cli \
             (Debian/Ubuntu: `apt-get install redis-server redis-tools`)"
        );
    }
}
