//! The module order written in src/lib.rs's doc holds: a module of src/ names only modules to its
//! left, in its code and its unit tests, so no two folders import each other.

use std::path::Path;

/// The order of src/lib.rs's doc, lowest first; modules on one level may not name each other.
const LEVELS: &[&[&str]] = &[
    &["tasks", "util"],
    &["errors"],
    &["catalogue"],
    &["media", "journal"],
    &["client"],
    &["simulator"],
    &["bindings"],
];

fn level(module: &str) -> usize {
    LEVELS.iter().position(|l| l.contains(&module)).unwrap_or_else(|| panic!("{module} is not in LEVELS"))
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of src/ belongs to (None for lib.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    (first != "lib.rs").then(|| first.trim_end_matches(".rs").to_string())
}

#[test]
fn lib_rs_states_the_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let written: Vec<String> =
        LEVELS.iter().map(|l| l.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")).collect();
    assert!(lib.contains(&format!("`{}`", written.join(" <- "))), "src/lib.rs's doc names another order");
}

#[test]
fn modules_import_only_from_lower_levels() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else { continue };
        let own = level(&module);
        let text = std::fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name.is_empty() || name == module {
                continue;
            }
            if level(&name) >= own {
                wrong.push(format!("{} names crate::{name}", f.strip_prefix(&src).unwrap().display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports against the order of src/lib.rs:\n{}", wrong.join("\n"));
}
