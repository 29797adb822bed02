//! The tokio runtime that [`TestApp`](super::TestApp)'s blocking calls run on: one per test
//! process, shared with whatever async resources the test makes.
//!
//! A pool (sqlx, deadpool, a Redis connection manager) belongs to the runtime it was made on: its
//! background tasks run there, and using it from another runtime panics ("requires a Tokio
//! context") or hangs once the first runtime is gone. So a plain `#[test]` makes its resources with
//! [`block_on`] and hands them to the app; the app's requests then run on the same runtime.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// Worker threads of the shared runtime: enough for the tasks a pool spawns while a request runs
/// on the test's own thread, few enough for a test binary that runs many tests at once.
const WORKERS: usize = 2;

/// The shared runtime, built on first use.
///
/// # Panics
/// If tokio cannot start a runtime (the operating system refused its threads).
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let built = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("pesto-test")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match built {
        Ok(runtime) => runtime,
        Err(e) => panic!("TestApp could not start a tokio runtime: {e}"),
    }
}

/// Runs `future` to completion on the shared runtime, from a plain `#[test]`: for making the
/// async resources an app under test needs (a database pool, say) on the runtime its requests
/// run on.
///
/// ```
/// let answer = pesto::testing::block_on(async { tokio::task::spawn(async { 42 }).await });
/// assert_eq!(answer.ok(), Some(42));
/// ```
///
/// # Panics
/// Inside an async runtime (a `#[tokio::test]`): blocking there would stall it; `.await` instead.
pub fn block_on<F: Future>(future: F) -> F::Output {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "TestApp's blocking calls cannot run inside an async runtime: `.await` the request instead"
    );
    runtime().block_on(future)
}
