//! End-to-end: the real `secure_area` binary on port 0, driven over real HTTP through the whole
//! login flow in cookie and querystring modes, with the memory and file stores, at the root and
//! mounted under a prefix; and its flags: lazy sessions, cookie path and domain, the purge,
//! allowed hosts, and graceful shutdown on SIGTERM.

mod common;

use std::time::Duration;

use common::{eventually, query_session, send, spawn_secure_area};

const USER: &str = "--user=ada:correct horse";
const GOOD: &str = "username=ada&password=correct+horse";
const BAD: &str = "username=ada&password=wrong";

async fn cookie_flow(store: &str, mount: &str) {
    let mut args = vec!["--store", store, USER];
    if !mount.is_empty() {
        args.extend(["--mount", mount]);
    }
    let server = spawn_secure_area(&args);
    let url = |path: &str| server.url(&format!("{mount}{path}"));

    let page = send("GET", &url("/login"), None, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("action=\"{mount}/login\"")),
        "{}",
        page.body
    );
    let first = page.set_cookie("pesto_session").expect("a session cookie");
    let jar = format!("pesto_session={first}");

    let denied = send("POST", &url("/login"), Some(&jar), Some(BAD)).await;
    assert_eq!(denied.status, 401);
    assert!(denied.body.contains("Wrong user name or password"));
    assert!(denied.body.contains("<form"));

    let ok = send("POST", &url("/login"), Some(&jar), Some(GOOD)).await;
    assert_eq!(ok.status, 302);
    assert_eq!(ok.header("location"), Some(url("/secure-area").as_str()));
    let second = ok
        .set_cookie("pesto_session")
        .expect("a new session cookie");
    assert_ne!(second, first, "login must change the session id");
    let jar2 = format!("pesto_session={second}");
    let cookie_path = if mount.is_empty() { "/" } else { mount };
    assert!(ok.headers.get_all("set-cookie").iter().any(|c| c
        .to_str()
        .is_ok_and(|c| c.contains(&format!("Path={cookie_path}")) && c.contains("HttpOnly"))));

    let area = send("GET", &url("/secure-area"), Some(&jar2), None).await;
    assert_eq!(area.status, 200);
    assert!(area.body.contains("Welcome to the secure area, ada"));
    assert!(area.body.contains(&format!("action=\"{mount}/logout\"")));
    // The Back button after logout (docs/security.md): not cached, reloaded from the bfcache.
    assert_eq!(area.header("cache-control"), Some("no-store"));
    assert!(area.body.contains("e.persisted) location.reload()"));

    let stale = send("GET", &url("/secure-area"), Some(&jar), None).await;
    assert_eq!(
        stale.status, 302,
        "the pre-login id must not reach the secure area"
    );

    let out = send("POST", &url("/logout"), Some(&jar2), None).await;
    assert_eq!(out.status, 302);
    assert_eq!(out.header("clear-site-data"), Some("\"cache\""));
    assert_eq!(out.header("location"), Some(url("/login").as_str()));
    assert_eq!(
        out.set_cookie("pesto_session").as_deref(),
        Some(""),
        "the cookie is expired"
    );

    let after = send("GET", &url("/secure-area"), Some(&jar2), None).await;
    assert_eq!(after.status, 302, "the logged-out id no longer works");
    assert_eq!(after.header("location"), Some(url("/login").as_str()));
}

async fn querystring_flow(store: &str, mount: &str) {
    let mut args = vec!["--store", store, USER, "--persist", "querystring"];
    if !mount.is_empty() {
        args.extend(["--mount", mount]);
    }
    let server = spawn_secure_area(&args);
    let url = |path: &str| server.url(&format!("{mount}{path}"));

    let redirect = send("GET", &url("/login"), None, None).await;
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").expect("location").to_owned();
    assert!(
        location.starts_with(&format!("{}?pesto_session=", url("/login"))),
        "{location}"
    );
    assert!(redirect.headers.get("set-cookie").is_none());
    let first = query_session(&location).expect("id in location");

    let page = send("GET", &location, None, None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    let action = format!("action=\"{mount}/login?pesto_session={first}\"");
    assert!(
        page.body.contains(&action),
        "the form carries the id: {}",
        page.body
    );

    let with_first = |path: &str| format!("{}?pesto_session={first}", url(path));
    let denied = send("POST", &with_first("/login"), None, Some(BAD)).await;
    assert_eq!(denied.status, 401);

    let ok = send("POST", &with_first("/login"), None, Some(GOOD)).await;
    assert_eq!(ok.status, 302);
    let location = ok.header("location").expect("location").to_owned();
    assert!(
        location.starts_with(&format!("{}?pesto_session=", url("/secure-area"))),
        "{location}"
    );
    let second = query_session(&location).expect("id");
    assert_ne!(second, first, "login must change the session id");

    let area = send("GET", &location, None, None).await;
    assert_eq!(area.status, 200);
    assert!(area.body.contains("Welcome to the secure area, ada"));
    assert!(area
        .body
        .contains(&format!("action=\"{mount}/logout?pesto_session={second}\"")));

    let stale = send("GET", &with_first("/secure-area"), None, None).await;
    assert!(
        !stale.body.contains("Welcome"),
        "the pre-login id must not reach the secure area"
    );

    let with_second = |path: &str| format!("{}?pesto_session={second}", url(path));
    let out = send("POST", &with_second("/logout"), None, None).await;
    assert_eq!(out.status, 302);
    assert!(out
        .header("location")
        .expect("location")
        .starts_with(&url("/login")));

    let after = send("GET", &with_second("/secure-area"), None, None).await;
    assert_eq!(after.status, 302, "the logged-out id no longer works");
    assert_ne!(
        query_session(after.header("location").expect("location")),
        Some(second)
    );
}

fn file_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = format!("file:{}", dir.path().display());
    (dir, spec)
}

#[tokio::test]
async fn cookie_mode_memory_store() {
    cookie_flow("memory", "").await;
}

#[tokio::test]
async fn cookie_mode_file_store_mounted() {
    let (_dir, store) = file_store();
    cookie_flow(&store, "/app").await;
}

#[tokio::test]
async fn cookie_mode_file_store() {
    let (_dir, store) = file_store();
    cookie_flow(&store, "").await;
}

#[tokio::test]
async fn querystring_mode_memory_store_mounted() {
    querystring_flow("memory", "/app").await;
}

#[tokio::test]
async fn querystring_mode_file_store() {
    let (_dir, store) = file_store();
    querystring_flow(&store, "").await;
}

#[tokio::test]
async fn greeting_is_html_escaped_and_demo_user_gets_a_printed_password() {
    let server = spawn_secure_area(&["--store", "memory", "--user", "<b>&co:pw"]);
    let ok = send(
        "POST",
        &server.url("/login"),
        None,
        Some("username=%3Cb%3E%26co&password=pw"),
    )
    .await;
    let cookie = format!(
        "pesto_session={}",
        ok.set_cookie("pesto_session").expect("cookie")
    );
    let area = send("GET", &server.url("/secure-area"), Some(&cookie), None).await;
    assert!(
        area.body
            .contains("Welcome to the secure area, &lt;b&gt;&amp;co"),
        "{}",
        area.body
    );

    let demo = spawn_secure_area(&["--store", "memory"]);
    let line = demo
        .banner
        .iter()
        .find(|l| l.contains("demo"))
        .expect("demo password line");
    let password = line.rsplit(' ').next().expect("password");
    let ok = send(
        "POST",
        &demo.url("/login"),
        None,
        Some(&format!("username=demo&password={password}")),
    )
    .await;
    assert_eq!(ok.status, 302);
}

#[tokio::test]
async fn sigterm_shuts_the_server_down_gracefully() {
    let mut server = spawn_secure_area(&["--store", "memory", USER]);
    assert_eq!(
        send("GET", &server.url("/login"), None, None).await.status,
        200
    );
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = eventually(
        Duration::from_secs(10),
        "secure_area to exit on SIGTERM",
        || server.child.try_wait().expect("wait"),
    )
    .await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn lazy_mode_sets_no_cookie_until_login() {
    let server = spawn_secure_area(&["--store", "memory", USER, "--lazy"]);
    let page = send("GET", &server.url("/login"), None, None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.set_cookie("pesto_session"), None);
    let denied = send("POST", &server.url("/login"), None, Some(BAD)).await;
    assert_eq!(denied.set_cookie("pesto_session"), None);
    let ok = send("POST", &server.url("/login"), None, Some(GOOD)).await;
    assert!(ok.set_cookie("pesto_session").is_some());
}

#[tokio::test]
async fn cookie_path_and_domain_flags() {
    let server = spawn_secure_area(&[
        "--store",
        "memory",
        USER,
        "--mount",
        "/app",
        "--cookie-path",
        "/",
        "--cookie-domain",
        ".example.org",
    ]);
    let page = send("GET", &server.url("/app/login"), None, None).await;
    let cookie = page.header("set-cookie").expect("cookie").to_owned();
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    assert!(cookie.contains("Domain=example.org"), "{cookie}");
    assert!(page.headers.get_all("vary").iter().any(|v| v == "Cookie"));
}

#[tokio::test]
async fn an_active_user_outlives_an_idle_timeout_shorter_than_the_touch_interval() {
    // Idle timeout 2 s against the 60 s default touch interval: a request every 0.4 s for 4 s
    // must keep the user logged in (the last access is refreshed at least every 0.5 s).
    let server = spawn_secure_area(&["--store", "memory", USER, "--purge-olderthan", "2"]);
    let ok = send("POST", &server.url("/login"), None, Some(GOOD)).await;
    let jar = format!(
        "pesto_session={}",
        ok.set_cookie("pesto_session").expect("cookie")
    );
    for step in 1..=10 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let page = send("GET", &server.url("/secure-area"), Some(&jar), None).await;
        assert_eq!(page.status, 200, "still logged in after {step} × 0.4 s");
    }
}

#[tokio::test]
async fn idle_sessions_expire_and_the_purge_empties_the_file_store() {
    let (dir, store) = file_store();
    let server = spawn_secure_area(&[
        "--store",
        &store,
        USER,
        "--purge-every",
        "1",
        "--purge-olderthan",
        "1",
    ]);
    let ok = send("POST", &server.url("/login"), None, Some(GOOD)).await;
    let jar = format!(
        "pesto_session={}",
        ok.set_cookie("pesto_session").expect("cookie")
    );
    let sessions = dir.path().join("_pesto_sessions");
    let count = || {
        std::fs::read_dir(&sessions)
            .map(|shards| {
                shards
                    .filter_map(Result::ok)
                    .filter_map(|s| std::fs::read_dir(s.path()).ok())
                    .map(|files| files.count())
                    .sum::<usize>()
            })
            .unwrap_or(0)
    };
    assert_eq!(count(), 1);
    // Poll (bounded) rather than sleep a fixed time: the purge runs every second.
    eventually(
        Duration::from_secs(10),
        "the background purge to remove the idle session's file",
        || (count() == 0).then_some(()),
    )
    .await;
    let after = send("GET", &server.url("/secure-area"), Some(&jar), None).await;
    assert_eq!(after.status, 302);
}

#[tokio::test]
async fn allowed_host_refuses_other_host_names() {
    let open = spawn_secure_area(&["--store", "memory", USER, "--allowed-host", "127.0.0.1"]);
    assert_eq!(
        send("GET", &open.url("/login"), None, None).await.status,
        200
    );
    let closed = spawn_secure_area(&["--store", "memory", USER, "--allowed-host", "example.org"]);
    assert_eq!(
        send("GET", &closed.url("/login"), None, None).await.status,
        400
    );
}

#[tokio::test]
async fn capacity_bounds_a_flood_of_first_visits_and_keeps_the_logged_in_user() {
    // docs/security.md, "Storage": a flood of anonymous visits in eager mode.
    for store in ["memory", "file"] {
        let (_dir, spec) = file_store();
        let spec = if store == "memory" {
            "memory".to_owned()
        } else {
            spec
        };
        let server = spawn_secure_area(&["--store", &spec, USER, "--capacity", "40"]);
        let ok = send("POST", &server.url("/login"), None, Some(GOOD)).await;
        let jar = format!(
            "pesto_session={}",
            ok.set_cookie("pesto_session").expect("cookie")
        );
        // The user comes back once, so the memory store's LRU counts them as returning.
        let page = send("GET", &server.url("/secure-area"), Some(&jar), None).await;
        assert_eq!(page.status, 200, "{store}");
        let mut with_session = 0;
        for _ in 0..200 {
            let visit = send("GET", &server.url("/login"), None, None).await;
            assert_eq!(visit.status, 200, "{store}: a first visit is served");
            with_session += usize::from(visit.set_cookie("pesto_session").is_some());
        }
        let page = send("GET", &server.url("/secure-area"), Some(&jar), None).await;
        assert_eq!(
            page.status, 200,
            "{store}: the logged-in user survived the flood"
        );
        if store == "file" {
            assert_eq!(with_session, 39, "the file store refuses past its cap");
            let files =
                walk_files(&std::path::Path::new(&spec["file:".len()..]).join("_pesto_sessions"));
            assert_eq!(files, 40);
        } else {
            assert_eq!(
                with_session, 200,
                "the memory store evicts one-shot sessions"
            );
        }
    }
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_files(&e.path()),
            _ => 1,
        })
        .sum()
}
