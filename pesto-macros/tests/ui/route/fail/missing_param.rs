use pesto::prelude::*;

#[route("/recipes/<category>/<id:int>", GET)]
async fn show(_req: &mut Request, category: String) -> String {
    category
}

fn main() {}
