use pesto::prelude::*;

#[route("/recipes", GET)]
async fn index() -> &'static str {
    "index"
}

fn main() {}
