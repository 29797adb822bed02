use pesto::prelude::*;

#[route("/recipes", GET, FETCH)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

fn main() {}
