use pesto::prelude::*;

#[route("/recipes/<a:int>", GET)]
async fn first(_req: &mut Request, a: u32) -> String {
    format!("{a}")
}

#[route("/recipes/<b:int>", POST, GET)]
async fn second(_req: &mut Request, b: u32) -> String {
    format!("{b}")
}

dispatcher_app!(App = [first, second]);

fn main() {}
