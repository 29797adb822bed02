//! Memory per session: the growth of this process's resident set while a memory store takes N
//! small sessions, divided by N (bench/load/README.md, "Memory per session").
//!
//! A small session is the record pesto's middleware writes for a session holding one short
//! string (`{"created":…,"data":{"user":"user-N"}}`, 50-odd bytes); tower-sessions' memory
//! store gets the same data as its own `Record`. Each store is measured in a fresh process
//! (run the binary once per `--store`), after the allocator has settled from start-up.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use clap::{Parser, ValueEnum};
use pesto::session::{Lease, MemoryStore, SessionId, SessionStore};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

#[derive(Parser)]
#[command(about = "Bytes of resident memory per small session in a memory store")]
struct Args {
    /// Which store takes the sessions
    #[arg(long, value_enum)]
    store: Store,
    /// How many sessions
    #[arg(long, default_value_t = 1_000_000)]
    sessions: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Store {
    /// pesto's `MemoryStore::new()` (unbounded)
    Pesto,
    /// pesto's `MemoryStore::with_capacity` (bounded, segmented LRU), with room for them all
    PestoBounded,
    /// tower-sessions' `MemoryStore` (axum's reference)
    Tower,
}

/// This process's resident set, in bytes (`VmRSS` of /proc/self/status).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let lease = Lease {
        now: SystemTime::now(),
        ttl: Duration::from_secs(3600),
    };
    let created_ms = lease
        .now
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_millis();
    let record = |n: usize| format!(r#"{{"created":{created_ms},"data":{{"user":"user-{n}"}}}}"#);
    // Ids drawn before the baseline, so that only what the store keeps is counted.
    let ids: Vec<SessionId> = (0..args.sessions)
        .map(|_| SessionId::generate())
        .collect::<Result<_, _>>()?;
    // Kept alive until the end: memory freed before the baseline would be reused by the store
    // without growing the resident set, and the store would look smaller than it is.
    let keys: Vec<_> = ids.iter().map(|id| id.key().clone()).collect();
    let n = args.sessions;
    let (before, after) = runtime.block_on(async {
        match args.store {
            Store::Pesto | Store::PestoBounded => {
                let store = match args.store {
                    Store::Pesto => MemoryStore::new(),
                    // Room to spare: the shards split the capacity, and no session may be evicted.
                    _ => MemoryStore::with_capacity(n + n / 8),
                };
                let before = rss();
                for (i, key) in keys.iter().enumerate() {
                    store.create(key, record(i).as_bytes(), lease).await?;
                }
                let after = rss();
                anyhow::ensure!(store.len() == n, "the store holds {} sessions", store.len());
                Ok::<_, anyhow::Error>((before, after))
            }
            Store::Tower => {
                use tower_sessions::session_store::SessionStore as _;
                let store = tower_sessions::MemoryStore::default();
                let expiry =
                    OffsetDateTime::now_utc() + tower_sessions::cookie::time::Duration::hours(1);
                let before = rss();
                for i in 0..n {
                    let mut data = HashMap::new();
                    data.insert("user".to_owned(), serde_json::json!(format!("user-{i}")));
                    let mut record = Record {
                        id: Id::default(),
                        data,
                        expiry_date: expiry,
                    };
                    store.create(&mut record).await?;
                }
                Ok((before, rss()))
            }
        }
    })?;
    drop((keys, ids));
    let grown = after.saturating_sub(before);
    println!(
        "{} sessions: resident set grew {:.1} MiB, {} bytes per session",
        n,
        grown as f64 / (1024.0 * 1024.0),
        grown / n.max(1)
    );
    Ok(())
}
