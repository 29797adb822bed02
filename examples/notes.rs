//! A small notes site on PostgreSQL, written as a new user would: a login with a form guard, a
//! logged-in `User` guard that redirects, the database pool as typed state, `?` for early answers
//! and database failures, a JSON API, its own 404 page, a flash message that survives the logout,
//! gzip through a tower-http layer, and a mount path (docs/state-and-databases.md).
//!
//! Forged cross-site posts are refused by the session middleware's cross-origin protection (on by
//! default); CSRF tokens in the forms, the defence in depth for very old browsers, are left out to
//! stay short (docs/security.md, "Cross-site request forgery").
//!
//! ```text
//! cargo run --features postgres --example notes -- --database postgres://127.0.0.1/test --user ada:lovelace
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use pesto::prelude::*;
use pesto::session::MemoryStore;
use pesto::{session_middleware, Endpoint, Form, FromRequest, Json, Server, State, Unmatched};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use subtle::ConstantTimeEq;
use tower_http::compression::CompressionLayer;

/// The session: who is logged in, and a message for the next page.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Visitor {
    user: Option<String>,
    flash: Option<String>,
}

/// The accounts this site accepts.
struct Accounts(HashMap<String, String>);

/// The notes, in PostgreSQL.
struct Notes {
    pool: PgPool,
    table: String,
}

/// One note as the API shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Note {
    id: i64,
    text: String,
}

impl Notes {
    /// Opens the pool and creates the table if needed. The table name is chosen by the operator
    /// (one per test run), never by a request.
    async fn open(url: &str, table: &str) -> Result<Notes, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(url)
            .await?;
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} \
             (id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, text TEXT NOT NULL)"
        );
        sqlx::query(&create).execute(&pool).await?;
        Ok(Notes {
            pool,
            table: table.to_owned(),
        })
    }

    async fn of(&self, owner: &str) -> Result<Vec<Note>, sqlx::Error> {
        let select = format!(
            "SELECT id, text FROM {} WHERE owner = $1 ORDER BY id",
            self.table
        );
        sqlx::query_as(&select)
            .bind(owner)
            .fetch_all(&self.pool)
            .await
    }

    async fn add(&self, owner: &str, text: &str) -> Result<(), sqlx::Error> {
        let insert = format!("INSERT INTO {} (owner, text) VALUES ($1, $2)", self.table);
        sqlx::query(&insert)
            .bind(owner)
            .bind(text)
            .execute(&self.pool)
            .await
            .map(drop)
    }
}

/// The logged-in user; anyone else is sent to the login form.
struct User(String);

impl FromRequest<Visitor> for User {
    type Rejection = Response;
    async fn from_request(req: &mut Request<Visitor>) -> Result<Self, Response> {
        match &req.session.user {
            Some(name) => Ok(User(name.clone())),
            None => Err(Response::redirect(login_form.url())),
        }
    }
}

fn page(title: &str, flash: Option<String>, body: &str) -> Response {
    let flash = flash
        .map(|f| format!("<p class=\"flash\">{}</p>", html_escape(&f)))
        .unwrap_or_default();
    Response::html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>\n{flash}{body}\n</body></html>\n"
    ))
}

#[route("/", GET)]
async fn index(
    req: &mut Request<Visitor>,
    user: User,
    notes: State<Notes>,
) -> Result<Response, pesto::Error> {
    let list = notes.of(&user.0).await?;
    let items: String = list
        .iter()
        .map(|n| format!("<li>{}</li>", html_escape(&n.text)))
        .collect();
    let body = format!(
        "<p>Notes of {who}</p><ul>{items}</ul>\
         <form method=\"post\" action=\"{add}\"><input name=\"text\"><button>Add</button></form>\
         <form method=\"post\" action=\"{out}\"><button>Log out</button></form>",
        who = html_escape(&user.0),
        add = html_escape(&add_note.url().to_string()),
        out = html_escape(&logout.url().to_string()),
    );
    Ok(page("Notes", req.session.flash.take(), &body))
}

#[route("/login", GET)]
async fn login_form(req: &mut Request<Visitor>) -> Response {
    let body = format!(
        "<form method=\"post\" action=\"{}\"><input name=\"username\">\
         <input type=\"password\" name=\"password\"><button>Log in</button></form>",
        html_escape(&login.url().to_string())
    );
    page("Log in", req.session.flash.take(), &body)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[route("/login", POST)]
async fn login(
    req: &mut Request<Visitor>,
    form: Form<Credentials>,
    accounts: State<Accounts>,
) -> Result<Response, pesto::Error> {
    // The same comparison, in constant time, whether or not the user exists.
    let stored = accounts.0.get(&form.username);
    let expected = stored.map(String::as_bytes).unwrap_or(b"\0unknown user\0");
    let known = stored.is_some() && bool::from(expected.ct_eq(form.password.as_bytes()));
    if !known {
        req.session.flash = Some("Unknown user name or wrong password".to_owned());
        return Ok(Response::redirect(login_form.url()));
    }
    req.session.user = Some(form.0.username);
    req.session.cycle_id()?;
    Ok(Response::redirect(index.url()))
}

#[route("/logout", POST)]
async fn logout(req: &mut Request<Visitor>) -> Response {
    req.session.invalidate();
    // Written after invalidate(): a new session carries the message to the next page.
    req.session.flash = Some("You are logged out".to_owned());
    Response::redirect(login_form.url())
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

#[route("/notes", POST)]
async fn add_note(
    _req: &mut Request<Visitor>,
    user: User,
    note: Form<NewNote>,
    notes: State<Notes>,
) -> Result<Response, pesto::Error> {
    let text = note.text.trim();
    if text.is_empty() || text.len() > 1000 {
        return Err(Response::text("a note has 1 to 1000 characters")
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into());
    }
    notes.add(&user.0, text).await?;
    Ok(Response::redirect(index.url()))
}

#[route("/api/notes", GET)]
async fn api_notes(
    _req: &mut Request<Visitor>,
    user: User,
    notes: State<Notes>,
) -> Result<Json<Vec<Note>>, pesto::Error> {
    Ok(Json(notes.of(&user.0).await?))
}

async fn not_found(req: &mut Request<Visitor>, why: Unmatched) -> Response {
    let body = format!(
        "<p>Nothing at {}.</p><p><a href=\"{}\">Your notes</a></p>",
        html_escape(req.path()),
        html_escape(&index.url().to_string())
    );
    page("Not found", None, &body).with_status(why.status())
}

dispatcher_app!(
    App = [index, login_form, login, logout, add_note, api_notes],
    fallback = not_found
);

/// The notes example: a small PostgreSQL-backed site on pesto.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The PostgreSQL URL.
    #[arg(long, default_value = "postgres://127.0.0.1/test")]
    database: String,
    /// The table holding the notes (created if missing).
    #[arg(long, default_value = "pesto_notes")]
    table: String,
    /// Serve the site under this path prefix, e.g. `/notes`.
    #[arg(long)]
    mount: Option<String>,
    /// An account as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD", required = true)]
    users: Vec<String>,
}

async fn run(args: Args) -> Result<(), String> {
    let mut accounts = HashMap::new();
    for spec in &args.users {
        let (name, password) = spec
            .split_once(':')
            .ok_or_else(|| format!("--user expects NAME:PASSWORD, got {spec:?}"))?;
        accounts.insert(name.to_owned(), password.to_owned());
    }
    let valid_table = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    };
    if !valid_table(&args.table) {
        return Err(format!(
            "--table must be lower-case letters, digits and `_`, got {:?}",
            args.table
        ));
    }
    let notes = Notes::open(&args.database, &args.table)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let app = App::new().with_state(Accounts(accounts)).with_state(notes);
    let app = session_middleware(MemoryStore::with_capacity(10_000)).wrap(app);
    let app: Box<dyn Endpoint> = match &args.mount {
        Some(prefix) => Box::new(pesto::mount(prefix, app)),
        None => Box::new(app),
    };
    let server = Server::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?
        .layer(CompressionLayer::new());
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
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
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("notes: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
