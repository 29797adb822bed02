//! The route table of a dispatcher: its entries, the conflict check, and the lookup of a
//! request's method and path (with the canonical-path alternatives for a miss).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use http::Method;
use smallvec::SmallVec;

use super::captures::Captures;
use super::convert::decode_segment;
use super::route::{self, CheckFn, HandlerFn, Route, RouteInfo};
use super::tree::Tree;

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
        for (i, a) in entries.iter().enumerate() {
            for b in &entries[i + 1..] {
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
        }
        let mut tree = Tree::default();
        for (index, entry) in entries.iter().enumerate() {
            tree.insert(entry.info.parts, index);
        }
        Ok(Table { entries, tree })
    }

    /// Finds the most specific route for `path` (percent-encoded, starting with `/`) that accepts
    /// `method`; HEAD falls back to GET.
    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Lookup<'_, S> {
        let Some(segments) = decode_path(path) else {
            return Lookup::NotFound;
        };
        let mut allowed = BTreeSet::new();
        let mut found = None;
        let captures = self.tree.find(path, &segments, &mut |routes| {
            let accepts = |m: &str| {
                routes
                    .iter()
                    .find(|&&r| self.entries[r].info.methods.contains(&m))
            };
            let hit = accepts(method.as_str()).or_else(|| {
                if method == Method::HEAD {
                    accepts("GET")
                } else {
                    None
                }
            });
            if let Some(&route) = hit {
                found = Some(route);
                return true;
            }
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
        match (found, captures) {
            (Some(route), Some(captures)) => Lookup::Found(&self.entries[route], captures),
            _ if !allowed.is_empty() => Lookup::MethodNotAllowed(allowed),
            _ => Lookup::NotFound,
        }
    }
}

/// Splits a percent-encoded path into decoded segments (borrowed where nothing was encoded);
/// `None` if it does not start with `/` or a segment is not UTF-8 once decoded.
pub(crate) fn decode_path(path: &str) -> Option<PathSegments<'_>> {
    let rest = path.strip_prefix('/')?;
    let mut segments = PathSegments::new();
    if rest.contains('%') {
        for raw in rest.split('/') {
            segments.push(decode_segment(raw)?);
        }
    } else {
        // Nothing encoded, as in nearly every path: one scan for `%` instead of one per
        // segment, and every segment borrowed as it is.
        segments.extend(rest.split('/').map(Cow::Borrowed));
    }
    Some(segments)
}

/// A path's decoded segments: on the stack for paths of up to eight segments, as nearly all are.
pub(crate) type PathSegments<'a> = SmallVec<[Cow<'a, str>; 8]>;

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
