use pesto::prelude::*;

pub struct Slug;

impl pesto::Converter for Slug {
    fn matches(value: &str) -> bool {
        value.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    }
}

mod conv {
    pub struct Year;

    impl pesto::Converter for Year {
        fn matches(value: &str) -> bool {
            value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

#[route(
    "/s/<text>/<word:unicode>/<n:int>/<rest:path>/<kind:any('a', \"b\")>/<slug:Slug>/<year:conv::Year>",
    GET
)]
async fn everything(
    _req: &mut Request,
    text: String,
    word: String,
    n: i64,
    rest: String,
    kind: String,
    slug: String,
    year: u16,
) -> String {
    format!("{text} {word} {n} {rest} {kind} {slug} {year}")
}

// Keywords work as names through raw identifiers.
#[route("/t/<type>-<n:int>.txt", GET)]
async fn keyword(_req: &mut Request, r#type: String, n: u8) -> String {
    format!("{type} {n}")
}

fn main() {
    assert_eq!(
        everything.url("t", "w", -3, "x/y", "a", "my-slug", 2024),
        "/s/t/w/-3/x/y/a/my-slug/2024"
    );
    assert_eq!(keyword.url("plain", 1), "/t/plain-1.txt");
}
