//! Compile-fail and pass cases for `#[route]` and `dispatcher_app!`.
//!
//! The `.stderr` files are compiler-version specific; regenerate them with
//! `TRYBUILD=overwrite cargo test -p pesto-macros --test ui` and review each one.

#[rustversion::attr(not(stable(1.95)), ignore)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/fail/*.rs");
    t.pass("tests/ui/*/pass/*.rs");
}
