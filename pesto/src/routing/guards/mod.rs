//! Request guards: handler parameters that are not pattern variables, taken from the request by
//! type before the handler runs, as in Rocket. [`FromRequest`] is the trait; [`State`],
//! [`Form`], [`Query`] and [`Json`] are the built-in guards; an app writes its own (a logged-in
//! `User` whose absence redirects to the login page) in a few lines.

mod csrf;
mod form;
mod json;
mod query;
mod state;

use std::future::Future;

use crate::exchange::{ErrAnswer, Request};

pub use csrf::{CsrfRefused, CsrfToken, CsrfVerified, CSRF_FIELD, CSRF_HEADER};
pub use form::{Form, FormRejection};
pub use json::{Json, JsonRejection};
pub use query::{Query, QueryRejection};
pub use state::State;

/// A value a handler takes from the request by type: a *request guard*.
///
/// `#[route]` handler parameters named like a pattern variable take its value; every other
/// parameter after the request is a guard, taken in order before the handler runs. When a guard
/// fails, its [`Rejection`](Self::Rejection) is the answer and the handler does not run.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{FromRequest, TestApp};
/// use pesto::session::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Visitor { user: Option<String> }
///
/// /// The logged-in user; anyone else is sent to the login page.
/// struct User(String);
///
/// impl FromRequest<Visitor> for User {
///     type Rejection = Response;
///     async fn from_request(req: &mut Request<Visitor>) -> Result<Self, Response> {
///         match &req.session.user {
///             Some(name) => Ok(User(name.clone())),
///             None => Err(Response::redirect(login.url())),
///         }
///     }
/// }
///
/// #[route("/login", GET, POST)]
/// async fn login(req: &mut Request<Visitor>) -> &'static str {
///     req.session.user = Some("ada".to_owned());
///     "logged in"
/// }
///
/// #[route("/account", GET)]
/// async fn account(req: &mut Request<Visitor>, user: User) -> String {
///     format!("hello {}", user.0)
/// }
/// dispatcher_app!(App = [login, account]);
///
/// let app = TestApp::new(pesto::session_middleware(MemoryStore::new()).wrap(App::new()));
/// assert_eq!(app.get("/account").send().header("location"), Some("http://localhost/login"));
/// app.post("/login").send();
/// assert_eq!(app.get("/account").send().body_text(), "hello ada");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a request guard for a handler with session type `{S}`",
    label = "neither a pattern variable nor a request guard",
    note = "a handler parameter named like a pattern variable (`<id>` → `id: u32`) takes its value; \
            any other parameter must implement `pesto::FromRequest<{S}>`, as `State<T>`, `Form<T>`, \
            `Query<T>` and `Json<T>` do",
    note = "if this parameter is meant to be a pattern variable, check its name against the route's pattern"
)]
pub trait FromRequest<S>: Sized + Send {
    /// The answer when the guard fails (a redirect, a 4xx page, [`crate::Error`]).
    type Rejection: ErrAnswer;

    /// Takes the guard from the request.
    fn from_request(
        req: &mut Request<S>,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;

    /// Reports, before the first request, what the guard needs that the app does not provide
    /// (as [`State`] does for a value not given to `with_state`). Default: nothing.
    fn check(app: &Provided<'_>) -> Result<(), String> {
        let _ = app;
        Ok(())
    }
}

/// What an app provides to its handlers, for [`FromRequest::check`].
#[derive(Debug)]
pub struct Provided<'a> {
    pub(super) state: &'a http::Extensions,
}

impl Provided<'_> {
    /// Whether a value of type `T` was given to [`Dispatcher::with_state`](crate::Dispatcher::with_state).
    pub fn has_state<T: Send + Sync + 'static>(&self) -> bool {
        self.state.get::<std::sync::Arc<T>>().is_some()
    }
}
