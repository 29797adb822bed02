//! Fuzz target `cookie_header`: the body is `pesto::__private::fuzz::cookie_header` (see its doc).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pesto::__private::fuzz::cookie_header(data));
