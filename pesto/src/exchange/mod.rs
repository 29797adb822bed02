//! The request vocabulary: one HTTP exchange as every layer speaks of it — the raw request types,
//! [`Request`] and [`Response`], bodies, cookies, [`MultiDict`], the origin, URL encoding, the
//! [`Session<S>`] handle a handler sees, and the per-request context.
//!
//! This is the bottom layer: it imports nothing from the endpoint, routing, session, server or
//! `TestApp` modules (see ARCHITECTURE.md).

pub(crate) mod body;
pub(crate) mod context;
pub(crate) mod cookies;
pub(crate) mod default_json;
pub(crate) mod encoding;
pub(crate) mod error;
pub(crate) mod flash;
pub(crate) mod headers;
pub(crate) mod html;
pub(crate) mod location;
pub(crate) mod multidict;
pub(crate) mod origin;
#[cfg(feature = "askama")]
pub(crate) mod page;
pub(crate) mod pending_id;
pub(crate) mod raw;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod save_gate;
pub(crate) mod session;
pub(crate) mod session_id;
pub(crate) mod session_json;

pub use body::{Limits, UploadedFile};
pub use context::HandedContext;
pub use error::Error;
pub use flash::{Flash, FlashLevel};
pub use html::html_escape;
#[cfg(feature = "askama")]
pub use html::HtmlEscaper;
pub use multidict::MultiDict;
#[cfg(feature = "askama")]
pub use page::Page;
pub use raw::{box_body, BoxError, Https, RawBody, RawRequest, RemoteAddr};
pub use request::Request;
pub use response::{ErrAnswer, IntoResponse, Response};
pub use session::{Session, SessionData};
pub use session_id::{ParseIdError, RandomError, SessionId, SessionKey};
