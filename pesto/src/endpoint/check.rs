//! [`AppCheck`]: what an app needs that only its assembly can tell — a handler's state given with
//! `with_state`, a session middleware around handlers that take a session — checked once, before
//! the first request, instead of failing every request with a 500.
//!
//! [`Endpoint::check`](super::Endpoint::check) walks the tree of endpoints: the session
//! middleware records that sessions are available to what it wraps, each dispatcher reports what
//! its routes need and do not have. [`Server`](crate::Server) refuses to start and
//! [`TestApp::new`](crate::TestApp::new) panics with the report.

use std::fmt;

/// The problems found in an app's assembly, and what the endpoints around the current one provide.
#[derive(Debug, Default)]
pub struct AppCheck {
    /// Inside a session middleware: handlers' sessions are lent.
    sessions: bool,
    problems: Vec<String>,
}

impl AppCheck {
    /// Whether the endpoint being checked runs inside a session middleware.
    pub fn has_sessions(&self) -> bool {
        self.sessions
    }

    /// Checks `inner` as running inside a session middleware.
    pub fn with_sessions(&mut self, inner: impl FnOnce(&mut AppCheck)) {
        let outer = std::mem::replace(&mut self.sessions, true);
        inner(self);
        self.sessions = outer;
    }

    /// Records a problem: one sentence saying what is missing and how to provide it.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// The problems found, if any.
    ///
    /// # Errors
    /// [`AppCheckError`] listing every problem.
    pub fn finish(self) -> Result<(), AppCheckError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        Err(AppCheckError {
            problems: self.problems,
        })
    }
}

/// What an app is missing to serve requests; see [`AppCheck`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCheckError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for AppCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the app cannot serve requests as assembled:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppCheckError {}
