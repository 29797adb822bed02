//! Dispatch through the public API, as described in `docs/dispatch.md`: patterns and converters,
//! which route wins, HEAD/405/404, slashes, mounting and combining.
//!
//! Which route answers a request is written as [`DispatchTest`] tables (after matchit's
//! `tests/match.rs`); handler behaviour, mounting and URLs are told as ordinary tests.

mod support;

use pesto::prelude::*;
use pesto::TestApp;
use pesto::{Mounts, TestResponse};

#[route("/recipes", GET)]
async fn recipe_index(_req: &mut Request) -> Response {
    Response::text("This is the recipe index page")
}

#[route("/recipes/<category:unicode>/<id:int>", GET)]
async fn show_recipe(_req: &mut Request, category: String, id: u32) -> String {
    format!("recipe #{id} in {category}")
}

#[route("/contact-form", GET)]
async fn contact_form(_req: &mut Request) -> Response {
    Response::html("<form method=post></form>")
}

#[route("/contact-form", POST)]
async fn contact_form_submit(_req: &mut Request) -> Response {
    Response::redirect(recipe_index.url())
}

#[route("/documents/<dir:path>/<name:unicode>.pdf", GET)]
async fn document(_req: &mut Request, dir: String, name: String) -> String {
    format!("dir={dir} name={name}")
}

#[route("/help/<page:any('about', 'faq')>", GET)]
async fn help(_req: &mut Request, page: String) -> String {
    format!("help:{page}")
}

#[route("/small/<n:int>", GET)]
async fn small(_req: &mut Request, n: u8) -> String {
    format!("small:{n}")
}

#[route("/signed/<n:int>", GET)]
async fn signed(_req: &mut Request, n: i64) -> String {
    format!("signed:{n}")
}

#[route("/default/<name>", GET)]
async fn default_converter(_req: &mut Request, name: String) -> String {
    format!("name:{name}")
}

/// Lower-case ASCII words joined by dashes.
#[derive(Debug)]
pub struct Slug;
impl pesto::Converter for Slug {
    fn matches(value: &str) -> bool {
        value
            .split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
    }
}

#[route("/articles/<slug:Slug>", GET)]
async fn article(_req: &mut Request, slug: String) -> String {
    format!("article:{slug}")
}

#[route("/articles/<title>", GET)]
async fn article_title(_req: &mut Request, title: String) -> String {
    format!("title:{title}")
}

dispatcher_app!(
    App = [
        recipe_index,
        show_recipe,
        contact_form,
        contact_form_submit,
        document,
        help,
        small,
        signed,
        default_converter,
        article,
        article_title,
    ]
);

fn app() -> TestApp {
    TestApp::new(App::new())
}

fn body(r: &TestResponse) -> String {
    r.body_text()
}

/// What a request must get back.
#[derive(Debug)]
enum Answer {
    /// `200 OK` with this body.
    Body(&'static str),
    /// `404 Not Found`.
    NotFound,
    /// `405 Method Not Allowed` with this `Allow` header.
    NotAllowed(&'static str),
    /// `308 Permanent Redirect` to this location.
    Redirect(&'static str),
}
use Answer::*;

/// Requests sent to one app, each with the answer it must get.
struct DispatchTest {
    app: TestApp,
    requests: Vec<(Method, &'static str, Answer)>,
}

impl DispatchTest {
    fn run(self) {
        for (method, path, answer) in self.requests {
            let r = self.app.request(method.clone(), path).send();
            let context = format!("{method} {path}");
            match answer {
                Body(expected) => {
                    assert_eq!(r.status(), 200, "{context}");
                    assert_eq!(body(&r), expected, "{context}");
                }
                NotFound => assert_eq!(r.status(), 404, "{context}"),
                NotAllowed(allow) => {
                    assert_eq!(r.status(), 405, "{context}");
                    assert_eq!(r.header("allow"), Some(allow), "{context}");
                }
                Redirect(location) => {
                    assert_eq!(r.status(), 308, "{context}");
                    assert_eq!(r.header("location"), Some(location), "{context}");
                }
            }
        }
    }
}

// Patterns and converters: which handler answers, with what.

#[test]
fn the_recipe_routes_answer() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::GET,
                "/recipes",
                Body("This is the recipe index page"),
            ),
            (Method::GET, "/recipes/fish/7", Body("recipe #7 in fish")),
            (
                Method::GET,
                "/contact-form",
                Body("<form method=post></form>"),
            ),
        ],
    }
    .run();
}

#[test]
fn the_contact_form_post_redirects_to_the_index() {
    let r = app().post("/contact-form").form(&[("a", "b")]).send();
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("http://localhost/recipes"));
}

#[test]
fn parameters_inside_a_segment_and_path_converter() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::GET,
                "/documents/a/b/report.v2.pdf",
                Body("dir=a/b name=report.v2"),
            ),
            (Method::GET, "/documents/x/y.pdf", Body("dir=x name=y")),
            (Method::GET, "/documents/y.pdf", NotFound),
            (Method::GET, "/documents/x/y.txt", NotFound),
        ],
    }
    .run();
}

#[test]
fn captured_values_are_percent_decoded() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::GET,
                "/recipes/fish%20%26%20chips/7",
                Body("recipe #7 in fish & chips"),
            ),
            (
                Method::GET,
                "/recipes/caf%C3%A9/1",
                Body("recipe #1 in café"),
            ),
            (Method::GET, "/default/a%2Fb", Body("name:a/b")),
            // Not UTF-8 once decoded: no route can match it.
            (Method::GET, "/default/%FF", NotFound),
        ],
    }
    .run();
}

#[test]
fn any_converter_accepts_only_listed_values() {
    DispatchTest {
        app: app(),
        requests: vec![
            (Method::GET, "/help/faq", Body("help:faq")),
            (Method::GET, "/help/other", NotFound),
        ],
    }
    .run();
}

#[test]
fn int_converter_takes_sign_and_digits_and_overflow_is_404() {
    DispatchTest {
        app: app(),
        requests: vec![
            (Method::GET, "/signed/-42", Body("signed:-42")),
            (Method::GET, "/signed/+42", Body("signed:42")),
            (Method::GET, "/signed/4x", NotFound),
            (Method::GET, "/small/255", Body("small:255")),
            // 256 matches `int` but does not fit the handler's u8: 404, not 500
            // (docs/dispatch.md, "Patterns and converters").
            (Method::GET, "/small/256", NotFound),
            (Method::GET, "/small/-1", NotFound),
            (Method::GET, "/recipes/fish/99999999999999999999", NotFound),
        ],
    }
    .run();
}

#[test]
fn user_defined_converter_is_more_specific_than_unicode() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::GET,
                "/articles/hello-world",
                Body("article:hello-world"),
            ),
            (
                Method::GET,
                "/articles/Hello%20World",
                Body("title:Hello World"),
            ),
        ],
    }
    .run();
}

// Which route wins.

// Declared in the opposite order to their specificity, to show the order does not matter.
#[route("/p/<rest:path>", GET)]
async fn p_path(_req: &mut Request, rest: String) -> String {
    format!("path:{rest}")
}
#[route("/p/<x>", GET)]
async fn p_unicode(_req: &mut Request, x: String) -> String {
    format!("unicode:{x}")
}
#[route("/p/<n:int>", GET)]
async fn p_int(_req: &mut Request, n: i32) -> String {
    format!("int:{n}")
}
#[route("/p/v<n:int>", GET)]
async fn p_mixed(_req: &mut Request, n: i32) -> String {
    format!("mixed:{n}")
}
#[route("/p/new", GET)]
async fn p_literal(_req: &mut Request) -> &'static str {
    "literal"
}
dispatcher_app!(Forward = [p_path, p_unicode, p_int, p_mixed, p_literal]);
dispatcher_app!(Backward = [p_literal, p_mixed, p_int, p_unicode, p_path]);

#[test]
fn most_specific_route_wins_whatever_the_declaration_order() {
    for app in [TestApp::new(Forward::new()), TestApp::new(Backward::new())] {
        DispatchTest {
            app,
            requests: vec![
                (Method::GET, "/p/new", Body("literal")),
                (Method::GET, "/p/v2", Body("mixed:2")),
                (Method::GET, "/p/12", Body("int:12")),
                (Method::GET, "/p/news", Body("unicode:news")),
                (Method::GET, "/p/a/b", Body("path:a/b")),
            ],
        }
        .run();
    }
}

// HEAD, 405 and 404.

#[test]
fn head_is_answered_by_get_routes_without_a_body() {
    let app = app();
    let get = app.get("/recipes").send();
    let head = app.head("/recipes").send();
    assert_eq!(head.status(), get.status());
    assert!(head.body().is_empty());
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(
        head.header("content-length"),
        Some(get.body().len().to_string().as_str())
    );
}

#[test]
fn other_method_gets_405_with_allow_and_no_match_gets_404() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::DELETE,
                "/contact-form",
                NotAllowed("GET, HEAD, POST"),
            ),
            (Method::POST, "/recipes", NotAllowed("GET, HEAD")),
            (Method::GET, "/nothing/here", NotFound),
        ],
    }
    .run();
}

// Trailing slashes and `//`.

#[test]
fn trailing_slash_and_double_slash_redirect_for_get_only() {
    DispatchTest {
        app: app(),
        requests: vec![
            (
                Method::GET,
                "/recipes/",
                Redirect("http://localhost/recipes"),
            ),
            (
                Method::GET,
                "/recipes//fish/7?x=1",
                Redirect("http://localhost/recipes/fish/7?x=1"),
            ),
            // Other methods are not redirected (a body would be re-sent blindly).
            (Method::POST, "/contact-form/", NotFound),
            // Paths that stay unmatched after normalising are plain 404s.
            (Method::GET, "//nothing/", NotFound),
        ],
    }
    .run();
}

#[test]
fn the_slash_redirect_keeps_the_mount_path() {
    let r = app().get("/recipes/").script_name("/cook").send();
    assert_eq!(r.header("location"), Some("http://localhost/cook/recipes"));
}

// Mounting and combining.

#[route("/", GET)]
async fn where_am_i(req: &mut Request) -> String {
    format!(
        "script={} path={} url={}",
        req.script_name(),
        req.path_info(),
        where_am_i.url()
    )
}
#[route("/go", GET)]
async fn go(_req: &mut Request) -> Response {
    Response::redirect(where_am_i.url())
}
dispatcher_app!(Mounted = [where_am_i, go]);

#[route("/other", GET)]
async fn other(_req: &mut Request) -> &'static str {
    "other"
}
dispatcher_app!(Other = [other]);

#[test]
fn mounting_sets_script_name_and_url_prefix() {
    let app = TestApp::new(pesto::mount("/shop", Mounted::new()));
    assert_eq!(
        body(&app.get("/shop/").send()),
        "script=/shop path=/ url=/shop/"
    );
    assert_eq!(
        body(&app.get("/shop").send()),
        "script=/shop path=/ url=/shop/"
    );
    let r = app.get("/shop/go").send();
    assert_eq!(r.header("location"), Some("http://localhost/shop/"));
    assert_eq!(app.get("/shopping/").send().status(), 404);
    assert_eq!(app.get("/").send().status(), 404);
}

#[test]
fn test_app_script_name_behaves_like_a_mount() {
    let app = TestApp::new(Mounted::new());
    assert_eq!(
        body(&app.get("/").script_name("/foo").send()),
        "script=/foo path=/ url=/foo/"
    );
}

#[test]
fn apps_side_by_side_and_combined() {
    let site = Mounts::new()
        .mount("/a", Mounted::new())
        .mount("/", Other::new());
    let app = TestApp::new(site);
    assert_eq!(body(&app.get("/a/").send()), "script=/a path=/ url=/a/");
    assert_eq!(body(&app.get("/other").send()), "other");

    let combined = Mounted::new().combine(Other::new()).expect("no conflicts");
    let app = TestApp::new(combined);
    assert_eq!(body(&app.get("/other").send()), "other");
    assert_eq!(body(&app.get("/").send()), "script= path=/ url=/");
}

#[test]
fn combining_conflicting_apps_is_an_error_naming_both_handlers() {
    let err = Other::new().combine(Other::new()).expect_err("conflict");
    let message = err.to_string();
    assert!(
        message.contains("`other`") && message.contains("GET /other"),
        "{message}"
    );
}

// URL generation.

#[test]
fn url_helpers_are_typed_and_encoded() {
    assert_eq!(recipe_index.url(), "/recipes");
    assert_eq!(show_recipe.url("fish", 7), "/recipes/fish/7");
    assert_eq!(
        show_recipe.url(String::from("a/b c"), 7_u32),
        "/recipes/a%2Fb%20c/7"
    );
    assert_eq!(document.url("x/y z", "r"), "/documents/x/y%20z/r.pdf");
    let url = show_recipe
        .url("fish", 7)
        .query("page", 2)
        .query("q", "a&b")
        .fragment("top");
    assert_eq!(url, "/recipes/fish/7?page=2&q=a%26b#top");
    assert_eq!(
        url.absolute(),
        "http://localhost/recipes/fish/7?page=2&q=a%26b#top"
    );
}

#[route("/abs", GET)]
async fn absolute(_req: &mut Request) -> String {
    show_recipe.url("fish", 7).absolute()
}
dispatcher_app!(Abs = [absolute, show_recipe]);

#[test]
fn absolute_urls_use_the_request_scheme_host_and_mount() {
    let app = TestApp::new(Abs::new());
    let r = app
        .get("/abs")
        .script_name("/cook")
        .host("example.org:8080")
        .https()
        .send();
    assert_eq!(body(&r), "https://example.org:8080/cook/recipes/fish/7");
}

// ---- The app's own answers to unmatched requests ----------------------------------------

mod fallbacks {
    use pesto::prelude::*;
    use pesto::session::{MemoryStore, SessionMap};
    use pesto::{session_middleware, TestApp, Unmatched};

    #[route("/", GET)]
    async fn front(_req: &mut Request<SessionMap>) -> &'static str {
        "front"
    }

    #[route("/items/<id:int>", GET)]
    async fn item(_req: &mut Request<SessionMap>, id: u32) -> String {
        format!("item {id}")
    }

    async fn not_found(req: &mut Request<SessionMap>, why: Unmatched) -> Response {
        let misses = req
            .session
            .get("misses")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            + 1;
        req.session.insert("misses".to_owned(), misses.into());
        let body = format!(
            "{why:?} {} miss {misses}, home is {}",
            req.path(),
            front.url()
        );
        Response::html(body).with_status(why.status())
    }

    dispatcher_app!(Site = [front, item], fallback = not_found);

    #[test]
    fn the_fallback_answers_404_405_and_bad_parameters_with_the_session() {
        let app = pesto::mount(
            "/shop",
            session_middleware(MemoryStore::new()).wrap(Site::new()),
        );
        let client = TestApp::new(app);
        let missing = client.get("/shop/nowhere").send();
        assert_eq!(missing.status(), 404);
        assert_eq!(
            missing.body_text(),
            "NotFound /shop/nowhere miss 1, home is /shop/"
        );
        assert!(
            missing.header("set-cookie").is_some(),
            "a new session's cookie is sent"
        );

        let wrong_method = client.post("/shop/").send();
        assert_eq!(wrong_method.status(), 405);
        assert_eq!(wrong_method.header("allow"), Some("GET, HEAD"));
        assert_eq!(
            wrong_method.body_text(),
            "MethodNotAllowed /shop/ miss 2, home is /shop/"
        );

        // `int` matches any digits; `u32` refuses this many.
        let bad = client.get("/shop/items/99999999999").send();
        assert_eq!(bad.status(), 404);
        assert_eq!(
            bad.body_text(),
            "BadParameter /shop/items/99999999999 miss 3, home is /shop/"
        );
        let letters = client.get("/shop/items/abc").send();
        assert_eq!(
            letters.body_text(),
            "NotFound /shop/items/abc miss 4, home is /shop/"
        );

        // Matched requests are untouched; a canonical-path redirect still comes first.
        assert_eq!(client.get("/shop/items/7").send().body_text(), "item 7");
        assert_eq!(client.get("/shop/items/7/").send().status(), 308);
        let head = client.head("/shop/nowhere").send();
        assert_eq!(head.status(), 404);
        assert!(head.body_text().is_empty());
    }

    dispatcher_app!(Plain = [front, item]);

    #[test]
    fn without_a_fallback_the_plain_pages_answer() {
        let client = TestApp::new(session_middleware(MemoryStore::new()).wrap(Plain::new()));
        assert_eq!(client.get("/nowhere").send().body_text(), "404 Not Found\n");
        assert_eq!(client.get("/items/99999999999").send().status(), 404);
        assert_eq!(client.post("/").send().header("allow"), Some("GET, HEAD"));
    }
}

// ---- url() of a route the app does not serve (debug builds) -----------------------------

mod forgotten_route {
    use pesto::prelude::*;
    use pesto::TestApp;

    #[route("/listed", GET)]
    async fn listed(_req: &mut Request) -> String {
        format!("{} {}", forgotten.url(), listed.url())
    }

    /// Not in `dispatcher_app!` below: its URL would 404.
    #[route("/forgotten", GET)]
    async fn forgotten(_req: &mut Request) -> &'static str {
        "never served"
    }

    dispatcher_app!(App = [listed]);

    #[test]
    #[cfg(debug_assertions)]
    fn url_of_a_route_the_app_does_not_serve_warns_once() {
        let (captured, _guard) = super::support::logs::capture();
        let app = TestApp::new(App::new());
        for _ in 0..3 {
            assert_eq!(app.get("/listed").send().body_text(), "/forgotten /listed");
        }
        let log = captured.text();
        assert_eq!(log.matches("does not serve").count(), 1, "{log}");
        assert!(
            log.contains("is `forgotten` missing from `dispatcher_app!`?"),
            "{log}"
        );
        assert!(!log.contains("`listed` missing"), "{log}");
    }
}
