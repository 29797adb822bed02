//! Procedural macros for [pesto](https://docs.rs/pesto): `#[route]` and `dispatcher_app!`.
//!
//! Use them through `pesto` (`use pesto::prelude::*;`), which re-exports them next to
//! the runtime types their expansions name (`::pesto::__private::...`).
//!
//! Each macro is parsed, then validated with every problem collected into one
//! combined error, then expanded. Set `PESTO_MACROS_DEBUG=1` while building to print
//! every expansion to stderr.

use proc_macro::TokenStream;

mod diag;
mod dispatcher;
mod pattern;
mod route;

/// Turns a handler `async fn` into a route.
///
/// ```
/// use pesto::prelude::*;
///
/// #[route("/recipes/<category>/<id:int>", GET)]
/// async fn show_recipe(req: &mut Request, category: String, id: u32) -> String {
///     format!("recipe {id} in {category}")
/// }
///
/// assert_eq!(show_recipe.url("fish", 7), "/recipes/fish/7");
/// ```
///
/// `#[route(PATTERN, METHOD, ...)]` takes a pattern and one or more upper-case HTTP
/// methods (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `PATCH`, `OPTIONS`, `CONNECT`,
/// `TRACE`). A final `cross_origin` (`#[route("/hooks/payment", POST, cross_origin)]`) lets
/// the route take unsafe requests from other sites — a webhook — which the cross-origin
/// protection otherwise refuses (docs/security.md, "Cross-site request forgery").
///
/// # Patterns
///
/// A pattern starts with `/` and mixes literal text with `<name:converter>` parameters,
/// anywhere in a segment (`/documents/<name>.pdf`). Two parameters need literal text
/// between them. Converters:
///
/// - `unicode` (the default when `:converter` is omitted): non-empty text without `/`;
/// - `int`: an optional sign and ASCII digits;
/// - `path`: non-empty text that may contain `/`;
/// - `any('a', "b", ...)`: exactly one of the listed strings;
/// - a type implementing `pesto::Converter`, written as a name starting with an
///   upper-case letter or as a path (`<slug:Slug>`, `<slug:my::Slug>`).
///
/// # The handler
///
/// The function must be an `async fn` without generics whose first parameter is
/// `&mut Request` or `&mut Request<YourSession>`. Every other parameter is a pattern
/// variable of the same name (in any order) whose type implements `FromStr`; a captured
/// text that does not parse answers 404. The return type implements
/// `pesto::IntoResponse`.
///
/// # What it generates
///
/// The function name becomes a unit struct (same visibility) with:
/// - `NAME::handler(...)`, the original function;
/// - `NAME.url(...) -> pesto::Url`, taking the parameters in *pattern* order, each as
///   anything implementing `UrlArg<T>` (a `T`, a `&T`, or a `&str` for `String`);
/// - an implementation of the `Route` trait that `dispatcher_app!` uses.
#[proc_macro_attribute]
pub fn route(attr: TokenStream, item: TokenStream) -> TokenStream {
    emit(route::expand(attr.into(), item.into()))
}

/// Declares an application type from a list of `#[route]` handlers.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/", GET)]
/// async fn index(req: &mut Request) -> &'static str {
///     "hello"
/// }
///
/// dispatcher_app!(pub App = [index]);
///
/// let app = TestApp::new(App::new());
/// assert_eq!(app.get("/").send().body_text(), "hello");
/// ```
///
/// `dispatcher_app!(VIS NAME = [handler, path::to::handler, ...])` defines a unit struct
/// `NAME` whose `NAME::new()` returns a `pesto::Dispatcher<S>`, `S` being the session
/// type shared by every handler (`Dispatcher::from(NAME)` does the same). Listing a handler twice, or two handlers that share
/// a method and an equivalent pattern (e.g. `/a/<x:int>` and `/a/<y:int>`), is a
/// compile error.
#[proc_macro]
pub fn dispatcher_app(input: TokenStream) -> TokenStream {
    emit(dispatcher::expand(input.into()))
}

/// Turns a hard error into `compile_error!` and honours `PESTO_MACROS_DEBUG`.
fn emit(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    let tokens = result.unwrap_or_else(syn::Error::into_compile_error);
    if std::env::var_os("PESTO_MACROS_DEBUG").is_some() {
        eprintln!("{tokens}");
    }
    tokens.into()
}
