//! The layers of `pesto/src` import one way only (ARCHITECTURE.md): the request vocabulary
//! imports no other layer, the endpoint layer only the vocabulary, routing and sessions never
//! each other, and nothing below imports the server or the test client. Read from the sources,
//! so a wrong-way import fails here before a review has to find it.

use std::fs;
use std::path::{Path, PathBuf};

/// Each layer's folder (or file) and the layers it must never import.
const RULES: &[(&str, &[&str])] = &[
    (
        "exchange",
        &["endpoint", "routing", "session", "server", "testing"],
    ),
    ("endpoint", &["routing", "session", "server", "testing"]),
    ("routing", &["session", "server", "testing"]),
    ("session", &["routing", "server", "testing"]),
];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("readable source folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// The code lines of `text` that name `crate::<module>` (doc and line comments excepted: a doc
/// link to a higher layer is not an import).
fn uses_of<'t>(text: &'t str, module: &str) -> Vec<&'t str> {
    let needle = format!("crate::{module}");
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .filter(|line| {
            line.match_indices(&needle).any(|(at, _)| {
                let next = line[at + needle.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .collect()
}

/// The lines of `pesto/src` that `offending` picks out, layer by layer, as `file: line`.
fn offending_lines(offending: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (layer, _) in RULES {
        for file in sources(&src.join(layer)) {
            let text = fs::read_to_string(&file).expect("readable source file");
            for line in offending(layer, &text) {
                wrong.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    wrong
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let wrong = offending_lines(|layer, text| {
        let forbidden = RULES
            .iter()
            .find(|(l, _)| *l == layer)
            .map_or(&[][..], |r| r.1);
        forbidden
            .iter()
            .flat_map(|module| uses_of(text, module))
            .map(str::to_owned)
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn imports_go_through_module_paths_not_the_crate_root() {
    // `use crate::{Request, ..}` would hide which layer a name comes from.
    let wrong = offending_lines(|_, text| {
        text.lines()
            .filter_map(|line| line.trim_start().strip_prefix("use crate::"))
            .filter(|rest| rest.starts_with('{') || rest.starts_with(|c: char| c.is_uppercase()))
            .map(|rest| format!("use crate::{rest}"))
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "imports through the crate root:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_a_wrong_way_import() {
    let text =
        "use crate::session::Session;\n/// see [`X`](crate::session::X)\nuse crate::sessionx::Y;";
    assert_eq!(uses_of(text, "session"), ["use crate::session::Session;"]);
}
