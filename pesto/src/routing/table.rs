//! The route table of a dispatcher: its entries, the conflict check, and the lookup of a
//! request's method and path (with the canonical-path alternatives for a miss).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use http::Method;

use super::captures::Captures;
use super::convert::decode_segment;
use super::route::{self, CheckFn, HandlerFn, Route, RouteInfo};
pub(crate) use super::tree::PathSegments;
use super::tree::{find_byte, Tree, Unencoded, Visit};

/// One routed handler in a [`Dispatcher`](super::Dispatcher): its description and its entry point.
pub struct RouteEntry<S> {
    info: RouteInfo,
    pub(super) call: HandlerFn<S>,
    /// What the handler's guards need that the app may not provide (see [`Route::check`]).
    pub(super) check: CheckFn,
}

impl<S: Send + 'static> RouteEntry<S> {
    /// The entry for the handler `H` (its `#[route]` unit struct).
    pub fn of<H: Route<Session = S>>() -> Self {
        RouteEntry {
            info: H::INFO,
            call: H::call,
            check: H::check,
        }
    }

    /// An entry from a description and an entry point, for route tables built without the
    /// macros (benchmarks, generated tables). The parts must describe a valid pattern.
    #[doc(hidden)]
    pub fn from_raw(info: RouteInfo, call: HandlerFn<S>) -> Self {
        RouteEntry {
            info,
            call,
            check: |_| Vec::new(),
        }
    }

    /// The route's static description.
    pub fn info(&self) -> &RouteInfo {
        &self.info
    }
}

impl<S> Clone for RouteEntry<S> {
    fn clone(&self) -> Self {
        RouteEntry {
            info: self.info,
            call: self.call,
            check: self.check,
        }
    }
}

impl<S> fmt::Debug for RouteEntry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteEntry")
            .field("name", &self.info.name)
            .field("pattern", &self.info.pattern)
            .field("methods", &self.info.methods)
            .finish()
    }
}

/// A route table that cannot be built: two routes would answer the same requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// Two handlers share a method and a pattern (parameter names aside): `/a/<x:int>` GET and
    /// `/a/<y:int>` GET conflict, `/a/<x:int>` GET and `/a/<x:int>` POST do not.
    #[error("duplicate route: `{first}` and `{second}` both answer {method} {pattern}")]
    Conflict {
        /// The handler registered first.
        first: &'static str,
        /// The handler that collides with it.
        second: &'static str,
        /// The shared method.
        method: String,
        /// The first route's pattern.
        pattern: &'static str,
    },
}

/// The routes of a dispatcher and the matcher over them.
pub(crate) struct Table<S> {
    pub(crate) entries: Vec<RouteEntry<S>>,
    /// Each entry's standard methods as bits (see [`method_bit`]), so that choosing among the
    /// routes of a path compares no text.
    method_bits: Vec<u16>,
    tree: Tree,
}

/// The outcome of matching a request's method and path.
pub(crate) enum Lookup<'t, S> {
    Found(&'t RouteEntry<S>, Captures),
    MethodNotAllowed(BTreeSet<String>),
    NotFound,
}

impl<S> Table<S> {
    pub(crate) fn new(entries: Vec<RouteEntry<S>>) -> Result<Self, RouteError> {
        // Only routes with the same pattern key can collide: compare within those groups, so
        // building a table of thousands of routes does not compare every pair.
        let mut by_key: HashMap<&str, Vec<&RouteEntry<S>>> = HashMap::new();
        for b in &entries {
            let same_key = by_key.entry(b.info.key).or_default();
            for a in same_key.iter() {
                if route::routes_collide(&a.info, &b.info) {
                    let method = a
                        .info
                        .methods
                        .iter()
                        .find(|m| b.info.methods.contains(m))
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    return Err(RouteError::Conflict {
                        first: a.info.name,
                        second: b.info.name,
                        method,
                        pattern: a.info.pattern,
                    });
                }
            }
            same_key.push(b);
        }
        let mut tree = Tree::default();
        for (index, entry) in entries.iter().enumerate() {
            tree.insert(entry.info.parts, index);
        }
        let method_bits = entries
            .iter()
            .map(|entry| {
                entry.info.methods.iter().fold(0, |bits, name| {
                    bits | Method::from_bytes(name.as_bytes())
                        .ok()
                        .and_then(|m| method_bit(&m))
                        .unwrap_or(0)
                })
            })
            .collect();
        Ok(Table {
            entries,
            method_bits,
            tree,
        })
    }

    /// Finds the most specific route for `path` (percent-encoded, starting with `/`) that accepts
    /// `method`; HEAD falls back to GET.
    ///
    /// Inlined into the dispatch, once per request; the 405 that needs a second walk is kept
    /// out of line.
    #[inline(always)]
    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Lookup<'_, S> {
        let bit = method_bit(method);
        let mut visitor = ForMethod {
            table: self,
            method,
            bit,
            get: (bit == Some(HEAD_BIT)).then_some(GET_BIT),
            found: None,
            rejected: false,
        };
        let captures = self.find(path, &mut visitor);
        let ForMethod {
            found, rejected, ..
        } = visitor;
        match (found, captures) {
            (Some(route), Some(captures)) => Lookup::Found(&self.entries[route], captures),
            _ if rejected => self.not_allowed(path),
            _ => Lookup::NotFound,
        }
    }

    /// The answer for a path that matched only routes of other methods: 405 with what they
    /// allow, or 404 if they allow nothing.
    #[cold]
    fn not_allowed(&self, path: &str) -> Lookup<'_, S> {
        let allowed = self.allowed(path);
        if allowed.is_empty() {
            // Only routes that answer no method at all matched.
            Lookup::NotFound
        } else {
            Lookup::MethodNotAllowed(allowed)
        }
    }

    /// Whether route `r` answers `method` (whose bit is `bit`).
    #[inline]
    fn answers(&self, r: usize, method: &Method, bit: Option<u16>) -> bool {
        match bit {
            Some(bit) => self.method_bits[r] & bit != 0,
            None => self.entries[r].info.methods.contains(&method.as_str()),
        }
    }

    /// The methods of every route matching `path`, for a 405's `Allow` (a second walk: a miss
    /// is rare, and the lookup that finds a route collects nothing).
    fn allowed(&self, path: &str) -> BTreeSet<String> {
        let mut allowed = BTreeSet::new();
        self.find(path, &mut |routes: &[usize]| {
            for &r in routes {
                for m in self.entries[r].info.methods {
                    allowed.insert((*m).to_owned());
                    if *m == "GET" {
                        allowed.insert("HEAD".to_owned());
                    }
                }
            }
            false
        });
        allowed
    }

    /// Walks the routes matching `path`, most specific first, until `visit` accepts one.
    #[inline(always)]
    fn find<F: Visit>(&self, path: &str, visit: &mut F) -> Option<Captures> {
        let rest = path.strip_prefix('/')?;
        if find_byte(rest.as_bytes(), b'%').is_some() {
            let mut segments = PathSegments::new();
            if !decode_path(path, &mut segments) {
                return None;
            }
            self.tree.find(path, segments.as_slice(), visit)
        } else {
            self.tree.find(path, Unencoded::new(rest), visit)
        }
    }
}

/// The lookup's visitor: takes the first candidate with a route for the method (HEAD: else one
/// for GET), and remembers whether a candidate was passed over for its methods (405, not 404).
struct ForMethod<'t, S> {
    table: &'t Table<S>,
    method: &'t Method,
    /// The method's bit, when it is a standard one.
    bit: Option<u16>,
    /// GET's bit for a HEAD request.
    get: Option<u16>,
    found: Option<usize>,
    rejected: bool,
}

impl<S> Visit for ForMethod<'_, S> {
    #[inline(always)]
    fn visit(&mut self, routes: &[usize]) -> bool {
        let table = self.table;
        // A search of its own per case rather than one `find` with `answers`, which the
        // compiler keeps out of line: this runs on every lookup, most often over one route.
        let hit = match self.bit {
            Some(bit) => first_with_bit(&table.method_bits, routes, bit)
                .or_else(|| first_with_bit(&table.method_bits, routes, self.get?)),
            None => routes
                .iter()
                .copied()
                .find(|&r| table.answers(r, self.method, None)),
        };
        self.found = hit;
        self.rejected |= self.found.is_none();
        self.found.is_some()
    }
}

/// The first of `routes` whose methods (`bits`, by route) include `bit`.
#[inline(always)]
fn first_with_bit(bits: &[u16], routes: &[usize], bit: u16) -> Option<usize> {
    routes
        .iter()
        .copied()
        .find(|&r| bits.get(r).is_some_and(|&b| b & bit != 0))
}

/// The methods of the standard (the ones `http` knows without their text), each a bit.
const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

/// GET's bit: HEAD falls back to it.
const GET_BIT: u16 = 1;

/// HEAD's bit.
const HEAD_BIT: u16 = 1 << 1;

/// `method`'s bit among [`STANDARD_METHODS`]; `None` for an extension method, compared by text.
#[inline]
fn method_bit(method: &Method) -> Option<u16> {
    STANDARD_METHODS
        .iter()
        .position(|m| m == method)
        .map(|i| 1 << i)
}

/// Splits a percent-encoded path into decoded segments (borrowed where nothing was encoded),
/// appended to `segments`; false if it does not start with `/` or a segment is not UTF-8 once
/// decoded. (A lookup reads a path without `%` straight off the path instead.)
///
/// The caller owns the segments' storage: returned by value, its inline room for eight
/// segments would be copied.
pub(crate) fn decode_path<'p>(path: &'p str, segments: &mut PathSegments<'p>) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    for raw in rest.split('/') {
        match decode_segment(raw) {
            Some(segment) => segments.push(segment),
            None => return false,
        }
    }
    true
}

/// The path a GET to a non-matching `path` should be redirected to: `//` collapsed and, failing
/// that, the trailing slash added or removed (see docs/dispatch.md, "Trailing slashes").
pub(crate) fn canonical_alternatives(path: &str) -> Vec<String> {
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && collapsed.ends_with('/') {
            continue;
        }
        collapsed.push(c);
    }
    let toggled = if collapsed.len() > 1 && collapsed.ends_with('/') {
        collapsed[..collapsed.len() - 1].to_owned()
    } else {
        format!("{collapsed}/")
    };
    let mut out = Vec::new();
    if collapsed != path {
        out.push(collapsed);
    }
    out.push(toggled);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Request, Response};
    use crate::routing::captures::Captures;
    use crate::routing::route::{HandlerFuture, Part};

    fn handler(_: &mut Request<()>, _: Captures) -> HandlerFuture<'_> {
        Box::pin(async { Response::text("") })
    }

    /// A route named `name` answering `methods` on the literal path `key`.
    fn entry(
        name: &'static str,
        key: &'static str,
        methods: &'static [&'static str],
    ) -> RouteEntry<()> {
        let parts: &'static [Part] = Box::leak(Box::new([Part::Literal(key)]));
        RouteEntry::from_raw(
            RouteInfo {
                name,
                pattern: key,
                key,
                methods,
                accepts_cross_origin: false,
                parts,
            },
            handler,
        )
    }

    #[test]
    fn another_method_is_a_405_listing_the_path_s_methods_and_no_method_a_404() {
        let table = Table::new(vec![
            entry("read", "/page", &["GET"]),
            entry("write", "/page", &["POST"]),
            entry("silent", "/silent", &[]),
        ])
        .expect("no conflict");
        match table.lookup(&Method::DELETE, "/page") {
            Lookup::MethodNotAllowed(allowed) => {
                assert_eq!(
                    allowed.into_iter().collect::<Vec<_>>(),
                    ["GET", "HEAD", "POST"]
                );
            }
            _ => panic!("DELETE /page is a 405"),
        }
        assert!(
            matches!(table.lookup(&Method::HEAD, "/page"), Lookup::Found(e, _) if e.info().name == "read")
        );
        assert!(matches!(
            table.lookup(&Method::GET, "/silent"),
            Lookup::NotFound
        ));
        assert!(matches!(
            table.lookup(&Method::GET, "/nowhere"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn a_conflict_among_many_routes_names_both_handlers() {
        let keys: Vec<&'static str> = (0..2_000)
            .map(|i| &*Box::leak(format!("/r{i}").into_boxed_str()))
            .collect();
        let mut entries: Vec<RouteEntry<()>> = keys
            .iter()
            .map(|key| entry("page", key, &["GET"]))
            .collect();
        // The same path with another method is no conflict.
        entries.push(entry("post", keys[1_500], &["POST"]));
        assert!(Table::new(entries.clone()).is_ok());
        entries.push(entry("again", keys[1_500], &["PUT", "GET"]));
        match Table::new(entries).map(|_| ()) {
            Err(RouteError::Conflict {
                first,
                second,
                method,
                pattern,
            }) => {
                assert_eq!((first, second), ("page", "again"));
                assert_eq!(method, "GET");
                assert_eq!(pattern, "/r1500");
            }
            Ok(()) => panic!("the conflicting route is refused"),
        }
    }

    #[test]
    fn each_method_finds_its_own_route_among_those_of_a_path() {
        let table = Table::new(vec![
            entry("read", "/page", &["GET"]),
            entry("purge", "/page", &["PURGE"]),
            entry("write", "/page", &["PUT", "POST"]),
        ])
        .expect("no conflict");
        let found = |method: &Method| match table.lookup(method, "/page") {
            Lookup::Found(entry, _) => Some(entry.info().name),
            Lookup::MethodNotAllowed(_) | Lookup::NotFound => None,
        };
        let purge = Method::from_bytes(b"PURGE").expect("an extension method");
        let propfind = Method::from_bytes(b"PROPFIND").expect("an extension method");
        assert_eq!(found(&Method::GET), Some("read"));
        assert_eq!(found(&Method::HEAD), Some("read"));
        assert_eq!(found(&Method::POST), Some("write"));
        assert_eq!(found(&Method::PUT), Some("write"));
        assert_eq!(found(&purge), Some("purge"));
        assert!(matches!(
            table.lookup(&Method::DELETE, "/page"),
            Lookup::MethodNotAllowed(_)
        ));
        assert!(matches!(
            table.lookup(&propfind, "/page"),
            Lookup::MethodNotAllowed(_)
        ));
    }

    #[test]
    fn standard_methods_are_bits_and_extensions_are_not() {
        assert_eq!(method_bit(&Method::GET), Some(GET_BIT));
        let bits: Vec<u16> = STANDARD_METHODS.iter().filter_map(method_bit).collect();
        assert_eq!(bits, (0..9).map(|i| 1 << i).collect::<Vec<u16>>());
        let purge = Method::from_bytes(b"PURGE").expect("an extension method");
        assert_eq!(method_bit(&purge), None);
    }
}
