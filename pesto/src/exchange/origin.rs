//! Where a request was sent: its scheme, host and origin, read defensively because the host ends
//! up in absolute URLs and redirects.

use super::raw::Https;

/// `http` or `https`, from the URI or the [`Https`] marker.
pub(crate) fn scheme(parts: &http::request::Parts) -> &str {
    match parts.uri.scheme_str() {
        Some(s) => s,
        None if parts.extensions.get::<Https>().is_some() => "https",
        None => "http",
    }
}

/// The host from the URI authority or the `Host` header; `localhost` when neither is present
/// or the value is not a plain `host[:port]` (it ends up in absolute URLs and redirects).
pub(crate) fn host(parts: &http::request::Parts) -> &str {
    parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|h| is_plain_host(h))
        .unwrap_or("localhost")
}

/// `name[:port]` or `[v6][:port]`, nothing else (no user info, path or odd characters). Checked
/// by hand, in one pass and without a copy: it runs for every request whose origin is needed
/// (each redirect).
pub(crate) fn is_plain_host(host: &str) -> bool {
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 {
        return false;
    }
    if bytes[0] == b'[' {
        return is_plain_ipv6_host(bytes);
    }
    // A name: name bytes up to an optional `:`, then a port of up to five digits.
    match bytes.iter().position(|&b| !is_name_byte(b)) {
        None => true,
        Some(0) => false,
        Some(colon) if bytes[colon] == b':' => {
            let port = &bytes[colon + 1..];
            port.len() <= 5 && port.iter().all(u8::is_ascii_digit)
        }
        Some(_) => false,
    }
}

/// A byte of a host name (or an IPv4 address): ASCII letters and digits, `-`, `.` and `_`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

/// `[v6]` or `[v6]:port`: hex digits, `:` and `.` between the brackets.
fn is_plain_ipv6_host(bytes: &[u8]) -> bool {
    let Some(close) = bytes.iter().position(|&b| b == b']') else {
        return false;
    };
    let inside = &bytes[1..close];
    let literal_ok = !inside.is_empty()
        && inside
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    match &bytes[close + 1..] {
        [] => literal_ok,
        [b':', port @ ..] => literal_ok && port.len() <= 5 && port.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_plain_host;

    #[test]
    fn plain_hosts_are_names_or_literals_with_an_optional_port() {
        for good in [
            "example.org",
            "example.org:8080",
            "127.0.0.1:3000",
            "localhost",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::7]",
            "my_host-1.example",
        ] {
            assert!(is_plain_host(good), "{good}");
            assert!(good.parse::<http::uri::Authority>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "user@example.org",
            "example.org/path",
            "example.org:80:80",
            "example.org:http",
            "example.org:123456",
            ":8080",
            "[::1",
            "::1]",
            "[]",
            "[::1]x",
            "[::1]:x",
            "[g::1]",
            "exa[mple.org",
            "example.org]",
            "a b",
            "example.org\\evil",
            "%65xample.org",
        ] {
            assert!(!is_plain_host(bad), "{bad}");
        }
    }

    #[test]
    fn the_one_pass_check_agrees_with_its_definition() {
        // The definition as it was written first, check by check.
        fn by_definition(host: &str) -> bool {
            if host.is_empty()
                || host.len() > 255
                || !host.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'-' | b'.' | b':' | b'[' | b']' | b'_')
                })
            {
                return false;
            }
            let (name_ok, port) = match host.strip_prefix('[') {
                // An IPv6 literal: hex digits, `:` and `.` between the brackets.
                Some(rest) => {
                    let Some((inside, after)) = rest.split_once(']') else {
                        return false;
                    };
                    let literal_ok = !inside.is_empty()
                        && inside
                            .bytes()
                            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                    match after {
                        "" => return literal_ok,
                        _ => (literal_ok, after.strip_prefix(':')),
                    }
                }
                None => match host.split_once(':') {
                    Some((name, port)) => {
                        (!name.is_empty() && !name.contains(['[', ']']), Some(port))
                    }
                    None => (!host.contains(['[', ']']), Some("")),
                },
            };
            name_ok
                && port
                    .is_some_and(|port| port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()))
        }

        for s in short_strings(&["a", "1", ":", "[", "]", ".", "-", "@", "f"], 6) {
            assert_eq!(is_plain_host(&s), by_definition(&s), "{s:?}");
        }
    }

    /// Every string of one to `max_len` pieces of `alphabet`.
    fn short_strings(alphabet: &[&str], max_len: usize) -> Vec<String> {
        let mut all = Vec::new();
        let mut strings = vec![String::new()];
        for _ in 0..max_len {
            strings = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(strings.iter().cloned());
        }
        all
    }

    #[test]
    fn what_passes_is_an_authority_to_the_http_crate_too() {
        // Every short string over the allowed bytes plus a few others: none that passes here
        // is refused by the `http` crate's own parser.
        for s in short_strings(&["a", "1", ":", "[", "]", ".", "-", "_"], 5) {
            if is_plain_host(&s) {
                assert!(s.parse::<http::uri::Authority>().is_ok(), "{s:?}");
            }
        }
    }
}
