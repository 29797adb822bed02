//! The pesto workspace's own package: it owns the top-level `examples/`, `tests/` and `docs/`.
//!
//! Every code block of the guides in `docs/` and of `README.md` is compiled and run as a doctest
//! of this crate, so the guides cannot drift from the code.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(doctest)]
#[doc = include_str!("../docs/dispatch.md")]
mod dispatch_guide {}

#[cfg(doctest)]
#[doc = include_str!("../docs/sessions.md")]
mod sessions_guide {}

#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
mod testing_guide {}

#[cfg(doctest)]
#[doc = include_str!("../docs/security.md")]
mod security_guide {}

#[cfg(doctest)]
#[doc = include_str!("../docs/performance.md")]
mod performance_notes {}
