//! Request accessors, body limits and forms, response builders and handler return types.

use pesto::prelude::*;
use pesto::TestApp;
use pesto::{Limits, StatusCode};

// ---- Requests --------------------------------------------------------------------------

#[route("/echo", GET, POST, PUT)]
async fn echo(req: &mut Request) -> String {
    let tags: Vec<&str> = req.query().get_all("tag").collect();
    format!(
        "method={} path={} script={} get={:?} tags={:?} form_a={:?} cookie={:?} header={:?} body_len={}",
        req.method(),
        req.path_info(),
        req.script_name(),
        req.get("a"),
        tags,
        req.form().get("a"),
        req.cookie("flavour"),
        req.header("x-test"),
        req.body().len(),
    )
}

#[route("/upload", POST)]
async fn upload(req: &mut Request) -> String {
    let file = req.file("doc");
    format!(
        "title={:?} file={:?} name={:?} type={:?} files={}",
        req.form().get("title"),
        file.map(|f| String::from_utf8_lossy(&f.data).into_owned()),
        file.and_then(|f| f.file_name.clone()),
        file.and_then(|f| f.content_type.clone()),
        req.files().len(),
    )
}

#[route("/raw", POST)]
async fn raw(req: &mut Request) -> Response {
    match req.json::<serde_json::Value>() {
        Ok(v) => Response::json(&v),
        Err(_) => Response::bad_request(),
    }
}

#[route("/remote", GET)]
async fn remote(req: &mut Request) -> String {
    format!("{:?} {} {}", req.remote_addr(), req.scheme(), req.host())
}

dispatcher_app!(App = [echo, upload, raw, remote]);

#[test]
fn request_accessors() {
    let app = TestApp::new(App::new());
    app.set_cookie("flavour", "basil");
    let r = app
        .get("/echo?a=1&tag=x&tag=y")
        .script_name("/m")
        .header("x-test", "yes")
        .send();
    assert_eq!(
        r.body_text(),
        "method=GET path=/echo script=/m get=Some(\"1\") tags=[\"x\", \"y\"] form_a=None \
         cookie=Some(\"basil\") header=Some(\"yes\") body_len=0"
    );
}

#[test]
fn get_reads_the_form_for_post_and_put_like_pesto() {
    let app = TestApp::new(App::new());
    let r = app
        .post("/echo?a=query")
        .form(&[("a", "form value")])
        .send();
    assert!(
        r.body_text().contains("get=Some(\"form value\")"),
        "{}",
        r.body_text()
    );
    let r = app
        .request(Method::PUT, "/echo?a=query")
        .form(&[("a", "put")])
        .send();
    assert!(
        r.body_text().contains("get=Some(\"put\")"),
        "{}",
        r.body_text()
    );
}

#[test]
fn multipart_form_with_file_upload() {
    let app = TestApp::new(App::new());
    let r = app
        .post_multipart("/upload")
        .field("title", "Pesto")
        .file("doc", "recipe.txt", "text/plain", "basil, pine nuts")
        .send();
    assert_eq!(
        r.body_text(),
        "title=Some(\"Pesto\") file=Some(\"basil, pine nuts\") name=Some(\"recipe.txt\") \
         type=Some(\"text/plain\") files=1"
    );
}

#[test]
fn body_over_the_limit_is_413_and_limits_are_configurable() {
    let app = TestApp::new(App::new());
    let big = "a=".to_owned() + &"x".repeat(1024 * 1024);
    let r = app
        .post("/echo")
        .body(big.clone(), "application/x-www-form-urlencoded")
        .send();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The multipart default is larger: the same size passes as an upload.
    let r = app
        .post_multipart("/upload")
        .file("doc", "big.txt", "text/plain", vec![b'x'; 1024 * 1024 + 10])
        .send();
    assert_eq!(r.status(), 200);

    let small = TestApp::new(App::new().limits(Limits::default().body(10).multipart(100)));
    assert_eq!(
        small
            .post("/echo")
            .form(&[("a", "0123456789")])
            .send()
            .status(),
        413
    );
    assert_eq!(small.post("/echo").form(&[("a", "1")]).send().status(), 200);
    let r = small
        .post_multipart("/upload")
        .file("doc", "f", "text/plain", vec![0u8; 200])
        .send();
    assert_eq!(r.status(), 413);
}

#[test]
fn malformed_bodies_are_400() {
    let app = TestApp::new(App::new());
    let r = app
        .post("/echo")
        .body(&b"a=%FF%FE"[..], "application/x-www-form-urlencoded")
        .send();
    assert_eq!(r.status(), 400);
    let r = app
        .post("/upload")
        .body("garbage", "multipart/form-data")
        .send();
    assert_eq!(r.status(), 400, "no boundary");
    let r = app
        .post("/upload")
        .body(
            "--xyz\r\nnot a header\r\n",
            "multipart/form-data; boundary=xyz",
        )
        .send();
    assert_eq!(r.status(), 400, "broken part");
    let r = app.post("/echo").header("content-length", "abc").send();
    assert_eq!(r.status(), 400, "bad content-length");
}

#[test]
fn raw_body_and_json() {
    let app = TestApp::new(App::new());
    let r = app
        .post("/raw")
        .json(&serde_json::json!({"basil": 3}))
        .send();
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json::<serde_json::Value>().expect("json")["basil"], 3);
    assert_eq!(
        app.post("/raw")
            .body("{", "application/json")
            .send()
            .status(),
        400
    );
}

#[test]
fn remote_address_is_none_in_process() {
    let app = TestApp::new(App::new());
    assert_eq!(app.get("/remote").send().body_text(), "None http localhost");
}

// ---- Responses -------------------------------------------------------------------------

#[route("/kinds/<kind>", GET)]
async fn kinds(_req: &mut Request, kind: String) -> Response {
    match kind.as_str() {
        "text" => Response::text("plain"),
        "html" => Response::html("<b>bold</b>"),
        "json" => Response::json(&serde_json::json!({"a": [1, 2]})),
        "bytes" => Response::bytes(vec![0u8, 1, 2]),
        "status" => Response::text("made").with_status(StatusCode::CREATED),
        "header" => Response::text("h")
            .with_header("x-one", "1")
            .append_header("x-many", "a")
            .append_header("x-many", "b"),
        "cookies" => Response::text("c")
            .with_cookie(cookie::Cookie::build(("theme", "dark")).path("/").build())
            .remove_cookie("old"),
        "bad-header" => Response::text("never sent").with_header("x-bad", "line\nbreak"),
        "redirect" => Response::redirect("/elsewhere"),
        "redirect-relative" => Response::redirect("sibling"),
        "moved" => Response::redirect_with(StatusCode::MOVED_PERMANENTLY, "https://example.org/x"),
        "not-found" => Response::not_found(),
        "forbidden" => Response::forbidden(),
        "bad-request" => Response::bad_request(),
        "not-allowed" => Response::method_not_allowed(["GET", "POST"]),
        "error" => Response::internal_server_error(),
        _ => Response::not_found(),
    }
}

#[route("/ret/string", GET)]
async fn ret_string(_req: &mut Request) -> String {
    "a String".to_owned()
}
#[route("/ret/str", GET)]
async fn ret_str(_req: &mut Request) -> &'static str {
    "a str"
}
#[route("/ret/tuple", GET)]
async fn ret_tuple(_req: &mut Request) -> (StatusCode, String) {
    (StatusCode::ACCEPTED, "accepted".to_owned())
}
#[route("/ret/ok", GET)]
async fn ret_ok(_req: &mut Request) -> Result<String, pesto::Error> {
    Ok("fine".to_owned())
}
#[route("/ret/err", GET)]
async fn ret_err(_req: &mut Request) -> Result<String, pesto::Error> {
    Err(std::io::Error::other(
        "secret database password in /etc/shadow",
    ))?
}
#[route("/ret/panic", GET)]
async fn ret_panic(_req: &mut Request) -> String {
    panic!("secret panic detail")
}

/// A helper with an early answer: what `?` turns into the handler's answer.
fn require_key(req: &Request) -> Result<&str, pesto::Error> {
    req.get("key")
        .ok_or_else(|| Response::redirect("/ret/ok").into())
}
#[route("/ret/early", GET)]
async fn ret_early(req: &mut Request) -> Result<String, Response> {
    let key = require_key(req)?;
    Ok(format!("key {key}"))
}
#[route("/ret/mixed", GET)]
async fn ret_mixed(req: &mut Request) -> Result<String, pesto::Error> {
    let key = require_key(req)?.to_owned();
    if key == "forbidden" {
        return Err(StatusCode::FORBIDDEN.into_response().into());
    }
    let n: u32 = key.parse()?;
    Ok(format!("n {n}"))
}

dispatcher_app!(
    Kinds =
        [kinds, ret_string, ret_str, ret_tuple, ret_ok, ret_err, ret_panic, ret_early, ret_mixed]
);

#[test]
fn errors_answer_early_with_question_mark() {
    let app = TestApp::new(Kinds::new());
    let early = app.get("/ret/early").send();
    assert_eq!(early.status(), 302);
    assert_eq!(early.header("location"), Some("http://localhost/ret/ok"));
    assert_eq!(app.get("/ret/early?key=k").send().body_text(), "key k");
    assert_eq!(
        app.get("/ret/mixed").send().status(),
        302,
        "a Response is an early answer"
    );
    assert_eq!(app.get("/ret/mixed?key=forbidden").send().status(), 403);
    assert_eq!(app.get("/ret/mixed?key=7").send().body_text(), "n 7");
    let failed = app.get("/ret/mixed?key=seven").send();
    assert_eq!(failed.status(), 500, "a std error is a failure");
    assert!(
        !failed.body_text().contains("invalid digit"),
        "logged, never shown"
    );
}

#[test]
fn body_builders_set_content_types() {
    let app = TestApp::new(Kinds::new());
    let cases = [
        ("text", "text/plain; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
        ("json", "application/json"),
        ("bytes", "application/octet-stream"),
    ];
    for (kind, ct) in cases {
        let r = app.get(&format!("/kinds/{kind}")).send();
        assert_eq!(r.status(), 200, "{kind}");
        assert_eq!(r.header("content-type"), Some(ct), "{kind}");
    }
    assert_eq!(app.get("/kinds/json").send().body_text(), r#"{"a":[1,2]}"#);
    assert_eq!(app.get("/kinds/bytes").send().body(), &[0u8, 1, 2]);
}

#[test]
fn status_headers_and_cookies() {
    let app = TestApp::new(Kinds::new());
    assert_eq!(app.get("/kinds/status").send().status(), 201);
    let r = app.get("/kinds/header").send();
    assert_eq!(r.header("x-one"), Some("1"));
    assert_eq!(r.header_values("x-many"), ["a", "b"]);
    let r = app.get("/kinds/cookies").send();
    let cookies = r.header_values("set-cookie");
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].starts_with("theme=dark") && cookies[0].contains("Path=/"));
    assert!(
        cookies[1].starts_with("old=") && cookies[1].contains("Max-Age=0"),
        "{}",
        cookies[1]
    );
}

#[test]
fn an_invalid_header_value_becomes_a_500_not_a_panic() {
    let app = TestApp::new(Kinds::new());
    let r = app.get("/kinds/bad-header").send();
    assert_eq!(r.status(), 500);
    assert!(!r.body_text().contains("never sent"));
}

#[test]
fn redirects_are_absolute_302_with_html_body_and_any_3xx() {
    let app = TestApp::new(Kinds::new());
    let r = app.get("/kinds/redirect").script_name("/app").send();
    assert_eq!(r.status(), 302);
    assert_eq!(r.header("location"), Some("http://localhost/elsewhere"));
    assert!(r.body_text().contains("<a href=\"/elsewhere\">"));
    let r = app.get("/kinds/redirect-relative").send();
    assert_eq!(r.header("location"), Some("http://localhost/kinds/sibling"));
    let r = app.get("/kinds/moved").send();
    assert_eq!(r.status(), 301);
    assert_eq!(r.header("location"), Some("https://example.org/x"));
}

#[test]
fn error_helpers() {
    let app = TestApp::new(Kinds::new());
    for (kind, status) in [
        ("not-found", 404),
        ("forbidden", 403),
        ("bad-request", 400),
        ("not-allowed", 405),
        ("error", 500),
    ] {
        assert_eq!(
            app.get(&format!("/kinds/{kind}")).send().status(),
            status,
            "{kind}"
        );
    }
    assert_eq!(
        app.get("/kinds/not-allowed").send().header("allow"),
        Some("GET, POST")
    );
}

#[test]
fn handler_return_types() {
    let app = TestApp::new(Kinds::new());
    assert_eq!(app.get("/ret/string").send().body_text(), "a String");
    assert_eq!(app.get("/ret/str").send().body_text(), "a str");
    let r = app.get("/ret/tuple").send();
    assert_eq!(
        (r.status().as_u16(), r.body_text()),
        (202, "accepted".to_owned())
    );
    assert_eq!(app.get("/ret/ok").send().body_text(), "fine");
}

#[test]
fn an_err_is_a_500_that_leaks_nothing() {
    let app = TestApp::new(Kinds::new());
    let r = app.get("/ret/err").send();
    assert_eq!(r.status(), 500);
    assert!(!r.body_text().contains("secret"), "{}", r.body_text());
}

#[test]
fn a_panicking_handler_is_a_500_and_the_app_keeps_serving() {
    let app = TestApp::new(Kinds::new());
    let r = app.get("/ret/panic").send();
    assert_eq!(r.status(), 500);
    assert!(!r.body_text().contains("secret"));
    assert_eq!(app.get("/ret/str").send().status(), 200);
}
