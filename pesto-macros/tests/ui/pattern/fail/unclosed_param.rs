use pesto::prelude::*;

#[route("/recipes/<id:int", GET)]
async fn show(_req: &mut Request, id: u32) -> String {
    format!("{id}")
}

fn main() {}
