//! The route pattern grammar, parsed at compile time.
//!
//! This is the only parser of the grammar: the runtime receives the already parsed
//! [`Part`]s inside `RouteInfo`, so the two can never disagree. It is kept free of
//! `proc_macro` types so it can be unit-tested with plain tables.
//!
//! ```text
//! pattern   = "/" { literal | param }
//! param     = "<" name [ ":" converter ] ">"
//! converter = "unicode" | "int" | "path" | "any(" string { "," string } [","] ")" | TypePath
//! string    = "'" ... "'" | '"' ... '"'        (backslash escapes the next character)
//! ```
//!
//! An error carries the byte range of the offending fragment, which the macro points at
//! when the compiler allows it, and its message quotes that fragment, because on stable
//! Rust a diagnostic cannot point inside a string literal (`Literal::subspan` returns
//! `None`) and underlines the whole literal instead.

use std::fmt;
use std::ops::Range;

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text, verbatim (may contain `/`).
    Literal(String),
    /// A `<name:converter>` capture.
    Param(Param),
}

/// A `<name:converter>` capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    /// The variable name; a plain ASCII identifier.
    pub(crate) name: String,
    /// How the captured text is matched.
    pub(crate) conv: Conv,
}

/// A parameter's converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conv {
    Unicode,
    Int,
    Path,
    /// `any('a', 'b')`: the choices, unescaped.
    Any(Vec<String>),
    /// A user converter type such as `Slug` or `::my::conv::Slug`.
    Custom(TypePath),
}

/// A converter type path as written, minus whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypePath {
    pub(crate) leading_colon: bool,
    pub(crate) segments: Vec<String>,
}

impl fmt::Display for TypePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.leading_colon {
            f.write_str("::")?;
        }
        f.write_str(&self.segments.join("::"))
    }
}

/// Why a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// The message; it quotes the bad fragment, since on stable Rust the diagnostic
    /// underlines the whole literal.
    pub(crate) message: String,
    /// Where the bad fragment is, in bytes of the pattern.
    pub(crate) range: Range<usize>,
}

fn err<T>(range: Range<usize>, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        message: message.into(),
        range,
    })
}

const EXPECTED_CONVERTERS: &str =
    "expected `unicode`, `int`, `path`, `any(...)` or a converter type";

/// Parses a whole route pattern.
pub(crate) fn parse(pattern: &str) -> Result<Vec<Part>, PatternError> {
    if pattern.is_empty() {
        return err(
            0..0,
            "route pattern is empty; it must start with `/`, e.g. `\"/\"`",
        );
    }
    if !pattern.starts_with('/') {
        return err(
            0..pattern.len(),
            format!("route pattern `{pattern}` must start with `/`"),
        );
    }

    let mut parts: Vec<Part> = Vec::new();
    let mut literal = String::new();
    // Where the previous parameter is, when nothing has been seen since it.
    let mut adjacent_to: Option<Range<usize>> = None;
    let mut seen: Vec<(String, Range<usize>)> = Vec::new(); // (name, where) of earlier params
    let mut rest = pattern;

    while let Some(pos) = rest.find(['<', '>']) {
        let (text, tail) = rest.split_at(pos);
        if !text.is_empty() {
            literal.push_str(text);
            adjacent_to = None;
        }
        let consumed = pattern.len() - tail.len();
        if tail.starts_with('>') {
            let segment = segment_around(pattern, consumed);
            return err(
                segment.clone(),
                format!(
                    "stray `>` without a matching `<` in route pattern: `{}`",
                    &pattern[segment]
                ),
            );
        }

        let end = param_end(tail).map_err(|e| PatternError {
            range: consumed + e.range.start..consumed + e.range.end,
            ..e
        })?;
        let here = consumed..consumed + end + 1;
        let source = &pattern[here.clone()];
        let param = match parse_param(&tail[1..end], source) {
            Ok(param) => param,
            Err(message) => return err(here, message),
        };

        if let Some(previous) = adjacent_to {
            let previous_source = &pattern[previous.clone()];
            return err(
                previous.start..here.end,
                format!(
                    "ambiguous route pattern: parameters `{previous_source}` and `{source}` are \
                     adjacent in `{previous_source}{source}`; put literal text such as `/` or `-` \
                     between them"
                ),
            );
        }
        if let Some((_, first)) = seen.iter().find(|(name, _)| *name == param.name) {
            return err(
                here,
                format!(
                    "route pattern variable `{}` appears twice: `{}` and `{source}`",
                    param.name,
                    &pattern[first.clone()]
                ),
            );
        }
        seen.push((param.name.clone(), here.clone()));

        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(Part::Param(param));
        adjacent_to = Some(here);
        rest = &tail[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The `/`-delimited segment of `pattern` that contains byte `at`, for quoting.
fn segment_around(pattern: &str, at: usize) -> Range<usize> {
    let start = pattern[..at].rfind('/').unwrap_or(0);
    let end = pattern[at..].find('/').map_or(pattern.len(), |i| at + i);
    start..end
}

/// Given text starting with `<`, returns the byte index of the closing `>`; error ranges
/// are relative to `tail`.
///
/// Quotes are only special inside parentheses, so that `any('>')` works while a stray
/// apostrophe in a name still gets the ordinary error.
fn param_end(tail: &str) -> Result<usize, PatternError> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in tail.char_indices().skip(1) {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '\'' | '"' if depth > 0 => quote = Some(c),
            '>' => return Ok(i),
            '<' => {
                return err(
                    0..i,
                    format!("unclosed `<` in route pattern: `{}`", &tail[..i]),
                )
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return err(
            0..tail.len(),
            format!("unterminated quoted string in route pattern: `{tail}`"),
        );
    }
    err(
        0..tail.len(),
        format!("unclosed `<` in route pattern: `{tail}`"),
    )
}

/// Parses the text between `<` and `>`; `source` is the whole `<...>` for messages, and
/// the error is the message alone (it is about all of `source`).
fn parse_param(inner: &str, source: &str) -> Result<Param, String> {
    let (name, conv) = match inner.split_once(':') {
        Some((name, conv)) => (name.trim(), Some(conv.trim())),
        None => (inner.trim(), None),
    };
    if name.is_empty() {
        return match conv {
            None => Err(format!(
                "empty parameter `{source}` in route pattern; write `<name>` or `<name:converter>`"
            )),
            Some(_) => Err(format!(
                "route pattern parameters need a name: `{source}`; write `<name{}>`",
                &inner[inner.find(':').unwrap_or(0)..]
            )),
        };
    }
    if !is_ident(name) {
        return Err(format!(
            "invalid parameter name `{name}` in `{source}`; expected an identifier such as `id`"
        ));
    }
    let conv = match conv {
        None => Conv::Unicode,
        Some(conv) => parse_conv(conv, source)?,
    };
    Ok(Param {
        name: name.to_owned(),
        conv,
    })
}

fn parse_conv(conv: &str, source: &str) -> Result<Conv, String> {
    match conv {
        "" => Err(format!(
            "missing converter after `:` in `{source}`; {EXPECTED_CONVERTERS}"
        )),
        "unicode" => Ok(Conv::Unicode),
        "int" => Ok(Conv::Int),
        "path" => Ok(Conv::Path),
        "any" => Err(format!(
            "`any` needs a list of choices in `{source}`, e.g. `any('a', 'b')`"
        )),
        _ => {
            if let Some(args) = conv.strip_prefix("any").map(str::trim_start) {
                if args.starts_with('(') {
                    return parse_any(args, source).map(Conv::Any);
                }
            }
            // `Int` or `PATH` is a built-in in the wrong case far more often than a type of
            // that name; left to the type system it reads "cannot find type `Int`".
            if let Some(builtin) = ["unicode", "int", "path", "any"]
                .into_iter()
                .find(|b| conv.eq_ignore_ascii_case(b))
            {
                return Err(format!(
                    "unknown converter `{conv}` in `{source}`; the built-in converters are lower \
                     case: `{builtin}`"
                ));
            }
            if conv.starts_with(|c: char| c.is_ascii_uppercase()) || conv.contains("::") {
                return parse_type_path(conv).map(Conv::Custom).ok_or_else(|| {
                    format!(
                        "invalid converter type path `{conv}` in `{source}`; expected a type \
                             name such as `Slug` or `my::Slug`"
                    )
                });
            }
            Err(format!(
                "unknown converter `{conv}` in `{source}`; {EXPECTED_CONVERTERS}"
            ))
        }
    }
}

/// Parses `('a', "b", ...)` (with the parentheses).
fn parse_any(args: &str, source: &str) -> Result<Vec<String>, String> {
    let malformed = || {
        Err(format!(
            "malformed `any(...)` in `{source}`; expected quoted strings separated by commas, \
             e.g. `any('a', 'b')`"
        ))
    };
    let Some(body) = args.strip_prefix('(').and_then(|a| a.strip_suffix(')')) else {
        return malformed();
    };
    let mut choices = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(quote) = chars.next() else { break };
        if quote != '\'' && quote != '"' {
            return malformed();
        }
        let mut choice = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => choice.push(escaped),
                    None => return malformed(),
                },
                c if c == quote => {
                    closed = true;
                    break;
                }
                c => choice.push(c),
            }
        }
        if !closed {
            return malformed();
        }
        if choice.is_empty() {
            return Err(format!(
                "empty choice in `{source}`; `any(...)` choices must not be empty"
            ));
        }
        choices.push(choice);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return malformed(),
        }
    }
    if choices.is_empty() {
        return Err(format!(
            "`any(...)` needs at least one choice in `{source}`, e.g. `any('a', 'b')`"
        ));
    }
    Ok(choices)
}

fn parse_type_path(conv: &str) -> Option<TypePath> {
    let compact: String = conv.chars().filter(|c| !c.is_whitespace()).collect();
    let (leading_colon, body) = match compact.strip_prefix("::") {
        Some(body) => (true, body),
        None => (false, compact.as_str()),
    };
    let segments: Vec<String> = body.split("::").map(str::to_owned).collect();
    // `r#self` and friends are not valid raw identifiers (and would panic in
    // `Ident::new_raw` during expansion).
    let valid = segments.iter().all(|s| match s.strip_prefix("r#") {
        Some(raw) => is_ident(raw) && !matches!(raw, "self" | "Self" | "super" | "crate"),
        None => is_ident(s),
    });
    valid.then_some(TypePath {
        leading_colon,
        segments,
    })
}

/// A plain ASCII identifier other than `_`.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic());
    first_ok && s != "_" && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The pattern with parameter names removed: two routes with equal keys match the same
/// paths. Choices are re-quoted with `'` so the key does not depend on quoting style.
pub(crate) fn key(parts: &[Part]) -> String {
    let mut key = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => key.push_str(text),
            Part::Param(param) => {
                key.push_str("<:");
                key.push_str(&conv_text(&param.conv));
                key.push('>');
            }
        }
    }
    key
}

/// A converter's canonical text, as used in [`key`].
pub(crate) fn conv_text(conv: &Conv) -> String {
    match conv {
        Conv::Unicode => "unicode".to_owned(),
        Conv::Int => "int".to_owned(),
        Conv::Path => "path".to_owned(),
        Conv::Any(choices) => {
            let quoted: Vec<String> = choices
                .iter()
                .map(|c| format!("'{}'", c.replace('\\', "\\\\").replace('\'', "\\'")))
                .collect();
            format!("any({})", quoted.join(","))
        }
        Conv::Custom(path) => path.to_string(),
    }
}

// The fuzz body: unit-tested here, called by the fuzz binary and the corpus replay test, which
// include this file by path (so within this crate it is unused outside tests).
#[cfg(any(test, fuzzing))]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod fuzz;
#[cfg(test)]
mod tests;
