use pesto::prelude::*;
use pesto::TestApp;

mod handlers {
    use pesto::prelude::*;

    #[route("/login", GET, POST)]
    pub async fn login(_req: &mut Request) -> &'static str {
        "login"
    }
}

#[route("/", GET)]
async fn index(_req: &mut Request) -> &'static str {
    "index"
}

// Same pattern key, different methods: no conflict.
#[route("/items/<id:int>", GET)]
async fn show_item(_req: &mut Request, id: u32) -> String {
    format!("{id}")
}

#[route("/items/<item:int>", DELETE)]
async fn delete_item(_req: &mut Request, item: u32) -> String {
    format!("deleted {item}")
}

// Same method, different converters: no conflict either.
#[route("/items/<name>", GET)]
async fn item_by_name(_req: &mut Request, name: String) -> String {
    name
}

dispatcher_app!(App = [index, handlers::login, show_item, delete_item, item_by_name]);

mod public {
    use pesto::prelude::*;

    #[route("/", GET)]
    async fn home(_req: &mut Request) -> &'static str {
        "home"
    }

    dispatcher_app!(pub Site = [home]);
}

fn main() {
    let dispatcher: pesto::Dispatcher<()> = App::new();
    let app = TestApp::new(dispatcher);
    assert_eq!(app.get("/").send().body_text(), "index");
    assert_eq!(app.post("/login").send().body_text(), "login");
    assert_eq!(app.get("/items/3").send().body_text(), "3");
    assert_eq!(app.delete("/items/3").send().body_text(), "deleted 3");
    assert_eq!(app.get("/items/pear").send().body_text(), "pear");

    // A `pub` app may list private handlers; `From` builds it too.
    let site = TestApp::new(pesto::Dispatcher::from(public::Site));
    assert_eq!(site.get("/").send().body_text(), "home");
    let _ = public::Site::new();
}
