//! The scale-out check both shared stores (Redis, PostgreSQL) pass: two `secure_area` processes
//! on one store, a login through the first, the secure area through the second, a logout through
//! the second seen by the first.

use super::{send, Running};

/// The form body of a login of `ada` with the password the scale-out tests give the servers.
pub const GOOD: &str = "username=ada&password=correct+horse";

/// Cookie mode: a session created by `a` is `b`'s too, the pre-login id is dead on both, and a
/// logout through `b` ends the session on `a`.
pub async fn cookie_sessions_are_shared(a: &Running, b: &Running) {
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

    // The second process knows the session the first one created.
    let area = send("GET", &b.url("/secure-area"), Some(&jar), None).await;
    assert_eq!(area.status, 200, "{}", area.body);
    assert!(
        area.body.contains("Welcome to the secure area, ada"),
        "{}",
        area.body
    );
    // ...and that the pre-login id was destroyed by the first at login.
    let stale = send(
        "GET",
        &b.url("/secure-area"),
        Some(&format!("pesto_session={before}")),
        None,
    )
    .await;
    assert_eq!(
        stale.status, 302,
        "the pre-login id must be gone everywhere"
    );

    // Log out through the second: the first no longer accepts the id.
    let out = send("POST", &b.url("/logout"), Some(&jar), None).await;
    assert_eq!(out.status, 302);
    assert_eq!(out.set_cookie("pesto_session").as_deref(), Some(""));
    let after = send("GET", &a.url("/secure-area"), Some(&jar), None).await;
    assert_eq!(
        after.status, 302,
        "the first server still accepted a logged-out id"
    );
    assert_eq!(after.header("location"), Some(a.url("/login").as_str()));
    assert!(!after.body.contains("Welcome"));
}
