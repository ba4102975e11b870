//! `src/provider/` must not know about Kubernetes (or the simulators).
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn provider_module_does_not_import_kubernetes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/provider");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "found {files:?}");
    let forbidden = [
        "kube::",
        "kube_runtime",
        "k8s_openapi",
        "use kube",
        "sipcred_provider_sim",
        "sipcred_kube_sim",
        "crate::crd",
        "crate::controller",
        "crate::managed",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for bad in forbidden {
                assert!(!code.contains(bad), "{} imports {bad}: {line}", f.display());
            }
        }
    }
}
