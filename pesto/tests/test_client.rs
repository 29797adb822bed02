//! TestApp itself: sync and async use, methods, script name, host, headers, the cookie jar,
//! redirects, and the response accessors.

use pesto::prelude::*;
use pesto::TestApp;

#[route("/set", GET)]
async fn set(_req: &mut Request) -> Response {
    Response::text("set")
        .with_cookie(cookie::Cookie::build(("a", "1")).path("/").build())
        .with_cookie(
            cookie::Cookie::build(("scoped", "2"))
                .path("/inner")
                .build(),
        )
}

#[route("/show", GET)]
async fn show(req: &mut Request) -> String {
    format!("a={:?} scoped={:?}", req.cookie("a"), req.cookie("scoped"))
}

#[route("/inner/show", GET)]
async fn inner_show(req: &mut Request) -> String {
    format!("a={:?} scoped={:?}", req.cookie("a"), req.cookie("scoped"))
}

#[route("/clear", GET)]
async fn clear(_req: &mut Request) -> Response {
    Response::text("cleared").remove_cookie("a")
}

#[route("/hop/<n:int>", GET, POST)]
async fn hop(req: &mut Request, n: u32) -> Response {
    if n == 0 {
        Response::text(format!("landed via {}", req.method()))
    } else {
        Response::redirect(hop.url(n - 1))
    }
}

#[route("/see-other", POST)]
async fn see_other(_req: &mut Request) -> Response {
    Response::redirect_with(StatusCode::SEE_OTHER, "/hop/0")
}

#[route("/temp", POST)]
async fn temp(_req: &mut Request) -> Response {
    Response::redirect_with(StatusCode::TEMPORARY_REDIRECT, "/hop/0")
}

#[route("/whoami", GET, PATCH)]
async fn whoami(req: &mut Request) -> String {
    format!(
        "{} {} {} {} {}",
        req.method(),
        req.host(),
        req.scheme(),
        req.script_name(),
        req.header("x-extra").unwrap_or("-")
    )
}

#[route("/loop", GET)]
async fn endless(_req: &mut Request) -> Response {
    Response::redirect(endless.url())
}

dispatcher_app!(App = [set, show, inner_show, clear, hop, see_other, temp, whoami, endless]);

#[test]
fn cookie_jar_keeps_cookies_between_calls_with_path_rules() {
    let app = TestApp::new(App::new());
    assert_eq!(app.get("/show").send().body_text(), "a=None scoped=None");
    let r = app.get("/set").send();
    assert_eq!(r.header_values("set-cookie").len(), 2);
    assert_eq!(
        app.get("/show").send().body_text(),
        "a=Some(\"1\") scoped=None"
    );
    assert_eq!(
        app.get("/inner/show").send().body_text(),
        "a=Some(\"1\") scoped=Some(\"2\")"
    );
    app.get("/clear").send();
    assert_eq!(app.get("/show").send().body_text(), "a=None scoped=None");
    assert_eq!(app.cookie("scoped").as_deref(), Some("2"));
    app.clear_cookies();
    assert_eq!(app.cookie("scoped"), None);
}

#[test]
fn redirects_are_followed_on_request() {
    let app = TestApp::new(App::new());
    assert_eq!(app.get("/hop/3").send().status(), 302);
    let r = app.get("/hop/3").follow_redirects(true).send();
    assert_eq!(r.body_text(), "landed via GET");
    assert_eq!(r.url(), "http://localhost/hop/0");

    let app = TestApp::new(App::new()).follow_redirects(true);
    // 302 after POST becomes GET, 303 too; 307 keeps the method.
    assert_eq!(app.post("/hop/1").send().body_text(), "landed via GET");
    assert_eq!(app.post("/see-other").send().body_text(), "landed via GET");
    assert_eq!(app.post("/temp").send().body_text(), "landed via POST");
    // An endless loop stops after 10 hops with the last redirect.
    assert_eq!(app.get("/loop").send().status(), 302);
}

#[test]
fn redirects_followed_under_a_script_name_keep_it() {
    let app = TestApp::new(App::new()).follow_redirects(true);
    let r = app.get("/hop/2").script_name("/m").send();
    assert_eq!(r.body_text(), "landed via GET");
    assert_eq!(r.url(), "http://localhost/m/hop/0");
}

#[test]
fn any_method_host_scheme_script_name_and_headers() {
    let app = TestApp::new(App::new()).with_host("example.org");
    let r = app
        .request(Method::PATCH, "/whoami")
        .script_name("/app")
        .https()
        .header("x-extra", "hello")
        .body("{}", "application/json")
        .send();
    assert_eq!(r.body_text(), "PATCH example.org https /app hello");
    let r = app.get("/whoami").host("other.test:8080").send();
    assert_eq!(r.body_text(), "GET other.test:8080 http  -");
}

#[test]
fn response_text_is_status_line_headers_and_body() {
    let app = TestApp::new(App::new());
    let text = app.get("/hop/0").send().text();
    assert!(text.starts_with("200 OK\r\n"), "{text}");
    assert!(
        text.contains("content-type: text/plain; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nlanded via GET"), "{text}");
}

#[test]
fn head_and_delete_and_put_helpers() {
    let app = TestApp::new(App::new());
    assert_eq!(app.head("/show").send().status(), 200);
    assert_eq!(app.delete("/show").send().status(), 405);
    assert_eq!(app.put("/show").send().status(), 405);
}

#[tokio::test]
async fn the_async_variant_is_awaited() {
    let app = TestApp::new(App::new());
    let r = app.get("/hop/1").follow_redirects(true).await;
    assert_eq!(r.body_text(), "landed via GET");
    app.get("/set").await;
    assert_eq!(
        app.get("/show").send_async().await.body_text(),
        "a=Some(\"1\") scoped=None"
    );
}

#[test]
fn an_invalid_request_is_reported_as_400_without_reaching_the_app() {
    let app = TestApp::new(App::new());
    let r = app.get("/show").header("x-bad", "line\nbreak").send();
    assert_eq!(r.status(), 400);
    assert!(
        r.body_text().contains("invalid header"),
        "{}",
        r.body_text()
    );
    let r = app.get("/with space").send();
    assert_eq!(r.status(), 400);
}

// ---- Async resources in a plain #[test] ------------------------------------------------

/// Stands for a database pool: a handle whose work is done by a task on the runtime that made it.
#[derive(Clone)]
struct Counter(tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<u32>>);

impl Counter {
    /// Must run inside a runtime, as `PgPool::connect` must.
    fn start() -> Counter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u32>>(8);
        tokio::spawn(async move {
            let mut n = 0;
            while let Some(reply) = rx.recv().await {
                n += 1;
                let _ = reply.send(n);
            }
        });
        Counter(tx)
    }

    async fn next(&self) -> Option<u32> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.0.send(reply).await.ok()?;
        answer.await.ok()
    }
}

#[route("/next", GET)]
async fn next(req: &mut Request) -> String {
    let counter = req.state::<Counter>().cloned();
    match counter {
        Some(counter) => format!("{:?}", counter.next().await),
        None => "no counter".to_owned(),
    }
}
dispatcher_app!(Counting = [next]);

#[test]
fn a_plain_test_uses_async_resources_made_on_the_shared_runtime() {
    // The resource's task lives on the runtime TestApp's requests run on.
    let counter = pesto::testing::block_on(async { Counter::start() });
    let app = TestApp::new(Counting::new().with_state(counter));
    assert_eq!(app.get("/next").send().body_text(), "Some(1)");
    assert_eq!(app.get("/next").send().body_text(), "Some(2)");
    // Two apps (as two tests of one binary would) share it too.
    let other = TestApp::new(
        Counting::new().with_state(pesto::testing::block_on(async { Counter::start() })),
    );
    assert_eq!(other.get("/next").send().body_text(), "Some(1)");
}
