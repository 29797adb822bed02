//! tower-http around a pesto app on `pesto::Server`: tracing, CORS, gzip and a timeout as tower
//! layers, a small middleware of our own with `pesto::middleware::from_fn`, and sessions inside
//! — while the server keeps its own limits, host check, access log and graceful shutdown in
//! front of the stack (docs/dispatch.md, "Tower layers and middleware").
//!
//! ```text
//! cargo run --example tower_layers -- --addr 127.0.0.1:8080
//! curl --compressed -i http://127.0.0.1:8080/
//! curl -i -H 'x-api-key: demo' http://127.0.0.1:8080/api/hello
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pesto::middleware::{from_fn, Next};
use pesto::prelude::*;
use pesto::session::MemoryStore;
use pesto::{session_middleware, RawRequest, Server};
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The visitor's session (every handler of one dispatcher shares its session type).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Visits {
    n: u32,
}

#[route("/", GET)]
async fn home(_req: &mut Request<Visits>) -> String {
    "Pesto: basil, pine nuts, parmesan, garlic and olive oil, pounded in a mortar.\n".repeat(20)
}

#[route("/visits", GET)]
async fn visits(req: &mut Request<Visits>) -> String {
    req.session.n += 1;
    format!("visit {}", req.session.n)
}

#[route("/slow", GET)]
async fn slow(_req: &mut Request<Visits>) -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}

#[route("/api/hello", GET, POST)]
async fn api_hello(_req: &mut Request<Visits>) -> Response {
    Response::json(&serde_json::json!({ "hello": "tower" }))
}

dispatcher_app!(App = [home, visits, slow, api_hello]);

/// Our own middleware: the API wants a key (answered early without one), and every answer
/// gets `x-content-type-options: nosniff`.
async fn api_key_and_nosniff(req: RawRequest, next: Next) -> Response {
    let needs_key = req.uri().path().starts_with("/api/");
    if needs_key && req.headers().get("x-api-key").is_none_or(|k| k != "demo") {
        return Response::text("401 Unauthorized\nan x-api-key is needed\n")
            .with_status(StatusCode::UNAUTHORIZED);
    }
    next.run(req)
        .await
        .with_header("x-content-type-options", "nosniff")
}

/// Serves a pesto app under a tower-http stack.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The origin allowed to call the API from a browser.
    #[arg(long, default_value = "https://app.example")]
    cors_origin: String,
    /// How long a request may take before it is answered 504.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();

    // pesto's own layers, innermost: the sessions around the routes, our middleware around both.
    let app =
        from_fn(api_key_and_nosniff).wrap(session_middleware(MemoryStore::new()).wrap(App::new()));

    // tower-http's, outermost first (as ServiceBuilder reads): a CORS preflight is answered
    // before our key check, and the timeout's 504 is compressed and traced like any answer.
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(
            CorsLayer::new()
                .allow_origin(http::HeaderValue::from_str(&args.cors_origin)?)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([http::HeaderName::from_static("x-api-key")]),
        )
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(args.timeout_ms),
        ));

    // The server's limits and checks stay in front of the whole stack.
    let server = Server::bind(args.addr)
        .await?
        .max_header_bytes(16 * 1024)
        .layer(stack);
    println!("listening on http://{}", server.local_addr()?);
    std::io::stdout().flush()?;
    server.serve(app).await?;
    Ok(())
}
