//! Fixtures shared by the `pesto` integration tests, one concern per module:
//!
//! - [`apps`]: the apps the session tests drive (a visit counter, a login flow, the docs' example);
//! - [`concurrency`]: hundreds of concurrent requests of one session, for every store;
//! - [`stores`]: a store wrapper that counts writes and can be told to fail, and fresh keys;
//! - [`time`]: fixed clock readings, leases at them, and a manual clock starting there;
//! - [`cookies`]: reading `Set-Cookie` headers;
//! - [`flash`]: an app that sets and shows flash messages, and the round trip every store passes;
//! - [`logs`]: capturing what is logged through `tracing`;
//! - [`server`]: an in-process server on a free port, and plain HTTP clients for it;
//! - [`poll`]: bounded waiting, for servers to start and apps to recover;
//! - [`redis`] (feature `redis`): the shared Redis, and Redis servers and clusters that a test
//!   starts on free ports and kills when it ends;
//! - [`postgres`] (feature `postgres`): the shared PostgreSQL (a table per test), and servers a
//!   test starts on a free port and stops or kills.
//!
//! Each test file declares `mod support;` and uses what it needs, hence `dead_code` is allowed.
#![allow(dead_code)]

pub mod apps;
pub mod concurrency;
pub mod cookies;
pub mod flash;
pub mod logs;
pub mod poll;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
pub mod server;
pub mod stores;
pub mod time;

/// A test client for a session app, with access to its sessions.
pub fn session_client<E: pesto::Endpoint>(app: pesto::session::SessionApp<E>) -> pesto::TestApp {
    let sessions = app.inspector();
    pesto::TestApp::new(app).with_sessions(sessions)
}
