use pesto::prelude::*;

/// Lists the recipes.
#[route("/recipes", GET)]
async fn recipe_index(_req: &mut Request) -> Response {
    Response::text("index")
}

#[route("/recipes/<category:unicode>/<id:int>", GET)]
async fn show_recipe(_req: &mut Request, category: String, id: u32) -> String {
    format!("{id} {category}")
}

// Parameters may come in any order; `url()` follows the pattern.
#[route("/documents/<dir:path>/<name>.pdf", GET)]
pub async fn document(_req: &mut Request, name: String, dir: String) -> String {
    format!("{dir}/{name}")
}

fn main() {
    let category = String::from("fish");
    assert_eq!(recipe_index.url(), "/recipes");
    assert_eq!(show_recipe.url("fish", 7), "/recipes/fish/7");
    assert_eq!(show_recipe.url(&category, &7), "/recipes/fish/7");
    assert_eq!(show_recipe.url(category.clone(), 7u32), "/recipes/fish/7");
    assert_eq!(document.url("a/b", "menu"), "/documents/a/b/menu.pdf");

    // The unit struct is an ordinary value.
    let handler: show_recipe = show_recipe;
    assert_eq!(format!("{handler:?}"), "show_recipe");
}
