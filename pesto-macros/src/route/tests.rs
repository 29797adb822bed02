//! Expansion and diagnostics of `#[route]`, on token strings.

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

// A valid route becomes a struct, the handler, a `url` builder and a `Route` impl.

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

// Every mistake is reported in the same compile.

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
    // `x` is not a pattern variable, so it is a request guard: the type system checks it.
    assert_eq!(
        errs,
        [
            "`#[route]` handler parameters must be plain names such as `id: u32` (a pattern \
             variable) or `form: Form<Login>` (a request guard)",
            "route pattern variable `b` has no handler parameter named `b`; add a parameter \
             such as `b: String`",
        ]
    );
}

#[test]
fn parameters_that_are_not_pattern_variables_are_guards() {
    let out = expand_str(
        "\"/a/<b>\", GET",
        "async fn f(req: &mut Request, form: Form<X>, b: u32, state: State<Y>) -> String { todo!() }",
    );
    for expected in [
        "< Form < X > as :: pesto :: FromRequest < Self :: Session >> :: from_request (__pesto_req)",
        "< State < Y > as :: pesto :: FromRequest < Self :: Session >> :: check (__pesto_app)",
        "Self :: handler (__pesto_req , form , b , state)",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in\n{out}");
    }
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
        ["expected an HTTP method such as `GET` or `POST`, or `cross_origin`"]
    );
}

// A rejected route still defines `NAME`, so its uses add no errors of their own.

#[test]
fn fallback_keeps_the_struct_and_function() {
    let out = expand_str("\"/a\", FETCH", "/// Docs.\nfn f(req: &mut Request) {}");
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("struct f ;"), "{out}");
    assert!(out.contains("fn handler (req : & mut Request)"), "{out}");
    assert!(out.contains("methods : & []"), "{out}");
}
