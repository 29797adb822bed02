use pesto::prelude::*;

struct Recipe;

#[route("/recipes", GET)]
async fn index(_req: &mut Request) -> Recipe {
    Recipe
}

fn main() {}
