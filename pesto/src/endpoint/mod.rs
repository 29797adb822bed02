//! [`Endpoint`]: anything that answers raw requests (a dispatcher, a session-wrapped app, a mount),
//! plus mounting, [`from_fn`] middleware, and the adapters both ways between endpoints and tower
//! services ([`PestoService`], [`ServiceEndpoint`], and [`HttpService`] naming what pesto runs).
//!
//! The layer above the request vocabulary: it imports only `crate::exchange`.

mod check;
mod cross_origin;
mod from_fn;
mod http_service;
mod mount;
mod next;
mod service;
mod service_endpoint;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::request::Parts;

use crate::exchange::{HandedContext, RawRequest, Response};

pub use check::{AppCheck, AppCheckError};
pub use cross_origin::{CrossOriginApp, CrossOriginProtection, CrossOriginRefused};
pub use from_fn::{from_fn, FromFn, FromFnApp};
pub use http_service::HttpService;
pub use mount::{mount, Mount, Mounts};
pub use next::Next;
pub use service::{PestoService, ServiceFuture};
pub use service_endpoint::ServiceEndpoint;

/// Something that answers raw HTTP requests: what [`Server`](crate::Server),
/// [`TestApp`](crate::TestApp) and [`PestoService`] run.
///
/// A [`Dispatcher`](crate::Dispatcher), a [`Mount`], [`Mounts`] and the session middleware's
/// `pesto::session::SessionApp` are endpoints; layers that wrap an endpoint are
/// endpoints too, so they nest in any order.
pub trait Endpoint: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response>;

    /// Answers one request on an endpoint shared behind an `Arc`, with a future that holds its
    /// own share of the endpoint: what [`PestoService`] runs. The default boxes
    /// [`call`](Self::call)'s future once more; an endpoint can answer in one box instead.
    fn call_shared(self: Arc<Self>, req: RawRequest) -> BoxFuture<'static, Response> {
        Box::pin(async move { self.call(req).await })
    }

    /// Answers one request whose context an outer pesto layer (the session middleware) worked
    /// out and hands over beside it. The default attaches the context to the request and calls
    /// [`call`](Self::call); the dispatcher takes it as it is. A layer that wraps another
    /// endpoint and does not look at the request may pass it on to the inner endpoint's
    /// `call_with_context`.
    fn call_with_context(
        &self,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'_, Response> {
        let mut req = req;
        context.attach(req.extensions_mut());
        self.call(req)
    }

    /// [`call_shared`](Self::call_shared) with the request's context handed beside the request
    /// (the server, when it runs the app without tower layers around it). The default attaches
    /// the context to the request, with the client's address as its
    /// [`RemoteAddr`](crate::RemoteAddr) extension, and calls `call_shared`.
    fn call_shared_with_context(
        self: Arc<Self>,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'static, Response> {
        let mut req = req;
        context.attach(req.extensions_mut());
        self.call_shared(req)
    }

    /// Starts the endpoint's background work (the session purge) on the current tokio runtime.
    /// [`Server`](crate::Server) calls it once before accepting connections; an endpoint that
    /// is never started starts its work with its first request.
    fn start(&self) {}

    /// Reports what the endpoint needs and its assembly does not give (state, a session
    /// middleware), before any request: [`Server`](crate::Server) and
    /// [`TestApp`](crate::TestApp) run it. An endpoint that wraps others checks them; one that
    /// provides something to them (the session middleware) says so through `check`.
    fn check(&self, check: &mut AppCheck) {
        let _ = check;
    }

    /// Whether this request would reach a route that takes unsafe requests from other sites
    /// (`#[route(.., cross_origin)]`, a webhook, say): the cross-origin protection asks it about a
    /// request it would refuse, and lets it through when the answer is yes. Endpoints that
    /// wrap others ask them; the default is no.
    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        let _ = parts;
        false
    }

    /// Runs [`check`](Self::check) on this endpoint as a whole app.
    ///
    /// # Errors
    /// [`AppCheckError`] listing every problem found.
    fn check_app(&self) -> Result<(), AppCheckError> {
        let mut check = AppCheck::default();
        self.check(&mut check);
        check.finish()
    }
}

/// Forwards every method to the pointee, so boxed and shared endpoints are endpoints too; the
/// methods given after the pointer's name are the pointer's own.
macro_rules! forward_endpoint {
    ($pointer:ident $(, $own:item)*) => {
        impl<E: Endpoint + ?Sized> Endpoint for $pointer<E> {
            fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
                (**self).call(req)
            }
            fn call_with_context(
                &self,
                req: RawRequest,
                context: HandedContext,
            ) -> BoxFuture<'_, Response> {
                (**self).call_with_context(req, context)
            }
            fn start(&self) {
                (**self).start()
            }
            fn check(&self, check: &mut AppCheck) {
                (**self).check(check)
            }
            fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
                (**self).accepts_cross_origin(parts)
            }
            $($own)*
        }
    };
}

forward_endpoint!(Box);
// A shared endpoint hands its own share on: the pointee answers in one box, if it can.
forward_endpoint!(
    Arc,
    fn call_shared(self: Arc<Self>, req: RawRequest) -> BoxFuture<'static, Response> {
        Arc::clone(&*self).call_shared(req)
    },
    fn call_shared_with_context(
        self: Arc<Self>,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'static, Response> {
        Arc::clone(&*self).call_shared_with_context(req, context)
    }
);
