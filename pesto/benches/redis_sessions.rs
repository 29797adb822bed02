//! Session load + save round trips per second against the local Redis.
//!
//! ```text
//! cargo bench -p pesto --features redis --bench redis_sessions -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! One element is one round trip of a request that changed its session: `load` (GETRANGE) then
//! `update` (EVALSHA of the update script), the two store calls the middleware makes. `sequential`
//! runs them one after another on one task; `concurrent/N` runs N tasks at once, each on its own
//! session, all sharing one `RedisStore` (one multiplexed connection, so their commands
//! are pipelined). Criterion's `thrpt` line is round trips per second. Set `PESTO_BENCH_REDIS_URL`
//! to measure another Redis.

// `criterion_group!` generates an undocumented `pub fn benches`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pesto::session::{Lease, RedisStore, SessionId, SessionKey, SessionStore, UpdateOutcome};

/// A typical small session: a user id, a flag, a CSRF token, a counter.
const DATA: &[u8] =
    br#"{"user":"alice","logged_in":true,"csrf":"2f6b1c0e9d8a7b6c5d4e3f2a1b0c9d8e","visits":42}"#;

fn lease() -> Lease {
    Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(600),
    }
}

fn new_key() -> SessionKey {
    SessionId::generate()
        .expect("OS random generator")
        .key()
        .clone()
}

/// `count` load + update round trips on `key`.
async fn round_trips(store: &RedisStore, key: &SessionKey, count: u64) {
    for _ in 0..count {
        let record = store.load(key).await.expect("load");
        let version = record
            .expect("session vanished during the benchmark")
            .version;
        let updated = store
            .update(key, DATA, version, lease())
            .await
            .expect("update");
        assert_eq!(updated, UpdateOutcome::Written, "uncontended update");
    }
}

fn redis_sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let url = std::env::var("PESTO_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let prefix = format!("pesto:bench:{}:", &new_key().as_str()[..12]);
    let store = runtime
        .block_on(RedisStore::connect(&url))
        .unwrap_or_else(|e| {
            panic!(
                "{e} — start Redis with `redis-server --daemonize yes --save '' --appendonly no`"
            )
        })
        .with_prefix(prefix);
    let store = Arc::new(store);

    let mut group = c.benchmark_group("redis_sessions");
    group.throughput(Throughput::Elements(1));

    let key = new_key();
    runtime
        .block_on(store.create(&key, DATA, lease()))
        .expect("create");
    group.bench_function("sequential", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                round_trips(&store, &key, iters).await;
                started.elapsed()
            })
        });
    });
    runtime.block_on(store.remove(&key)).expect("remove");

    for tasks in [8u64, 64] {
        let keys: Vec<SessionKey> = (0..tasks).map(|_| new_key()).collect();
        for key in &keys {
            runtime
                .block_on(store.create(key, DATA, lease()))
                .expect("create");
        }
        group.bench_function(format!("concurrent/{tasks}"), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    let handles: Vec<_> = keys
                        .iter()
                        .enumerate()
                        .map(|(i, key)| {
                            // Split `iters` round trips over the tasks (the first ones take the remainder).
                            let share = iters / tasks + u64::from((i as u64) < iters % tasks);
                            let (store, key) = (Arc::clone(&store), key.clone());
                            tokio::spawn(async move { round_trips(&store, &key, share).await })
                        })
                        .collect();
                    for handle in handles {
                        handle.await.expect("benchmark task");
                    }
                    started.elapsed()
                })
            });
        });
        for key in &keys {
            runtime.block_on(store.remove(key)).expect("remove");
        }
    }
    group.finish();
}

criterion_group!(benches, redis_sessions);
criterion_main!(benches);
