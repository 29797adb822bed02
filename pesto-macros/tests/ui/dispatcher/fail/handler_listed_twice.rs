use pesto::prelude::*;

#[route("/", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

dispatcher_app!(App = [index, index]);

fn main() {}
