//! The store conformance suite on every backend in the crate and behind `Arc`/`Box`, many tasks
//! on many sessions at once, a file store shared by two processes, and a complete third-party
//! backend in well under 100 lines (docs/security.md, "Storage").

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use pesto::session::{
    check_record_size, conformance, FileStore, Lease, MemoryStore, Record, Result, SessionId,
    SessionKey, SessionStore, UpdateOutcome, Version, DEFAULT_MAX_RECORD_SIZE,
};
use pesto::session_middleware;
use support::apps::{log_in, VisitorApp};
use support::cookies::session_cookie;
use support::session_client;
use support::stores::new_key;
use support::time::{at, lease};

// ---- Every backend passes the conformance suite ----------------------------------------

#[tokio::test]
async fn memory_store_unbounded_conforms() {
    conformance::run(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_store_bounded_conforms() {
    conformance::run(&MemoryStore::with_capacity(1_000)).await;
}

#[tokio::test]
async fn file_store_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    conformance::run(&FileStore::new(dir.path()).expect("file store")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_conforms_on_a_multi_thread_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    conformance::run(&FileStore::new(dir.path()).expect("file store")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_that_syncs_every_write_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::new(dir.path())
        .expect("file store")
        .durability(pesto::session::Durability::Everything);
    conformance::run(&store).await;
}

#[tokio::test]
async fn shared_and_boxed_stores_conform() {
    // The middleware holds its store behind `Arc<dyn SessionStore>`: the blanket impls must forward.
    let shared: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    conformance::run(&shared).await;
    let boxed: Box<dyn SessionStore> = Box::new(MemoryStore::with_capacity(500));
    conformance::run(&boxed).await;
    // An app's own `Arc` of a store, shared again by the middleware.
    let nested: Arc<dyn SessionStore> = Arc::new(Arc::new(MemoryStore::new()));
    conformance::run(&nested).await;
}

#[tokio::test]
async fn minimal_custom_store_conforms() {
    conformance::run(&MapStore::default()).await;
}

// ---- Many tasks on many sessions at once -----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_on_many_sessions_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores: Vec<Arc<dyn SessionStore>> = vec![
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryStore::with_capacity(10_000)),
        Arc::new(FileStore::new(dir.path()).expect("file store")),
    ];
    for store in stores {
        let mut tasks = Vec::new();
        for t in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..25 {
                    let key = new_key();
                    let data = format!(r#"{{"task":{t},"i":{i}}}"#).into_bytes();
                    assert!(store.create(&key, &data, lease(0)).await.expect("create"));
                    store.touch(&key, lease(1)).await.expect("touch");
                    mine.push((key, data));
                }
                for (key, data) in &mine {
                    let record = store.load(key).await.expect("load").expect("present");
                    assert_eq!(&record.data, data, "{store:?}");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(
            store.purge(at(2)).await.expect("purge"),
            16 * 25,
            "{store:?}"
        );
    }
}

// ---- One file store, two processes -----------------------------------------------------

/// Set in the child process: the session directory the parent wrote to.
const CHILD_DIR: &str = "PESTO_TEST_SESSION_CHILD_DIR";
/// Set in the child process: the key of the session the parent created.
const CHILD_KEY: &str = "PESTO_TEST_SESSION_CHILD_KEY";
const PARENT_DATA: &[u8] = br#"{"written_by":"parent"}"#;
const CHILD_DATA: &[u8] = br#"{"written_by":"child"}"#;

/// A session written by one process is read by another (docs/security.md, "Storage").
///
/// The test runs its own binary again as the child (filtered to this test); the child finds the
/// parent's session, replaces it and creates one more, and the parent then sees both.
#[tokio::test]
async fn file_store_is_shared_between_processes() {
    if let (Ok(dir), Ok(key)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_KEY)) {
        return child(Path::new(&dir), &key).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::new(dir.path()).expect("file store");
    let key = new_key();
    assert!(store
        .create(&key, PARENT_DATA, lease(0))
        .await
        .expect("create"));

    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "file_store_is_shared_between_processes",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_KEY, key.as_str())
        .output()
        .expect("run the child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let record = store.load(&key).await.expect("load").expect("still there");
    assert_eq!(record.data, CHILD_DATA);
    assert_eq!(record.last_access, at(60));
    let child_key = child_created_key(&key);
    let record = store
        .load(&child_key)
        .await
        .expect("load")
        .expect("created by the child");
    assert_eq!(record.data, CHILD_DATA);
}

async fn child(dir: &Path, key: &str) {
    let store = FileStore::new(dir).expect("file store in the child");
    let key = SessionKey::parse(key).expect("a key from the parent");
    let record = store
        .load(&key)
        .await
        .expect("load")
        .expect("the parent's session");
    assert_eq!(record.data, PARENT_DATA);
    assert_eq!(record.last_access, at(0));
    assert!(
        !store
            .create(&key, CHILD_DATA, lease(60))
            .await
            .expect("create"),
        "create-only across processes"
    );
    store
        .store(&key, CHILD_DATA, lease(60))
        .await
        .expect("store");
    let new_key = child_created_key(&key);
    assert!(store
        .create(&new_key, CHILD_DATA, lease(60))
        .await
        .expect("create"));
}

/// A second key both processes can compute from the first (stores never see raw ids, so any valid key works).
fn child_created_key(key: &SessionKey) -> SessionKey {
    let id = SessionId::parse(key.as_str()).expect("a key has an id's shape");
    id.key().clone()
}

// ---- A capped file store under a flood of first visits ---------------------------------

#[test]
fn a_full_file_store_serves_first_visits_without_a_session_and_evicts_nobody() {
    // docs/security.md, "Storage": the cap refuses new records and never evicts one.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FileStore::new(dir.path())
        .expect("store")
        .with_max_records(2);
    let client = |store: &FileStore| {
        session_client(session_middleware(store.clone()).wrap(VisitorApp::new()))
    };
    let ada = client(&store);
    assert!(log_in(&ada).status().is_redirection());
    let flood = client(&store);
    let first = flood.get("/info").send();
    assert!(first.body_text().ends_with("new=true"));
    assert!(session_cookie(&first).is_some(), "the second record fits");
    let first_id = flood.cookie("pesto_session").expect("its id");
    for _ in 0..5 {
        flood.clear_cookies();
        let r = flood.get("/info").send();
        assert_eq!(r.status(), 200, "a first visit is still served");
        assert!(session_cookie(&r).is_none(), "but gets no session");
    }
    assert_eq!(count_files(&store), 2);
    assert_eq!(
        ada.get("/secure-area").send().status(),
        200,
        "nobody was evicted"
    );
    // A login from a session the store holds renews its id even when full (the count does
    // not change), so the flood blocks no visitor who already has a session.
    let carol = client(&store);
    carol.set_cookie("pesto_session", &first_id);
    assert!(log_in(&carol).status().is_redirection());
    assert_ne!(
        carol.cookie("pesto_session").as_deref(),
        Some(first_id.as_str())
    );
    assert_eq!(carol.get("/secure-area").send().status(), 200);
    assert_eq!(count_files(&store), 2);
    // A request that must store data (a login) is refused with 503 until there is room.
    let bob = client(&store);
    let refused = log_in(&bob);
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert!(ada.post("/logout").send().status().is_redirection());
    assert!(log_in(&bob).status().is_redirection(), "a logout made room");
    assert_eq!(bob.get("/secure-area").send().status(), 200);
}

fn count_files(store: &FileStore) -> usize {
    walk(store.directory())
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            _ => 1,
        })
        .sum()
}

// ---- A complete third-party backend, in well under 100 lines ---------------------------

/// All sessions in one `HashMap` behind one lock: the smallest correct backend.
#[derive(Debug, Default)]
struct MapStore(Mutex<HashMap<SessionKey, Record>>);

impl MapStore {
    fn map(&self) -> MutexGuard<'_, HashMap<SessionKey, Record>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl SessionStore for MapStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Record>> {
        Ok(self.map().get(key).cloned())
    }

    async fn create(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<bool> {
        check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
        let mut map = self.map();
        if map.contains_key(key) {
            return Ok(false);
        }
        let record = Record {
            data: data.to_vec(),
            last_access: lease.now,
            version: Version::FIRST,
        };
        map.insert(key.clone(), record);
        Ok(true)
    }

    async fn store(&self, key: &SessionKey, data: &[u8], lease: Lease) -> Result<()> {
        check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
        let mut map = self.map();
        let version = map
            .get(key)
            .map_or(Version::FIRST, |old| old.version.next());
        let record = Record {
            data: data.to_vec(),
            last_access: lease.now,
            version,
        };
        map.insert(key.clone(), record);
        Ok(())
    }

    async fn update(
        &self,
        key: &SessionKey,
        data: &[u8],
        expected: Version,
        lease: Lease,
    ) -> Result<UpdateOutcome> {
        check_record_size(data, DEFAULT_MAX_RECORD_SIZE)?;
        // The comparison and the write under one lock.
        let mut map = self.map();
        let Some(record) = map.get_mut(key) else {
            return Ok(UpdateOutcome::Absent);
        };
        if record.version != expected {
            return Ok(UpdateOutcome::Conflict);
        }
        *record = Record {
            data: data.to_vec(),
            last_access: lease.now,
            version: expected.next(),
        };
        Ok(UpdateOutcome::Written)
    }

    async fn touch(&self, key: &SessionKey, lease: Lease) -> Result<()> {
        if let Some(record) = self.map().get_mut(key) {
            record.last_access = lease.now;
        }
        Ok(())
    }

    async fn remove(&self, key: &SessionKey) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }

    async fn purge(&self, cutoff: SystemTime) -> Result<u64> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, record| record.last_access >= cutoff);
        Ok((before - map.len()) as u64)
    }
}
