//! The session middleware: [`SessionApp`] wraps any [`Endpoint`], lends it the request's session
//! and saves what came back.
//!
//! The order of work for one request (see `docs/sessions.md`):
//! 1. read the ids the request presents ([`Transport`]), load the record by the id's hash; an
//!    unknown or expired id is never adopted (strict mode, as Pesto), and a session whose data
//!    does not decode as the app's type is replaced by a new one when the dispatcher opens it;
//! 2. in querystring mode, redirect a GET without a valid id to the same URL carrying a new one;
//! 3. lend the session to the inner endpoint through a [`SessionSlot`] and call it;
//! 4. unless the handler failed or the answer is a 5xx, make the store decision (create / update /
//!    touch / remove) — before the response head is returned, so the client's next request sees
//!    it — and announce a new or changed id.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use http::header::CACHE_CONTROL;
use http::request::Parts;
use http::HeaderValue;
use http::StatusCode;

use super::concurrent::RetryLocks;
use super::config::SessionMiddleware;
use super::inspector::SessionInspector;
use super::purge::PurgeTask;
use super::reply::Reply;
use super::save::{random_failed, store_full, Baseline, Created};
use super::shared::{Found, Shared};
use super::store::{self, SessionStore};
use super::transport::IncomingIds;
use crate::endpoint::{AppCheck, Endpoint};
use crate::exchange::context::RequestContext;
use crate::exchange::pending_id::PendingId;
use crate::exchange::save_gate::SaveGate;
use crate::exchange::session::{LentSession, SessionSlot, SlotOutcome};
use crate::exchange::session_json::DEFAULT_DATA;
use crate::exchange::{Flash, HandedContext, IntoResponse, RawBody, RawRequest, Response};

/// An endpoint wrapped in session middleware: an [`Endpoint`] to serve or test.
///
/// The background purge starts with the app ([`Endpoint::start`], which the server calls), or
/// with its first request when nothing started it, and stops when the app is dropped (which the
/// server does at shutdown).
pub struct SessionApp<E> {
    shared: Arc<Shared>,
    purge: PurgeTask,
    inner: E,
}

impl<E> fmt::Debug for SessionApp<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionApp")
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// Wraps `app` — a [`Dispatcher`](crate::Dispatcher) whose handlers take
    /// `&mut Request<S>`, a [`Mount`](crate::Mount) of one, or any other [`Endpoint`].
    pub fn wrap<E: Endpoint>(self, app: E) -> SessionApp<E> {
        let transport = self.config.transport();
        SessionApp {
            shared: Arc::new(Shared {
                store: self.store,
                config: self.config,
                transport,
                clock: self.clock,
                retry_locks: RetryLocks::default(),
            }),
            purge: PurgeTask::default(),
            inner: app,
        }
    }
}

impl<E> SessionApp<E> {
    /// Removes every session idle for longer than `olderthan`; returns how many.
    ///
    /// # Errors
    /// The store's error.
    pub async fn purge(&self, olderthan: std::time::Duration) -> store::Result<u64> {
        self.shared.purge(olderthan).await
    }

    /// The session store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.shared.store
    }

    /// A handle that reads and seeds this app's sessions, for
    /// [`TestApp::with_sessions`](crate::TestApp::with_sessions).
    pub fn inspector(&self) -> SessionInspector {
        SessionInspector::new(Arc::clone(&self.shared))
    }

    /// The wrapped endpoint.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: Endpoint> Endpoint for SessionApp<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        self.purge.ensure_started(&self.shared);
        match self.arrive(req, None) {
            Ok(arrived) => Box::pin(Self::handle(self, arrived)),
            Err(refused) => Box::pin(std::future::ready(refused)),
        }
    }

    fn call_shared(self: Arc<Self>, req: RawRequest) -> BoxFuture<'static, Response> {
        // One box for the whole request, holding its share of the app.
        self.purge.ensure_started(&self.shared);
        match self.arrive(req, None) {
            Ok(arrived) => Box::pin(Self::handle(self, arrived)),
            Err(refused) => Box::pin(std::future::ready(refused)),
        }
    }

    /// As `call_shared`, with the context the server worked out, which goes on to the app.
    fn call_shared_with_context(
        self: Arc<Self>,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'static, Response> {
        self.purge.ensure_started(&self.shared);
        match self.arrive(req, Some(context)) {
            Ok(arrived) => Box::pin(Self::handle(self, arrived)),
            Err(refused) => Box::pin(std::future::ready(refused)),
        }
    }

    fn start(&self) {
        self.purge.ensure_started(&self.shared);
        self.inner.start();
    }

    fn check(&self, check: &mut AppCheck) {
        check.with_sessions(|check| self.inner.check(check));
    }

    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        self.inner.accepts_cross_origin(parts)
    }
}

/// The session a request arrived with (or a fresh one), and what the store held.
struct Loaded {
    /// Not drawn yet for a new session in cookie mode.
    id: PendingId,
    /// The stored data's JSON; `None` for a new session.
    json: Option<Vec<u8>>,
    /// The flash messages waiting to be shown.
    flashes: Vec<Flash>,
    baseline: Baseline,
}

/// A request past the middleware's synchronous checks, with the ids it presents.
struct Arrived {
    parts: Parts,
    body: RawBody,
    /// The context handed beside the request; `None`: it is on the request, or not worked out.
    context: Option<Arc<RequestContext>>,
    ids: IncomingIds,
    /// A test holding this request between its handler and its save (TestApp).
    gate: Option<SaveGate>,
}

impl<E: Endpoint> SessionApp<E> {
    /// What needs no store: a forged cross-site request is refused before any session is loaded
    /// or made (unless its route is declared `cross_origin`, a webhook), and the ids the
    /// request presents are read.
    fn arrive(&self, req: RawRequest, handed: Option<HandedContext>) -> Result<Arrived, Response> {
        let shared = &*self.shared;
        let (mut parts, body) = req.into_parts();
        let context = match handed {
            // Querystring mode reads the id from the query, which the context parses and keeps:
            // the context goes on the request, where that reading finds it.
            Some(handed) if shared.transport.carries_id_in_urls() => {
                handed.attach(&mut parts.extensions);
                None
            }
            handed => handed.map(|HandedContext(context)| context),
        };
        if let Some(protection) = &shared.config.cross_origin {
            if let Err(refused) = protection.check(&parts) {
                if !self.inner.accepts_cross_origin(&mut parts) {
                    let mut refused = refused.into_response();
                    shared.transport.decorate(&mut refused);
                    return Err(refused);
                }
            }
        }
        let gate = parts.extensions.remove::<SaveGate>();
        let ids = shared.transport.incoming_ids(&mut parts);
        Ok(Arrived {
            parts,
            body,
            context,
            ids,
            gate,
        })
    }

    /// The rest of the request: load, lend, call, save, and the headers every answer gets
    /// (`Transport::decorate`). An `async` block rather than an `async fn`, whose arguments
    /// would be stored twice in the future; the rare paths' futures are boxed apart, so that
    /// every request's future stays small (under 1 KiB).
    ///
    /// `app` is the app itself, borrowed or shared (`call_shared`): the future holds it and
    /// `arrived` once each.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn stores its arguments twice in its future (rust-lang/rust#62958)"
    )]
    fn handle<'a, A>(app: A, mut arrived: Arrived) -> impl Future<Output = Response> + Send + 'a
    where
        A: Deref<Target = Self> + Send + 'a,
    {
        async move {
            let this = &*app;
            let shared = &*this.shared;
            let transport = &shared.transport;
            // `arrived`'s fields are used in place: moved out into locals, they would take
            // their room in the future a second time.
            let now = shared.clock.now();
            // Boxed, and only when the request presents an id: a first visit waits for no store.
            // The ids go straight into the boxed future (a local would hold them here too).
            let loaded = match if arrived.ids.is_empty() {
                shared.fresh(now)
            } else {
                Box::pin(shared.load(std::mem::take(&mut arrived.ids), now)).await
            } {
                Ok(loaded) => loaded,
                Err(mut response) => {
                    transport.decorate(&mut response);
                    return response;
                }
            };
            let is_new = loaded.json.is_none();
            if is_new && transport.redirects_new_visitors(&arrived.parts, shared.config.lazy) {
                let redirect =
                    Box::pin(shared.redirect_new_visitor(&loaded.id, &mut arrived.parts, now));
                let mut response = redirect.await;
                transport.decorate(&mut response);
                return response;
            }

            // Links rendered by this request carry the id even in lazy mode, where it becomes
            // real only if the handler writes to the session: an id that was never stored is
            // refused on the next request anyway.
            // The context is taken out of the request (or worked out now) and handed to the
            // inner endpoint beside it (see `HandedContext`), in a block: moved out or not, a
            // local that outlives an await takes room in the future.
            let (reply, arrived_private, slot, answering) = {
                let mut handed = match arrived.context.take() {
                    Some(context) => context,
                    None => RequestContext::take(&mut arrived.parts),
                };
                let context = Arc::make_mut(&mut handed);
                let reply = Reply::new(context, transport.live_id(loaded.id.get()));
                // A page made with a session that holds something is the user's own (below).
                let arrived_private = loaded
                    .json
                    .as_deref()
                    .is_some_and(|json| json != DEFAULT_DATA)
                    || !loaded.flashes.is_empty();
                // The id goes to the handler layer; in querystring mode the live id remembers it
                // for the answer (`restore_arrived_live_id`, below).
                let slot = SessionSlot::lend(LentSession {
                    id: loaded.id,
                    json: loaded.json,
                    live: reply.live.clone(),
                    flashes: loaded.flashes,
                });
                context.lend_session(slot.clone());
                let answering = this.inner.call_with_context(
                    http::Request::from_parts(arrived.parts, arrived.body),
                    HandedContext(handed),
                );
                (reply, arrived_private, slot, answering)
            };
            let mut response = answering.await;

            if let Some(gate) = arrived.gate {
                Box::pin(gate.hold()).await;
            }
            // In a block: the outcome is gone before the writes are awaited, so the future
            // does not keep room for it.
            let (lost, private, writes) = {
                let outcome = slot.outcome();
                let lost = matches!(outcome, SlotOutcome::Lost);
                let private = arrived_private
                    || matches!(&outcome, SlotOutcome::Returned(r) if r.has_changes() && !r.state.invalidated);
                let writes = match outcome {
                    // Whatever failed around the handler, a 5xx saves nothing either.
                    _ if response.status().is_server_error() => None,
                    SlotOutcome::Returned(returned) => {
                        shared.persist(&mut response, returned, &loaded.baseline, &reply, now)
                    }
                    SlotOutcome::Unopened(lent) => {
                        shared.persist_unopened(&mut response, lent, &loaded.baseline, &reply, now)
                    }
                    SlotOutcome::Lost => None,
                };
                (lost, private, writes)
            };
            if let Some(writes) = writes {
                response = writes.await;
            }
            if lost || response.status().is_server_error() {
                // Nothing was saved: redirects carry the id the request arrived with, if any.
                reply.restore_arrived_live_id(is_new);
            }
            if private && shared.config.private_pages {
                keep_out_of_caches(&mut response);
            }
            transport.rewrite_location(&mut response, &reply);
            transport.decorate(&mut response);
            response
        }
    }
}

impl Shared {
    /// Finds the first presented id with a live session, or draws a new id.
    async fn load(&self, ids: IncomingIds, now: SystemTime) -> Result<Loaded, Response> {
        for id in ids {
            let key = id.key();
            match self.find(key, now).await {
                Err(error) => {
                    tracing::error!(%error, session = ?key, "session store failed on load");
                    return Err(Response::error_page(StatusCode::SERVICE_UNAVAILABLE));
                }
                Ok(Found::Live(record)) => {
                    let forward = record.forwarded_to.map(|to| (key.clone(), to));
                    return Ok(Loaded {
                        json: Some(record.json),
                        flashes: record.flashes,
                        baseline: Baseline {
                            last_access: Some(record.last_access),
                            created: record.created,
                            version: record.version,
                            forward,
                        },
                        id: PendingId::known(id),
                    });
                }
                Ok(Found::Dead { expired: true }) => {
                    if let Err(error) = self.store.remove(key).await {
                        tracing::warn!(%error, session = ?key, "could not remove an expired session");
                    }
                }
                Ok(Found::Dead { expired: false }) => {
                    tracing::warn!(session = ?key, "stored record is not a session; starting a new one");
                }
                Ok(Found::Absent) => {}
            }
        }
        self.fresh(now)
    }

    /// A new session. Its id is drawn when the session is stored or a handler asks for it
    /// (`PendingId`), except in querystring mode, where the links this request renders carry it
    /// from the start.
    fn fresh(&self, now: SystemTime) -> Result<Loaded, Response> {
        let id = PendingId::default();
        if self.transport.carries_id_in_urls() {
            id.get_or_draw().map_err(|error| random_failed(&error))?;
        }
        Ok(Loaded {
            id,
            json: None,
            flashes: Vec::new(),
            baseline: Baseline::new_session(now),
        })
    }

    /// Querystring mode, GET without a valid id: store a fresh session and send the client to
    /// the same URL carrying its id (Pesto).
    async fn redirect_new_visitor(
        &self,
        id: &PendingId,
        parts: &mut Parts,
        now: SystemTime,
    ) -> Response {
        let id = match id.get_or_draw() {
            Ok(id) => id,
            Err(error) => return random_failed(&error),
        };
        match self.create(id, DEFAULT_DATA, &[], now, now).await {
            Ok(Created::Yes) => self.transport.redirect_carrying(id, parts),
            // No id to carry: the visitor cannot be served a session now.
            Ok(Created::Full) => store_full(),
            Err(response) => response,
        }
    }
}

/// Marks a page made from a session that holds something as the user's own:
/// `Cache-Control: private, no-store`, unless the handler chose a `Cache-Control` itself. Shared
/// caches then never serve it to someone else, and a browser does not show it again from its
/// cache after the user logged out (docs/security.md, "Cookies and caching").
fn keep_out_of_caches(response: &mut Response) {
    let headers = response.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(
            CACHE_CONTROL,
            const { HeaderValue::from_static("private, no-store") },
        );
    }
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::future::BoxFuture;

    use super::{Arrived, SessionApp};
    use crate::endpoint::Endpoint;
    use crate::exchange::context::RequestContext;
    use crate::exchange::default_json::DefaultJson;
    use crate::exchange::session_id::DRAWN;
    use crate::exchange::{box_body, HandedContext, RawRequest, Response, Session};
    use crate::session::{session_middleware, MemoryStore};

    /// An app that answers at once: the middleware's own future is what is measured.
    struct Answer;

    impl Endpoint for Answer {
        fn call(&self, _req: RawRequest) -> BoxFuture<'_, Response> {
            Box::pin(std::future::ready(Response::text("ok")))
        }
    }

    #[test]
    fn the_middlewares_future_for_a_request_stays_under_a_kilobyte() {
        // Every request's future is boxed: up to 1 KiB, glibc serves the box from its per-thread
        // cache, and moving the future into it copies little. Inline store writes or an
        // argument stored twice (see `handle`) would push it over. (The app's own future is
        // boxed apart and does not count here.)
        let app = session_middleware(MemoryStore::new()).wrap(Answer);
        let (parts, body) = http::Request::get("/")
            .body(box_body(http_body_util::Empty::new()))
            .expect("request")
            .into_parts();
        let arrived = Arrived {
            parts,
            body,
            context: None,
            ids: Default::default(),
            gate: None,
        };
        let future = SessionApp::handle(&app, arrived);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1024, "the middleware's future takes {size} bytes");
    }

    /// What a handler does with its session, as the dispatcher would open and give it back.
    #[derive(Clone, Copy)]
    enum Handler {
        Reads,
        Writes,
        LogsIn,
    }

    impl Endpoint for Handler {
        fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
            let (mut parts, _) = req.into_parts();
            let slot = RequestContext::of(&mut parts).1.take_session();
            let handler = *self;
            Box::pin(async move {
                let Some(slot) = slot else {
                    return Response::internal_server_error();
                };
                let Ok(mut session) = Session::<u32>::open(Some(&slot)) else {
                    return Response::internal_server_error();
                };
                match handler {
                    Handler::Reads => {
                        let _visits: u32 = *session;
                    }
                    Handler::Writes => *session += 1,
                    Handler::LogsIn => {
                        *session = 7;
                        if session.cycle_id().is_err() {
                            return Response::internal_server_error();
                        }
                    }
                }
                match session.give_back(&slot, &DefaultJson::default()) {
                    Ok(()) => Response::text("ok"),
                    Err(_) => Response::internal_server_error(),
                }
            })
        }
    }

    /// Ids drawn on this thread while one request without a cookie is served by `handler` in
    /// lazy mode, and whether the answer set a cookie.
    fn ids_drawn_for_a_first_visit(handler: Handler) -> (u64, bool) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let app = session_middleware(MemoryStore::new())
            .lazy(true)
            .wrap(handler);
        let request = http::Request::get("/")
            .body(box_body(http_body_util::Empty::new()))
            .expect("request");
        let before = DRAWN.with(std::cell::Cell::get);
        let response = runtime.block_on(app.call(request));
        let drawn = DRAWN.with(std::cell::Cell::get) - before;
        (drawn, response.header("set-cookie").is_some())
    }

    #[test]
    fn a_first_visit_draws_an_id_only_when_its_session_is_stored() {
        // Lazy mode: a visitor whose session stays empty is served without one, and no id is
        // drawn for it; the one that is stored draws exactly one, even through `cycle_id()`.
        assert_eq!(ids_drawn_for_a_first_visit(Handler::Reads), (0, false));
        assert_eq!(ids_drawn_for_a_first_visit(Handler::Writes), (1, true));
        assert_eq!(ids_drawn_for_a_first_visit(Handler::LogsIn), (1, true));
    }

    /// Answers 200 when it was handed the request's context, holding the lent session, and the
    /// request's extensions hold none; 500 when it was called the other way.
    struct ExpectsHandedContext;

    impl Endpoint for ExpectsHandedContext {
        fn call(&self, _req: RawRequest) -> BoxFuture<'_, Response> {
            Box::pin(std::future::ready(Response::internal_server_error()))
        }

        fn call_with_context(
            &self,
            req: RawRequest,
            mut context: HandedContext,
        ) -> BoxFuture<'_, Response> {
            let in_extensions = req.extensions().get::<Arc<RequestContext>>().is_some();
            let lent = Arc::make_mut(&mut context.0).take_session().is_some();
            let answer = match (in_extensions, lent) {
                (false, true) => Response::text("handed"),
                _ => Response::internal_server_error(),
            };
            Box::pin(std::future::ready(answer))
        }
    }

    #[test]
    fn the_context_and_session_are_handed_over_beside_the_request() {
        // docs/performance.md: a request's extensions map costs three allocations and a lookup
        // each way; the middleware passes the context to the endpoint it wraps directly.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let app = session_middleware(MemoryStore::new()).wrap(ExpectsHandedContext);
        let request = http::Request::get("/")
            .body(box_body(http_body_util::Empty::new()))
            .expect("request");
        let response = runtime.block_on(app.call(request));
        assert_eq!(response.status(), http::StatusCode::OK);
    }
}
