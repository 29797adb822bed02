//! [`HeldRequest`]: a request held between its handler and its session save, for tests of
//! concurrent requests of one session.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::{TestApp, TestResponse};
use crate::exchange::save_gate::GateControl;

/// The future of a request being sent.
type Sending<'a> = Pin<Box<dyn Future<Output = TestResponse> + Send + 'a>>;

/// A request held by [`TestRequest::send_until_save`](super::TestRequest::send_until_save):
/// its handler has answered and its session is not saved yet. Run other requests, then
/// [`finish`](Self::finish) it.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::session::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Prefs { theme: String, lang: String }
///
/// #[route("/theme/<name>", POST)]
/// async fn set_theme(req: &mut Request<Prefs>, name: String) -> &'static str {
///     req.session.theme = name;
///     "ok"
/// }
///
/// #[route("/lang/<name>", POST)]
/// async fn set_lang(req: &mut Request<Prefs>, name: String) -> &'static str {
///     req.session.lang = name;
///     "ok"
/// }
/// dispatcher_app!(App = [set_theme, set_lang]);
///
/// let app = pesto::session_middleware(MemoryStore::new()).wrap(App::new());
/// let sessions = app.inspector();
/// let client = pesto::TestApp::new(app).with_sessions(sessions);
/// client.post("/lang/en").send();
/// // Both requests load the session before either saves it.
/// let slow = client.post("/theme/dark").send_until_save();
/// assert!(slow.is_held());
/// client.post("/lang/fr").send();
/// assert_eq!(slow.finish().body_text(), "ok");
/// // Neither change is lost: the later save merged its field into the earlier one.
/// let prefs: serde_json::Value = client.session().expect("a session");
/// assert_eq!(prefs, serde_json::json!({"theme": "dark", "lang": "fr"}));
/// ```
#[must_use = "a held request saves nothing until finished"]
pub struct HeldRequest<'a> {
    app: &'a TestApp,
    state: State<'a>,
}

enum State<'a> {
    /// Waiting at the save; dropping `release` (or sending on it) lets it go on.
    Held {
        sending: Sending<'a>,
        release: tokio::sync::oneshot::Sender<()>,
    },
    /// It ran to its end without reaching a session save.
    Done(TestResponse),
}

impl fmt::Debug for HeldRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldRequest")
            .field("held", &self.is_held())
            .finish_non_exhaustive()
    }
}

impl<'a> HeldRequest<'a> {
    /// Drives `sending` until the session middleware holds it, or to its end.
    pub(super) async fn start(
        app: &'a TestApp,
        mut sending: Sending<'a>,
        control: GateControl,
    ) -> HeldRequest<'a> {
        let GateControl { reached, release } = control;
        let state = tokio::select! {
            // Checked first: a request that reached the gate is pending there, never done.
            biased;
            got_there = reached => match got_there {
                Ok(()) => State::Held { sending, release },
                // The gate was dropped unused (the request never met the middleware).
                Err(_) => State::Done(sending.await),
            },
            response = &mut sending => State::Done(response),
        };
        HeldRequest { app, state }
    }

    /// Whether the request is held at its session save (false: it ended without reaching one).
    pub fn is_held(&self) -> bool {
        matches!(self.state, State::Held { .. })
    }

    /// Lets the request save its session and finish; returns its response.
    ///
    /// # Panics
    /// Panics when called inside an async runtime (use [`finish_async`](Self::finish_async)).
    pub fn finish(self) -> TestResponse {
        let app = self.app;
        app.block_on(self.finish_async())
    }

    /// [`finish`](Self::finish), from async code.
    pub async fn finish_async(self) -> TestResponse {
        match self.state {
            State::Held { sending, release } => {
                // The request may have given up waiting (its future is still ours): ignore.
                let _ = release.send(());
                sending.await
            }
            State::Done(response) => response,
        }
    }
}
