//! Reading request bodies within limits, and parsing form bodies.
//!
//! docs/security.md, "The server": hyper has no body size limit and no body read timeout, so both
//! are enforced here. A `Content-Length` over the limit is refused before any byte is read (with
//! `Expect: 100-continue`, hyper then never asks the client for the body).

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;

use super::multidict::MultiDict;
use super::raw::RawBody;
use super::response::Response;

/// Limits on request bodies, set with [`Dispatcher::limits`](crate::Dispatcher::limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest body of any type but multipart, in bytes (default 1 MiB).
    pub body: usize,
    /// Largest `multipart/form-data` body, in bytes (default 16 MiB).
    pub multipart: usize,
    /// How long a client may take to send the whole body (default 30 s); then 408.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: 1024 * 1024,
            multipart: 16 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// Sets the limit for bodies other than multipart.
    #[must_use]
    pub fn body(mut self, bytes: usize) -> Self {
        self.body = bytes;
        self
    }

    /// Sets the limit for `multipart/form-data` bodies.
    #[must_use]
    pub fn multipart(mut self, bytes: usize) -> Self {
        self.multipart = bytes;
        self
    }

    /// Sets the body read timeout.
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }
}

/// A file uploaded in a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The form field's name.
    pub field: String,
    /// The file name the client gave, if any (never trust it as a path).
    pub file_name: Option<String>,
    /// The part's content type, if given.
    pub content_type: Option<String>,
    /// The file's content.
    pub data: Bytes,
}

/// Why a body was refused.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    Malformed(String),
    Timeout,
    Read(String),
}

impl BodyError {
    pub(crate) fn into_response(self) -> Response {
        match self {
            BodyError::TooLarge => Response::error_page(StatusCode::PAYLOAD_TOO_LARGE),
            BodyError::Timeout => Response::error_page(StatusCode::REQUEST_TIMEOUT),
            BodyError::Malformed(reason) => {
                tracing::debug!(%reason, "malformed request body");
                Response::text(format!("400 Bad Request\n{reason}\n"))
                    .with_status(StatusCode::BAD_REQUEST)
            }
            BodyError::Read(reason) => {
                tracing::debug!(%reason, "could not read request body");
                Response::bad_request()
            }
        }
    }
}

/// What a body's `Content-Type` makes of it, as far as reading it goes: read once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    UrlEncoded,
    Multipart,
    Other,
}

impl BodyKind {
    /// The kind `headers`' `Content-Type` names: its media type, parameters left out, compared
    /// as media types are (ASCII case ignored). A value that is not visible ASCII names none.
    fn of(headers: &HeaderMap) -> BodyKind {
        let Some(value) = headers.get(header::CONTENT_TYPE) else {
            return BodyKind::Other;
        };
        let Ok(value) = value.to_str() else {
            return BodyKind::Other;
        };
        // Up to the first `;`, without the blanks around it (only SP and HTAB can be there).
        let value = value.as_bytes();
        let media = value[..memchr::memchr(b';', value).unwrap_or(value.len())].trim_ascii();
        if media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
            BodyKind::UrlEncoded
        } else if media.eq_ignore_ascii_case(b"multipart/form-data") {
            BodyKind::Multipart
        } else {
            BodyKind::Other
        }
    }
}

/// The media type of the body, lower-cased, without parameters.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim().to_ascii_lowercase();
    Some(media)
}

/// Reads the whole body, refusing more than the applicable limit.
async fn read(
    body: RawBody,
    headers: &HeaderMap,
    kind: BodyKind,
    limits: &Limits,
) -> Result<Bytes, BodyError> {
    let limit = match kind {
        BodyKind::Multipart => limits.multipart,
        BodyKind::UrlEncoded | BodyKind::Other => limits.body,
    };
    if let Some(length) = headers.get(header::CONTENT_LENGTH) {
        let length: u64 = length
            .to_str()
            .ok()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| BodyError::Malformed("invalid Content-Length".to_owned()))?;
        if length > limit as u64 {
            return Err(BodyError::TooLarge);
        }
    }
    if http_body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    let collect = async move {
        let mut body = body;
        let mut out = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > limit {
                    return Err(BodyError::TooLarge);
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out.freeze())
    };
    match tokio::time::timeout(limits.body_timeout, collect).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(result) => result,
    }
}

/// The parsed form of a body: fields and uploaded files.
pub(crate) type Form = (MultiDict, Vec<UploadedFile>);

/// Reads the whole body ([`read`]) and parses it when it is a form ([`parse_form`]).
pub(crate) async fn read_with_form(
    body: RawBody,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<(Bytes, Form), BodyError> {
    let kind = BodyKind::of(headers);
    let bytes = read(body, headers, kind, limits).await?;
    let form = parse_kind(kind, headers, &bytes, limits).await?;
    Ok((bytes, form))
}

/// Parses urlencoded and multipart bodies; other bodies give an empty form. (The multipart fuzz
/// target's way in; a request reads its headers once, in [`read_with_form`].)
pub(crate) async fn parse_form(
    headers: &HeaderMap,
    body: &Bytes,
    limits: &Limits,
) -> Result<Form, BodyError> {
    parse_kind(BodyKind::of(headers), headers, body, limits).await
}

/// Parses a body of `kind` (as [`BodyKind::of`] read `headers`) into its form.
async fn parse_kind(
    kind: BodyKind,
    headers: &HeaderMap,
    body: &Bytes,
    limits: &Limits,
) -> Result<Form, BodyError> {
    match kind {
        BodyKind::UrlEncoded => {
            let fields = MultiDict::parse_form(body).map_err(BodyError::Malformed)?;
            Ok((fields, Vec::new()))
        }
        BodyKind::Multipart => parse_multipart(headers, body.clone(), limits).await,
        BodyKind::Other => Ok((MultiDict::new(), Vec::new())),
    }
}

async fn parse_multipart(
    headers: &HeaderMap,
    body: Bytes,
    limits: &Limits,
) -> Result<Form, BodyError> {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| BodyError::Malformed("multipart body without a boundary".to_owned()))?;
    let stream =
        futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limits.multipart as u64));
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut fields = MultiDict::new();
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(multipart_error)?;
        if file_name.is_some() {
            files.push(UploadedFile {
                field: name,
                file_name,
                content_type,
                data,
            });
        } else {
            let text = String::from_utf8(data.to_vec()).map_err(|_| {
                BodyError::Malformed(format!("form field `{name}` is not valid UTF-8"))
            })?;
            fields.append(name, text);
        }
    }
    Ok((fields, files))
}

fn multipart_error(e: multer::Error) -> BodyError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            BodyError::TooLarge
        }
        other => BodyError::Malformed(format!("malformed multipart body: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    /// The kind a `Content-Type` of `value` names, as the former reading did it: the header as
    /// text, split at `;`, trimmed, compared ignoring ASCII case.
    fn as_text_split(value: &HeaderValue) -> BodyKind {
        let media = value.to_str().ok().and_then(|v| v.split(';').next());
        match media.map(str::trim) {
            Some(m) if m.eq_ignore_ascii_case("application/x-www-form-urlencoded") => {
                BodyKind::UrlEncoded
            }
            Some(m) if m.eq_ignore_ascii_case("multipart/form-data") => BodyKind::Multipart,
            _ => BodyKind::Other,
        }
    }

    #[test]
    fn a_body_kind_is_read_from_the_media_type_alone() {
        let cases: [(&[u8], BodyKind); 12] = [
            (b"application/x-www-form-urlencoded", BodyKind::UrlEncoded),
            (
                b"Application/X-WWW-Form-URLEncoded; charset=utf-8",
                BodyKind::UrlEncoded,
            ),
            (
                b"  application/x-www-form-urlencoded\t;",
                BodyKind::UrlEncoded,
            ),
            (b"multipart/form-data; boundary=x", BodyKind::Multipart),
            (b"MULTIPART/FORM-DATA;boundary=\"a;b\"", BodyKind::Multipart),
            (b"multipart/form-data\t ; boundary=x", BodyKind::Multipart),
            (b"application/x-www-form-urlencodedx", BodyKind::Other),
            (b"multipart/form-data-x; boundary=x", BodyKind::Other),
            (b"text/plain; x=multipart/form-data", BodyKind::Other),
            (b"", BodyKind::Other),
            (b";multipart/form-data", BodyKind::Other),
            // Not visible ASCII: names no kind, as when the header was read as text.
            (b"multipart/form-data; boundary=\xe9", BodyKind::Other),
        ];
        for (bytes, kind) in cases {
            let value = HeaderValue::from_bytes(bytes).expect("a header value");
            assert_eq!(as_text_split(&value), kind, "{value:?}");
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value);
            assert_eq!(BodyKind::of(&headers), kind, "{headers:?}");
        }
        assert_eq!(BodyKind::of(&HeaderMap::new()), BodyKind::Other);
    }
}
