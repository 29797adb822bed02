//! [`Error`]: what a handler gives up with through `?` — a failure the client can do nothing about
//! (a database down, a file unreadable), answered with a `500` that leaks nothing, or an early
//! answer such as a redirect to the login page.

use std::fmt;

use http::StatusCode;

use super::response::{ErrAnswer, IntoResponse, Response};

/// What a handler's `?` gives up with: a failure (logged in full through `tracing`, answered with
/// a plain `500 Internal Server Error` page that says nothing about it), or an early answer.
///
/// Every `std::error::Error + Send + Sync` converts into a failure, so `?` works on I/O, database
/// and session-store errors alike; [`Error::msg`] makes one from a message. A [`Response`]
/// converts into an early answer, sent as it is and not logged: a helper such as
/// `fn require_user(req) -> Result<User, pesto::Error>` that gives up with
/// `Err(Response::redirect(..).into())` reads as `let user = require_user(req)?;` in a handler.
/// It converts back into a `Response`, so a handler may also return `Result<T, Response>` (or any
/// `Result<T, E>` with `E:` [`ErrAnswer`](crate::ErrAnswer)). Helpers that may fail as well as
/// answer early should return `pesto::Error`, which carries both.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// fn require_admin(req: &Request) -> Result<(), pesto::Error> {
///     match req.get("user") {
///         Some("admin") => Ok(()),
///         _ => Err(Response::redirect("/login").into()),
///     }
/// }
///
/// #[route("/config", GET)]
/// async fn config(req: &mut Request) -> Result<String, pesto::Error> {
///     require_admin(req)?;
///     let text = std::fs::read_to_string("/nonexistent/pesto.toml")?;
///     Ok(text)
/// }
/// dispatcher_app!(App = [config]);
///
/// let app = TestApp::new(App::new());
/// assert_eq!(app.get("/config").send().header("location"), Some("http://localhost/login"));
/// let failed = app.get("/config?user=admin").send();
/// assert_eq!(failed.status(), 500);
/// assert!(!failed.body_text().contains("nonexistent"), "the detail goes to the log only");
/// ```
pub struct Error(Inner);

enum Inner {
    Failed {
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
        status: StatusCode,
    },
    Answer(Box<Response>),
}

impl Error {
    /// A failure with this message (for failures that are not a `std::error::Error`).
    pub fn msg(message: impl fmt::Display) -> Self {
        Error(Inner::Failed {
            source: message.to_string().into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        })
    }

    /// A failure answered with another server-error status, e.g. `503 Service Unavailable` while
    /// a database is down; a status below 500, or an early answer, is left as it was.
    #[must_use]
    pub fn with_status(mut self, new: StatusCode) -> Self {
        if let Inner::Failed { status, .. } = &mut self.0 {
            if new.is_server_error() {
                *status = new;
            }
        }
        self
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Inner::Failed { status, .. } => *status,
            Inner::Answer(response) => response.status(),
        }
    }

    /// The error a failure carries; `None` for an early answer.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match &self.0 {
            Inner::Failed { source, .. } => Some(&**source),
            Inner::Answer(_) => None,
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Error(Inner::Failed {
            source: Box::new(error),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        })
    }
}

impl From<Response> for Error {
    fn from(answer: Response) -> Self {
        Error(Inner::Answer(Box::new(answer)))
    }
}

impl ErrAnswer for Error {}

impl From<Error> for Response {
    fn from(error: Error) -> Self {
        error.into_response()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Failed { source, .. } => fmt::Debug::fmt(source, f),
            Inner::Answer(response) => write!(f, "early answer {}", response.status()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Failed { source, .. } => fmt::Display::fmt(source, f),
            Inner::Answer(response) => write!(f, "early answer {}", response.status()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (source, status) = match self.0 {
            Inner::Answer(response) => return *response,
            Inner::Failed { source, status } => (source, status),
        };
        // The whole chain, for whoever reads the log; the client sees the status only.
        let mut causes = String::new();
        let mut cause = source.source();
        while let Some(c) = cause {
            causes.push_str(": ");
            causes.push_str(&c.to_string());
            cause = c.source();
        }
        tracing::error!(error = %source, causes, status = status.as_u16(), "handler failed");
        Response::error_page(status)
    }
}
