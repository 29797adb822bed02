use pesto::prelude::*;

#[route("/", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "home"
}

// A fallback also takes the reason: `why: pesto::Unmatched`.
async fn not_found(_req: &mut Request) -> &'static str {
    "nothing here"
}

dispatcher_app!(App = [index], fallback = not_found);

fn main() {}
