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

// Only the method they share matters: `POST /about` is free, `GET /about` is not.
#[route("/about", POST, GET)]
async fn about_form(_req: &mut Request) -> &'static str {
    "about"
}

#[route("/about", POST)]
async fn about_post(_req: &mut Request) -> &'static str {
    "about"
}

// Each duplicate is reported once, against the first handler it collides with.
dispatcher_app!(App = [pages::home, pages::about, index, about_form, about_post]);

fn main() {}
