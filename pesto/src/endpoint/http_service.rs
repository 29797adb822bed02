//! [`HttpService`]: the tower services pesto runs — the server's stack, a [`ServiceEndpoint`],
//! `TestApp`'s layers — named once, so their bounds read as one word.
//!
//! [`ServiceEndpoint`]: super::ServiceEndpoint

use std::future::Future;

use bytes::Bytes;
use futures_util::TryFutureExt;
use tower::{Service, ServiceExt};

use crate::exchange::{BoxError, RawRequest};

/// A `tower::Service` of raw requests that pesto can run: it takes a [`RawRequest`], answers an
/// `http::Response` with any body of `Bytes`, may fail with any error (pesto answers a failure
/// with a logged 500), and is `Clone + Send + 'static`, as axum's `serve` asks.
///
/// Implemented for every service of that shape: a [`PestoService`](crate::PestoService), a
/// tower-http stack around one, or a service of your own; it cannot be implemented by hand.
pub trait HttpService: Clone + Send + 'static + sealed::Sealed {
    /// The response body.
    type ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;

    /// Waits until the service is ready, then answers `req` (tower's `ServiceExt::oneshot`).
    fn oneshot(
        self,
        req: RawRequest,
    ) -> impl Future<Output = Result<http::Response<Self::ResponseBody>, BoxError>> + Send;
}

impl<S, B> HttpService for S
where
    S: Service<RawRequest, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type ResponseBody = B;

    fn oneshot(
        self,
        req: RawRequest,
    ) -> impl Future<Output = Result<http::Response<B>, BoxError>> + Send {
        // tower's named future, not an `async` block: the compiler cannot prove an async block
        // holding `S::Future` `Send` for the boxed error's every lifetime.
        ServiceExt::oneshot(self, req).map_err(Into::into)
    }
}

/// Keeps [`HttpService`] implemented only by the blanket impl, so it can grow methods.
mod sealed {
    use bytes::Bytes;
    use tower::Service;

    use crate::exchange::{BoxError, RawRequest};

    /// Every service [`HttpService`](super::HttpService) is implemented for.
    pub trait Sealed {}

    impl<S, B> Sealed for S
    where
        S: Service<RawRequest, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
    }
}
