use pesto::prelude::*;

// A String error would be shown to the visitor as a 200 page: refused.
#[route("/", GET)]
async fn index(_req: &mut Request) -> Result<String, String> {
    Err("database password rejected".to_owned())
}

fn main() {}
