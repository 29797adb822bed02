use pesto::prelude::*;

struct RecipeId;

#[route("/recipes/<id:int>", GET)]
async fn show(_req: &mut Request, id: RecipeId) -> &'static str {
    let _ = id;
    "recipe"
}

fn main() {}
