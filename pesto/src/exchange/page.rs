//! [`Page`]: an askama template as a response (cargo feature `askama`).
//!
//! askama compiles templates into Rust: a template that names a field the struct does not have,
//! or calls a route's `url()` with the wrong arguments, does not build. Values are HTML-escaped
//! in `.html` templates. A route's reverse URL is reached from a template by its path —
//! `{{ self::show_note.url(note.id) }}` — and carries the mount path and, in querystring mode,
//! the session id, as it does in the handler (templates render inside the request). Flash
//! messages and the CSRF token reach a template as fields the handler fills
//! (`req.session.take_flashes()`, a `CsrfToken` guard).

use http::StatusCode;

use super::error::Error;
use super::response::{IntoResponse, Response};

/// An askama template rendered as a `text/html` response: return `Page(MyTemplate { .. })` from
/// a handler. A template that fails to render (a `Display` of a field failed) answers a logged
/// 500.
///
/// ```
/// use askama::Template;
/// use pesto::prelude::*;
/// use pesto::{Page, TestApp};
///
/// #[route("/notes/<id:int>", GET)]
/// async fn show_note(req: &mut Request, id: u32) -> String { format!("note {id}") }
///
/// #[derive(Template)]
/// #[template(
///     source = "<a href=\"{{ self::show_note.url(id) }}\">{{ title }}</a>",
///     ext = "html"
/// )]
/// struct NoteLink { id: u32, title: String }
///
/// #[route("/", GET)]
/// async fn index(req: &mut Request) -> Page<NoteLink> {
///     Page(NoteLink { id: 7, title: "<b>Shopping</b>".to_owned() })
/// }
/// dispatcher_app!(App = [index, show_note]);
///
/// fn main() {
///     let app = TestApp::new(pesto::mount("/app", App::new()));
///     let page = app.get("/app/").send();
///     assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
///     // The mount path is in the link, the title is escaped.
///     assert_eq!(
///         page.body_text(),
///         "<a href=\"/app/notes/7\">&#60;b&#62;Shopping&#60;/b&#62;</a>"
///     );
/// }
/// ```
///
/// A template that names a field its struct lacks does not build (here `E0609`, no such field):
///
/// ```compile_fail,E0609
/// use askama::Template;
///
/// #[derive(Template)]
/// #[template(source = "<h1>{{ title }}</h1><p>{{ subtitle }}</p>", ext = "html")]
/// struct Heading { title: String }
///
/// let _ = pesto::Page(Heading { title: "Notes".to_owned() });
/// ```
///
/// nor does a route's `url()` called with an argument of the wrong type (`E0308`):
///
/// ```compile_fail,E0308
/// use askama::Template;
/// use pesto::prelude::*;
///
/// #[route("/notes/<id:int>", GET)]
/// async fn show_note(req: &mut Request, id: u32) -> String { format!("note {id}") }
///
/// #[derive(Template)]
/// #[template(source = "<a href=\"{{ self::show_note.url(name) }}\">x</a>", ext = "html")]
/// struct NoteLink { name: String }
///
/// fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct Page<T>(pub T);

impl<T: askama::Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match Response::render(&self.0) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }
}

impl Response {
    /// A `text/html` response of `template`, rendered now; `?` in a handler returning
    /// `Result<_, pesto::Error>` turns a failure into a logged 500.
    ///
    /// # Errors
    /// The template failed to render.
    pub fn render<T: askama::Template>(template: &T) -> Result<Response, Error> {
        match template.render() {
            Ok(html) => Ok(Response::html(html)),
            Err(error) => {
                tracing::error!(%error, template = std::any::type_name::<T>(), "template failed to render");
                Err(Error::from(Response::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                )))
            }
        }
    }
}
