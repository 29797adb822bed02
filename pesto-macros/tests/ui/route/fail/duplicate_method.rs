use pesto::prelude::*;

#[route("/contact", GET, POST, GET)]
async fn contact(_req: &mut Request) -> &'static str {
    "contact"
}

fn main() {}
