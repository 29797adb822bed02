//! [`Transport`]: how the session id travels between requests — in a cookie or in the query
//! string. Every decision that differs between the two modes lives here: reading the ids a
//! request presents, announcing or expiring an id, rewriting `Location`, decorating the response.

use std::sync::Arc;

use http::header;
use http::request::Parts;
use http::HeaderValue;
use smallvec::SmallVec;

use super::cookie_settings::CookieSettings;
use super::reply::Reply;
use crate::exchange::context::RequestContext;
use crate::exchange::cookies;
use crate::exchange::encoding::encode_pairs;
use crate::exchange::session::LiveSessionId;
use crate::exchange::{Response, SessionId};

/// Where the session id travels between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// In a cookie (the default).
    Cookie,
    /// In the `pesto_session` query parameter of every URL. Ids in URLs leak through Referer
    /// headers, logs and history: this mode cannot meet OWASP ASVS L1 (docs/security.md, "Querystring mode").
    QueryString,
}

/// How many same-named session cookies are tried at most (a browser may send several cookies of
/// one name, for example one planted for a parent domain).
const MAX_COOKIE_CANDIDATES: usize = 3;

/// The ids a request presents: almost always none or one, kept inline (no allocation).
pub(super) type IncomingIds = SmallVec<[SessionId; 1]>;

/// Where the session id travels.
#[derive(Debug, Clone)]
pub(super) enum Transport {
    /// In a cookie with these attributes.
    Cookie(CookieSettings),
    /// In query parameter `param` of every URL inside the app.
    QueryString {
        /// The parameter's name (the configured cookie name).
        param: Arc<str>,
    },
}

impl Transport {
    /// The name the id travels under: the cookie's, or the query parameter's.
    pub(super) fn id_name(&self) -> &str {
        match self {
            Transport::Cookie(settings) => &settings.name,
            Transport::QueryString { param } => param,
        }
    }

    /// Which of the two it is, as the public setting names it.
    pub(super) fn persist(&self) -> Persist {
        match self {
            Transport::Cookie(_) => Persist::Cookie,
            Transport::QueryString { .. } => Persist::QueryString,
        }
    }

    /// The well-formed ids the request presents, first first; malformed ones are dropped here,
    /// so they never reach a store.
    pub(super) fn incoming_ids(&self, parts: &mut Parts) -> IncomingIds {
        match self {
            Transport::Cookie(settings) => {
                let mut ids = IncomingIds::new();
                let values = cookies::raw_values(&parts.headers, &settings.name);
                for id in values.filter_map(SessionId::parse) {
                    ids.push(id);
                    if ids.len() == MAX_COOKIE_CANDIDATES {
                        break;
                    }
                }
                ids
            }
            Transport::QueryString { param } => {
                let (uri, context) = RequestContext::of(parts);
                // The whole value must be exactly one valid id (docs/security.md, "Querystring mode").
                let mut values = context.query(uri).get_all(param);
                match (values.next(), values.next()) {
                    (Some(value), None) => SessionId::parse(value).into_iter().collect(),
                    _ => IncomingIds::new(),
                }
            }
        }
    }

    /// Querystring mode: whether a request that brought no valid id is first sent to the same
    /// URL carrying a new one (Pesto does it for GET; lazy sessions never do).
    pub(super) fn redirects_new_visitors(&self, parts: &Parts, lazy: bool) -> bool {
        matches!(self, Transport::QueryString { .. })
            && !lazy
            && matches!(parts.method, http::Method::GET | http::Method::HEAD)
    }

    /// The redirect to the request's own URL carrying `id` instead of any session parameter it
    /// had. It is built absolute from the request's own origin, never resolved as a reference: a
    /// path such as `//evil.example/x` must not turn into another host that receives the id.
    pub(super) fn redirect_carrying(&self, id: &SessionId, parts: &mut Parts) -> Response {
        let (uri, context) = RequestContext::of(parts);
        let mut query = context.query(uri).clone();
        if let Transport::QueryString { param } = self {
            query.remove(param);
            query.append(param.to_string(), id.to_string());
        }
        let mut location = format!("{}{}?", context.origin(), uri.path());
        encode_pairs(query.iter(), &mut location);
        Response::redirect(location)
    }

    /// Querystring mode: the live id that URLs generated during the request carry.
    pub(super) fn live_id(&self, id: Option<&SessionId>) -> Option<LiveSessionId> {
        match self {
            Transport::Cookie(_) => None,
            Transport::QueryString { param } => Some(LiveSessionId::new(Arc::clone(param), id)),
        }
    }

    /// Whether URLs carry the id (querystring mode): a new session's id is then needed from
    /// the start of the request, not only once the session is stored.
    pub(super) fn carries_id_in_urls(&self) -> bool {
        matches!(self, Transport::QueryString { .. })
    }

    /// Whether the cookie has a `Max-Age` that touching the session must refresh.
    pub(super) fn has_max_age(&self) -> bool {
        matches!(self, Transport::Cookie(settings) if settings.max_age.is_some())
    }

    /// Tells the client its session id: a `Set-Cookie`, or (querystring mode) the id that
    /// `Location` and generated URLs carry.
    pub(super) fn announce(
        &self,
        mut response: Response,
        id: &SessionId,
        reply: &Reply,
    ) -> Response {
        self.announce_in(&mut response, id, reply);
        response
    }

    /// As [`announce`](Self::announce), in place: taking a response out of where it lies would
    /// leave a new (allocated) one behind. Only the rare cookie that the `cookie` crate has to
    /// write (a name that needs encoding, an attribute that is no plain header value) goes
    /// through the by-value builder.
    pub(super) fn announce_in(&self, response: &mut Response, id: &SessionId, reply: &Reply) {
        match self {
            Transport::Cookie(settings) => match settings.set_cookie_value(id, reply) {
                Some(value) => {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                // A cookie the one-value writer does not make: through the `cookie` crate.
                None => {
                    let cookie = settings.build(id.to_string(), reply);
                    *response = std::mem::take(response).with_cookie(cookie);
                }
            },
            Transport::QueryString { .. } => reply.restore_live_id(Some(id)),
        }
    }

    /// Tells the client its session ended: an expired cookie, or (querystring mode) no id in
    /// `Location` and generated URLs.
    pub(super) fn expire(&self, response: Response, reply: &Reply) -> Response {
        match self {
            Transport::Cookie(settings) => {
                response.remove_cookie(settings.build(String::new(), reply))
            }
            Transport::QueryString { .. } => {
                reply.restore_live_id(None);
                response
            }
        }
    }

    /// Querystring mode: a redirect inside the app carries the session's live id (or none once
    /// the session ended). `Location` is already absolute here.
    pub(super) fn rewrite_location(&self, response: &mut Response, reply: &Reply) {
        let (Transport::QueryString { param }, Some(live)) = (self, &reply.live) else {
            return;
        };
        let Some(location) = response.header("location") else {
            return;
        };
        let Ok(mut url) = url::Url::parse(location) else {
            return;
        };
        let same_origin = reply
            .origin
            .as_ref()
            .is_some_and(|origin| url.origin().ascii_serialization() == *origin);
        let inside_app = url
            .path()
            .strip_prefix(reply.script_name.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !same_origin || !inside_app {
            return;
        }
        let location = set_query_param(&mut url, param, live.current().as_deref());
        // A URL the parser wrote is a valid header value.
        if let Ok(location) = HeaderValue::try_from(location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }

    /// Headers every response through the middleware carries.
    pub(super) fn decorate(&self, response: &mut Response) {
        // Into the header map in place: every response passes here, and the builder methods
        // would move the whole response in and out for each header.
        let headers = response.headers_mut();
        match self {
            // Shared caches must not serve one user's session-dependent page to another
            // (Flask CVE-2023-30861).
            // (Static values: a `&str` would be checked and copied on every response.)
            Transport::Cookie(_) => {
                headers.append(header::VARY, const { HeaderValue::from_static("Cookie") });
            }
            // An id in the URL must not leak through Referer headers or caches
            // (docs/security.md, "Querystring mode").
            Transport::QueryString { .. } => {
                headers.insert(
                    header::REFERRER_POLICY,
                    const { HeaderValue::from_static("no-referrer") },
                );
                headers.insert(
                    header::CACHE_CONTROL,
                    const { HeaderValue::from_static("private, no-store") },
                );
            }
        }
    }
}

/// Replaces (or, with `None`, removes) query parameter `name` of `url`.
fn set_query_param(url: &mut url::Url, name: &str, value: Option<&str>) -> String {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut pairs = url.query_pairs_mut();
        pairs.clear();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
        if let Some(v) = value {
            pairs.append_pair(name, v);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cookie::SameSite;

    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn cookie_mode() -> Transport {
        Transport::Cookie(CookieSettings {
            name: Arc::from("pesto_session"),
            path: None,
            domain: None,
            secure: None,
            same_site: SameSite::Lax,
            max_age: None,
        })
    }

    #[test]
    fn the_session_cookie_is_written_as_the_cookie_crate_writes_it() {
        let id = SessionId::parse(ID).expect("an id");
        let mut parts = parts("/", None);
        let root = Reply::new(RequestContext::of(&mut parts).1, None);
        let mut parts = parts_mounted("/shop");
        let mounted = Reply::new(RequestContext::of(&mut parts).1, None);
        let settings =
            |same_site, secure, path: Option<&str>, domain: Option<&str>, max_age: Option<u64>| {
                CookieSettings {
                    name: Arc::from("pesto_session"),
                    path: path.map(str::to_owned),
                    domain: domain.map(str::to_owned),
                    secure,
                    same_site,
                    max_age: max_age.map(Duration::from_secs),
                }
            };
        let cases = [
            settings(SameSite::Lax, None, None, None, None),
            settings(SameSite::Strict, Some(true), Some("/app"), None, None),
            settings(
                SameSite::None,
                Some(true),
                None,
                Some("example.org"),
                Some(3600),
            ),
            settings(SameSite::None, Some(false), None, None, Some(0)),
            settings(SameSite::Lax, None, Some(""), None, Some(u64::MAX)),
            settings(SameSite::Lax, None, Some("/"), Some(".example.org"), None),
            settings(SameSite::Lax, None, None, Some("..example.org"), None),
        ];
        for settings in &cases {
            for reply in [&root, &mounted] {
                let fast = settings.set_cookie_value(&id, reply).expect("a plain name");
                let crate_written = settings.build(ID.to_owned(), reply).encoded().to_string();
                assert_eq!(fast.to_str().ok(), Some(crate_written.as_str()));
            }
        }
        let odd = CookieSettings {
            name: Arc::from("sess;ion"),
            ..cases[0].clone()
        };
        assert!(
            odd.set_cookie_value(&id, &root).is_none(),
            "left to the crate"
        );
    }

    fn parts_mounted(prefix: &str) -> Parts {
        let mut parts = parts(&format!("{prefix}/x"), None);
        RequestContext::of(&mut parts).1.mount(prefix);
        parts
    }

    fn query_mode() -> Transport {
        Transport::QueryString {
            param: Arc::from("pesto_session"),
        }
    }

    fn parts(uri: &str, cookie: Option<&str>) -> Parts {
        let mut req = http::Request::get(uri).header("host", "example.org");
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.body(()).expect("request").into_parts().0
    }

    #[test]
    fn cookie_mode_reads_well_formed_ids_from_cookies_only() {
        let mut p = parts(
            &format!("/?pesto_session={ID}"),
            Some(&format!("pesto_session=junk; pesto_session={ID}")),
        );
        let ids = cookie_mode().incoming_ids(&mut p);
        assert_eq!(ids.iter().map(|i| i.as_str()).collect::<Vec<_>>(), [ID]);
        assert!(cookie_mode()
            .incoming_ids(&mut parts(&format!("/?pesto_session={ID}"), None))
            .is_empty());
    }

    #[test]
    fn querystring_mode_takes_exactly_one_valid_parameter() {
        let mut one = parts(&format!("/?a=1&pesto_session={ID}"), None);
        assert_eq!(query_mode().incoming_ids(&mut one).len(), 1);
        let mut two = parts(&format!("/?pesto_session={ID}&pesto_session={ID}"), None);
        assert!(
            query_mode().incoming_ids(&mut two).is_empty(),
            "a repeated parameter is refused"
        );
        let mut cookie_only = parts("/", Some(&format!("pesto_session={ID}")));
        assert!(query_mode().incoming_ids(&mut cookie_only).is_empty());
    }

    #[test]
    fn only_querystring_mode_redirects_new_visitors_and_only_for_get_when_eager() {
        let get = parts("/", None);
        assert!(query_mode().redirects_new_visitors(&get, false));
        assert!(!query_mode().redirects_new_visitors(&get, true));
        assert!(!cookie_mode().redirects_new_visitors(&get, false));
        let post = http::Request::post("/")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert!(!query_mode().redirects_new_visitors(&post, false));
    }

    #[test]
    fn the_redirect_replaces_any_session_parameter_and_keeps_the_others() {
        let id = SessionId::parse(ID).expect("an id");
        let mut p = parts("/cart?x=1&pesto_session=old&y=2", None);
        let r = query_mode().redirect_carrying(&id, &mut p);
        assert_eq!(
            r.header("location"),
            Some(format!("http://example.org/cart?x=1&y=2&pesto_session={ID}").as_str())
        );
    }

    #[test]
    fn the_redirect_never_leaves_the_requests_own_host() {
        // `//evil.example/x` is a valid path, and a scheme-relative reference if resolved.
        let id = SessionId::parse(ID).expect("an id");
        let mut p = parts("//evil.example/x", None);
        let r = query_mode().redirect_carrying(&id, &mut p);
        let location = r.header("location").expect("a location");
        assert!(
            location.starts_with("http://example.org//evil.example/x?"),
            "{location}"
        );
    }

    fn reply(uri: &str, mount: &str, live: Option<LiveSessionId>) -> Reply {
        let mut p = parts(uri, None);
        RequestContext::of(&mut p).1.mount(mount);
        Reply::new(RequestContext::of(&mut p).1, live)
    }

    #[test]
    fn location_rewriting_stays_inside_the_app_and_its_origin() {
        let id = SessionId::parse(ID).expect("an id");
        let live = LiveSessionId::new(Arc::from("pesto_session"), Some(&id));
        let reply = reply("/shop/cart", "/shop", Some(live.clone()));
        let rewrite = |to: &str| {
            let mut r = Response::redirect(to);
            query_mode().rewrite_location(&mut r, &reply);
            r.header("location").map(str::to_owned)
        };
        assert_eq!(
            rewrite("http://example.org/shop/pay?a=b").as_deref(),
            Some(format!("http://example.org/shop/pay?a=b&pesto_session={ID}").as_str())
        );
        assert_eq!(
            rewrite("http://example.org/other").as_deref(),
            Some("http://example.org/other")
        );
        assert_eq!(
            rewrite("https://evil.example/shop/x").as_deref(),
            Some("https://evil.example/shop/x")
        );
        live.set(None);
        assert_eq!(
            rewrite(&format!("http://example.org/shop/pay?pesto_session={ID}")).as_deref(),
            Some("http://example.org/shop/pay"),
            "an ended session's id is taken out"
        );
    }

    #[test]
    fn each_mode_decorates_its_responses() {
        let mut cookie = Response::text("x");
        cookie_mode().decorate(&mut cookie);
        assert_eq!(cookie.header("vary"), Some("Cookie"));
        let mut query = Response::text("x");
        query_mode().decorate(&mut query);
        assert_eq!(query.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(query.header("cache-control"), Some("private, no-store"));
        assert_eq!(query.header("vary"), None);
    }

    #[test]
    fn the_cookie_path_follows_the_mount_unless_configured() {
        let Transport::Cookie(settings) = cookie_mode() else {
            unreachable!()
        };
        let root = settings.build("v".into(), &reply("/", "", None));
        assert_eq!(root.path(), Some("/"));
        assert_eq!(root.secure(), Some(false));
        let cookie = settings.build(
            "v".into(),
            &reply("https://example.org/shop/x", "/shop", None),
        );
        assert_eq!(cookie.path(), Some("/shop"));
        assert_eq!(
            cookie.secure(),
            Some(true),
            "https requests get Secure cookies"
        );
        assert_eq!(cookie.http_only(), Some(true));
    }
}
