//! [`SessionMiddleware`]: the session middleware's settings, with Pesto's options and defaults —
//! plain data; [`SessionMiddleware::wrap`] (in `middleware.rs`) applies them to an app.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use cookie::SameSite;

use super::clock::{Clock, SystemClock};
use super::cookie_settings::CookieSettings;
use super::store::SessionStore;
use super::transport::{Persist, Transport};
use crate::endpoint::CrossOriginProtection;

/// The settings, as the request flow reads them.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) purge_every: Duration,
    pub(super) olderthan: Duration,
    pub(super) persist: Persist,
    pub(super) cookie_name: Arc<str>,
    pub(super) cookie_path: Option<String>,
    pub(super) cookie_domain: Option<String>,
    pub(super) secure: Option<bool>,
    pub(super) same_site: SameSite,
    pub(super) max_age: Option<Duration>,
    pub(super) lazy: bool,
    pub(super) touch_interval: Duration,
    pub(super) absolute_timeout: Option<Duration>,
    /// Checked before the session is loaded; `None` when turned off.
    pub(super) cross_origin: Option<CrossOriginProtection>,
    /// How long the id a `cycle_id()` replaced keeps forwarding to the new one; zero: not at all.
    pub(super) renewal_grace: Duration,
    pub(super) on_conflict: OnConflict,
    /// `Cache-Control: private, no-store` on pages made with a session that holds something.
    pub(super) private_pages: bool,
}

/// What the middleware does when another request of the same session saved it while this one
/// ran (the session guide, "Concurrent requests").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnConflict {
    /// Merge (the default): the top-level fields (`SessionMap` keys) this request changed take its
    /// values, every other field keeps the value the other request saved; where both changed one
    /// field, this (later) save wins and a warning is logged.
    #[default]
    Merge,
    /// Save nothing and answer `409 Conflict` when the two requests changed the same field (as
    /// Django's `SessionInterrupted`); changes to different fields are still merged.
    RefuseOverlap,
    /// Save nothing and answer `409 Conflict` whenever another request saved the session since
    /// this one loaded it, whatever it changed.
    Refuse,
}

/// Session middleware settings; [`SessionMiddleware::wrap`] applies them to an app.
///
/// ```
/// use std::time::Duration;
/// use pesto::prelude::*;
/// use pesto::{TestApp, session_middleware};
/// use pesto::session::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Visitor { visits: u32 }
///
/// #[route("/", GET)]
/// async fn count(req: &mut Request<Visitor>) -> String {
///     req.session.visits += 1;
///     format!("visit #{}", req.session.visits)
/// }
/// dispatcher_app!(App = [count]);
///
/// let app = session_middleware(MemoryStore::new())
///     .auto_purge_every(Duration::from_secs(600))
///     .auto_purge_olderthan(Duration::from_secs(1800))
///     .wrap(App::new());
/// let client = TestApp::new(app);
/// assert_eq!(client.get("/").send().body_text(), "visit #1");
/// assert_eq!(client.get("/").send().body_text(), "visit #2");
/// ```
pub struct SessionMiddleware {
    pub(super) store: Arc<dyn SessionStore>,
    pub(super) config: Config,
    pub(super) clock: Arc<dyn Clock>,
}

impl fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How long, by default, the id a `cycle_id()` replaced still reaches the session.
pub const DEFAULT_RENEWAL_GRACE: Duration = Duration::from_secs(5);

/// Starts configuring session middleware over `store`, with Pesto's defaults: purge every
/// 60 s of sessions idle for 1800 s, id in a cookie named `pesto_session`.
pub fn session_middleware<M: SessionStore>(store: M) -> SessionMiddleware {
    SessionMiddleware {
        store: Arc::new(store),
        config: Config {
            purge_every: Duration::from_secs(60),
            olderthan: Duration::from_secs(1800),
            persist: Persist::Cookie,
            cookie_name: Arc::from("pesto_session"),
            cookie_path: None,
            cookie_domain: None,
            secure: None,
            same_site: SameSite::Lax,
            max_age: None,
            lazy: false,
            touch_interval: Duration::from_secs(60),
            absolute_timeout: None,
            cross_origin: Some(CrossOriginProtection::new()),
            renewal_grace: DEFAULT_RENEWAL_GRACE,
            on_conflict: OnConflict::Merge,
            private_pages: true,
        },
        clock: Arc::new(SystemClock),
    }
}

impl SessionMiddleware {
    /// How long the id that `cycle_id()` replaced keeps reaching the session (default
    /// [`DEFAULT_RENEWAL_GRACE`], 5 s); zero ends it at once.
    ///
    /// A page's parallel requests (images, an XHR, a second tab) that left before the response
    /// carrying the new id arrived still present the old one; during the window the old id is a
    /// forward to the new session, so they keep it — they read and save the new session, and are
    /// never sent the old id again as a cookie. The forward holds no session data, is stored by
    /// hash like every key, and dies with the window, or at once when the session is
    /// invalidated (the session guide, "Concurrent requests").
    ///
    /// A forward is left only when the renewing request did not change the session's data: a
    /// rotation of the id. A login changes it (it records the user), and a forward would then
    /// let whoever planted the old id in the victim's browser into the logged-in session — the
    /// session fixation that renewing the id at login exists to stop (docs/security.md,
    /// "Session lifecycle"). So the id a login replaced is dead at once, whatever the window.
    /// Nor is one left in querystring mode, where a request arriving with the old id would put
    /// it in its links, which die with the window. A rotation keeps the session's absolute
    /// lifetime; a login starts a new one.
    #[must_use]
    pub fn renewal_grace(mut self, grace: Duration) -> Self {
        self.config.renewal_grace = grace;
        self
    }

    /// What to do when another request of the same session saved it while this one ran:
    /// [`OnConflict::Merge`] (the default) or a `409` ([`OnConflict::RefuseOverlap`],
    /// [`OnConflict::Refuse`]).
    #[must_use]
    pub fn on_conflict(mut self, policy: OnConflict) -> Self {
        self.config.on_conflict = policy;
        self
    }

    /// Whether a response made with a session that holds something — data or flash messages,
    /// stored before the request or written by it — gets `Cache-Control: private, no-store`
    /// (default on). Such a page is the user's own: no shared cache may keep it, and after a
    /// logout the browser's back button must not show it from its cache. A `Cache-Control` the
    /// handler set is left alone; pages of visitors without a session, or with an empty one, are
    /// not touched (docs/security.md, "Cookies and caching").
    #[must_use]
    pub fn private_pages(mut self, on: bool) -> Self {
        self.config.private_pages = on;
        self
    }

    /// How often the background purge runs (default 60 s); zero disables it.
    #[must_use]
    pub fn auto_purge_every(mut self, every: Duration) -> Self {
        self.config.purge_every = every;
        self
    }

    /// How long a session may stay idle (default 1800 s): older sessions are purged, and refused
    /// on load even before the purge reaches them.
    #[must_use]
    pub fn auto_purge_olderthan(mut self, olderthan: Duration) -> Self {
        self.config.olderthan = olderthan;
        self
    }

    /// Where the id travels: [`Persist::Cookie`] (default) or [`Persist::QueryString`].
    #[must_use]
    pub fn persist(mut self, persist: Persist) -> Self {
        self.config.persist = persist;
        self
    }

    /// The cookie's `Path` (default: the mount path the app is served under, else `/`).
    #[must_use]
    pub fn cookie_path(mut self, path: &str) -> Self {
        self.config.cookie_path = Some(path.to_owned());
        self
    }

    /// The cookie's `Domain` (default: none, so the cookie goes back to this host only).
    #[must_use]
    pub fn cookie_domain(mut self, domain: &str) -> Self {
        self.config.cookie_domain = Some(domain.to_owned());
        self
    }

    /// The cookie's (and, in querystring mode, the parameter's) name; default `pesto_session`.
    ///
    /// A `__Host-` name (as `__Host-pesto_session`) makes the cookie `Secure`, `Path=/` and
    /// without `Domain`, whatever the other settings say (they are logged as ignored): browsers
    /// then refuse a same-named cookie set by a sibling subdomain or over http, which stops cookie
    /// tossing (docs/security.md, "Cookies and caching"). A `__Secure-` name makes it `Secure`.
    #[must_use]
    pub fn cookie_name(mut self, name: &str) -> Self {
        self.config.cookie_name = Arc::from(name);
        self
    }

    /// Forces the cookie's `Secure` attribute on or off (default: on when the request came over https).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.config.secure = Some(secure);
        self
    }

    /// The cookie's `SameSite` attribute (default `Lax`).
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.config.same_site = same_site;
        self
    }

    /// Makes the cookie persistent with this `Max-Age` (refreshed when the session is touched);
    /// by default the cookie ends with the browser session.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.config.max_age = Some(max_age);
        self
    }

    /// Lazy mode: a session is created, stored and announced only once data is written to it.
    ///
    /// Choose it for public sites where most visitors never log in: eager mode (Pesto's default)
    /// stores a record for every client without a cookie, crawlers included (Django
    /// CVE-2015-5143 was such store flooding). In querystring mode, lazy sessions do not
    /// redirect a GET without an id.
    #[must_use]
    pub fn lazy(mut self, lazy: bool) -> Self {
        self.config.lazy = lazy;
        self
    }

    /// An absolute lifetime: a session older than this is refused on load however active it is
    /// (OWASP's absolute timeout). It counts from the session's creation or its last
    /// `cycle_id()` (so, with `cycle_id()` at login, from the login). Default: none, as Pesto.
    #[must_use]
    pub fn absolute_timeout(mut self, lifetime: Duration) -> Self {
        self.config.absolute_timeout = Some(lifetime);
        self
    }

    /// The least time between two refreshes of a session's last-access time (default 60 s):
    /// reads do not rewrite the store on every request. It is never more than a quarter of the
    /// idle timeout (`auto_purge_olderthan`), so an active user is never logged out for idleness.
    #[must_use]
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.config.touch_interval = interval;
        self
    }

    /// The cross-origin protection applied before the session is loaded (default: on, with no
    /// trusted origin and no exempt path): cross-site `POST`, `PUT`, `PATCH` and `DELETE` from
    /// browsers get `403` (docs/security.md, "Cross-site request forgery"). Give one with
    /// trusted origins or exempt paths here.
    #[must_use]
    pub fn cross_origin_protection(mut self, protection: CrossOriginProtection) -> Self {
        self.config.cross_origin = Some(protection);
        self
    }

    /// Turns the cross-origin protection off (an API whose clients are not browsers, or an app
    /// that checks CSRF tokens of its own on every unsafe request).
    #[must_use]
    pub fn without_cross_origin_protection(mut self) -> Self {
        self.config.cross_origin = None;
        self
    }

    /// The clock used for last-access times and expiry (default: the system clock); tests pass a
    /// [`ManualClock`](super::ManualClock).
    #[must_use]
    pub fn clock<C: Clock>(mut self, clock: C) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl Config {
    /// Where the id travels, with the cookie's attributes.
    pub(super) fn transport(&self) -> Transport {
        match self.persist {
            Persist::Cookie => Transport::Cookie(
                CookieSettings {
                    name: Arc::clone(&self.cookie_name),
                    path: self.cookie_path.clone(),
                    domain: self.cookie_domain.clone(),
                    secure: self.secure,
                    same_site: self.same_site,
                    max_age: self.max_age,
                }
                .obey_name_prefix(),
            ),
            Persist::QueryString => Transport::QueryString {
                param: Arc::clone(&self.cookie_name),
            },
        }
    }
}
