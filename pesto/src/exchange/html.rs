//! HTML escaping, one spelling everywhere: [`html_escape`] for pages written by hand and, with the
//! cargo feature `askama`, [`HtmlEscaper`] for templates, so a page does not change its bytes when
//! it moves from `format!` to a template.

use std::borrow::Cow;
use std::fmt;

/// Escapes text for HTML element content and attribute values: `&` `<` `>` `"` `'` become
/// `&amp;` `&lt;` `&gt;` `&quot;` `&#x27;` (the five characters OWASP's XSS cheat sheet names).
///
/// Text with nothing to escape, most of what a page shows, comes back borrowed, without a copy.
///
/// ```
/// use std::borrow::Cow;
///
/// assert_eq!(pesto::html_escape("<b>Tom & 'Jerry'</b>"), "&lt;b&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/b&gt;");
/// assert!(matches!(pesto::html_escape("Tom and Jerry"), Cow::Borrowed(_)));
/// ```
pub fn html_escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.bytes().position(|b| entity(b).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    // The text before `first` needs nothing: copied as it is, not scanned again. `first` is an
    // ASCII byte's index, so the slices end on character boundaries.
    out.push_str(&text[..first]);
    push_escaped(&mut out, &text[first..]);
    Cow::Owned(out)
}

/// The entity [`html_escape`] writes for `byte`, if it is one of the five it replaces.
fn entity(byte: u8) -> Option<&'static str> {
    Some(match byte {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        b'\'' => "&#x27;",
        _ => return None,
    })
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
        let Some(entity) = entity(byte) else {
            continue;
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
    use super::{html_escape, Cow};

    #[test]
    fn the_five_special_characters_and_nothing_else_are_escaped() {
        assert_eq!(html_escape(""), "");
        assert_eq!(html_escape("plain été ✓"), "plain été ✓");
        assert!(matches!(html_escape("plain été ✓"), Cow::Borrowed(_)));
        assert!(matches!(html_escape("a'b"), Cow::Owned(_)));
        assert_eq!(
            html_escape("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&#x27;f"
        );
        assert_eq!(html_escape("<<"), "&lt;&lt;");
        assert_eq!(html_escape("é<é"), "é&lt;é");
    }
}
