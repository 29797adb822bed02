//! Request guards through the public API: typed state without clones or borrow fights, forms,
//! query strings and JSON into serde types with clear 4xx answers, an app's own guard that
//! redirects, and what the app lacks (state, a session middleware) reported before any request.

use pesto::prelude::*;
use pesto::session::{MemoryStore, SessionMap};
use pesto::{session_middleware, Endpoint, Form, FromRequest, Json, Query, State, TestApp};
use serde::{Deserialize, Serialize};

struct Db {
    name: &'static str,
}

#[derive(Default, Serialize, Deserialize)]
struct Visitor {
    user: Option<String>,
    visits: u32,
}

/// The app's own guard: the logged-in user, or a redirect to the login page.
struct User(String);

impl FromRequest<Visitor> for User {
    type Rejection = pesto::Error;
    async fn from_request(req: &mut Request<Visitor>) -> Result<Self, pesto::Error> {
        match &req.session.user {
            Some(name) => Ok(User(name.clone())),
            None => Err(Response::redirect(login.url()).into()),
        }
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    age: u8,
}

#[route("/login", POST)]
async fn login(req: &mut Request<Visitor>, form: Form<Login>, db: State<Db>) -> String {
    // Holding the state while writing the session: no clone, no borrow conflict.
    req.session.user = Some(form.username.clone());
    req.session.visits += 1;
    format!("{} ({}) in {}", form.username, form.age, db.name)
}

#[derive(Deserialize)]
struct Page {
    page: u32,
}

#[route("/items/<id:int>", GET)]
async fn items(_req: &mut Request<Visitor>, user: User, id: u32, query: Query<Page>) -> String {
    format!("{} sees item {id} page {}", user.0, query.page)
}

#[derive(Deserialize, Serialize)]
struct Note {
    text: String,
}

#[route("/notes", POST)]
async fn notes(_req: &mut Request<Visitor>, _user: User, note: Json<Note>) -> Json<Note> {
    Json(Note {
        text: note.0.text.to_uppercase(),
    })
}

dispatcher_app!(App = [login, items, notes]);

fn client() -> TestApp {
    let app = session_middleware(MemoryStore::new()).wrap(App::new().with_state(Db { name: "db" }));
    TestApp::new(app)
}

#[test]
fn state_and_form_guards_feed_the_handler() {
    let app = client();
    let r = app
        .post("/login")
        .form(&[("username", "ada"), ("age", "36")])
        .send();
    assert_eq!(r.body_text(), "ada (36) in db");
    let missing = app.post("/login").form(&[("username", "ada")]).send();
    assert_eq!(missing.status(), 422);
    assert!(
        missing.body_text().contains("missing field `age`"),
        "{}",
        missing.body_text()
    );
    let not_a_number = app
        .post("/login")
        .form(&[("username", "ada"), ("age", "old")])
        .send();
    assert_eq!(not_a_number.status(), 422);
    assert_eq!(app.post("/login").json(&"ada").send().status(), 415);
    let multipart = app
        .post("/login")
        .field("username", "bob")
        .field("age", "7")
        .send();
    assert_eq!(multipart.body_text(), "bob (7) in db");
}

#[test]
fn an_apps_own_guard_redirects_and_runs_before_the_handler() {
    let app = client();
    let denied = app.get("/items/3?page=1").send();
    assert_eq!(denied.status(), 302);
    assert_eq!(denied.header("location"), Some("http://localhost/login"));
    app.post("/login")
        .form(&[("username", "ada"), ("age", "36")])
        .send();
    assert_eq!(
        app.get("/items/3?page=2").send().body_text(),
        "ada sees item 3 page 2"
    );
    assert_eq!(app.get("/items/3?page=two").send().status(), 400);
    assert_eq!(app.get("/items/3").send().status(), 400, "page is required");
}

#[test]
fn json_guard_and_json_answer() {
    let app = client();
    app.post("/login")
        .form(&[("username", "ada"), ("age", "36")])
        .send();
    let made = app
        .post("/notes")
        .json(&serde_json::json!({"text": "basil"}))
        .send();
    assert_eq!(made.body_text(), r#"{"text":"BASIL"}"#);
    assert_eq!(made.header("content-type"), Some("application/json"));
    let malformed = app
        .post("/notes")
        .body("{\"text\": ", "application/json")
        .send();
    assert_eq!(malformed.status(), 400);
    let wrong_shape = app
        .post("/notes")
        .json(&serde_json::json!({"txt": 1}))
        .send();
    assert_eq!(wrong_shape.status(), 422);
    let not_json = app.post("/notes").form(&[("text", "basil")]).send();
    assert_eq!(not_json.status(), 415);
    let problem = app
        .post("/notes")
        .body(r#"{"text":"x"}"#, "application/merge-patch+json")
        .send();
    assert_eq!(problem.status(), 200, "any +json type is JSON");
}

#[test]
fn missing_state_and_a_missing_middleware_are_reported_before_any_request() {
    let err = session_middleware(MemoryStore::new())
        .wrap(App::new())
        .check_app()
        .expect_err("no Db given");
    let text = err.to_string();
    assert!(text.contains("handler `login`"), "{text}");
    assert!(text.contains("State<"), "{text}");
    assert!(text.contains("Db"), "{text}");
    assert!(text.contains(".with_state(value)"), "{text}");

    let err = App::new()
        .with_state(Db { name: "db" })
        .check_app()
        .expect_err("no middleware");
    assert!(
        err.to_string()
            .contains("wrap the app with `session_middleware(store).wrap(app)`"),
        "{err}"
    );

    let under_a_mount = pesto::mount(
        "/app",
        session_middleware(MemoryStore::new()).wrap(App::new().with_state(Db { name: "db" })),
    );
    assert_eq!(under_a_mount.check_app(), Ok(()));
    assert!(
        std::panic::catch_unwind(|| TestApp::new(App::new())).is_err(),
        "TestApp refuses too"
    );
}

#[route("/", GET)]
async fn plain(_req: &mut Request<SessionMap>) -> &'static str {
    "plain"
}
dispatcher_app!(Plain = [plain]);

#[test]
fn an_app_without_guards_or_state_checks_clean() {
    assert_eq!(
        session_middleware(MemoryStore::new())
            .wrap(Plain::new())
            .check_app(),
        Ok(())
    );
}
