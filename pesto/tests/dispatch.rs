//! Dispatch through the public API: patterns and converters, specificity, HEAD/405/404, slashes,
//! mounting and combining (issue 2, requirements 1, 4 and 7).

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

#[test]
fn the_recipe_routes_answer() {
    let app = app();
    let r = app.get("/recipes").send();
    assert_eq!(r.status(), 200);
    assert_eq!(body(&r), "This is the recipe index page");
    assert_eq!(
        body(&app.get("/recipes/fish/7").send()),
        "recipe #7 in fish"
    );
    assert_eq!(app.get("/contact-form").send().status(), 200);
    let r = app.post("/contact-form").form(&[("a", "b")]).send();
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("http://localhost/recipes"));
}

#[test]
fn parameters_inside_a_segment_and_path_converter() {
    let app = app();
    assert_eq!(
        body(&app.get("/documents/a/b/report.v2.pdf").send()),
        "dir=a/b name=report.v2"
    );
    assert_eq!(body(&app.get("/documents/x/y.pdf").send()), "dir=x name=y");
    assert_eq!(app.get("/documents/y.pdf").send().status(), 404);
    assert_eq!(app.get("/documents/x/y.txt").send().status(), 404);
}

#[test]
fn captured_values_are_percent_decoded() {
    let app = app();
    assert_eq!(
        body(&app.get("/recipes/fish%20%26%20chips/7").send()),
        "recipe #7 in fish & chips"
    );
    assert_eq!(
        body(&app.get("/recipes/caf%C3%A9/1").send()),
        "recipe #1 in café"
    );
    assert_eq!(body(&app.get("/default/a%2Fb").send()), "name:a/b");
    // Not UTF-8 once decoded: no route can match it.
    assert_eq!(app.get("/default/%FF").send().status(), 404);
}

#[test]
fn any_converter_accepts_only_listed_values() {
    let app = app();
    assert_eq!(body(&app.get("/help/faq").send()), "help:faq");
    assert_eq!(app.get("/help/other").send().status(), 404);
}

#[test]
fn int_converter_takes_sign_and_digits_and_overflow_is_404() {
    let app = app();
    assert_eq!(body(&app.get("/signed/-42").send()), "signed:-42");
    assert_eq!(body(&app.get("/signed/+42").send()), "signed:42");
    assert_eq!(app.get("/signed/4x").send().status(), 404);
    assert_eq!(body(&app.get("/small/255").send()), "small:255");
    // 256 matches `int` but does not fit the handler's u8: 404, not 500 (requirement 1).
    assert_eq!(app.get("/small/256").send().status(), 404);
    assert_eq!(app.get("/small/-1").send().status(), 404);
    assert_eq!(
        app.get("/recipes/fish/99999999999999999999")
            .send()
            .status(),
        404
    );
}

#[test]
fn user_defined_converter_is_more_specific_than_unicode() {
    let app = app();
    assert_eq!(
        body(&app.get("/articles/hello-world").send()),
        "article:hello-world"
    );
    assert_eq!(
        body(&app.get("/articles/Hello%20World").send()),
        "title:Hello World"
    );
}

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
        assert_eq!(body(&app.get("/p/new").send()), "literal");
        assert_eq!(body(&app.get("/p/v2").send()), "mixed:2");
        assert_eq!(body(&app.get("/p/12").send()), "int:12");
        assert_eq!(body(&app.get("/p/news").send()), "unicode:news");
        assert_eq!(body(&app.get("/p/a/b").send()), "path:a/b");
    }
}

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
    let app = app();
    let r = app.delete("/contact-form").send();
    assert_eq!(r.status(), 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    let r = app.post("/recipes").send();
    assert_eq!(r.status(), 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(app.get("/nothing/here").send().status(), 404);
}

#[test]
fn trailing_slash_and_double_slash_redirect_for_get_only() {
    let app = app();
    let r = app.get("/recipes/").send();
    assert_eq!(r.status(), 308);
    assert_eq!(r.header("location"), Some("http://localhost/recipes"));
    let r = app.get("/recipes//fish/7?x=1").send();
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.header("location"),
        Some("http://localhost/recipes/fish/7?x=1")
    );
    // Under a mount path the redirect keeps it.
    let r = app.get("/recipes/").script_name("/cook").send();
    assert_eq!(r.header("location"), Some("http://localhost/cook/recipes"));
    // Other methods are not redirected (a body would be re-sent blindly).
    assert_eq!(app.post("/contact-form/").send().status(), 404);
    // Paths that stay unmatched after normalising are plain 404s.
    assert_eq!(app.get("//nothing/").send().status(), 404);
}

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
