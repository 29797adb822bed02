use pesto::prelude::*;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct MySession {
    visits: u32,
}

#[route("/contact-form", GET, POST, HEAD)]
pub async fn contact(req: &mut Request<MySession>) -> Response {
    let _ = &req.session;
    Response::text("contact")
}

fn main() {
    assert_eq!(contact.url(), "/contact-form");
}
