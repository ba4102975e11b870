//! The dependency rules of the library (src/lib.rs), checked over every module:
//! `provider` never imports Kubernetes, `crd`, `managed` or `controller`; `managed`
//! names no vendor, no provider module and no controller; no library module uses the
//! simulator crates (only the binary's `sim` and `sandbox` subcommands do).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments (line comments and doc comments).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_string()))
        .collect()
}

/// Library modules: every file under src/ except the binary (main.rs, cli/).
fn library_files() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter(|f| {
            let rel = f.strip_prefix(&src).unwrap();
            rel != Path::new("main.rs") && !rel.starts_with("cli")
        })
        .collect()
}

fn under(module: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    library_files()
        .into_iter()
        .filter(|f| f.starts_with(&root))
        .collect()
}

/// Every violation of `forbidden` (case-insensitive when `fold`) in `files`.
fn violations(files: &[PathBuf], forbidden: &[&str], fold: bool) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        for (n, line) in code_lines(f) {
            let hay = if fold {
                line.to_lowercase()
            } else {
                line.clone()
            };
            for bad in forbidden {
                if hay.contains(bad) {
                    out.push(format!("{}:{n} uses {bad}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    out
}

#[test]
fn provider_never_imports_kubernetes_or_the_operator_layers() {
    let files = under("provider");
    assert!(files.len() > 5, "found {files:?}");
    let v = violations(
        &files,
        &[
            "kube::",
            "kube_runtime",
            "k8s_openapi",
            "use kube",
            "crate::crd",
            "crate::controller",
            "crate::managed",
            "crate::secrets",
        ],
        false,
    );
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn the_managed_engine_names_no_vendor_no_provider_and_no_controller() {
    let files = under("managed");
    assert!(files.len() >= 4, "found {files:?}");
    let v = violations(
        &files,
        &[
            "telnyx",
            "vobiz",
            "crate::provider",
            "crate::controller",
            "kube::",
            "use kube",
        ],
        true,
    );
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn no_library_module_uses_the_simulators() {
    let files = library_files();
    assert!(files.len() > 30, "found {} files", files.len());
    let v = violations(&files, &["sipcred_provider_sim", "sipcred_kube_sim"], false);
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn the_checks_see_what_they_forbid() {
    // A check that cannot fail is no check: the scanner finds a known use.
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/controller/runner.rs");
    assert!(!violations(&[lib], &["kube::"], false).is_empty());
}
