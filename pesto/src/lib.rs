//! pesto: a small web framework after Python's Pesto, with typed, safe-by-default sessions.
//!
//! Handlers are `async fn`s marked with [`route`]; [`dispatcher_app!`] gathers them into a
//! [`Dispatcher`], which runs under [`serve`](crate::Server), inside a tower stack through
//! [`Service`](crate::PestoService), or in-process under [`TestApp`].
//!
//! ```
//! use pesto::prelude::*;
//! use pesto::TestApp;
//!
//! #[route("/recipes", GET)]
//! async fn recipe_index(req: &mut Request) -> Response {
//!     Response::text("This is the recipe index page")
//! }
//!
//! #[route("/recipes/<category:unicode>/<id:int>", GET)]
//! async fn show_recipe(req: &mut Request, category: String, id: u32) -> String {
//!     format!("recipe #{id} in {category}")
//! }
//!
//! dispatcher_app!(App = [recipe_index, show_recipe]);
//!
//! let app = TestApp::new(App::new());
//! assert_eq!(app.get("/recipes/fish/7").send().body_text(), "recipe #7 in fish");
//! assert_eq!(show_recipe.url("fish", 7), "/recipes/fish/7");
//! ```
//!
//! The guides: [routing and handlers](crate::routing) (patterns, request guards, fallbacks,
//! early answers with `?`, tower layers), [sessions](crate::session), [testing],
//! [state and databases](crate::guide::state_and_databases), [server-rendered
//! pages](crate::guide::pages) (flash messages, CSRF tokens, private pages),
//! [security](crate::guide::security) and [performance](crate::guide::performance).
#![deny(rustdoc::broken_intra_doc_links)]

// The layers, bottom up: each imports only from the layers before it (see ARCHITECTURE.md).
// 1. The request vocabulary.
mod exchange;
// 2. The `Endpoint` trait, mounting and the tower adapter.
mod endpoint;
// 3. Routing: the dispatcher, its matcher, converters and URLs.
pub mod routing;
// 4. Sessions: the middleware and its stores.
pub mod session;
// 5. On top: the server and the test client.
mod server;
pub mod testing;
// 6. Over every layer: the fuzz target bodies (reached through `__private::fuzz`).
mod fuzz;

/// The guides that span the layers, as rustdoc pages (their code blocks run as doctests).
pub mod guide {
    #[doc = include_str!("../../docs/security.md")]
    pub mod security {}
    #[doc = include_str!("../../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../../docs/state-and-databases.md")]
    pub mod state_and_databases {}
    #[doc = include_str!("../../docs/pages.md")]
    pub mod pages {}
}

pub use endpoint::{
    mount, AppCheck, AppCheckError, CrossOriginApp, CrossOriginProtection, CrossOriginRefused,
    Endpoint, HttpService, Mount, Mounts, PestoService, ServiceEndpoint, ServiceFuture,
};
pub use exchange::{
    box_body, html_escape, BoxError, ErrAnswer, Error, Flash, FlashLevel, HandedContext, Https,
    IntoResponse, Limits, MultiDict, RawBody, RawRequest, RemoteAddr, Request, Response, Session,
    UploadedFile,
};
#[cfg(feature = "askama")]
pub use exchange::{HtmlEscaper, Page};
pub use routing::{
    Converter, CsrfRefused, CsrfToken, CsrfVerified, Dispatcher, Form, FromRequest, Json, Query,
    RouteError, State, Unmatched, Url,
};
pub use server::{shutdown_signal, Server};
pub use session::session_middleware;
pub use testing::{HeldRequest, TestApp, TestRequest, TestResponse};

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// The `cookie` crate, for [`Response::with_cookie`] and [`Response::remove_cookie`].
pub use cookie;
pub use pesto_macros::{dispatcher_app, route};

/// Serves an app on `addr` with the default [`Server`] settings until Ctrl-C or SIGTERM.
///
/// # Errors
/// Fails if the address cannot be bound.
pub async fn serve<E: Endpoint>(addr: std::net::SocketAddr, app: E) -> std::io::Result<()> {
    Server::bind(addr).await?.serve(app).await
}

/// Middleware in pesto's own terms: [`from_fn`](middleware::from_fn) makes an [`Endpoint`] that
/// wraps another from an async function of the request and [`Next`](middleware::Next). For
/// tower layers, see [`Server::layer`] and [`TestApp::layer`].
pub mod middleware {
    pub use crate::endpoint::{from_fn, FromFn, FromFnApp, Next};
}

/// The names a handler module needs: `use pesto::prelude::*;`. Assembling and testing an app
/// (`session_middleware`, the stores, `TestApp`) is done by path.
pub mod prelude {
    pub use crate::session::SessionMap;
    pub use crate::{
        dispatcher_app, html_escape, route, FlashLevel, IntoResponse, Method, Request, Response,
        Session, StatusCode, Url,
    };
}

/// Items used by the code `#[route]` and `dispatcher_app!` generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::routing::captures::Captures;
    pub use crate::routing::route::{
        from_param, param_not_converted, routes_collide, Conv, HandlerFuture, Part, RequestType,
        Route, RouteInfo, UrlArg,
    };
    pub use crate::routing::{Provided, RouteEntry};

    /// The stored form of a session and the change check, for the benchmarks (`pesto/benches`).
    pub mod session_data {
        pub use crate::exchange::session_json::{decode_data, serializes_to};
        pub use crate::session::envelope::{decode as envelope_decode, encode as envelope_encode};
    }

    /// The fuzz target bodies, shared by `fuzz/` and the corpus replay test (docs/security.md,
    /// "Fuzzing").
    pub mod fuzz {
        #[cfg(feature = "redis")]
        pub use crate::fuzz::redis_record;
        pub use crate::fuzz::{cookie_header, file_record, multipart, path_match, urlencoded};
    }
}
