//! [`RequestContext`]: what pesto works out about a request once, as it enters, so that no layer
//! works it out again — the mount path, the origin, the parsed query, the session lent by the
//! session middleware and in querystring session mode the live session id. It travels from one
//! pesto layer to the next beside the request ([`HandedContext`]), as a request extension where
//! a layer only takes requests, and while a handler runs it is the task's current context, which
//! `url()` and redirects resolve against.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use http::request::Parts;
use http::Uri;

use super::multidict::MultiDict;
use super::origin;
use super::raw::RemoteAddr;
use super::session::{LiveSessionId, SessionSlot};

/// The per-request context (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestContext {
    /// The mount path consumed so far (WSGI's `SCRIPT_NAME`), without a trailing `/`.
    script_name: String,
    /// Whether the request came over https.
    https: bool,
    /// The client's address, when the server handed the context over with the request.
    remote: Option<SocketAddr>,
    /// Where the host the client asked for is written (shares the request's bytes).
    host: HostSource,
    /// `scheme://host[:port]` of the request, worked out on first use: many requests need none.
    origin: OnceLock<String>,
    /// The query string's parameters, parsed on first use.
    query: OnceLock<MultiDict>,
    /// Querystring session mode: the id that generated URLs carry.
    live_session: Option<LiveSessionId>,
    /// The session the session middleware lends, until the dispatcher takes it. Kept here
    /// rather than as an extension of its own: the request's extensions then hold one value.
    session_slot: Option<SessionSlot>,
    /// Debug builds: the routes (name, pattern) of the dispatcher handling the request, so that
    /// `url()` of a route it does not serve can warn.
    #[cfg(debug_assertions)]
    served_routes: Option<Arc<[(&'static str, &'static str)]>>,
}

/// Where a request names its host: the URI's authority (absolute-form requests) or the `Host`
/// header; both share the request's bytes, so keeping them costs no copy.
#[derive(Debug, Clone, Default)]
enum HostSource {
    Authority(http::uri::Authority),
    Header(http::HeaderValue),
    #[default]
    Missing,
}

tokio::task_local! {
    static CURRENT: Arc<RequestContext>;
}

/// A request's pesto context, handed by an outer pesto layer straight to the endpoint it wraps
/// ([`Endpoint::call_with_context`](crate::Endpoint::call_with_context)).
///
/// Handed over beside the request rather than as one of its extensions: a request's extensions
/// are a map that costs three allocations and a hash lookup each way. Opaque: a layer of your
/// own can only pass it on.
#[derive(Debug)]
pub struct HandedContext(pub(crate) Arc<RequestContext>);

impl HandedContext {
    /// The context of a request that has just arrived from `remote` (the server).
    pub(crate) fn arrived(parts: &Parts, remote: SocketAddr) -> HandedContext {
        let mut context = RequestContext::fresh(parts);
        context.remote = Some(remote);
        HandedContext(Arc::new(context))
    }

    /// Attaches the context to a request as its extension, for an endpoint that reads it from
    /// there (`call_with_context`'s default), with the client's address as the
    /// [`RemoteAddr`] extension the server would have set.
    pub(crate) fn attach(self, extensions: &mut http::Extensions) {
        if let Some(remote) = self.0.remote {
            extensions.insert(RemoteAddr(remote));
        }
        extensions.insert(self.0);
    }
}

impl RequestContext {
    /// The context of the request `parts` belongs to, worked out and attached the first time a
    /// layer asks for it; with the request's URI, which most questions to the context need.
    ///
    /// The extension is the `Arc` the handler's task will share, made once: until the dispatcher
    /// takes it, nothing else holds it, so changing it here copies nothing.
    pub(crate) fn of(parts: &mut Parts) -> (&Uri, &mut RequestContext) {
        if parts.extensions.get::<Arc<RequestContext>>().is_none() {
            let fresh = Arc::new(RequestContext::fresh(parts));
            parts.extensions.insert(fresh);
        }
        let shared = parts
            .extensions
            .get_or_insert_with(Arc::<RequestContext>::default);
        (&parts.uri, Arc::make_mut(shared))
    }

    /// Detaches the context from `parts` (worked out now if no layer did), for the handler.
    pub(crate) fn take(parts: &mut Parts) -> Arc<RequestContext> {
        parts
            .extensions
            .remove::<Arc<RequestContext>>()
            .unwrap_or_else(|| Arc::new(RequestContext::fresh(parts)))
    }

    /// The context of a request no layer worked out yet.
    fn fresh(parts: &Parts) -> RequestContext {
        let host = match (parts.uri.authority(), parts.headers.get(http::header::HOST)) {
            (Some(authority), _) => HostSource::Authority(authority.clone()),
            (None, Some(header)) => HostSource::Header(header.clone()),
            (None, None) => HostSource::Missing,
        };
        RequestContext {
            https: origin::scheme(parts) == "https",
            host,
            ..RequestContext::default()
        }
    }

    /// The mount path (script name); empty at the root.
    pub(crate) fn script_name(&self) -> &str {
        &self.script_name
    }

    /// Sets the mount path outright (`TestApp`'s `script_name`).
    pub(crate) fn set_script_name(&mut self, script_name: &str) {
        self.script_name = script_name.trim_end_matches('/').to_owned();
    }

    /// Moves the mount boundary down by `prefix` (normalised: leading `/`, no trailing `/`).
    pub(crate) fn mount(&mut self, prefix: &str) {
        self.script_name.push_str(prefix);
    }

    /// The path below the mount path (WSGI's `PATH_INFO`); the whole path when `uri` does not
    /// lie under the mount path.
    pub(crate) fn path_info<'u>(&self, uri: &'u Uri) -> &'u str {
        let path = uri.path();
        match path.strip_prefix(self.script_name.as_str()) {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        }
    }

    /// `scheme://host[:port]` of the request (`localhost` for a missing or odd host, as
    /// [`origin::host`] reads it).
    pub(crate) fn origin(&self) -> &str {
        self.origin.get_or_init(|| {
            let (scheme, host) = self.origin_parts();
            let mut origin = String::with_capacity(scheme.len() + host.len());
            origin.push_str(scheme);
            origin.push_str(host);
            origin
        })
    }

    /// `location`, a path, after this request's origin, in one string of the exact size: a
    /// redirect's `Location` made absolute without keeping the origin apart (most requests
    /// need it once, if at all).
    pub(crate) fn absolute(&self, location: &str) -> String {
        let (scheme, host) = match self.origin.get() {
            Some(origin) => ("", origin.as_str()),
            None => self.origin_parts(),
        };
        let mut absolute = String::with_capacity(scheme.len() + host.len() + location.len());
        absolute.push_str(scheme);
        absolute.push_str(host);
        absolute.push_str(location);
        absolute
    }

    /// The origin in two pieces, `scheme://` and `host[:port]`, as [`Self::origin`] reads them.
    fn origin_parts(&self) -> (&'static str, &str) {
        let host = match &self.host {
            HostSource::Authority(authority) => Some(authority.as_str()),
            HostSource::Header(header) => header.to_str().ok(),
            HostSource::Missing => None,
        };
        let host = host
            .filter(|h| origin::is_plain_host(h))
            .unwrap_or("localhost");
        let scheme = if self.https { "https://" } else { "http://" };
        (scheme, host)
    }

    /// Whether the request came over https.
    pub(crate) fn is_https(&self) -> bool {
        self.https
    }

    /// The client's address, if the server handed it with the context.
    pub(crate) fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The query string's parameters, parsed once.
    pub(crate) fn query(&self, uri: &Uri) -> &MultiDict {
        self.query
            .get_or_init(|| uri.query().map(MultiDict::parse_query).unwrap_or_default())
    }

    /// The parsed query, moved out, if a layer already parsed it.
    pub(crate) fn take_query(&mut self) -> Option<MultiDict> {
        self.query.take()
    }

    /// The live session id generated URLs carry (querystring session mode).
    pub(crate) fn live_session(&self) -> Option<&LiveSessionId> {
        self.live_session.as_ref()
    }

    /// Sets the live session id (the session middleware, in querystring mode).
    pub(crate) fn set_live_session(&mut self, live: LiveSessionId) {
        self.live_session = Some(live);
    }

    /// Lends the request's session to the app (the session middleware); a session middleware
    /// nearer the handler lends its own in place of this one.
    pub(crate) fn lend_session(&mut self, slot: SessionSlot) {
        self.session_slot = Some(slot);
    }

    /// Takes the session lent to the request, if a session middleware lent one (the dispatcher).
    pub(crate) fn take_session(&mut self) -> Option<SessionSlot> {
        self.session_slot.take()
    }

    /// Debug builds: records the routes (name, pattern) the handling dispatcher serves.
    #[cfg(debug_assertions)]
    pub(crate) fn set_served_routes(&mut self, routes: Arc<[(&'static str, &'static str)]>) {
        self.served_routes = Some(routes);
    }

    /// Debug builds: whether the handling dispatcher serves the route `(name, pattern)`; `None`
    /// outside a dispatcher.
    #[cfg(debug_assertions)]
    pub(crate) fn serves_route(&self, route: (&str, &str)) -> Option<bool> {
        let routes = self.served_routes.as_ref()?;
        Some(
            routes
                .iter()
                .any(|&(name, pattern)| (name, pattern) == route),
        )
    }

    /// Runs `fut` with this context as the current one.
    ///
    /// Tokio's scoped future itself, not an `async fn` around it: that would be one more layer
    /// of future, into which the handler's future and then its response are moved.
    pub(crate) fn scope<F: Future>(
        self: Arc<Self>,
        fut: F,
    ) -> tokio::task::futures::TaskLocalFuture<Arc<Self>, F> {
        CURRENT.scope(self, fut)
    }

    /// The context of the request being handled on this task, if any.
    pub(crate) fn current() -> Option<Arc<RequestContext>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// `f` of the context of the request being handled on this task, if any, without taking a
    /// share of it.
    pub(crate) fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
        CURRENT.try_with(|context| f(context)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Parts {
        let (parts, ()) = http::Request::get(uri)
            .header("host", "example.org")
            .body(())
            .expect("request")
            .into_parts();
        parts
    }

    #[test]
    fn the_context_is_worked_out_once_and_mounts_move_the_boundary() {
        let mut parts = parts("/shop/cart?x=1");
        let (_, ctx) = RequestContext::of(&mut parts);
        assert_eq!(ctx.origin(), "http://example.org");
        ctx.mount("/shop");
        let (uri, ctx) = RequestContext::of(&mut parts);
        assert_eq!(ctx.script_name(), "/shop");
        assert_eq!(ctx.path_info(uri), "/cart");
        assert_eq!(ctx.query(uri).get("x"), Some("1"));
    }

    #[test]
    fn path_info_is_the_whole_path_outside_the_mount() {
        let mut ctx = RequestContext::default();
        ctx.mount("/shop");
        assert_eq!(ctx.path_info(&"/shop".parse().expect("uri")), "/");
        assert_eq!(
            ctx.path_info(&"/shopping/x".parse().expect("uri")),
            "/shopping/x"
        );
    }
}
