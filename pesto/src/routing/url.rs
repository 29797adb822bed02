//! Reverse routing: the [`Url`] a generated `url()` returns, resolved against the current
//! request's context (mount path, origin and, in querystring session mode, the live session id).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::convert::{encode_literal, encoded_literal};
use super::route::{Part, RouteInfo};
use crate::exchange::context::RequestContext;
use crate::exchange::encoding::encode_pairs;

/// A URL generated from a route: path (with the mount path), query and fragment.
///
/// Inside a request, the path starts with the mount path (script name) and, in querystring
/// session mode, the query carries the session id. It displays as a relative URL
/// (`/recipes/fish/7?page=2#top`); [`Url::absolute`] adds scheme and host as Pesto's `url()` does.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// #[route("/recipes/<category>/<id:int>", GET)]
/// async fn show_recipe(req: &mut Request, category: String, id: u32) -> String {
///     show_recipe.url(&category, id).query("page", "2").fragment("top").absolute()
/// }
/// dispatcher_app!(App = [show_recipe]);
///
/// assert_eq!(show_recipe.url("fish & chips", 7), "/recipes/fish%20&%20chips/7");
/// let app = TestApp::new(App::new());
/// let page = app.get("/recipes/fish/7").script_name("/cook").send();
/// assert_eq!(page.body_text(), "http://localhost/cook/recipes/fish/7?page=2#top");
/// ```
#[derive(Clone)]
pub struct Url {
    /// The request the URL was made in, whose scheme and host [`Url::absolute`] takes (worked
    /// out only then: most URLs end up relative in a page); `None` outside a request.
    context: Option<Arc<RequestContext>>,
    /// Borrowed from the route's pattern when that is the whole path (see [`Url::for_route`]).
    path: Cow<'static, str>,
    query: Vec<(String, String)>,
    fragment: Option<String>,
}

impl Url {
    /// Builds the URL of a route from its parameters' texts (in pattern order), percent-encoding
    /// each one according to its converter. Called by the code `#[route]` generates.
    pub fn for_route(info: &RouteInfo, params: Vec<String>) -> Url {
        let context = RequestContext::current();
        #[cfg(debug_assertions)]
        if let Some(ctx) = &context {
            warn_if_not_served(ctx, info);
        }
        let script_name = context.as_ref().map_or("", |ctx| ctx.script_name());
        let path = match info.parts {
            // A route without parameters, at the root of the app — a login page, the home page,
            // most links of a page: its path is its pattern's text, borrowed, not built.
            [Part::Literal(text)] if script_name.is_empty() => encoded_literal(text),
            parts => Cow::Owned(build_path(script_name, parts, params)),
        };
        let mut query = Vec::new();
        if let Some(live) = context.as_ref().and_then(|ctx| ctx.live_session()) {
            if let Some(id) = live.current() {
                query.push((live.param().to_owned(), id));
            }
        }
        Url {
            context,
            path,
            query,
            fragment: None,
        }
    }

    /// Adds a query parameter (kept in order; keys may repeat).
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl fmt::Display) -> Url {
        self.query.push((key.into(), value.to_string()));
        self
    }

    /// Sets the fragment (the part after `#`).
    #[must_use]
    pub fn fragment(mut self, fragment: impl Into<String>) -> Url {
        self.fragment = Some(fragment.into());
        self
    }

    /// The path, percent-encoded, including the mount path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The absolute form `scheme://host/mount/path?query#fragment`, from the current request
    /// (`http://localhost` outside a request).
    pub fn absolute(&self) -> String {
        format!("{}{self}", self.origin())
    }

    /// `scheme://host[:port]` of the request the URL was made in.
    fn origin(&self) -> &str {
        self.context
            .as_deref()
            .map_or("http://localhost", RequestContext::origin)
    }
}

/// The path of a route of `parts` below `script_name`, the parameters' texts (`params`, in
/// pattern order) percent-encoded according to their converters.
fn build_path(script_name: &str, parts: &[Part], params: Vec<String>) -> String {
    // Room for the path as it is when nothing needs encoding: no growing on the way.
    let literals: usize = parts
        .iter()
        .map(|part| match part {
            Part::Literal(text) => text.len(),
            Part::Param { .. } => 0,
        })
        .sum();
    let values_len: usize = params.iter().map(String::len).sum();
    let mut path = String::with_capacity(script_name.len() + literals + values_len);
    path.push_str(script_name);
    let mut values = params.into_iter();
    for part in parts {
        match part {
            Part::Literal(text) => encode_literal(text, &mut path),
            Part::Param { conv, .. } => {
                conv.encode(&values.next().unwrap_or_default(), &mut path);
            }
        }
    }
    path
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if !self.query.is_empty() {
            let mut query = String::from("?");
            encode_pairs(
                self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &mut query,
            );
            f.write_str(&query)?;
        }
        if let Some(fragment) = &self.fragment {
            f.write_str("#")?;
            let mut encoded = String::new();
            encode_literal(fragment, &mut encoded);
            f.write_str(&encoded)?;
        }
        Ok(())
    }
}

impl PartialEq for Url {
    fn eq(&self, other: &Url) -> bool {
        self.path == other.path
            && self.query == other.query
            && self.fragment == other.fragment
            && self.origin() == other.origin()
    }
}

impl Eq for Url {}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

impl From<Url> for String {
    fn from(url: Url) -> String {
        if url.query.is_empty() && url.fragment.is_none() {
            return url.path.into_owned();
        }
        url.to_string()
    }
}

impl PartialEq<str> for Url {
    fn eq(&self, other: &str) -> bool {
        // Compare without allocating: render into a small comparing writer.
        struct Matcher<'a> {
            rest: &'a str,
            ok: bool,
        }
        impl fmt::Write for Matcher<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                match self.rest.strip_prefix(s) {
                    Some(rest) if self.ok => self.rest = rest,
                    _ => self.ok = false,
                }
                Ok(())
            }
        }
        let mut m = Matcher {
            rest: other,
            ok: true,
        };
        let _ = fmt::write(&mut m, format_args!("{self}"));
        m.ok && m.rest.is_empty()
    }
}

impl PartialEq<&str> for Url {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for Url {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

/// Debug builds: a URL of a route the app handling the request does not serve (a handler left out
/// of `dispatcher_app!`) would 404; say so once per route instead of letting the link fail quietly.
#[cfg(debug_assertions)]
fn warn_if_not_served(ctx: &RequestContext, info: &RouteInfo) {
    use std::sync::Mutex;
    static WARNED: Mutex<Vec<(&str, &str)>> = Mutex::new(Vec::new());
    if ctx.serves_route((info.name, info.pattern)) != Some(false) {
        return;
    }
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned.contains(&(info.name, info.pattern)) {
        return;
    }
    warned.push((info.name, info.pattern));
    tracing::warn!(
        route = info.name,
        pattern = info.pattern,
        "url() of a route this app does not serve: is `{}` missing from `dispatcher_app!`?",
        info.name
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::route::Conv;

    fn route(parts: &'static [Part]) -> RouteInfo {
        RouteInfo {
            name: "route",
            pattern: "/pattern",
            key: "/pattern",
            methods: &["GET"],
            accepts_cross_origin: false,
            parts,
        }
    }

    #[test]
    fn a_route_without_parameters_borrows_its_pattern_as_its_path() {
        let url = Url::for_route(&route(&[Part::Literal("/login")]), Vec::new());
        assert!(matches!(url.path, Cow::Borrowed("/login")), "{url:?}");
        assert_eq!(url, "/login");
        assert_eq!(String::from(url), "/login");
    }

    #[test]
    fn a_pattern_that_needs_encoding_is_encoded_borrowed_or_not() {
        let literal = Url::for_route(&route(&[Part::Literal("/a b/é")]), Vec::new());
        assert_eq!(literal, "/a%20b/%C3%A9");
        let parts = &[
            Part::Literal("/a b/"),
            Part::Param {
                name: "id",
                conv: Conv::Int,
            },
        ];
        let with_value = Url::for_route(&route(parts), vec!["7".to_owned()]);
        assert_eq!(with_value, "/a%20b/7");
        assert_eq!(
            String::from(with_value.query("q", "x y").fragment("top")),
            "/a%20b/7?q=x+y#top"
        );
    }
}
