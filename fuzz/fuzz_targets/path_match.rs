//! Fuzz target `path_match`: the body is `pesto::__private::fuzz::path_match` (see its doc).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pesto::__private::fuzz::path_match(data));
