//! Reference: the same apps on actix-web 4 with actix-session, one worker (`workers(1)`: one
//! thread running a Tokio `current_thread` runtime, plus actix's accept thread).
//!
//! Stores: `memory` is [`HashMapStore`], written here (actix-session ships no in-memory store,
//! and its `CookieSessionStore` keeps the whole session in the cookie, which is not
//! comparable): a `HashMap` behind a `Mutex`, keyed by actix-session's own 64-character
//! random key, with the TTL checked on load. `redis://HOST:PORT` (feature `redis`) is
//! actix-session's `RedisSessionStore`, keys under `pesto-bench:actix:`.
//!
//! actix-session is lazy by design (it stores a session and sets the cookie only when data is
//! written) and must sign or encrypt its cookie: it is signed here
//! (`CookieContentSecurity::Signed`, HMAC-SHA256), the cheaper of the two; pesto's and
//! tower-sessions' cookies carry the plain id.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_session::config::CookieContentSecurity;
use actix_session::storage::{
    generate_session_key, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::time::Duration;
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Parser;
use pesto_load::pages::{self, html_escape, login_page, redirect_body, secure_page, ABOUT};
use pesto_load::{announce, AppKind, Users, Visitor, ROUTES};
use serde::Deserialize;

/// actix-web + actix-session under load.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on (port 0 picks a free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Which app to serve.
    #[arg(long, value_enum, default_value = "secure")]
    app: AppKind,
    /// Session store: `memory` (a HashMap store written here) or `redis://HOST:PORT`.
    #[arg(long, default_value = "memory")]
    store: String,
}

type State = HashMap<String, String>;

/// An in-memory actix-session store: a `HashMap` behind a `Mutex`.
#[derive(Debug, Clone, Default)]
struct HashMapStore(Arc<Mutex<HashMap<String, (State, Instant)>>>);

fn deadline(ttl: &Duration) -> Instant {
    Instant::now() + std::time::Duration::from_secs(ttl.whole_seconds().max(0).unsigned_abs())
}

impl HashMapStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (State, Instant)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SessionStore for HashMapStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut map = self.map();
        match map.get(key.as_ref()) {
            Some((state, expires)) if *expires > Instant::now() => Ok(Some(state.clone())),
            Some(_) => {
                map.remove(key.as_ref());
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = generate_session_key();
        self.map()
            .insert(key.as_ref().to_owned(), (state, deadline(ttl)));
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        {
            let mut map = self.map();
            if let Some(entry) = map.get_mut(key.as_ref()) {
                *entry = (state, deadline(ttl));
                return Ok(key);
            }
        }
        // As RedisSessionStore does: a session that vanished meanwhile is saved anew.
        self.save(state, ttl).await.map_err(|e| match e {
            SaveError::Serialization(e) => UpdateError::Serialization(e),
            SaveError::Other(e) => UpdateError::Other(e),
        })
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        if let Some(entry) = self.map().get_mut(key.as_ref()) {
            entry.1 = deadline(ttl);
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.map().remove(key.as_ref());
        Ok(())
    }
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

fn redirect(location: &'static str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .content_type("text/html; charset=utf-8")
        .body(redirect_body(location))
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

async fn login_form() -> HttpResponse {
    html(login_page(None, html_escape))
}

async fn login(
    users: web::Data<Users>,
    session: Session,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    if !users.is_valid(&form.username, &form.password) {
        return HttpResponse::Unauthorized()
            .content_type("text/html; charset=utf-8")
            .body(login_page(
                Some("Wrong user name or password."),
                html_escape,
            ));
    }
    let visitor = Visitor {
        username: Some(form.username),
        logged_in: true,
        ..Visitor::default()
    };
    if session.insert(KEY, visitor).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    session.renew();
    redirect("/secure-area")
}

async fn secure_area(session: Session) -> HttpResponse {
    let visitor: Visitor = session.get(KEY).ok().flatten().unwrap_or_default();
    if !visitor.logged_in {
        return redirect("/login");
    }
    html(secure_page(
        visitor.username.as_deref().unwrap_or_default(),
        html_escape,
    ))
}

async fn logout(session: Session) -> HttpResponse {
    session.purge();
    redirect("/login")
}

async fn about() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(ABOUT)
}

/// Serves the secure-area app over `store` (cloned into the one worker).
async fn serve_secure<S>(addr: SocketAddr, store: S) -> std::io::Result<()>
where
    S: SessionStore + Clone + Send + 'static,
{
    let key = Key::from(&[7u8; 64]);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Users::default()))
            .wrap(
                SessionMiddleware::builder(store.clone(), key.clone())
                    .cookie_secure(false)
                    .cookie_content_security(CookieContentSecurity::Signed)
                    .build(),
            )
            .route("/login", web::get().to(login_form))
            .route("/login", web::post().to(login))
            .route("/secure-area", web::get().to(secure_area))
            .route("/logout", web::post().to(logout))
            .route("/about", web::get().to(about))
    })
    .workers(1)
    .bind(addr)?;
    announce(server.addrs()[0]);
    server.run().await
}

async fn serve_routes(addr: SocketAddr) -> std::io::Result<()> {
    let server = HttpServer::new(|| {
        let mut app = App::new();
        for section in 0..ROUTES {
            app = app.route(
                &format!("/section{section}/items/{{id}}"),
                web::get().to(move |id: web::Path<u32>| async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; charset=utf-8")
                        .body(pages::item_text(section, id.into_inner()))
                }),
            );
        }
        app
    })
    .workers(1)
    .bind(addr)?;
    announce(server.addrs()[0]);
    server.run().await
}

#[cfg(feature = "redis")]
async fn serve_redis(addr: SocketAddr, url: &str) -> std::io::Result<()> {
    let store = actix_session::storage::RedisSessionStore::builder(url)
        .cache_keygen(|key| format!("{}actix:{key}", pesto_load::REDIS_PREFIX))
        .build()
        .await
        .map_err(std::io::Error::other)?;
    serve_secure(addr, store).await
}

#[cfg(not(feature = "redis"))]
async fn serve_redis(_addr: SocketAddr, _url: &str) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "this build has no Redis support: build with `--features redis`",
    ))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = actix_web::rt::System::new().block_on(async move {
        match args.app {
            AppKind::Routes => serve_routes(args.addr).await,
            AppKind::Secure if args.store == "memory" => {
                serve_secure(args.addr, HashMapStore::default()).await
            }
            AppKind::Secure if args.store.starts_with("redis://") => {
                serve_redis(args.addr, &args.store).await
            }
            AppKind::Secure => Err(std::io::Error::other(format!(
                "unknown --store {:?}: expected memory or redis://HOST:PORT",
                args.store
            ))),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actix-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
