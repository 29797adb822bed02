use pesto::prelude::*;

#[route("/s/<slug:Slug>", GET)]
async fn show(_req: &mut Request, slug: String) -> String {
    slug
}

fn main() {}
