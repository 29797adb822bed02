use pesto::prelude::*;

#[route("/recipes/<category>", GET)]
async fn show(_req: &mut Request, category: String, page: u32) -> String {
    format!("{category} {page}")
}

fn main() {}
