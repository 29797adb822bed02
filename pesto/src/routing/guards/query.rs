//! [`Query<T>`]: the query string, deserialized.

use std::ops::Deref;

use http::StatusCode;
use serde::de::DeserializeOwned;

use super::FromRequest;
use crate::exchange::{ErrAnswer, IntoResponse, Request, Response};

/// The query string deserialized into `T` (with serde, as `serde_urlencoded` reads it), as a
/// handler parameter; a query that does not fit `T` is answered `400 Bad Request`.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::{Query, TestApp};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Page { page: u32, q: Option<String> }
///
/// #[route("/search", GET)]
/// async fn search(req: &mut Request, query: Query<Page>) -> String {
///     format!("page {} of {:?}", query.page, query.q)
/// }
/// dispatcher_app!(App = [search]);
///
/// let app = TestApp::new(App::new());
/// assert_eq!(app.get("/search?page=2&q=basil").send().body_text(), "page 2 of Some(\"basil\")");
/// assert_eq!(app.get("/search?page=two").send().status(), 400);
/// ```
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The deserialized value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Why a [`Query`] guard failed: the query does not fit the type (400).
#[derive(Debug)]
pub struct QueryRejection(String);

impl ErrAnswer for QueryRejection {}

impl IntoResponse for QueryRejection {
    fn into_response(self) -> Response {
        Response::text(format!(
            "400 Bad Request\ninvalid query string: {}\n",
            self.0
        ))
        .with_status(StatusCode::BAD_REQUEST)
    }
}

impl<S: Send, T: DeserializeOwned + Send> FromRequest<S> for Query<T> {
    type Rejection = QueryRejection;

    async fn from_request(req: &mut Request<S>) -> Result<Self, QueryRejection> {
        let query = req.uri().query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|e| QueryRejection(e.to_string()))
    }
}
