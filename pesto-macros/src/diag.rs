//! Collects every error of one macro invocation so the user sees them all in a single
//! compile (serde's `Ctxt`, Rocket's `Diagnostics`), and spans errors inside string
//! literals where the compiler allows it ([`subspan`]).

use std::ops::Range;

use proc_macro2::Span;
use quote::ToTokens;
use syn::LitStr;

/// An accumulator of `syn::Error`s, folded with [`syn::Error::combine`].
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error covering all of `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// `Err` with every recorded error, or `Ok(())` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The span of the bytes `range` of `lit`'s value, where the compiler can point inside a
/// literal; otherwise (always on stable Rust, where `Literal::subspan` returns `None`, or
/// when escapes make the source and the value differ) the whole literal, as in Rocket's
/// `StringLit::subspan`. Messages must therefore quote the fragment as well.
pub(crate) fn subspan(lit: &LitStr, range: Range<usize>) -> Span {
    source_range(&lit.token().to_string(), &lit.value(), range)
        .and_then(|range| lit.token().subspan(range))
        .unwrap_or_else(|| lit.span())
}

/// Maps `range`, in bytes of a string literal's value, to bytes of its source text (`"..."`
/// or `r#"..."#`). `None` for an empty range and where the two texts differ (escapes).
fn source_range(source: &str, value: &str, range: Range<usize>) -> Option<Range<usize>> {
    if range.is_empty() || range.end > value.len() {
        return None;
    }
    let start = source.find('"')? + 1;
    (source.get(start..start + value.len())? == value)
        .then(|| start + range.start..start + range.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_ok() {
        assert!(Errors::default().finish().is_ok());
    }

    #[test]
    fn keeps_every_error_in_order() {
        let mut errors = Errors::default();
        errors.at(Span::call_site(), "first");
        errors.at(Span::call_site(), "second");
        let messages: Vec<String> = match errors.finish() {
            Ok(()) => panic!("expected errors"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn value_ranges_map_to_source_ranges_unless_escapes_shift_them() {
        // (literal as written, its value, range in the value, range in the source)
        let table = [
            (r#""/a/<b>""#, "/a/<b>", 3..6, Some(4..7)),
            (r##"r#"/a/<b>"#"##, "/a/<b>", 3..6, Some(6..9)),
            (r#""/<x>""#, "/<x>", 0..4, Some(1..5)),
            (r#""/\u{e9}/<b""#, "/é/<b", 4..6, None),
            (r#""/a""#, "/a", 1..1, None),
            (r#""/a""#, "/a", 1..3, None),
        ];
        for (source, value, range, expected) in table {
            assert_eq!(source_range(source, value, range), expected, "{source}");
        }
    }
}
