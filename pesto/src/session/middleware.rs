//! The session middleware: loads `request.session` before the handler and saves it after.
//!
//! The order of work for one request (see `docs/sessions.md`):
//! 1. read the id (cookie or `?pesto_session=`), validate its format, load the record by the
//!    id's hash; an unknown, expired or undecodable id is never adopted (strict mode, as Pesto);
//! 2. in querystring mode, redirect a GET without a valid id to the same URL carrying a new one;
//! 3. run the handler;
//! 4. unless it failed or answered 5xx, persist what changed — before the response head is
//!    returned, so the client's next request sees it — and announce a new or changed id.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use cookie::Cookie;
use futures_util::future::BoxFuture;
use http::{header, Method, StatusCode};

use super::config::{Config, Persist, SessionData};
use super::layer::SessionLayer;
use super::{envelope, Clock, Lease, Session, SessionId, SessionStore, SessionState};
use crate::endpoint::{split_script_name, Endpoint, RawRequest};
use crate::routing::QuerySession;
use crate::{request, Dispatcher, MultiDict, Response};

/// What the app and its purge task share.
pub(super) struct Inner<M, S> {
    pub(super) store: Arc<M>,
    pub(super) config: Config,
    pub(super) clock: Arc<dyn Clock>,
    app: Dispatcher<S>,
}

/// An app wrapped in session middleware: an [`Endpoint`] to serve or test.
///
/// The background purge starts with the app ([`Endpoint::start`], which the server calls), or
/// with its first request when nothing started it, and stops when the app is dropped (which the
/// server does at shutdown).
pub struct SessionApp<M, S> {
    pub(super) inner: Arc<Inner<M, S>>,
    purge_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    purge_started: AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl<M: fmt::Debug, S> fmt::Debug for SessionApp<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionApp")
            .field("store", &self.inner.store)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<M, S> Drop for SessionApp<M, S> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl<M: SessionStore, S: SessionData> SessionApp<M, S> {
    pub(super) fn new(
        store: Arc<M>,
        config: Config,
        clock: Arc<dyn Clock>,
        app: Dispatcher<S>,
    ) -> Self {
        let (stop, _) = tokio::sync::watch::channel(false);
        SessionApp {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                app,
            }),
            purge_task: Mutex::new(None),
            purge_started: AtomicBool::new(false),
            stop,
        }
    }

    /// Removes every session idle for longer than `olderthan`; returns how many.
    ///
    /// # Errors
    /// The store's error.
    pub async fn purge(&self, olderthan: Duration) -> super::Result<u64> {
        self.inner.purge(olderthan).await
    }

    /// The session store.
    pub fn store(&self) -> &Arc<M> {
        &self.inner.store
    }

    /// Starts the background purge on the current runtime if it is not running yet.
    fn ensure_purge_task(&self) {
        // The per-request fast path: one atomic load, no lock.
        if self.purge_started.load(Ordering::Acquire) {
            return;
        }
        let every = self.inner.config.purge_every;
        // A backend that expires records itself (Redis) leaves the periodic purge nothing to do.
        if every.is_zero() || self.inner.store.self_expiring() {
            return;
        }
        let mut task = self.purge_task.lock().unwrap_or_else(|e| e.into_inner());
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Inner<M, S>> = Arc::downgrade(&self.inner);
        let mut stop = self.stop.subscribe();
        *task = Some(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; purging at start-up is not wanted.
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stop.changed() => break,
                }
                let Some(inner) = weak.upgrade() else { break };
                let olderthan = inner.config.olderthan;
                match inner.purge(olderthan).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "purged idle sessions"),
                    // One failure must not end the purge (Python Pesto's purge thread died on the first error).
                    Err(error) => tracing::error!(%error, "session purge failed"),
                }
            }
        }));
        self.purge_started.store(true, Ordering::Release);
    }
}

impl<M: SessionStore, S> Inner<M, S> {
    pub(super) async fn purge(&self, olderthan: Duration) -> super::Result<u64> {
        match self.clock.now().checked_sub(olderthan) {
            Some(cutoff) => self.store.purge(cutoff).await,
            None => Ok(0),
        }
    }

    pub(super) fn lease(&self, now: SystemTime) -> Lease {
        Lease {
            now,
            ttl: self.config.olderthan,
        }
    }

    /// Whether a session begun at `created` has outlived the absolute lifetime, if one is set.
    pub(super) fn is_past_lifetime(&self, created: SystemTime, now: SystemTime) -> bool {
        self.config
            .absolute_timeout
            .is_some_and(|lifetime| now.duration_since(created).is_ok_and(|age| age > lifetime))
    }

    pub(super) fn is_expired(&self, last_access: SystemTime, now: SystemTime) -> bool {
        // A last access in the future (clock stepped back) is not expiry; never panic on it.
        now.duration_since(last_access)
            .is_ok_and(|idle| idle > self.config.olderthan)
    }
}

/// How many same-named session cookies are looked up at most.
const MAX_COOKIE_CANDIDATES: usize = 3;

/// What the request said about its session id.
struct Incoming {
    /// The well-formed ids presented, first first (a browser may send several cookies of one
    /// name, for example one planted for a parent domain; at most a few are tried).
    ids: Vec<SessionId>,
    /// The original query without the session parameter (querystring mode).
    other_query: MultiDict,
}

fn read_incoming(parts: &http::request::Parts, config: &Config) -> Incoming {
    match config.persist {
        Persist::Cookie => Incoming {
            ids: crate::cookies::raw_values(&parts.headers, &config.cookie_name)
                .filter_map(SessionId::parse)
                .take(MAX_COOKIE_CANDIDATES)
                .collect(),
            other_query: MultiDict::new(),
        },
        Persist::QueryString => {
            let mut query = parts
                .uri
                .query()
                .map(MultiDict::parse_query)
                .unwrap_or_default();
            // The whole value must be exactly one valid id (SECURITY-NOTES, querystring mode).
            let id = {
                let mut values = query.get_all(&config.cookie_name);
                match (values.next(), values.next()) {
                    (Some(v), None) => SessionId::parse(v),
                    _ => None,
                }
            };
            query.remove(&config.cookie_name);
            Incoming {
                ids: id.into_iter().collect(),
                other_query: query,
            }
        }
    }
}

/// The loaded (or fresh) session data for one request.
struct Loaded<S> {
    id: SessionId,
    is_new: bool,
    data: S,
    baseline: Baseline,
}

/// What the store held when the request began, to decide what to write afterwards.
struct Baseline {
    /// The data's JSON as loaded (`None` for a new session): unchanged data is never written.
    json: Option<Vec<u8>>,
    /// The record's last access (`None` for a new session), for the touch interval.
    last_access: Option<SystemTime>,
    /// When the session began, for the absolute lifetime.
    created: SystemTime,
}

impl<M: SessionStore, S: SessionData> Inner<M, S> {
    async fn load(&self, ids: Vec<SessionId>, now: SystemTime) -> Result<Loaded<S>, Response> {
        for id in ids {
            let key = id.key();
            match self.store.load(&key).await {
                Err(error) => {
                    tracing::error!(%error, session = ?key, "session store failed on load");
                    return Err(Response::error_page(StatusCode::SERVICE_UNAVAILABLE));
                }
                Ok(Some(record)) => {
                    let stored = envelope::decode(&record.data);
                    let expired = self.is_expired(record.last_access, now)
                        || stored
                            .as_ref()
                            .is_some_and(|(created, _)| self.is_past_lifetime(*created, now));
                    if expired {
                        if let Err(error) = self.store.remove(&key).await {
                            tracing::warn!(%error, session = ?key, "could not remove an expired session");
                        }
                        continue;
                    }
                    let Some((created, json)) = stored else {
                        tracing::warn!(session = ?key, "stored record is not a session; starting a new one");
                        continue;
                    };
                    match serde_json::from_slice::<S>(&json) {
                        Ok(data) => {
                            return Ok(Loaded {
                                id,
                                is_new: false,
                                data,
                                baseline: Baseline {
                                    json: Some(json),
                                    last_access: Some(record.last_access),
                                    created,
                                },
                            })
                        }
                        Err(error) => {
                            tracing::warn!(%error, session = ?key, "stored session does not decode; starting a new one");
                        }
                    }
                }
                Ok(None) => {}
            }
        }
        let id = SessionId::generate().map_err(|error| {
            tracing::error!(%error, "cannot generate a session id");
            Response::internal_server_error()
        })?;
        Ok(Loaded {
            id,
            is_new: true,
            data: S::default(),
            baseline: Baseline {
                json: None,
                last_access: None,
                created: now,
            },
        })
    }

    fn session_cookie(&self, value: String, script_name: &str, https: bool) -> Cookie<'static> {
        let config = &self.config;
        let mut cookie = Cookie::new(config.cookie_name.to_string(), value);
        let path = match &config.cookie_path {
            Some(p) => p.clone(),
            None if script_name.is_empty() => "/".to_owned(),
            None => script_name.to_owned(),
        };
        cookie.set_path(path);
        if let Some(domain) = &config.cookie_domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_http_only(true);
        cookie.set_same_site(config.same_site);
        cookie.set_secure(config.secure.unwrap_or(https));
        if let Some(max_age) = config.max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(secs));
        }
        cookie
    }

    async fn call(&self, req: RawRequest) -> Response {
        let now = self.clock.now();
        let (parts, body) = req.into_parts();
        let incoming = read_incoming(&parts, &self.config);
        let (script_name, _) = split_script_name(&parts);
        let https = request::scheme(&parts) == "https";
        let origin = request::origin(&parts);
        let is_get = parts.method == Method::GET || parts.method == Method::HEAD;

        let loaded = match self.load(incoming.ids, now).await {
            Ok(loaded) => loaded,
            Err(response) => return self.decorate(response),
        };

        let query_mode = self.config.persist == Persist::QueryString;
        if query_mode && loaded.is_new && !self.config.lazy && is_get {
            let location_base = format!("{origin}{}", parts.uri.path());
            return self
                .redirect_with_new_id(
                    &loaded.id,
                    serde_json::to_vec(&loaded.data),
                    location_base,
                    incoming.other_query,
                    now,
                )
                .await;
        }

        // Links rendered by this request carry the id even in lazy mode, where it becomes real
        // only if the handler writes to the session: an id that was never stored is refused
        // on the next request anyway.
        let query_id = query_mode.then(|| Arc::new(Mutex::new(Some(loaded.id.to_string()))));
        let url_session = query_id.as_ref().map(|id| QuerySession {
            name: Arc::clone(&self.config.cookie_name),
            id: Arc::clone(id),
        });
        let state = SessionState {
            id: loaded.id.clone(),
            is_new: loaded.is_new,
            cycled_from: None,
            force_save: false,
            invalidated: false,
            query_id,
        };
        let session = Session::attached(loaded.data, state);
        let req = http::Request::from_parts(parts, body);
        let (response, session) = self.app.handle(req, session, url_session).await;

        let original_id = (!loaded.is_new).then(|| loaded.id.to_string());
        let (response, live_id) = match session {
            // A failed handler saves nothing (Django, tower-sessions).
            Some(session) if !response.status().is_server_error() => {
                let cell = session.state().and_then(|s| s.query_id.clone());
                let response = self
                    .persist(response, session, loaded.baseline, &script_name, https, now)
                    .await;
                let live = match cell {
                    Some(cell) if !response.status().is_server_error() => {
                        cell.lock().unwrap_or_else(|e| e.into_inner()).clone()
                    }
                    _ => original_id,
                };
                (response, live)
            }
            _ => (response, original_id),
        };
        let response = if query_mode {
            self.rewrite_location(response, &origin, &script_name, live_id.as_deref())
        } else {
            response
        };
        self.decorate(response)
    }

    /// Querystring mode, GET without a valid id: store a fresh session and send the client to
    /// the same URL carrying its id (Pesto).
    async fn redirect_with_new_id(
        &self,
        id: &SessionId,
        json: serde_json::Result<Vec<u8>>,
        location_base: String,
        mut query: MultiDict,
        now: SystemTime,
    ) -> Response {
        let json = match json {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "session data does not serialize");
                return self.decorate(Response::internal_server_error());
            }
        };
        if let Err(response) = self.create(id, &json, now).await {
            return self.decorate(response);
        }
        query.append(self.config.cookie_name.to_string(), id.to_string());
        let mut location = format!("{location_base}?");
        crate::routing::encode_pairs(query.iter(), &mut location);
        self.decorate(Response::redirect(location))
    }

    /// Creates a record; an existing one is never overwritten (SECURITY-NOTES, Session ids).
    async fn create(&self, id: &SessionId, json: &[u8], now: SystemTime) -> Result<(), Response> {
        let key = id.key();
        // A new record, or a renewed id: its lifetime starts now.
        let record = envelope::encode(now, json);
        match self.store.create(&key, &record, self.lease(now)).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::error!(session = ?key, "session id collision on create; refusing to overwrite");
                Err(Response::internal_server_error())
            }
            Err(error) => {
                tracing::error!(%error, session = ?key, "session store failed on create");
                Err(Response::internal_server_error())
            }
        }
    }

    async fn persist(
        &self,
        response: Response,
        session: Session<S>,
        baseline: Baseline,
        script_name: &str,
        https: bool,
        now: SystemTime,
    ) -> Response {
        let (data, state) = session.into_parts();
        let Some(state) = state else { return response };
        let store_error = |error: super::Error| {
            tracing::error!(%error, session = ?state.id, "session store failed on save");
            Response::internal_server_error()
        };

        if state.invalidated {
            let stored = state
                .cycled_from
                .as_ref()
                .or((!state.is_new).then_some(&state.id));
            if let Some(id) = stored {
                if let Err(e) = self.store.remove(&id.key()).await {
                    return store_error(e);
                }
            }
            if self.config.persist == Persist::Cookie && !state.is_new {
                let cookie = self.session_cookie(String::new(), script_name, https);
                return response.remove_cookie(cookie);
            }
            return response;
        }

        let json = match serde_json::to_vec(&data) {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "session data does not serialize");
                return Response::internal_server_error();
            }
        };
        let key = state.id.key();
        let mut announce = false;
        if let Some(old) = &state.cycled_from {
            // A logout elsewhere during this request ended the session: do not re-issue its
            // data under a new id (SECURITY-NOTES, Lifecycle).
            match self.store.load(&old.key()).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::info!(session = ?old, "session ended during the request; not renewed");
                    return response;
                }
                Err(e) => return store_error(e),
            }
            if let Err(response) = self.create(&state.id, &json, now).await {
                return response;
            }
            if let Err(e) = self.store.remove(&old.key()).await {
                return store_error(e);
            }
            announce = true;
        } else if state.is_new {
            let untouched = serde_json::to_vec(&S::default()).is_ok_and(|d| d == json);
            if !self.config.lazy || !untouched || state.force_save {
                if let Err(response) = self.create(&state.id, &json, now).await {
                    return response;
                }
                announce = true;
            }
        } else if state.force_save || baseline.json.as_deref() != Some(json.as_slice()) {
            // A request that began before a logout elsewhere must not bring the session back
            // (rack-session CVE-2025-46336): only an existing record is updated.
            let record = envelope::encode(baseline.created, &json);
            match self.store.update(&key, &record, self.lease(now)).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(session = ?key, "session ended during the request; not saved")
                }
                Err(e) => return store_error(e),
            }
            announce = self.config.max_age.is_some() && self.touch_due(baseline.last_access, now);
        } else if self.touch_due(baseline.last_access, now) {
            if let Err(e) = self.store.touch(&key, self.lease(now)).await {
                return store_error(e);
            }
            announce = self.config.max_age.is_some();
        }

        if announce && self.config.persist == Persist::Cookie {
            let cookie = self.session_cookie(state.id.to_string(), script_name, https);
            return response.with_cookie(cookie);
        }
        if self.config.persist == Persist::QueryString {
            if let Some(q) = &state.query_id {
                let live = announce || !state.is_new;
                let mut guard = q.lock().unwrap_or_else(|e| e.into_inner());
                *guard = live.then(|| state.id.to_string());
            }
        }
        response
    }

    fn touch_due(&self, last_access: Option<SystemTime>, now: SystemTime) -> bool {
        match last_access {
            Some(at) => now
                .duration_since(at)
                .is_ok_and(|since| since >= self.config.touch_interval),
            None => false,
        }
    }

    /// Querystring mode: a redirect inside the app carries the session's current id (or none
    /// once the session ended).
    fn rewrite_location(
        &self,
        response: Response,
        origin: &str,
        script_name: &str,
        id: Option<&str>,
    ) -> Response {
        let Some(location) = response.header("location") else {
            return response;
        };
        let Ok(mut url) = url::Url::parse(location) else {
            return response;
        };
        let same_origin = url.origin().ascii_serialization() == origin;
        let inside_app = url
            .path()
            .strip_prefix(script_name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !same_origin || !inside_app {
            return response;
        }
        let location = set_query_param(&mut url, &self.config.cookie_name, id);
        response.with_header(header::LOCATION, location)
    }

    /// Headers every response through the middleware carries.
    fn decorate(&self, response: Response) -> Response {
        match self.config.persist {
            // Shared caches must not serve one user's session-dependent page to another
            // (Flask CVE-2023-30861).
            Persist::Cookie => response.append_header(header::VARY, "Cookie"),
            Persist::QueryString => response
                .with_header(header::REFERRER_POLICY, "no-referrer")
                .with_header(header::CACHE_CONTROL, "private, no-store"),
        }
    }
}

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

impl<M: SessionStore, S: SessionData> Endpoint for SessionApp<M, S> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        self.ensure_purge_task();
        Box::pin(self.inner.call(req))
    }

    fn session_layer(&self) -> Option<&dyn SessionLayer> {
        Some(self)
    }

    fn start(&self) {
        self.ensure_purge_task();
    }
}
