//! Fuzz target `urlencoded`: the body is `pesto::__private::fuzz::urlencoded` (see its doc).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pesto::__private::fuzz::urlencoded(data));
