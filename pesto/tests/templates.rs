//! Templates (feature `askama`; docs/pages.md, "Templates"): a `Page` of an askama template is an
//! escaped `text/html` response whose route links carry the mount path and, in querystring
//! mode, the session id, and which shows flash messages and the CSRF token it is given.
#![cfg(feature = "askama")]

mod support;

use askama::Template;
use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist, SessionMap};
use pesto::{session_middleware, CsrfToken, Flash, Page};
use support::session_client;

#[derive(Template)]
#[template(
    source = "{% for f in flashes %}<p class=\"{{ f.level.as_str() }}\">{{ f.message }}</p>{% endfor %}\
<form method=\"post\" action=\"{{ self::save.url() }}\">{{ csrf.hidden_input()|safe }}</form>",
    ext = "html"
)]
struct FormPage {
    flashes: Vec<Flash>,
    csrf: CsrfToken,
}

#[route("/form", GET)]
async fn form(req: &mut Request<SessionMap>, csrf: CsrfToken) -> Page<FormPage> {
    Page(FormPage {
        flashes: req.session.take_flashes(),
        csrf,
    })
}

#[route("/save", POST)]
async fn save(req: &mut Request<SessionMap>) -> Response {
    req.session.flash(FlashLevel::Success, "Saved <all> & more");
    Response::redirect(form.url())
}

dispatcher_app!(App = [form, save]);

#[test]
fn a_page_escapes_shows_flashes_once_and_links_inside_the_mount() {
    let client = session_client(
        session_middleware(MemoryStore::new()).wrap(pesto::mount("/app", App::new())),
    );
    let first = client.get("/app/form").send();
    assert_eq!(
        first.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = first.body_text();
    assert!(body.contains("action=\"/app/save\""), "{body}");
    assert!(
        body.contains("<input type=\"hidden\" name=\"csrf_token\" value=\""),
        "{body}"
    );
    client.post("/app/save").send();
    let shown = client.get("/app/form").send().body_text();
    assert!(
        shown.contains("<p class=\"success\">Saved &#60;all&#62; &#38; more</p>"),
        "{shown}"
    );
    assert!(!client.get("/app/form").send().body_text().contains("Saved"));
}

#[test]
fn in_querystring_mode_template_links_carry_the_id() {
    let client = session_client(
        session_middleware(MemoryStore::new())
            .persist(Persist::QueryString)
            .wrap(App::new()),
    );
    let page = client
        .get("/form")
        .follow_redirects(true)
        .send()
        .body_text();
    assert!(page.contains("action=\"/save?pesto_session="), "{page}");
}

#[test]
fn the_html_escaper_spells_entities_as_html_escape_does() {
    let text = "<b>Tom & 'Jerry'</b> \"é\"";
    let escaped = askama::filters::escape(text, pesto::HtmlEscaper)
        .map(|safe| safe.to_string())
        .expect("escaping cannot fail");
    assert_eq!(escaped, pesto::html_escape(text));
    assert_eq!(
        escaped,
        "&lt;b&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/b&gt; &quot;é&quot;"
    );
}
