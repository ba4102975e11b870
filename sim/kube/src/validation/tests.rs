use super::*;
use serde_json::json;

fn crd(schema: Value) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sipconnections.sipcred.io"},
        "spec": {
            "group": "sipcred.io",
            "scope": "Namespaced",
            "names": {"plural": "sipconnections", "singular": "sipconnection", "kind": "SipConnection", "listKind": "SipConnectionList"},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]
        }
    }))
    .expect("crd")
}

fn spec_schema(spec: Value) -> CustomResourceDefinition {
    crd(
        json!({"type": "object", "properties": {"spec": spec, "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}),
    )
}

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "x", "namespace": "default"}, "spec": spec})
}

fn err(c: &CustomResourceDefinition, o: &Value, old: Option<&Value>) -> Invalid {
    validate(c, "v1alpha1", o, old).expect_err("should be invalid")
}

#[test]
fn min_length_message_matches_apiserver() {
    let c = spec_schema(
        json!({"type": "object", "properties": {"userName": {"type": "string", "minLength": 4}}}),
    );
    let e = err(&c, &obj(json!({"userName": "ab"})), None);
    assert_eq!(
        e.message(),
        "SipConnection.sipcred.io \"x\" is invalid: spec.userName: Invalid value: \"ab\": spec.userName in body should be at least 4 chars long"
    );
    let st = e.status();
    assert_eq!(st["code"], 422);
    assert_eq!(st["reason"], "Invalid");
    assert_eq!(st["details"]["kind"], "SipConnection");
    assert_eq!(st["details"]["group"], "sipcred.io");
    assert_eq!(st["details"]["causes"][0]["field"], "spec.userName");
    assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueInvalid");
}

#[test]
fn several_errors_are_bracketed() {
    let c = spec_schema(
        json!({"type": "object", "required": ["region"], "properties": {
            "userName": {"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
            "port": {"type": "integer", "minimum": 1, "maximum": 30},
            "region": {"type": "string"}
        }}),
    );
    let e = err(&c, &obj(json!({"userName": "ABCD", "port": 31})), None);
    let m = e.message();
    assert!(
        m.starts_with("SipConnection.sipcred.io \"x\" is invalid: ["),
        "{m}"
    );
    assert!(
        m.contains(
            "spec.port: Invalid value: 31: spec.port in body should be less than or equal to 30"
        ),
        "{m}"
    );
    assert!(m.contains("spec.region: Required value"), "{m}");
    assert!(
        m.contains("spec.userName: Too long: may not be more than 3 bytes"),
        "{m}"
    );
    assert!(
        m.contains("spec.userName in body should match '^[a-z]+$'"),
        "{m}"
    );
    assert_eq!(e.causes.len(), 4);
    assert!(e.causes.iter().any(|c| c.reason == "FieldValueRequired"));
}

#[test]
fn ranges_exclusive_and_multiple_of() {
    let c = spec_schema(json!({"type": "object", "properties": {
        "a": {"type": "integer", "minimum": 1, "exclusiveMinimum": true},
        "b": {"type": "number", "maximum": 5, "exclusiveMaximum": true},
        "c": {"type": "integer", "multipleOf": 10},
        "d": {"type": "integer", "minimum": 1}
    }}));
    let e = err(&c, &obj(json!({"a": 1, "b": 5, "c": 15, "d": 0})), None);
    let m = e.message();
    assert!(m.contains("spec.a in body should be greater than 1"), "{m}");
    assert!(m.contains("spec.b in body should be less than 5"), "{m}");
    assert!(
        m.contains("spec.c in body should be a multiple of 10"),
        "{m}"
    );
    assert!(
        m.contains("spec.d: Invalid value: 0: spec.d in body should be greater than or equal to 1"),
        "{m}"
    );
    assert!(
        validate(
            &c,
            "v1alpha1",
            &obj(json!({"a": 2, "b": 4.5, "c": 20, "d": 1})),
            None
        )
        .is_ok()
    );
}

#[test]
fn enum_is_not_supported() {
    let c = spec_schema(
        json!({"type": "object", "properties": {"region": {"type": "string", "enum": ["Latency", "Chicago, IL"]}}}),
    );
    let e = err(&c, &obj(json!({"region": "Mars"})), None);
    assert_eq!(e.causes[0].reason, "FieldValueNotSupported");
    assert_eq!(
        e.causes[0].render(),
        "spec.region: Unsupported value: \"Mars\": supported values: \"Latency\", \"Chicago, IL\""
    );
}

#[test]
fn type_mismatch() {
    let c = spec_schema(json!({"type": "object", "properties": {"x": {"type": "integer"}}}));
    let e = err(&c, &obj(json!({"x": "string"})), None);
    assert_eq!(e.causes[0].reason, "FieldValueTypeInvalid");
    assert_eq!(
        e.causes[0].render(),
        "spec.x: Invalid value: \"string\": spec.x in body must be of type integer: \"string\""
    );
}

#[test]
fn unknown_fields_pruned_warned_or_strict() {
    let c = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "string"}, "m": {"type": "object", "additionalProperties": {"type": "string"}}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}),
    );
    let o = obj(json!({"a": "x", "foo": 1, "m": {"k": "v"}, "free": {"any": {"thing": 1}}}));
    let v = validate_with(&c, "v1alpha1", &o, None, FieldValidation::Warn).expect("ok");
    assert!(v.object["spec"].get("foo").is_none());
    assert_eq!(v.object["spec"]["m"]["k"], "v");
    assert_eq!(v.object["spec"]["free"]["any"]["thing"], 1);
    assert_eq!(v.warnings, vec!["unknown field \"spec.foo\"".to_string()]);
    let v = validate_with(&c, "v1alpha1", &o, None, FieldValidation::Ignore).expect("ok");
    assert!(v.warnings.is_empty());
    let e = validate_with(&c, "v1alpha1", &o, None, FieldValidation::Strict).expect_err("strict");
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message(),
        "SipConnection in version \"v1alpha1\" cannot be handled as a SipConnection: strict decoding error: unknown field \"spec.foo\""
    );
    assert_eq!(e.status()["reason"], "BadRequest");
}

#[test]
fn nullable_and_int_or_string_and_formats() {
    let c = spec_schema(json!({"type": "object", "properties": {
        "n": {"type": "string", "nullable": true},
        "p": {"type": "string"},
        "ios": {"x-kubernetes-int-or-string": true},
        "u": {"type": "string", "format": "uri"},
        "t": {"type": "string", "format": "date-time"}
    }}));
    let v = validate(&c, "v1alpha1", &obj(json!({"n": null, "p": null, "ios": 5, "u": "https://x.example/a", "t": "2024-01-01T00:00:00Z"})), None).expect("ok");
    assert!(v["spec"]["n"].is_null() && v["spec"].get("n").is_some());
    assert!(
        v["spec"].get("p").is_none(),
        "null in non-nullable field is pruned"
    );
    assert!(validate(&c, "v1alpha1", &obj(json!({"ios": "50%"})), None).is_ok());
    let e = err(
        &c,
        &obj(json!({"ios": true, "u": "not a uri", "t": "yesterday"})),
        None,
    );
    let m = e.message();
    assert!(
        m.contains("spec.ios in body must be of type integer,string"),
        "{m}"
    );
    assert!(
        m.contains("spec.u in body must be of type uri: \"not a uri\""),
        "{m}"
    );
    assert!(
        m.contains("spec.t in body must be of type date-time: \"yesterday\""),
        "{m}"
    );
}

#[test]
fn items_and_combinators() {
    let c = spec_schema(json!({"type": "object",
    "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
    "properties": {
        "a": {"type": "string"}, "b": {"type": "string"},
        "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string", "minLength": 2}},
        "n": {"type": "integer", "not": {"enum": [13]}, "anyOf": [{"minimum": 10}, {"maximum": 0}]}
    }}));
    assert!(
        validate(
            &c,
            "v1alpha1",
            &obj(json!({"a": "x", "list": ["ab"], "n": 11})),
            None
        )
        .is_ok()
    );
    let e = err(
        &c,
        &obj(json!({"a": "x", "b": "y", "list": ["a", "bb", "cc"], "n": 13})),
        None,
    );
    let m = e.message();
    assert!(
        m.contains("spec.list: Too many: 3: must have at most 2 items"),
        "{m}"
    );
    assert!(m.contains("spec.list[0]: Invalid value: \"a\": spec.list[0] in body should be at least 2 chars long"), "{m}");
    assert!(
        m.contains("must validate one and only one schema (oneOf)"),
        "{m}"
    );
    assert!(
        m.contains("spec.n in body must not validate the schema (not)"),
        "{m}"
    );
    let e = err(&c, &obj(json!({"a": "x", "list": [], "n": 5})), None);
    let m = e.message();
    assert!(m.contains("should have at least 1 items"), "{m}");
    assert!(
        m.contains("must validate at least one schema (anyOf)"),
        "{m}"
    );
}

fn cel_crd() -> CustomResourceDefinition {
    spec_schema(json!({"type": "object",
    "x-kubernetes-validations": [
        {"rule": "self.minPort <= self.maxPort", "message": "minPort must not exceed maxPort"},
        {"rule": "self.userName == oldSelf.userName", "message": "userName is immutable"}
    ],
    "properties": {
        "userName": {"type": "string"},
        "minPort": {"type": "integer"},
        "maxPort": {"type": "integer"},
        "codec": {"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('G')"}]},
        "tier": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'gold'", "message": "no gold", "reason": "FieldValueForbidden"}]}
    }}))
}

#[test]
fn cel_rules_and_messages() {
    let c = cel_crd();
    let e = err(
        &c,
        &obj(json!({"userName": "abcd", "minPort": 9, "maxPort": 1, "codec": "PCMU"})),
        None,
    );
    assert_eq!(e.causes.len(), 2, "{e}");
    let spec = e
        .causes
        .iter()
        .find(|c| c.field == "spec")
        .expect("spec cause");
    assert_eq!(
        spec.render(),
        "spec: Invalid value: minPort must not exceed maxPort"
    );
    let codec = e
        .causes
        .iter()
        .find(|c| c.field == "spec.codec")
        .expect("codec cause");
    assert_eq!(
        codec.message,
        "Invalid value: \"PCMU\": failed rule: self.startsWith('G')"
    );
    let e = err(
        &c,
        &obj(json!({"userName": "abcd", "minPort": 1, "maxPort": 2, "tier": "gold"})),
        None,
    );
    assert_eq!(e.causes[0].reason, "FieldValueForbidden");
    assert_eq!(e.causes[0].render(), "spec.tier: Forbidden: no gold");
}

#[test]
fn cel_transition_rule_only_on_update() {
    let c = cel_crd();
    let new = obj(json!({"userName": "changed", "minPort": 1, "maxPort": 2}));
    assert!(
        validate(&c, "v1alpha1", &new, None).is_ok(),
        "no oldSelf on create"
    );
    let old = obj(json!({"userName": "orig", "minPort": 1, "maxPort": 2}));
    let e = err(&c, &new, Some(&old));
    assert_eq!(
        e.causes[0].render(),
        "spec: Invalid value: userName is immutable"
    );
    assert!(validate(&c, "v1alpha1", &old, Some(&old)).is_ok());
}

#[test]
fn defaults_are_applied() {
    let c = spec_schema(
        json!({"type": "object", "properties": {"codec": {"type": "string", "default": "PCMU"}}}),
    );
    let v = validate(&c, "v1alpha1", &obj(json!({})), None).expect("ok");
    assert_eq!(v["spec"]["codec"], "PCMU");
    assert_eq!(v["metadata"]["name"], "x");
}
