//! The app's own answer to a request no route takes: [`Unmatched`] says why, and
//! `dispatcher_app!(App = [...], fallback = handler)` (or [`Dispatcher::fallback`]) names the
//! handler.
//!
//! The fallback runs where a handler would: inside the session middleware, under a mount, with the
//! request's context, so it can read and write the session and build URLs with `url()`.
//!
//! [`Dispatcher::fallback`]: super::Dispatcher::fallback

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::exchange::{Request, Response};

/// Why no route answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmatched {
    /// No route's pattern matches the path (404 by default).
    NotFound,
    /// Routes match the path, but none for this method (405 by default). The dispatcher adds the
    /// `Allow` header listing the methods that would be answered, unless the fallback set one.
    MethodNotAllowed,
    /// A route matched, but a parameter did not convert to its handler's type, such as `abc` for
    /// an `id: u32` (404 by default).
    BadParameter,
}

impl Unmatched {
    /// The status pesto answers with when there is no fallback: 404, or 405.
    pub fn status(self) -> http::StatusCode {
        match self {
            Unmatched::MethodNotAllowed => http::StatusCode::METHOD_NOT_ALLOWED,
            Unmatched::NotFound | Unmatched::BadParameter => http::StatusCode::NOT_FOUND,
        }
    }
}

/// A fallback handler as the dispatcher keeps it.
pub(super) type FallbackFn<S> =
    Arc<dyn for<'a> Fn(&'a mut Request<S>, Unmatched) -> BoxFuture<'a, Response> + Send + Sync>;
