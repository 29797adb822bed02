//! Scale-out: two `secure_area` processes on two ports share their sessions through Redis. Log
//! in through the first, reach the secure area through the second with the same id; log out
//! through the second, and the first no longer accepts that id. Once with the id in a cookie,
//! once in the query string.
//!
//! Needs the Redis on 127.0.0.1:6379 and the example built with the feature: run
//! `cargo test --features redis` (cargo then builds the examples with it), as `.ci/run` does.
#![cfg(feature = "redis")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::scale_out::GOOD;
use common::{query_session, secure_area_binary, send, spawn_secure_area, Running};

const REDIS: &str = "redis://127.0.0.1:6379/0";
const USER: &str = "--user=ada:correct horse";

/// Fails with instructions unless Redis answers `PING` and the example was built with `redis`.
fn preflight() {
    let pong = TcpStream::connect_timeout(&([127, 0, 0, 1], 6379).into(), Duration::from_secs(2))
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(b"PING\r\n")?;
            let mut reply = [0u8; 7];
            stream.read_exact(&mut reply)?;
            Ok(reply)
        });
    assert!(
        matches!(&pong, Ok(reply) if reply == b"+PONG\r\n"),
        "Redis not reachable at 127.0.0.1:6379 ({pong:?}) — start it with \
         `redis-server --daemonize yes --save '' --appendonly no`"
    );
    // Point the binary at a port where nothing listens: a build with Redis support says it
    // cannot reach Redis; one without says so instead.
    let output = Command::new(secure_area_binary())
        .args([
            "--addr",
            "127.0.0.1:0",
            "--store",
            "redis://127.0.0.1:1/0",
            USER,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run secure_area");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("no Redis support"),
        "the secure_area example was built without the `redis` feature: run \
         `cargo test --features redis` without a `--test` filter (so cargo builds the examples \
         with the feature) or `cargo build --examples --features redis` first"
    );
    assert!(
        stderr.contains("not reachable"),
        "unexpected output from secure_area: {stderr}"
    );
}

/// Two servers on one Redis, with a short idle limit so that what the test leaves expires soon.
fn two_servers(extra: &[&str]) -> (Running, Running) {
    preflight();
    let mut args = vec![
        "--store",
        REDIS,
        USER,
        "--purge-every",
        "0",
        "--purge-olderthan",
        "300",
    ];
    args.extend_from_slice(extra);
    let first = spawn_secure_area(&args);
    let second = spawn_secure_area(&args);
    assert_ne!(first.addr, second.addr);
    (first, second)
}

#[tokio::test]
async fn cookie_sessions_are_shared_between_two_processes() {
    let (a, b) = two_servers(&[]);
    common::scale_out::cookie_sessions_are_shared(&a, &b).await;
}

#[tokio::test]
async fn querystring_sessions_are_shared_between_two_processes() {
    let (a, b) = two_servers(&["--persist", "querystring"]);

    let redirect = send("GET", &a.url("/login"), None, None).await;
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").expect("location").to_owned();
    let before = query_session(&location).expect("id in the redirect");
    let login = send(
        "POST",
        &a.url(&format!("/login?pesto_session={before}")),
        None,
        Some(GOOD),
    )
    .await;
    assert_eq!(login.status, 302, "login through the first server");
    let location = login.header("location").expect("location").to_owned();
    let id = query_session(&location).expect("new id on login");
    assert_ne!(id, before);

    let with_id = |server: &Running, path: &str| server.url(&format!("{path}?pesto_session={id}"));
    let area = send("GET", &with_id(&b, "/secure-area"), None, None).await;
    assert_eq!(area.status, 200, "{}", area.body);
    assert!(
        area.body.contains("Welcome to the secure area, ada"),
        "{}",
        area.body
    );
    assert!(
        area.body.contains(&format!("/logout?pesto_session={id}")),
        "the second server's links carry the shared id: {}",
        area.body
    );
    let stale = send(
        "GET",
        &b.url(&format!("/secure-area?pesto_session={before}")),
        None,
        None,
    )
    .await;
    assert!(
        !stale.body.contains("Welcome"),
        "the pre-login id must be gone everywhere"
    );

    let out = send("POST", &with_id(&b, "/logout"), None, None).await;
    assert_eq!(out.status, 302);
    let after = send("GET", &with_id(&a, "/secure-area"), None, None).await;
    assert_eq!(
        after.status, 302,
        "the first server still accepted a logged-out id"
    );
    assert!(!after.body.contains("Welcome"));
    let next = after.header("location").expect("location");
    assert_ne!(
        query_session(next),
        Some(id),
        "the logged-out id must not be handed back"
    );
}
