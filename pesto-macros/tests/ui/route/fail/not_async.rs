use pesto::prelude::*;

#[route("/recipes", GET)]
fn index(_req: &mut Request) -> &'static str {
    "index"
}

// The fallback expansion keeps `index` usable: no further errors below.
dispatcher_app!(App = [index]);

fn main() {
    let _ = App::new();
}
