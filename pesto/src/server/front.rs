//! What the server does for every request in front of the app's stack, so that no layer a user
//! adds can skip it: the exact header limit (431), the host check (400), the client's address
//! handed on (`stack.rs`), a logged 500 for a stack that fails, the access-log line with the
//! status the client is sent, and the header read timeout's stop and restart around the answer.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::{self, FutureExt};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

use super::access_log::redacted_path;
use super::allowed_hosts::host_allowed;
use super::head_size::head_size;
use super::head_timeout::{Answered, HeadWait};
use super::stack::GuardedStack;
use crate::exchange::Response;

/// A response body: the server's own answer (left) or the stack's (right), which restarts the
/// connection's wait for a head once written.
pub(super) type ServerBody<B> = Answered<Either<Full<Bytes>, B>>;

/// The server's checks and the stack they guard; one clone serves one connection.
#[derive(Clone)]
pub(super) struct Front<S> {
    pub(super) stack: S,
    pub(super) allowed_hosts: Arc<[String]>,
    pub(super) max_header_bytes: usize,
}

impl<S: GuardedStack> Front<S> {
    /// Answers one request from `remote`, on the connection whose wait for heads is `wait`. The
    /// checks run before the returned future, which owns what it needs: the stack need not be
    /// `Sync`.
    pub(super) fn answer(
        &self,
        req: http::Request<Incoming>,
        remote: SocketAddr,
        wait: &Arc<HeadWait>,
    ) -> impl Future<Output = Result<http::Response<ServerBody<S::Body>>, Infallible>> + Send + 'static
    {
        // The head is in: no header read timeout runs until the response is written.
        wait.answering();
        let wait = Arc::clone(wait);
        let head_ok = head_size(&req) <= self.max_header_bytes;
        let host_ok = host_allowed(&self.allowed_hosts, &req);
        // The access line's fields are copied only when the line will be written (boxed, as the
        // future is moved whole into hyper's slot for every request: it stays small).
        let logged = tracing::enabled!(target: "pesto::access", tracing::Level::INFO)
            .then(|| Box::new((Instant::now(), req.method().clone(), req.uri().clone())));
        // Combinators rather than an `async` block, which would hold the stack's call twice (as
        // its value and as the future it awaits): the future is moved whole into hyper's slot
        // for every request, so it is kept to one call, the log's box, the address and the
        // connection's wait.
        let answer = if head_ok && host_ok {
            future::Either::Left(self.stack.clone().answer(req, remote).map(
                |result| match result {
                    Ok(response) => response.map(Either::Right),
                    Err(error) => {
                        tracing::error!(%error, "the app's tower stack failed");
                        own(Response::internal_server_error())
                    }
                },
            ))
        } else {
            future::Either::Right(future::ready(refusal(head_ok)))
        };
        answer.map(
            move |response: http::Response<Either<Full<Bytes>, S::Body>>| {
                if let Some(logged) = logged {
                    let (started, method, uri) = *logged;
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
                Ok(response.map(|body| Answered::new(body, wait)))
            },
        )
    }
}

/// The server's answer to a request it does not pass on: its head is over the limit (the
/// connection is closed rather than read further), or its host is not allowed.
fn refusal<B>(head_ok: bool) -> http::Response<Either<Full<Bytes>, B>> {
    if head_ok {
        own(Response::text("400 Bad Request\nhost not allowed\n")
            .with_status(http::StatusCode::BAD_REQUEST))
    } else {
        own(Response::text("431 Request Header Fields Too Large\n")
            .with_status(http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            .with_header(http::header::CONNECTION, "close"))
    }
}

/// One of the server's own answers, in the body type the stack's answers share.
fn own<B>(response: Response) -> http::Response<Either<Full<Bytes>, B>> {
    response.into_http().map(Either::Left)
}
