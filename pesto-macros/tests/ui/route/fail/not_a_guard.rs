use pesto::prelude::*;

struct Db;

// `Db` is neither a pattern variable nor a request guard (it would be `State<Db>`).
#[route("/", GET)]
async fn index(_req: &mut Request, db: Db) -> &'static str {
    let _ = db;
    "home"
}

fn main() {}
