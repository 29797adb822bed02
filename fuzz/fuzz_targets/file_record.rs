//! Fuzz target `file_record`: the body is `pesto::__private::fuzz::file_record` (see its doc).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pesto::__private::fuzz::file_record(data));
