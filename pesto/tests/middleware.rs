//! Middleware around a pesto app, in pesto's own terms (`pesto::middleware::from_fn`) and as
//! tower layers under `TestApp` (`TestApp::layer`, `ServiceEndpoint`): what they do to requests
//! and answers, and that the session middleware — inside or outside them — keeps working, with
//! `TestApp`'s session access intact; then `from_fn` and sessions over real HTTP.

mod support;

use std::io::Read;
use std::time::Duration;

use pesto::middleware::{from_fn, Next};
use pesto::prelude::*;
use pesto::session::MemoryStore;
use pesto::{session_middleware, PestoService, RawRequest, ServiceEndpoint, TestApp};
use support::apps::{CountApp, Visits};
use support::server::{raw_exchange, Running};
use tower::{Layer, ServiceBuilder};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

#[route("/", GET)]
async fn home(_req: &mut Request) -> String {
    "a page of the app, long enough to be worth compressing; ".repeat(4)
}

#[route("/slow", GET)]
async fn slow(_req: &mut Request) -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "finished"
}

dispatcher_app!(Plain = [home, slow]);

/// Adds `x-frame-options: DENY` to every answer and refuses requests marked `x-blocked`.
async fn guard(req: RawRequest, next: Next) -> Response {
    if req.headers().contains_key("x-blocked") {
        return Response::forbidden();
    }
    next.run(req).await.with_header("x-frame-options", "DENY")
}

/// `x-layer: tower-http` on every response the stack gives.
fn x_layer() -> SetResponseHeaderLayer<http::HeaderValue> {
    SetResponseHeaderLayer::overriding(
        http::HeaderName::from_static("x-layer"),
        http::HeaderValue::from_static("tower-http"),
    )
}

#[test]
fn from_fn_adds_a_header_and_answers_early() {
    let client = TestApp::new(from_fn(guard).wrap(Plain::new()));
    let passed = client.get("/").send();
    assert_eq!(passed.status(), 200);
    assert_eq!(passed.header("x-frame-options"), Some("DENY"));
    let refused = client.get("/").header("x-blocked", "1").send();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.header("x-frame-options"), None, "the app never ran");
}

#[test]
fn from_fn_leaves_early_with_a_question_mark() {
    /// The API key of a request, or a 401 to leave with.
    fn api_key(req: &RawRequest) -> Result<String, pesto::Error> {
        req.headers()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Response::new(StatusCode::UNAUTHORIZED).into())
    }
    let app = from_fn(|req: RawRequest, next: Next| async move {
        let key = api_key(&req)?;
        Ok::<_, pesto::Error>(next.run(req).await.with_header("x-key-seen", key))
    })
    .wrap(Plain::new());
    let client = TestApp::new(app);
    assert_eq!(client.get("/").send().status(), 401);
    let keyed = client.get("/").header("x-api-key", "k1").send();
    assert_eq!(keyed.status(), 200);
    assert_eq!(keyed.header("x-key-seen"), Some("k1"));
}

#[test]
fn from_fn_outside_the_session_middleware_keeps_testapp_session_access() {
    let app = session_middleware(MemoryStore::new()).wrap(CountApp::new());
    let sessions = app.inspector();
    let client = TestApp::new(from_fn(guard).wrap(app)).with_sessions(sessions);
    let first = client.get("/count").send();
    assert_eq!(first.body_text(), "1");
    assert_eq!(first.header("x-frame-options"), Some("DENY"));
    assert_eq!(client.session::<Visits>().map(|v| v.n), Some(1));
    client.session_transaction(|v: &mut Visits| v.n = 41);
    assert_eq!(client.get("/count").send().body_text(), "42");
    assert_eq!(
        client
            .get("/count")
            .header("x-blocked", "1")
            .send()
            .status(),
        403
    );
    assert_eq!(client.session::<Visits>().map(|v| v.n), Some(42));
}

#[test]
fn from_fn_inside_the_session_middleware_sees_the_session_through() {
    let app = session_middleware(MemoryStore::new()).wrap(from_fn(guard).wrap(CountApp::new()));
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    assert_eq!(client.get("/count").send().body_text(), "1");
    let second = client.get("/count").send();
    assert_eq!(second.body_text(), "2");
    assert_eq!(second.header("x-frame-options"), Some("DENY"));
    // An early answer from inside is still an answer the session middleware completes.
    assert_eq!(
        client
            .get("/count")
            .header("x-blocked", "1")
            .send()
            .status(),
        403
    );
    assert_eq!(client.session::<Visits>().map(|v| v.n), Some(2));
}

#[test]
fn testapp_layer_applies_tower_http_and_keeps_session_access() {
    let app = session_middleware(MemoryStore::new()).wrap(CountApp::new());
    let sessions = app.inspector();
    let client = TestApp::new(app)
        .layer(ServiceBuilder::new().layer(x_layer()))
        .with_sessions(sessions);
    let first = client.get("/count").send();
    assert_eq!(first.body_text(), "1");
    assert_eq!(first.header("x-layer"), Some("tower-http"));
    assert!(
        first.header("set-cookie").is_some(),
        "the cookie crosses the layer"
    );
    assert_eq!(client.session::<Visits>().map(|v| v.n), Some(1));
    client.session_transaction(|v: &mut Visits| v.n = 9);
    assert_eq!(client.get("/count").send().body_text(), "10");
}

#[test]
fn testapp_layer_runs_compression_and_timeouts() {
    let client = TestApp::new(Plain::new())
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(50),
        ));
    let gzipped = client.get("/").header("accept-encoding", "gzip").send();
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzipped.body())
        .read_to_string(&mut text)
        .expect("a gzip body");
    assert_eq!(text, client.get("/").send().body_text());
    assert_eq!(client.get("/slow").send().status(), 504);
}

#[test]
fn a_tower_stack_inside_the_session_middleware_keeps_the_session() {
    // The session travels in the request's extensions, which tower layers pass on.
    let stack = ServiceBuilder::new()
        .layer(x_layer())
        .layer(CompressionLayer::new())
        .service(PestoService::new(CountApp::new()));
    let app = session_middleware(MemoryStore::new()).wrap(ServiceEndpoint::new(stack));
    let sessions = app.inspector();
    let client = TestApp::new(app).with_sessions(sessions);
    assert_eq!(client.get("/count").send().body_text(), "1");
    let second = client.get("/count").send();
    assert_eq!(second.body_text(), "2");
    assert_eq!(second.header("x-layer"), Some("tower-http"));
    assert_eq!(client.session::<Visits>().map(|v| v.n), Some(2));
}

#[test]
fn a_layer_applied_by_hand_is_an_endpoint_too() {
    let stack = x_layer().layer(PestoService::new(Plain::new()));
    let client = TestApp::new(pesto::mount("/app", ServiceEndpoint::new(stack)));
    let response = client.get("/app/").send();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("x-layer"), Some("tower-http"));
}

#[tokio::test]
async fn from_fn_and_sessions_over_http() {
    let app = from_fn(guard).wrap(session_middleware(MemoryStore::new()).wrap(CountApp::new()));
    let server = Running::start(app, |s| s.layer(x_layer())).await;
    let addr = server.addr;
    let (first, second, blocked) = tokio::task::spawn_blocking(move || {
        let first = raw_exchange(
            addr,
            b"GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        );
        let cookie = first
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let second = raw_exchange(
            addr,
            format!(
                "GET /count HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
        );
        let blocked = raw_exchange(
            addr,
            b"GET /count HTTP/1.1\r\nHost: x\r\nX-Blocked: 1\r\nConnection: close\r\n\r\n".to_vec(),
        );
        (first, second, blocked)
    })
    .await
    .expect("client");
    server.shutdown().await;

    assert!(
        first.starts_with("HTTP/1.1 200") && first.ends_with("\r\n\r\n1"),
        "{first}"
    );
    assert!(first.contains("set-cookie: pesto_session="), "{first}");
    for header in ["x-frame-options: DENY", "x-layer: tower-http"] {
        assert!(first.contains(header), "{header}: {first}");
    }
    assert!(
        second.ends_with("\r\n\r\n2"),
        "the session came back: {second}"
    );
    assert!(blocked.starts_with("HTTP/1.1 403"), "{blocked}");
    assert!(blocked.contains("x-layer: tower-http"), "{blocked}");
}
