// The handlers only need to exist: unused parameters are not the point here.
#![allow(unused_variables)]

use pesto::prelude::*;

// Each error quotes the bad fragment: on stable Rust the diagnostic can only underline
// the whole literal.

#[route("/recipes/b>c", GET)]
async fn stray_close(_req: &mut Request) {}

#[route("/<a><b:int>", GET)]
async fn adjacent(_req: &mut Request, a: String, b: u32) {}

#[route("/help/<page:any()>", GET)]
async fn empty_any(_req: &mut Request, page: String) {}

#[route("/help/<page:any(about)>", GET)]
async fn unquoted_any(_req: &mut Request, page: String) {}

#[route("/<:int>", GET)]
async fn nameless(_req: &mut Request) {}

#[route("/<1d>", GET)]
async fn bad_name(_req: &mut Request) {}

#[route("/s/<slug:my::>", GET)]
async fn bad_type_path(_req: &mut Request, slug: String) {}

#[route("", GET)]
async fn empty(_req: &mut Request) {}

// Raw strings and escapes are read by their value.
#[route(r#"/a/<id:intt>"#, GET)]
async fn raw(_req: &mut Request, id: u32) {}

#[route("/caf\u{e9}/<id", GET)]
async fn escaped(_req: &mut Request, id: u32) {}

// The handlers still exist, so using them adds no error.
dispatcher_app!(App = [stray_close, adjacent, empty_any, nameless, raw, escaped]);

fn main() {
    let _ = (bad_name, unquoted_any, bad_type_path, empty);
}
