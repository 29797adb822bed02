//! Bounded waiting: try again until something is ready, and fail with the last answer when it
//! does not get ready in time. Never an unbounded loop, never a fixed sleep.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use pesto::TestApp;

/// How long a poll waits between two attempts.
const PAUSE: Duration = Duration::from_millis(50);

/// Calls `attempt` until it succeeds, for at most `within`, and returns what it gave; panics
/// with `what` (what was waited for) and the last error when time runs out. Blocks the thread.
pub fn until<T, E: Debug>(
    within: Duration,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(error) => assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}; last attempt: {error:?}"
            ),
        }
        std::thread::sleep(PAUSE);
    }
}

/// Sends `GET path` until a response is 200, for at most `within`; returns that response's body.
/// Panics with the last status when time runs out.
pub async fn until_ok(client: &TestApp, path: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let response = client.get(path).await;
        if response.status() == 200 {
            return response.body_text();
        }
        assert!(
            Instant::now() < deadline,
            "the app did not recover within {within:?}: last status {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
