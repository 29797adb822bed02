//! Scale-out on PostgreSQL: two `secure_area` processes on two ports share their sessions through
//! one database. Log in through the first, reach the secure area through the second with the same
//! id; log out through the second, and the first no longer accepts that id.
//!
//! Needs the PostgreSQL on 127.0.0.1:5432 (database `test`, or `PESTO_TEST_DATABASE_URL`) and the
//! example built with the feature: run `cargo test --features postgres` (cargo then builds the
//! examples with it), as `.ci/run` does.
#![cfg(feature = "postgres")]

mod common;

use std::process::{Command, Stdio};

use common::{secure_area_binary, send, spawn_secure_area, Running};

const USER: &str = "--user=ada:correct horse";
const GOOD: &str = "username=ada&password=correct+horse";

fn database_url() -> String {
    std::env::var("PESTO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://127.0.0.1/test".to_owned())
}

/// Fails with instructions unless the example was built with `postgres` and the database answers.
fn preflight(url: &str) {
    let output = Command::new(secure_area_binary())
        .args([
            "--addr",
            "127.0.0.1:0",
            "--store",
            "postgres://127.0.0.1:1/test",
            USER,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run secure_area");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("no PostgreSQL support"),
        "the secure_area example was built without the `postgres` feature: run \
         `cargo test --features postgres` without a `--test` filter (so cargo builds the \
         examples with the feature) or `cargo build --examples --features postgres` first"
    );
    assert!(
        std::net::TcpStream::connect("127.0.0.1:5432").is_ok() || !url.contains("127.0.0.1/"),
        "PostgreSQL not reachable at {url} — start it (`pg_ctlcluster <version> main start`, as \
         .ci/run does) or set PESTO_TEST_DATABASE_URL"
    );
}

/// Two servers on one database.
fn two_servers() -> (Running, Running) {
    let url = database_url();
    preflight(&url);
    // Idle sessions of earlier runs go with the purge at start-up.
    let args = ["--store", url.as_str(), USER, "--purge-olderthan", "300"];
    let first = spawn_secure_area(&args);
    let second = spawn_secure_area(&args);
    assert_ne!(first.addr, second.addr);
    (first, second)
}

#[tokio::test]
async fn sessions_are_shared_between_two_processes_on_one_database() {
    let (a, b) = two_servers();

    let page = send("GET", &a.url("/login"), None, None).await;
    assert_eq!(page.status, 200);
    let before = page.set_cookie("pesto_session").expect("session cookie");
    let login = send(
        "POST",
        &a.url("/login"),
        Some(&format!("pesto_session={before}")),
        Some(GOOD),
    )
    .await;
    assert_eq!(login.status, 302, "login through the first server");
    let id = login.set_cookie("pesto_session").expect("new id on login");
    assert_ne!(id, before);
    let jar = format!("pesto_session={id}");

    // The second process knows the session the first one created...
    let area = send("GET", &b.url("/secure-area"), Some(&jar), None).await;
    assert_eq!(area.status, 200, "{}", area.body);
    assert!(
        area.body.contains("Welcome to the secure area, ada"),
        "{}",
        area.body
    );
    // ...and that the pre-login id died at login.
    let stale = send(
        "GET",
        &b.url("/secure-area"),
        Some(&format!("pesto_session={before}")),
        None,
    )
    .await;
    assert_eq!(
        stale.status, 302,
        "the pre-login id must not reach the secure area"
    );

    // A logout through the second process ends the session for the first.
    let out = send("POST", &b.url("/logout"), Some(&jar), None).await;
    assert_eq!(out.status, 302);
    let after = send("GET", &a.url("/secure-area"), Some(&jar), None).await;
    assert_eq!(
        after.status, 302,
        "the first server still accepts a logged-out id"
    );
}
