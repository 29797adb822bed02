//! `dispatcher_app!(VIS NAME = [handler, path::to::handler, ...])`.
//!
//! Routes are only known to the type system (their `INFO` consts live in other
//! expansions), so conflicts between two listed handlers are checked by `const`
//! assertions rather than by this macro.

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
}

impl Parse for AppDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let vis = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        let content;
        let bracket = bracketed!(content in input);
        let handlers = content.parse_terminated(Path::parse_mod_style, Token![,])?;
        input.parse::<Option<Token![;]>>()?;
        Ok(AppDef {
            vis,
            name,
            bracket,
            handlers,
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
            quote! {
                #[allow(private_interfaces, private_bounds)]
                impl ::core::convert::From<#name>
                    for ::pesto::Dispatcher<<#first as ::pesto::__private::Route>::Session>
                {
                    fn from(_: #name) -> Self {
                        ::pesto::Dispatcher::from_routes(::std::vec![#(#entries),*])
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
        let collisions = collision_checks(handlers);
        quote! {
            #[doc = #struct_doc]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
            #vis struct #name;
            #constructor
            #(#collisions)*
        }
    }
}

/// One `const` assertion per pair, spanned at the later handler so the compile error
/// points at the entry to remove or change.
fn collision_checks<'a>(handlers: &'a [&'a Path]) -> impl Iterator<Item = TokenStream> + 'a {
    handlers.iter().enumerate().flat_map(move |(j, later)| {
        handlers[..j].iter().map(move |earlier| {
            let message = format!(
                "duplicate route: `{}` and `{}` have the same method and pattern in \
                 `dispatcher_app!`",
                path_text(earlier),
                path_text(later)
            );
            quote_spanned! {later.span()=>
                const _: () = ::core::assert!(
                    !::pesto::__private::routes_collide(
                        &<#earlier as ::pesto::__private::Route>::INFO,
                        &<#later as ::pesto::__private::Route>::INFO,
                    ),
                    #message
                );
            }
        })
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
    fn expands_struct_constructor_and_pairwise_checks() {
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
        assert_eq!(out.matches("const _ : ()").count(), 3, "{out}");
        assert!(out.contains("`a` and `handlers::b`"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
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
