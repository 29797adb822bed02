//! Unit tests of the Redis store that need no Redis server (those that do are in
//! `pesto/tests/redis_store.rs` and `pesto/tests/redis_cluster.rs`).

use std::time::{Duration, SystemTime};

use super::purge::glob_escape;
use super::{from_millis, to_millis, ttl_millis, RedisStore};
use crate::session::store::{Error, SessionStore};
use crate::session::SessionId;

// ---- URLs and TLS settings are checked when the store is built, without connecting ----

#[test]
fn urls_parse_without_connecting() {
    // Nothing listens on port 1: `new` must not care.
    let store = RedisStore::new("redis://127.0.0.1:1/3").expect("valid URL");
    assert_eq!(store.target, "127.0.0.1:1/3");
    assert_eq!(store.prefix(), "pesto:session:");
    assert_eq!(store.timeout(), Duration::from_secs(2));
    let store = RedisStore::new("redis://user:pw@redis.example:6380").expect("valid");
    assert_eq!(store.target, "redis.example:6380/0");
    let store = RedisStore::new("redis+unix:///run/redis.sock?db=2&pass=pw").expect("unix");
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
        let err = RedisStore::new(url).expect_err(url).to_string();
        assert!(err.contains("invalid Redis URL"), "{url}: {err}");
    }
    let err = RedisStore::new("rediss://127.0.0.1:6380/0#insecure")
        .expect_err("verification cannot be turned off")
        .to_string();
    assert!(err.contains("#insecure"), "{err}");
}

#[test]
fn tls_urls_and_root_certificates() {
    let store = RedisStore::new("rediss://redis.example:6380/1").expect("TLS URL");
    assert_eq!(store.target, "redis.example:6380/1 (TLS)");
    let err = store
        .with_tls_root_certificates(b"not a certificate")
        .expect_err("no certificate in it")
        .to_string();
    assert!(err.contains("invalid TLS root certificates"), "{err}");
    let err = RedisStore::new("redis://127.0.0.1/")
        .expect("plain URL")
        .with_tls_root_certificates(b"")
        .expect_err("not a TLS URL")
        .to_string();
    assert!(err.contains("not a rediss:// URL"), "{err}");
}

#[test]
fn cluster_urls_parse_without_connecting() {
    let store = RedisStore::new_cluster(&["redis://127.0.0.1:1", "redis://127.0.0.1:2"])
        .expect("valid URLs");
    assert!(store.is_cluster());
    assert_eq!(store.target, "cluster [127.0.0.1:1, 127.0.0.1:2]/0");
    assert!(store.self_expiring());
    let store = RedisStore::new_cluster(&["rediss://alice:hunter2@redis.example:7000".to_owned()])
        .expect("one TLS seed node");
    assert_eq!(store.target, "cluster [redis.example:7000]/0 (TLS)");
    let debug = format!("{store:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("alice"),
        "{debug}"
    );
    assert!(!RedisStore::new("redis://127.0.0.1/")
        .expect("valid")
        .is_cluster());
    assert!(RedisStore::new("redis://127.0.0.1/")
        .expect("valid")
        .self_expiring());
}

#[test]
fn bad_cluster_urls_are_refused_with_a_clear_message() {
    let none: [&str; 0] = [];
    let cases: [&[&str]; 5] = [
        &none,
        &["http://127.0.0.1:7000"],
        &["redis+unix:///run/redis.sock"],
        &["redis://127.0.0.1:7000", "rediss://127.0.0.1:7001"],
        &["redis://:a@127.0.0.1:7000", "redis://:b@127.0.0.1:7001"],
    ];
    for urls in cases {
        let err = RedisStore::new_cluster(urls)
            .expect_err(&format!("{urls:?}"))
            .to_string();
        assert!(err.contains("invalid Redis Cluster URL"), "{urls:?}: {err}");
        assert!(!err.contains(":a@") && !err.contains(":b@"), "{err}");
    }
    let err = RedisStore::new_cluster(&["rediss://127.0.0.1:7000/#insecure"])
        .expect_err("verification cannot be turned off")
        .to_string();
    assert!(err.contains("#insecure"), "{err}");
    // Root certificates: only for rediss:// nodes, and only real certificates.
    let err = RedisStore::new_cluster(&["redis://127.0.0.1:7000"])
        .expect("valid")
        .with_tls_root_certificates(b"")
        .expect_err("not TLS")
        .to_string();
    assert!(err.contains("not a rediss:// URL"), "{err}");
    let err = RedisStore::new_cluster(&["rediss://127.0.0.1:7000"])
        .expect("valid")
        .with_tls_root_certificates(b"not a certificate")
        .expect_err("no certificate")
        .to_string();
    assert!(err.contains("invalid TLS root certificates"), "{err}");
}

// ---- Credentials never show ----

#[test]
fn debug_and_errors_never_show_the_password() {
    let store = RedisStore::new("redis://alice:hunter2@127.0.0.1:1/0").expect("valid");
    let debug = format!("{store:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("alice"),
        "{debug}"
    );
    let err = RedisStore::new("redis://alice:hunter2@127.0.0.1:1/x")
        .expect_err("bad db")
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

// ---- What goes to Redis: keys, stamps, TTLs and the purge's SCAN pattern ----

#[test]
fn keys_are_prefix_plus_hash_never_the_id() {
    let store = RedisStore::new("redis://127.0.0.1/")
        .expect("valid")
        .with_prefix("app:");
    let id = SessionId::generate().expect("rng");
    let key = store.redis_key(id.key());
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

// ---- An unreachable Redis is a prompt backend error ----

#[tokio::test]
async fn an_unreachable_redis_is_a_prompt_backend_error() {
    // Port 1 refuses connections: every operation fails fast, none hangs or panics.
    let store = RedisStore::new("redis://127.0.0.1:1/0")
        .expect("valid")
        .with_timeout(Duration::from_millis(500));
    let key = SessionId::generate().expect("rng").key().clone();
    let started = std::time::Instant::now();
    let err = store
        .load(&key)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, Error::Backend(_)), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(store.ping().await.is_err());
    let err = RedisStore::connect("redis://127.0.0.1:1/0")
        .await
        .expect_err("unreachable");
    assert!(err.to_string().contains("not reachable"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_prompt_backend_error() {
    let store = RedisStore::new_cluster(&["redis://127.0.0.1:1", "redis://127.0.0.1:2"])
        .expect("valid")
        .with_timeout(Duration::from_millis(500));
    let key = SessionId::generate().expect("rng").key().clone();
    let started = std::time::Instant::now();
    let err = store.load(&key).await.expect_err("nothing listens");
    assert!(matches!(err, Error::Backend(_)), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(store.purge(SystemTime::now()).await.is_err());
    let err = RedisStore::connect_cluster(&["redis://127.0.0.1:1"])
        .await
        .expect_err("unreachable");
    assert!(err.to_string().contains("not reachable"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_commands_future_leaves_the_connection_s_opening_out() {
    // A command's future is boxed with the store's (`load` is a boxed `async_trait` future):
    // opening the connection, boxed apart, takes no room in it (glibc serves boxes over about a
    // kilobyte from a slower path than its per-thread cache).
    let store = RedisStore::new("redis://127.0.0.1:1/0").expect("valid URL");
    let command = store.run("load", |mut c| async move {
        super::commands::getrange("key", 100)
            .query_async::<Vec<u8>>(&mut c)
            .await
    });
    let size = std::mem::size_of_val(&command);
    assert!(size <= 512, "a command's future takes {size} bytes");
}
