use pesto::prelude::*;

mod pages {
    use pesto::prelude::*;

    #[route("/", GET)]
    pub async fn home(_req: &mut Request) -> &'static str {
        "home"
    }

    #[route("/about", GET)]
    pub async fn about(_req: &mut Request) -> &'static str {
        "about"
    }
}

#[route("/", GET, HEAD)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

// Shares `GET /about` with `pages::about`.
#[route("/about", POST, GET)]
async fn about_form(_req: &mut Request) -> &'static str {
    "about"
}

// Shares `POST /about` with `about_form`, nothing with `pages::about`.
#[route("/about", POST)]
async fn about_post(_req: &mut Request) -> &'static str {
    "about"
}

// Each later handler is reported once, against the first earlier one it collides with.
dispatcher_app!(App = [pages::home, pages::about, index, about_form, about_post]);

fn main() {}
