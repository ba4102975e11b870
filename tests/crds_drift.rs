//! `crds/` is generated from the Rust types; this fails when the committed YAML drifts.
//! Regenerate with `cargo run -- crd --output-dir crds`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use sipcred_operator::crd;

#[test]
fn committed_crds_match_the_generated_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut expected_files = Vec::new();
    for c in crd::all() {
        let name = crd::file_name(&c);
        let generated = crd::to_yaml(&c).expect("CRD renders as YAML");
        let committed = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|e| panic!("crds/{name} missing ({e}); run scripts/generate"));
        assert_eq!(
            committed, generated,
            "crds/{name} differs from the generated CRD; run scripts/generate"
        );
        expected_files.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("crds/ exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    expected_files.sort();
    assert_eq!(
        present, expected_files,
        "crds/ holds a file no kind generates"
    );
}

#[test]
fn crd_subcommand_prints_all_five_as_one_stream() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .arg("crd")
        .output()
        .expect("binary runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let kinds: Vec<String> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let v = <serde_json::Value as serde::Deserialize>::deserialize(doc).expect("yaml doc");
            v["spec"]["names"]["kind"]
                .as_str()
                .expect("kind")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "SipProvider",
            "ClusterSipProvider",
            "SipConnection",
            "TelephonyCredential",
            "TrunkCredential"
        ]
    );
}

#[test]
fn schemas_inject_no_defaults() {
    // Defaults injected by the API server keep Argo CD OutOfSync forever.
    for c in crd::all() {
        let json = serde_json::to_string(&c).expect("json");
        assert!(
            !json.contains("\"default\":"),
            "{} has a schema default",
            crd::file_name(&c)
        );
    }
}

#[test]
fn every_field_has_a_description() {
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                if !path.is_empty() && v.get("description").is_none() {
                    missing.push(p.clone());
                }
                walk(&p, v, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    for c in crd::all() {
        let v = serde_json::to_value(&c).expect("json");
        let schema = &v["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut missing = Vec::new();
        for top in ["spec", "status"] {
            walk(top, &schema["properties"][top], &mut missing);
        }
        assert!(
            missing.is_empty(),
            "{}: fields without description: {missing:?}",
            crd::file_name(&c)
        );
    }
}

#[test]
fn every_kind_has_status_subresource_category_and_short_names() {
    for c in crd::all() {
        let v = &c.spec.versions[0];
        assert!(
            v.subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        assert_eq!(
            c.spec.names.categories.as_deref(),
            Some(&["sipcred".to_string()][..])
        );
        assert!(
            !c.spec
                .names
                .short_names
                .clone()
                .unwrap_or_default()
                .is_empty()
        );
        let cols: Vec<_> = v
            .additional_printer_columns
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert!(
            cols.contains(&"Ready".to_string()) && cols.contains(&"Age".to_string()),
            "{cols:?}"
        );
    }
}
