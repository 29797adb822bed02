//! pesto: a small web framework after Python's Pesto, with typed, safe-by-default sessions.
//!
//! Handlers are `async fn`s marked with [`route`]; [`dispatcher_app!`] gathers them into a
//! [`Dispatcher`], which runs under [`serve`](crate::Server), inside a tower stack through
//! [`Service`](crate::PestoService), or in-process under [`TestApp`].
//!
//! ```
//! use pesto::prelude::*;
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
#![deny(rustdoc::broken_intra_doc_links)]

mod body;
mod cookies;
mod endpoint;
mod multidict;
mod request;
mod response;
pub mod routing;
mod server;
pub mod session;
mod test_app;

pub use body::{Limits, UploadedFile};
pub use endpoint::{
    box_body, mount, BoxError, Endpoint, Https, Mount, Mounts, PestoService, RawBody, RawRequest,
    RemoteAddr, ServiceFuture,
};
pub use multidict::MultiDict;
pub use request::Request;
pub use response::{html_escape, IntoResponse, Response};
pub use routing::{Converter, Dispatcher, RouteError, Url};
pub use server::{shutdown_signal, Server};
pub use session::{session_middleware, Session};
pub use test_app::{TestApp, TestRequest, TestResponse};

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

/// The names a handler module usually needs: `use pesto::prelude::*;`.
pub mod prelude {
    pub use crate::session::{
        session_middleware, FileStore, MemoryStore, SessionMap,
    };
    pub use crate::{
        dispatcher_app, route, IntoResponse, Method, Request, Response, StatusCode, TestApp, Url,
    };
}

/// Items used by the code `#[route]` and `dispatcher_app!` generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::routing::route::{
        from_param, routes_collide, Conv, HandlerFuture, Part, RequestType, Route, RouteInfo,
        UrlArg,
    };
    pub use crate::routing::RouteEntry;
}
