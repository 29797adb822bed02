//! End-to-end: the real `tower_layers` example on port 0, over real HTTP: tower-http's gzip,
//! timeout and CORS layers around a pesto app, the example's `from_fn` middleware (an API key,
//! a header on every answer) with sessions inside, and the server's own header limit in front.

mod common;

use std::io::Read;

use common::{example_binary, send, send_with_headers, spawn};

#[tokio::test]
async fn the_tower_stack_over_http() {
    let server = spawn(
        example_binary("tower_layers"),
        &["--addr", "127.0.0.1:0", "--timeout-ms", "300"],
    );

    // Compression, when asked for; the from_fn header on the answer.
    let page = send_with_headers("GET", &server.url("/"), &[("accept-encoding", "gzip")]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("gzip"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&page.body[..])
        .read_to_string(&mut text)
        .expect("a gzip body");
    assert!(text.starts_with("Pesto: basil"), "{text}");
    assert!(page.body.len() < text.len() / 4, "compressed");

    // The timeout layer's status for a handler that takes too long.
    assert_eq!(
        send("GET", &server.url("/slow"), None, None).await.status,
        504
    );

    // Sessions inside the middleware and the layers.
    let first = send("GET", &server.url("/visits"), None, None).await;
    assert_eq!(first.body, "visit 1");
    let id = first.set_cookie("pesto_session").expect("a session cookie");
    let cookie = format!("pesto_session={id}");
    let second = send("GET", &server.url("/visits"), Some(&cookie), None).await;
    assert_eq!(second.body, "visit 2");

    // The from_fn middleware answers early without a key, and passes with one.
    assert_eq!(
        send("GET", &server.url("/api/hello"), None, None)
            .await
            .status,
        401
    );
    let keyed = send_with_headers("GET", &server.url("/api/hello"), &[("x-api-key", "demo")]).await;
    assert_eq!(keyed.status, 200);
    assert_eq!(&keyed.body[..], br#"{"hello":"tower"}"#);

    // The CORS preflight is answered by the layer, outside the key check.
    let preflight = send_with_headers(
        "OPTIONS",
        &server.url("/api/hello"),
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-api-key"),
        ],
    )
    .await;
    assert_eq!(preflight.status, 200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );

    // The server's header limit still holds in front of the stack.
    let big = "a".repeat(20 * 1024);
    let refused = send_with_headers("GET", &server.url("/"), &[("x-big", &big)]).await;
    assert_eq!(refused.status, 431);
}
