//! Parsing the request's `Cookie` headers, defensively.
//!
//! docs/security.md, "Cookies and caching": names are never percent-decoded (Rack CVE-2020-8184),
//! only SP and HTAB are trimmed, and junk such as `Cookie: =x` is skipped instead of failing.

use http::HeaderMap;

use super::multidict::MultiDict;

/// Every `name=value` pair of the `Cookie` headers, trimmed of SP and HTAB, names undecoded;
/// pairs without `=` or with an empty name are skipped.
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .into_iter()
        .filter_map(|h| std::str::from_utf8(h.as_bytes()).ok())
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| {
            let (name, value) = trim(pair).split_once('=')?;
            let name = trim(name);
            (!name.is_empty()).then(|| (name, trim(value)))
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
    pairs(headers).filter_map(move |(n, v)| (n == name).then_some(v))
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
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
}
