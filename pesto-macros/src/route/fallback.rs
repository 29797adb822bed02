//! The expansion when validation failed: the errors plus enough of the normal output
//! (thiserror's `fallback.rs`) that uses of `NAME` elsewhere, `dispatcher_app!` included,
//! do not add errors of their own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::Handler;
use super::validate::{request_type, unraw};
use crate::diag::Errors;

/// The compile errors, the struct, (for IDEs and to surface errors in the body) the
/// original function, and a stub `Route` impl that never collides with another route.
pub(super) fn expand(handler: &Handler, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let struct_decl = handler.struct_decl(None);
    let ident = &handler.sig.ident;
    let cfgs = handler.split_attrs().cfgs;
    // A variadic `fn` would only earn a second error from rustc.
    let inherent = handler.sig.variadic.is_none().then(|| {
        let handler_fn = handler.handler_fn_decl();
        quote! {
            #(#cfgs)*
            #[allow(dead_code)]
            impl #ident {
                #handler_fn
            }
        }
    });
    let session = match request_type(&handler.sig, &mut Errors::default()) {
        Some(request) => {
            quote_spanned!(request.span()=> <#request as ::pesto::__private::RequestType>::Session)
        }
        None => quote!(()),
    };
    let name = unraw(ident);
    quote! {
        #error
        #struct_decl
        #inherent
        #(#cfgs)*
        impl ::pesto::__private::Route for #ident {
            type Session = #session;
            // No methods: never collides with another route.
            const INFO: ::pesto::__private::RouteInfo = ::pesto::__private::RouteInfo {
                name: #name,
                pattern: "",
                key: "",
                methods: &[],
                accepts_cross_origin: false,
                parts: &[],
            };
            fn call(
                _: &mut ::pesto::Request<Self::Session>,
                _: ::pesto::__private::Captures,
            ) -> ::pesto::__private::HandlerFuture<'_> {
                ::core::unreachable!()
            }
        }
    }
}
