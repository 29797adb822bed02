//! The in-process session stores through the `SessionStore` trait, as the middleware calls them.
//!
//! ```text
//! cargo bench -p pesto --bench session_stores -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! All on a 2-worker multi-thread runtime; one element is one store call (`thrpt` is calls per
//! second, the time per call is the wall time divided by all the calls made).
//!
//! - `memory_store/{load,update}/1_task`: one task, one session;
//! - `memory_store/{load,update}/8_tasks`: 8 tasks at once, each on its own session (requests
//!   of different visitors: they meet on the shard locks);
//! - `memory_store/update/8_tasks_one_key`: 8 tasks on the same session (the worst case: one lock).
//! - `file_store/{load,update}`: one task on a `FileStore` in a temporary directory (under
//!   `PESTO_BENCH_FILE_DIR` if set, for instance a tmpfs; else the system's temp dir), with the
//!   default durability (`Durability::Removals`: an update writes a temp file and swaps it in,
//!   without fsync);
//! - `file_store/update_durable`: the same with `Durability::Everything`, which fsyncs the file
//!   and the directory on every write, so it measures the disk.
//!
//! MemoryStore calls never wait, so a task runs its share without yielding: 8 tasks on 2 workers
//! contend 2 at a time, which is what a 2-worker server would see.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pesto::session::{
    Durability, FileStore, Lease, MemoryStore, SessionId, SessionKey, SessionStore, UpdateOutcome,
    Version,
};
use tokio::runtime::Runtime;

/// A typical small session record as the middleware stores it.
const DATA: &[u8] = br#"{"created_ms":1700000000123,"data":{"user":"alice","logged_in":true,"csrf":"2f6b1c0e9d8a7b6c5d4e3f2a1b0c9d8e","visits":42,"cart":[3,14,15,92]}}"#;

#[derive(Clone, Copy, Debug)]
enum Op {
    Load,
    Update,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Update => "update",
        }
    }
}

fn lease() -> Lease {
    Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(1800),
    }
}

fn new_key() -> SessionKey {
    SessionId::generate()
        .expect("OS random generator")
        .key()
        .clone()
}

/// `count` calls of `op` on `key`.
async fn calls<M: SessionStore>(store: &M, key: &SessionKey, op: Op, count: u64) {
    // Each key has one writer here: every update is over the version the previous one wrote.
    let mut version = match op {
        Op::Update => {
            let record = store.load(key).await.expect("load");
            record.expect("a session to update").version
        }
        Op::Load => Version::default(),
    };
    for _ in 0..count {
        match op {
            Op::Load => {
                let record = store.load(key).await.expect("load");
                assert!(record.is_some(), "session vanished during the benchmark");
            }
            Op::Update => {
                let updated = store
                    .update(key, DATA, version, lease())
                    .await
                    .expect("update");
                assert_eq!(updated, UpdateOutcome::Written, "uncontended update");
                version = version.next();
            }
        }
    }
}

/// Runs `iters` calls of `op` spread over one task per key, all at once; the wall time.
fn run_spread<M: SessionStore>(
    runtime: &Runtime,
    store: &Arc<M>,
    keys: &[SessionKey],
    op: Op,
    iters: u64,
) -> Duration {
    let tasks = keys.len() as u64;
    runtime.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                // The first `iters % tasks` tasks take one call more.
                let share = iters / tasks + u64::from((i as u64) < iters % tasks);
                let (store, key) = (Arc::clone(store), key.clone());
                tokio::spawn(async move { calls(&*store, &key, op, share).await })
            })
            .collect();
        for handle in handles {
            handle.await.expect("benchmark task");
        }
        started.elapsed()
    })
}

fn create_all<M: SessionStore>(runtime: &Runtime, store: &M, keys: &[SessionKey]) {
    for key in keys {
        let created = runtime
            .block_on(store.create(key, DATA, lease()))
            .expect("create");
        assert!(created);
    }
}

fn memory_store(c: &mut Criterion, runtime: &Runtime) {
    let store = Arc::new(MemoryStore::new());
    let mut group = c.benchmark_group("memory_store");
    group.throughput(Throughput::Elements(1));
    for op in [Op::Load, Op::Update] {
        for tasks in [1usize, 8] {
            let keys: Vec<SessionKey> = (0..tasks).map(|_| new_key()).collect();
            create_all(runtime, &*store, &keys);
            let label = if tasks == 1 { "1_task" } else { "8_tasks" };
            group.bench_function(format!("{}/{label}", op.name()), |b| {
                b.iter_custom(|iters| run_spread(runtime, &store, &keys, op, iters))
            });
        }
    }
    let key = new_key();
    create_all(runtime, &*store, std::slice::from_ref(&key));
    let same: Vec<SessionKey> = vec![key; 8];
    group.bench_function("update/8_tasks_one_key", |b| {
        b.iter_custom(|iters| run_spread(runtime, &store, &same, Op::Update, iters))
    });
    group.finish();
}

fn file_store(c: &mut Criterion, runtime: &Runtime) {
    let dir = match std::env::var_os("PESTO_BENCH_FILE_DIR") {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory");
    let store = Arc::new(FileStore::new(dir.path()).expect("file store"));
    let durable = Arc::new(
        FileStore::new(dir.path())
            .expect("file store")
            .durability(Durability::Everything),
    );
    let keys = [new_key()];
    create_all(runtime, &*store, &keys);

    let mut group = c.benchmark_group("file_store");
    group.throughput(Throughput::Elements(1));
    for op in [Op::Load, Op::Update] {
        group.bench_function(op.name(), |b| {
            b.iter_custom(|iters| run_spread(runtime, &store, &keys, op, iters))
        });
    }
    // An fsync'd write takes milliseconds: fewer samples.
    group.sample_size(20);
    group.bench_function("update_durable", |b| {
        b.iter_custom(|iters| run_spread(runtime, &durable, &keys, Op::Update, iters))
    });
    group.finish();
    drop((store, durable));
    dir.close().expect("remove the temporary directory");
}

fn session_stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    memory_store(c, &runtime);
    file_store(c, &runtime);
}

criterion_group!(benches, session_stores);
criterion_main!(benches);
