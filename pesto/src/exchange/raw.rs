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

/// Boxes any request body into a [`RawBody`]; a `RawBody` is passed on as it is, and a body
/// already over (no frame to come) becomes an empty one, which needs no allocation.
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
        // Most GETs: hyper knows from the head that no body follows. `is_end_stream` promises
        // that no frame, trailers included, is to come, so nothing is lost.
        Some(body) if body.is_end_stream() => empty_body(),
        Some(body) => body.map_err(Into::into).boxed_unsync(),
        None => unreachable!("the slot is only emptied when it held a RawBody"),
    }
}

/// The body of a request that carries none. Boxing it allocates nothing: the empty body, and
/// the error conversion it never runs, are zero-sized.
fn empty_body() -> RawBody {
    http_body_util::Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Body, Frame};
    use http_body_util::Full;

    use super::box_body;

    #[test]
    fn an_already_boxed_body_passes_through_with_its_bytes() {
        let boxed = box_body(Full::new(Bytes::from_static(b"abc")));
        assert_eq!(boxed.size_hint().exact(), Some(3));
        let again = box_body(boxed);
        assert_eq!(again.size_hint().exact(), Some(3));
    }

    /// A body that records being dropped, over from the start or not.
    struct Watched {
        over: bool,
        dropped: Arc<AtomicBool>,
    }

    impl Body for Watched {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(None)
        }

        fn is_end_stream(&self) -> bool {
            self.over
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_body_already_over_is_boxed_as_the_empty_body() {
        // Over: dropped at once, the box holds the (zero-sized, so unallocated) empty body.
        let dropped = Arc::new(AtomicBool::new(false));
        let over = Watched {
            over: true,
            dropped: Arc::clone(&dropped),
        };
        let boxed = box_body(over);
        assert!(dropped.load(Ordering::Relaxed), "the body over is replaced");
        assert!(boxed.is_end_stream());
        assert_eq!(boxed.size_hint().exact(), Some(0));
        // Not over: boxed as it is.
        let kept = Arc::new(AtomicBool::new(false));
        let boxed = box_body(Watched {
            over: false,
            dropped: Arc::clone(&kept),
        });
        assert!(
            !kept.load(Ordering::Relaxed),
            "a body still to read is kept"
        );
        drop(boxed);
        assert!(kept.load(Ordering::Relaxed));
    }
}
