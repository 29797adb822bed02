//! `#[route(PATTERN, METHOD, ...)]`: [`RouteArgs`] (parse) → [`RouteDef`] (validate) →
//! [`RouteDef::expand`].
//!
//! The handler `fn NAME` becomes a unit struct `NAME` carrying the original function as
//! `NAME::handler`, a typed `NAME.url(...)` builder and an implementation of
//! `pesto::__private::Route`, so `dispatcher_app!` can list handlers by name.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    braced, Attribute, FnArg, LitStr, Pat, PatType, ReturnType, Signature, Token, Type, Visibility,
};

use crate::diag::Errors;
use crate::pattern::{self, Conv, Part, TypePath};

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

const REQUEST_HINT: &str = "`&mut Request` (or `&mut Request<YourSession>`)";

/// Entry point: always returns tokens that at least define the struct `NAME`, so later
/// uses of the handler do not add errors of their own.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let handler: Handler = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(&item, "`#[route]` can only be applied to an `async fn`")
    })?;
    let expanded = syn::parse2::<RouteArgs>(attr)
        .and_then(|args| RouteDef::validate(&args, &handler).map(|def| def.expand()));
    Ok(expanded.unwrap_or_else(|error| fallback(&handler, error)))
}

/// The attribute's arguments, checked only for shape here.
struct RouteArgs {
    pattern: LitStr,
    methods: Vec<Ident>,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected the route pattern as a string literal, e.g. `#[route(\"/recipes\", GET)]`",
            ));
        }
        let pattern = input.parse()?;
        let mut methods = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if !input.peek(syn::Ident) {
                return Err(input.error("expected an HTTP method such as `GET` or `POST`"));
            }
            methods.push(input.parse()?);
        }
        Ok(RouteArgs { pattern, methods })
    }
}

/// An `fn` item whose body is kept as raw tokens: it is re-emitted untouched, and leaving
/// it unparsed lets rustc report any problem inside it in its own words.
struct Handler {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: Group,
}

impl Parse for Handler {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let mut body = Group::new(Delimiter::Brace, content.parse()?);
        body.set_span(brace.span.join());
        Ok(Handler {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl Handler {
    /// `#[cfg]`s guard every generated item, doc comments describe the struct and all
    /// other attributes (`#[allow]`, `#[cfg_attr]`, ...) stay on the function.
    fn split_attrs(&self) -> (Vec<&Attribute>, Vec<&Attribute>, Vec<&Attribute>) {
        let (mut cfgs, mut docs, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for attr in &self.attrs {
            if attr.path().is_ident("cfg") {
                cfgs.push(attr);
            } else if attr.path().is_ident("doc") {
                docs.push(attr);
            } else {
                rest.push(attr);
            }
        }
        (cfgs, docs, rest)
    }

    /// The original function, renamed `handler`.
    fn handler_fn(&self) -> TokenStream {
        let mut sig = self.sig.clone();
        sig.ident = Ident::new("handler", self.sig.ident.span());
        let (_, _, attrs) = self.split_attrs();
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
    fn struct_decl(&self, extra_doc: Option<String>) -> TokenStream {
        let (cfgs, docs, _) = self.split_attrs();
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

/// A handler parameter after the request, bound to a pattern variable.
struct HandlerParam<'a> {
    arg: &'a PatType,
    ident: &'a Ident,
    /// The name without a raw-identifier prefix, as written in patterns.
    name: String,
}

/// A validated route: every field is known to be consistent with the others.
struct RouteDef<'a> {
    handler: &'a Handler,
    pattern: &'a LitStr,
    parts: Vec<Part>,
    methods: Vec<String>,
    /// `T` in the handler's first parameter `&mut T`.
    request: &'a Type,
    /// In function order.
    params: Vec<HandlerParam<'a>>,
}

impl<'a> RouteDef<'a> {
    fn validate(args: &'a RouteArgs, handler: &'a Handler) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let parts = match pattern::parse(&args.pattern.value()) {
            Ok(parts) => Some(parts),
            Err(e) => {
                errors.spanned(&args.pattern, e.message);
                None
            }
        };
        let methods = check_methods(args, &mut errors);
        check_signature(&handler.sig, &mut errors);
        let request = request_type(&handler.sig, &mut errors);
        let params = handler_params(&handler.sig, &mut errors);
        if let Some(parts) = &parts {
            check_names(&args.pattern, parts, &params, &mut errors);
        }
        match (errors.finish(), parts, request) {
            (Err(e), _, _) => Err(e),
            (Ok(()), Some(parts), Some(request)) => Ok(RouteDef {
                handler,
                pattern: &args.pattern,
                parts,
                methods,
                request,
                params,
            }),
            _ => unreachable!("every missing piece of a route records an error"),
        }
    }
}

fn check_methods(args: &RouteArgs, errors: &mut Errors) -> Vec<String> {
    if args.methods.is_empty() {
        errors.spanned(
            &args.pattern,
            "`#[route]` needs at least one HTTP method after the pattern, e.g. \
             `#[route(\"/recipes\", GET)]`",
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for method in &args.methods {
        let name = method.to_string();
        let upper = name.to_ascii_uppercase();
        if !METHODS.contains(&name.as_str()) {
            if METHODS.contains(&upper.as_str()) {
                errors.spanned(
                    method,
                    format!("HTTP methods are written in upper case: `{upper}`, not `{name}`"),
                );
            } else {
                let expected = METHODS.map(|m| format!("`{m}`")).join(", ");
                errors.spanned(
                    method,
                    format!("unknown HTTP method `{name}`; expected one of {expected}"),
                );
            }
        } else if seen.contains(&name) {
            errors.spanned(
                method,
                format!("HTTP method `{name}` is listed more than once"),
            );
        } else {
            seen.push(name);
        }
    }
    seen
}

fn check_signature(sig: &Signature, errors: &mut Errors) {
    if sig.asyncness.is_none() {
        errors.spanned(sig.fn_token, "`#[route]` handlers must be `async fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, "`#[route]` handlers cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "`#[route]` handlers cannot have an `extern` ABI");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, "`#[route]` handlers cannot be generic");
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(where_clause, "`#[route]` handlers cannot be generic");
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "`#[route]` handlers cannot be variadic");
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            errors.spanned(
                receiver,
                "`#[route]` handlers cannot take `self`; write a free `async fn`",
            );
        }
    }
}

/// The typed (non-`self`) parameters; a stray `self` is reported by [`check_signature`].
fn typed_inputs(sig: &Signature) -> impl Iterator<Item = &PatType> {
    sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(arg) => Some(arg),
        FnArg::Receiver(_) => None,
    })
}

/// `T` of the first parameter `&mut T`; whether `T` really is a `Request` is left to the
/// type system (through `RequestType`), which also accepts aliases.
fn request_type<'a>(sig: &'a Signature, errors: &mut Errors) -> Option<&'a Type> {
    let Some(first) = typed_inputs(sig).next() else {
        errors.at(
            sig.paren_token.span.join(),
            "`#[route]` handlers need a first parameter `req: &mut Request` (or \
             `req: &mut Request<YourSession>`)",
        );
        return None;
    };
    match ungroup(&first.ty) {
        Type::Reference(reference) if reference.mutability.is_some() => Some(&reference.elem),
        other => {
            errors.spanned(
                other,
                format!("the first parameter of a `#[route]` handler must be {REQUEST_HINT}"),
            );
            None
        }
    }
}

/// Looks through the invisible groups `macro_rules!` wraps around `$ty` captures.
fn ungroup(mut ty: &Type) -> &Type {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    ty
}

fn handler_params<'a>(sig: &'a Signature, errors: &mut Errors) -> Vec<HandlerParam<'a>> {
    let mut params = Vec::new();
    for arg in typed_inputs(sig).skip(1) {
        if let Type::ImplTrait(ty) = ungroup(&arg.ty) {
            errors.spanned(
                ty,
                "`#[route]` handler parameters cannot be `impl Trait`; use a type that \
                 implements `FromStr`, such as `String` or `u32`",
            );
        }
        match &*arg.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                params.push(HandlerParam {
                    arg,
                    ident: &pat.ident,
                    name: unraw(&pat.ident),
                });
            }
            other => errors.spanned(
                other,
                "`#[route]` handler parameters must be plain names such as `id: u32`, \
                 matching the route pattern's variables",
            ),
        }
    }
    params
}

fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(plain) => plain.to_owned(),
        None => name,
    }
}

/// Every pattern variable needs a parameter of the same name and vice versa.
fn check_names(pattern: &LitStr, parts: &[Part], params: &[HandlerParam], errors: &mut Errors) {
    let vars: Vec<&str> = pattern_vars(parts).map(|p| p.name.as_str()).collect();
    for var in &vars {
        if !params.iter().any(|p| p.name == *var) {
            errors.spanned(
                pattern,
                format!(
                    "route pattern variable `{var}` has no handler parameter named `{var}`; \
                     add a parameter such as `{var}: String`"
                ),
            );
        }
    }
    for param in params {
        if !vars.contains(&param.name.as_str()) {
            errors.spanned(
                param.arg,
                format!(
                    "handler parameter `{}` does not appear in the route pattern `{}`",
                    param.name,
                    pattern.value()
                ),
            );
        }
    }
}

fn pattern_vars(parts: &[Part]) -> impl Iterator<Item = &pattern::Param> {
    parts.iter().filter_map(|part| match part {
        Part::Param(param) => Some(param),
        Part::Literal(_) => None,
    })
}

/// On any error: the compile errors, the struct, (for IDEs and to surface errors in the
/// body) the original function and a stub `Route` impl, so that uses of `NAME`
/// elsewhere, `dispatcher_app!` included, do not add errors of their own.
fn fallback(handler: &Handler, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let struct_decl = handler.struct_decl(None);
    let ident = &handler.sig.ident;
    let (cfgs, _, _) = handler.split_attrs();
    // A variadic `fn` would only earn a second error from rustc.
    let inherent = handler.sig.variadic.is_none().then(|| {
        let handler_fn = handler.handler_fn();
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
                parts: &[],
            };
            fn call(
                _: &mut ::pesto::Request<Self::Session>,
                _: ::std::vec::Vec<::std::string::String>,
            ) -> ::pesto::__private::HandlerFuture<'_> {
                ::core::unreachable!()
            }
        }
    }
}

impl RouteDef<'_> {
    fn expand(&self) -> TokenStream {
        let methods = self.methods.join(", ");
        let route_doc = format!(
            "Route handler for `{methods}` requests to `{}`.",
            self.pattern.value()
        );
        let struct_decl = self.handler.struct_decl(Some(route_doc));
        let inherent = self.inherent_impl();
        let route = self.route_impl();
        quote! {
            #struct_decl
            #inherent
            #route
        }
    }

    /// The handler parameters in pattern order.
    fn params_in_pattern_order(&self) -> Vec<&HandlerParam<'_>> {
        pattern_vars(&self.parts)
            .filter_map(|var| self.params.iter().find(|p| p.name == var.name))
            .collect()
    }

    /// `impl NAME { fn handler(..); fn url(&self, ..) }`.
    fn inherent_impl(&self) -> TokenStream {
        let (cfgs, _, _) = self.handler.split_attrs();
        let (vis, ident) = (&self.handler.vis, &self.handler.sig.ident);
        let handler_fn = self.handler.handler_fn();
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
            #(#cfgs)*
            impl #ident {
                #handler_fn

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
    }

    /// `impl Route for NAME`.
    fn route_impl(&self) -> TokenStream {
        let (cfgs, _, _) = self.handler.split_attrs();
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
                __pesto_params: ::std::vec::Vec<::std::string::String>,
            ) -> ::pesto::__private::HandlerFuture<'_> {
                #call_body
            }
        );
        let info = self.info_expr();
        quote! {
            #(#cfgs)*
            impl ::pesto::__private::Route for #ident {
                #session
                const INFO: ::pesto::__private::RouteInfo = #info;
                #call_fn
            }
        }
    }

    fn info_expr(&self) -> TokenStream {
        let name = unraw(&self.handler.sig.ident);
        let pattern = self.pattern.value();
        let key = pattern::key(&self.parts);
        let methods = &self.methods;
        let parts = self.parts.iter().map(|part| self.part_expr(part));
        quote! {
            ::pesto::__private::RouteInfo {
                name: #name,
                pattern: #pattern,
                key: #key,
                methods: &[#(#methods),*],
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
        let conversions = self.params_in_pattern_order().into_iter().map(|p| {
            let (name, ty) = (p.ident, &p.arg.ty);
            // Spanned at the type so a missing `FromStr` impl is reported there.
            let parse = quote_spanned!(ty.span()=>
                ::pesto::__private::from_param::<#ty>(
                    ::core::iter::Iterator::next(&mut __pesto_it)
                )
            );
            quote! {
                let #name: #ty = match #parse {
                    ::core::option::Option::Some(__pesto_value) => __pesto_value,
                    ::core::option::Option::None => return ::pesto::Response::not_found(),
                };
            }
        });
        let iter = (!self.params.is_empty()).then(
            || quote!(let mut __pesto_it = ::std::iter::IntoIterator::into_iter(__pesto_params);),
        );
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
                #iter
                #(#conversions)*
                let __pesto_output = Self::handler(__pesto_req, #(#args),*).await;
                #respond
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().expect("attr tokens");
        let item: TokenStream = item.parse().expect("item tokens");
        match expand(attr, item) {
            Ok(tokens) => tokens.to_string(),
            Err(e) => panic!("hard error: {e}"),
        }
    }

    /// The messages of the `compile_error!`s in an expansion.
    fn errors(attr: &str, item: &str) -> Vec<String> {
        let attr: TokenStream = attr.parse().expect("attr tokens");
        let item: TokenStream = item.parse().expect("item tokens");
        let handler: Handler = syn::parse2(item).expect("handler");
        match syn::parse2::<RouteArgs>(attr)
            .and_then(|args| RouteDef::validate(&args, &handler).map(|_| ()))
        {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    const OK_FN: &str = "async fn show(req: &mut Request, category: String, id: u32) -> String { \
                         format!(\"{id}\") }";

    #[test]
    fn expands_a_valid_route() {
        let out = expand_str("\"/r/<category>/<id:int>\", GET, POST", OK_FN);
        for expected in [
            "struct show ;",
            "impl show",
            "async fn handler (req : & mut Request , category : String , id : u32) -> String",
            "fn url (& self , category : impl :: pesto :: __private :: UrlArg < String > , id : \
             impl :: pesto :: __private :: UrlArg < u32 >) -> :: pesto :: Url",
            "type Session = < Request as :: pesto :: __private :: RequestType > :: Session",
            "key : \"/r/<:unicode>/<:int>\"",
            "methods : & [\"GET\" , \"POST\"]",
            "Self :: handler (__pesto_req , category , id) . await",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn url_params_follow_the_pattern_order() {
        let out = expand_str(
            "\"/<id:int>/<category>\", GET",
            "async fn show(req: &mut Request<S>, category: String, id: u32) -> String { todo!() }",
        );
        assert!(
            out.contains(
                "fn url (& self , id : impl :: pesto :: __private :: UrlArg < u32 > , category"
            ),
            "{out}"
        );
        assert!(
            out.contains("Self :: handler (__pesto_req , category , id)"),
            "{out}"
        );
        assert!(out.contains("< Request < S > as :: pesto :: __private :: RequestType >"));
    }

    #[test]
    fn custom_converter_names_the_type() {
        let out = expand_str(
            "\"/s/<slug:my::Slug>\", GET",
            "async fn s(req: &mut Request, slug: String) -> String { slug }",
        );
        assert!(
            out.contains(
                "Conv :: Custom { name : \"my::Slug\" , matches : < my :: Slug as :: pesto :: \
                 Converter > :: matches }"
            ),
            "{out}"
        );
    }

    #[test]
    fn collects_every_error() {
        let errs = errors(
            "\"/a/<b>\", FETCH, GET, GET, get",
            "fn f<T>(self, x: u32) -> String { todo!() }",
        );
        assert_eq!(
            errs,
            [
                "unknown HTTP method `FETCH`; expected one of `GET`, `HEAD`, `POST`, `PUT`, \
                 `DELETE`, `PATCH`, `OPTIONS`, `CONNECT`, `TRACE`",
                "HTTP method `GET` is listed more than once",
                "HTTP methods are written in upper case: `GET`, not `get`",
                "`#[route]` handlers must be `async fn`",
                "`#[route]` handlers cannot be generic",
                "`#[route]` handlers cannot take `self`; write a free `async fn`",
                "the first parameter of a `#[route]` handler must be `&mut Request` (or \
                 `&mut Request<YourSession>`)",
                "route pattern variable `b` has no handler parameter named `b`; add a parameter \
                 such as `b: String`",
            ]
        );
    }

    #[test]
    fn name_mismatches() {
        let errs = errors(
            "\"/a/<b>\", GET",
            "async fn f(req: &mut Request, x: u32, (y, z): (u8, u8)) -> String { todo!() }",
        );
        assert_eq!(
            errs,
            [
                "`#[route]` handler parameters must be plain names such as `id: u32`, matching \
                 the route pattern's variables",
                "route pattern variable `b` has no handler parameter named `b`; add a parameter \
                 such as `b: String`",
                "handler parameter `x` does not appear in the route pattern `/a/<b>`",
            ]
        );
    }

    #[test]
    fn raw_identifiers_match_pattern_names() {
        let errs = errors(
            "\"/a/<type>\", GET",
            "async fn f(req: &mut Request, r#type: String) -> String { todo!() }",
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn pattern_and_argument_errors() {
        assert_eq!(
            errors("\"/a/<id:int\", GET", "async fn f(req: &mut Request) {}"),
            ["unclosed `<` in route pattern: `<id:int`"]
        );
        assert_eq!(
            errors("\"/a\"", "async fn f(req: &mut Request) {}"),
            [
                "`#[route]` needs at least one HTTP method after the pattern, e.g. \
              `#[route(\"/recipes\", GET)]`"
            ]
        );
        assert_eq!(
            errors("\"/a\", GET", "async fn f() {}"),
            [
                "`#[route]` handlers need a first parameter `req: &mut Request` (or \
              `req: &mut Request<YourSession>`)"
            ]
        );
        assert_eq!(
            errors("GET", "async fn f() {}"),
            ["expected the route pattern as a string literal, e.g. `#[route(\"/recipes\", GET)]`"]
        );
        assert_eq!(
            errors("\"/a\", \"GET\"", "async fn f(req: &mut Request) {}"),
            ["expected an HTTP method such as `GET` or `POST`"]
        );
    }

    #[test]
    fn fallback_keeps_the_struct_and_function() {
        let out = expand_str("\"/a\", FETCH", "/// Docs.\nfn f(req: &mut Request) {}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct f ;"), "{out}");
        assert!(out.contains("fn handler (req : & mut Request)"), "{out}");
        assert!(out.contains("methods : & []"), "{out}");
    }

    #[test]
    fn docs_go_to_the_struct_and_other_attributes_to_the_handler() {
        let out = expand_str(
            "\"/a\", GET",
            "/// Docs.\n#[allow(unused_variables)]\nasync fn f(req: &mut Request) {}",
        );
        let struct_at = out.find("struct f").expect("struct");
        let docs_at = out.find("\" Docs.\"").expect("docs");
        let allow_at = out.find("allow (unused_variables)").expect("allow");
        assert!(docs_at < struct_at && allow_at > struct_at, "{out}");
    }
}
