//! Crash test of the file session store under a write-heavy load.
//!
//! The real `secure_area` binary serves from `--store file:DIR` while several clients arrive
//! anonymously (a create), log in (`cycle_id()`: a create and a remove), visit the secure area and
//! half the time log out (a remove), with the background purge walking the tree every second. It is
//! killed with SIGKILL mid-load, [`ROUNDS`] times, and restarted on the same directory each time.
//! After each kill the test checks:
//! - every session file decodes as `{"v":1,"data":{"created":…,"data":…}}` and loads through
//!   the public `FileStore` API, and the tree holds nothing else but temp files;
//! - every session whose login response arrived, and which was not logged out since, is on disk and
//!   reaches the secure area of the restarted server, and the anonymous id it replaced holds no
//!   session (removed, or a forward to the new id for the renewal grace window);
//! - every session whose logout response arrived is gone and stays logged out;
//! - a session whose logout was in flight at the kill is one or the other, never an error;
//! - after the next purge no temp file remains.
//!
//! Why every confirmed write must survive, whatever the `Durability`: SIGKILL ends only the
//! process, and the kernel keeps everything it wrote, so a write whose call returned (whose
//! response the client received) is there after the restart. The durability choice only tells the
//! two apart on a power loss or kernel crash, which a test cannot cause: `Durability::Removals`
//! (the default, which the example uses) may then lose the last seconds of logins but never a
//! logout, `Durability::Everything` loses neither. For a process crash the "last completed fsync
//! point" is therefore the last response received.
//!
//! Temp files a kill leaves behind are removed by a purge only once they are older than
//! `FileStore::stale_temp_after` (an hour by default, as a temp file may be a write in flight in
//! another process). The test waits for no hour: with the restarted server idle, it purges through
//! a `FileStore` of its own on the same directory with `stale_temp_after(Duration::ZERO)`, which is
//! what an operator cleaning up after a crash would do.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pesto::session::{FileStore, SessionId, SessionKey, SessionStore};

use common::{eventually, send, spawn_secure_area, Reply, Running};

const USER: &str = "--user=ada:correct horse";
const GOOD: &str = "username=ada&password=correct+horse";
const COOKIE: &str = "pesto_session";
/// Kill, restart and check this many times.
const ROUNDS: usize = 3;
/// Concurrent clients: enough to keep several writes in flight on two cores.
const CLIENTS: usize = 6;
/// Logins confirmed in a round before the kill may come, so that it lands mid-load.
const LOGINS_BEFORE_KILL: usize = 40;
/// A bound on one client's login cycles in a round; the kill ends them long before.
const MAX_CYCLES: usize = 5_000;

/// What the clients know for certain about the sessions they made (ids as cookie values).
#[derive(Debug, Default)]
struct Ledger {
    /// The login response arrived, and no logout was sent since.
    logged_in: HashSet<String>,
    /// The logout response arrived.
    logged_out: HashSet<String>,
    /// The anonymous ids a confirmed login replaced (its `cycle_id()` made them forwards).
    replaced: HashSet<String>,
    /// The logout was sent but no response came back: logged in or out.
    in_doubt: HashSet<String>,
}

impl Ledger {
    fn merge(&mut self, other: Ledger) {
        self.logged_in.extend(other.logged_in);
        self.logged_out.extend(other.logged_out);
        self.replaced.extend(other.replaced);
        self.in_doubt.extend(other.in_doubt);
    }
}

/// The server went away (or the exchange broke) before the whole response arrived.
#[derive(Debug)]
struct Gone;

/// One client's HTTP: a pooled keep-alive client that reports a dead server instead of panicking.
struct Http(Client<HttpConnector, Full<Bytes>>);

impl Http {
    fn new() -> Self {
        Http(Client::builder(TokioExecutor::new()).build_http())
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        id: Option<&str>,
        form: Option<&str>,
    ) -> Result<Reply, Gone> {
        let mut builder = http::Request::builder().method(method).uri(url);
        if let Some(id) = id {
            builder = builder.header("cookie", format!("{COOKIE}={id}"));
        }
        if form.is_some() {
            builder = builder.header("content-type", "application/x-www-form-urlencoded");
        }
        let body = Full::new(Bytes::from(form.unwrap_or_default().to_owned()));
        let request = builder.body(body).expect("request");
        let exchange = async {
            let response = self.0.request(request).await.map_err(|_| Gone)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.map_err(|_| Gone)?;
            Ok(Reply {
                status,
                headers,
                body: String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            })
        };
        // A live server answers in milliseconds; a dead one at once (refused or reset).
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| Gone)?
    }
}

/// One client: login cycles until the server dies (or [`MAX_CYCLES`]); what it knows for certain.
async fn client(base: String, logins: Arc<AtomicUsize>) -> Ledger {
    let http = Http::new();
    let mut ledger = Ledger::default();
    for _ in 0..MAX_CYCLES {
        if cycle(&http, &base, &mut ledger, &logins).await.is_err() {
            break;
        }
    }
    ledger
}

/// An anonymous visit, a login, a visit to the secure area and, half the time, a logout.
async fn cycle(
    http: &Http,
    base: &str,
    ledger: &mut Ledger,
    logins: &AtomicUsize,
) -> Result<(), Gone> {
    // A new visitor: the login page creates a session.
    let form = http
        .send("GET", &format!("{base}/login"), None, None)
        .await?;
    assert_eq!(form.status, 200, "login page: {}", form.body);
    let anonymous = form
        .set_cookie(COOKIE)
        .expect("the login page starts a session");

    // Login: the session is stored under a new id and the anonymous one removed.
    let login = http
        .send(
            "POST",
            &format!("{base}/login"),
            Some(&anonymous),
            Some(GOOD),
        )
        .await?;
    assert_eq!(login.status, 302, "login: {}", login.body);
    let id = login
        .set_cookie(COOKIE)
        .expect("a new session id after login");
    ledger.logged_in.insert(id.clone());
    ledger.replaced.insert(anonymous);
    logins.fetch_add(1, Ordering::Relaxed);

    let area = http
        .send("GET", &format!("{base}/secure-area"), Some(&id), None)
        .await?;
    assert!(
        area.status == 200 && area.body.contains("Welcome to the secure area, ada"),
        "a live server lets a logged-in session in: {} {}",
        area.status,
        area.body
    );

    if rand::random_bool(0.5) {
        // From here until the response arrives, the logout may or may not have happened.
        ledger.logged_in.remove(&id);
        ledger.in_doubt.insert(id.clone());
        let logout = http
            .send("POST", &format!("{base}/logout"), Some(&id), None)
            .await?;
        assert_eq!(logout.status, 302, "logout: {}", logout.body);
        ledger.in_doubt.remove(&id);
        ledger.logged_out.insert(id);
    }
    Ok(())
}

/// The session file of a cookie value.
fn key_of(id: &str) -> SessionKey {
    SessionId::parse(id)
        .expect("the server hands out valid ids")
        .key()
        .clone()
}

/// What the store's tree holds.
#[derive(Debug, Default)]
struct Tree {
    sessions: usize,
    temps: usize,
}

/// Walks `<dir>/_pesto_sessions`: every session file must decode, on disk and through `store`;
/// anything else must be a temp file.
async fn check_tree(store: &FileStore) -> Tree {
    let mut tree = Tree::default();
    let root = store.directory();
    for entry in std::fs::read_dir(root).expect("read the session directory") {
        let entry = entry.expect("directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp(&name) {
            // A probe file of a `FileStore::new` the kill interrupted.
            tree.temps += 1;
            continue;
        }
        assert!(
            entry.file_type().expect("file type").is_dir() && name.len() == 2,
            "unexpected {name} in the session directory"
        );
        for file in std::fs::read_dir(entry.path()).expect("read a shard") {
            let file = file.expect("shard entry");
            let name = file.file_name().to_string_lossy().into_owned();
            if is_temp(&name) {
                tree.temps += 1;
                continue;
            }
            let key = SessionKey::parse(&name)
                .unwrap_or_else(|| panic!("unexpected file {name} in a shard"));
            check_file(&file.path());
            let record = store
                .load(&key)
                .await
                .expect("load a session file")
                .unwrap_or_else(|| panic!("session file {name} decodes but does not load"));
            assert!(serde_json::from_slice::<serde_json::Value>(&record.data).is_ok());
            tree.sessions += 1;
        }
    }
    tree
}

fn is_temp(name: &str) -> bool {
    name.starts_with(".tmp-")
}

/// A session file holds `{"v":1,"version":N,"data":{"created":N,"data":<the Visitor or null>}}`,
/// complete, or, under an id a login renewed, the forward to the new id's key for the grace window,
/// `{…,"data":{"forward_to":"<key>","until_ms":N}}`.
fn check_file(path: &Path) {
    let bytes = std::fs::read(path).expect("read a session file");
    let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{} does not decode ({e}): {:?}",
            path.display(),
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(file["v"], 1, "{file}");
    assert!(file["version"].is_u64(), "{file}");
    let record = &file["data"];
    if record["forward_to"].is_string() {
        assert!(record["until_ms"].is_u64(), "{file}");
        return;
    }
    assert!(record["created"].is_u64(), "{file}");
    let visitor = &record["data"];
    assert!(
        visitor.is_null() || visitor["logged_in"].is_boolean(),
        "{file}"
    );
}

/// Whether `id`'s session is on disk, and logged in there. A forward a renewal left under the id
/// holds no session: `None`, as for a removed one.
async fn stored_login(store: &FileStore, id: &str) -> Option<bool> {
    let record = store.load(&key_of(id)).await.expect("load")?;
    let stored: serde_json::Value = serde_json::from_slice(&record.data).expect("record JSON");
    if stored["forward_to"].is_string() {
        return None;
    }
    Some(stored["data"]["logged_in"] == true)
}

/// What the restarted server says about `id`: `true` for the secure area, `false` for the way to
/// the login form; anything else fails the test.
async fn reaches_secure_area(server: &Running, id: &str) -> bool {
    let cookie = format!("{COOKIE}={id}");
    let reply = send("GET", &server.url("/secure-area"), Some(&cookie), None).await;
    match reply.status {
        200 => {
            assert!(reply.body.contains("Welcome to the secure area, ada"));
            true
        }
        302 => {
            assert_eq!(
                reply.header("location"),
                Some(server.url("/login").as_str())
            );
            false
        }
        status => panic!("secure area answered {status}: {}", reply.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_confirmed_login_or_logout() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = format!("file:{}", dir.path().display());
    // The background purge runs beside the load (and may be cut by the kill too).
    let args = ["--store", spec.as_str(), USER, "--purge-every", "1"];
    let mut server = spawn_secure_area(&args);
    let mut ledger = Ledger::default();
    let mut temps_seen = 0;

    for round in 1..=ROUNDS {
        let logins = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(client(server.url(""), Arc::clone(&logins))))
            .collect();
        eventually(Duration::from_secs(20), "logins under load", || {
            (logins.load(Ordering::Relaxed) >= LOGINS_BEFORE_KILL).then_some(())
        })
        .await;
        // Random-ish, so that over the runs the kill lands in every step of a write.
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..150))).await;
        server.child.kill().expect("SIGKILL the server");
        server.child.wait().expect("reap the server");
        for client in clients {
            ledger.merge(client.await.expect("a client panicked"));
        }

        // The tree as the kill left it, read with no server running.
        let store = FileStore::new(dir.path()).expect("open the store");
        let tree = check_tree(&store).await;
        temps_seen += tree.temps;
        for id in &ledger.logged_in {
            assert_eq!(
                stored_login(&store, id).await,
                Some(true),
                "round {round}: a confirmed login is on disk"
            );
        }
        for id in ledger.logged_out.iter().chain(&ledger.replaced) {
            assert_eq!(
                stored_login(&store, id).await,
                None,
                "round {round}: a confirmed logout stays removed (a replaced anonymous id holds no session)"
            );
        }

        // Restarted on the same directory, the server agrees.
        server = spawn_secure_area(&args);
        for id in &ledger.logged_in {
            assert!(
                reaches_secure_area(&server, id).await,
                "round {round}: a confirmed login survives the kill"
            );
        }
        for id in &ledger.logged_out {
            assert!(
                !reaches_secure_area(&server, id).await,
                "round {round}: a confirmed logout survives the kill"
            );
        }
        // A logout cut by the kill happened or not; what the server says now is what holds.
        for id in std::mem::take(&mut ledger.in_doubt) {
            if reaches_secure_area(&server, &id).await {
                ledger.logged_in.insert(id);
            } else {
                ledger.logged_out.insert(id);
            }
        }

        // The next purge: every temp file the kill left is removed, and no session (the cutoff is
        // older than all of them). A zero age is safe here: the server is idle, so it has no write
        // in flight, and its own purge sets no session aside (none is near its idle limit).
        let purged = store
            .clone()
            .stale_temp_after(Duration::ZERO)
            .purge(SystemTime::UNIX_EPOCH)
            .await
            .expect("purge");
        assert_eq!(purged, 0, "round {round}: the purge removed no session");
        let after = check_tree(&store).await;
        assert_eq!(after.temps, 0, "round {round}: temp files after the purge");
        for id in &ledger.logged_in {
            assert_eq!(
                stored_login(&store, id).await,
                Some(true),
                "kept by the purge"
            );
        }
        eprintln!(
            "round {round}: {} logged in, {} logged out, {} session files, {} temp files left by the kill",
            ledger.logged_in.len(),
            ledger.logged_out.len(),
            tree.sessions,
            tree.temps,
        );
    }
    eprintln!(
        "{ROUNDS} kills in {:?}, {temps_seen} temp files removed",
        started.elapsed()
    );
}
