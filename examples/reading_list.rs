//! A reading list kept in the visitor's session: a server-rendered app with askama templates,
//! flash messages, CSRF tokens on every form, and private pages (docs/pages.md).
//!
//! ```text
//! cargo run --example reading_list -- --help
//! cargo run --example reading_list -- --persist querystring
//! ```
//!
//! Every form carries the session's CSRF token and every post checks it (`CsrfVerified`), on top
//! of the cross-origin check the session middleware makes by default; each change says what it
//! did with a flash message on the page the post redirects to. `tests/browser/` drives it in a
//! headless Chromium.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use askama::Template;
use clap::{Parser, ValueEnum};
use pesto::prelude::*;
use pesto::session::{MemoryStore, Persist};
use pesto::{session_middleware, CsrfToken, CsrfVerified, Flash, Page, Server};
use serde::{Deserialize, Serialize};

/// The longest title the list takes, in characters.
const MAX_TITLE_CHARS: usize = 200;
/// The most books one list holds: a session is not a database.
const MAX_BOOKS: usize = 50;

/// The typed session: the visitor's books, in the order they were added.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ReadingList {
    books: Vec<String>,
}

/// The one page (`templates/reading_list/list.html`).
#[derive(Template)]
#[template(path = "reading_list/list.html")]
struct ListPage<'a> {
    flashes: Vec<Flash>,
    books: &'a [String],
    csrf: CsrfToken,
}

#[route("/", GET)]
async fn list(req: &mut Request<ReadingList>, csrf: CsrfToken) -> Response {
    let flashes = req.session.take_flashes();
    Page(ListPage {
        flashes,
        books: &req.session.books,
        csrf,
    })
    .into_response()
}

#[route("/books", POST)]
async fn add_book(req: &mut Request<ReadingList>, _csrf: CsrfVerified) -> Response {
    let title = req.get("title").unwrap_or_default().trim().to_owned();
    if title.is_empty() {
        req.session
            .flash(FlashLevel::Error, "A book needs a title.");
    } else if title.chars().count() > MAX_TITLE_CHARS {
        req.session.flash(
            FlashLevel::Error,
            format!("A title has at most {MAX_TITLE_CHARS} characters."),
        );
    } else if req.session.books.len() >= MAX_BOOKS {
        req.session.flash(
            FlashLevel::Warning,
            format!("The list is full ({MAX_BOOKS} books): remove one first."),
        );
    } else {
        req.session
            .flash(FlashLevel::Success, format!("Added “{title}”."));
        req.session.books.push(title);
    }
    Response::redirect(list.url())
}

#[route("/books/<index:int>/remove", POST)]
async fn remove_book(
    req: &mut Request<ReadingList>,
    index: usize,
    _csrf: CsrfVerified,
) -> Response {
    if index < req.session.books.len() {
        let title = req.session.books.remove(index);
        req.session
            .flash(FlashLevel::Info, format!("Removed “{title}”."));
    } else {
        // A second tab removed it first: say so rather than remove another book.
        req.session
            .flash(FlashLevel::Warning, "That book was already removed.");
    }
    Response::redirect(list.url())
}

dispatcher_app!(App = [list, add_book, remove_book]);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PersistArg {
    Cookie,
    Querystring,
}

/// The reading_list example: templates, flash messages and CSRF tokens.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// Where the session id travels.
    #[arg(long, value_enum, default_value = "cookie")]
    persist: PersistArg,
    /// Seconds a list may stay idle before it is forgotten.
    #[arg(long, default_value_t = 1800)]
    idle: u64,
}

async fn run(args: Args) -> Result<(), String> {
    let sessions = session_middleware(MemoryStore::new())
        .persist(match args.persist {
            PersistArg::Cookie => Persist::Cookie,
            PersistArg::Querystring => Persist::QueryString,
        })
        .lazy(true)
        .auto_purge_every(Duration::from_secs(60))
        .auto_purge_olderthan(Duration::from_secs(args.idle));
    let server = Server::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    // Scripts and tests learn the port from the line above: make sure it leaves now.
    let _ = std::io::stdout().flush();
    server
        .serve(sessions.wrap(App::new()))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reading_list: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
