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

/// Boxes any request body into a [`RawBody`].
pub fn box_body<B>(body: B) -> RawBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}
