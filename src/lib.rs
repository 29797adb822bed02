//! Doctests for the guides in docs/.

#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
mod testing_guide {}

#[cfg(doctest)]
#[doc = include_str!("../docs/security.md")]
mod security_guide {}
