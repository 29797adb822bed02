//! HTML escaping, one spelling everywhere: [`html_escape`] for pages written by hand and, with the
//! cargo feature `askama`, [`HtmlEscaper`] for templates, so a page does not change its bytes when
//! it moves from `format!` to a template.

use std::fmt;

/// Escapes text for HTML element content and attribute values: `&` `<` `>` `"` `'` become
/// `&amp;` `&lt;` `&gt;` `&quot;` `&#x27;` (the five characters OWASP's XSS cheat sheet names).
///
/// ```
/// assert_eq!(pesto::html_escape("<b>Tom & 'Jerry'</b>"), "&lt;b&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/b&gt;");
/// ```
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped as [`html_escape`] does, without a string of its own.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    // Writing into a String cannot fail.
    let _ = write_escaped(out, text);
}

/// Writes `text` into `dest` escaped as [`html_escape`] does, copying the runs between the
/// characters that need escaping in one piece.
fn write_escaped<W: fmt::Write>(mut dest: W, text: &str) -> fmt::Result {
    let mut plain_from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        // `at` is an ASCII byte's index, so both slices end on character boundaries.
        dest.write_str(&text[plain_from..at])?;
        dest.write_str(entity)?;
        plain_from = at + 1;
    }
    dest.write_str(&text[plain_from..])
}

/// askama's escaper spelled as [`html_escape`] (`&lt;` where askama's own writes `&#60;`), for
/// an app whose hand-written and templated pages should escape alike. Name it in an
/// `askama.toml` beside the crate's `Cargo.toml`:
///
/// ```toml
/// [[escaper]]
/// path = "::pesto::HtmlEscaper"
/// extensions = ["html"]
/// ```
///
/// askama's own `Html` escaper is just as safe; this one only changes the spelling.
#[cfg(feature = "askama")]
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEscaper;

#[cfg(feature = "askama")]
impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: fmt::Write>(&self, dest: W, string: &str) -> fmt::Result {
        write_escaped(dest, string)
    }
}

#[cfg(test)]
mod tests {
    use super::html_escape;

    #[test]
    fn the_five_special_characters_and_nothing_else_are_escaped() {
        assert_eq!(html_escape(""), "");
        assert_eq!(html_escape("plain été ✓"), "plain été ✓");
        assert_eq!(
            html_escape("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&#x27;f"
        );
        assert_eq!(html_escape("<<"), "&lt;&lt;");
        assert_eq!(html_escape("é<é"), "é&lt;é");
    }
}
