//! The Redis session store on a real Redis Cluster that each test starts itself: it conforms,
//! spreads sessions over the nodes and purges every node, gives a bounded 503 for a session on
//! a dead node and recovers when the node returns, refuses the wrong kind of server, and
//! verifies certificates over `rediss://` (docs/security.md, "Storage").
//!
//! Run with `cargo test -p pesto --features redis --test redis_cluster`. Each test starts three
//! `redis-server --cluster-enabled yes` children (from `PATH`) on free ports in a temporary
//! directory, joins them (three primaries, no replicas), waits for `cluster_state:ok`, and kills
//! them when it ends, even on a panic (see `support::redis::Cluster`). Without `redis-server`
//! or `redis-cli` the tests fail and say so; they never pass silently.
#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant, SystemTime};

use pesto::session::{conformance, Lease, RedisStore, SessionId, SessionKey, SessionStore};
use pesto::session_middleware;
use support::apps::CountApp;
use support::poll::until_ok;
use support::redis::cluster::{Cluster, CLUSTER_DEADLINE};
use support::redis::server::RedisServer;
use support::redis::{
    assert_unknown_ca_is_refused, free_port, trusting_test_ca, unique_prefix, wait_for_ping,
};
use support::session_client;
use support::stores::new_key;
use support::time::at;

async fn cluster_store(cluster: &Cluster, test: &str) -> RedisStore {
    // Two seed nodes out of three: the client discovers the third.
    RedisStore::connect_cluster(&cluster.urls(2))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"))
        .with_prefix(unique_prefix(&format!("cluster-{test}")))
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
    let old = at(0);
    let cutoff = at(60);
    let fresh = at(120);

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
        .with_prefix(unique_prefix("cluster-middleware"))
        .with_timeout(timeout);
    let prefix = store.prefix().to_owned();
    let client = session_client(
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
        let key = SessionId::parse(&id).expect("well-formed").key().clone();
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
    client.set_cookie("pesto_session", &elsewhere);
    // The other node kept its data.
    assert_eq!(until_ok(&client, "/count", CLUSTER_DEADLINE).await, "3");
    // The restarted node lost its data (no persistence): that visitor starts again.
    client.set_cookie("pesto_session", &on_node0);
    assert_eq!(until_ok(&client, "/count", CLUSTER_DEADLINE).await, "1");
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
    let mut server = RedisServer::start(free_port());
    let result = RedisStore::connect_cluster(&[format!("redis://127.0.0.1:{}", server.port)]).await;
    server.kill();
    let err = result.expect_err("not a cluster").to_string();
    assert!(err.contains("not reachable"), "{err}");
    assert!(err.to_lowercase().contains("cluster"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_cluster_verifies_the_certificates_and_conforms() {
    let cluster = Cluster::start_tls();
    let urls = cluster.urls(2);

    // The system trust store does not know the test CA: the handshake must fail.
    assert_unknown_ca_is_refused(RedisStore::new_cluster(&urls).expect("TLS URLs")).await;

    let store = trusting_test_ca(RedisStore::new_cluster(&urls).expect("TLS URLs"))
        .with_prefix(unique_prefix("cluster-tls"));
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
