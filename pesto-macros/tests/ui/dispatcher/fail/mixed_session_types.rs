use pesto::prelude::*;

#[derive(Default)]
struct MySession;

#[route("/", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

#[route("/account", GET)]
async fn account(_req: &mut Request<MySession>) -> &'static str {
    "account"
}

dispatcher_app!(App = [index, account]);

fn main() {}
