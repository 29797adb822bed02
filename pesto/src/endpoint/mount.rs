//! Mounting: an endpoint served under a path prefix (WSGI's `SCRIPT_NAME`), and several side by side.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use http::request::Parts;

use super::check::AppCheck;
use super::Endpoint;
use crate::exchange::context::RequestContext;
use crate::exchange::{HandedContext, RawRequest, Response};

/// The request's context taken off the request (worked out now if no layer did), for a mount
/// called without one handed over.
fn split_context(req: RawRequest) -> (RawRequest, Arc<RequestContext>) {
    let (mut parts, body) = req.into_parts();
    let context = RequestContext::take(&mut parts);
    (http::Request::from_parts(parts, body), context)
}

/// Normalises a mount prefix: leading `/`, no trailing `/`, `""` for the root.
fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// An endpoint served under a path prefix (Pesto's `SCRIPT_NAME`).
#[derive(Debug)]
pub struct Mount<E> {
    prefix: String,
    inner: E,
}

/// Serves `endpoint` under `prefix`: `/shop` answers `/shop` and `/shop/...`, and inside it
/// `script_name()` is `/shop`, `path_info()` the rest, and `url()` includes `/shop`.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/", GET)]
/// async fn home(req: &mut Request) -> String { format!("{} | {}", req.script_name(), home.url()) }
/// dispatcher_app!(App = [home]);
///
/// let app = TestApp::new(pesto::mount("/shop", App::new()));
/// assert_eq!(app.get("/shop/").send().body_text(), "/shop | /shop/");
/// assert_eq!(app.get("/elsewhere/").send().status(), 404);
/// ```
pub fn mount<E: Endpoint>(prefix: &str, endpoint: E) -> Mount<E> {
    Mount {
        prefix: normalize_prefix(prefix),
        inner: endpoint,
    }
}

impl<E> Mount<E> {
    /// Whether `path` (below the current script name) lies under this mount.
    fn strip<'p>(&self, rest: &'p str) -> Option<&'p str> {
        let tail = rest.strip_prefix(self.prefix.as_str())?;
        (tail.is_empty() || tail.starts_with('/')).then_some(tail)
    }
}

impl<E: Endpoint> Mount<E> {
    /// Moves the request's mount boundary below the prefix and hands it, with its context, to
    /// the mounted endpoint; a 404 outside the prefix.
    fn answer(&self, req: RawRequest, mut context: Arc<RequestContext>) -> BoxFuture<'_, Response> {
        let context_mut = Arc::make_mut(&mut context);
        if self.strip(context_mut.path_info(req.uri())).is_none() {
            return Box::pin(std::future::ready(Response::not_found()));
        }
        context_mut.mount(&self.prefix);
        self.inner.call_with_context(req, HandedContext(context))
    }
}

impl<E: Endpoint> Endpoint for Mount<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        let (req, context) = split_context(req);
        self.answer(req, context)
    }

    fn call_with_context(
        &self,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'_, Response> {
        self.answer(req, context.0)
    }

    fn start(&self) {
        self.inner.start()
    }

    fn check(&self, check: &mut AppCheck) {
        self.inner.check(check)
    }

    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        let (uri, context) = RequestContext::of(parts);
        if self.strip(context.path_info(uri)).is_none() {
            return false;
        }
        // Asked as `call` would ask, below the prefix; then the request is as it came.
        let script_name = context.script_name().to_owned();
        context.mount(&self.prefix);
        let accepts = self.inner.accepts_cross_origin(parts);
        RequestContext::of(parts).1.set_script_name(&script_name);
        accepts
    }
}

/// Several endpoints side by side under different prefixes (Pesto's `combine` of mounted apps);
/// the longest matching prefix wins.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/", GET)]
/// async fn blog_home(req: &mut Request) -> &'static str { "blog" }
/// #[route("/", GET)]
/// async fn shop_home(req: &mut Request) -> &'static str { "shop" }
/// dispatcher_app!(Blog = [blog_home]);
/// dispatcher_app!(Shop = [shop_home]);
///
/// let site = pesto::Mounts::new().mount("/blog", Blog::new()).mount("/shop", Shop::new());
/// let app = TestApp::new(site);
/// assert_eq!(app.get("/blog/").send().body_text(), "blog");
/// assert_eq!(app.get("/shop/").send().body_text(), "shop");
/// ```
#[derive(Default)]
pub struct Mounts {
    mounts: Vec<Mount<Box<dyn Endpoint>>>,
}

impl std::fmt::Debug for Mounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefixes: Vec<&str> = self.mounts.iter().map(|m| m.prefix.as_str()).collect();
        f.debug_struct("Mounts")
            .field("prefixes", &prefixes)
            .finish()
    }
}

impl Mounts {
    /// No mounts yet: every request is a 404.
    pub fn new() -> Self {
        Mounts::default()
    }

    /// Adds `endpoint` under `prefix` (`""` or `/` for the root, tried last).
    #[must_use]
    pub fn mount<E: Endpoint>(mut self, prefix: &str, endpoint: E) -> Self {
        self.mounts
            .push(mount(prefix, Box::new(endpoint) as Box<dyn Endpoint>));
        self.mounts
            .sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        self
    }
}

impl Mounts {
    /// Hands the request, with its context, to the mount with the longest prefix it lies under.
    fn answer(&self, req: RawRequest, context: Arc<RequestContext>) -> BoxFuture<'_, Response> {
        let rest = context.path_info(req.uri());
        match self.mounts.iter().find(|m| m.strip(rest).is_some()) {
            Some(m) => m.answer(req, context),
            None => Box::pin(std::future::ready(Response::not_found())),
        }
    }
}

impl Endpoint for Mounts {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        let (req, context) = split_context(req);
        self.answer(req, context)
    }

    fn call_with_context(
        &self,
        req: RawRequest,
        context: HandedContext,
    ) -> BoxFuture<'_, Response> {
        self.answer(req, context.0)
    }

    fn start(&self) {
        self.mounts.iter().for_each(|m| m.start());
    }

    fn check(&self, check: &mut AppCheck) {
        self.mounts.iter().for_each(|m| m.check(check));
    }

    fn accepts_cross_origin(&self, parts: &mut Parts) -> bool {
        let (uri, context) = RequestContext::of(parts);
        let rest = context.path_info(uri);
        match self.mounts.iter().position(|m| m.strip(rest).is_some()) {
            Some(found) => self.mounts[found].accepts_cross_origin(parts),
            None => false,
        }
    }
}
