//! The admission rules of the GENERATED CRDs (`crds/`), evaluated on valid and invalid
//! objects: CEL `x-kubernetes-validations` (transition rules included) through the
//! Kubernetes CEL library (`kube-cel`), exactly as the API server would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

fn schema(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crds")
        .join(file);
    let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// CEL failures as `field: message` strings.
fn cel(file: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
    match kube_cel::Validator::new().validate(&schema(file), obj, old) {
        Ok(()) => vec![],
        Err(errs) => errs
            .iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

fn conn(spec: Value) -> Value {
    let mut base = json!({"providerRef": {"name": "telnyx"}, "userName": "myagent01"});
    base.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
           "metadata": {"name": "c", "namespace": "default"}, "spec": base})
}

const SIPCONN: &str = "sipconnections.sipcred.io.yaml";

#[test]
fn sip_connection_valid_objects_pass() {
    let cases = [
        ("minimal", json!({})),
        ("username with letter fifth", json!({"userName": "1234a"})),
        (
            "password from a secret",
            json!({"passwordSecretRef": {"name": "s", "key": "p"}}),
        ),
        (
            "policy",
            json!({"passwordPolicy": {"length": 20, "symbols": true}}),
        ),
        (
            "webhooks",
            json!({"webhookEventURL": "https://example.com/hook", "webhookEventFailoverURL": "http://b.example"}),
        ),
        (
            "jitter equal",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 100, "jitterbufferMsecMax": 100}}),
        ),
        ("localization", json!({"outbound": {"localization": "GB"}})),
    ];
    for (name, spec) in cases {
        assert_eq!(
            cel(SIPCONN, &conn(spec), None),
            Vec::<String>::new(),
            "case {name}"
        );
    }
}

#[test]
fn sip_connection_invalid_objects_name_the_field_and_rule() {
    let cases = [
        (
            "letter not in first five",
            json!({"userName": "12345abc"}),
            "spec.userName must have a letter among its first 5 characters",
        ),
        (
            "punctuation",
            json!({"userName": "my_agent"}),
            "spec.userName must contain only letters and digits",
        ),
        (
            "two password sources",
            json!({"passwordSecretRef": {"name": "s"}, "passwordPolicy": {}}),
            "set exactly one password source",
        ),
        (
            "no character class",
            json!({"passwordPolicy": {"lowercase": false, "uppercase": false, "digits": false}}),
            "at least one character class",
        ),
        (
            "url without scheme",
            json!({"webhookEventURL": "example.com/hook"}),
            "spec.webhookEventURL must be an absolute URL with a scheme",
        ),
        (
            "failover without scheme",
            json!({"webhookEventFailoverURL": "//x"}),
            "spec.webhookEventFailoverURL must be an absolute URL",
        ),
        (
            "jitter min above max",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 300, "jitterbufferMsecMax": 100}}),
            "jitterbufferMsecMin must be less than or equal to jitterbufferMsecMax",
        ),
        (
            "bad localization",
            json!({"outbound": {"localization": "us"}}),
            "two-letter upper-case country code",
        ),
    ];
    for (name, spec, want) in cases {
        let errs = cel(SIPCONN, &conn(spec), None);
        assert!(
            errs.iter().any(|e| e.contains(want)),
            "case {name}: want {want:?}, got {errs:?}"
        );
    }
}

#[test]
fn telephony_credential_needs_exactly_one_connection() {
    let f = "telephonycredentials.sipcred.io.yaml";
    let obj = |spec: Value| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "t"}, "spec": spec});
    let both = obj(
        json!({"providerRef": {"name": "p"}, "sipConnectionRef": {"name": "c"}, "connectionID": "123"}),
    );
    let neither = obj(json!({"providerRef": {"name": "p"}}));
    let one = obj(json!({"providerRef": {"name": "p"}, "connectionID": "1293384261075731499"}));
    for bad in [both, neither] {
        let errs = cel(f, &bad, None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of sipConnectionRef and connectionID")),
            "{errs:?}"
        );
    }
    assert!(cel(f, &one, None).is_empty());
}

#[test]
fn trunk_credential_username_is_immutable() {
    let f = "trunkcredentials.sipcred.io.yaml";
    let obj = |u: &str| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "t"}, "spec": {"providerRef": {"name": "v"}, "username": u}});
    assert!(
        cel(f, &obj("officepbx01"), None).is_empty(),
        "create is not a transition"
    );
    assert!(cel(f, &obj("officepbx01"), Some(&obj("officepbx01"))).is_empty());
    let errs = cel(f, &obj("other01"), Some(&obj("officepbx01")));
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.username is immutable")),
        "{errs:?}"
    );
    let errs = cel(f, &obj("-bad"), None);
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.username must start with a letter or digit")),
        "{errs:?}"
    );
}

#[test]
fn provider_has_exactly_one_type_and_it_is_immutable() {
    for (f, telnyx, vobiz) in [
        (
            "sipproviders.sipcred.io.yaml",
            json!({"apiKeySecretRef": {"name": "k"}}),
            json!({"credentialsSecretRef": {"name": "v"}}),
        ),
        (
            "clustersipproviders.sipcred.io.yaml",
            json!({"apiKeySecretRef": {"name": "k", "namespace": "ops"}}),
            json!({"credentialsSecretRef": {"name": "v", "namespace": "ops"}}),
        ),
    ] {
        let obj = |spec: Value| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider", "metadata": {"name": "p"}, "spec": spec});
        let t = obj(json!({"telnyx": telnyx}));
        let v = obj(json!({"vobiz": vobiz}));
        assert!(cel(f, &t, None).is_empty(), "{f}");
        assert!(cel(f, &v, None).is_empty(), "{f}");
        let errs = cel(f, &obj(json!({"telnyx": telnyx, "vobiz": vobiz})), None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of telnyx and vobiz")),
            "{f}: {errs:?}"
        );
        let errs = cel(f, &obj(json!({})), None);
        assert!(
            errs.iter()
                .any(|e| e.contains("set exactly one of telnyx and vobiz")),
            "{f}: {errs:?}"
        );
        let errs = cel(f, &v, Some(&t));
        assert!(
            errs.iter()
                .any(|e| e.contains("the provider type (telnyx or vobiz) is immutable")),
            "{f}: {errs:?}"
        );
    }
}

#[test]
fn every_example_passes_the_cel_rules() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let obj: Value = serde::Deserialize::deserialize(doc).unwrap();
            if obj["apiVersion"] != "sipcred.io/v1alpha1" {
                continue;
            }
            let plural = match obj["kind"].as_str().unwrap() {
                "SipConnection" => "sipconnections",
                "TelephonyCredential" => "telephonycredentials",
                "TrunkCredential" => "trunkcredentials",
                "SipProvider" => "sipproviders",
                "ClusterSipProvider" => "clustersipproviders",
                k => panic!("unknown kind {k}"),
            };
            let errs = cel(&format!("{plural}.sipcred.io.yaml"), &obj, None);
            assert!(errs.is_empty(), "{}: {errs:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} custom objects in examples/");
}
