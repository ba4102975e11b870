//! One source of truth for the Telnyx connection fields: every writable field of the
//! CredentialConnection schema in seed 001 (tests/fixtures, copied verbatim from the
//! seed's OpenAPI block) is a field of the SipConnection CRD, and that declaration is
//! the whole mapping: `#[derive(ProviderValue)]` sends each field under its Rust name,
//! which is Telnyx's (serde's rename gives the Kubernetes one). A field seed 001 adds
//! fails here until the CRD has it; a CRD field whose Rust name is not Telnyx's fails
//! the reverse check; every enum value the CRD admits is sent as a value the seed
//! allows; and drift is seen on every field the request carries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use kube::CustomResourceExt;
use serde_json::{Value, json};
use sipcred_operator::controller::provider_calls::drift;
use sipcred_operator::controller::sip_connection::build_request;
use sipcred_operator::crd::{SipConnection, SipConnectionSpec};
use sipcred_operator::provider::telnyx::CredentialConnection;

/// Set by Telnyx, never written.
const SERVER_SET: &[&str] = &["id", "record_type", "created_at", "updated_at"];
/// Written, but not from a spec field of the same name.
const NOT_IN_SPEC: &[(&str, &str)] = &[(
    "password",
    "chosen by the operator (passwordSecretRef, the Secret, or passwordPolicy)",
)];

/// `prefix.key`, or `key` at the top.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn seed() -> Value {
    let text = include_str!("fixtures/seed001-credential-connection.openapi.yaml");
    serde_yaml::from_str(text).unwrap()
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &root["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Writable fields of the seed's schema by path (`inbound.timeout_1xx_secs`), each
/// with its schema.
fn seed_schemas() -> BTreeMap<String, Value> {
    let root = seed();
    let mut out = BTreeMap::new();
    fn walk(root: &Value, schema: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
        let schema = resolve(root, schema);
        let Some(props) = schema["properties"].as_object() else {
            out.insert(prefix.to_string(), schema.clone());
            return;
        };
        for (k, v) in props {
            if prefix.is_empty() && SERVER_SET.contains(&k.as_str()) {
                continue;
            }
            walk(root, v, &join(prefix, k), out);
        }
    }
    walk(
        &root,
        &root["components"]["schemas"]["CredentialConnection"],
        "",
        &mut out,
    );
    out
}

/// Writable field paths of the seed's schema.
fn seed_fields() -> BTreeSet<String> {
    seed_schemas().into_keys().collect()
}

/// A field name compared across spellings: `sip_uri_calling_preference` and
/// `sipURICallingPreference` are the same field.
fn norm(path: &str) -> String {
    path.to_lowercase().replace('_', "")
}

fn crd_spec_schema() -> Value {
    let crd = serde_json::to_value(SipConnection::crd()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

fn crd_fields(schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match schema["properties"].as_object() {
        Some(props) => {
            for (k, v) in props {
                crd_fields(v, &join(prefix, k), out);
            }
        }
        None => {
            out.insert(norm(prefix));
        }
    }
}

/// A value for every property the schema declares (first enum value, minimum, ...).
fn everything(schema: &Value) -> Value {
    if let Some(e) = schema["enum"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    if let Some(props) = schema["properties"].as_object() {
        return Value::Object(
            props
                .iter()
                .map(|(k, v)| (k.clone(), everything(v)))
                .collect(),
        );
    }
    match schema["type"].as_str() {
        Some("boolean") => json!(true),
        Some("integer") => json!(schema["minimum"].as_f64().map_or(1, |m| m as i64)),
        Some("array") => json!([everything(&schema["items"])]),
        Some("object") => match schema.get("additionalProperties") {
            Some(v) if v.is_object() => json!({ "key1": everything(v) }),
            _ => json!({}),
        },
        _ => json!("value1"),
    }
}

#[test]
fn the_crd_has_every_writable_field_of_seed_001() {
    let mut crd = BTreeSet::new();
    crd_fields(&crd_spec_schema(), "", &mut crd);
    let missing: Vec<_> = seed_fields()
        .into_iter()
        .filter(|f| !NOT_IN_SPEC.iter().any(|(n, _)| n == f))
        .filter(|f| !crd.contains(&norm(f)))
        .collect();
    assert!(
        missing.is_empty(),
        "seed 001 fields the SipConnection CRD lacks: {missing:?}"
    );
}

#[test]
fn the_mapping_carries_every_writable_field_of_seed_001_to_the_request() {
    let request = full_request();
    let missing: Vec<_> = seed_fields()
        .into_iter()
        .filter(|f| !NOT_IN_SPEC.iter().any(|(n, _)| n == f))
        .filter(|f| {
            let (parent, leaf) = match f.rsplit_once('.') {
                Some((p, l)) => (request.pointer(&format!("/{}", p.replace('.', "/"))), l),
                None => (Some(&request), f.as_str()),
            };
            !parent
                .and_then(Value::as_object)
                .is_some_and(|o| o.contains_key(leaf))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "seed 001 fields build_request leaves out: {missing:?}\nrequest: {request:#}"
    );
    assert!(
        seed_fields().len() > 40,
        "the seed was read: {:?}",
        seed_fields()
    );
}

/// Leaf paths of a JSON object (`inbound.timeout_1xx_secs`); arrays are leaves.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v.as_object() {
        Some(map) => {
            for (k, v) in map {
                leaves(v, &join(prefix, k), out);
            }
        }
        None => out.push(prefix.to_string()),
    }
}

/// The request for a spec with every CRD field set.
fn full_request() -> Value {
    let spec: SipConnectionSpec =
        serde_json::from_value(everything(&crd_spec_schema())).expect("a spec with every field");
    serde_json::to_value(build_request(&spec, "conn")).unwrap()
}

#[test]
fn every_field_of_the_request_is_a_writable_field_of_seed_001() {
    let seed = seed_fields();
    let mut sent = Vec::new();
    leaves(&full_request(), "", &mut sent);
    let unknown: Vec<_> = sent.iter().filter(|f| !seed.contains(*f)).collect();
    assert!(
        unknown.is_empty(),
        "request fields seed 001 does not have (a CRD field's Rust name must be Telnyx's): {unknown:?}"
    );
    assert!(sent.len() > 40, "the request was filled: {sent:?}");
}

/// The provider's copy of a request as the operator reads it back: through the
/// response model, so a field that model dropped would show as drift forever.
fn observed(body: &Value) -> Value {
    let mut o = body.clone();
    o["id"] = json!("1293384261075731499");
    let c: CredentialConnection = serde_json::from_value(o).unwrap();
    serde_json::to_value(&c).unwrap()
}

/// A different value of the same JSON type (a set value for a cleared one).
fn other(v: &Value) -> Value {
    match v {
        Value::Bool(b) => json!(!b),
        Value::Number(n) => json!(n.as_i64().unwrap() + 1),
        Value::String(s) => json!(format!("{s}-changed")),
        Value::Array(a) => {
            let mut a = a.clone();
            a.push(json!("extra"));
            Value::Array(a)
        }
        _ => json!("set"),
    }
}

#[test]
fn drift_is_seen_on_every_field_and_only_there() {
    let desired = full_request();
    assert_eq!(
        drift(&desired, &observed(&desired)),
        Vec::<String>::new(),
        "the provider's copy of the request matches it"
    );
    let mut paths = Vec::new();
    leaves(&desired, "", &mut paths);
    for path in paths {
        let pointer = format!("/{}", path.replace('.', "/"));
        let mut changed = desired.clone();
        let leaf = changed.pointer_mut(&pointer).unwrap();
        *leaf = other(leaf);
        assert_eq!(
            drift(&desired, &observed(&changed)),
            vec![path.clone()],
            "a change of {path} at Telnyx"
        );
    }
}

/// CRD leaves that have an enum, by path (`inbound.dnisNumberFormat`), with the enum.
fn crd_enums(schema: &Value, prefix: &str, out: &mut Vec<(String, Vec<Value>)>) {
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            crd_enums(v, &join(prefix, k), out);
        }
    } else if let Some(values) = schema["enum"].as_array() {
        out.push((prefix.to_string(), values.clone()));
    }
}

#[test]
fn every_enum_value_of_the_crd_reaches_telnyx_as_a_value_seed_001_allows() {
    let seed = seed_schemas();
    let mut enums = Vec::new();
    crd_enums(&crd_spec_schema(), "", &mut enums);
    assert!(enums.len() > 10, "the CRD's enums were read: {enums:?}");
    let mut wrong = Vec::new();
    for (crd_path, values) in enums {
        // The operator's own fields (deletionPolicy, passwordPolicy) are not sent.
        let Some((seed_path, seed_schema)) = seed.iter().find(|(p, _)| norm(p) == norm(&crd_path))
        else {
            continue;
        };
        let allowed = seed_schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("seed 001 has no enum at {seed_path}"));
        for v in values {
            let mut spec = everything(&crd_spec_schema());
            *spec
                .pointer_mut(&format!("/{}", crd_path.replace('.', "/")))
                .unwrap() = v.clone();
            let spec: SipConnectionSpec = serde_json::from_value(spec).unwrap();
            let request = serde_json::to_value(build_request(&spec, "conn")).unwrap();
            let sent = &request[seed_path.split('.').next().unwrap()];
            let sent = match seed_path.split_once('.') {
                Some((_, leaf)) => &sent[leaf],
                None => sent,
            };
            if !allowed.contains(sent) {
                wrong.push(format!(
                    "{crd_path}: {v} is sent as {sent}, seed 001 allows {allowed:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
