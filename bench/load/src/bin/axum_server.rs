//! Reference: the same apps on axum 0.8 with tower-sessions (its `MemoryStore`), served by
//! `axum::serve` on one Tokio `current_thread` runtime.
//!
//! tower-sessions is lazy by design: a session is stored and its cookie set only once data is
//! written, so it compares with pesto's lazy mode. Its cookie holds the plain id (no
//! signature), as pesto's does, with the same attributes (HttpOnly, SameSite=Lax, no Secure
//! over plain http).

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use clap::Parser;
use pesto_load::pages::{self, html_escape, login_page, redirect_body, secure_page, ABOUT};
use pesto_load::{announce, runtime, AppKind, Users, Visitor, ROUTES};
use serde::Deserialize;
use tower_sessions::cookie::SameSite;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// axum + tower-sessions under load.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Which app to serve.
    #[arg(long, value_enum, default_value = "secure")]
    app: AppKind,
    /// Session store: only `memory` (tower-sessions' MemoryStore).
    #[arg(long, default_value = "memory")]
    store: String,
}

/// The session key the visitor is stored under.
const KEY: &str = "visitor";

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

fn redirect(location: &'static str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        redirect_body(location),
    )
        .into_response()
}

async fn login_form() -> Html<String> {
    Html(login_page(None, html_escape))
}

async fn login(
    State(users): State<Users>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    if !users.is_valid(&form.username, &form.password) {
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(
                Some("Wrong user name or password."),
                html_escape,
            )),
        )
            .into_response();
    }
    let visitor = Visitor {
        username: Some(form.username),
        logged_in: true,
        ..Visitor::default()
    };
    if session.insert(KEY, visitor).await.is_err() || session.cycle_id().await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    redirect("/secure-area")
}

async fn secure_area(session: Session) -> Response {
    let visitor: Visitor = session.get(KEY).await.ok().flatten().unwrap_or_default();
    if !visitor.logged_in {
        return redirect("/login");
    }
    let name = visitor.username.as_deref().unwrap_or_default();
    Html(secure_page(name, html_escape)).into_response()
}

async fn logout(session: Session) -> Response {
    if session.flush().await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    redirect("/login")
}

async fn about() -> &'static str {
    ABOUT
}

fn secure_app() -> Router {
    // As pesto's cookie: SameSite=Lax (tower-sessions' default is Strict), no Secure over http.
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_secure(false)
        .with_same_site(SameSite::Lax);
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/secure-area", get(secure_area))
        .route("/logout", axum::routing::post(logout))
        .route("/about", get(about))
        .layer(sessions)
        .with_state(Users::default())
}

fn routes_app() -> Router {
    let mut router = Router::new();
    for section in 0..ROUTES {
        router = router.route(
            &format!("/section{section}/items/{{id}}"),
            get(move |Path(id): Path<u32>| async move { pages::item_text(section, id) }),
        );
    }
    router
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.app == AppKind::Secure && args.store != "memory" {
        eprintln!("axum-server: only --store memory (tower-sessions' MemoryStore)");
        return std::process::ExitCode::FAILURE;
    }
    let app = match args.app {
        AppKind::Secure => secure_app(),
        AppKind::Routes => routes_app(),
    };
    let result = runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        announce(listener.local_addr()?);
        axum::serve(listener, app).await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
