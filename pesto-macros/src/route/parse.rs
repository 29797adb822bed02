//! Parsing: the attribute's arguments and the `fn` item, checked only for shape.

use proc_macro2::{Delimiter, Group, Ident};
use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, LitStr, Signature, Token, Visibility};

/// The attribute's arguments: `#[route(PATTERN, METHOD, ...[, cross_origin])]`.
pub(super) struct RouteArgs {
    pub(super) pattern: LitStr,
    pub(super) methods: Vec<Ident>,
    /// `cross_origin`: the route accepts unsafe requests from other sites (a webhook).
    pub(super) cross_origin: Option<Ident>,
}

/// The option that exempts a route from the cross-origin protection.
const CROSS_ORIGIN: &str = "cross_origin";

impl Parse for RouteArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected the route pattern as a string literal, e.g. `#[route(\"/recipes\", GET)]`",
            ));
        }
        let pattern = input.parse()?;
        let mut methods = Vec::new();
        let mut cross_origin = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if !input.peek(syn::Ident) {
                return Err(input
                    .error("expected an HTTP method such as `GET` or `POST`, or `cross_origin`"));
            }
            let ident: Ident = input.parse()?;
            if ident == CROSS_ORIGIN {
                if cross_origin.is_some() {
                    return Err(syn::Error::new(
                        ident.span(),
                        "`cross_origin` is given more than once",
                    ));
                }
                cross_origin = Some(ident);
            } else {
                methods.push(ident);
            }
        }
        Ok(RouteArgs {
            pattern,
            methods,
            cross_origin,
        })
    }
}

/// An `fn` item whose body is kept as raw tokens: it is re-emitted untouched, and leaving
/// it unparsed lets rustc report any problem inside it in its own words.
pub(super) struct Handler {
    pub(super) attrs: Vec<Attribute>,
    pub(super) vis: Visibility,
    pub(super) sig: Signature,
    pub(super) body: Group,
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

/// The handler's attributes, sorted by where the expansion puts them.
pub(super) struct SplitAttrs<'a> {
    /// `#[cfg]`s: they guard every generated item.
    pub(super) cfgs: Vec<&'a Attribute>,
    /// Doc comments: they describe the struct.
    pub(super) docs: Vec<&'a Attribute>,
    /// Everything else (`#[allow]`, `#[cfg_attr]`, ...): it stays on the function.
    pub(super) rest: Vec<&'a Attribute>,
}

impl Handler {
    pub(super) fn split_attrs(&self) -> SplitAttrs<'_> {
        let mut split = SplitAttrs {
            cfgs: Vec::new(),
            docs: Vec::new(),
            rest: Vec::new(),
        };
        for attr in &self.attrs {
            if attr.path().is_ident("cfg") {
                split.cfgs.push(attr);
            } else if attr.path().is_ident("doc") {
                split.docs.push(attr);
            } else {
                split.rest.push(attr);
            }
        }
        split
    }
}
