//! Fuzz target `multipart`: the body is `pesto::__private::fuzz::multipart` (see its doc).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pesto::__private::fuzz::multipart(data));
