//! `dispatcher_app!(VIS NAME = [handler, path::to::handler, ...], fallback = path::to::handler)`,
//! the `fallback` optional.
//!
//! Routes are only known to the type system (their `INFO` consts live in other
//! expansions), so duplicates between two listed handlers are found by const evaluation
//! and reported through a trait bound: see [`unique_routes_check`].

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{bracketed, Ident, Path, Token, Visibility};

use crate::diag::Errors;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let app: AppDef = syn::parse2(input)?;
    let (handlers, errors) = app.validate();
    let tokens = app.expand(&handlers);
    Ok(match errors.finish() {
        Ok(()) => tokens,
        // Still define the app so uses of `NAME::new()` do not fail a second time.
        Err(e) => {
            let e = e.into_compile_error();
            quote!(#e #tokens)
        }
    })
}

/// The macro input, as written.
struct AppDef {
    vis: Visibility,
    name: Ident,
    bracket: syn::token::Bracket,
    handlers: Punctuated<Path, Token![,]>,
    /// `fallback = path`: the `async fn(&mut Request<S>, Unmatched)` for unmatched requests.
    fallback: Option<Path>,
}

impl Parse for AppDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let vis = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        let content;
        let bracket = bracketed!(content in input);
        let handlers = content.parse_terminated(Path::parse_mod_style, Token![,])?;
        let mut fallback = None;
        while input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let option: Ident = input.parse()?;
            if option != "fallback" {
                return Err(syn::Error::new(
                    option.span(),
                    format!("unknown `dispatcher_app!` option `{option}`; expected `fallback = handler`"),
                ));
            }
            if fallback.is_some() {
                return Err(syn::Error::new(option.span(), "`fallback` is given twice"));
            }
            input.parse::<Token![=]>()?;
            fallback = Some(Path::parse_mod_style(input)?);
        }
        input.parse::<Option<Token![;]>>()?;
        Ok(AppDef {
            vis,
            name,
            bracket,
            handlers,
            fallback,
        })
    }
}

impl AppDef {
    /// The handlers to expand (each listed once) and the problems found.
    fn validate(&self) -> (Vec<&Path>, Errors) {
        let mut errors = Errors::default();
        if self.handlers.is_empty() {
            errors.at(
                self.bracket.span.join(),
                "`dispatcher_app!` needs at least one handler, e.g. `App = [index]`",
            );
        }
        let mut unique: Vec<(&Path, String)> = Vec::new();
        for path in &self.handlers {
            let text = path_text(path);
            if unique.iter().any(|(_, seen)| *seen == text) {
                errors.spanned(
                    path,
                    format!("handler `{text}` is listed twice in `dispatcher_app!`"),
                );
            } else {
                unique.push((path, text));
            }
        }
        (unique.into_iter().map(|(path, _)| path).collect(), errors)
    }

    fn expand(&self, handlers: &[&Path]) -> TokenStream {
        let (vis, name) = (&self.vis, &self.name);
        let struct_doc = format!(
            "The `{name}` application: dispatches requests to the handlers listed in \
             `dispatcher_app!`. Build its dispatcher with [`{name}::new`]."
        );
        // `new` must not name a handler in its signature: a `pub` app may list private
        // handlers, and callers outside their module would get "type `x` is private".
        // The session type is pinned by the only `From<NAME>` impl instead, which the
        // compiler uses to infer `S` at every call.
        let constructor = handlers.first().map(|first| {
            let entries = handlers.iter().map(
                |path| quote_spanned!(path.span()=> ::pesto::__private::RouteEntry::of::<#path>()),
            );
            // Spanned at the fallback's path, so a wrong signature is reported there.
            let fallback = self.fallback.as_ref().map(|path| {
                quote_spanned! {path.span()=>
                    .fallback(|__pesto_req, __pesto_why| {
                        ::std::boxed::Box::pin(async move {
                            ::pesto::IntoResponse::into_response(#path(__pesto_req, __pesto_why).await)
                        })
                    })
                }
            });
            quote! {
                #[allow(private_interfaces, private_bounds)]
                impl ::core::convert::From<#name>
                    for ::pesto::Dispatcher<<#first as ::pesto::__private::Route>::Session>
                {
                    fn from(_: #name) -> Self {
                        ::pesto::Dispatcher::from_routes(::std::vec![#(#entries),*])
                            #fallback
                    }
                }

                impl #name {
                    /// Builds the dispatcher for the routes listed in `dispatcher_app!`; `S`
                    /// is the session type they share.
                    #[allow(clippy::new_ret_no_self)]
                    #vis fn new<S>() -> ::pesto::Dispatcher<S>
                    where
                        ::pesto::Dispatcher<S>: ::core::convert::From<Self>,
                    {
                        ::core::convert::From::from(#name)
                    }
                }
            }
        });
        let unique_routes = unique_routes_check(handlers);
        quote! {
            #[doc = #struct_doc]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
            #vis struct #name;
            #constructor
            #unique_routes
        }
    }
}

/// Makes two listed handlers answering the same method and pattern a compile error that
/// names both, points at the later one and, through rustc's `help:`, at the declaration
/// of the earlier one.
///
/// Each handler after the first gets one bound, spanned at its entry in the list:
///
/// ```text
/// <__PestoListed<{ __pesto_earlier_twin(j) }> as __PestoHandler>::Handler: __PestoDistinctFrom<handler_j>
/// ```
///
/// `__pesto_earlier_twin(j)` is the index of the first earlier handler that collides with
/// handler `j` (`routes_collide`), or `usize::MAX`, which selects `__PestoNoTwin`: the only
/// type implementing `__PestoDistinctFrom`. A collision thus leaves `earlier:
/// __PestoDistinctFrom<later>` unsatisfied, and `#[diagnostic::on_unimplemented]` turns
/// that into the message. (A trivially false bound is an error on stable, which adds a
/// line pointing at rust-lang/rust#48214.)
///
/// Cost: one small `fn` and one impl per handler rather than one `const` assertion per
/// pair; the const evaluation still compares each handler with every earlier one (`n²/2`
/// `routes_collide` calls, each usually a key length check). With 300 handlers `cargo
/// check` of the list went from about 9 s (pairwise assertions) to about 1 s, and with
/// 1000 the check is lost in the cost of the handlers themselves.
fn unique_routes_check(handlers: &[&Path]) -> Option<TokenStream> {
    let (_, earlier) = handlers.split_last()?;
    if earlier.is_empty() {
        return None;
    }
    let indices = 0..earlier.len();
    // One `fn` per bound: a single `fn` with all of them makes the trait solver
    // consider every bound when proving each one.
    let checks = handlers.iter().enumerate().skip(1).map(|(j, later)| {
        let bound = quote_spanned! {later.span()=>
            <__PestoListed<{ __pesto_earlier_twin(#j) }> as __PestoHandler>::Handler:
                __PestoDistinctFrom<#later>
        };
        quote! {
            #[allow(dead_code)]
            fn __pesto_unique_route() where #bound {}
        }
    });
    Some(quote! {
        const _: () = {
            struct __PestoNoTwin;
            struct __PestoListed<const I: ::core::primitive::usize>;
            trait __PestoHandler {
                type Handler;
            }
            #(impl __PestoHandler for __PestoListed<#indices> { type Handler = #earlier; })*
            impl __PestoHandler for __PestoListed<{ ::core::primitive::usize::MAX }> {
                type Handler = __PestoNoTwin;
            }

            #[diagnostic::on_unimplemented(
                message = "duplicate route: `{Later}` answers the same method and pattern as `{Self}`",
                label = "answers the same requests as `{Self}`, listed earlier",
                note = "change the method or the pattern in the `#[route]` of `{Self}` or of \
                        `{Later}`, or list only one of them"
            )]
            trait __PestoDistinctFrom<Later> {}
            #[diagnostic::do_not_recommend]
            impl<Later> __PestoDistinctFrom<Later> for __PestoNoTwin {}

            const __PESTO_ROUTES: &[&::pesto::__private::RouteInfo] =
                &[#(&<#handlers as ::pesto::__private::Route>::INFO),*];

            const fn __pesto_earlier_twin(later: ::core::primitive::usize) -> ::core::primitive::usize {
                let mut i = 0;
                while i < later {
                    if ::pesto::__private::routes_collide(__PESTO_ROUTES[i], __PESTO_ROUTES[later]) {
                        return i;
                    }
                    i += 1;
                }
                ::core::primitive::usize::MAX
            }

            #(const _: () = { #checks };)*
        };
    })
}

/// A path as written, without the spaces `to_string` puts around `::`.
fn path_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(input: &str) -> String {
        let input: TokenStream = input.parse().expect("tokens");
        match expand(input) {
            Ok(tokens) => tokens.to_string(),
            Err(e) => panic!("hard error: {e}"),
        }
    }

    #[test]
    fn expands_struct_constructor_and_one_uniqueness_bound_per_later_handler() {
        let out = expand_str("pub App = [a, handlers::b, c,]");
        assert!(out.contains("pub struct App ;"), "{out}");
        assert!(
            out.contains(
                "for :: pesto :: Dispatcher << a as :: pesto :: __private :: Route > :: Session >"
            ),
            "{out}"
        );
        assert!(
            out.contains("pub fn new < S > () -> :: pesto :: Dispatcher < S >"),
            "{out}"
        );
        assert!(
            out.contains(":: pesto :: __private :: RouteEntry :: of :: < handlers :: b > ()"),
            "{out}"
        );
        for expected in [
            "impl __PestoHandler for __PestoListed < 0usize > { type Handler = a ; }",
            "impl __PestoHandler for __PestoListed < 1usize > { type Handler = handlers :: b ; }",
            "< __PestoListed < { __pesto_earlier_twin (1usize) } > as __PestoHandler > :: Handler : \
             __PestoDistinctFrom < handlers :: b > { }",
            "< __PestoListed < { __pesto_earlier_twin (2usize) } > as __PestoHandler > :: Handler : \
             __PestoDistinctFrom < c > { }",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
        // The last handler is never an earlier twin, the first never a later one.
        assert!(!out.contains("type Handler = c"), "{out}");
        assert!(!out.contains("__PestoDistinctFrom < a >"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_single_handler_needs_no_uniqueness_check() {
        let out = expand_str("App = [a]");
        assert!(!out.contains("__PestoDistinctFrom"), "{out}");
    }

    #[test]
    fn rejects_duplicates_and_empty_lists() {
        let out = expand_str("App = [a, b, a]");
        assert!(
            out.contains("handler `a` is listed twice in `dispatcher_app!`"),
            "{out}"
        );
        assert_eq!(out.matches("RouteEntry :: of").count(), 2, "{out}");

        let out = expand_str("App = []");
        assert!(
            out.contains("`dispatcher_app!` needs at least one handler"),
            "{out}"
        );
        assert!(out.contains("struct App ;"), "{out}");
        assert!(!out.contains("fn new"), "{out}");
    }
}
