//! The pattern grammar as data tables: what each pattern parses to, and what each
//! mistake is called and where it is.

use super::*;

fn lit(text: &str) -> Part {
    Part::Literal(text.to_owned())
}

fn param(name: &str, conv: Conv) -> Part {
    Part::Param(Param {
        name: name.to_owned(),
        conv,
    })
}

fn any(choices: &[&str]) -> Conv {
    Conv::Any(choices.iter().map(|c| (*c).to_owned()).collect())
}

fn custom(leading_colon: bool, segments: &[&str]) -> Conv {
    Conv::Custom(TypePath {
        leading_colon,
        segments: segments.iter().map(|s| (*s).to_owned()).collect(),
    })
}

#[test]
fn valid_patterns_parse_to_parts_and_a_key() {
    use Conv::*;
    let table: Vec<(&str, Vec<Part>, &str)> = vec![
        ("/", vec![lit("/")], "/"),
        ("/recipes", vec![lit("/recipes")], "/recipes"),
        (
            "/recipes/<category:unicode>/<id:int>",
            vec![
                lit("/recipes/"),
                param("category", Unicode),
                lit("/"),
                param("id", Int),
            ],
            "/recipes/<:unicode>/<:int>",
        ),
        (
            "/documents/<dir:path>/<name>.pdf",
            vec![
                lit("/documents/"),
                param("dir", Path),
                lit("/"),
                param("name", Unicode),
                lit(".pdf"),
            ],
            "/documents/<:path>/<:unicode>.pdf",
        ),
        (
            "/s/<kind:any('a', \"b\")>/<slug:Slug>",
            vec![
                lit("/s/"),
                param("kind", any(&["a", "b"])),
                lit("/"),
                param("slug", custom(false, &["Slug"])),
            ],
            "/s/<:any('a','b')>/<:Slug>",
        ),
        (
            "/<a>-<b>",
            vec![lit("/"), param("a", Unicode), lit("-"), param("b", Unicode)],
            "/<:unicode>-<:unicode>",
        ),
        (
            "/x/<c:my :: conv::Slug>",
            vec![
                lit("/x/"),
                param("c", custom(false, &["my", "conv", "Slug"])),
            ],
            "/x/<:my::conv::Slug>",
        ),
        (
            "/x/<c:::my::slug>",
            vec![lit("/x/"), param("c", custom(true, &["my", "slug"]))],
            "/x/<:::my::slug>",
        ),
        (
            "/<k:any('>', 'it\\'s', \"<\",)>",
            vec![lit("/"), param("k", any(&[">", "it's", "<"]))],
            "/<:any('>','it\\'s','<')>",
        ),
        (
            "/< id : int >/x",
            vec![lit("/"), param("id", Int), lit("/x")],
            "/<:int>/x",
        ),
        (
            "/<_id2>",
            vec![lit("/"), param("_id2", Unicode)],
            "/<:unicode>",
        ),
        (
            "/a/<k:any ( 'x' )>",
            vec![lit("/a/"), param("k", any(&["x"]))],
            "/a/<:any('x')>",
        ),
    ];
    for (pattern, parts, key_text) in table {
        let parsed = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {}", e.message));
        assert_eq!(parsed, parts, "{pattern}");
        assert_eq!(key(&parsed), key_text, "{pattern}");
    }
}

#[test]
fn invalid_patterns_name_and_locate_the_bad_fragment() {
    // (pattern, the fragment the error points at, message)
    let table = [
        (
            "",
            "",
            "route pattern is empty; it must start with `/`, e.g. `\"/\"`",
        ),
        (
            "recipes",
            "recipes",
            "route pattern `recipes` must start with `/`",
        ),
        ("<id>", "<id>", "route pattern `<id>` must start with `/`"),
        (
            "/a/<id:int",
            "<id:int",
            "unclosed `<` in route pattern: `<id:int`",
        ),
        (
            "/a/<id/<b>",
            "<id/",
            "unclosed `<` in route pattern: `<id/`",
        ),
        ("/a/<", "<", "unclosed `<` in route pattern: `<`"),
        (
            "/a/b>c/d",
            "/b>c",
            "stray `>` without a matching `<` in route pattern: `/b>c`",
        ),
        (
            "/a/<x>>",
            "/<x>>",
            "stray `>` without a matching `<` in route pattern: `/<x>>`",
        ),
        (
            "/<id:intt>",
            "<id:intt>",
            "unknown converter `intt` in `<id:intt>`; expected `unicode`, `int`, `path`, \
             `any(...)` or a converter type",
        ),
        (
            "/<id:Int>",
            "<id:Int>",
            "unknown converter `Int` in `<id:Int>`; the built-in converters are lower case: `int`",
        ),
        (
            "/<p:PATH>",
            "<p:PATH>",
            "unknown converter `PATH` in `<p:PATH>`; the built-in converters are lower case: `path`",
        ),
        (
            "/<id:>",
            "<id:>",
            "missing converter after `:` in `<id:>`; expected `unicode`, `int`, `path`, \
             `any(...)` or a converter type",
        ),
        (
            "/<:int>",
            "<:int>",
            "route pattern parameters need a name: `<:int>`; write `<name:int>`",
        ),
        (
            "/<>",
            "<>",
            "empty parameter `<>` in route pattern; write `<name>` or `<name:converter>`",
        ),
        (
            "/<1d>",
            "<1d>",
            "invalid parameter name `1d` in `<1d>`; expected an identifier such as `id`",
        ),
        (
            "/<_>",
            "<_>",
            "invalid parameter name `_` in `<_>`; expected an identifier such as `id`",
        ),
        (
            "/<a b>",
            "<a b>",
            "invalid parameter name `a b` in `<a b>`; expected an identifier such as `id`",
        ),
        (
            "/<a><b:int>",
            "<a><b:int>",
            "ambiguous route pattern: parameters `<a>` and `<b:int>` are adjacent in \
             `<a><b:int>`; put literal text such as `/` or `-` between them",
        ),
        (
            "/<id>/<id:int>",
            "<id:int>",
            "route pattern variable `id` appears twice: `<id>` and `<id:int>`",
        ),
        (
            "/<k:any>",
            "<k:any>",
            "`any` needs a list of choices in `<k:any>`, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any()>",
            "<k:any()>",
            "`any(...)` needs at least one choice in `<k:any()>`, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any('a' 'b')>",
            "<k:any('a' 'b')>",
            "malformed `any(...)` in `<k:any('a' 'b')>`; expected quoted strings separated \
             by commas, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any(a)>",
            "<k:any(a)>",
            "malformed `any(...)` in `<k:any(a)>`; expected quoted strings separated by \
             commas, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any('a',,'b')>",
            "<k:any('a',,'b')>",
            "malformed `any(...)` in `<k:any('a',,'b')>`; expected quoted strings separated \
             by commas, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any('a')x>",
            "<k:any('a')x>",
            "malformed `any(...)` in `<k:any('a')x>`; expected quoted strings separated by \
             commas, e.g. `any('a', 'b')`",
        ),
        (
            "/<k:any('a', '')>",
            "<k:any('a', '')>",
            "empty choice in `<k:any('a', '')>`; `any(...)` choices must not be empty",
        ),
        (
            "/<k:any('a>",
            "<k:any('a>",
            "unterminated quoted string in route pattern: `<k:any('a>`",
        ),
        (
            "/<s:Slug<u8>>",
            "<s:Slug",
            "unclosed `<` in route pattern: `<s:Slug`",
        ),
        (
            "/<s:my::>",
            "<s:my::>",
            "invalid converter type path `my::` in `<s:my::>`; expected a type name such \
             as `Slug` or `my::Slug`",
        ),
        (
            "/<s:Sl-ug>",
            "<s:Sl-ug>",
            "invalid converter type path `Sl-ug` in `<s:Sl-ug>`; expected a type name such \
             as `Slug` or `my::Slug`",
        ),
    ];
    for (pattern, underlined, message) in table {
        match parse(pattern) {
            Ok(parts) => panic!("{pattern:?} parsed as {parts:?}"),
            Err(e) => {
                assert_eq!(e.message, message, "{pattern:?}");
                assert_eq!(&pattern[e.range], underlined, "{pattern:?}");
            }
        }
    }
}

#[test]
fn first_part_is_a_literal_starting_with_slash() {
    for pattern in ["/", "/<a>", "/x/<a:int>/y"] {
        let parts = parse(pattern).unwrap_or_else(|e| panic!("{}", e.message));
        assert!(matches!(&parts[0], Part::Literal(t) if t.starts_with('/')));
    }
}

#[test]
fn fuzz_invariants_hold_for_valid_and_invalid_patterns() {
    // The fuzz target's body on hand-picked inputs, so a broken invariant check shows up here too.
    for pattern in [
        "/",
        "/recipes/<category:unicode>/<id:int>",
        "/files/<p:path>/raw",
        r#"/<page:any('a>b', "c\"d", 'e\\f')>"#,
        "/<s: ::my::Slug >",
        "/<x><y>",
        "/a>",
        "/<é>",
        "/<r:r#self>",
        "",
        "é",
    ] {
        super::fuzz::pattern(pattern.as_bytes());
    }
}
