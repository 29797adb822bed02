//! The session middleware wraps any endpoint — a dispatcher, a mount, `Mounts`, a wrapper of the
//! user's own — and TestApp reaches its sessions through the inspector it is given.

use futures_util::future::BoxFuture;
use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist};
use pesto::{session_middleware, CrossOriginProtection, Endpoint, Mounts, RawRequest, TestApp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Cart {
    items: Vec<String>,
}

#[route("/add/<item>", GET)]
async fn add(req: &mut Request<Cart>, item: String) -> String {
    req.session.items.push(item);
    req.session.items.join(",")
}

#[route("/show", GET)]
async fn show(req: &mut Request<Cart>) -> String {
    format!("{}|{}", req.script_name(), req.session.items.join(","))
}

dispatcher_app!(Shop = [add, show]);

/// An endpoint of the user's own around the session app: it adds a header.
struct Branded<E>(E);

impl<E: Endpoint> Endpoint for Branded<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move { self.0.call(req).await.with_header("x-brand", "pesto") })
    }
}

#[test]
fn the_middleware_wraps_a_mount_and_a_mount_wraps_the_middleware() {
    let outside = session_middleware(MemoryStore::new()).wrap(pesto::mount("/shop", Shop::new()));
    let client = TestApp::new(outside);
    assert_eq!(client.get("/shop/add/basil").send().body_text(), "basil");
    assert_eq!(client.get("/shop/show").send().body_text(), "/shop|basil");

    let inside = pesto::mount(
        "/shop",
        session_middleware(MemoryStore::new()).wrap(Shop::new()),
    );
    let client = TestApp::new(inside);
    let first = client.get("/shop/add/basil").send();
    assert!(
        first
            .header("set-cookie")
            .is_some_and(|c| c.contains("Path=/shop")),
        "inside the mount the cookie path is the mount path"
    );
    assert_eq!(client.get("/shop/show").send().body_text(), "/shop|basil");
}

#[test]
fn the_request_context_reaches_the_handler_through_any_stack_of_layers() {
    // The session middleware hands the request's context to the endpoint it wraps beside the
    // request; mounts and the cross-origin protection pass it on, and a layer of the user's
    // own that only implements `call` gets it on the request. Whatever the stack, the handler
    // sees its mount path and its session.
    let stacks: Vec<(&str, Box<dyn Endpoint>)> = vec![
        (
            "mounts, then a wrapper",
            Box::new(Mounts::new().mount("/shop", Branded(Shop::new()))),
        ),
        (
            "a wrapper, then mounts",
            Box::new(Branded(Mounts::new().mount("/shop", Shop::new()))),
        ),
        (
            "cross-origin protection, then a mount",
            Box::new(CrossOriginProtection::new().wrap(pesto::mount("/shop", Shop::new()))),
        ),
    ];
    for (stack, inner) in stacks {
        let client = TestApp::new(session_middleware(MemoryStore::new()).wrap(inner));
        assert_eq!(
            client.get("/shop/add/basil").send().body_text(),
            "basil",
            "{stack}"
        );
        assert_eq!(
            client.get("/shop/show").send().body_text(),
            "/shop|basil",
            "{stack}"
        );
        assert_eq!(client.get("/elsewhere").send().status(), 404, "{stack}");
    }
}

#[test]
fn a_wrapper_of_the_users_own_keeps_testapp_session_access() {
    let app = session_middleware(MemoryStore::new()).wrap(Shop::new());
    let sessions = app.inspector();
    let client = TestApp::new(Branded(app)).with_sessions(sessions);
    let response = client.get("/add/mint").send();
    assert_eq!(response.header("x-brand"), Some("pesto"));
    assert_eq!(
        client.session::<Cart>(),
        Some(Cart {
            items: vec!["mint".into()]
        })
    );
    client.session_transaction(|cart: &mut Cart| cart.items.push("sage".into()));
    assert_eq!(client.get("/show").send().body_text(), "|mint,sage");
}

#[test]
#[should_panic(expected = "with_sessions")]
fn session_helpers_without_the_inspector_say_how_to_give_it() {
    let client = TestApp::new(session_middleware(MemoryStore::new()).wrap(Shop::new()));
    client.get("/add/mint").send();
    let _ = client.session::<Cart>();
}

#[test]
fn a_session_dispatcher_without_the_middleware_is_refused_before_any_request() {
    // Said in words before serving (Server::serve fails, TestApp::new panics) ...
    let problems = pesto::Endpoint::check_app(&Shop::new()).expect_err("no middleware");
    assert!(
        problems
            .to_string()
            .contains("wrap the app with `session_middleware(store).wrap(app)`"),
        "{problems}"
    );
    let refused = std::panic::catch_unwind(|| TestApp::new(Shop::new()));
    assert!(refused.is_err());
    // ... and run anyway (without the check), every request is a 500 that reveals nothing.
    let request = http::Request::get("/show")
        .body(pesto::box_body(http_body_util::Empty::<bytes::Bytes>::new()))
        .expect("request");
    let response = pesto::testing::block_on(pesto::Endpoint::call(&Shop::new(), request));
    assert_eq!(response.status(), 500);
    assert!(!String::from_utf8_lossy(response.body()).contains("Cart"));
}

#[test]
fn a_request_no_dispatcher_sees_keeps_the_session_it_brought() {
    let site = pesto::Mounts::new().mount("/shop", Shop::new());
    let app = session_middleware(MemoryStore::new()).wrap(site);
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    assert_eq!(client.get("/shop/add/basil").send().body_text(), "basil");
    let id = client.cookie("pesto_session").expect("a session cookie");

    let lost = client.get("/elsewhere").send();
    assert_eq!(lost.status(), 404);
    assert_eq!(lost.header("set-cookie"), None, "the id is unchanged");
    assert_eq!(client.cookie("pesto_session"), Some(id));
    assert_eq!(client.get("/shop/show").send().body_text(), "/shop|basil");

    // A new visitor's 404 still gets a session in eager mode (the default), holding the default.
    let stranger = TestApp::new(
        session_middleware(MemoryStore::new())
            .wrap(pesto::Mounts::new().mount("/shop", Shop::new())),
    );
    assert!(stranger
        .get("/elsewhere")
        .send()
        .header("set-cookie")
        .is_some());
    assert_eq!(stranger.get("/shop/show").send().body_text(), "/shop|");
}

#[test]
fn a_new_querystring_visitor_is_redirected_to_a_session_its_handlers_read_as_their_type() {
    let app = session_middleware(MemoryStore::new())
        .persist(Persist::QueryString)
        .wrap(Shop::new());
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    let redirect = client.get("/show").send();
    assert_eq!(redirect.status(), 302);
    let location = redirect.header("location").expect("a location").to_owned();
    let id = location
        .split("pesto_session=")
        .nth(1)
        .expect("the id in the location")
        .to_owned();
    assert_eq!(
        client.session_by_id::<Cart>(&id),
        Some(Cart::default()),
        "stored before any handler ran, it holds the default"
    );
    let path = location.trim_start_matches("http://localhost");
    assert_eq!(client.get(path).send().body_text(), "|");
    let added = client.get(&format!("/add/basil?pesto_session={id}")).send();
    assert_eq!(added.body_text(), "basil");
    assert_eq!(
        client.session_by_id::<Cart>(&id).map(|c| c.items),
        Some(vec!["basil".to_owned()])
    );
}

/// Calls the endpoint it wraps twice with the same request (a retry, a fallback chain).
struct Twice<E>(E);

impl<E: Endpoint> Endpoint for Twice<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let again = http::Request::from_parts(
                parts.clone(),
                pesto::box_body(http_body_util::Empty::new()),
            );
            let _ = self.0.call(http::Request::from_parts(parts, body)).await;
            self.0.call(again).await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opened_twice_answers_500_and_never_hangs() {
    let client = std::sync::Arc::new(TestApp::new(
        session_middleware(MemoryStore::new()).wrap(Twice(Shop::new())),
    ));
    // On its own task, so that a request stuck on a lock cannot stop the timeout from firing.
    let request = tokio::spawn(async move { client.get("/show").await.status() });
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), request)
        .await
        .expect("the second open must not block")
        .expect("the request task");
    assert_eq!(status, 500);
}

#[route("/ping", GET)]
async fn ping(_req: &mut Request) -> &'static str {
    "pong"
}

dispatcher_app!(Sessionless = [ping]);

#[test]
fn a_sessionless_dispatcher_beside_a_session_one_leaves_the_session_alone() {
    let site = pesto::Mounts::new()
        .mount("/shop", Shop::new())
        .mount("/api", Sessionless::new());
    let app = session_middleware(MemoryStore::new()).wrap(site);
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    client.get("/shop/add/basil").send();
    let id = client.cookie("pesto_session").expect("a session cookie");
    let pong = client.get("/api/ping").send();
    assert_eq!(pong.body_text(), "pong");
    assert_eq!(
        pong.header("set-cookie"),
        None,
        "no new session replaces the user's"
    );
    assert_eq!(client.cookie("pesto_session"), Some(id));
    assert_eq!(client.get("/shop/show").send().body_text(), "/shop|basil");
}

#[route("/fail/<item>", GET)]
async fn fail(req: &mut Request<Cart>, item: String) -> Response {
    req.session.items.push(item);
    Response::internal_server_error()
}

dispatcher_app!(Failing = [fail, show]);

/// Turns every 5xx into a friendly 200 page, as an error-page wrapper would.
struct Friendly<E>(E);

impl<E: Endpoint> Endpoint for Friendly<E> {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let response = self.0.call(req).await;
            if response.status().is_server_error() {
                Response::text("sorry")
            } else {
                response
            }
        })
    }
}

#[test]
fn a_handlers_5xx_saves_nothing_even_when_a_wrapper_hides_it() {
    let app = session_middleware(MemoryStore::new()).wrap(Friendly(Failing::new()));
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    client.session_transaction(|cart: &mut Cart| cart.items.push("mint".into()));
    assert_eq!(client.get("/fail/basil").send().body_text(), "sorry");
    assert_eq!(
        client.session::<Cart>().map(|c| c.items),
        Some(vec!["mint".to_owned()]),
        "the failed handler's change was not saved"
    );
}
