use pesto::prelude::*;

#[route("/recipes", GET)]
async fn index(_req: &mut String) -> &'static str {
    "index"
}

fn main() {}
