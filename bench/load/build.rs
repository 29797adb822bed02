//! Generates the 1,000-route pesto app of scenario E (`/section{i}/items/<id:int>`, i < 1000)
//! with the public `#[route]` / `dispatcher_app!` API, as an app of that size would be written.

use std::fmt::Write as _;

/// How many routes the scenario E app has (the reference apps use the same number).
const ROUTES: usize = 1000;

fn main() {
    let mut code = String::new();
    for i in 0..ROUTES {
        writeln!(
            code,
            "#[route(\"/section{i}/items/<id:int>\", GET)]\n\
             async fn item{i}(_req: &mut Request, id: u32) -> Response {{\n    \
                 Response::text(crate::pages::item_text({i}, id))\n}}"
        )
        .expect("write to a String");
    }
    let names: Vec<String> = (0..ROUTES).map(|i| format!("item{i}")).collect();
    writeln!(code, "dispatcher_app!(Routes = [{}]);", names.join(", ")).expect("write");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("routes1000.rs"), code).expect("write routes1000.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
