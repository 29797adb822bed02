//! [`PestoService`]: an [`Endpoint`] as a `tower::Service`, to compose with tower layers or nest
//! into another hyper server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;

use super::Endpoint;
use futures_util::future::BoxFuture;

use crate::exchange::{box_body, BoxError, Response};

/// An [`Endpoint`] as a `tower::Service` (and so a hyper service through hyper-util's
/// `TowerToHyperService`): it composes with tower-http layers and nests into other servers.
pub struct PestoService<E: ?Sized> {
    inner: Arc<E>,
}

impl<E: ?Sized> Clone for PestoService<E> {
    fn clone(&self) -> Self {
        PestoService {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E: ?Sized> std::fmt::Debug for PestoService<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PestoService").finish_non_exhaustive()
    }
}

impl<E: Endpoint> PestoService<E> {
    /// Wraps `endpoint`.
    pub fn new(endpoint: E) -> Self {
        PestoService {
            inner: Arc::new(endpoint),
        }
    }
}

impl<E: Endpoint + ?Sized> PestoService<E> {
    /// Wraps an endpoint that is already shared.
    pub fn from_arc(endpoint: Arc<E>) -> Self {
        PestoService { inner: endpoint }
    }

    /// The wrapped endpoint.
    pub fn endpoint(&self) -> &Arc<E> {
        &self.inner
    }
}

impl<E, B> tower_service::Service<http::Request<B>> for PestoService<E>
where
    E: Endpoint + ?Sized,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        ServiceFuture(Arc::clone(&self.inner).call_shared(req.map(box_body)))
    }
}

/// The future returned by [`PestoService`].
pub struct ServiceFuture(BoxFuture<'static, Response>);

impl std::fmt::Debug for ServiceFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceFuture")
    }
}

impl Future for ServiceFuture {
    type Output = Result<http::Response<Full<Bytes>>, Infallible>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0
            .as_mut()
            .poll(cx)
            .map(|response| Ok(response.into_http()))
    }
}
