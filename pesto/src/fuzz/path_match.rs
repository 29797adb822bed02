//! Target `path_match`: percent-decoding a request path and matching it against a route table.

use std::sync::OnceLock;

use http::Method;

use crate::exchange::{Request, Response};
use crate::routing::captures::Captures;
use crate::routing::convert::{decode_segment, encode_literal};
use crate::routing::route::{Conv, HandlerFuture, Part, RouteInfo};
use crate::routing::table::{canonical_alternatives, decode_path, Lookup, PathSegments, Table};
use crate::routing::RouteEntry;

/// A converter for `<name:Slug>`: lower-case words joined by dashes.
fn is_slug(value: &str) -> bool {
    value
        .split('-')
        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// `Part::Param` with converter `conv`.
const fn param(name: &'static str, conv: Conv) -> Part {
    Part::Param { name, conv }
}

/// One route of every shape the matcher knows: literals, segment parameters of each converter,
/// several parameters in one segment, `path` tails with and without a suffix, and a route whose
/// method differs (for 405).
const ROUTES: &[(&str, &[&str], &[Part])] = &[
    ("root", &["GET"], &[Part::Literal("/")]),
    ("index", &["GET"], &[Part::Literal("/recipes")]),
    (
        "show",
        &["GET"],
        &[
            Part::Literal("/recipes/"),
            param("category", Conv::Unicode),
            Part::Literal("/"),
            param("id", Conv::Int),
        ],
    ),
    (
        "new",
        &["GET", "POST"],
        &[
            Part::Literal("/recipes/"),
            param("category", Conv::Unicode),
            Part::Literal("/new"),
        ],
    ),
    (
        "pair",
        &["GET"],
        &[
            Part::Literal("/a/"),
            param("x", Conv::Unicode),
            Part::Literal("-"),
            param("y", Conv::Int),
        ],
    ),
    (
        "page",
        &["GET"],
        &[
            Part::Literal("/pages/"),
            param("name", Conv::Any(&["about", "help", "a/b"])),
        ],
    ),
    (
        "slug",
        &["GET"],
        &[
            Part::Literal("/s/"),
            param(
                "slug",
                Conv::Custom {
                    name: "Slug",
                    matches: is_slug,
                },
            ),
        ],
    ),
    (
        "file",
        &["GET"],
        &[Part::Literal("/files/"), param("p", Conv::Path)],
    ),
    (
        "raw",
        &["GET"],
        &[
            Part::Literal("/files/"),
            param("p", Conv::Path),
            Part::Literal("/raw"),
        ],
    ),
    (
        "versioned",
        &["GET"],
        &[
            Part::Literal("/v"),
            param("n", Conv::Int),
            Part::Literal("/"),
            param("rest", Conv::Path),
            Part::Literal(".json"),
        ],
    ),
    (
        "upload",
        &["PUT"],
        &[Part::Literal("/static/"), param("p", Conv::Path)],
    ),
];

/// Never called: the target only looks routes up.
fn unreachable_handler(_: &mut Request, _: Captures) -> HandlerFuture<'_> {
    Box::pin(async { Response::text("") })
}

/// The table of [`ROUTES`], built once.
fn table() -> &'static Option<Table<()>> {
    static TABLE: OnceLock<Option<Table<()>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let entries = ROUTES
            .iter()
            .map(|&(name, methods, parts)| {
                let info = RouteInfo {
                    name,
                    pattern: name,
                    key: name,
                    methods,
                    accepts_cross_origin: false,
                    parts,
                };
                RouteEntry::from_raw(info, unreachable_handler)
            })
            .collect();
        Table::new(entries).ok()
    })
}

/// Looks `data` up as a request path (GET, and PUT from byte 0's low bit), and checks
/// percent-encoding round trips.
///
/// Asserts: no panic; captured values satisfy their converters; a match's reverse URL matches
/// again, to the same route and values when it decodes to the same segments; and
/// decode(encode(text)) == text for both of the URL encoders.
pub fn path_match(data: &[u8]) {
    let Some(table) = table() else {
        panic!("the fuzz route table does not build");
    };
    let text = String::from_utf8_lossy(data);
    check_encoders(&text);
    let method = match data.first() {
        Some(b) if b & 1 == 1 => Method::PUT,
        _ => Method::GET,
    };
    let path = format!("/{}", text.strip_prefix('/').unwrap_or(&text));
    match table.lookup(&method, &path) {
        Lookup::Found(entry, values) => {
            check_match(table, &method, &path, entry, &values.to_strings(&path))
        }
        Lookup::MethodNotAllowed(allowed) => assert!(!allowed.is_empty()),
        Lookup::NotFound => {
            // What a GET miss is redirected to must itself be looked up safely.
            for alternative in canonical_alternatives(&path) {
                let _ = table.lookup(&method, &alternative);
            }
        }
    }
}

/// A found route's captures against its converters, and its reverse URL looked up again.
fn check_match(
    table: &Table<()>,
    method: &Method,
    path: &str,
    entry: &RouteEntry<()>,
    values: &[String],
) {
    let params: Vec<Conv> = entry
        .info()
        .parts
        .iter()
        .filter_map(|part| match part {
            Part::Param { conv, .. } => Some(*conv),
            Part::Literal(_) => None,
        })
        .collect();
    assert_eq!(params.len(), values.len(), "{path}: capture count");
    let mut url = String::new();
    let mut values_iter = values.iter();
    for part in entry.info().parts {
        match part {
            Part::Literal(text) => encode_literal(text, &mut url),
            Part::Param { conv, .. } => {
                let value = values_iter.next().map_or("", String::as_str);
                assert!(conv.matches_value(value), "{path}: {value:?} for {conv:?}");
                conv.encode(value, &mut url);
            }
        }
    }
    let same_segments = segments_of(&url) == segments_of(path);
    match (table.lookup(method, &url), same_segments) {
        (Lookup::Found(again, again_values), true) => {
            assert_eq!(again.info().name, entry.info().name, "{path} → {url}");
            assert_eq!(again_values.to_strings(&url), values, "{path} → {url}");
        }
        (_, true) => panic!("{path} matched but its reverse URL {url} does not"),
        (Lookup::Found(..), false) => {}
        // A `path` value holding an empty segment (from `%2F%2F`) cannot be written back as
        // real separators; every other reverse URL must match.
        (_, false) => assert!(
            params
                .iter()
                .zip(values)
                .any(|(conv, value)| conv.spans_segments() && !conv.matches(value)),
            "{path}: its reverse URL {url} matches nothing"
        ),
    }
}

/// decode(encode(text)) == text for segment and `path` parameters and for literal text.
fn check_encoders(text: &str) {
    for conv in [Conv::Unicode, Conv::Path] {
        let mut encoded = String::new();
        conv.encode(text, &mut encoded);
        assert_eq!(decode_segment(&encoded).as_deref(), Some(text), "{conv:?}");
    }
    let mut encoded = String::new();
    encode_literal(text, &mut encoded);
    assert_eq!(decode_segment(&encoded).as_deref(), Some(text), "literal");
}

/// `path`'s decoded segments, `None` where the router would refuse the path.
fn segments_of(path: &str) -> Option<PathSegments<'_>> {
    let mut segments = PathSegments::new();
    decode_path(path, &mut segments).then_some(segments)
}
