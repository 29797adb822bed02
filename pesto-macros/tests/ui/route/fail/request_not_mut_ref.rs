use pesto::prelude::*;

#[route("/recipes", GET)]
async fn index(_req: &Request) -> &'static str {
    "index"
}

fn main() {}
