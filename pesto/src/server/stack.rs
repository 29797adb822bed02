//! What the server hands a request that passed its checks: the user's tower layers around the
//! app ([`Layered`]), or, when there are none, the app itself ([`Bare`]).
//!
//! A tower layer can only read the client's address from the request, so [`Layered`] puts it
//! there as the [`RemoteAddr`] extension — the first extension of a request, which costs a boxed
//! map, its table and a boxed value, about 700 instructions with their release: a twentieth of
//! a small request. With no layer between the server and the app there is no one to read it
//! there, and [`Bare`] hands it to the app in the request's context instead
//! ([`Endpoint::call_shared_with_context`]), as the session middleware hands the context to
//! the dispatcher; an endpoint that reads requests itself still finds the extension (the
//! default of that method puts it there).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::Full;
use hyper::body::Incoming;

use crate::endpoint::{Endpoint, HttpService};
use crate::exchange::{box_body, BoxError, HandedContext, RemoteAddr};

/// What answers the requests that pass the server's checks; one clone serves one connection.
pub(super) trait GuardedStack: Clone + Send + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;

    /// Answers `req`, which came from `remote`.
    fn answer(
        self,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, BoxError>> + Send + 'static;
}

/// The user's tower layers around the app, or a tower service of the user's own.
#[derive(Clone)]
pub(super) struct Layered<S>(pub(super) S);

impl<S: HttpService> GuardedStack for Layered<S> {
    type Body = S::ResponseBody;

    fn answer(
        self,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<http::Response<S::ResponseBody>, BoxError>> + Send + 'static
    {
        let mut req = req.map(box_body);
        req.extensions_mut().insert(RemoteAddr(remote));
        self.0.oneshot(req)
    }
}

/// The app with no tower layer around it.
pub(super) struct Bare<E>(pub(super) Arc<E>);

impl<E> Clone for Bare<E> {
    fn clone(&self) -> Self {
        Bare(Arc::clone(&self.0))
    }
}

impl<E: Endpoint> GuardedStack for Bare<E> {
    type Body = Full<Bytes>;

    fn answer(
        self,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<http::Response<Full<Bytes>>, BoxError>> + Send + 'static {
        let (parts, body) = req.into_parts();
        let context = HandedContext::arrived(&parts, remote);
        let req = http::Request::from_parts(parts, box_body(body));
        self.0
            .call_shared_with_context(req, context)
            .map(|response| Ok(response.into_http()))
    }
}
