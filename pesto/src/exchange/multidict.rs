//! [`MultiDict`]: an ordered multi-valued map of strings, for query strings, forms and cookies.

/// An ordered map from string keys to one or more string values, as Pesto's `MultiDict`.
///
/// ```
/// let q: pesto::MultiDict = [("tag", "a"), ("tag", "b"), ("page", "2")].into_iter().collect();
/// assert_eq!(q.get("tag"), Some("a"));
/// assert_eq!(q.get_all("tag").collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(q.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultiDict {
    pairs: Vec<(String, String)>,
}

impl MultiDict {
    /// An empty map.
    pub fn new() -> Self {
        MultiDict::default()
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when `key` has at least one value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// Adds a value for `key`, keeping existing ones.
    pub fn append(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// Replaces every value of `key` with `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        self.pairs.retain(|(k, _)| *k != key);
        self.pairs.push((key, value.into()));
    }

    /// Removes every value of `key`.
    pub fn remove(&mut self, key: &str) {
        self.pairs.retain(|(k, _)| k != key);
    }

    /// All pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Parses `application/x-www-form-urlencoded` text leniently (invalid UTF-8 is replaced), as
    /// used for query strings.
    pub fn parse_query(query: &str) -> MultiDict {
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Parses an `application/x-www-form-urlencoded` body strictly.
    ///
    /// # Errors
    /// Fails when a decoded key or value is not UTF-8.
    pub fn parse_form(body: &[u8]) -> Result<MultiDict, String> {
        let mut out = MultiDict::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            let key = decode_form_component(kv.next().unwrap_or_default())?;
            let value = decode_form_component(kv.next().unwrap_or_default())?;
            out.append(key, value);
        }
        Ok(out)
    }
}

/// Decodes one key or value of a form body: `+` is a space, `%XX` a byte (a `%` not followed by
/// two hex digits stays as it is, as `percent_encoding` leaves it), in one pass and one buffer.
fn decode_form_component(raw: &[u8]) -> Result<String, String> {
    const NOT_UTF8: &str = "form field is not valid UTF-8";
    // Most keys and values hold neither: checked and copied whole, not byte by byte. (A plain
    // scan: they are short, and `memchr2`'s set-up costs more than it saves at these lengths.)
    let Some(first) = raw.iter().position(|&b| b == b'+' || b == b'%') else {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| NOT_UTF8.to_owned());
    };
    let mut decoded = Vec::with_capacity(raw.len());
    decoded.extend_from_slice(&raw[..first]);
    let mut at = first;
    while let Some(&byte) = raw.get(at) {
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => match raw
                .get(at + 1..at + 3)
                .and_then(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
            {
                Some(value) => {
                    decoded.push(value);
                    at += 2;
                }
                None => decoded.push(b'%'),
            },
            _ => decoded.push(byte),
        }
        at += 1;
    }
    String::from_utf8(decoded).map_err(|_| NOT_UTF8.to_owned())
}

/// The value of one hex digit.
fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MultiDict {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MultiDict {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<'a> IntoIterator for &'a MultiDict {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass decoder agrees with `+` replaced first and `percent_encoding` after.
        #[test]
        fn form_components_decode_as_percent_encoding_does(raw in proptest::collection::vec(
            proptest::sample::select(b"ab+%2F0e\xc3\xa9 ".to_vec()), 0..24)
        ) {
            let plus_as_space: Vec<u8> =
                raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
            let expected: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
            let expected = String::from_utf8(expected).ok();
            proptest::prop_assert_eq!(decode_form_component(&raw).ok(), expected);
        }
    }

    #[test]
    fn strict_form_parsing_decodes_plus_and_percent() {
        let form = MultiDict::parse_form(b"a=1+2&b=%C3%A9&a=3&flag").expect("valid");
        assert_eq!(form.get_all("a").collect::<Vec<_>>(), ["1 2", "3"]);
        assert_eq!(form.get("b"), Some("é"));
        assert_eq!(form.get("flag"), Some(""));
    }

    #[test]
    fn strict_form_parsing_rejects_invalid_utf8() {
        assert!(MultiDict::parse_form(b"a=%FF").is_err());
        // Nothing encoded: the component is checked whole.
        assert!(MultiDict::parse_form(b"a=\xff").is_err());
        assert!(MultiDict::parse_form(b"\xc3=b").is_err());
    }
}
