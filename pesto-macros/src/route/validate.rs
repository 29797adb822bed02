//! Validation: builds a [`RouteDef`] whose fields are known to agree with each other,
//! collecting every problem into one combined error on the way.

use proc_macro2::Ident;
use syn::{FnArg, LitStr, Pat, PatType, Signature, Type};

use super::parse::{Handler, RouteArgs};
use crate::diag::{self, Errors};
use crate::pattern::{self, Part};

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

const REQUEST_HINT: &str = "`&mut Request` (or `&mut Request<YourSession>`)";

/// A validated route: every field is known to be consistent with the others.
pub(super) struct RouteDef<'a> {
    pub(super) handler: &'a Handler,
    pub(super) pattern: &'a LitStr,
    pub(super) parts: Vec<Part>,
    pub(super) methods: Vec<String>,
    /// Whether the route accepts unsafe requests from other sites (`cross_origin`).
    pub(super) cross_origin: bool,
    /// `T` in the handler's first parameter `&mut T`.
    pub(super) request: &'a Type,
    /// In function order.
    pub(super) params: Vec<HandlerParam<'a>>,
}

/// A handler parameter after the request: a pattern variable, or else a request guard.
pub(super) struct HandlerParam<'a> {
    pub(super) arg: &'a PatType,
    pub(super) ident: &'a Ident,
    /// The name without a raw-identifier prefix, as written in patterns.
    pub(super) name: String,
}

impl<'a> RouteDef<'a> {
    pub(super) fn validate(args: &'a RouteArgs, handler: &'a Handler) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let parts = match pattern::parse(&args.pattern.value()) {
            Ok(parts) => Some(parts),
            Err(e) => {
                errors.at(diag::subspan(&args.pattern, e.range), e.message);
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
                cross_origin: args.cross_origin.is_some(),
                request,
                params,
            }),
            _ => unreachable!("every missing piece of a route records an error"),
        }
    }

    /// The parameters that are request guards (not pattern variables), in function order.
    pub(super) fn guards(&self) -> Vec<&HandlerParam<'_>> {
        let vars: Vec<&str> = pattern_vars(&self.parts).map(|v| v.name.as_str()).collect();
        self.params
            .iter()
            .filter(|p| !vars.contains(&p.name.as_str()))
            .collect()
    }

    /// The handler parameters in pattern order.
    pub(super) fn params_in_pattern_order(&self) -> Vec<&HandlerParam<'_>> {
        pattern_vars(&self.parts)
            .filter_map(|var| self.params.iter().find(|p| p.name == var.name))
            .collect()
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
pub(super) fn request_type<'a>(sig: &'a Signature, errors: &mut Errors) -> Option<&'a Type> {
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
                 implements `FromStr` (a pattern variable, such as `String` or `u32`) or \
                 `FromRequest` (a request guard)",
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
                "`#[route]` handler parameters must be plain names such as `id: u32` (a \
                 pattern variable) or `form: Form<Login>` (a request guard)",
            ),
        }
    }
    params
}

/// The name as written in patterns and messages: without an `r#` prefix.
pub(super) fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(plain) => plain.to_owned(),
        None => name,
    }
}

/// Every pattern variable needs a parameter of the same name.
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
    // Parameters not named like a variable are request guards, checked by the type system
    // (`FromRequest`, whose message says to check the name against the pattern).
}

fn pattern_vars(parts: &[Part]) -> impl Iterator<Item = &pattern::Param> {
    parts.iter().filter_map(|part| match part {
        Part::Param(param) => Some(param),
        Part::Literal(_) => None,
    })
}
