use pesto::prelude::*;

#[route("recipes", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

fn main() {}
