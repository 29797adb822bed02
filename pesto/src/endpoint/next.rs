//! [`Next`]: the rest of the app, as a [`from_fn`](super::from_fn) middleware sees it.

use std::sync::Arc;

use super::Endpoint;
use crate::exchange::{RawRequest, Response};

/// The endpoint a [`from_fn`](super::from_fn) middleware wraps: run it with the request, or
/// answer without it.
///
/// It owns a handle on the endpoint (not a borrow), so the middleware's future is `'static`
/// and a closure can return a plain `async move` block.
#[derive(Clone)]
pub struct Next {
    endpoint: Arc<dyn Endpoint>,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

impl Next {
    /// The rest of the app, `endpoint`.
    pub(super) fn new(endpoint: Arc<dyn Endpoint>) -> Next {
        Next { endpoint }
    }

    /// Passes `req` on to the wrapped endpoint and returns its answer.
    pub async fn run(self, req: RawRequest) -> Response {
        self.endpoint.call(req).await
    }
}
