//! The body of the fuzz target `pattern`: the grammar's invariants, checked on any input.
//!
//! A proc-macro crate can export only macros, so this module is compiled into the unit tests
//! here (`cfg(test)`), and into the fuzz binary (`cfg(fuzzing)`) and the corpus replay test,
//! which both include `pattern/mod.rs` by `#[path]` (it needs nothing but std).

use super::{conv_text, key, parse, Part};

/// Parses `data` (when UTF-8, as a string literal always is) as a route pattern.
///
/// Asserts: no panic; an error's range lies inside the pattern on character boundaries; a
/// parsed pattern starts with a `/` literal, alternates literals and parameters, has unique
/// names, and renders back to a pattern that parses to the same parts and key.
pub(crate) fn pattern(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts = match parse(text) {
        Ok(parts) => parts,
        Err(e) => {
            assert!(!e.message.is_empty(), "{text:?}: empty message");
            assert!(
                e.range.start <= e.range.end && e.range.end <= text.len(),
                "{text:?}: range {:?} outside the pattern",
                e.range
            );
            assert!(
                text.is_char_boundary(e.range.start) && text.is_char_boundary(e.range.end),
                "{text:?}: range {:?} splits a character",
                e.range
            );
            return;
        }
    };
    assert!(
        matches!(parts.first(), Some(Part::Literal(l)) if l.starts_with('/')),
        "{text:?}: {parts:?} does not start with `/`"
    );
    let mut names = Vec::new();
    for pair in parts.windows(2) {
        assert!(
            !matches!(
                pair,
                [Part::Param(_), Part::Param(_)] | [Part::Literal(_), Part::Literal(_)]
            ),
            "{text:?}: {pair:?} are adjacent"
        );
    }
    for part in &parts {
        match part {
            Part::Literal(l) => assert!(!l.contains(['<', '>']), "{text:?}: literal {l:?}"),
            Part::Param(p) => {
                assert!(!names.contains(&&p.name), "{text:?}: `{}` twice", p.name);
                names.push(&p.name);
            }
        }
    }
    let rendered = render(&parts);
    assert_eq!(
        parse(&rendered),
        Ok(parts.clone()),
        "{text:?} rendered as {rendered:?}"
    );
    assert_eq!(key(&parts), key(&render_parse(&rendered)), "{text:?}: key");
}

/// The pattern text of parsed parts, converters in their canonical spelling.
fn render(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Param(param) => {
                out.push('<');
                out.push_str(&param.name);
                out.push(':');
                out.push_str(&conv_text(&param.conv));
                out.push('>');
            }
        }
    }
    out
}

/// The parts of a pattern known to parse (an empty list otherwise, which fails the caller's check).
fn render_parse(pattern: &str) -> Vec<Part> {
    parse(pattern).unwrap_or_default()
}
