//! [`Json<T>`]: a JSON body deserialized, and a JSON answer.

use std::ops::Deref;

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::FromRequest;
use crate::exchange::body::content_type;
use crate::exchange::{ErrAnswer, IntoResponse, Request, Response};

/// A JSON body deserialized into `T`, as a handler parameter; and, as a return type, `T`
/// serialized as a JSON answer.
///
/// The body's `Content-Type` must be `application/json` (or any `…+json`): another is answered
/// `415 Unsupported Media Type`. Malformed JSON is answered `400 Bad Request`, well-formed JSON
/// that does not fit `T` `422 Unprocessable Entity`, each naming the problem.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{Json, TestApp};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct NewNote { text: String }
/// #[derive(Serialize)]
/// struct Note { id: u32, text: String }
///
/// #[route("/notes", POST)]
/// async fn create(req: &mut Request, note: Json<NewNote>) -> Json<Note> {
///     Json(Note { id: 1, text: note.0.text })
/// }
/// dispatcher_app!(App = [create]);
///
/// let app = TestApp::new(App::new());
/// let made = app.post("/notes").json(&serde_json::json!({"text": "basil"})).send();
/// assert_eq!(made.body_text(), r#"{"id":1,"text":"basil"}"#);
/// assert_eq!(made.header("content-type"), Some("application/json"));
/// assert_eq!(app.post("/notes").json(&serde_json::json!({"txt": 1})).send().status(), 422);
/// assert_eq!(app.post("/notes").form(&[("text", "basil")]).send().status(), 415);
/// ```
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The deserialized value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Why a [`Json`] guard failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonRejection {
    /// The body is not declared as JSON (415).
    NotJson,
    /// The body is not well-formed JSON (400), with the parser's reason.
    Malformed(String),
    /// Well-formed JSON that does not fit the type (422), with serde's reason.
    Invalid(String),
}

impl ErrAnswer for JsonRejection {}

impl IntoResponse for JsonRejection {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            JsonRejection::NotJson => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a JSON body (Content-Type: application/json)".to_owned(),
            ),
            JsonRejection::Malformed(why) => {
                (StatusCode::BAD_REQUEST, format!("malformed JSON: {why}"))
            }
            JsonRejection::Invalid(why) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid JSON: {why}"),
            ),
        };
        let reason = status.canonical_reason().unwrap_or_default();
        Response::text(format!("{} {reason}\n{text}\n", status.as_u16())).with_status(status)
    }
}

/// `application/json`, or a structured syntax suffix such as `application/problem+json`.
fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

impl<S: Send, T: DeserializeOwned + Send> FromRequest<S> for Json<T> {
    type Rejection = JsonRejection;

    async fn from_request(req: &mut Request<S>) -> Result<Self, JsonRejection> {
        if !content_type(req.headers()).as_deref().is_some_and(is_json) {
            return Err(JsonRejection::NotJson);
        }
        serde_json::from_slice(req.body()).map(Json).map_err(|e| {
            if e.is_data() {
                JsonRejection::Invalid(e.to_string())
            } else {
                JsonRejection::Malformed(e.to_string())
            }
        })
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::json(&self.0)
    }
}
