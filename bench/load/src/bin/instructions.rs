//! The in-process measure: serves `--requests N` requests of one scenario over an in-memory
//! `tokio::io::duplex` connection, hyper's HTTP/1.1 client on one end and hyper's HTTP/1.1
//! server on the other, with either the bare-hyper service (`200 ok`) or pesto's app as
//! `pesto::PestoService::new(app)`. The hyper path is the same for both, so the difference
//! in instructions is pesto's.
//!
//! `bench/load/instructions` runs it under `valgrind --tool=callgrind` for N and 2N requests
//! and prints (Ir(2N) − Ir(N)) / N: the set-up, the login of scenario A and the exit cancel
//! out. Run alone it only checks the answers (every status is checked on every request).

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use pesto_load::{bare_ok, pesto_app, runtime, LOGIN_BODY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Server {
    /// The bare hyper service: `200 ok` to everything.
    Bare,
    /// pesto's app through `PestoService`.
    Pesto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// GET /secure-area, logged in.
    A,
    /// GET /about.
    B,
    /// GET /secure-area without a cookie.
    C,
    /// POST /login without a cookie.
    D,
    /// GET /section500/items/42 on the 1,000-route app.
    E,
    /// POST /visit, logged in: the session changes and is saved (pesto only; not a load
    /// scenario, the references have no such page).
    F,
}

/// Instructions per request, in process (run under callgrind by `bench/load/instructions`).
#[derive(Debug, Parser)]
struct Args {
    /// Which service answers.
    #[arg(long, value_enum)]
    server: Server,
    /// Which request to repeat.
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// How many requests to make (after the set-up).
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// pesto's session store for A–D: `memory` or `file:DIR`.
    #[arg(long, default_value = "memory")]
    store: String,
    /// Eager sessions (pesto's default); lazy otherwise.
    #[arg(long)]
    eager: bool,
}

/// The request of a scenario, with `cookie` when one is sent.
fn request(scenario: Scenario, cookie: Option<&str>) -> Request<Full<Bytes>> {
    let (method, path, body) = match scenario {
        Scenario::A | Scenario::C => (Method::GET, "/secure-area", ""),
        Scenario::B => (Method::GET, "/about", ""),
        Scenario::D => (Method::POST, "/login", LOGIN_BODY),
        Scenario::E => (Method::GET, "/section500/items/42", ""),
        Scenario::F => (Method::POST, "/visit", ""),
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    if !body.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid request")
}

/// The status each answer must have.
fn expected(server: Server, scenario: Scenario) -> StatusCode {
    match (server, scenario) {
        (Server::Bare, _) | (_, Scenario::A | Scenario::B | Scenario::E | Scenario::F) => {
            StatusCode::OK
        }
        (Server::Pesto, Scenario::C | Scenario::D) => StatusCode::FOUND,
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match runtime().block_on(run(&args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("instructions: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serves `app` on `io` through `PestoService`, as `pesto::Server` does.
fn serve_pesto(app: impl pesto::Endpoint, io: tokio::io::DuplexStream) {
    let service = TowerToHyperService::new(pesto::PestoService::new(app));
    tokio::spawn(server_http1::Builder::new().serve_connection(TokioIo::new(io), service));
}

async fn run(args: &Args) -> Result<(), String> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    match args.server {
        Server::Bare => {
            tokio::spawn(
                server_http1::Builder::new()
                    .serve_connection(TokioIo::new(server_io), service_fn(bare_ok)),
            );
        }
        Server::Pesto => match args.scenario {
            Scenario::E => serve_pesto(pesto_app::routes_app(), server_io),
            _ => {
                let store = pesto_app::open_store(&args.store).await?;
                serve_pesto(pesto_app::secure_app(store, !args.eager), server_io);
            }
        },
    }
    let (mut sender, connection) =
        client_http1::handshake::<_, Full<Bytes>>(TokioIo::new(client_io))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);

    // Set-up, the same for N and 2N requests: scenario A logs in first (the bare service
    // gets the same login request and a cookie of the same shape).
    let mut cookie = None;
    if matches!(args.scenario, Scenario::A | Scenario::F) {
        let response = send(&mut sender, request(Scenario::D, None)).await?;
        let set_cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        cookie = Some(match (args.server, set_cookie) {
            (Server::Pesto, Some(c)) => c,
            (Server::Pesto, None) => return Err("the login set no cookie".to_owned()),
            (Server::Bare, _) => format!("pesto_session={}", "0".repeat(64)),
        });
        let _ = response.into_body().collect().await;
    }
    let want = expected(args.server, args.scenario);
    for _ in 0..args.requests {
        let response = send(&mut sender, request(args.scenario, cookie.as_deref())).await?;
        if response.status() != want {
            return Err(format!("expected {want}, got {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        std::hint::black_box(body.to_bytes());
    }
    Ok(())
}

async fn send(
    sender: &mut client_http1::SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<http::Response<Incoming>, String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))
}
