use pesto::prelude::*;
use std::rc::Rc;

async fn tick() {}

#[route("/recipes", GET)]
async fn index(_req: &mut Request) -> String {
    let shared = Rc::new(String::from("index"));
    tick().await;
    shared.to_string()
}

fn main() {}
