use pesto::prelude::*;

#[route("/items/<id:Int>", GET)]
async fn item(_req: &mut Request, id: u32) -> String {
    id.to_string()
}

fn main() {}
