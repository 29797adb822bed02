//! Answering a request the dispatcher has routed: opening its session, reading its body, running
//! the handler (or the app's fallback) in the request's context, finishing the response and
//! handing the session back.

use std::future::Future;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use http::{header, HeaderValue, Method};

use super::{body_to_read, Dispatcher, Miss};
use crate::exchange::body;
use crate::exchange::context::RequestContext;
use crate::exchange::location;
use crate::exchange::session::{SessionData, SessionSlot};
use crate::exchange::{HandedContext, RawBody, RawRequest, Request, Response, Session};
use crate::routing::captures::Captures;
use crate::routing::fallback::Unmatched;
use crate::routing::route::HandlerFn;
use crate::routing::table::Lookup;

/// Where `Dispatcher::begin` left a request.
#[expect(
    clippy::large_enum_variant,
    reason = "the routed request is the common case: boxing it would cost an allocation each"
)]
pub(super) enum Begun<S> {
    /// Answered without a handler: a redirect, a plain 404 or 405, a session that did not open.
    Answered(Response),
    /// For the fallback. Boxed: the rare path, and the enum stays small.
    Unmatched(Box<UnmatchedRequest<S>>),
    /// For the handler of its route.
    Routed(Routed<S>),
}

/// A request for the fallback: why no route took it, what pesto would answer, the request.
pub(super) struct UnmatchedRequest<S> {
    why: Unmatched,
    answer: Response,
    req: Request<S>,
    slot: Option<SessionSlot>,
}

/// A request routed to a handler, its session open, its body still to read when it has one.
pub(super) struct Routed<S> {
    /// The route's handler, and its name for the log.
    handler: HandlerFn<S>,
    name: &'static str,
    params: Captures,
    req: Request<S>,
    body: Option<RawBody>,
    slot: Option<SessionSlot>,
}

impl<S: SessionData> Dispatcher<S> {
    /// Everything up to the handler, none of which waits: the session is opened, the route
    /// found, the request built. The future that follows then holds only what the handler's
    /// call needs (a smaller future is a cheaper one to allocate and move).
    ///
    /// The request's context is `handed`, when a layer outside handed it over, or else taken
    /// from the request's extensions (worked out now if no layer did).
    ///
    /// Inlined, with what it calls (the lookup, `request_data`, `Request::new`) and the
    /// `run_begun` that boxes its result: the routed request (several hundred bytes) is then
    /// built nearer where it ends up instead of being copied through each return slot, about
    /// 150 instructions of a dispatch (`bench/load/lookup-instructions`).
    #[inline(always)]
    pub(super) fn begin(&self, req: RawRequest, handed: Option<HandedContext>) -> Begun<S> {
        let (mut parts, body) = req.into_parts();
        let mut context = match handed {
            Some(HandedContext(context)) => context,
            None => RequestContext::take(&mut parts),
        };
        let slot = Arc::make_mut(&mut context).take_session();
        let mut session = match Session::<S>::open(slot.as_ref()) {
            Ok(session) => session,
            Err(error) => {
                tracing::error!(%error, "cannot open the request's session");
                return Begun::Answered(Response::internal_server_error());
            }
        };
        #[cfg(debug_assertions)]
        Arc::make_mut(&mut context).set_served_routes(Arc::clone(&self.served));
        let (entry, params) = match self
            .table
            .lookup(&parts.method, context.path_info(&parts.uri))
        {
            Lookup::Found(entry, params) => (entry, params),
            lookup => {
                let allowed = match lookup {
                    Lookup::MethodNotAllowed(allowed) => Some(allowed),
                    Lookup::Found(..) | Lookup::NotFound => None,
                };
                return match self.missed(allowed, parts, context) {
                    Miss::Answer(mut response) => {
                        self.give_back(&mut session, slot.as_ref(), &mut response);
                        Begun::Answered(response)
                    }
                    Miss::Fallback { why, answer, data } => {
                        Begun::Unmatched(Box::new(UnmatchedRequest {
                            why,
                            answer,
                            req: Request::new(*data, session),
                            slot,
                        }))
                    }
                };
            }
        };
        // The request is built where it ends up, in the routed request: nothing between the
        // lookup and here holds the head, which is then moved once, not through results.
        let body = body_to_read(&parts, body);
        Begun::Routed(Routed {
            handler: entry.call,
            name: entry.info().name,
            params,
            req: Request::new(self.request_data(parts, context), session),
            body,
            slot,
        })
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
    pub(super) fn answer<'a, D>(
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
                if let Err(mut answer) = Box::pin(this.read_body(&mut routed.req, body)).await {
                    let session = &mut routed.req.session;
                    this.give_back(session, routed.slot.as_ref(), &mut answer);
                    return answer;
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
            finish(&mut response, &routed.req);
            this.give_back(&mut routed.req.session, routed.slot.as_ref(), &mut response);
            response
        }
    }

    /// Runs the fallback on an unmatched request and hands the session back.
    pub(super) async fn answer_unmatched(&self, unmatched: UnmatchedRequest<S>) -> Response {
        let UnmatchedRequest {
            why,
            answer,
            mut req,
            slot,
        } = unmatched;
        let Some(mut response) = self.run_fallback(why, &answer, &mut req).await else {
            return Response::internal_server_error();
        };
        finish(&mut response, &req);
        self.give_back(&mut req.session, slot.as_ref(), &mut response);
        response
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

    /// Hands the session back to the middleware that lent it, for `response` — unless the
    /// response is a 5xx (a failed handler saves nothing, as in Django and tower-sessions) or
    /// the data does not serialize (logged; the response becomes a 500).
    fn give_back(
        &self,
        session: &mut Session<S>,
        slot: Option<&SessionSlot>,
        response: &mut Response,
    ) {
        let Some(slot) = slot else { return };
        if response.status().is_server_error() {
            return;
        }
        if let Err(error) = session.give_back(slot, &self.default_json) {
            tracing::error!(%error, "session data does not serialize");
            *response = Response::internal_server_error();
        }
    }

    /// Runs `handler` (named `name`, for the log) on `req` in the request's context; `None` if
    /// it panicked. The handler's future is made before the returned one, which holds only it
    /// and the context.
    fn run<'r>(
        handler: HandlerFn<S>,
        name: &'static str,
        params: Captures,
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
///
/// In place, as the session's hand-back that follows: nothing is taken out of the response
/// (a `Response` left behind by `mem::take` is an allocation).
fn finish<S>(response: &mut Response, req: &Request<S>) {
    response.check_errors();
    location::absolutize(response.headers_mut(), req.context(), req.path());
    if req.method() == Method::HEAD {
        let body = response.take_body();
        if !response.headers().contains_key(header::CONTENT_LENGTH) {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
    }
}
