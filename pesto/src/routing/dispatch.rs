//! [`Dispatcher`]: runs the matched handler for a request.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http::{header, Method, StatusCode};

use super::{
    canonical_alternatives, with_context, Lookup, RouteEntry, RouteError, Table, UrlContext,
};
use crate::body::{self, Limits};
use crate::endpoint::{split_script_name, Endpoint, RawRequest};
use crate::request::{self, RequestData};
use crate::session::Session;
use crate::{Request, Response};

/// A route table: finds the handler for each request and runs it. Built by `dispatcher_app!`.
///
/// Routing rules (see `docs/dispatch.md`): the most specific route wins whatever the declaration
/// order — a literal segment beats a segment with a parameter, which beats a `path` parameter;
/// HEAD is answered by GET routes; a path that matches with other methods gets 405 with `Allow`;
/// otherwise 404. A GET or HEAD whose path differs from a route only by a doubled or trailing
/// slash is redirected (308) to the route's form.
pub struct Dispatcher<S = ()> {
    table: Table<S>,
    limits: Limits,
    /// Values shared with every handler (`with_state`); requests point at it, never copy it.
    state: Arc<http::Extensions>,
}

impl<S> fmt::Debug for Dispatcher<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("routes", &self.table.entries)
            .field("limits", &self.limits)
            .finish()
    }
}

impl<S: Send + 'static> Dispatcher<S> {
    /// Builds a dispatcher from route entries.
    ///
    /// # Panics
    /// Panics when two routes share a method and a pattern; `dispatcher_app!` rejects that at
    /// compile time, so this only concerns hand-built tables (use [`Dispatcher::try_from_routes`]).
    pub fn from_routes(routes: Vec<RouteEntry<S>>) -> Self {
        match Self::try_from_routes(routes) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    /// Builds a dispatcher, refusing conflicting routes.
    ///
    /// # Errors
    /// [`RouteError::Conflict`] names the two handlers that collide.
    pub fn try_from_routes(routes: Vec<RouteEntry<S>>) -> Result<Self, RouteError> {
        Ok(Dispatcher {
            table: Table::new(routes)?,
            limits: Limits::default(),
            state: Arc::default(),
        })
    }

    /// Merges the routes of two dispatchers (Pesto's `combine`); `self`'s limits are kept.
    ///
    /// # Errors
    /// [`RouteError::Conflict`] when a route of `other` collides with one of `self`.
    pub fn combine(self, other: Dispatcher<S>) -> Result<Self, RouteError> {
        let mut entries = self.table.entries;
        entries.extend(other.table.entries);
        let mut state = self.state;
        Arc::make_mut(&mut state).extend((*other.state).clone());
        Ok(Dispatcher {
            table: Table::new(entries)?,
            limits: self.limits,
            state,
        })
    }

    /// Sets the request body limits (413 beyond them).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares `value` with every handler, which reads it with
    /// [`Request::state`](crate::Request::state) (one value per type; wrap large or mutable state
    /// in an `Arc`).
    ///
    /// ```
    /// use pesto::prelude::*;
    ///
    /// #[derive(Clone)]
    /// struct Greeting(&'static str);
    ///
    /// #[route("/", GET)]
    /// async fn home(req: &mut Request) -> String {
    ///     req.state::<Greeting>().map(|g| g.0).unwrap_or("?").to_owned()
    /// }
    /// dispatcher_app!(App = [home]);
    ///
    /// let app = TestApp::new(App::new().with_state(Greeting("ciao")));
    /// assert_eq!(app.get("/").send().body_text(), "ciao");
    /// ```
    #[must_use]
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.state).insert(value);
        self
    }

    /// The routes, in registration order.
    pub fn routes(&self) -> impl Iterator<Item = &super::route::RouteInfo> {
        self.table.entries.iter().map(RouteEntry::info)
    }

    /// Answers `req` with `session` as `req.session`, returning the session afterwards unless the
    /// handler panicked. Used by the session middleware.
    pub(crate) async fn handle(
        &self,
        req: RawRequest,
        session: Session<S>,
        url_session: Option<super::QuerySession>,
    ) -> (Response, Option<Session<S>>) {
        let (parts, body) = req.into_parts();
        let (script_name, path_info) = split_script_name(&parts);
        let (entry, params) = match self.table.lookup(&parts.method, &path_info) {
            Lookup::Found(entry, params) => (entry, params),
            Lookup::MethodNotAllowed(allowed) => {
                return (Response::method_not_allowed(allowed), Some(session));
            }
            Lookup::NotFound => {
                let response = self.redirect_to_canonical(&parts, &script_name, &path_info);
                return (response, Some(session));
            }
        };
        let bytes = match body::read(body, &parts.headers, &self.limits).await {
            Ok(bytes) => bytes,
            Err(e) => return (e.into_response(), Some(session)),
        };
        let (form, files) = match body::parse_form(&parts.headers, &bytes, &self.limits).await {
            Ok(form) => form,
            Err(e) => return (e.into_response(), Some(session)),
        };
        let is_head = parts.method == Method::HEAD;
        let ctx = UrlContext {
            script_name: script_name.clone(),
            origin: request::origin(&parts),
            session: url_session,
        };
        let data = RequestData {
            parts,
            body: bytes,
            script_name,
            path_info,
            form,
            files,
            state: Arc::clone(&self.state),
        };
        let mut req = Request::new(data, session);
        let outcome = {
            let handler = (entry.call)(&mut req, params);
            with_context(ctx, AssertUnwindSafe(handler).catch_unwind()).await
        };
        match outcome {
            Ok(response) => (finish(response, &req, is_head), Some(req.into_session())),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(handler = entry.info().name, panic = %message, "handler panicked");
                (Response::internal_server_error(), None)
            }
        }
    }

    fn redirect_to_canonical(
        &self,
        parts: &http::request::Parts,
        script_name: &str,
        path_info: &str,
    ) -> Response {
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            return Response::not_found();
        }
        for candidate in canonical_alternatives(path_info) {
            if let Lookup::Found(..) = self.table.lookup(&parts.method, &candidate) {
                let mut location = format!("{script_name}{candidate}");
                if let Some(q) = parts.uri.query() {
                    location.push('?');
                    location.push_str(q);
                }
                return Response::redirect_with(
                    StatusCode::PERMANENT_REDIRECT,
                    format!("{}{location}", request::origin(parts)),
                );
            }
        }
        Response::not_found()
    }
}

/// Applies what every response needs once the handler is done: builder errors become 500, a
/// relative `Location` becomes absolute (as Pesto does), and a HEAD response loses its body.
fn finish<S>(response: Response, req: &Request<S>, is_head: bool) -> Response {
    let mut response = response.check_errors();
    if let Some(location) = response.header("location") {
        // The request URL is only built when there is a location to resolve against it.
        let base = format!("{}{}", req.origin(), req.path());
        if let Some(absolute) = absolutize(&base, location) {
            response = response.with_header(header::LOCATION, absolute);
        }
    }
    if is_head {
        let body = response.take_body();
        if !response.headers().contains_key(header::CONTENT_LENGTH) {
            response = response.with_header(header::CONTENT_LENGTH, body.len());
        }
    }
    response
}

/// Resolves `location` against the request URL `base`; `None` when it is already absolute or
/// cannot be resolved (then it is left as the handler wrote it).
fn absolutize(base: &str, location: &str) -> Option<String> {
    if url::Url::parse(location).is_ok() {
        return None;
    }
    let base = url::Url::parse(base).ok()?;
    base.join(location).ok().map(String::from)
}

impl Endpoint for Dispatcher<()> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move { self.handle(req, Session::detached(()), None).await.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::absolutize;

    #[test]
    fn relative_locations_are_resolved_against_the_request() {
        let base = "http://example.org/shop/cart";
        assert_eq!(
            absolutize(base, "/login").as_deref(),
            Some("http://example.org/login")
        );
        assert_eq!(
            absolutize(base, "checkout").as_deref(),
            Some("http://example.org/shop/checkout")
        );
        assert_eq!(absolutize(base, "https://other.example/x"), None);
    }
}
