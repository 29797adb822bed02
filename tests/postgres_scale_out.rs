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

use common::{secure_area_binary, spawn_secure_area, Running};

const USER: &str = "--user=ada:correct horse";

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
    common::scale_out::cookie_sessions_are_shared(&a, &b).await;
}
