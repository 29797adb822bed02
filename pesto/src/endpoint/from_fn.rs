//! [`from_fn`]: a small middleware written as an async function of the request and the rest of
//! the app, in pesto's own terms (a [`RawRequest`] in, a [`Response`] out), after axum's
//! `middleware::from_fn`.
//!
//! The result is an [`Endpoint`], not a tower layer, so it runs under `TestApp`, inside or
//! outside the session middleware and a mount, and under the server, with no adapter between.

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::request::Parts;

use super::check::AppCheck;
use super::next::Next;
use super::Endpoint;
use crate::exchange::{IntoResponse, RawRequest, Response};

/// Makes a middleware of `f`: it gets each request and a [`Next`] to pass it on with, and
/// answers with anything [`IntoResponse`] — so it can change the request, change the answer, or
/// answer early (a `Result<Response, pesto::Error>` lets it leave with `?`). Put it around an app
/// with [`FromFn::wrap`].
///
/// ```
/// use pesto::middleware::{from_fn, Next};
/// use pesto::prelude::*;
/// use pesto::{RawRequest, TestApp};
///
/// #[route("/", GET)]
/// async fn home(req: &mut Request) -> &'static str { "hi" }
/// dispatcher_app!(App = [home]);
///
/// let app = from_fn(|req: RawRequest, next: Next| async move {
///     if req.headers().contains_key("x-blocked") {
///         return Response::forbidden();
///     }
///     next.run(req).await.with_header("x-frame-options", "DENY")
/// })
/// .wrap(App::new());
///
/// let client = TestApp::new(app);
/// let response = client.get("/").send();
/// assert_eq!(response.header("x-frame-options"), Some("DENY"));
/// assert_eq!(client.get("/").header("x-blocked", "1").send().status(), 403);
/// ```
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(RawRequest, Next) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
{
    FromFn { f }
}

/// A middleware made by [`from_fn`], not yet around an app.
#[derive(Clone)]
pub struct FromFn<F> {
    f: F,
}

impl<F> std::fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromFn").finish_non_exhaustive()
    }
}

impl<F> FromFn<F> {
    /// Puts the middleware around `app`.
    pub fn wrap<E: Endpoint>(self, app: E) -> FromFnApp<F, E> {
        FromFnApp {
            f: self.f,
            inner: Arc::new(app),
        }
    }
}

/// An endpoint wrapped in a [`from_fn`] middleware.
pub struct FromFnApp<F, E> {
    f: F,
    inner: Arc<E>,
}

impl<F, E> std::fmt::Debug for FromFnApp<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromFnApp").finish_non_exhaustive()
    }
}

impl<F, E> FromFnApp<F, E> {
    /// The wrapped endpoint.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<F, Fut, E> Endpoint for FromFnApp<F, E>
where
    F: Fn(RawRequest, Next) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoResponse,
    E: Endpoint,
{
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        let next = Next::new(Arc::clone(&self.inner) as Arc<dyn Endpoint>);
        let answer = (self.f)(req, next);
        Box::pin(async move { answer.await.into_response() })
    }

    fn start(&self) {
        // The wrapped app may have background work (the session purge) to start.
        self.inner.start();
    }

    fn check(&self, check: &mut AppCheck) {
        self.inner.check(check);
    }

    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        self.inner.accepts_cross_origin(parts)
    }
}
