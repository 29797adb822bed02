//! The bodies of the fuzz targets: one function per target, each taking the fuzzer's bytes and
//! exercising one parser of untrusted input, asserting what must hold for every input (no panic,
//! and round trips where one exists).
//!
//! They live in the library, not in `fuzz/`, so that the fuzz binaries (`fuzz/fuzz_targets/`,
//! outside the workspace: they need the fuzzer's instrumentation) and the replay test that
//! `cargo test --workspace` runs over the committed corpora (`tests/fuzz_corpora.rs`) call the
//! very same code. Reached as `pesto::__private::fuzz`; not a public API. See docs/security.md,
//! "Fuzzing".

mod cookie_header;
mod file_record;
mod multipart;
mod path_match;
#[cfg(feature = "redis")]
mod redis_record;
mod session_record;
mod urlencoded;

pub use cookie_header::cookie_header;
pub use file_record::file_record;
pub use multipart::multipart;
pub use path_match::path_match;
#[cfg(feature = "redis")]
pub use redis_record::redis_record;
pub use urlencoded::urlencoded;
