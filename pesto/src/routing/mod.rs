//! Routing: the [`Dispatcher`] that `dispatcher_app!` builds, the matcher behind it, converters
//! and reverse URLs.
//!
//! The layer above the endpoint: it imports the request vocabulary (`crate::exchange`) and the
//! `Endpoint` trait, never the session middleware, which wraps a dispatcher from outside.
//!
#![doc = include_str!("../../../docs/dispatch.md")]

pub(crate) mod captures;
pub(crate) mod convert;
mod dispatch;
mod fallback;
mod guards;
pub(crate) mod route;
pub(crate) mod table;
mod tree;
mod url;

pub use convert::Converter;
pub use dispatch::Dispatcher;
pub use fallback::Unmatched;
pub use guards::{
    CsrfRefused, CsrfToken, CsrfVerified, Form, FormRejection, FromRequest, Json, JsonRejection,
    Provided, Query, QueryRejection, State, CSRF_FIELD, CSRF_HEADER,
};
pub use route::RouteInfo;
pub use table::{RouteEntry, RouteError};
pub use url::Url;
