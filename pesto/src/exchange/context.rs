//! [`RequestContext`]: what pesto works out about a request once, as it enters, so that no layer
//! works it out again — the mount path, the origin, the parsed query, and in querystring session
//! mode the live session id. It travels as a request extension, and while a handler runs it is
//! the task's current context, which `url()` and redirects resolve against.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use http::request::Parts;
use http::Uri;

use super::multidict::MultiDict;
use super::origin;
use super::session::LiveSessionId;

/// The per-request context (a request extension; see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestContext {
    /// The mount path consumed so far (WSGI's `SCRIPT_NAME`), without a trailing `/`.
    script_name: String,
    /// `scheme://host[:port]` of the request.
    origin: String,
    /// The query string's parameters, parsed on first use.
    query: OnceLock<MultiDict>,
    /// Querystring session mode: the id that generated URLs carry.
    live_session: Option<LiveSessionId>,
}

tokio::task_local! {
    static CURRENT: Arc<RequestContext>;
}

impl RequestContext {
    /// The context of the request `parts` belongs to, worked out and attached the first time a
    /// layer asks for it; with the request's URI, which most questions to the context need.
    pub(crate) fn of(parts: &mut Parts) -> (&Uri, &mut RequestContext) {
        if parts.extensions.get::<RequestContext>().is_none() {
            let fresh = RequestContext {
                origin: origin::origin(parts),
                ..RequestContext::default()
            };
            parts.extensions.insert(fresh);
        }
        (
            &parts.uri,
            parts.extensions.get_or_insert_default::<RequestContext>(),
        )
    }

    /// Detaches the context from `parts` (worked out first if no layer did), for the handler.
    pub(crate) fn take(parts: &mut Parts) -> RequestContext {
        RequestContext::of(parts);
        parts
            .extensions
            .remove::<RequestContext>()
            .unwrap_or_default()
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

    /// `scheme://host[:port]` of the request.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
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

    /// Runs `fut` with this context as the current one.
    pub(crate) async fn scope<F: Future>(self: Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }

    /// The context of the request being handled on this task, if any.
    pub(crate) fn current() -> Option<Arc<RequestContext>> {
        CURRENT.try_with(Arc::clone).ok()
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
