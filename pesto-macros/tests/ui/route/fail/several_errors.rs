use pesto::prelude::*;

// Every problem is reported in one compile.
#[route("/recipes/<id:int>", GET, get)]
fn show<T>(_req: &Request, page: u32) -> String {
    format!("{page}")
}

fn main() {}
