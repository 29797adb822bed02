//! The Redis session store against a real Redis Cluster that each test starts itself (issue 5,
//! requirement 4: "if the chosen client supports Cluster, support it").
//!
//! Run with `cargo test -p pesto --features redis --test redis_cluster`. Each test starts three
//! `redis-server --cluster-enabled yes` children (from `PATH`) on free ports in a temporary
//! directory, joins them with `redis-cli --cluster create` (three primaries, no replicas), waits
//! for `cluster_state:ok`, and kills them when it ends, even on a panic. Without `redis-server`
//! or `redis-cli` the tests fail and say so; they never pass silently.
#![cfg(feature = "redis")]

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use pesto::session::{conformance, Lease, RedisStore, SessionId, SessionKey, SessionStore};
use pesto::{session_middleware, TestApp};
use support::CountApp;

/// How long a cluster may take to form (or re-form) before the test fails.
const CLUSTER_DEADLINE: Duration = Duration::from_secs(10);

/// Fails with a clear message when `program` is not on `PATH`.
fn require(program: &str) {
    if let Err(error) = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        panic!(
            "cannot run `{program}` from PATH ({error}): the Redis Cluster tests need \
             redis-server and redis-cli (Debian/Ubuntu: `apt-get install redis-server redis-tools`)"
        );
    }
}

/// `n` distinct free TCP ports (all held open until every one is chosen).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// One node of the test cluster.
struct Node {
    /// Plain-text port: for setting the cluster up and looking at a node's keys.
    port: u16,
    /// The port clients are told about (`CLUSTER SLOTS`): the TLS port of a TLS cluster, else
    /// `port`.
    client_port: u16,
    /// The cluster bus.
    bus_port: u16,
    child: Option<Child>,
}

/// Three primaries on 127.0.0.1, killed when dropped (the directory goes with them).
struct Cluster {
    nodes: Vec<Node>,
    tls: bool,
    dir: tempfile::TempDir,
}

/// The test certificates of `tests/redis_store.rs` (CA, and a server certificate for
/// localhost and 127.0.0.1).
const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/redis-tls");

impl Cluster {
    /// Starts the nodes, creates the cluster with `redis-cli --cluster create`, and waits until
    /// every node reports it healthy.
    fn start() -> Cluster {
        let cluster = Cluster::spawn_nodes(false);
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_healthy();
        cluster
    }

    /// A cluster whose clients must use TLS (the test CA's certificate), and whose bus is plain.
    ///
    /// Redis 7.0 tells clients its TLS port only with `tls-cluster yes`, which also puts the bus
    /// on mutual TLS, for which the test certificate (server authentication only) does not do.
    /// So each node announces its TLS port as its client port (`cluster-announce-port`), and
    /// the cluster is made by hand over the plain ports (`redis-cli --cluster create` would
    /// check the result through the announced ports without TLS).
    fn start_tls() -> Cluster {
        let cluster = Cluster::spawn_nodes(true);
        let node_count = cluster.nodes.len();
        for (index, node) in cluster.nodes.iter().enumerate() {
            let first = 16384 * index / node_count;
            let last = 16384 * (index + 1) / node_count - 1;
            let mut conn = cluster.node_connection(index);
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut conn)
                .expect("CLUSTER ADDSLOTSRANGE");
            let _: () = redis::cmd("CLUSTER")
                .arg("SET-CONFIG-EPOCH")
                .arg(index + 1)
                .query(&mut conn)
                .expect("CLUSTER SET-CONFIG-EPOCH");
            if index > 0 {
                let _: () = redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(node.port)
                    .arg(node.bus_port)
                    .query(&mut cluster.node_connection(0))
                    .expect("CLUSTER MEET");
            }
        }
        cluster.wait_until_healthy();
        cluster
    }

    fn spawn_nodes(tls: bool) -> Cluster {
        require("redis-server");
        require("redis-cli");
        let dir = tempfile::tempdir().expect("temporary directory");
        let ports = free_ports(9);
        let mut cluster = Cluster {
            nodes: ports
                .chunks(3)
                .map(|p| Node {
                    port: p[0],
                    client_port: if tls { p[2] } else { p[0] },
                    bus_port: p[1],
                    child: None,
                })
                .collect(),
            tls,
            dir,
        };
        for index in 0..cluster.nodes.len() {
            cluster.spawn(index);
        }
        for node in &cluster.nodes {
            wait_for_ping(node.port);
        }
        cluster
    }

    /// Starts node `index` (again, after a kill: its `nodes-P.conf` brings back its identity
    /// and slots, but no data, since nothing is persisted).
    fn spawn(&mut self, index: usize) {
        let dir: &Path = self.dir.path();
        let node = &mut self.nodes[index];
        let port = node.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port])
            .args(["--cluster-port", &node.bus_port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(dir.join(format!("nodes-{port}.conf")))
            // Short, so that a killed node is noticed (and a restarted one accepted) quickly.
            .args(["--cluster-node-timeout", "1000"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir);
        if self.tls {
            let tls_port = node.client_port.to_string();
            command
                .args(["--tls-port", &tls_port])
                .args(["--cluster-announce-port", &tls_port])
                .args(["--tls-cert-file", &format!("{TLS_DIR}/server.crt")])
                .args(["--tls-key-file", &format!("{TLS_DIR}/server.key")])
                .args(["--tls-ca-cert-file", &format!("{TLS_DIR}/ca.crt")])
                .args(["--tls-auth-clients", "no"]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `redis-server` from PATH: {e}"));
        node.child = Some(child);
    }

    /// Kills node `index` (SIGKILL) and reaps it.
    fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits (bounded) until every node says `cluster_state:ok` and knows all the others.
    fn wait_until_healthy(&self) {
        let deadline = Instant::now() + CLUSTER_DEADLINE;
        for node in &self.nodes {
            loop {
                let info = cluster_info(node.port);
                let ok = info.as_deref().is_ok_and(|info| {
                    info.contains("cluster_state:ok")
                        && info.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
                });
                if ok {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the Redis Cluster on ports {:?} did not reach cluster_state:ok within \
                     {CLUSTER_DEADLINE:?}; last CLUSTER INFO from {}: {info:?}",
                    self.ports(),
                    node.port
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The URLs of the first `n` nodes, for clients (`rediss://` for a TLS cluster).
    fn urls(&self, n: usize) -> Vec<String> {
        let scheme = if self.tls { "rediss" } else { "redis" };
        self.nodes
            .iter()
            .take(n)
            .map(|node| format!("{scheme}://127.0.0.1:{}", node.client_port))
            .collect()
    }

    /// A plain (non-cluster) connection to node `index`, to look at what it holds.
    fn node_connection(&self, index: usize) -> redis::Connection {
        let url = format!("redis://127.0.0.1:{}", self.nodes[index].port);
        redis::Client::open(url)
            .expect("url")
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("node reachable")
    }

    /// Keys under `prefix` held by node `index` (each node only holds its own slots).
    fn keys_on(&self, index: usize, prefix: &str) -> Vec<String> {
        let mut conn = self.node_connection(index);
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)
            .expect("KEYS");
        keys.sort();
        keys
    }

    /// The index of the node that owns `redis_key`'s hash slot, as the cluster says.
    fn node_of(&self, redis_key: &str) -> usize {
        let mut conn = self.node_connection(1);
        let slot: i64 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(redis_key)
            .query(&mut conn)
            .expect("CLUSTER KEYSLOT");
        // Each entry: start slot, end slot, [primary host, primary port, id], replicas...
        let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut conn)
            .expect("CLUSTER SLOTS");
        let port = ranges
            .iter()
            .find_map(|range| {
                let start: i64 = redis::from_redis_value_ref(&range[0]).ok()?;
                let end: i64 = redis::from_redis_value_ref(&range[1]).ok()?;
                let primary: Vec<redis::Value> = redis::from_redis_value_ref(&range[2]).ok()?;
                let port: u16 = redis::from_redis_value_ref(&primary[1]).ok()?;
                (start..=end).contains(&slot).then_some(port)
            })
            .expect("some node owns every slot");
        self.nodes
            .iter()
            .position(|n| n.client_port == port)
            .expect("a node of this cluster")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
    }
}

/// Waits (bounded) until a node on `port` answers `PING`.
fn wait_for_ping(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
    let deadline = Instant::now() + CLUSTER_DEADLINE;
    loop {
        let pong = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if pong.as_deref() == Ok("PONG") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cluster_info(port: u16) -> redis::RedisResult<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(500))?;
    redis::cmd("CLUSTER").arg("INFO").query(&mut conn)
}

/// A prefix of its own for each test.
fn unique_prefix(test: &str) -> String {
    let id = SessionId::generate().expect("rng");
    format!("pesto:cluster-test:{test}:{}:", &id.as_str()[..12])
}

async fn cluster_store(cluster: &Cluster, test: &str) -> RedisStore {
    // Two seed nodes out of three: the client discovers the third.
    RedisStore::connect_cluster(&cluster.urls(2))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"))
        .with_prefix(unique_prefix(test))
}

fn new_key() -> SessionKey {
    SessionId::generate().expect("rng").key()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conforms() {
    let cluster = Cluster::start();
    let store = cluster_store(&cluster, "conform").await;
    assert!(store.is_cluster());
    conformance::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_spread_over_the_nodes_and_purge_reaches_every_node() {
    let cluster = Cluster::start();
    let store = cluster_store(&cluster, "spread").await;
    let prefix = store.prefix().to_owned();
    let ttl = Duration::from_secs(600);
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let cutoff = old + Duration::from_secs(60);
    let fresh = old + Duration::from_secs(120);

    // 60 stale sessions and 30 fresh ones: random keys hash to slots all over the cluster.
    let stale: Vec<SessionKey> = (0..60).map(|_| new_key()).collect();
    let live: Vec<SessionKey> = (0..30).map(|_| new_key()).collect();
    for key in &stale {
        let lease = Lease { now: old, ttl };
        assert!(store
            .create(key, br#"{"n":1}"#, lease)
            .await
            .expect("create"));
    }
    for key in &live {
        let lease = Lease { now: fresh, ttl };
        assert!(store
            .create(key, br#"{"n":2}"#, lease)
            .await
            .expect("create"));
    }
    let per_node: Vec<usize> = (0..3).map(|i| cluster.keys_on(i, &prefix).len()).collect();
    assert_eq!(per_node.iter().sum::<usize>(), 90, "{per_node:?}");
    assert!(
        per_node.iter().all(|&n| n > 0),
        "sessions did not spread over the three primaries: {per_node:?}"
    );
    // Every stale key is on the node that owns its slot, and each node holds some stale ones.
    let stale_nodes: Vec<usize> = stale
        .iter()
        .map(|key| cluster.node_of(&store.redis_key(key)))
        .collect();
    for index in 0..3 {
        assert!(
            stale_nodes.contains(&index),
            "no stale session on node {index}: {stale_nodes:?}"
        );
    }

    // One purge removes the stale sessions from every node (per-slot deletes: no CROSSSLOT).
    let removed = store.purge(cutoff).await.expect("purge on a cluster");
    assert_eq!(removed, 60);
    for key in &stale {
        assert!(store.load(key).await.expect("load").is_none());
    }
    for key in &live {
        let record = store
            .load(key)
            .await
            .expect("load")
            .expect("fresh survives");
        assert_eq!(record.data, br#"{"n":2}"#);
    }
    let left: usize = (0..3).map(|i| cluster.keys_on(i, &prefix).len()).sum();
    assert_eq!(left, 30);
    assert_eq!(store.purge(cutoff).await.expect("purge again"), 0);
    for key in &live {
        store.remove(key).await.expect("remove");
    }
    let left: usize = (0..3).map(|i| cluster.keys_on(i, &prefix).len()).sum();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_on_a_cluster_gives_bounded_503_for_a_dead_node_and_recovers() {
    let mut cluster = Cluster::start();
    let timeout = Duration::from_secs(1);
    let bound = timeout + Duration::from_secs(3);
    let store = RedisStore::new_cluster(&cluster.urls(3))
        .expect("urls")
        .with_prefix(unique_prefix("middleware"))
        .with_timeout(timeout);
    let prefix = store.prefix().to_owned();
    let client = TestApp::new(
        session_middleware(store)
            .auto_purge_olderthan(Duration::from_secs(120))
            .wrap(CountApp::new()),
    );

    // Sessions through the middleware, until there is one on node 0 and one elsewhere.
    let mut on_node0 = None;
    let mut elsewhere = None;
    for _ in 0..200 {
        client.clear_cookies();
        assert_eq!(client.get("/count").await.body_text(), "1");
        assert_eq!(client.get("/count").await.body_text(), "2");
        let id = client.cookie("pesto_session").expect("session cookie");
        let key = SessionId::parse(&id).expect("well-formed").key();
        let node = cluster.node_of(&format!("{prefix}{}", key.as_str()));
        if node == 0 {
            on_node0.get_or_insert(id);
        } else {
            elsewhere.get_or_insert(id);
        }
        if on_node0.is_some() && elsewhere.is_some() {
            break;
        }
    }
    let on_node0 = on_node0.expect("a session on node 0");
    let elsewhere = elsewhere.expect("a session on another node");
    // The key's TTL is auto_purge_olderthan, as on a single Redis.
    let mut conn = cluster.node_connection(0);
    let key = format!(
        "{prefix}{}",
        SessionId::parse(&on_node0).expect("id").key().as_str()
    );
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).expect("PTTL");
    assert!((100_000..=120_000).contains(&pttl), "PTTL {pttl}");

    // Node 0 dies: its sessions cannot be loaded; the answer is a prompt 503, never a hang.
    cluster.kill(0);
    client.set_cookie("pesto_session", &on_node0);
    for _ in 0..2 {
        let started = Instant::now();
        let status = client.get("/peek").await.status();
        let took = started.elapsed();
        assert_eq!(status, 503, "a session on a dead node must give 503");
        assert!(took < bound, "503 took {took:?} (bound {bound:?})");
    }

    // Node 0 comes back (same port and identity, empty): the store reconnects by itself.
    cluster.spawn(0);
    wait_for_ping(cluster.nodes[0].port);
    cluster.wait_until_healthy();
    let deadline = Instant::now() + CLUSTER_DEADLINE;
    client.set_cookie("pesto_session", &elsewhere);
    loop {
        let response = client.get("/count").await;
        if response.status() == 200 {
            // The other node kept its data.
            assert_eq!(response.body_text(), "3");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not recover after the node came back: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The restarted node lost its data (no persistence): that visitor starts again.
    client.set_cookie("pesto_session", &on_node0);
    let deadline = Instant::now() + CLUSTER_DEADLINE;
    loop {
        let response = client.get("/count").await;
        if response.status() == 200 {
            assert_eq!(response.body_text(), "1");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node 0 was not usable again: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_and_cluster_constructors_refuse_the_wrong_kind_of_server() {
    let cluster = Cluster::start();
    // A cluster node behind the single-server constructor would fail on other nodes' keys.
    let url = &cluster.urls(1)[0];
    let err = RedisStore::connect(url)
        .await
        .expect_err("a cluster node is not a single Redis")
        .to_string();
    assert!(err.contains("connect_cluster"), "{err}");

    // A standalone server behind the cluster constructor.
    let port = free_ports(1)[0];
    let mut server = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    wait_for_ping(port);
    let result = RedisStore::connect_cluster(&[format!("redis://127.0.0.1:{port}")]).await;
    let _ = server.kill();
    let _ = server.wait();
    let err = result.expect_err("not a cluster").to_string();
    assert!(err.contains("not reachable"), "{err}");
    assert!(err.to_lowercase().contains("cluster"), "{err}");
}

/// The CA that signed the test server certificate.
const TEST_CA: &[u8] = include_bytes!("data/redis-tls/ca.crt");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_cluster_verifies_the_certificates_and_conforms() {
    let cluster = Cluster::start_tls();
    let urls = cluster.urls(2);

    // The system trust store does not know the test CA: the handshake must fail.
    let refused = RedisStore::new_cluster(&urls)
        .expect("TLS URLs")
        .with_timeout(Duration::from_secs(1))
        .ping()
        .await
        .expect_err("an unknown CA must be refused");
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );

    let store = RedisStore::new_cluster(&urls)
        .expect("TLS URLs")
        .with_tls_root_certificates(TEST_CA)
        .expect("test CA")
        .with_prefix(unique_prefix("tls"));
    store.ping().await.unwrap_or_else(|e| panic!("{e}"));
    conformance::run(&store).await;
    // The sessions went to every primary, over TLS (the store was only given two of them).
    let keys: Vec<SessionKey> = (0..30).map(|_| new_key()).collect();
    let lease = Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(60),
    };
    for key in &keys {
        assert!(store.create(key, b"{}", lease).await.expect("create"));
    }
    let per_node: Vec<usize> = (0..3)
        .map(|i| cluster.keys_on(i, store.prefix()).len())
        .collect();
    assert!(per_node.iter().all(|&n| n > 0), "{per_node:?}");
    assert_eq!(
        store
            .purge(SystemTime::now() + Duration::from_secs(1))
            .await
            .expect("purge"),
        30
    );
}
