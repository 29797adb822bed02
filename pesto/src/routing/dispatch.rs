//! [`Dispatcher`]: runs the matched handler for a request.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http::request::Parts;
use http::{header, Method, StatusCode};

use super::fallback::{FallbackFn, Unmatched};
use super::guards::Provided;
use super::route::{HandlerFn, RouteInfo};
use super::table::{canonical_alternatives, Lookup, RouteEntry, RouteError, Table};
use crate::endpoint::{AppCheck, Endpoint};
use crate::exchange::body::{self, Limits};
use crate::exchange::context::RequestContext;
use crate::exchange::location;
use crate::exchange::request::RequestData;
use crate::exchange::session::{is_sessionless, SessionData, SessionSlot};
use crate::exchange::{MultiDict, RawBody, RawRequest, Request, Response, Session};

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
    pub fn lookup_route(&self, method: &Method, path: &str) -> Option<(&RouteInfo, Vec<String>)> {
        match self.table.lookup(method, path) {
            Lookup::Found(entry, params) => Some((entry.info(), params)),
            Lookup::MethodNotAllowed(_) | Lookup::NotFound => None,
        }
    }

    /// The routes, in registration order.
    pub fn routes(&self) -> impl Iterator<Item = &RouteInfo> {
        self.table.entries.iter().map(RouteEntry::info)
    }

    /// The route of `req` and what the handler gets of it, with its body still to read when it
    /// has one; or the response that ends the request before any handler runs (404, 405, a
    /// canonical-path redirect). Nothing here waits: routing is synchronous, and a body is read
    /// only by the caller, only for requests that carry one.
    #[expect(
        clippy::result_large_err,
        reason = "a miss is no larger than what a hit returns, and both are moved once"
    )]
    fn prepare(&self, req: RawRequest) -> Result<Prepared<'_, S>, Miss> {
        let (mut parts, body) = req.into_parts();
        let mut context = RequestContext::take(&mut parts);
        #[cfg(debug_assertions)]
        Arc::make_mut(&mut context).set_served_routes(Arc::clone(&self.served));
        let path_info = context.path_info(&parts.uri);
        let (entry, params) = match self.table.lookup(&parts.method, path_info) {
            Lookup::Found(entry, params) => (entry, params),
            Lookup::MethodNotAllowed(allowed) => {
                let answer = Response::method_not_allowed(allowed);
                return Err(self.unmatched(Unmatched::MethodNotAllowed, answer, parts, context));
            }
            Lookup::NotFound => {
                let response = self.redirect_to_canonical(&parts, &context);
                let response = location::absolutize(response, &context, parts.uri.path());
                if response.status() != StatusCode::NOT_FOUND {
                    return Err(Miss::Answer(response));
                }
                return Err(self.unmatched(Unmatched::NotFound, response, parts, context));
            }
        };
        // Most requests (GET, HEAD) carry no body and say nothing of one: nothing to read, check
        // or parse.
        let body = (!http_body::Body::is_end_stream(&body)
            || parts.headers.contains_key(header::CONTENT_TYPE)
            || parts.headers.contains_key(header::CONTENT_LENGTH))
        .then_some(body);
        let query = Arc::make_mut(&mut context).take_query();
        let data = RequestData {
            parts,
            context,
            query,
            body: Bytes::new(),
            form: MultiDict::default(),
            files: Vec::new(),
            state: Arc::clone(&self.state),
        };
        Ok(Prepared {
            entry,
            params,
            data,
            body,
        })
    }

    /// Reads the body of a routed request (and parses its form), or answers the body error
    /// (400, 408, 413, 415).
    async fn read_body(&self, req: &mut Request<S>, body: RawBody) -> Result<(), Response> {
        let (bytes, form) = body::read_with_form(body, req.headers(), &self.limits)
            .await
            .map_err(|e| e.into_response())?;
        req.set_body(bytes, form);
        Ok(())
    }

    /// What an unmatched request gets: `answer` without a fallback, else the request (without
    /// its body) for the fallback.
    fn unmatched(
        &self,
        why: Unmatched,
        answer: Response,
        parts: http::request::Parts,
        mut context: Arc<RequestContext>,
    ) -> Miss {
        if self.fallback.is_none() {
            return Miss::Answer(answer);
        }
        let query = Arc::make_mut(&mut context).take_query();
        let data = RequestData {
            parts,
            context,
            query,
            body: Default::default(),
            form: Default::default(),
            files: Vec::new(),
            state: Arc::clone(&self.state),
        };
        Miss::Fallback {
            why,
            answer,
            data: Box::new(data),
        }
    }

    /// Runs the fallback on `req`, in the request's context; `None` if it panicked. The plain
    /// answer's `Allow` header (405) is added to the fallback's unless it set its own.
    async fn run_fallback(
        &self,
        why: Unmatched,
        answer: &Response,
        req: &mut Request<S>,
    ) -> Option<Response> {
        let fallback = self.fallback.as_ref()?;
        let context = Arc::clone(req.context());
        let handler = fallback(req, why);
        match context
            .scope(AssertUnwindSafe(handler).catch_unwind())
            .await
        {
            Ok(mut response) => {
                if let Some(allow) = answer.headers().get(header::ALLOW) {
                    if !response.headers().contains_key(header::ALLOW) {
                        response = response.with_header(header::ALLOW, allow.clone());
                    }
                }
                Some(response)
            }
            Err(panic) => {
                tracing::error!(panic = %panic_message(&*panic), "fallback handler panicked");
                None
            }
        }
    }

    /// Runs `handler` (named `name`, for the log) on `req` in the request's context; `None` if
    /// it panicked. The handler's future is made before the returned one, which holds only it
    /// and the context.
    fn run<'r>(
        handler: HandlerFn<S>,
        name: &'static str,
        params: Vec<String>,
        req: &'r mut Request<S>,
    ) -> impl Future<Output = Option<Response>> + Send + 'r {
        let context = Arc::clone(req.context());
        let handler = handler(req, params);
        async move {
            match context
                .scope(AssertUnwindSafe(handler).catch_unwind())
                .await
            {
                Ok(response) => Some(response),
                Err(panic) => {
                    let message = panic_message(&*panic);
                    tracing::error!(handler = name, panic = %message, "handler panicked");
                    None
                }
            }
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

/// A request routed to its handler: the route, its captured values, and what the handler gets
/// of the request, with the body still to read when it has one.
struct Prepared<'a, S> {
    entry: &'a RouteEntry<S>,
    params: Vec<String>,
    data: RequestData,
    body: Option<RawBody>,
}

/// Why `prepare` found no handler to run.
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

/// A panic's message, when it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Applies what every handler response needs: builder errors become 500, a relative `Location`
/// becomes absolute (as Pesto does), and a HEAD response loses its body.
fn finish<S>(response: Response, req: &Request<S>) -> Response {
    let response = response.check_errors();
    let mut response = location::absolutize(response, req.context(), req.path());
    if req.method() == Method::HEAD {
        let body = response.take_body();
        if !response.headers().contains_key(header::CONTENT_LENGTH) {
            response = response.with_header(header::CONTENT_LENGTH, body.len());
        }
    }
    response
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
        match self.begin(req) {
            Begun::Answered(response) => Box::pin(std::future::ready(response)),
            Begun::Unmatched(unmatched) => Box::pin(self.answer_unmatched(*unmatched)),
            Begun::Routed(routed) => Box::pin(Self::answer(self, routed)),
        }
    }

    fn call_shared(self: Arc<Self>, req: RawRequest) -> BoxFuture<'static, Response> {
        // As `call`, in one box that holds the dispatcher's share.
        match self.begin(req) {
            Begun::Answered(response) => Box::pin(std::future::ready(response)),
            Begun::Unmatched(unmatched) => {
                Box::pin(async move { self.answer_unmatched(*unmatched).await })
            }
            Begun::Routed(routed) => Box::pin(Self::answer(self, routed)),
        }
    }
}

/// Where `Dispatcher::begin` left a request.
#[expect(
    clippy::large_enum_variant,
    reason = "the routed request is the common case: boxing it would cost an allocation each"
)]
enum Begun<S> {
    /// Answered without a handler: a redirect, a plain 404 or 405, a session that did not open.
    Answered(Response),
    /// For the fallback. Boxed: the rare path, and the enum stays small.
    Unmatched(Box<UnmatchedRequest<S>>),
    /// For the handler of its route.
    Routed(Routed<S>),
}

/// A request for the fallback: why no route took it, what pesto would answer, the request.
struct UnmatchedRequest<S> {
    why: Unmatched,
    answer: Response,
    req: Request<S>,
    slot: Option<SessionSlot>,
}

/// A request routed to a handler, its session open, its body still to read when it has one.
struct Routed<S> {
    /// The route's handler, and its name for the log.
    handler: HandlerFn<S>,
    name: &'static str,
    params: Vec<String>,
    req: Request<S>,
    body: Option<RawBody>,
    slot: Option<SessionSlot>,
}

impl<S: SessionData> Dispatcher<S> {
    /// Everything up to the handler, none of which waits: the session is opened, the route
    /// found, the request built. The future that follows then holds only what the handler's
    /// call needs (a smaller future is a cheaper one to allocate and move).
    fn begin(&self, req: RawRequest) -> Begun<S> {
        let slot = req.extensions().get::<SessionSlot>().cloned();
        let session = match Session::<S>::open(slot.as_ref()) {
            Ok(session) => session,
            Err(error) => {
                tracing::error!(%error, "cannot open the request's session");
                return Begun::Answered(Response::internal_server_error());
            }
        };
        match self.prepare(req) {
            Ok(Prepared {
                entry,
                params,
                data,
                body,
            }) => Begun::Routed(Routed {
                handler: entry.call,
                name: entry.info().name,
                params,
                req: Request::new(data, session),
                body,
                slot,
            }),
            Err(Miss::Answer(response)) => {
                Begun::Answered(give_back(session, slot.as_ref(), response))
            }
            Err(Miss::Fallback { why, answer, data }) => {
                Begun::Unmatched(Box::new(UnmatchedRequest {
                    why,
                    answer,
                    req: Request::new(*data, session),
                    slot,
                }))
            }
        }
    }

    /// Reads the body if there is one, runs the handler, and hands the session back. An `async`
    /// block, not an `async fn`, whose argument would take its room in the future twice; the
    /// rare paths' futures are boxed apart.
    ///
    /// `dispatcher` is the dispatcher itself, borrowed or shared (`call_shared`): the future
    /// holds it and `routed` once each.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn stores its arguments twice in its future (rust-lang/rust#62958)"
    )]
    fn answer<'a, D>(
        dispatcher: D,
        mut routed: Routed<S>,
    ) -> impl Future<Output = Response> + Send + 'a
    where
        D: Deref<Target = Self> + Send + 'a,
    {
        async move {
            let this = &*dispatcher;
            if let Some(body) = routed.body.take() {
                // Boxed: reading a body, multipart included, takes a large state.
                if let Err(answer) = Box::pin(this.read_body(&mut routed.req, body)).await {
                    return give_back(routed.req.into_session(), routed.slot.as_ref(), answer);
                }
            }
            let params = std::mem::take(&mut routed.params);
            let run = Self::run(routed.handler, routed.name, params, &mut routed.req);
            let Some(mut response) = run.await else {
                // A panicking handler saves nothing: the session is not given back.
                return Response::internal_server_error();
            };
            if routed.req.was_unconverted() && this.fallback.is_some() {
                let why = Unmatched::BadParameter;
                match Box::pin(this.run_fallback(why, &response, &mut routed.req)).await {
                    Some(answer) => response = answer,
                    None => return Response::internal_server_error(),
                }
            }
            let response = finish(response, &routed.req);
            give_back(routed.req.into_session(), routed.slot.as_ref(), response)
        }
    }

    /// Runs the fallback on an unmatched request and hands the session back.
    async fn answer_unmatched(&self, unmatched: UnmatchedRequest<S>) -> Response {
        let UnmatchedRequest {
            why,
            answer,
            mut req,
            slot,
        } = unmatched;
        let Some(response) = self.run_fallback(why, &answer, &mut req).await else {
            return Response::internal_server_error();
        };
        let response = finish(response, &req);
        give_back(req.into_session(), slot.as_ref(), response)
    }
}

/// Hands the session back to the middleware that lent it and answers `response` — unless the
/// response is a 5xx (a failed handler saves nothing, as in Django and tower-sessions) or the
/// data does not serialize (logged; then the answer is a 500).
fn give_back<S: SessionData>(
    session: Session<S>,
    slot: Option<&SessionSlot>,
    response: Response,
) -> Response {
    let Some(slot) = slot else { return response };
    if response.status().is_server_error() {
        return response;
    }
    match session.give_back(slot) {
        Ok(()) => response,
        Err(error) => {
            tracing::error!(%error, "session data does not serialize");
            Response::internal_server_error()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::{Begun, Dispatcher};
    use crate::exchange::session::{LentSession, SessionSlot};
    use crate::exchange::{box_body, Request, SessionId};
    use crate::routing::route::{HandlerFuture, Part, RouteInfo};
    use crate::routing::RouteEntry;

    /// A session type the size of a typical app's.
    #[derive(Default, Serialize, Deserialize)]
    struct Visitor {
        username: Option<String>,
        logged_in: bool,
        visits: u64,
    }

    fn home(_: &mut Request<Visitor>, _: Vec<String>) -> HandlerFuture<'_> {
        Box::pin(async { crate::Response::text("home") })
    }

    #[test]
    fn the_dispatchers_future_for_a_request_stays_under_a_kilobyte() {
        // As the session middleware's (see its test): every request's future is boxed, and up to
        // 1 KiB the box comes from glibc's per-thread cache. Inline body reading or fallback
        // state would push it over.
        let info = RouteInfo {
            name: "home",
            pattern: "/",
            key: "/",
            methods: &["GET"],
            accepts_cross_origin: false,
            parts: &[Part::Literal("/")],
        };
        let dispatcher = Dispatcher::from_routes(vec![RouteEntry::from_raw(info, home)]);
        let mut req = http::Request::get("/")
            .body(box_body(http_body_util::Empty::new()))
            .expect("request");
        req.extensions_mut().insert(SessionSlot::lend(LentSession {
            id: SessionId::generate().expect("an id"),
            json: None,
            live: None,
            flashes: Vec::new(),
        }));
        let Begun::Routed(routed) = dispatcher.begin(req) else {
            panic!("GET / is routed to `home`");
        };
        let future = Dispatcher::answer(&dispatcher, routed);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1024, "the dispatcher's future takes {size} bytes");
    }
}
