//! The Pesto session document's example as a small real site: a login form, a secure area that
//! greets the logged-in user, and logout. Its pages are askama templates in
//! `templates/secure_area/`.
//!
//! ```text
//! cargo run --example secure_area -- --help
//! cargo run --example secure_area -- --user ada:lovelace --persist querystring --mount /app
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use clap::{Parser, ValueEnum};
use pesto::prelude::*;
use pesto::session::{FileStore, MemoryStore};
use pesto::session::{Persist, SessionStore};
use pesto::session_middleware;
use pesto::{Endpoint, Page, Server};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The typed session: who is logged in.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Visitor {
    username: Option<String>,
    logged_in: bool,
}

/// The accounts this site accepts, shared with the handlers.
#[derive(Clone)]
struct Users(Arc<HashMap<String, String>>);

impl Users {
    /// Checks a user name and password; the password comparison takes the same time whether or
    /// not it matches, and an unknown user costs the same comparison.
    fn is_valid(&self, username: &str, password: &str) -> bool {
        let stored = self.0.get(username);
        let expected = stored.map(String::as_bytes).unwrap_or(b"\0unknown user\0");
        let same = expected.ct_eq(password.as_bytes());
        stored.is_some() && bool::from(same)
    }
}

/// The login form, with what went wrong on the last try if anything
/// (`templates/secure_area/login.html`).
#[derive(Template)]
#[template(path = "secure_area/login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
}

impl LoginPage<'_> {
    const TITLE: &'static str = "Log in";
}

/// The private page (`templates/secure_area/secure_area.html`).
#[derive(Template)]
#[template(path = "secure_area/secure_area.html")]
struct SecureAreaPage<'a> {
    name: &'a str,
}

impl SecureAreaPage<'_> {
    const TITLE: &'static str = "Secure area";
}

#[route("/", GET)]
async fn home(_req: &mut Request<Visitor>) -> Response {
    Response::redirect(secure_area.url())
}

#[route("/login", GET)]
async fn login_form(_req: &mut Request<Visitor>) -> Page<LoginPage<'static>> {
    Page(LoginPage { error: None })
}

#[route("/login", POST)]
async fn login(req: &mut Request<Visitor>) -> Response {
    let username = req.get("username").unwrap_or_default().to_owned();
    let password = req.get("password").unwrap_or_default();
    let valid = req
        .state::<Users>()
        .is_some_and(|users| users.is_valid(&username, password));
    if !valid {
        let page = LoginPage {
            error: Some("Wrong user name or password."),
        };
        return Page(page)
            .into_response()
            .with_status(StatusCode::UNAUTHORIZED);
    }
    req.session.username = Some(username);
    req.session.logged_in = true;
    // A new id after the privilege change: an id seen or planted before login is now worthless.
    if let Err(error) = req.session.cycle_id() {
        tracing::error!(%error, "cannot renew the session id");
        return Response::internal_server_error();
    }
    Response::redirect(secure_area.url())
}

#[route("/secure-area", GET)]
async fn secure_area(req: &mut Request<Visitor>) -> Response {
    if !req.session.logged_in {
        return Response::redirect(login_form.url());
    }
    let name = req.session.username.as_deref().unwrap_or_default();
    // A private page: kept out of caches (docs/security.md, "What remains yours to do": the Back
    // button); the template reloads it when the back-forward cache restores it after a logout.
    Page(SecureAreaPage { name })
        .into_response()
        .with_header("cache-control", "no-store")
}

#[route("/logout", POST)]
async fn logout(req: &mut Request<Visitor>) -> Response {
    req.session.invalidate();
    Response::redirect(login_form.url()).with_header("clear-site-data", "\"cache\"")
}

dispatcher_app!(App = [home, login_form, login, secure_area, logout]);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PersistArg {
    Cookie,
    Querystring,
}

/// The secure_area example: Pesto's session document as a small site.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Session store: `file:DIR`, `memory`, `postgres://USER@HOST:PORT/DB` (needs the `postgres`
    /// feature; the `pesto_sessions` table is created if missing), `redis://HOST:PORT` (needs the
    /// `redis` feature), or a Redis Cluster as a comma-separated list of its nodes' URLs, e.g.
    /// `redis://10.0.0.1:7000,redis://10.0.0.2:7000` (a trailing comma makes a single URL a
    /// cluster seed: `redis://10.0.0.1:7000,`).
    #[arg(long, default_value = "file:./sessions")]
    store: String,
    /// Where the session id travels.
    #[arg(long, value_enum, default_value = "cookie")]
    persist: PersistArg,
    /// The session cookie's Path (default: the mount path, else `/`).
    #[arg(long)]
    cookie_path: Option<String>,
    /// The session cookie's Domain (default: none).
    #[arg(long)]
    cookie_domain: Option<String>,
    /// Seconds between purges of idle sessions (0 disables).
    #[arg(long, default_value_t = 600)]
    purge_every: u64,
    /// Seconds a session may stay idle.
    #[arg(long, default_value_t = 1800)]
    purge_olderthan: u64,
    /// Seconds a session may live at most, however active (counted from login); default: no limit.
    #[arg(long)]
    absolute_timeout: Option<u64>,
    /// Serve the site under this path prefix (script name), e.g. `/app`.
    #[arg(long)]
    mount: Option<String>,
    /// Create sessions only once something is stored in them (the choice for public sites:
    /// anonymous visits then store nothing).
    #[arg(long)]
    lazy: bool,
    /// The most sessions the memory or file store holds. Memory: the least recently used
    /// one-shot sessions are evicted first; file: new sessions are refused (first visits are served
    /// without one, logins get 503) and none is evicted. Default: no limit.
    #[arg(long)]
    capacity: Option<usize>,
    /// Accept only requests for this host name (repeatable; `.example.org` includes subdomains).
    /// Without any, every Host is accepted.
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
    /// An account as NAME:PASSWORD (repeatable). Without any, user `demo` gets a random password.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
}

fn parse_users(specs: &[String]) -> Result<HashMap<String, String>, String> {
    let mut users = HashMap::new();
    for spec in specs {
        let (name, password) = spec
            .split_once(':')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("--user expects NAME:PASSWORD, got {spec:?}"))?;
        users.insert(name.to_owned(), password.to_owned());
    }
    Ok(users)
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..16)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn open_store(spec: &str, capacity: Option<usize>) -> Result<Arc<dyn SessionStore>, String> {
    if spec == "memory" {
        return Ok(Arc::new(match capacity {
            Some(n) => MemoryStore::with_capacity(n),
            None => MemoryStore::new(),
        }));
    }
    if let Some(dir) = spec.strip_prefix("file:") {
        let dir = PathBuf::from(if dir.is_empty() { "./sessions" } else { dir });
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut store =
            FileStore::new(&dir).map_err(|e| format!("file store {}: {e}", dir.display()))?;
        if let Some(n) = capacity {
            store = store.with_max_records(n as u64);
        }
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        if capacity.is_some() {
            return Err("--capacity applies to the memory and file stores".to_owned());
        }
        return open_postgres(spec).await;
    }
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        if capacity.is_some() {
            return Err(
                "--capacity applies to the memory and file stores; Redis bounds itself (maxmemory)"
                    .to_owned(),
            );
        }
        return open_redis(spec).await;
    }
    Err(format!(
        "unknown --store {spec:?}: expected file:DIR, memory, postgres://…, redis://HOST:PORT or a comma-separated list of redis:// cluster nodes"
    ))
}

/// `redis://…` (one Redis) or `redis://…,redis://…` (the nodes of a Redis Cluster).
#[cfg(feature = "redis")]
async fn open_redis(spec: &str) -> Result<Arc<dyn SessionStore>, String> {
    use pesto::session::RedisStore;
    let store = if spec.contains(',') {
        let nodes: Vec<&str> = spec
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        RedisStore::connect_cluster(&nodes)
            .await
            .map_err(|e| format!("redis cluster store: {e}"))?
    } else {
        RedisStore::connect(spec)
            .await
            .map_err(|e| format!("redis store: {e}"))?
    };
    Ok(Arc::new(store))
}

/// `postgres://…`: sessions in the database's `pesto_sessions` table, created if missing.
#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn SessionStore>, String> {
    use pesto::session::PostgresStore;
    let store = PostgresStore::connect(url)
        .await
        .map_err(|e| format!("postgres store: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("postgres store: {e}"))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn SessionStore>, String> {
    Err("this build has no PostgreSQL support: run with `--features postgres`".to_owned())
}

#[cfg(not(feature = "redis"))]
async fn open_redis(_url: &str) -> Result<Arc<dyn SessionStore>, String> {
    Err("this build has no Redis support: run with `--features redis`".to_owned())
}

async fn run(args: Args) -> Result<(), String> {
    let mut users = parse_users(&args.users)?;
    if users.is_empty() {
        let password = random_password();
        println!("no --user given: log in as demo / {password}");
        users.insert("demo".to_owned(), password);
    }
    let store = open_store(&args.store, args.capacity).await?;
    let mut sessions = session_middleware(store)
        .auto_purge_every(Duration::from_secs(args.purge_every))
        .auto_purge_olderthan(Duration::from_secs(args.purge_olderthan))
        .persist(match args.persist {
            PersistArg::Cookie => Persist::Cookie,
            PersistArg::Querystring => Persist::QueryString,
        })
        .lazy(args.lazy);
    if let Some(secs) = args.absolute_timeout {
        sessions = sessions.absolute_timeout(Duration::from_secs(secs));
    }
    if let Some(path) = &args.cookie_path {
        sessions = sessions.cookie_path(path);
    }
    if let Some(domain) = &args.cookie_domain {
        sessions = sessions.cookie_domain(domain);
    }
    let app = sessions.wrap(App::new().with_state(Users(Arc::new(users))));
    let app: Box<dyn Endpoint> = match &args.mount {
        Some(prefix) => Box::new(pesto::mount(prefix, app)),
        None => Box::new(app),
    };
    let server = Server::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let server = if args.allowed_hosts.is_empty() {
        server
    } else {
        server.allowed_hosts(args.allowed_hosts.iter().cloned())
    };
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    // The line above is how scripts and tests learn the port: make sure it leaves now.
    let _ = std::io::stdout().flush();
    server.serve(app).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("secure_area: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
