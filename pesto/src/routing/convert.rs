//! Converters: which captured text a `<name:converter>` part accepts, and how a value is
//! percent-encoded back into a URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::route::Conv;

/// A user-defined converter, named in a pattern by its type: `<slug:Slug>`.
///
/// The converter decides which text a part matches; the handler parameter's type (through
/// `FromStr`) decides what value it becomes, and `Display` turns the value back into text for `url()`.
///
/// ```
/// use pesto::prelude::*;
/// use pesto::TestApp;
///
/// /// Lower-case words joined by dashes.
/// pub struct Slug;
/// impl pesto::Converter for Slug {
///     fn matches(value: &str) -> bool {
///         !value.is_empty() && value.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
///     }
/// }
///
/// #[route("/articles/<slug:Slug>", GET)]
/// async fn article(req: &mut Request, slug: String) -> String { slug }
///
/// dispatcher_app!(App = [article]);
/// let app = TestApp::new(App::new());
/// assert_eq!(app.get("/articles/hello-world").send().status(), 200);
/// assert_eq!(app.get("/articles/Hello").send().status(), 404);
/// ```
pub trait Converter: 'static {
    /// Whether the percent-decoded text of one path segment (never containing `/`) is accepted.
    fn matches(value: &str) -> bool;
}

/// Whether `value` is an `int` parameter: ASCII digits, after an optional sign.
#[inline(always)]
fn is_int(value: &str) -> bool {
    let digits = match value.as_bytes() {
        [b'+' | b'-', digits @ ..] => digits,
        digits => digits,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

impl Conv {
    /// Whether `value` (percent-decoded) is accepted by this converter.
    #[inline]
    pub(crate) fn matches(&self, value: &str) -> bool {
        if value.is_empty() {
            return false;
        }
        match self {
            Conv::Unicode => true,
            Conv::Int => is_int(value),
            Conv::Path => !value.starts_with('/') && !value.ends_with('/') && !value.contains("//"),
            Conv::Any(choices) => choices.contains(&value),
            Conv::Custom { matches, .. } => matches(value),
        }
    }

    /// Whether a decoded value is accepted, leaving segment structure to the matcher (a `path`
    /// value may hold a `/` decoded from `%2F`).
    ///
    /// Inlined into the matcher for the built-in converters, the ones nearly every parameter
    /// uses: a call would cost more than their test.
    #[inline(always)]
    pub(crate) fn matches_value(&self, value: &str) -> bool {
        match self {
            Conv::Unicode | Conv::Path => !value.is_empty(),
            Conv::Int => is_int(value),
            other => other.matches(value),
        }
    }

    /// Whether a match may span several path segments.
    pub(crate) fn spans_segments(&self) -> bool {
        matches!(self, Conv::Path)
    }

    /// Lower ranks are more specific; used to order alternatives at the same position.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Conv::Any(_) => 0,
            Conv::Int | Conv::Custom { .. } => 1,
            Conv::Unicode => 2,
            Conv::Path => 3,
        }
    }

    /// Percent-encodes a parameter's text for a URL path.
    pub(crate) fn encode(&self, text: &str, out: &mut String) {
        let set = if self.spans_segments() {
            PATH_KEEP_SLASH
        } else {
            SEGMENT
        };
        out.extend(utf8_percent_encode(text, set));
    }
}

/// Characters escaped in `path` parameters and literal pattern text: everything but RFC 3986
/// unreserved characters, `/`, and the sub-delimiters that are safe in a path.
const PATH_KEEP_SLASH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'+');

/// As [`PATH_KEEP_SLASH`], and `/` too: one path segment.
const SEGMENT: &AsciiSet = &PATH_KEEP_SLASH.add(b'/');

/// Percent-encodes literal pattern text (keeping its `/`).
pub(crate) fn encode_literal(text: &str, out: &mut String) {
    out.extend(utf8_percent_encode(text, PATH_KEEP_SLASH));
}

/// Literal pattern text percent-encoded (keeping its `/`): the text itself, borrowed, when
/// nothing in it needs encoding, as in nearly every pattern.
pub(crate) fn encoded_literal(text: &'static str) -> std::borrow::Cow<'static, str> {
    utf8_percent_encode(text, PATH_KEEP_SLASH).into()
}

/// Percent-decodes one path segment; `None` if the result is not UTF-8.
pub(crate) fn decode_segment(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    // Nearly every segment has nothing encoded, and is text already: no byte-by-byte decoding.
    if !raw.contains('%') {
        return Some(std::borrow::Cow::Borrowed(raw));
    }
    percent_encoding::percent_decode_str(raw).decode_utf8().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_accepts_sign_and_digits_only() {
        for ok in ["0", "42", "-7", "+7", "007"] {
            assert!(Conv::Int.matches(ok), "{ok}");
        }
        for bad in ["", "-", "+", "4a", " 4", "4.0", "١"] {
            assert!(!Conv::Int.matches(bad), "{bad}");
        }
    }

    #[test]
    fn path_rejects_empty_segments() {
        assert!(Conv::Path.matches("a/b/c"));
        for bad in ["", "/a", "a/", "a//b"] {
            assert!(!Conv::Path.matches(bad), "{bad}");
        }
    }

    #[test]
    fn any_matches_listed_choices() {
        let conv = Conv::Any(&["about", "help"]);
        assert!(conv.matches("help"));
        assert!(!conv.matches("helps"));
    }

    #[test]
    fn segment_encoding_escapes_slash_and_percent() {
        let mut out = String::new();
        Conv::Unicode.encode("a/b%c d+é", &mut out);
        assert_eq!(out, "a%2Fb%25c%20d%2B%C3%A9");
        let mut out = String::new();
        Conv::Path.encode("a/b c", &mut out);
        assert_eq!(out, "a/b%20c");
    }
}
