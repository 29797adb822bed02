use pesto::prelude::*;

#[route("/recipes", GET)]
async fn index<T: Default>(_req: &mut Request) -> &'static str {
    "index"
}

fn main() {}
