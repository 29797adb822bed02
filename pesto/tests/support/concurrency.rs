//! A load of concurrent requests of one session, each adding its own key: what the concurrency
//! tests run against every store.

use std::sync::Arc;

use pesto::prelude::*;
use pesto::session::{SessionMap, SessionStore};
use pesto::session_middleware;

use super::session_client;

/// Adds its own key to the session, after a yield so that the requests overlap between load
/// and save.
#[route("/add/<key>", POST)]
async fn add(req: &mut Request<SessionMap>, key: String) -> &'static str {
    tokio::task::yield_now().await;
    req.session.insert(key, serde_json::Value::Bool(true));
    "added"
}

dispatcher_app!(AddApp = [add]);

/// How many requests of one session run at once in the load tests.
pub const CONCURRENT: usize = 200;

/// Sends [`CONCURRENT`] requests of one session at once, each adding its own key, and checks
/// that every key is stored.
pub fn nothing_lost_under_load<M: SessionStore>(store: M) {
    let app = session_middleware(store).wrap(AddApp::new());
    let client = Arc::new(session_client(app));
    // The session exists first, so that every request loads it.
    assert_eq!(client.post("/add/first").send().body_text(), "added");
    let cookie = client.cookie("pesto_session").expect("cookie");
    let statuses = pesto::testing::block_on(async {
        let requests = (0..CONCURRENT).map(|i| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                client
                    .post(&format!("/add/k{i}"))
                    .send_async()
                    .await
                    .status()
            })
        });
        futures_util::future::join_all(requests).await
    });
    let failed: Vec<u16> = statuses
        .into_iter()
        .map(|status| status.expect("request task").as_u16())
        .filter(|&status| status != 200)
        .collect();
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    assert_eq!(client.cookie("pesto_session"), Some(cookie));
    let stored: SessionMap = client.session().expect("the session");
    let missing: Vec<String> = (0..CONCURRENT)
        .map(|i| format!("k{i}"))
        .filter(|k| !stored.contains_key(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} updates lost: {missing:?}",
        missing.len()
    );
    assert_eq!(stored.len(), CONCURRENT + 1);
}
