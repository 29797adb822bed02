//! `#[route(PATTERN, METHOD, ...)]`, one phase per file: [`parse`] the attribute and the
//! `fn` → [`validate`] into a [`RouteDef`](validate::RouteDef), collecting every problem →
//! [`expand`] it; on error, [`fallback`] still emits the user's item plus stubs.
//!
//! The handler `fn NAME` becomes a unit struct `NAME` carrying the original function as
//! `NAME::handler`, a typed `NAME.url(...)` builder and an implementation of
//! `pesto::__private::Route`, so `dispatcher_app!` can list handlers by name.

use proc_macro2::TokenStream;

mod expand;
mod fallback;
mod parse;
mod validate;

use parse::{Handler, RouteArgs};
use validate::RouteDef;

/// Entry point: always returns tokens that at least define the struct `NAME`, so later
/// uses of the handler do not add errors of their own.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let handler: Handler = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(&item, "`#[route]` can only be applied to an `async fn`")
    })?;
    let expanded = syn::parse2::<RouteArgs>(attr)
        .and_then(|args| RouteDef::validate(&args, &handler).map(|def| def.expand()));
    Ok(expanded.unwrap_or_else(|error| fallback::expand(&handler, error)))
}

#[cfg(test)]
mod tests;
