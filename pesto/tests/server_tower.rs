//! The server with tower layers around the app, over real sockets: tower-http's compression,
//! timeout, CORS and response-header layers do their work, and the server's own protections —
//! the header limit, the host check, the client's address, the connection cap, the access log,
//! the graceful drain — still apply in front of the stack. Every server binds port 0 and is shut
//! down by the test that started it.

mod support;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{Empty, Full};
use pesto::prelude::*;
use pesto::{BoxError, Dispatcher, Endpoint, PestoService, RawRequest, Server};
use support::server::{connect, get, raw_exchange, send, Running};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

#[route("/hello/<name>", GET)]
async fn hello(req: &mut Request, name: String) -> String {
    format!(
        "hello {name} from {}",
        req.remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    )
}

/// Long and repetitive enough for `CompressionLayer` (which skips bodies under 32 bytes).
#[route("/recipe", GET)]
async fn recipe(_req: &mut Request) -> String {
    "basil, pine nuts, parmesan, garlic, olive oil. ".repeat(40)
}

#[route("/slow/<ms:int>", GET)]
async fn slow(_req: &mut Request, ms: u64) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "finished"
}

/// Set once `/drain` has started, so the shutdown test knows a request is in flight.
static DRAIN_STARTED: AtomicBool = AtomicBool::new(false);

#[route("/drain", GET)]
async fn drain(_req: &mut Request) -> &'static str {
    DRAIN_STARTED.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    "finished"
}

dispatcher_app!(App = [hello, recipe, slow, drain]);

/// `x-layer: tower-http` on every response the stack gives.
fn x_layer() -> SetResponseHeaderLayer<http::HeaderValue> {
    SetResponseHeaderLayer::overriding(
        http::HeaderName::from_static("x-layer"),
        http::HeaderValue::from_static("tower-http"),
    )
}

/// A GET of `path` with `headers`.
fn request(path: &str, headers: &[(&str, &str)]) -> http::Request<Empty<Bytes>> {
    let mut builder = http::Request::get(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).expect("request")
}

#[tokio::test]
async fn compression_layer_gzips_when_the_client_asks() {
    let server = Running::start(App::new(), |s| s.layer(CompressionLayer::new())).await;
    let gzipped = send(
        server.addr,
        request("/recipe", &[("accept-encoding", "gzip")]),
    )
    .await;
    let plain = send(server.addr, request("/recipe", &[])).await;
    server.shutdown().await;

    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gzipped.body()[..])
        .read_to_string(&mut text)
        .expect("a gzip body");
    assert_eq!(
        text,
        "basil, pine nuts, parmesan, garlic, olive oil. ".repeat(40)
    );
    assert!(gzipped.body().len() < text.len() / 4, "compressed");

    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.body().len(), text.len());
}

#[tokio::test]
async fn timeout_layer_answers_a_slow_handler_with_its_status() {
    let server = Running::start(App::new(), |s| {
        s.layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(100),
        ))
    })
    .await;
    assert_eq!(get(server.addr, "/slow/2000").await.0, 504);
    assert_eq!(
        get(server.addr, "/slow/1").await,
        (200, "finished".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_failing_stack_gets_a_plain_500_that_says_nothing() {
    // A layer that fails (as tower's own timeout does) instead of answering: the server logs
    // the error and sends its plain 500 page.
    let failing = ServiceBuilder::new().map_result(
        |result: Result<http::Response<Full<Bytes>>, Infallible>| -> Result<_, BoxError> {
            let response = result?;
            if response.status() == StatusCode::NOT_FOUND {
                return Err("secret detail: the database password".into());
            }
            Ok(response)
        },
    );
    let server = Running::start(App::new(), |s| s.layer(failing)).await;
    let (status, body) = get(server.addr, "/missing").await;
    assert_eq!(status, 500);
    assert!(!body.contains("secret"), "{body}");
    assert_eq!(get(server.addr, "/hello/after").await.0, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn cors_layer_answers_the_preflight() {
    let cors = CorsLayer::new()
        .allow_origin(http::HeaderValue::from_static("https://app.example"))
        .allow_methods([Method::GET, Method::POST]);
    let server = Running::start(App::new(), |s| s.layer(cors)).await;
    let preflight = http::Request::options("/hello/cors")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .body(Empty::new())
        .expect("request");
    let answer = send(server.addr, preflight).await;
    let simple = send(
        server.addr,
        request("/hello/cors", &[("origin", "https://app.example")]),
    )
    .await;
    server.shutdown().await;

    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(answer.headers()["access-control-allow-methods"]
        .to_str()
        .is_ok_and(|m| m.contains("POST")));
    assert_eq!(simple.status(), 200);
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn a_service_builder_stack_applies_every_layer() {
    let stack = ServiceBuilder::new()
        .layer(x_layer())
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(100),
        ));
    let server = Running::start(App::new(), |s| s.layer(stack)).await;
    let gzipped = send(
        server.addr,
        request("/recipe", &[("accept-encoding", "gzip")]),
    )
    .await;
    let timed_out = send(server.addr, request("/slow/2000", &[])).await;
    server.shutdown().await;

    assert_eq!(gzipped.headers()["x-layer"], "tower-http");
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    // The outermost layer sees the timeout's answer too.
    assert_eq!(timed_out.status(), 504);
    assert_eq!(timed_out.headers()["x-layer"], "tower-http");
}

/// A stack that counts the requests reaching it, for the checks that must stop them before.
fn counted(
    reached: &Arc<AtomicUsize>,
) -> impl tower::Layer<PestoService<Dispatcher>, Service = impl pesto::HttpService> {
    let reached = Arc::clone(reached);
    ServiceBuilder::new()
        .layer(x_layer())
        .map_request(move |req: RawRequest| {
            reached.fetch_add(1, Ordering::SeqCst);
            req
        })
}

#[tokio::test]
async fn the_servers_checks_stay_in_front_of_the_stack() {
    let reached = Arc::new(AtomicUsize::new(0));
    let stack = counted(&reached);
    let server = Running::start(App::new(), |s| {
        s.allowed_hosts(["localhost"])
            .max_header_bytes(16 * 1024)
            .layer(stack)
    })
    .await;
    let addr = server.addr;
    let (big, foreign, fine) = tokio::task::spawn_blocking(move || {
        let big = format!(
            "GET /hello/x HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
            "a".repeat(20 * 1024)
        );
        (
            raw_exchange(addr, big.into_bytes()),
            raw_exchange(
                addr,
                b"GET /hello/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            ),
            raw_exchange(
                addr,
                b"GET /hello/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_vec(),
            ),
        )
    })
    .await
    .expect("client");
    server.shutdown().await;

    assert!(big.starts_with("HTTP/1.1 431"), "{big}");
    assert!(foreign.starts_with("HTTP/1.1 400"), "{foreign}");
    for refused in [&big, &foreign] {
        assert!(!refused.contains("x-layer"), "{refused}");
    }
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine}");
    assert!(fine.contains("x-layer: tower-http"), "{fine}");
    // The client's address reached the handler through the stack.
    assert!(fine.ends_with("hello x from 127.0.0.1"), "{fine}");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        1,
        "only the allowed request"
    );
}

#[tokio::test]
async fn the_connection_cap_holds_with_a_stack() {
    let server = Running::start(App::new(), |s| s.max_connections(1).layer(x_layer())).await;
    let addr = server.addr;
    // The first client keeps its connection open; the second must wait for its slot.
    let first = tokio::task::spawn_blocking(move || {
        let mut stream = connect(addr, Duration::from_secs(5));
        write!(stream, "GET /hello/one HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).expect("read");
        (stream, String::from_utf8_lossy(&buf[..n]).into_owned())
    })
    .await
    .expect("client");
    let (stream, answer) = first;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let second = tokio::spawn(async move { get(addr, "/hello/two").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "served past the connection cap");
    drop(stream);
    let answer = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("served once the slot is free")
        .expect("join");
    assert_eq!(answer, (200, "hello two from 127.0.0.1".to_owned()));
    server.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_drains_requests_in_flight_through_the_stack() {
    let server = Running::start(App::new(), |s| {
        s.layer(CompressionLayer::new()).layer(x_layer())
    })
    .await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { send(addr, request("/drain", &[])).await });
    for _ in 0..1000 {
        if DRAIN_STARTED.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
    let answer = in_flight.await.expect("join");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-layer"], "tower-http");
    assert_eq!(&answer.body()[..], b"finished");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener must be closed"
    );
}

/// An endpoint that records that it was started, around the app.
struct Starts(Arc<AtomicBool>, Dispatcher);

impl Endpoint for Starts {
    fn call(&self, req: RawRequest) -> BoxFuture<'_, Response> {
        self.1.call(req)
    }
    fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_app_is_started_under_the_layers_and_a_from_fn_middleware() {
    let started = Arc::new(AtomicBool::new(false));
    let app = pesto::middleware::from_fn(|req, next: pesto::middleware::Next| next.run(req))
        .wrap(Starts(Arc::clone(&started), App::new()));
    let server = Running::start(app, |s| s.layer(x_layer())).await;
    assert_eq!(get(server.addr, "/hello/x").await.0, 200);
    // The server starts the app before it accepts a connection.
    assert!(
        started.load(Ordering::SeqCst),
        "started by the first answer"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn serve_service_runs_a_plain_tower_service_behind_the_checks() {
    let service = tower::service_fn(|req: RawRequest| async move {
        let from = req
            .extensions()
            .get::<pesto::RemoteAddr>()
            .map(|a| a.0.ip().to_string())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(format!(
            "plain tower from {from}"
        )))))
    });
    let server = Server::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
        .allowed_hosts(["localhost"])
        .layer(x_layer());
    let addr = server.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.serve_service_with_shutdown(service, async {
        let _ = stopped.await;
    }));
    let answer = send(addr, request("/", &[("host", "localhost")])).await;
    let foreign = send(addr, request("/", &[("host", "evil.example")])).await;
    let _ = stop.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(10), done).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");

    assert_eq!(&answer.body()[..], b"plain tower from 127.0.0.1");
    assert_eq!(answer.headers()["x-layer"], "tower-http");
    assert_eq!(foreign.status(), 400);
}

#[test]
fn the_access_log_has_the_status_the_client_was_sent() {
    let (captured, _guard) = support::logs::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = Running::start(App::new(), |s| {
            s.allowed_hosts(["127.0.0.1"])
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::GATEWAY_TIMEOUT,
                    Duration::from_millis(50),
                ))
        })
        .await;
        get(server.addr, "/hello/log").await;
        get(server.addr, "/slow/2000").await;
        send(
            server.addr,
            request("/hello/x", &[("host", "evil.example")]),
        )
        .await;
        server.shutdown().await;
    });
    let text = captured.text();
    let access = captured.access_lines();
    assert_eq!(access.len(), 3, "{text}");
    let expected = [
        ("path=/hello/log", "status=200"),
        ("path=/slow/2000", "status=504"),
        ("path=/hello/x", "status=400"),
    ];
    for (line, (path, status)) in access.iter().zip(expected) {
        assert!(line.contains(path) && line.contains(status), "{line}");
    }
}
