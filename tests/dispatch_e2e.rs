//! End-to-end: the real `dispatch` example on port 0, over real HTTP: its routes, HEAD, 405 with
//! `Allow`, a form post, and the app mounted under a prefix.

mod common;

use common::{example_binary, send, spawn};

#[tokio::test]
async fn the_recipe_routes_over_http() {
    let server = spawn(example_binary("dispatch"), &["--addr", "127.0.0.1:0"]);
    let index = send("GET", &server.url("/recipes"), None, None).await;
    assert_eq!(
        (index.status, index.body.as_str()),
        (200, "This is the recipe index page")
    );
    let recipe = send("GET", &server.url("/recipes/fish/7"), None, None).await;
    assert_eq!(recipe.body, "recipe #7 in fish");
    let doc = send("GET", &server.url("/documents/a/b/menu.pdf"), None, None).await;
    assert_eq!(doc.body, "document menu.pdf in a/b");
    let head = send("HEAD", &server.url("/recipes"), None, None).await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    let wrong = send("DELETE", &server.url("/contact-form"), None, None).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, POST"));
    let submit = send(
        "POST",
        &server.url("/contact-form"),
        None,
        Some("message=hi"),
    )
    .await;
    assert_eq!(submit.status, 302);
    assert_eq!(
        submit.header("location"),
        Some(server.url("/recipes").as_str())
    );
    assert_eq!(
        send("GET", &server.url("/recipes/fish/x"), None, None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn mounted_under_a_prefix() {
    let server = spawn(
        example_binary("dispatch"),
        &["--addr", "127.0.0.1:0", "--mount", "/cookbook"],
    );
    let form = send("GET", &server.url("/cookbook/contact-form"), None, None).await;
    assert!(
        form.body.contains("action=\"/cookbook/contact-form\""),
        "{}",
        form.body
    );
    assert_eq!(
        send("GET", &server.url("/recipes"), None, None)
            .await
            .status,
        404
    );
}
