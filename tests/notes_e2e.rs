//! End-to-end: the real `notes` example (feature `postgres`) against the machine's PostgreSQL,
//! mounted under `/notes`, over real HTTP: the login form guard, the `User` guard's redirect, the
//! pool as typed state, `?` answers, the JSON API, the app's own 404 and 405 pages, the flash that
//! survives a logout, and gzip from a tower-http layer.
//!
//! Run with `cargo test --features postgres --test notes_e2e`. It uses
//! `PESTO_TEST_DATABASE_URL` (default `postgres://127.0.0.1/test`) and fails, saying how to start
//! PostgreSQL, when the database does not answer. Each run uses its own table and drops it.
#![cfg(feature = "postgres")]

mod common;

use common::{example_binary, send, send_with_headers, spawn};

const USER: &str = "ada:lovelace";
const GOOD: &str = "username=ada&password=lovelace";

fn database_url() -> String {
    std::env::var("PESTO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://127.0.0.1/test".to_owned())
}

/// A pool on the test database, or a failure that says what to do.
async fn database() -> sqlx::PgPool {
    let url = database_url();
    sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not answering at {url} ({e}): start it (`pg_ctlcluster 15 main start`, \
                 or as .ci/run does) or set PESTO_TEST_DATABASE_URL"
            )
        })
}

/// The session cookie a response sets, as a `Cookie` header value.
fn jar(reply: &common::Reply) -> String {
    let id = reply.set_cookie("pesto_session").expect("a session cookie");
    format!("pesto_session={id}")
}

#[tokio::test]
async fn a_notes_site_on_postgresql_over_http() {
    let pool = database().await;
    let table = format!("pesto_notes_{:016x}", rand::random::<u64>());
    let server = spawn(
        example_binary("notes"),
        &[
            "--addr",
            "127.0.0.1:0",
            "--database",
            &database_url(),
            "--table",
            &table,
            "--mount",
            "/notes",
            "--user",
            USER,
        ],
    );

    // The User guard sends a visitor to the login form (under the mount).
    let home = send("GET", &server.url("/notes/"), None, None).await;
    assert_eq!(home.status, 302);
    let login_url = server.url("/notes/login");
    assert_eq!(home.header("location"), Some(login_url.as_str()));

    // A wrong password: back to the form, with a flash message shown once.
    let visitor = jar(&home);
    let denied = send(
        "POST",
        &login_url,
        Some(&visitor),
        Some("username=ada&password=x"),
    )
    .await;
    assert_eq!(denied.status, 302);
    let form = send("GET", &login_url, Some(&visitor), None).await;
    assert!(
        form.body.contains("Unknown user name or wrong password"),
        "{}",
        form.body
    );
    let again = send("GET", &login_url, Some(&visitor), None).await;
    assert!(!again.body.contains("Unknown user"), "shown once");
    // A form without the password is the Form guard's 422.
    let missing = send("POST", &login_url, Some(&visitor), Some("username=ada")).await;
    assert_eq!(missing.status, 422);

    // Logged in: a new id, notes added through the form and read through the JSON API.
    let ok = send("POST", &login_url, Some(&visitor), Some(GOOD)).await;
    assert_eq!(ok.status, 302);
    let ada = jar(&ok);
    assert_ne!(ada, visitor, "login cycles the id");
    for text in ["basil", "pine <nuts>"] {
        let added = send(
            "POST",
            &server.url("/notes/notes"),
            Some(&ada),
            Some(&format!("text={text}")),
        )
        .await;
        assert_eq!(added.status, 302, "{}", added.body);
    }
    let empty = send(
        "POST",
        &server.url("/notes/notes"),
        Some(&ada),
        Some("text="),
    )
    .await;
    assert_eq!(empty.status, 422);
    let page = send("GET", &server.url("/notes/"), Some(&ada), None).await;
    assert!(
        page.body
            .contains("<li>basil</li><li>pine &lt;nuts&gt;</li>"),
        "{}",
        page.body
    );
    let api = send("GET", &server.url("/notes/api/notes"), Some(&ada), None).await;
    assert_eq!(api.header("content-type"), Some("application/json"));
    let notes: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    let texts: Vec<&str> = notes
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|n| n["text"].as_str())
        .collect();
    assert_eq!(texts, ["basil", "pine <nuts>"]);

    // The app's own 404 and 405 pages, with the mount in their links.
    let nowhere = send("GET", &server.url("/notes/nowhere"), Some(&ada), None).await;
    assert_eq!(nowhere.status, 404);
    assert!(
        nowhere.body.contains("Nothing at /notes/nowhere"),
        "{}",
        nowhere.body
    );
    assert!(
        nowhere.body.contains("href=\"/notes/\""),
        "{}",
        nowhere.body
    );
    let wrong_method = send("DELETE", &server.url("/notes/notes"), Some(&ada), None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));

    // gzip from the tower-http layer around the app.
    let zipped = send_with_headers(
        "GET",
        &login_url,
        &[("accept-encoding", "gzip"), ("cookie", &ada)],
    )
    .await;
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));

    // Logout: the session ends, and the flash written after invalidate() starts a new one.
    let out = send("POST", &server.url("/notes/logout"), Some(&ada), None).await;
    assert_eq!(out.status, 302);
    let after = jar(&out);
    assert_ne!(after, ada);
    let bye = send("GET", &login_url, Some(&after), None).await;
    assert!(bye.body.contains("You are logged out"), "{}", bye.body);
    let old = send("GET", &server.url("/notes/"), Some(&ada), None).await;
    assert_eq!(old.status, 302, "the ended session is not logged in");

    drop(server);
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop the test table");
}
