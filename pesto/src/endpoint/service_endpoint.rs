//! [`ServiceEndpoint`]: a tower service as an [`Endpoint`] — the reverse of
//! [`PestoService`](super::PestoService) — so a tower-http stack can run under `TestApp`, be
//! mounted, or sit inside the session middleware.

use futures_util::future::BoxFuture;
use http_body_util::BodyExt;

use super::http_service::HttpService;
use super::Endpoint;
use crate::exchange::{RawRequest, Response};

/// A tower [`HttpService`] as an [`Endpoint`]: each call clones the service, runs it, and reads
/// the whole response body into the [`Response`]. A failing service, or a body that fails while
/// it is read, gives a logged `500` that says nothing about it.
///
/// Bodies are held in memory, as every pesto [`Response`]; to stream a large body (tower-http's
/// `ServeDir`), serve the service itself with `Server::serve_service`.
///
/// A pesto app inside the service is out of sight: [`Endpoint::start`] and [`Endpoint::check`]
/// do not reach it, so check it before wrapping it (as [`TestApp::new`](crate::TestApp::new)
/// does before [`TestApp::layer`](crate::TestApp::layer)); its background purge starts with its
/// first request.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{PestoService, ServiceEndpoint, TestApp};
/// use tower::Layer;
/// use tower_http::set_header::SetResponseHeaderLayer;
///
/// #[route("/", GET)]
/// async fn home(req: &mut Request) -> &'static str { "hi" }
/// dispatcher_app!(App = [home]);
///
/// let stack = SetResponseHeaderLayer::overriding(
///     http::header::CACHE_CONTROL,
///     http::HeaderValue::from_static("no-store"),
/// )
/// .layer(PestoService::new(App::new()));
/// let client = TestApp::new(pesto::mount("/app", ServiceEndpoint::new(stack)));
/// let response = client.get("/app/").send();
/// assert_eq!(response.body_text(), "hi");
/// assert_eq!(response.header("cache-control"), Some("no-store"));
/// ```
#[derive(Clone)]
pub struct ServiceEndpoint<S> {
    service: S,
}

impl<S> std::fmt::Debug for ServiceEndpoint<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceEndpoint")
            .field("service", &std::any::type_name::<S>())
            .finish()
    }
}

impl<S: HttpService + Sync> ServiceEndpoint<S> {
    /// Wraps `service`.
    pub fn new(service: S) -> Self {
        ServiceEndpoint { service }
    }

    /// The wrapped service.
    pub fn service(&self) -> &S {
        &self.service
    }
}

impl<S: HttpService + Sync> Endpoint for ServiceEndpoint<S> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        let service = self.service.clone();
        Box::pin(async move {
            let response = match service.oneshot(req).await {
                Ok(response) => response,
                Err(error) => {
                    tracing::error!(%error, "a tower service failed");
                    return Response::internal_server_error();
                }
            };
            let (parts, body) = response.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) => {
                    let error = error.into();
                    tracing::error!(%error, "a tower service's response body failed");
                    return Response::internal_server_error();
                }
            };
            let mut out = Response::new(parts.status).with_body_bytes(body);
            *out.headers_mut() = parts.headers;
            out
        })
    }
}
