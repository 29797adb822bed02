//! Parsing the request's `Cookie` headers, defensively.
//!
//! docs/security.md, "Cookies and caching": names are never percent-decoded (Rack CVE-2020-8184),
//! only SP and HTAB are trimmed, and junk such as `Cookie: =x` is skipped instead of failing.
//! A pair that is not UTF-8 is skipped alone: another app's Latin-1 cookie on the same domain
//! does not hide the ones after it in the header.

use http::HeaderMap;

use super::multidict::MultiDict;

/// Every `name=value` pair of the `Cookie` headers as bytes, trimmed of SP and HTAB, names
/// undecoded; pairs without `=` or with an empty name are skipped.
///
/// Bytes, cut with a vectorized search for `;` and `=`: the session cookie is read on every
/// request, and only the pairs a caller keeps need to be checked as UTF-8.
fn byte_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers
        .get_all(http::header::COOKIE)
        .into_iter()
        .flat_map(|h| Pieces(h.as_bytes()))
        .filter_map(|pair| {
            let pair = trim(pair);
            let equals = memchr::memchr(b'=', pair)?;
            let name = trim(&pair[..equals]);
            (!name.is_empty()).then(|| (name, trim(&pair[equals + 1..])))
        })
}

/// The pieces of a header value between its `;`s.
struct Pieces<'h>(&'h [u8]);

impl<'h> Iterator for Pieces<'h> {
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        if self.0.is_empty() {
            return None;
        }
        match memchr::memchr(b';', self.0) {
            Some(end) => {
                let piece = &self.0[..end];
                self.0 = &self.0[end + 1..];
                Some(piece)
            }
            None => Some(std::mem::take(&mut self.0)),
        }
    }
}

/// Every `name=value` pair whose name and value are UTF-8.
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    byte_pairs(headers).filter_map(|(name, value)| {
        Some((
            std::str::from_utf8(name).ok()?,
            std::str::from_utf8(value).ok()?,
        ))
    })
}

/// Every cookie the client sent, in order; duplicate names keep every value.
pub(crate) fn parse(headers: &HeaderMap) -> MultiDict {
    let mut out = MultiDict::new();
    for (name, value) in pairs(headers) {
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        out.append(name, value.into_owned());
    }
    out
}

/// The raw values of cookie `name` (no decoding), for ids that must match exactly.
pub(crate) fn raw_values<'h>(
    headers: &'h HeaderMap,
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    byte_pairs(headers)
        .filter(move |(n, _)| *n == name.as_bytes())
        .filter_map(|(_, value)| std::str::from_utf8(value).ok())
}

/// `s` without the SP and HTAB at either end.
fn trim(s: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |last| last + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::COOKIE, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn junk_is_skipped() {
        let c = parse(&headers(&["=x; ; a=1;b; c = 3 ", "a=2"]));
        assert_eq!(c.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(c.get("c"), Some("3"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn names_are_not_decoded() {
        let c = parse(&headers(&["pesto%5Fsession=1"]));
        assert_eq!(c.get("pesto_session"), None);
        assert_eq!(c.get("pesto%5Fsession"), Some("1"));
    }

    #[test]
    fn raw_values_match_exact_name() {
        let h = headers(&["a=1; ab=2; a=3"]);
        assert_eq!(raw_values(&h, "a").collect::<Vec<_>>(), ["1", "3"]);
    }

    #[test]
    fn a_pair_that_is_not_utf8_hides_only_itself() {
        let mut h = HeaderMap::new();
        let value = http::HeaderValue::from_bytes(b"other=caf\xe9; a=1; \xe9=2; b=\"x y\"")
            .expect("obs-text is a valid header value");
        h.append(http::header::COOKIE, value);
        let c = parse(&h);
        assert_eq!(c.get("a"), Some("1"));
        assert_eq!(c.get("b"), Some("x y"));
        assert_eq!(c.get("other"), None);
        assert_eq!(c.len(), 2);
        assert_eq!(raw_values(&h, "a").collect::<Vec<_>>(), ["1"]);
        assert_eq!(raw_values(&h, "other").count(), 0);
    }

    #[test]
    fn blanks_are_trimmed_only_at_the_ends() {
        assert_eq!(trim(b" \t a b \t"), b"a b");
        assert_eq!(trim(b" \t "), b"");
        assert_eq!(trim(b""), b"");
        let h = headers(&[";; a = 1 ;b=;  ;=c;d"]);
        assert_eq!(raw_values(&h, "a").collect::<Vec<_>>(), ["1"]);
        assert_eq!(raw_values(&h, "b").collect::<Vec<_>>(), [""]);
        assert_eq!(parse(&h).len(), 2);
    }

    /// The pairs of one header line as the parser read them before it worked on bytes: the
    /// whole line as text, split on `;`, then at the first `=`.
    fn text_pairs(line: &str) -> Vec<(&str, &str)> {
        line.split(';')
            .filter_map(|pair| {
                let (name, value) = pair.trim_matches([' ', '\t']).split_once('=')?;
                let name = name.trim_matches([' ', '\t']);
                (!name.is_empty()).then(|| (name, value.trim_matches([' ', '\t'])))
            })
            .collect()
    }

    proptest::proptest! {
        /// On a line of text the byte parser reads exactly the pairs the text parser read; on
        /// any line, every name it yields is non-empty, trimmed and free of `;` and `=`.
        #[test]
        fn the_byte_parser_reads_text_as_the_text_parser_did(raw in proptest::collection::vec(
            proptest::sample::select(b"a=b; \t=;\xc3\xa9\xe9\"x".to_vec()), 0..32)
        ) {
            let Ok(value) = http::HeaderValue::from_bytes(&raw) else {
                return Ok(());
            };
            let mut h = HeaderMap::new();
            h.append(http::header::COOKIE, value);
            let read: Vec<(&str, &str)> = pairs(&h).collect();
            for (name, _) in &read {
                proptest::prop_assert!(!name.is_empty());
                proptest::prop_assert_eq!(*name, name.trim_matches([' ', '\t']));
                proptest::prop_assert!(!name.contains([';', '=']));
            }
            if let Ok(text) = std::str::from_utf8(&raw) {
                proptest::prop_assert_eq!(read, text_pairs(text));
            }
        }
    }
}
