//! [`Form<T>`]: an urlencoded or multipart form, deserialized.

use std::ops::Deref;

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::FromRequest;
use crate::exchange::body::content_type;
use crate::exchange::{ErrAnswer, IntoResponse, Request, Response};

/// The submitted form deserialized into `T` (with serde, as `serde_urlencoded` reads it), as a
/// handler parameter.
///
/// The body must be `application/x-www-form-urlencoded` or `multipart/form-data` (the text
/// fields; uploaded files stay in [`Request::files`]): another body is answered
/// `415 Unsupported Media Type`, fields that do not fit `T` (missing, or not a number where one
/// is expected) `422 Unprocessable Entity` naming the problem. A `GET` or `HEAD` reads the
/// query string instead, as an HTML form with `method="get"` sends it.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{Form, TestApp};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Login { username: String, password: String }
///
/// #[route("/login", POST)]
/// async fn login(req: &mut Request, form: Form<Login>) -> String {
///     format!("{} ({} characters of password)", form.username, form.password.len())
/// }
/// dispatcher_app!(App = [login]);
///
/// let app = TestApp::new(App::new());
/// let ok = app.post("/login").form(&[("username", "ada"), ("password", "secret")]).send();
/// assert_eq!(ok.body_text(), "ada (6 characters of password)");
/// assert_eq!(app.post("/login").form(&[("username", "ada")]).send().status(), 422);
/// assert_eq!(app.post("/login").json(&"ada").send().status(), 415);
/// ```
#[derive(Debug, Clone)]
pub struct Form<T>(pub T);

impl<T> Form<T> {
    /// The deserialized value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Why a [`Form`] guard failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum FormRejection {
    /// The body is not a form (415).
    NotAForm,
    /// The fields do not fit the type (422), with serde's reason.
    Invalid(String),
}

impl ErrAnswer for FormRejection {}

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        match self {
            FormRejection::NotAForm => Response::text(
                "415 Unsupported Media Type\nexpected a form: \
                 application/x-www-form-urlencoded or multipart/form-data\n",
            )
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            FormRejection::Invalid(why) => {
                Response::text(format!("422 Unprocessable Entity\ninvalid form: {why}\n"))
                    .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            }
        }
    }
}

impl<S: Send, T: DeserializeOwned + Send> FromRequest<S> for Form<T> {
    type Rejection = FormRejection;

    async fn from_request(req: &mut Request<S>) -> Result<Self, FormRejection> {
        let invalid = |e: serde_urlencoded::de::Error| FormRejection::Invalid(e.to_string());
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            let query = req.uri().query().unwrap_or_default();
            return serde_urlencoded::from_str(query).map(Form).map_err(invalid);
        }
        match content_type(req.headers()).as_deref() {
            Some("application/x-www-form-urlencoded") => serde_urlencoded::from_bytes(req.body())
                .map(Form)
                .map_err(invalid),
            Some("multipart/form-data") => {
                // The dispatcher parsed the fields already; serde_urlencoded reads them again
                // from their encoding, so numbers and booleans convert as for a plain form.
                let fields: Vec<(&str, &str)> = req.form().iter().collect();
                let encoded = serde_urlencoded::to_string(&fields)
                    .map_err(|e| FormRejection::Invalid(e.to_string()))?;
                serde_urlencoded::from_str(&encoded)
                    .map(Form)
                    .map_err(invalid)
            }
            _ => Err(FormRejection::NotAForm),
        }
    }
}
