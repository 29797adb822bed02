//! [`State<T>`]: the value given to `with_state`, shared, never cloned.

use std::ops::Deref;
use std::sync::Arc;

use http::StatusCode;

use super::{FromRequest, Provided};
use crate::exchange::{Request, Response};

/// The app's shared value of type `T` (given to
/// [`Dispatcher::with_state`](crate::Dispatcher::with_state)), as a handler parameter.
///
/// It holds the value behind an `Arc`, so taking it clones nothing, and it is owned by the
/// handler, so writing `req.session` while holding it is no borrow conflict. A handler that takes
/// a `State<T>` the app was not given is reported when the app starts ([`crate::Server`] refuses
/// to serve, [`crate::TestApp::new`] panics), never as a 500 per request.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{State, TestApp};
///
/// struct Greeting(&'static str);
///
/// #[route("/", GET)]
/// async fn home(req: &mut Request, greeting: State<Greeting>) -> String {
///     greeting.0.to_owned()
/// }
/// dispatcher_app!(App = [home]);
///
/// let app = TestApp::new(App::new().with_state(Greeting("ciao")));
/// assert_eq!(app.get("/").send().body_text(), "ciao");
/// ```
pub struct State<T>(Arc<T>);

impl<T> State<T> {
    /// The shared handle itself (to keep the value beyond the request, in a spawned task).
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }
}

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for State<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

impl<S: Send, T: Send + Sync + 'static> FromRequest<S> for State<T> {
    type Rejection = Response;

    async fn from_request(req: &mut Request<S>) -> Result<Self, Response> {
        // The start-up check makes this unreachable in a checked app; a hand-built one that
        // skipped it still gets a logged 500 rather than a panic.
        req.shared_state::<T>().map(State).ok_or_else(|| {
            tracing::error!(
                state = std::any::type_name::<T>(),
                "a handler takes state the app was not given"
            );
            Response::error_page(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    fn check(app: &Provided<'_>) -> Result<(), String> {
        if app.has_state::<T>() {
            return Ok(());
        }
        Err(format!(
            "a handler takes `State<{0}>` but the app has no `{0}`: give it with `.with_state(value)`",
            std::any::type_name::<T>()
        ))
    }
}
