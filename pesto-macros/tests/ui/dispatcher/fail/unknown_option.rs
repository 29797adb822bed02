use pesto::prelude::*;

#[route("/", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "home"
}

dispatcher_app!(App = [index], catch_all = index);

fn main() {}
