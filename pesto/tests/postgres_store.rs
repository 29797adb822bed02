//! The PostgreSQL store (feature `postgres`), against the machine's server (a table of its own
//! for each test; `PESTO_TEST_DATABASE_URL` points elsewhere) and, for faults, against servers
//! the tests start on free ports: the conformance suite on a multi-thread runtime, the table and
//! `migrate`, what the table holds, the batched purge, the app's own pool, a database that goes
//! away and comes back, and hundreds of concurrent requests of one session.
#![cfg(feature = "postgres")]

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pesto::session::{
    conformance, Lease, PostgresStore, SessionId, SessionStore, DEFAULT_TABLE, PURGE_BATCH,
};
use pesto::session_middleware;
use sqlx::Row;
use support::apps::CountApp;
use support::postgres::{database_url, drop_table, fresh_store, unique_table, LocalPostgres};
use support::session_client;

fn lease(now: SystemTime) -> Lease {
    Lease {
        now,
        ttl: Duration::from_secs(1800),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms_on_a_multi_thread_runtime() {
    let store = Arc::new(fresh_store("conform").await);
    // On a worker of the multi-thread runtime, as a server runs it; its races run in parallel.
    let run = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { conformance::run(&*store).await })
    };
    run.await.expect("conformance run");
    drop_table(&store).await;
}

#[tokio::test]
async fn migrate_creates_the_table_and_its_index_once_and_never_alters_a_foreign_table() {
    let store = fresh_store("migrate").await;
    // Again: nothing to do, no error.
    store.migrate().await.expect("second migrate");
    let index: Option<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $1 || '_last_access_ms'",
    )
    .bind(store.table())
    .fetch_optional(store.pool())
    .await
    .expect("pg_indexes");
    assert!(
        index.is_some_and(|def| def.contains("(last_access_ms)")),
        "no index for the purge"
    );
    drop_table(&store).await;

    // A table of that name that is not a session table: reported, left as it was.
    let foreign = unique_table("foreign");
    sqlx::query(&format!(
        "CREATE TABLE {foreign} (key TEXT PRIMARY KEY, payload TEXT)"
    ))
    .execute(store.pool())
    .await
    .expect("CREATE TABLE");
    let store = store.with_table(&foreign).expect("valid name");
    let error = store.migrate().await.expect_err("a foreign table");
    let message = error.to_string();
    assert!(
        message.contains("is not a pesto session table") && message.contains("data bytea"),
        "{message}"
    );
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 ORDER BY 1",
    )
    .bind(&foreign)
    .fetch_all(store.pool())
    .await
    .expect("columns");
    assert_eq!(columns, ["key", "payload"], "the foreign table was altered");
    drop_table(&store).await;
}

#[test]
fn table_names_that_would_need_quoting_are_refused() {
    let _runtime = pesto::testing::runtime().enter();
    let store = PostgresStore::connect_lazy(&database_url()).expect("a URL");
    assert_eq!(store.table(), DEFAULT_TABLE);
    for bad in ["sessions; DROP TABLE users", "a.b.c", "1x", "\"q\""] {
        let error = store.clone().with_table(bad).expect_err("refused");
        assert!(
            error.to_string().contains("invalid session table name"),
            "{error}"
        );
    }
    assert!(PostgresStore::connect_lazy("not a url").is_err());
}

#[test]
fn a_session_is_one_row_keyed_by_the_hash_and_the_raw_id_never_reaches_the_database() {
    let store = pesto::testing::block_on(fresh_store("row"));
    let client = session_client(session_middleware(store.clone()).wrap(CountApp::new()));
    assert_eq!(client.get("/count").send().body_text(), "1");
    assert_eq!(client.get("/count").send().body_text(), "2");
    let id = SessionId::parse(&client.cookie("pesto_session").expect("cookie")).expect("id");
    let rows = pesto::testing::block_on(
        sqlx::query(&format!(
            "SELECT key, convert_from(data, 'UTF8') AS data, version, created_ms, last_access_ms FROM {}",
            store.table()
        ))
        .fetch_all(store.pool()),
    )
    .expect("SELECT");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let key: String = row.get("key");
    let data: String = row.get("data");
    assert_eq!(key, id.key().as_str());
    assert!(!key.contains(id.as_str()) && !data.contains(id.as_str()));
    assert!(data.ends_with(r#","data":{"n":2}}"#), "{data}");
    assert_eq!(
        row.get::<i64, _>("version"),
        2,
        "created, then updated once"
    );
    assert!(row.get::<i64, _>("created_ms") <= row.get::<i64, _>("last_access_ms"));
    pesto::testing::block_on(drop_table(&store));
}

#[tokio::test]
async fn an_oversized_row_is_absent_and_never_crosses_the_network() {
    let store = fresh_store("oversized").await.with_max_record_size(1024);
    let key = SessionId::generate().expect("id").key().clone();
    // Planted by something else than the store (2 MiB).
    sqlx::query(&format!(
        "INSERT INTO {} (key, data, last_access_ms, created_ms, version) \
         VALUES ($1, convert_to(repeat('x', 2097152), 'UTF8'), 0, 0, 1)",
        store.table()
    ))
    .bind(key.as_str())
    .execute(store.pool())
    .await
    .expect("INSERT");
    assert_eq!(store.load(&key).await.expect("load"), None);
    drop_table(&store).await;
}

#[tokio::test]
async fn the_purge_removes_idle_sessions_in_batches_and_keeps_the_rest() {
    let store = fresh_store("purge").await;
    let idle = 2 * PURGE_BATCH as usize + 17;
    // Idle rows, written directly for speed: last access at 1,000 ms.
    sqlx::query(&format!(
        "INSERT INTO {} (key, data, last_access_ms, created_ms, version) \
         SELECT md5(i::text) || md5((i + 1000000)::text), '{{}}', 1000, 1000, 1 \
         FROM generate_series(1, $1) AS i",
        store.table()
    ))
    .bind(idle as i64)
    .execute(store.pool())
    .await
    .expect("INSERT idle rows");
    let fresh = SessionId::generate().expect("id").key().clone();
    store
        .create(&fresh, b"{}", lease(SystemTime::now()))
        .await
        .expect("create");
    let cutoff = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
    assert_eq!(store.purge(cutoff).await.expect("purge"), idle as u64);
    assert!(store.load(&fresh).await.expect("load").is_some());
    assert_eq!(store.purge(cutoff).await.expect("purge"), 0);
    drop_table(&store).await;
}

#[test]
fn the_app_and_its_sessions_share_one_pool() {
    let pool = pesto::testing::block_on(async {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&database_url())
            .await
            .expect("the app's pool")
    });
    let store = PostgresStore::from_pool(pool.clone())
        .with_table(&unique_table("pool"))
        .expect("valid name");
    pesto::testing::block_on(store.migrate()).expect("migrate");
    let client = session_client(session_middleware(store.clone()).wrap(CountApp::new()));
    for n in 1..=5 {
        assert_eq!(client.get("/count").send().body_text(), n.to_string());
    }
    assert!(pool.size() <= 2, "the store opened connections of its own");
    pesto::testing::block_on(drop_table(&store));
}

#[test]
fn a_database_that_goes_away_gives_a_bounded_503_and_the_app_recovers_by_itself() {
    let server = LocalPostgres::start();
    let store = pesto::testing::block_on(async {
        let store = PostgresStore::connect(&server.url())
            .await
            .expect("the test's server")
            .with_timeout(Duration::from_millis(500));
        store.migrate().await.expect("migrate");
        store
    });
    let client = session_client(session_middleware(store).wrap(CountApp::new()));
    assert_eq!(client.get("/count").send().body_text(), "1");

    server.kill();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let down = client.get("/count").send();
        assert_eq!(down.status(), 503, "{}", down.body_text());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the 503 took {:?}",
            started.elapsed()
        );
    }

    server.resume();
    let recovered = support::poll::until(Duration::from_secs(20), "the app to recover", || {
        let r = client.get("/count").send();
        (r.status() == 200).then(|| r.body_text()).ok_or(r.status())
    });
    // The session written before the crash survived it (the data directory is the same).
    assert_eq!(recovered, "2");
}

#[test]
fn hundreds_of_concurrent_requests_of_one_session_lose_nothing_in_postgres() {
    let store = pesto::testing::block_on(fresh_store("concurrent"));
    support::concurrency::nothing_lost_under_load(store.clone());
    pesto::testing::block_on(drop_table(&store));
}

#[test]
fn flash_messages_round_trip_through_postgres() {
    let store = pesto::testing::block_on(fresh_store("flash"));
    let client =
        session_client(session_middleware(store.clone()).wrap(support::flash::FlashApp::new()));
    support::flash::shown_once_after_a_redirect(&client);
    pesto::testing::block_on(drop_table(&store));
}
