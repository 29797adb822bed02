//! [`CsrfToken`] and [`CsrfVerified`]: the synchronizer token, an opt-in second defence against
//! cross-site request forgery beside the cross-origin check the session middleware makes by
//! default (docs/security.md, "Cross-site request forgery"; docs/pages.md, "CSRF").
//!
//! The token is derived from the session id — the SHA-256 of a fixed label and the id — so it
//! needs no storage, is the same on every server sharing the sessions, changes with
//! `cycle_id()`, and dies with the session. It reveals nothing of the id (a one-way hash) and is
//! not the session's store key (a hash of the id alone), so neither a page nor a store dump
//! gives the other.

use http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::FromRequest;
use crate::exchange::session_id::to_hex;
use crate::exchange::{ErrAnswer, IntoResponse, Request, Response, SessionId};

/// The form field the token travels in.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header the token travels in, for `fetch` and XHR.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session's CSRF token, to put in a form (`csrf.hidden_input()`) or a page's script.
///
/// Taking it makes sure the session is stored, so that in lazy mode the form's post finds the
/// session (and the token) it was rendered with.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{CsrfToken, CsrfVerified, TestApp};
/// use pesto::session::MemoryStore;
///
/// #[route("/transfer", GET)]
/// async fn transfer_form(req: &mut Request<SessionMap>, csrf: CsrfToken) -> Response {
///     Response::html(format!(
///         "<form method=post action=/transfer>{}<button>Send</button></form>",
///         csrf.hidden_input()
///     ))
/// }
///
/// #[route("/transfer", POST)]
/// async fn transfer(req: &mut Request<SessionMap>, _checked: CsrfVerified) -> &'static str {
///     "sent"
/// }
/// dispatcher_app!(App = [transfer_form, transfer]);
///
/// let client = TestApp::new(pesto::session_middleware(MemoryStore::new()).wrap(App::new()));
/// let form = client.get("/transfer").send().body_text();
/// let token = form.split("value=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
/// assert_eq!(client.post("/transfer").form(&[("csrf_token", token)]).send().body_text(), "sent");
/// assert_eq!(client.post("/transfer").form(&[("csrf_token", "forged")]).send().status(), 403);
/// assert_eq!(client.post("/transfer").send().status(), 403);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token for session `id`.
    pub fn for_session(id: &SessionId) -> CsrfToken {
        let digest = Sha256::new()
            .chain_update(b"pesto csrf token v1\0")
            .chain_update(id.as_str().as_bytes())
            .finalize();
        CsrfToken(to_hex(&digest))
    }

    /// The token's text: 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<input type="hidden" name="csrf_token" value="…">`, for a form.
    pub fn hidden_input(&self) -> String {
        // Hex digits need no escaping.
        format!(
            r#"<input type="hidden" name="{CSRF_FIELD}" value="{}">"#,
            self.0
        )
    }

    /// Whether `submitted` is this token, compared in constant time.
    pub fn matches(&self, submitted: &str) -> bool {
        self.0.as_bytes().ct_eq(submitted.as_bytes()).into()
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never in a log.
        f.write_str("CsrfToken(…)")
    }
}

impl std::fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Send> FromRequest<S> for CsrfToken {
    type Rejection = CsrfRefused;

    async fn from_request(req: &mut Request<S>) -> Result<Self, CsrfRefused> {
        let Some(id) = req.session.id() else {
            tracing::error!("CsrfToken taken by a handler without sessions: wrap the app in the session middleware");
            return Err(CsrfRefused::NoSession);
        };
        let token = CsrfToken::for_session(id);
        if req.session.is_new() {
            // A form rendered for a session that is not stored yet (lazy mode) must find it.
            req.session.save();
        }
        Ok(token)
    }
}

/// Proof that the request carried the session's CSRF token, in the `csrf_token` form field or
/// the `X-CSRF-Token` header: take it in the handlers of forms that change something. Without
/// it, or with another token, the handler does not run and the answer is `403`.
#[derive(Debug, Clone, Copy)]
pub struct CsrfVerified;

impl<S: Send> FromRequest<S> for CsrfVerified {
    type Rejection = CsrfRefused;

    async fn from_request(req: &mut Request<S>) -> Result<Self, CsrfRefused> {
        let Some(id) = req.session.id() else {
            tracing::error!("CsrfVerified taken by a handler without sessions: wrap the app in the session middleware");
            return Err(CsrfRefused::NoSession);
        };
        // A new session has no form of its own behind it: whatever token came, it is not its.
        let expected = (!req.session.is_new()).then(|| CsrfToken::for_session(id));
        let submitted = req
            .header(CSRF_HEADER)
            .or_else(|| req.get(CSRF_FIELD))
            .map(str::to_owned);
        match (expected, submitted) {
            (Some(expected), Some(submitted)) if expected.matches(&submitted) => Ok(CsrfVerified),
            (_, submitted) => {
                // The path and the reason only: never a token.
                tracing::info!(
                    path = %req.path(),
                    reason = if submitted.is_some() { "wrong token" } else { "no token" },
                    "CSRF token check failed; refused with 403"
                );
                Err(CsrfRefused::Token)
            }
        }
    }
}

/// Why a CSRF guard refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfRefused {
    /// The token is missing or is not the session's: `403`.
    Token,
    /// The handler has no session to take a token from (an app bug): `500`.
    NoSession,
}

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        match self {
            CsrfRefused::Token => Response::text(
                "403 Forbidden: this form's security token is missing or out of date. Reload the \
                 page and submit the form again.\n",
            )
            .with_status(StatusCode::FORBIDDEN),
            CsrfRefused::NoSession => Response::error_page(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl ErrAnswer for CsrfRefused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_per_session_and_neither_the_id_nor_its_key() {
        let (a, b) = (
            SessionId::generate().expect("rng"),
            SessionId::generate().expect("rng"),
        );
        let token = CsrfToken::for_session(&a);
        assert_eq!(token, CsrfToken::for_session(&a));
        assert_ne!(token, CsrfToken::for_session(&b));
        assert_eq!(token.as_str().len(), 64);
        assert_ne!(token.as_str(), a.as_str());
        assert_ne!(token.as_str(), a.key().as_str());
        assert!(token.matches(token.as_str()));
        assert!(!token.matches(&token.as_str()[..63]));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "CsrfToken(…)");
    }
}
