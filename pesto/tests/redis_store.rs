//! The Redis session store against a real Redis: it passes the conformance suite, lays its keys
//! out as prefixed hashes of the ids holding one string with a TTL, touches without rewriting, never brings back a
//! removed session, expires idle ones by itself, and leaves foreign keys alone; when Redis hangs
//! or dies the app answers a bounded 503 and recovers by itself; and `rediss://` verifies the
//! server's certificate (docs/security.md, "Storage").
//!
//! Run with `cargo test -p pesto --features redis --test redis_store`. The conformance and
//! layout tests use the Redis on 127.0.0.1:6379 (or `PESTO_TEST_REDIS_URL`) and fail, with a
//! message saying how to start one, when it does not answer. The fault and TLS tests start their
//! own `redis-server` (from `PATH`) on a free port.
#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pesto::session::{
    conformance, Lease, RedisStore, SessionId, SessionStore, UpdateOutcome, Version,
};
use pesto::session_middleware;
use redis::AsyncCommands;
use support::apps::CountApp;
use support::poll::until_ok;
use support::redis::server::RedisServer;
use support::redis::{
    assert_unknown_ca_is_refused, free_port, keys_under, raw_connection, redis_url, shared_store,
    trusting_test_ca, unique_prefix,
};
use support::session_client;
use support::stores::new_key;

// ---- The conformance suite and the key layout ------------------------------------------

/// The length of a record's header: `v1 <version: 20> <last access ms: 20>\n`.
const HEADER: usize = 45;

#[tokio::test]
async fn redis_store_conforms() {
    let store = shared_store("conform").await;
    conformance::run(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms_behind_a_dyn_pointer_on_a_multi_thread_runtime() {
    let store: Arc<dyn SessionStore> = Arc::new(shared_store("conform-mt").await);
    conformance::run(&store).await;
}

#[tokio::test]
async fn keys_are_prefixed_hashes_of_the_id_holding_one_string_and_the_raw_id_is_nowhere() {
    // Stored and looked up by a hash of the id (docs/security.md, "Session ids";
    // Rack CVE-2019-16782).
    let store = shared_store("layout").await;
    let prefix = store.prefix().to_owned();
    let app = session_middleware(store)
        .auto_purge_olderthan(Duration::from_secs(120))
        .wrap(CountApp::new());
    let client = session_client(app);
    assert_eq!(client.get("/count").await.body_text(), "1");
    assert_eq!(client.get("/count").await.body_text(), "2");
    let id = client.cookie("pesto_session").expect("session cookie");
    let id = SessionId::parse(&id).expect("well-formed id");

    let mut conn = raw_connection(&redis_url()).await;
    let keys = keys_under(&mut conn, &prefix).await;
    assert_eq!(keys, vec![format!("{prefix}{}", id.key().as_str())]);
    let key = &keys[0];
    assert!(!key.contains(id.as_str()), "{key}");
    let kind: String = redis::cmd("TYPE")
        .arg(key)
        .query_async(&mut conn)
        .await
        .expect("TYPE");
    assert_eq!(kind, "string");
    let value: Vec<u8> = conn.get(key).await.expect("GET");
    let value = String::from_utf8(value).expect("UTF-8");
    assert!(!value.contains(id.as_str()), "the value holds the raw id");
    // A header (format, version, last access in ms), then the middleware's record: the session's
    // JSON, byte for byte, with when the session began.
    let (header, record) = value.split_once('\n').expect("a header line");
    let fields: Vec<&str> = header.split(' ').collect();
    assert_eq!(fields.len(), 3, "{header}");
    assert_eq!(fields[0], "v1");
    assert_eq!(
        fields[1],
        format!("{:020}", 2),
        "the second save is version 2"
    );
    let stamp: i64 = fields[2].parse().expect("a stamp");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    assert!(
        (now as i64 - stamp).abs() < 60_000,
        "stamp {stamp}, now {now}"
    );
    assert!(
        record.starts_with(r#"{"created":"#) && record.ends_with(r#","data":{"n":2}}"#),
        "{record}"
    );
    // The TTL is auto_purge_olderthan (120 s), so Redis expires idle sessions itself.
    let pttl: i64 = conn.pttl(key).await.expect("PTTL");
    assert!((100_000..=120_000).contains(&pttl), "PTTL {pttl}");

    // Logout-style removal leaves nothing behind.
    let store = RedisStore::new(&redis_url())
        .expect("url")
        .with_prefix(prefix.clone());
    store.remove(id.key()).await.expect("remove");
    assert!(keys_under(&mut conn, &prefix).await.is_empty());
}

#[tokio::test]
async fn a_logged_in_read_is_one_plain_command_and_no_script() {
    // Counted by a redis-server of this test's own, so no other test's commands mix in.
    let server = RedisServer::start(free_port());
    let store = RedisStore::new(&server.url()).expect("url");
    let client = session_client(session_middleware(store).wrap(CountApp::new()));
    assert_eq!(client.get("/count").await.body_text(), "1");
    let mut conn = raw_connection(&server.url()).await;
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .expect("CONFIG RESETSTAT");
    assert_eq!(client.get("/peek").await.body_text(), "1");
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    // Lines like `cmdstat_getrange:calls=1,usec=…`; the test's own CONFIG and INFO left out.
    let calls: Vec<(String, u64)> = stats
        .lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| !name.starts_with("config") && name != "info")
        .collect();
    assert_eq!(calls, [("getrange".to_owned(), 1)], "{stats}");
}

#[tokio::test]
async fn touch_refreshes_the_ttl_and_stamp_without_rewriting_the_data() {
    let store = shared_store("touch").await;
    let mut conn = raw_connection(&redis_url()).await;
    let key = new_key();
    let redis_key = store.redis_key(&key);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let ttl = Duration::from_secs(600);
    let data = br#"{"user":"alice","big":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;
    assert!(store
        .create(&key, data, Lease { now: t0, ttl })
        .await
        .expect("create"));

    // Mark the stored bytes so that a rewrite would show (touch has no data to write back, so
    // the marker must survive it), and age the key by hand.
    let value: Vec<u8> = conn.get(&redis_key).await.expect("GET");
    let marker = br#"{"marker":"set by the test, not by the store"}"#;
    let marked = [&value[..HEADER], &marker[..]].concat();
    let _: () = conn.set(&redis_key, &marked).await.expect("SET");
    let _: bool = conn.pexpire(&redis_key, 5_000).await.expect("PEXPIRE");
    let t1 = t0 + Duration::from_secs(90);
    store
        .touch(&key, Lease { now: t1, ttl })
        .await
        .expect("touch");

    let pttl: i64 = conn.pttl(&redis_key).await.expect("PTTL");
    assert!(pttl > 590_000, "touch did not refresh the TTL: PTTL {pttl}");
    let stored: Vec<u8> = conn.get(&redis_key).await.expect("GET");
    assert_eq!(&stored[HEADER..], marker, "touch rewrote the data");
    let stamp = String::from_utf8_lossy(&stored[24..44]).into_owned();
    assert_eq!(stamp, "00000001800000090000");
    let record = store.load(&key).await.expect("load").expect("present");
    assert_eq!(record.last_access, t1);

    // Touching an absent key does not create it (no half-record with a stamp and no data).
    let absent = new_key();
    store
        .touch(&absent, Lease { now: t1, ttl })
        .await
        .expect("touch");
    let exists: bool = conn.exists(store.redis_key(&absent)).await.expect("EXISTS");
    assert!(!exists);
    store.remove(&key).await.expect("remove");
}

#[tokio::test]
async fn update_never_brings_back_a_session_another_server_removed() {
    // A logout is not undone (docs/security.md, "Session lifecycle"; rack-session
    // CVE-2025-46336), across two app servers.
    let first = shared_store("update").await;
    let second = RedisStore::new(&redis_url())
        .expect("url")
        .with_prefix(first.prefix());
    let key = new_key();
    let lease = Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(60),
    };
    assert!(first.create(&key, b"{}", lease).await.expect("create"));
    assert_eq!(
        second
            .update(&key, br#"{"n":1}"#, Version::FIRST, lease)
            .await
            .expect("update"),
        UpdateOutcome::Written
    );
    assert_eq!(
        first.load(&key).await.expect("load").expect("present").data,
        br#"{"n":1}"#
    );
    // A logout through the second server, then a late save through the first.
    second.remove(&key).await.expect("remove");
    assert_eq!(
        first
            .update(&key, br#"{"n":2}"#, Version::FIRST.next(), lease)
            .await
            .expect("update"),
        UpdateOutcome::Absent
    );
    assert!(first.load(&key).await.expect("load").is_none());
}

#[tokio::test]
async fn redis_expires_idle_sessions_by_itself() {
    let store = shared_store("expiry").await;
    let key = new_key();
    let lease = Lease {
        now: SystemTime::now(),
        ttl: Duration::from_millis(300),
    };
    assert!(store.create(&key, b"{}", lease).await.expect("create"));
    assert!(store.load(&key).await.expect("load").is_some());
    // No purge runs here: the key's own TTL removes it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(store.load(&key).await.expect("load").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middleware_runs_no_periodic_purge_on_redis_but_an_explicit_purge_works() {
    let store = shared_store("self-expiring").await;
    assert!(store.self_expiring(), "Redis expires sessions by itself");
    let dyn_store: Arc<dyn SessionStore> = Arc::new(shared_store("self-expiring-dyn").await);
    assert!(dyn_store.self_expiring(), "through a pointer too");
    let prefix = store.prefix().to_owned();
    // A session idle for two minutes that Redis keeps for ten (written before the idle limit
    // was shortened, say): only a purge would remove it before its TTL.
    let stale = new_key();
    let lease = Lease {
        now: SystemTime::now() - Duration::from_secs(120),
        ttl: Duration::from_secs(600),
    };
    assert!(store.create(&stale, b"{}", lease).await.expect("create"));
    let client = session_client(
        session_middleware(store)
            .auto_purge_every(Duration::from_millis(50))
            .auto_purge_olderthan(Duration::from_secs(60))
            .wrap(CountApp::new()),
    );
    for _ in 0..3 {
        assert_eq!(client.get("/peek").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Many purge periods later, no purge has walked the keyspace.
    let mut conn = raw_connection(&redis_url()).await;
    let stale_key = format!("{prefix}{}", stale.as_str());
    let exists: bool = conn.exists(&stale_key).await.expect("EXISTS");
    assert!(exists, "the middleware purged a self-expiring store");
    // An explicit purge still removes it.
    assert_eq!(client.purge_sessions_async().await, 1);
    let exists: bool = conn.exists(&stale_key).await.expect("EXISTS");
    assert!(!exists);
}

#[tokio::test]
async fn foreign_keys_under_the_prefix_are_not_sessions_and_survive_purge() {
    let store = shared_store("foreign").await;
    let mut conn = raw_connection(&redis_url()).await;
    let key = new_key();
    let other = new_key();
    // A string that is not a session record, and another type (a hash: pesto's layout before
    // records became one string).
    let _: () = conn
        .set(store.redis_key(&key), "not a session")
        .await
        .expect("SET");
    let _: i64 = conn
        .hset(store.redis_key(&other), "x", "1")
        .await
        .expect("HSET");
    assert!(store.load(&key).await.expect("load").is_none());
    assert!(store.load(&other).await.expect("load").is_none());
    let removed = store.purge(SystemTime::now()).await.expect("purge");
    assert_eq!(removed, 0);
    let left = keys_under(&mut conn, store.prefix()).await;
    assert_eq!(left.len(), 2, "{left:?}");
    let _: i64 = conn.del(left).await.expect("DEL");
}

#[tokio::test]
async fn an_oversized_record_is_absent_and_never_crosses_the_network() {
    // docs/security.md, "Storage": the load reads at most the header and the limit plus one
    // byte (`GETRANGE`), never the planted 2 MiB.
    let store = shared_store("oversized").await.with_max_record_size(1024);
    let mut conn = raw_connection(&redis_url()).await;
    let (key, edge) = (new_key(), new_key());
    let header = format!("v1 {:020} {:020}\n", 1, 1);
    let planted = [header.as_bytes(), &vec![b'x'; 2 * 1024 * 1024]].concat();
    let _: () = conn.set(store.redis_key(&key), planted).await.expect("SET");
    assert!(store.load(&key).await.expect("load").is_none());
    let fits = vec![b'y'; 1024];
    let _: () = conn
        .set(store.redis_key(&edge), [header.as_bytes(), &fits].concat())
        .await
        .expect("SET");
    assert_eq!(
        store.load(&edge).await.expect("load").map(|r| r.data),
        Some(fits)
    );
    let _: i64 = conn
        .del(&[store.redis_key(&key), store.redis_key(&edge)])
        .await
        .expect("DEL");
}

// ---- Connection faults, against a redis-server this test owns --------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_gives_bounded_503_and_the_app_recovers_by_itself() {
    let timeout = Duration::from_secs(1);
    // A correctness bound, not a benchmark: the configured timeout plus generous slack.
    let bound = timeout + Duration::from_secs(3);
    let mut server = RedisServer::start(free_port());
    let store = RedisStore::new(&server.url())
        .expect("url")
        .with_timeout(timeout);
    let app = session_middleware(store).wrap(CountApp::new());
    let client = session_client(app);
    assert_eq!(client.get("/count").await.body_text(), "1");
    assert_eq!(client.get("/count").await.body_text(), "2");

    // 1. Redis hangs (SIGSTOP): only the timeout can end the wait.
    server.freeze(true);
    for _ in 0..2 {
        let started = Instant::now();
        let response = client.get("/peek").await;
        let took = started.elapsed();
        assert_eq!(response.status(), 503, "a hung Redis must give 503");
        assert!(took < bound, "503 took {took:?} (bound {bound:?})");
        assert!(
            took >= timeout / 2,
            "answered in {took:?}: was Redis really frozen?"
        );
    }
    server.freeze(false);
    // Same data: Redis was only paused.
    assert_eq!(
        until_ok(&client, "/count", Duration::from_secs(10)).await,
        "3"
    );

    // 2. Redis dies: every request that needs the session gets 503 promptly, never a hang.
    server.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let response = client.get("/peek").await;
        let took = started.elapsed();
        assert_eq!(response.status(), 503, "a dead Redis must give 503 on load");
        assert!(took < bound, "503 took {took:?} (bound {bound:?})");
    }
    // A visitor without a session cannot have one created: a save error, 500, just as bounded.
    client.clear_cookies();
    let started = Instant::now();
    let status = client.get("/count").await.status();
    let took = started.elapsed();
    assert_eq!(status, 500, "a dead Redis must give 500 on save");
    assert!(took < bound, "500 took {took:?} (bound {bound:?})");

    // 3. Redis comes back on the same port, empty (no persistence): the app reconnects by
    // itself; the client starts a new session.
    let _server = RedisServer::start(server.port);
    let body = until_ok(&client, "/count", Duration::from_secs(15)).await;
    assert_eq!(body, "1");
    assert_eq!(client.get("/count").await.body_text(), "2");
}

// ---- rediss:// (TLS), against a TLS-only redis-server this test owns -------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_server_certificate_and_conforms() {
    let server = RedisServer::start_tls(free_port());
    let url = format!("rediss://localhost:{}/0", server.port);

    // The system trust store does not know the test CA: the handshake must fail.
    assert_unknown_ca_is_refused(RedisStore::new(&url).expect("TLS URL")).await;

    // Trusting the test CA, by host name and by IP address (both are in the certificate).
    for url in [url.clone(), format!("rediss://127.0.0.1:{}/0", server.port)] {
        let store = trusting_test_ca(RedisStore::new(&url).expect("TLS URL"))
            .with_prefix(unique_prefix("tls"));
        store.ping().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        conformance::run(&store).await;
    }
}

#[test]
fn hundreds_of_concurrent_requests_of_one_session_lose_nothing_in_redis() {
    // The store is made on the runtime TestApp runs requests on (its connection lives there).
    let store = pesto::testing::block_on(shared_store("concurrent"));
    support::concurrency::nothing_lost_under_load(store);
}

#[test]
fn flash_messages_round_trip_through_redis() {
    let store = pesto::testing::block_on(shared_store("flash"));
    let client =
        support::session_client(session_middleware(store).wrap(support::flash::FlashApp::new()));
    support::flash::shown_once_after_a_redirect(&client);
}
