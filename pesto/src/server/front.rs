//! What the server does for every request in front of the app's stack, so that no layer a user
//! adds can skip it: the exact header limit (431), the host check (400), the client's address as
//! a request extension, a logged 500 for a stack that fails, and the access-log line with the
//! status the client is sent.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;

use super::access_log::redacted_path;
use super::allowed_hosts::host_allowed;
use super::head_size::head_size;
use crate::endpoint::HttpService;
use crate::exchange::{box_body, RemoteAddr, Response};

/// A response body: the server's own answer (left) or the stack's (right).
pub(super) type ServerBody<B> = Either<Full<Bytes>, B>;

/// The server's checks and the stack they guard; one clone serves one connection.
#[derive(Clone)]
pub(super) struct Front<S> {
    pub(super) stack: S,
    pub(super) allowed_hosts: Arc<[String]>,
    pub(super) max_header_bytes: usize,
}

impl<S: HttpService> Front<S> {
    /// Answers one request from `remote`. The checks run before the returned future, which owns
    /// what it needs: the stack need not be `Sync`.
    pub(super) fn answer(
        &self,
        req: http::Request<Incoming>,
        remote: SocketAddr,
    ) -> impl Future<Output = Result<http::Response<ServerBody<S::ResponseBody>>, Infallible>>
           + Send
           + 'static {
        let head_ok = head_size(&req) <= self.max_header_bytes;
        let host_ok = host_allowed(&self.allowed_hosts, &req);
        // The access line's fields are copied only when the line will be written.
        let logged = tracing::enabled!(target: "pesto::access", tracing::Level::INFO)
            .then(|| (Instant::now(), req.method().clone(), req.uri().clone()));
        let mut req = req.map(box_body);
        req.extensions_mut().insert(RemoteAddr(remote));
        let stack = (head_ok && host_ok).then(|| self.stack.clone());
        async move {
            let response = match stack {
                Some(stack) => match stack.oneshot(req).await {
                    Ok(response) => response.map(Either::Right),
                    Err(error) => {
                        tracing::error!(%error, "the app's tower stack failed");
                        own(Response::internal_server_error())
                    }
                },
                // The client is past the limit: close rather than read what follows.
                None if !head_ok => own(Response::text("431 Request Header Fields Too Large\n")
                    .with_status(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                    .with_header(http::header::CONNECTION, "close")),
                None => own(Response::text("400 Bad Request\nhost not allowed\n")
                    .with_status(http::StatusCode::BAD_REQUEST)),
            };
            if let Some((started, method, uri)) = logged {
                let path = redacted_path(uri.path());
                tracing::info!(
                    target: "pesto::access",
                    %remote,
                    %method,
                    %path,
                    status = response.status().as_u16(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                );
            }
            Ok(response)
        }
    }
}

/// One of the server's own answers, in the body type the stack's answers share.
fn own<B>(response: Response) -> http::Response<ServerBody<B>> {
    response.into_http().map(Either::Left)
}
