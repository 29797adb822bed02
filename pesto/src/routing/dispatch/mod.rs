//! [`Dispatcher`]: an app's route table — how it is built and how a request finds its route;
//! `answer.rs` runs what was routed.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{header, Method, StatusCode};

use super::captures::Captures;
use super::fallback::{FallbackFn, Unmatched};
use super::guards::Provided;
use super::route::RouteInfo;
use super::table::{canonical_alternatives, Lookup, RouteEntry, RouteError, Table};
use crate::endpoint::{AppCheck, Endpoint};
use crate::exchange::body::Limits;
use crate::exchange::context::RequestContext;
use crate::exchange::default_json::DefaultJson;
use crate::exchange::location;
use crate::exchange::request::RequestData;
use crate::exchange::session::{is_sessionless, SessionData};
use crate::exchange::{HandedContext, MultiDict, RawBody, RawRequest, Request, Response};

mod answer;
#[cfg(test)]
mod tests;

use answer::Begun;

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
    /// The app's own answer to unmatched requests (`fallback`); `None`: plain 404 and 405.
    fallback: Option<FallbackFn<S>>,
    /// `S::default()`'s JSON, what a new session's data is compared with when given back.
    default_json: DefaultJson,
    /// Debug builds: the routes served, for `url()`'s warning about routes that are not.
    #[cfg(debug_assertions)]
    served: Arc<[(&'static str, &'static str)]>,
}

impl<S> fmt::Debug for Dispatcher<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("routes", &self.table.entries)
            .field("limits", &self.limits)
            .field("fallback", &self.fallback.is_some())
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
        let table = Table::new(routes)?;
        Ok(Dispatcher {
            #[cfg(debug_assertions)]
            served: served_routes(&table),
            table,
            limits: Limits::default(),
            state: Arc::default(),
            fallback: None,
            default_json: DefaultJson::default(),
        })
    }

    /// Merges the routes of two dispatchers (Pesto's `combine`); `self`'s limits are kept, and
    /// `self`'s fallback, else `other`'s.
    ///
    /// # Errors
    /// [`RouteError::Conflict`] when a route of `other` collides with one of `self`.
    pub fn combine(self, other: Dispatcher<S>) -> Result<Self, RouteError> {
        let mut entries = self.table.entries;
        entries.extend(other.table.entries);
        let mut state = self.state;
        Arc::make_mut(&mut state).extend((*other.state).clone());
        let table = Table::new(entries)?;
        Ok(Dispatcher {
            #[cfg(debug_assertions)]
            served: served_routes(&table),
            table,
            limits: self.limits,
            state,
            fallback: self.fallback.or(other.fallback),
            default_json: self.default_json,
        })
    }

    /// Answers requests that no route takes with `handler` instead of the plain 404 and 405
    /// pages: no route matches the path, none matches the method (the `Allow` header is added to
    /// its answer unless it set one), or a parameter did not convert. `dispatcher_app!(App =
    /// [...], fallback = not_found)` calls this with an `async fn not_found(req: &mut
    /// Request<S>, why: Unmatched) -> impl IntoResponse`.
    ///
    /// It runs as a handler does: inside the session middleware (it reads and writes
    /// `req.session`; a new session it writes to is stored and its cookie sent) and under a
    /// mount. The request's body is not read for it.
    #[must_use]
    pub fn fallback<F>(mut self, handler: F) -> Self
    where
        F: for<'a> Fn(&'a mut Request<S>, Unmatched) -> BoxFuture<'a, Response>
            + Send
            + Sync
            + 'static,
    {
        self.fallback = Some(Arc::new(handler));
        self
    }

    /// Sets the request body limits (413 beyond them).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares `value` with every handler, which takes it as a [`State<T>`](crate::State)
    /// parameter or reads it with [`Request::state`](crate::Request::state) (one value per type;
    /// it is kept behind an `Arc`, never cloned). A handler that takes a `State<T>` not given here
    /// is reported before the first request (see [`Endpoint::check`]).
    ///
    /// ```
    /// use pesto::prelude::*;
    /// use pesto::TestApp;
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
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.state).insert(Arc::new(value));
        self
    }

    /// The route that would answer `method` and `path` (percent-encoded path info) and its
    /// captured values, without running anything: the lookup alone, for benchmarks.
    #[doc(hidden)]
    pub fn lookup_route(&self, method: &Method, path: &str) -> Option<(&RouteInfo, Captures)> {
        match self.table.lookup(method, path) {
            Lookup::Found(entry, params) => Some((entry.info(), params)),
            Lookup::MethodNotAllowed(_) | Lookup::NotFound => None,
        }
    }

    /// The routes, in registration order.
    pub fn routes(&self) -> impl Iterator<Item = &RouteInfo> {
        self.table.entries.iter().map(RouteEntry::info)
    }

    /// What ends a request that no route takes before any handler runs: a 405 when its path
    /// matches routes of other methods (`allowed`), else a canonical-path redirect or a 404 —
    /// or, when the app has a fallback, the request for it. Out of line: `begin`, inlined
    /// into every dispatch, keeps only the routed request's path.
    #[cold]
    #[inline(never)]
    fn missed(
        &self,
        allowed: Option<BTreeSet<String>>,
        parts: Parts,
        context: Arc<RequestContext>,
    ) -> Miss {
        if let Some(allowed) = allowed {
            let answer = Response::method_not_allowed(allowed);
            return self.unmatched(Unmatched::MethodNotAllowed, answer, parts, context);
        }
        let mut response = self.redirect_to_canonical(&parts, &context);
        location::absolutize(response.headers_mut(), &context, parts.uri.path());
        if response.status() != StatusCode::NOT_FOUND {
            return Miss::Answer(response);
        }
        self.unmatched(Unmatched::NotFound, response, parts, context)
    }

    /// What the handler gets of a request, its body not read yet (or never, for the fallback).
    // Inlined: see `Dispatcher::begin`.
    #[inline(always)]
    fn request_data(&self, parts: Parts, mut context: Arc<RequestContext>) -> RequestData {
        let query = Arc::make_mut(&mut context).take_query();
        RequestData {
            parts,
            context,
            query,
            body: Bytes::new(),
            form: MultiDict::default(),
            files: Vec::new(),
            state: Arc::clone(&self.state),
        }
    }

    /// What an unmatched request gets: `answer` without a fallback, else the request (without
    /// its body) for the fallback.
    fn unmatched(
        &self,
        why: Unmatched,
        answer: Response,
        parts: http::request::Parts,
        context: Arc<RequestContext>,
    ) -> Miss {
        if self.fallback.is_none() {
            return Miss::Answer(answer);
        }
        let data = self.request_data(parts, context);
        Miss::Fallback {
            why,
            answer,
            data: Box::new(data),
        }
    }

    /// A GET or HEAD to a path that matches no route but would with `//` collapsed or the
    /// trailing slash toggled is redirected there (relative; made absolute by the caller).
    fn redirect_to_canonical(
        &self,
        parts: &http::request::Parts,
        context: &RequestContext,
    ) -> Response {
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            return Response::not_found();
        }
        for candidate in canonical_alternatives(context.path_info(&parts.uri)) {
            if let Lookup::Found(..) = self.table.lookup(&parts.method, &candidate) {
                let mut location = format!("{}{candidate}", context.script_name());
                if let Some(q) = parts.uri.query() {
                    location.push('?');
                    location.push_str(q);
                }
                return Response::redirect_with(StatusCode::PERMANENT_REDIRECT, location);
            }
        }
        Response::not_found()
    }
}

/// Debug builds: the (name, pattern) of every route of `table`.
#[cfg(debug_assertions)]
fn served_routes<S: Send + 'static>(table: &Table<S>) -> Arc<[(&'static str, &'static str)]> {
    table
        .entries
        .iter()
        .map(|entry| (entry.info().name, entry.info().pattern))
        .collect()
}

/// The body of a request, when there is one to read: most requests (GET, HEAD) carry no body and
/// say nothing of one — nothing to read, check or parse then. (The header names are compared as
/// they are, standard names as tags, in one pass: looking each up would hash it.)
#[inline(always)]
fn body_to_read(parts: &Parts, body: RawBody) -> Option<RawBody> {
    (!http_body::Body::is_end_stream(&body)
        || parts
            .headers
            .keys()
            .any(|name| name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH))
    .then_some(body)
}

/// Why `begin` found no handler to run.
enum Miss {
    /// The answer is known: a redirect, a body error, or a plain 404/405 without a fallback.
    Answer(Response),
    /// The fallback answers; `answer` is what pesto would say without it.
    Fallback {
        why: Unmatched,
        answer: Response,
        /// Boxed: a miss is the rare path, and the enum stays small.
        data: Box<RequestData>,
    },
}

/// A dispatcher answers every request itself; its handlers' `req.session` is the session that a
/// session middleware around it lends (see `pesto::session::SessionApp`). Without
/// one, a dispatcher whose session type is `()` runs with a detached session and any other
/// answers 500, logging that the middleware is missing.
impl<S: SessionData> Endpoint for Dispatcher<S> {
    /// A session type without a session middleware around, and guards whose needs (state) the
    /// app does not meet, are reported before the first request.
    fn check(&self, app: &mut AppCheck) {
        if !is_sessionless::<S>() && !app.has_sessions() {
            app.problem(format!(
                "the handlers take a session of type `{}` but no session middleware is installed: \
                 wrap the app with `session_middleware(store).wrap(app)`",
                std::any::type_name::<S>()
            ));
        }
        let provided = Provided { state: &self.state };
        for entry in &self.table.entries {
            for problem in (entry.check)(&provided) {
                app.problem(format!("handler `{}`: {problem}", entry.info().name));
            }
        }
    }

    /// Whether the request matches a route declared `#[route(.., cross_origin)]`.
    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        let (uri, context) = RequestContext::of(parts);
        let path_info = context.path_info(uri).to_owned();
        match self.table.lookup(&parts.method, &path_info) {
            Lookup::Found(entry, _) => entry.info().accepts_cross_origin,
            Lookup::MethodNotAllowed(_) | Lookup::NotFound => false,
        }
    }

    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        self.run_begun(self.begin(req, None))
    }

    /// Takes the context as it is handed: the request's extensions are left alone.
    fn call_with_context(
        &self,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'_, Response> {
        self.run_begun(self.begin(req, Some(context)))
    }

    fn call_shared(self: Arc<Self>, req: RawRequest) -> BoxFuture<'static, Response> {
        let begun = self.begin(req, None);
        Self::run_begun_shared(self, begun)
    }

    fn call_shared_with_context(
        self: Arc<Self>,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'static, Response> {
        let begun = self.begin(req, Some(context));
        Self::run_begun_shared(self, begun)
    }
}

impl<S: SessionData> Dispatcher<S> {
    /// As [`Self::run_begun`], in one box that holds the dispatcher's share.
    // Inlined: see `Dispatcher::begin`.
    #[inline(always)]
    fn run_begun_shared(this: Arc<Self>, begun: Begun<S>) -> BoxFuture<'static, Response> {
        match begun {
            Begun::Answered(response) => Box::pin(std::future::ready(response)),
            Begun::Unmatched(unmatched) => {
                Box::pin(async move { this.answer_unmatched(*unmatched).await })
            }
            Begun::Routed(routed) => Box::pin(Self::answer(this, routed)),
        }
    }

    /// The future that answers a request `begin` prepared, borrowing the dispatcher.
    // Inlined: see `Dispatcher::begin`.
    #[inline(always)]
    fn run_begun(&self, begun: Begun<S>) -> BoxFuture<'_, Response> {
        match begun {
            Begun::Answered(response) => Box::pin(std::future::ready(response)),
            Begun::Unmatched(unmatched) => Box::pin(self.answer_unmatched(*unmatched)),
            Begun::Routed(routed) => Box::pin(Self::answer(self, routed)),
        }
    }
}
