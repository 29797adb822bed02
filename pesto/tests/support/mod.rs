//! Fixtures shared by the integration test files.
#![allow(dead_code)]

use pesto::prelude::*;
use serde::{Deserialize, Serialize};

/// A session that counts visits.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Visits {
    pub n: u32,
}

/// Counts one more visit and answers the count.
#[route("/count", GET)]
pub async fn count(req: &mut Request<Visits>) -> String {
    req.session.n += 1;
    req.session.n.to_string()
}

/// Answers the count without changing it.
#[route("/peek", GET)]
pub async fn peek(req: &mut Request<Visits>) -> String {
    req.session.n.to_string()
}

dispatcher_app!(pub CountApp = [count, peek]);

/// A test client for a session app, with access to its sessions.
pub fn session_client<E: pesto::Endpoint>(app: pesto::session::SessionApp<E>) -> pesto::TestApp {
    let sessions = app.inspector();
    pesto::TestApp::new(app).with_sessions(sessions)
}
