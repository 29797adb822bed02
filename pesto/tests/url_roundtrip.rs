//! URLs round-trip, as a property test: for random parameter values, dispatching
//! `route.url(values)` reaches that route with equal values.

use pesto::prelude::*;
use pesto::TestApp;
use proptest::prelude::*;

#[route("/r/<text:unicode>/<n:int>", GET)]
async fn mixed(_req: &mut Request, text: String, n: i64) -> String {
    serde_json::json!(["mixed", text, n]).to_string()
}

#[route("/f/<name>.<ext:any('pdf', 'txt')>", GET)]
async fn file(_req: &mut Request, name: String, ext: String) -> String {
    serde_json::json!(["file", name, ext]).to_string()
}

#[route("/docs/<dir:path>/<page:int>", GET)]
async fn docs(_req: &mut Request, dir: String, page: u16) -> String {
    serde_json::json!(["docs", dir, page]).to_string()
}

dispatcher_app!(App = [mixed, file, docs]);

fn segment_text() -> impl Strategy<Value = String> {
    // Any non-empty Unicode text, including `/`, `%`, `?`, `#`, spaces and non-ASCII.
    proptest::string::string_regex("(.|[/%?#&+ ])+").expect("regex")
}

fn path_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::string::string_regex("[^/]+").expect("regex"),
        1..4,
    )
    .prop_map(|segments| segments.join("/"))
}

fn get_json(app: &TestApp, url: &pesto::Url) -> serde_json::Value {
    let r = app.get(&url.to_string()).send();
    assert_eq!(r.status(), 200, "{url} gave {}", r.status());
    r.json().expect("json body")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn unicode_and_int_round_trip(text in segment_text(), n in any::<i64>()) {
        let app = TestApp::new(App::new());
        let url = mixed.url(&text, n);
        prop_assert_eq!(get_json(&app, &url), serde_json::json!(["mixed", text, n]));
    }

    #[test]
    fn text_inside_a_segment_round_trips(name in segment_text(), pdf in any::<bool>()) {
        let app = TestApp::new(App::new());
        let ext = if pdf { "pdf" } else { "txt" };
        let url = file.url(&name, ext);
        prop_assert_eq!(get_json(&app, &url), serde_json::json!(["file", name, ext]));
    }

    #[test]
    fn path_round_trips(dir in path_text(), page in any::<u16>()) {
        let app = TestApp::new(App::new());
        let url = docs.url(&dir, page);
        prop_assert_eq!(get_json(&app, &url), serde_json::json!(["docs", dir, page]));
    }

    #[test]
    fn round_trip_under_a_mount(text in segment_text(), n in any::<i64>()) {
        let app = TestApp::new(pesto::mount("/mounted", App::new()));
        let url = mixed.url(&text, n);
        let r = app.get(&format!("/mounted{url}")).send();
        prop_assert_eq!(r.status(), 200);
        prop_assert_eq!(r.json::<serde_json::Value>().expect("json"), serde_json::json!(["mixed", text, n]));
    }
}
