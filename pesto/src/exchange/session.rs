//! [`Session<S>`]: the user's session as a handler sees it, and the slot through which the session
//! middleware lends it to the handler layer.
//!
//! The middleware works on stored JSON and never names the app's session type; the handler layer
//! (a `Dispatcher<S>`) knows `S`. So the middleware puts a [`SessionSlot`] holding the loaded
//! JSON into the request's context (`context.rs`, itself a request extension), the dispatcher
//! [opens](Session::open) it as a typed `Session<S>`, runs the handler and [gives it
//! back](Session::give_back) as JSON, and the middleware reads the outcome once the inner
//! endpoint answered — as tower-sessions passes its `Session` through request extensions.

use std::any::TypeId;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::default_json::DefaultJson;
use super::flash::{Flash, FlashLevel};
use super::pending_id::PendingId;
use super::session_id::{RandomError, SessionId};
use super::session_json::{decode_data, serializes_to, DEFAULT_DATA};

/// What a session type must be: serde both ways, a default for new sessions.
pub trait SessionData: Serialize + DeserializeOwned + Default + Send + 'static {}
impl<T: Serialize + DeserializeOwned + Default + Send + 'static> SessionData for T {}

/// The user's session as seen by a handler: dereferences to the application's own type `S`.
///
/// Without session middleware (`S = ()`), the session is detached: it has no id and nothing is stored.
pub struct Session<S> {
    data: S,
    /// Boxed: the bookkeeping is large beside most session types, and a request (which holds
    /// its session) is moved several times on its way to the handler and back.
    state: Option<Box<SessionState>>,
    /// Whether the handler reached the data at all (`Deref` or `DerefMut`). Data nobody reached
    /// cannot have changed, even through a `Cell` inside it, so it is not serialized again to
    /// find out. An atomic, so that `&Session` stays `Sync` for handlers that hold it across an
    /// `.await`; relaxed, as only the request's own task reads it.
    reached: AtomicBool,
}

/// Bookkeeping about one request's attached session, handed back to the middleware.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// Drawn when first needed: a new session that stores nothing never draws one.
    pub(crate) id: PendingId,
    pub(crate) is_new: bool,
    /// The id the request arrived with, when `cycle_id()` replaced it (removed at the end of the request).
    pub(crate) cycled_from: Option<SessionId>,
    pub(crate) force_save: bool,
    pub(crate) invalidated: bool,
    /// The data's JSON as loaded (`None` for a new session), to tell whether the handler changed it.
    baseline: Option<Vec<u8>>,
    /// Querystring mode: the id generated URLs carry, kept current by `cycle_id()` and `invalidate()`.
    live: Option<LiveSessionId>,
    /// The flash messages not shown yet: those stored, and those added by this request.
    pub(crate) flashes: Vec<Flash>,
    /// Whether this request added or took flash messages (then the session is saved).
    pub(crate) flashes_changed: bool,
    /// The messages this request took, and those it added and did not take: what a merge with
    /// a concurrent save removes from and adds to the list that request saved.
    pub(crate) flashes_taken: Vec<Flash>,
    pub(crate) flashes_added: Vec<Flash>,
}

impl<S> Session<S> {
    /// A session that is not backed by any store (used when no session middleware is installed).
    pub fn detached(data: S) -> Self {
        Session {
            data,
            state: None,
            reached: AtomicBool::new(false),
        }
    }

    /// The session id, or `None` for a detached session.
    ///
    /// A new session draws its id here when nothing did before (the middleware draws it only
    /// to store the session); `None` also if that draw failed, which needs the operating
    /// system's random generator to fail.
    pub fn id(&self) -> Option<&SessionId> {
        let state = self.state.as_ref()?;
        match state.id.get_or_draw() {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::error!(%error, "cannot draw a session id");
                None
            }
        }
    }

    /// True when this request created the session (no valid session arrived with it).
    pub fn is_new(&self) -> bool {
        self.state.as_ref().is_none_or(|s| s.is_new)
    }

    /// Saves the session at the end of the request even if its data did not change.
    ///
    /// Changes are detected automatically, so this is only needed to force a write (for example
    /// to refresh the stored copy after a change in serialisation format).
    pub fn save(&mut self) {
        if let Some(state) = &mut self.state {
            // An invalidated session stays ended all the same: removal wins over saving.
            state.force_save = true;
        }
    }

    /// Adds a flash message for the next page that shows them (the request's own included); it
    /// is stored with the session, so it survives a redirect. A flash on a visitor without a
    /// session (lazy mode) creates one; after [`invalidate`](Self::invalidate), it starts the new
    /// session that carries it. A detached session (no session middleware) drops it.
    pub fn flash(&mut self, level: FlashLevel, message: impl Into<String>) {
        if let Some(state) = &mut self.state {
            let flash = Flash {
                level,
                message: message.into(),
            };
            state.flashes.push(flash.clone());
            state.flashes_added.push(flash);
            state.flashes_changed = true;
        }
    }

    /// Takes every flash message not shown yet, oldest first: they are gone from the session
    /// once this request saves it, so each is shown exactly once.
    pub fn take_flashes(&mut self) -> Vec<Flash> {
        match &mut self.state {
            Some(state) if !state.flashes.is_empty() => {
                state.flashes_changed = true;
                // What this request added and shows itself is no longer added.
                let taken = std::mem::take(&mut state.flashes);
                let added = std::mem::take(&mut state.flashes_added);
                let loaded = taken.iter().filter(|f| !added.contains(f)).cloned();
                state.flashes_taken.extend(loaded);
                taken
            }
            _ => Vec::new(),
        }
    }

    /// The flash messages not shown yet, without taking them.
    pub fn flashes(&self) -> &[Flash] {
        self.state.as_ref().map_or(&[], |state| &state.flashes)
    }

    /// Ends the session: at the end of the request it is removed from the store and, in cookie mode,
    /// the cookie is expired. The data is reset to its default.
    ///
    /// Data written to the session after this call starts a **new** session, with a new id, as
    /// Django's `flush()`: "log out, then show 'you are logged out'" works, and the new session
    /// shares nothing with the ended one. If nothing is written after it, no new session is made.
    pub fn invalidate(&mut self)
    where
        S: Default,
    {
        self.data = S::default();
        if let Some(state) = &mut self.state {
            state.invalidated = true;
            state.force_save = false;
            // The ended session's messages end with it; one added after this starts the new one.
            state.flashes.clear();
            state.flashes_added.clear();
            if let Some(live) = &state.live {
                live.set(None);
            }
        }
    }

    /// Gives the session a new id, keeping its data. At the end of the request the old id stops
    /// reaching the session: at once when the request changed the data (a login), after the
    /// renewal grace window when it did not (a rotation; see `SessionMiddleware::renewal_grace`).
    ///
    /// Call it after every privilege change (login), so that an id an attacker planted or saw
    /// before the change is worthless after it (session fixation; OWASP).
    ///
    /// # Errors
    /// Fails only if the operating system's random generator fails.
    pub fn cycle_id(&mut self) -> Result<(), RandomError> {
        if let Some(state) = &mut self.state {
            // The new id is drawn when the session is stored, unless querystring mode's URLs
            // carry it from now on.
            let new_id = PendingId::default();
            if let Some(live) = &state.live {
                live.set(Some(new_id.get_or_draw()?));
            }
            let old = std::mem::replace(&mut state.id, new_id);
            // Only an id that was in the store needs removing; a chain of cycles removes the first.
            if !state.is_new && state.cycled_from.is_none() {
                state.cycled_from = old.into_inner();
            }
            state.invalidated = false;
        }
        Ok(())
    }
}

/// Why a handler layer could not open the session of a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The handlers take a session type but no session middleware lent one.
    #[error(
        "the handlers take a session of type `{0}` but no session middleware is installed: \
         wrap the app with `session_middleware(store).wrap(app)`"
    )]
    NoMiddleware(&'static str),
    /// Two handler layers inside one session middleware both tried to open its session.
    #[error("the session of this request was already opened by another handler layer")]
    AlreadyOpened,
    /// A fresh id was needed and the random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// True for the session type `()`: handlers that take no session.
pub(crate) fn is_sessionless<S: 'static>() -> bool {
    TypeId::of::<S>() == TypeId::of::<()>()
}

impl<S: SessionData> Session<S> {
    /// Opens the session that `slot` lends, decoding its data as `S`.
    ///
    /// Handlers without a session (`S = ()`) get a detached session and leave the slot alone, so
    /// a sessionless dispatcher beside a session one under the same middleware ends nobody's
    /// session. Other session types need the slot.
    pub(crate) fn open(slot: Option<&SessionSlot>) -> Result<Session<S>, OpenError> {
        if is_sessionless::<S>() {
            return Ok(Session::detached(S::default()));
        }
        let Some(slot) = slot else {
            return Err(OpenError::NoMiddleware(std::any::type_name::<S>()));
        };
        let lent = {
            let mut guard = slot.lock();
            match std::mem::replace(&mut *guard, Slot::Opened) {
                Slot::Lent(lent) => lent,
                other => {
                    *guard = other;
                    return Err(OpenError::AlreadyOpened);
                }
            }
        };
        let decoded = match lent.json.as_deref().map(decode_data::<S>) {
            None => Some(S::default()),
            Some(Ok(data)) => Some(data),
            Some(Err(error)) => {
                tracing::warn!(%error, session = ?lent.id, "stored session does not decode; starting a new one");
                None
            }
        };
        // A baseline of `None` compares the data with the default when it is given back.
        let (data, id, is_new, baseline) = match decoded {
            Some(data) => {
                let is_new = lent.json.is_none();
                let baseline = lent.json.filter(|json| json.as_slice() != DEFAULT_DATA);
                (data, lent.id, is_new, baseline)
            }
            None => (S::default(), PendingId::default(), true, None),
        };
        if let Some(live) = &lent.live {
            live.set(Some(id.get_or_draw()?));
        }
        Ok(Session {
            data,
            reached: AtomicBool::new(false),
            state: Some(Box::new(SessionState {
                id,
                is_new,
                cycled_from: None,
                force_save: false,
                invalidated: false,
                baseline,
                live: lent.live,
                flashes: lent.flashes,
                flashes_changed: false,
                flashes_taken: Vec::new(),
                flashes_added: Vec::new(),
            })),
        })
    }

    /// Hands the session back to the middleware that lent it, as JSON; the session is
    /// detached afterwards. In place: the request that holds it is not moved to take it out.
    ///
    /// # Errors
    /// The data does not serialize; nothing is handed back then, so nothing is saved.
    pub(crate) fn give_back(
        &mut self,
        slot: &SessionSlot,
        default: &DefaultJson,
    ) -> serde_json::Result<()> {
        let Some(state) = self.state.take() else {
            return Ok(());
        };
        let (json, changed) = match &state.baseline {
            // Never reached by the handler: the data is what was loaded (or the default), and
            // the stored JSON (`DEFAULT_DATA` for a new session) stands for it.
            _ if !self.reached.load(Ordering::Relaxed) && !state.invalidated => (None, false),
            // Ended: what counts is whether anything was written after `invalidate()`, which
            // then starts a new session.
            _ if state.invalidated => {
                let json = serde_json::to_vec(&self.data)?;
                let changed = json != default.get::<S>()?;
                (Some(json), changed)
            }
            // The common case, a loaded session the handler only read: compared with what was
            // loaded while serializing, without building the JSON.
            Some(baseline) if !state.force_save && state.cycled_from.is_none() => {
                if serializes_to(&self.data, baseline)? {
                    (None, false)
                } else {
                    (Some(serde_json::to_vec(&self.data)?), true)
                }
            }
            Some(baseline) => {
                let json = serde_json::to_vec(&self.data)?;
                let changed = json != *baseline;
                (Some(json), changed)
            }
            // A new session (or one stored as the default): compared with the default's JSON
            // the same way; unchanged, `DEFAULT_DATA` stands for it.
            None => {
                if serializes_to(&self.data, default.get::<S>()?)? {
                    (None, false)
                } else {
                    (Some(serde_json::to_vec(&self.data)?), true)
                }
            }
        };
        *slot.lock() = Slot::Returned(ReturnedSession {
            state,
            json,
            changed,
        });
        Ok(())
    }
}

impl<S> Deref for Session<S> {
    type Target = S;
    fn deref(&self) -> &S {
        self.reached.store(true, Ordering::Relaxed);
        &self.data
    }
}

impl<S> DerefMut for Session<S> {
    fn deref_mut(&mut self) -> &mut S {
        *self.reached.get_mut() = true;
        &mut self.data
    }
}

/// Shows the id's hash prefix and state, never the data: `{:?}` of a request must not put
/// personal data or tokens kept in the session into logs.
impl<S> fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            // Only an id already drawn: formatting draws none.
            .field("id", &self.state.as_ref().and_then(|s| s.id.get()))
            .field("is_new", &self.is_new())
            .finish_non_exhaustive()
    }
}

/// In querystring mode, the session id that URLs generated during the request carry: the
/// middleware sets it, `cycle_id()` and `invalidate()` change it, `url()` reads it.
#[derive(Clone)]
pub(crate) struct LiveSessionId {
    param: Arc<str>,
    ids: Arc<LiveIds>,
}

/// The id URLs carry now, and the one they started with.
struct LiveIds {
    now: Mutex<Option<String>>,
    /// What the middleware restores when the request saved nothing.
    first: Option<String>,
}

impl LiveSessionId {
    /// A live id carried in query parameter `param`, starting at `id`.
    pub(crate) fn new(param: Arc<str>, id: Option<&SessionId>) -> Self {
        let first = id.map(SessionId::to_string);
        LiveSessionId {
            param,
            ids: Arc::new(LiveIds {
                now: Mutex::new(first.clone()),
                first,
            }),
        }
    }

    /// The query parameter's name.
    pub(crate) fn param(&self) -> &str {
        &self.param
    }

    /// The id URLs must carry now, if the session is live.
    pub(crate) fn current(&self) -> Option<String> {
        self.lock().clone()
    }

    /// Sets the id URLs carry (`None` once the session ended).
    pub(crate) fn set(&self, id: Option<&SessionId>) {
        *self.lock() = id.map(SessionId::to_string);
    }

    /// Points URLs back at the id the request started with.
    pub(crate) fn restore_first(&self) {
        *self.lock() = self.ids.first.clone();
    }

    fn lock(&self) -> MutexGuard<'_, Option<String>> {
        // A poisoned lock only means a thread panicked while writing a plain Option: the value is usable.
        self.ids.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for LiveSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveSessionId")
            .field("param", &self.param)
            .finish_non_exhaustive()
    }
}

/// One request's session on loan from the middleware to the handler layer, in the request's
/// context.
#[derive(Clone, Debug)]
pub(crate) struct SessionSlot(Arc<Mutex<Slot>>);

#[derive(Debug)]
enum Slot {
    Lent(LentSession),
    Opened,
    Returned(ReturnedSession),
}

/// What the middleware lends: the id and the stored data's JSON (`None` for a new session;
/// [`DEFAULT_DATA`] for a session stored before any handler saw it).
#[derive(Debug)]
pub(crate) struct LentSession {
    /// Not drawn yet for a new session in cookie mode.
    pub(crate) id: PendingId,
    pub(crate) json: Option<Vec<u8>>,
    pub(crate) live: Option<LiveSessionId>,
    /// The stored flash messages.
    pub(crate) flashes: Vec<Flash>,
}

/// What the handler layer gives back: the session's state and its data as JSON.
#[derive(Debug)]
pub(crate) struct ReturnedSession {
    pub(crate) state: Box<SessionState>,
    /// The data's JSON; `None` when the data came back as it was lent (unchanged, or never
    /// reached by the handler) and [`data`](Self::data) stands for it.
    pub(crate) json: Option<Vec<u8>>,
    /// Whether the JSON differs from what was loaded (from the default, for a new session).
    pub(crate) changed: bool,
}

impl ReturnedSession {
    /// Whether anything of the session must be written: its data, or its flash messages.
    pub(crate) fn has_changes(&self) -> bool {
        self.changed || self.state.flashes_changed
    }

    /// The flash messages to store with the session.
    pub(crate) fn flashes(&self) -> &[Flash] {
        &self.state.flashes
    }

    /// The data's JSON as the request loaded it ([`DEFAULT_DATA`] for a new session, or one that
    /// was stored before any handler saw it): the base of a merge with a concurrent save.
    pub(crate) fn loaded(&self) -> &[u8] {
        self.state.baseline.as_deref().unwrap_or(DEFAULT_DATA)
    }

    /// The data to store: the new JSON, or what was loaded when it came back unchanged.
    pub(crate) fn data(&self) -> &[u8] {
        match (&self.json, &self.state.baseline) {
            (Some(json), _) => json,
            (None, Some(baseline)) => baseline,
            (None, None) => DEFAULT_DATA,
        }
    }
}

/// How a lent session came back once the inner endpoint answered.
#[derive(Debug)]
pub(crate) enum SlotOutcome {
    /// No handler layer opened it (a 404 before any dispatcher, an endpoint without sessions).
    Unopened(LentSession),
    /// Opened and never given back: the handler panicked or answered 5xx, or its data did not
    /// serialize. Nothing is saved.
    Lost,
    /// Given back after the handler ran.
    Returned(ReturnedSession),
}

impl SessionSlot {
    /// A slot lending `lent`.
    pub(crate) fn lend(lent: LentSession) -> Self {
        SessionSlot(Arc::new(Mutex::new(Slot::Lent(lent))))
    }

    /// Takes the outcome out of the slot.
    pub(crate) fn outcome(&self) -> SlotOutcome {
        match std::mem::replace(&mut *self.lock(), Slot::Opened) {
            Slot::Lent(lent) => SlotOutcome::Unopened(lent),
            Slot::Opened => SlotOutcome::Lost,
            Slot::Returned(returned) => SlotOutcome::Returned(returned),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Poisoning needs a panic while the lock is held, and no code here panics under it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
