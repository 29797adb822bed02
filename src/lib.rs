//! The pesto workspace's own package: it owns the top-level `examples/`, `tests/` and `docs/`.
//!
//! The guides in `docs/` are attached to the `pesto` modules they document (`pesto::routing`,
//! `pesto::session`, `pesto::testing`, `pesto::guide`), so their code blocks run as doctests of
//! `pesto`; the README's run here, so neither can drift from the code.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
