//! The raw request types every layer passes along: what arrives from hyper, tower or `TestApp`
//! before pesto has read it, and the markers the server attaches to it.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

/// The error type of request bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a [`RawRequest`]: any `http_body::Body` of `Bytes`, boxed.
pub type RawBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request as it arrives at an [`Endpoint`](crate::Endpoint).
pub type RawRequest = http::Request<RawBody>;

/// The client's address, as a request extension (the server sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Marks a request that arrived over TLS (set it in front of pesto when a proxy or TLS layer
/// terminates https and the URI is in origin form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https;

/// Boxes any request body into a [`RawBody`]; a `RawBody` is passed on as it is.
pub fn box_body<B>(body: B) -> RawBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // The server boxes the body once before its tower stack, and the stack ends in a
    // `PestoService`, which boxes whatever it gets: unwrapping an already boxed body spares a
    // second box (and a second indirection on every read), as axum's `Body::new` does.
    let mut slot = Some(body);
    let any: &mut dyn std::any::Any = &mut slot;
    if let Some(raw) = any.downcast_mut::<Option<RawBody>>().and_then(Option::take) {
        return raw;
    }
    match slot {
        Some(body) => body.map_err(Into::into).boxed_unsync(),
        None => unreachable!("the slot is only emptied when it held a RawBody"),
    }
}

/// The body of a request that carries none. Boxing it allocates nothing: the empty body, and
/// the error conversion it never runs, are zero-sized.
pub(crate) fn empty_body() -> RawBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body::Body;
    use http_body_util::Full;

    use super::box_body;

    #[test]
    fn an_already_boxed_body_passes_through_with_its_bytes() {
        let boxed = box_body(Full::new(Bytes::from_static(b"abc")));
        assert_eq!(boxed.size_hint().exact(), Some(3));
        let again = box_body(boxed);
        assert_eq!(again.size_hint().exact(), Some(3));
    }
}
