//! What `#[route]` generates code against: the static description of a route and the
//! [`Route`] trait every routed handler implements.

use std::fmt;

use futures_util::future::BoxFuture;

use super::captures::Captures;
use super::guards::Provided;
use crate::exchange::{Request, Response};

/// How the text captured by one `<name:converter>` part is matched.
#[derive(Clone, Copy)]
pub enum Conv {
    /// `unicode` (the default): any non-empty text without `/`.
    Unicode,
    /// `int`: an optional sign followed by ASCII digits.
    Int,
    /// `path`: non-empty text that may contain `/` (but no empty segment).
    Path,
    /// `any('a', 'b', …)`: exactly one of the listed strings.
    Any(&'static [&'static str]),
    /// A user-defined converter: a type implementing [`crate::Converter`].
    Custom {
        /// The converter's name as written in the pattern (for messages and conflict checks).
        name: &'static str,
        /// `<T as Converter>::matches`.
        matches: fn(&str) -> bool,
    },
}

impl fmt::Debug for Conv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conv::Unicode => f.write_str("unicode"),
            Conv::Int => f.write_str("int"),
            Conv::Path => f.write_str("path"),
            Conv::Any(choices) => write!(f, "any{choices:?}"),
            Conv::Custom { name, .. } => f.write_str(name),
        }
    }
}

/// One piece of a parsed route pattern.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// Literal text, matched after percent-decoding the request path. May contain `/`.
    Literal(&'static str),
    /// A `<name:converter>` capture.
    Param {
        /// The variable's name (the handler parameter it feeds).
        name: &'static str,
        /// How its text is matched.
        conv: Conv,
    },
}

/// The static description of one routed handler, produced by `#[route]`.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The handler's name, for logs and error messages.
    pub name: &'static str,
    /// The pattern as written, e.g. `/recipes/<category:unicode>/<id:int>`.
    pub pattern: &'static str,
    /// The pattern with parameter names removed (`/recipes/<:unicode>/<:int>`): two routes with the
    /// same key and a common method can never both be reached.
    pub key: &'static str,
    /// Upper-case HTTP method names, e.g. `["GET"]`.
    pub methods: &'static [&'static str],
    /// Whether the route takes unsafe requests from other sites (`#[route(.., cross_origin)]`):
    /// the cross-origin protection lets them through to it.
    pub accepts_cross_origin: bool,
    /// The parsed pattern. Always starts with a literal beginning with `/`.
    pub parts: &'static [Part],
}

/// What the generated code answers when a captured parameter does not convert: 404, marked so
/// that the dispatcher's fallback, if any, answers instead (with [`Unmatched::BadParameter`]).
///
/// [`Unmatched::BadParameter`]: super::Unmatched::BadParameter
pub fn param_not_converted<S>(req: &mut Request<S>) -> Response {
    req.mark_unconverted();
    Response::not_found()
}

/// The future a routed handler returns once wrapped by `#[route]`.
pub type HandlerFuture<'a> = BoxFuture<'a, Response>;

/// A routed handler's entry point: the request and the captured parameters, in pattern order.
pub type HandlerFn<S> = for<'a> fn(&'a mut Request<S>, Captures) -> HandlerFuture<'a>;

/// Implemented by `#[route]` for the unit struct named after each handler.
pub trait Route: Send + Sync + 'static {
    /// The application's session type (the `S` of the handler's `&mut Request<S>`).
    type Session: Send + 'static;
    /// The route's static description.
    const INFO: RouteInfo;
    /// Converts the captured parameters (percent-decoded, in pattern order) and runs the handler.
    /// A parameter that does not convert to the handler's type answers 404.
    fn call(req: &mut Request<Self::Session>, params: Captures) -> HandlerFuture<'_>;

    /// What the handler's request guards need and `app` does not provide, one sentence each
    /// ([`FromRequest::check`](super::FromRequest::check)); checked before the first request.
    fn check(app: &Provided<'_>) -> Vec<String> {
        let _ = app;
        Vec::new()
    }
}

/// A route's [`Route::check`].
pub type CheckFn = fn(&Provided<'_>) -> Vec<String>;

/// Lets `#[route]` name the session type of a handler's first parameter.
#[diagnostic::on_unimplemented(
    message = "the first parameter of a `#[route]` handler must be `&mut Request` or `&mut Request<YourSession>`, not `&mut {Self}`",
    label = "expected `Request<S>` here"
)]
pub trait RequestType {
    /// The `S` of `Request<S>`.
    type Session: Send + 'static;
}

impl<S: Send + 'static> RequestType for Request<S> {
    type Session = S;
}

/// True when two routes share a method and a pattern key: `dispatcher_app!` refuses them at
/// compile time (a trait bound that holds only for distinct routes, evaluated with this).
pub const fn routes_collide(a: &RouteInfo, b: &RouteInfo) -> bool {
    if !str_eq(a.key, b.key) {
        return false;
    }
    let mut i = 0;
    while i < a.methods.len() {
        let mut j = 0;
        while j < b.methods.len() {
            if str_eq(a.methods[i], b.methods[j]) {
                return true;
            }
            j += 1;
        }
        i += 1;
    }
    false
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A value accepted by a generated `url()` for a parameter of type `T`: a `T`, a `&T`, or a
/// `&str` where `T` is `String`.
pub trait UrlArg<T> {
    /// The value's text before percent-encoding.
    fn to_url_text(&self) -> String;
}

impl<T: fmt::Display> UrlArg<T> for T {
    fn to_url_text(&self) -> String {
        self.to_string()
    }
}

impl<T: fmt::Display> UrlArg<T> for &T {
    fn to_url_text(&self) -> String {
        (*self).to_string()
    }
}

impl UrlArg<String> for &str {
    fn to_url_text(&self) -> String {
        (*self).to_owned()
    }
}

/// Parses one captured parameter into the handler's type; `None` makes the dispatcher answer 404.
pub fn from_param<T: std::str::FromStr>(value: Option<&str>) -> Option<T> {
    value.and_then(|v| v.parse().ok())
}
