//! What the access log writes of a request's path: never a session id. The query is left out
//! (querystring mode carries the id there), and a run of 64 or more hex digits in the path — the
//! shape of an id, which a mangled URL can carry there too — is replaced by `<redacted>`.

use std::borrow::Cow;

/// The length of a session id's text, the shortest run that is redacted.
const ID_LEN: usize = 64;

/// `path` with every run of at least [`ID_LEN`] hex digits replaced by `<redacted>`.
pub(super) fn redacted_path(path: &str) -> Cow<'_, str> {
    let bytes = path.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        if !bytes[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i - start >= ID_LEN {
            let out = out.get_or_insert_with(|| String::with_capacity(path.len()));
            out.push_str(&path[copied..start]);
            out.push_str("<redacted>");
            copied = i;
        }
    }
    match out {
        None => Cow::Borrowed(path),
        Some(mut out) => {
            out.push_str(&path[copied..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn id_shaped_runs_are_redacted_and_the_rest_is_kept() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(redacted_path("/secure-area"), "/secure-area");
        assert_eq!(redacted_path(&format!("/x/{id}/y")), "/x/<redacted>/y");
        assert_eq!(redacted_path(&format!("/{id}{id}")), "/<redacted>");
        assert_eq!(
            redacted_path(&format!("/a;pesto_session={}", id.to_uppercase())),
            "/a;pesto_session=<redacted>"
        );
        let short = &id[..63];
        assert_eq!(
            redacted_path(&format!("/{short}")),
            format!("/{short}"),
            "63 digits are not an id"
        );
    }
}
