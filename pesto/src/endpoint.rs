//! [`Endpoint`]: anything that answers raw requests (a dispatcher, a session-wrapped app, a mount),
//! plus mounting and the tower [`PestoService`] adapter.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use crate::Response;

/// The error type of request bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a [`RawRequest`]: any `http_body::Body` of `Bytes`, boxed.
pub type RawBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request as it arrives at an [`Endpoint`].
pub type RawRequest = http::Request<RawBody>;

/// The client's address, as a request extension (the server sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Marks a request that arrived over TLS (set it in front of pesto when a proxy or TLS layer
/// terminates https and the URI is in origin form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https;

/// The mount path consumed so far (WSGI's `SCRIPT_NAME`), as a request extension.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ScriptName(pub(crate) String);

/// The script name of a raw request and the rest of its path (its path info).
pub(crate) fn split_script_name(req_parts: &http::request::Parts) -> (String, String) {
    let path = req_parts.uri.path();
    let script = req_parts
        .extensions
        .get::<ScriptName>()
        .map(|s| s.0.as_str())
        .unwrap_or("");
    match path.strip_prefix(script) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let rest = if rest.is_empty() { "/" } else { rest };
            (script.to_owned(), rest.to_owned())
        }
        _ => (String::new(), path.to_owned()),
    }
}

/// Something that answers raw HTTP requests: what [`Server`](crate::Server),
/// [`TestApp`](crate::TestApp) and [`PestoService`] run.
///
/// A [`Dispatcher<()>`](crate::Dispatcher) is an endpoint; a dispatcher whose handlers use a
/// session type becomes one once wrapped by [`session_middleware`](crate::session_middleware).
pub trait Endpoint: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response>;

    /// Starts the endpoint's background work (the session purge) on the current tokio runtime.
    /// [`Server`](crate::Server) calls it once before accepting connections; an endpoint that
    /// is never started starts its work with its first request.
    fn start(&self) {}

    /// The session layer inside this endpoint, for [`TestApp`](crate::TestApp)'s session helpers.
    #[doc(hidden)]
    fn session_layer(&self) -> Option<&dyn crate::session::SessionLayer> {
        None
    }
}

/// Forwards every method to the pointee, so shared and boxed endpoints are endpoints too.
macro_rules! forward_endpoint {
    ($($pointer:ident),*) => {$(
        impl<E: Endpoint + ?Sized> Endpoint for $pointer<E> {
            fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
                (**self).call(req)
            }
            fn session_layer(&self) -> Option<&dyn crate::session::SessionLayer> {
                (**self).session_layer()
            }
            fn start(&self) {
                (**self).start()
            }
        }
    )*};
}

forward_endpoint!(Arc, Box);

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

impl<E: Endpoint> Endpoint for Mount<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let (script, rest) = split_script_name(&parts);
            if self.strip(&rest).is_none() {
                return Response::not_found();
            }
            parts
                .extensions
                .insert(ScriptName(format!("{script}{}", self.prefix)));
            self.inner
                .call(http::Request::from_parts(parts, body))
                .await
        })
    }

    fn session_layer(&self) -> Option<&dyn crate::session::SessionLayer> {
        self.inner.session_layer()
    }

    fn start(&self) {
        self.inner.start()
    }
}

/// Several endpoints side by side under different prefixes (Pesto's `combine` of mounted apps);
/// the longest matching prefix wins.
///
/// ```
/// use pesto::prelude::*;
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

impl Endpoint for Mounts {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (_, rest) = split_script_name(&parts);
            let req = http::Request::from_parts(parts, body);
            match self.mounts.iter().find(|m| m.strip(&rest).is_some()) {
                Some(m) => m.call(req).await,
                None => Response::not_found(),
            }
        })
    }

    fn session_layer(&self) -> Option<&dyn crate::session::SessionLayer> {
        self.mounts.iter().find_map(|m| m.session_layer())
    }

    fn start(&self) {
        self.mounts.iter().for_each(|m| m.start());
    }
}

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

/// Boxes any request body into a [`RawBody`].
pub fn box_body<B>(body: B) -> RawBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
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
        let inner = Arc::clone(&self.inner);
        let req = req.map(box_body);
        ServiceFuture(Box::pin(
            async move { Ok(inner.call(req).await.into_http()) },
        ))
    }
}

/// The output of a [`PestoService`] call.
type ServiceResult = Result<http::Response<Full<Bytes>>, Infallible>;

/// The future returned by [`PestoService`].
pub struct ServiceFuture(Pin<Box<dyn Future<Output = ServiceResult> + Send>>);

impl std::fmt::Debug for ServiceFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceFuture")
    }
}

impl Future for ServiceFuture {
    type Output = Result<http::Response<Full<Bytes>>, Infallible>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}
