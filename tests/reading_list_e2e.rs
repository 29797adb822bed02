//! End-to-end: the real `reading_list` binary (templates, flash messages, CSRF tokens) on port 0,
//! driven over real HTTP with the headers browsers send for same-origin, same-site and cross-site
//! form posts, in cookie and querystring modes. `tests/browser/run` drives the same app in a
//! headless Chromium.

mod common;

use common::{example_binary, post_form, query_session, send, spawn, Reply, Running};

fn start(persist: &str) -> Running {
    spawn(
        example_binary("reading_list"),
        &["--addr", "127.0.0.1:0", "--persist", persist],
    )
}

/// The CSRF token in the page's add form.
fn token(page: &Reply) -> String {
    let after = page
        .body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no token in {}", page.body));
    after.split('"').next().unwrap_or_default().to_owned()
}

/// What a browser on `origin` adds to a form post to the app: `Sec-Fetch-Site` (`same-origin`,
/// `same-site` or `cross-site`) and `Origin`.
fn browser_headers<'a>(site: &'a str, origin: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("sec-fetch-site", site),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
        ("origin", origin),
    ]
}

#[tokio::test]
async fn cookie_mode_flash_and_csrf_through_the_real_server() {
    let server = start("cookie");
    let own_origin = format!("http://{}", server.addr);
    let page = send("GET", &server.url("/"), None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Nothing to read yet."), "{}", page.body);
    let id = page
        .set_cookie("pesto_session")
        .expect("taking the token stores the session, lazy mode included");
    let jar = format!("pesto_session={id}");
    let csrf = token(&page);

    // Same-origin, as a browser posts the page's own form.
    let mut headers = browser_headers("same-origin", &own_origin).to_vec();
    headers.push(("cookie", &jar));
    let form = format!("csrf_token={csrf}&title=%3Cb%3EDune%3C%2Fb%3E");
    let added = post_form(&server.url("/books"), &headers, &form).await;
    assert_eq!(added.status, 302, "{}", added.body);
    assert_eq!(added.header("location"), Some(server.url("/").as_str()));

    let shown = send("GET", &server.url("/"), Some(&jar), None).await;
    assert!(shown.body.contains(
        "<p class=\"flash success\" role=\"status\">Added “&lt;b&gt;Dune&lt;/b&gt;”.</p>"
    ));
    assert!(
        shown.body.contains("action=\"/books/0/remove\""),
        "{}",
        shown.body
    );
    assert_eq!(shown.header("cache-control"), Some("private, no-store"));
    let again = send("GET", &server.url("/"), Some(&jar), None).await;
    assert!(!again.body.contains("Added"), "a flash shows once");
    assert!(again.body.contains("&lt;b&gt;Dune&lt;/b&gt;"));

    // The right token and the session cookie, from another origin of the same site (another
    // port) and from another site: refused by the headers alone.
    for (site, origin) in [
        ("same-site", "http://127.0.0.1:1"),
        ("cross-site", "http://localhost:1"),
    ] {
        let mut headers = browser_headers(site, origin).to_vec();
        headers.push(("cookie", &jar));
        let forged = post_form(
            &server.url("/books"),
            &headers,
            &format!("csrf_token={csrf}&title=Forged"),
        )
        .await;
        assert_eq!(forged.status, 403, "{site}: {}", forged.body);
        assert!(
            forged.body.contains("cross-origin request refused"),
            "{}",
            forged.body
        );
    }
    // A browser too old for Sec-Fetch-Site: its Origin decides.
    let old = post_form(
        &server.url("/books"),
        &[("origin", "http://localhost:1"), ("cookie", &jar)],
        &format!("csrf_token={csrf}&title=Forged"),
    )
    .await;
    assert_eq!(old.status, 403);

    // A same-origin post without the token, or with another session's: refused by the token.
    let mut headers = browser_headers("same-origin", &own_origin).to_vec();
    headers.push(("cookie", &jar));
    for form in ["title=Forged", "csrf_token=0000&title=Forged"] {
        let refused = post_form(&server.url("/books"), &headers, form).await;
        assert_eq!(refused.status, 403);
        assert!(refused
            .body
            .contains("security token is missing or out of date"));
    }
    let list = send("GET", &server.url("/"), Some(&jar), None).await;
    assert!(!list.body.contains("Forged"), "nothing forged was added");

    // Remove posts its own token; a stale index says so instead of removing another book.
    let removed = post_form(
        &server.url("/books/0/remove"),
        &headers,
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(removed.status, 302);
    let stale = post_form(
        &server.url("/books/0/remove"),
        &headers,
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(stale.status, 302);
    let list = send("GET", &server.url("/"), Some(&jar), None).await;
    assert!(
        list.body.contains("Removed “&lt;b&gt;Dune&lt;/b&gt;”."),
        "{}",
        list.body
    );
    assert!(list.body.contains("That book was already removed."));
    assert!(list.body.contains("Nothing to read yet."));
}

#[tokio::test]
async fn querystring_mode_flash_and_csrf_through_the_real_server() {
    let server = start("querystring");
    let own_origin = format!("http://{}", server.addr);
    // Lazy mode: the page that takes the token creates the session and puts its id in the links.
    let page = send("GET", &server.url("/"), None, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.set_cookie("pesto_session").is_none(),
        "no cookie in querystring mode"
    );
    let action = page
        .body
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form action")
        .to_owned();
    let id = query_session(&format!("http://x{action}")).expect("the id in the form's action");
    let csrf = token(&page);
    let add = format!("/books?pesto_session={id}");
    assert!(
        page.body.contains(&format!("action=\"{add}\"")),
        "{}",
        page.body
    );

    let headers = browser_headers("same-origin", &own_origin);
    let added = post_form(
        &server.url(&add),
        &headers,
        &format!("csrf_token={csrf}&title=Solaris"),
    )
    .await;
    assert_eq!(added.status, 302, "{}", added.body);
    let next = added.header("location").expect("location");
    assert_eq!(query_session(next).as_deref(), Some(id.as_str()));
    let shown = send("GET", next, None, None).await;
    assert!(shown.body.contains("Added “Solaris”."), "{}", shown.body);
    assert!(!send("GET", next, None, None).await.body.contains("Added"));

    for (site, origin) in [
        ("same-site", "http://127.0.0.1:1"),
        ("cross-site", "http://localhost:1"),
    ] {
        let forged = post_form(
            &server.url(&add),
            &browser_headers(site, origin),
            &format!("csrf_token={csrf}&title=Forged"),
        )
        .await;
        assert_eq!(forged.status, 403, "{site}");
    }
    let refused = post_form(&server.url(&add), &headers, "title=Forged").await;
    assert_eq!(refused.status, 403);
    assert!(!send("GET", next, None, None).await.body.contains("Forged"));
}
