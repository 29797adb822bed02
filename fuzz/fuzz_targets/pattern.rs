//! Fuzz target `pattern`: the body is `pattern::fuzz::pattern` in pesto-macros (see its doc).
#![no_main]

// The macros' parser, included by path: a proc-macro crate cannot export functions.
#[path = "../../pesto-macros/src/pattern/mod.rs"]
#[allow(dead_code)]
mod pattern;

libfuzzer_sys::fuzz_target!(|data: &[u8]| pattern::fuzz::pattern(data));
