//! Expansion of a validated [`RouteDef`], one small function per generated piece.
//!
//! Generated code names everything by absolute path (`::pesto::__private::...`,
//! `::core::...`) and prefixes its own identifiers with `__pesto_`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::ReturnType;

use super::parse::Handler;
use super::validate::{unraw, RouteDef};
use crate::pattern::{self, Conv, Part, TypePath};

impl RouteDef<'_> {
    /// The struct, its inherent impl and its `Route` impl.
    pub(super) fn expand(&self) -> TokenStream {
        let methods = self.methods.join(", ");
        let route_doc = format!(
            "Route handler for `{methods}` requests to `{}`.",
            self.pattern.value()
        );
        let struct_decl = self.handler.struct_decl(Some(route_doc));
        let inherent = self.inherent_impl_decl();
        let route = self.route_impl_decl();
        quote! {
            #struct_decl
            #inherent
            #route
        }
    }

    /// `impl NAME { fn handler(..); fn url(&self, ..) }`.
    fn inherent_impl_decl(&self) -> TokenStream {
        let cfgs = self.handler.split_attrs().cfgs;
        let ident = &self.handler.sig.ident;
        let handler_fn = self.handler.handler_fn_decl();
        let url_fn = self.url_fn_decl();
        quote! {
            #(#cfgs)*
            impl #ident {
                #handler_fn

                #url_fn
            }
        }
    }

    /// `fn url(&self, ..) -> ::pesto::Url`, taking the parameters in pattern order.
    fn url_fn_decl(&self) -> TokenStream {
        let vis = &self.handler.vis;
        let ordered = self.params_in_pattern_order();
        let url_params = ordered.iter().map(|p| {
            let (name, ty) = (p.ident, &p.arg.ty);
            quote!(#name: impl ::pesto::__private::UrlArg<#ty>)
        });
        let url_texts = ordered.iter().map(|p| {
            let (name, ty) = (p.ident, &p.arg.ty);
            quote!(::pesto::__private::UrlArg::<#ty>::to_url_text(&#name))
        });
        let url_doc = format!(
            "The URL of this route, `{}`, with the given parameters (in pattern order).",
            self.pattern.value()
        );
        quote! {
            #[doc = #url_doc]
            #[allow(dead_code)]
            #vis fn url(&self, #(#url_params),*) -> ::pesto::Url {
                ::pesto::Url::for_route(
                    &<Self as ::pesto::__private::Route>::INFO,
                    ::std::vec![#(#url_texts),*],
                )
            }
        }
    }

    /// `impl Route for NAME`.
    fn route_impl_decl(&self) -> TokenStream {
        let cfgs = self.handler.split_attrs().cfgs;
        let ident = &self.handler.sig.ident;
        let request = self.request;
        // Everything that mentions `Self::Session` is spanned at `T`, so that when `T` is
        // not a request, "`T: RequestType` is not satisfied" points at the user's type.
        // rustc reports it once per item, signature and projection, and only merges
        // errors with identical spans, hence whole items down to their braces.
        let session = quote_spanned!(request.span()=>
            type Session = <#request as ::pesto::__private::RequestType>::Session;
        );
        let call_body = self.call_body();
        let call_fn = quote_spanned!(request.span()=>
            fn call(
                __pesto_req: &mut ::pesto::Request<Self::Session>,
                __pesto_params: ::pesto::__private::Captures,
            ) -> ::pesto::__private::HandlerFuture<'_> {
                #call_body
            }
        );
        let info = self.info_expr();
        let check_fn = self.check_fn_decl();
        quote! {
            #(#cfgs)*
            impl ::pesto::__private::Route for #ident {
                #session
                const INFO: ::pesto::__private::RouteInfo = #info;
                #call_fn
                #check_fn
            }
        }
    }

    /// `fn check`: what the guards need that the app does not provide (none without guards).
    fn check_fn_decl(&self) -> Option<TokenStream> {
        let guards = self.guards();
        if guards.is_empty() {
            return None;
        }
        let checks = guards.iter().map(|g| {
            let ty = &g.arg.ty;
            quote_spanned!(ty.span()=>
                <#ty as ::pesto::FromRequest<Self::Session>>::check(__pesto_app)
            )
        });
        Some(quote! {
            fn check(
                __pesto_app: &::pesto::__private::Provided<'_>,
            ) -> ::std::vec::Vec<::std::string::String> {
                let __pesto_checks = [#(#checks),*];
                ::core::iter::Iterator::collect(::core::iter::Iterator::filter_map(
                    ::core::iter::IntoIterator::into_iter(__pesto_checks),
                    ::core::result::Result::err,
                ))
            }
        })
    }

    fn info_expr(&self) -> TokenStream {
        let name = unraw(&self.handler.sig.ident);
        let pattern = self.pattern.value();
        let key = pattern::key(&self.parts);
        let methods = &self.methods;
        let cross_origin = self.cross_origin;
        let parts = self.parts.iter().map(|part| self.part_expr(part));
        quote! {
            ::pesto::__private::RouteInfo {
                name: #name,
                pattern: #pattern,
                key: #key,
                methods: &[#(#methods),*],
                accepts_cross_origin: #cross_origin,
                parts: &[#(#parts),*],
            }
        }
    }

    fn part_expr(&self, part: &Part) -> TokenStream {
        match part {
            Part::Literal(text) => quote!(::pesto::__private::Part::Literal(#text)),
            Part::Param(param) => {
                let name = &param.name;
                let conv = self.conv_expr(&param.conv);
                quote!(::pesto::__private::Part::Param { name: #name, conv: #conv })
            }
        }
    }

    fn conv_expr(&self, conv: &Conv) -> TokenStream {
        match conv {
            Conv::Unicode => quote!(::pesto::__private::Conv::Unicode),
            Conv::Int => quote!(::pesto::__private::Conv::Int),
            Conv::Path => quote!(::pesto::__private::Conv::Path),
            Conv::Any(choices) => quote!(::pesto::__private::Conv::Any(&[#(#choices),*])),
            Conv::Custom(path) => {
                let name = path.to_string();
                // The type only exists as text inside the literal, so every error about it
                // ("cannot find type", "not a Converter") points at the pattern.
                let span = self.pattern.span();
                let ty = type_path_tokens(path, span);
                let matches = quote_spanned!(span=> <#ty as ::pesto::Converter>::matches);
                quote!(::pesto::__private::Conv::Custom { name: #name, matches: #matches })
            }
        }
    }

    /// Converts the captured texts (pattern order) and calls the handler (function order).
    fn call_body(&self) -> TokenStream {
        let sig = &self.handler.sig;
        let conversions =
            self.params_in_pattern_order()
                .into_iter()
                .enumerate()
                .map(|(index, p)| {
                    let (name, ty) = (p.ident, &p.arg.ty);
                    // Spanned at the type so a missing `FromStr` impl is reported there. The values are
                    // read from the path the route matched, without a copy (only a `String` parameter
                    // takes one).
                    let parse = quote_spanned!(ty.span()=>
                        ::pesto::__private::from_param::<#ty>(
                            __pesto_params.get(#index, ::pesto::Request::path_info(__pesto_req))
                        )
                    );
                    quote! {
                        let #name: #ty = match #parse {
                            ::core::option::Option::Some(__pesto_value) => __pesto_value,
                            ::core::option::Option::None => {
                                return ::pesto::__private::param_not_converted(__pesto_req);
                            }
                        };
                    }
                });
        // Spanned at the type so "not a request guard" is reported at the parameter.
        let guards = self.guards().into_iter().map(|g| {
            let (name, ty) = (g.ident, &g.arg.ty);
            let take = quote_spanned!(ty.span()=>
                <#ty as ::pesto::FromRequest<Self::Session>>::from_request(__pesto_req)
            );
            quote! {
                let #name: #ty = match #take.await {
                    ::core::result::Result::Ok(__pesto_value) => __pesto_value,
                    ::core::result::Result::Err(__pesto_rejection) => {
                        return ::pesto::IntoResponse::into_response(__pesto_rejection);
                    }
                };
            }
        });
        let args = self.params.iter().map(|p| p.ident);
        let output_span = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => sig.ident.span(),
        };
        let respond = quote_spanned!(output_span=>
            ::pesto::IntoResponse::into_response(__pesto_output)
        );
        // Spanned at the handler's name so "future cannot be sent between threads safely"
        // names the handler rather than the attribute.
        quote_spanned! {sig.ident.span()=>
            ::std::boxed::Box::pin(async move {
                #(#conversions)*
                #(#guards)*
                let __pesto_output = Self::handler(__pesto_req, #(#args),*).await;
                #respond
            })
        }
    }
}

impl Handler {
    /// The original function, renamed `handler`.
    pub(super) fn handler_fn_decl(&self) -> TokenStream {
        let mut sig = self.sig.clone();
        sig.ident = Ident::new("handler", self.sig.ident.span());
        let attrs = self.split_attrs().rest;
        let (vis, body) = (&self.vis, &self.body);
        let doc = format!(
            "The body of the `{}` handler, as written under `#[route]`.",
            self.sig.ident
        );
        quote! {
            #[doc = #doc]
            #(#attrs)*
            #vis #sig #body
        }
    }

    /// `VIS struct NAME;` carrying the user's docs plus `extra_doc`.
    pub(super) fn struct_decl(&self, extra_doc: Option<String>) -> TokenStream {
        let attrs = self.split_attrs();
        let (cfgs, docs) = (&attrs.cfgs, &attrs.docs);
        let (vis, ident) = (&self.vis, &self.sig.ident);
        let extra_doc = extra_doc.map(|doc| {
            let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
            quote!(#separator #[doc = #doc])
        });
        quote! {
            #(#cfgs)*
            #(#docs)*
            #extra_doc
            #[allow(non_camel_case_types)]
            #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
            #vis struct #ident;
        }
    }
}

/// The converter type path as tokens located at `span`.
fn type_path_tokens(path: &TypePath, span: Span) -> TokenStream {
    let mut tokens = TokenStream::new();
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 || path.leading_colon {
            tokens.extend(quote_spanned!(span=> ::));
        }
        let ident = match segment.strip_prefix("r#") {
            Some(raw) => Ident::new_raw(raw, span),
            None => Ident::new(segment, span),
        };
        ident.to_tokens(&mut tokens);
    }
    tokens
}
