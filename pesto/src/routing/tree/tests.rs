//! The matcher as data tables, after matchit's `tests/match.rs`: each [`MatchTest`] lists
//! routes and, for each path, the route that must win and its captures, or `Err(())` for no
//! match. Every table is run with the routes inserted in the given order and reversed, since
//! the declaration order must never change which route wins.

use std::borrow::Cow;

use super::*;

#[allow(clippy::type_complexity)]
struct MatchTest<'a> {
    routes: Vec<&'static str>,
    matches: Vec<(
        &'a str,
        &'static str,
        Result<Vec<(&'static str, &'a str)>, ()>,
    )>,
}

impl MatchTest<'_> {
    fn run(self) {
        let reversed: Vec<&'static str> = self.routes.iter().rev().copied().collect();
        for routes in [&self.routes, &reversed] {
            let mut tree = Tree::default();
            for (i, route) in routes.iter().enumerate() {
                tree.insert(parts(route), i);
            }
            for (path, route, params) in &self.matches {
                match (first_match(&tree, path), params) {
                    (Some((i, captures)), Ok(params)) => {
                        assert_eq!(routes[i], *route, "{path} in {routes:?}");
                        let names = parts(routes[i]).iter().filter_map(|part| match part {
                            Part::Param { name, .. } => Some(*name),
                            Part::Literal(_) => None,
                        });
                        let got: Vec<(&str, &str)> =
                            names.zip(captures.iter().map(String::as_str)).collect();
                        assert_eq!(got, *params, "{path} in {routes:?}");
                    }
                    (None, Err(())) => {}
                    (Some((i, _)), Err(())) => {
                        panic!("{path} matched {} in {routes:?}", routes[i])
                    }
                    (None, Ok(_)) => panic!("{path} matched nothing in {routes:?}"),
                }
            }
        }
    }
}

/// The captures a match must yield, by name: `p! { "id" => "42" }`.
macro_rules! p {
    ($($name:expr => $value:expr),* $(,)?) => {
        Ok(vec![$(($name, $value)),*])
    };
}

/// The parts `#[route]` generates for the pattern forms used here (`<name>`, `<name:int>`,
/// `<name:path>`); the grammar itself is parsed, and tested, in `pesto-macros`.
fn parts(pattern: &'static str) -> &'static [Part] {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('<') {
        if open > 0 {
            parts.push(Part::Literal(&rest[..open]));
        }
        let close = open + rest[open..].find('>').expect("`>` closes the parameter");
        let (name, conv) = match rest[open + 1..close].split_once(':') {
            None => (&rest[open + 1..close], Conv::Unicode),
            Some((name, "int")) => (name, Conv::Int),
            Some((name, "path")) => (name, Conv::Path),
            Some((_, conv)) => panic!("no converter `{conv}` in these tests"),
        };
        parts.push(Part::Param { name, conv });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest));
    }
    Vec::leak(parts)
}

fn first_match(tree: &Tree, path: &str) -> Option<(usize, Vec<String>)> {
    let segments: Vec<Cow<'_, str>> = path[1..].split('/').map(Cow::Borrowed).collect();
    let mut route = None;
    let captures = tree.find(path, segments.as_slice(), &mut |routes: &[usize]| {
        route = Some(routes[0]);
        true
    })?;
    Some((route?, captures.to_strings(path)))
}

#[test]
fn captures_are_spans_of_the_path_unless_a_segment_was_decoded() {
    let mut tree = Tree::default();
    for (i, route) in ["/a/<x>/<y:int>", "/t/<rest:path>"].iter().enumerate() {
        tree.insert(parts(route), i);
    }
    for (path, expected) in [
        ("/a/b/7", vec!["b", "7"]),
        ("/a/b%20c/7", vec!["b c", "7"]),
        ("/t/x/y/z", vec!["x/y/z"]),
        ("/t/x/%41/z", vec!["x/A/z"]),
        ("/t/x%2Fy/z", vec!["x/y/z"]),
    ] {
        let mut segments = crate::routing::table::PathSegments::new();
        assert!(
            crate::routing::table::decode_path(path, &mut segments),
            "{path} decodes"
        );
        let captures = tree
            .find(path, segments.as_slice(), &mut |_: &[usize]| true)
            .unwrap_or_else(|| panic!("{path} matches"));
        assert_eq!(captures.to_strings(path), expected, "{path}");
        // Spans are read in the path they were taken from: another path of the same length
        // reads other text, so an undecoded capture is never a copy.
        let decoded = path.contains('%');
        let other = path.replace(|c: char| c.is_ascii_lowercase(), "q");
        assert_eq!(
            captures.to_strings(&other) == expected,
            decoded,
            "{path}: spans of the path unless decoded"
        );
    }
}

#[test]
fn most_specific_wins_in_any_declaration_order() {
    MatchTest {
        routes: vec![
            "/recipes/<rest:path>",
            "/recipes/<id>",
            "/recipes/<id:int>",
            "/recipes/new",
        ],
        matches: vec![
            ("/recipes/new", "/recipes/new", p! {}),
            ("/recipes/42", "/recipes/<id:int>", p! { "id" => "42" }),
            ("/recipes/fish", "/recipes/<id>", p! { "id" => "fish" }),
            (
                "/recipes/a/b",
                "/recipes/<rest:path>",
                p! { "rest" => "a/b" },
            ),
        ],
    }
    .run();
}

#[test]
fn path_inside_pattern_backtracks() {
    MatchTest {
        routes: vec!["/documents/<dir:path>/<name>.pdf"],
        matches: vec![
            (
                "/documents/a/b/c.d.pdf",
                "/documents/<dir:path>/<name>.pdf",
                p! { "dir" => "a/b", "name" => "c.d" },
            ),
            ("/documents/c.pdf", "", Err(())),
            ("/documents/a/c.txt", "", Err(())),
        ],
    }
    .run();
}

#[test]
fn root_and_trailing_slash_are_distinct() {
    MatchTest {
        routes: vec!["/", "/recipes/new"],
        matches: vec![
            ("/", "/", p! {}),
            ("/recipes/new/", "", Err(())),
            ("/recipes//new", "", Err(())),
        ],
    }
    .run();
}

#[test]
fn hostile_paths_end_within_the_step_budget() {
    // Built to make backtracking polynomial: many candidate splits, no match at the end.
    let deep = format!("/documents/{}x", "a/".repeat(30_000));
    let dashes = format!("/d/{}x", "-".repeat(60_000));
    // Ordinary paths, long or not, still match.
    let long_dir = format!("/documents/{}r.pdf", "abc/".repeat(500));
    let long_dir_capture = "abc/".repeat(500);
    MatchTest {
        routes: vec!["/documents/<dir:path>/<name>.pdf", "/d/<a>-<b>-<c:int>"],
        matches: vec![
            (&deep, "", Err(())),
            (&dashes, "", Err(())),
            (
                "/d/x-y-z-1",
                "/d/<a>-<b>-<c:int>",
                p! { "a" => "x-y", "b" => "z", "c" => "1" },
            ),
            (
                &long_dir,
                "/documents/<dir:path>/<name>.pdf",
                p! { "dir" => long_dir_capture.trim_end_matches('/'), "name" => "r" },
            ),
        ],
    }
    .run();
}
