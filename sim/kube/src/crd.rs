//! CustomResourceDefinition admission: structural schema rules, one storage
//! version, names, printer columns, and CEL rules that must compile.

use serde_json::Value;

type Cause = (String, String, String);

const TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

fn required(field: String, detail: &str) -> Cause {
    (
        "FieldValueRequired".into(),
        format!("Required value: {detail}"),
        field,
    )
}

fn invalid(field: String, value: &str, detail: &str) -> Cause {
    (
        "FieldValueInvalid".into(),
        format!(
            "Invalid value: {}: {detail}",
            Value::String(value.to_string())
        ),
        field,
    )
}

fn walk_schema(s: &Value, path: &str, root: bool, out: &mut Vec<Cause>) {
    let preserve = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    match s.get("type").and_then(Value::as_str) {
        Some(t) if !TYPES.contains(&t) => {
            let list: Vec<String> = TYPES.iter().map(|t| format!("\"{t}\"")).collect();
            out.push((
                "FieldValueNotSupported".into(),
                format!(
                    "Unsupported value: \"{t}\": supported values: {}",
                    list.join(", ")
                ),
                format!("{path}.type"),
            ));
        }
        Some(_) => {}
        None if int_or_string || preserve => {}
        None => out.push(required(
            format!("{path}.type"),
            "must not be empty for specified object fields",
        )),
    }
    if root && s.get("type").and_then(Value::as_str) != Some("object") {
        out.push(invalid(
            format!("{path}.type"),
            s.get("type").and_then(Value::as_str).unwrap_or_default(),
            "must be object at the root",
        ));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, c) in props {
            if root && k == "metadata" {
                continue;
            }
            walk_schema(c, &format!("{path}.properties[{k}]"), false, out);
        }
    }
    if let Some(items) = s.get("items") {
        walk_schema(items, &format!("{path}.items"), false, out);
    } else if s.get("type").and_then(Value::as_str) == Some("array") {
        out.push(required(format!("{path}.items"), "must be specified"));
    }
    if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
        if s.get("properties").is_some() {
            out.push((
                "FieldValueForbidden".into(),
                "Forbidden: additionalProperties and properties are mutual exclusive".into(),
                format!("{path}.additionalProperties"),
            ));
        }
        walk_schema(ap, &format!("{path}.additionalProperties"), false, out);
    }
}

fn walk_cel(c: &kube_cel::CompiledSchema, s: &Value, path: &str, out: &mut Vec<Cause>) {
    let rules = s.get("x-kubernetes-validations").and_then(Value::as_array);
    for (i, r) in c.validations.iter().enumerate() {
        if let Err(e) = r {
            let rule = rules
                .and_then(|rs| rs.get(i))
                .and_then(|x| x["rule"].as_str())
                .unwrap_or_default();
            out.push(invalid(
                format!("{path}.x-kubernetes-validations[{i}].rule"),
                rule,
                &format!("compilation failed: {e}"),
            ));
        }
    }
    for (k, child) in &c.properties {
        if let Some(cs) = s.pointer(&format!(
            "/properties/{}",
            k.replace('~', "~0").replace('/', "~1")
        )) {
            walk_cel(child, cs, &format!("{path}.properties[{k}]"), out);
        }
    }
    if let (Some(ci), Some(si)) = (&c.items, s.get("items")) {
        walk_cel(ci, si, &format!("{path}.items"), out);
    }
    if let (Some(ca), Some(sa)) = (&c.additional_properties, s.get("additionalProperties")) {
        walk_cel(ca, sa, &format!("{path}.additionalProperties"), out);
    }
}

/// Causes that make the CRD invalid (empty when it is acceptable).
pub fn check(crd: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    if !group.contains('.') {
        out.push(invalid(
            "spec.group".into(),
            group,
            "should be a domain with at least one dot",
        ));
    }
    let plural = spec
        .pointer("/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if plural.is_empty() || plural.chars().any(|c| c.is_ascii_uppercase()) {
        out.push(invalid(
            "spec.names.plural".into(),
            plural,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        ));
    }
    if spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        out.push(required("spec.names.kind".into(), ""));
    }
    match spec["scope"].as_str() {
        Some("Namespaced") | Some("Cluster") => {}
        other => out.push((
            "FieldValueNotSupported".into(),
            format!(
                "Unsupported value: \"{}\": supported values: \"Cluster\", \"Namespaced\"",
                other.unwrap_or_default()
            ),
            "spec.scope".into(),
        )),
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        out.push(required(
            "spec.versions".into(),
            "must have exactly one version marked as storage version",
        ));
    }
    let storage = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        out.push(invalid(
            "spec.versions".into(),
            "array",
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        let vp = format!("spec.versions[{i}]");
        match v.pointer("/schema/openAPIV3Schema") {
            Some(s) => {
                let sp = format!("{vp}.schema.openAPIV3Schema");
                walk_schema(s, &sp, true, &mut out);
                let compiled = kube_cel::compile_schema(s);
                walk_cel(&compiled, s, &sp, &mut out);
            }
            None => out.push(required(
                format!("{vp}.schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
        if let Some(cols) = v["additionalPrinterColumns"].as_array() {
            for (j, c) in cols.iter().enumerate() {
                let jp = c["jsonPath"].as_str().unwrap_or_default();
                if !jp.starts_with('.') && !jp.starts_with("{.") {
                    out.push(invalid(
                        format!("{vp}.additionalPrinterColumns[{j}].jsonPath"),
                        jp,
                        "must be a simple json path starting with .",
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(schema: Value) -> Value {
        json!({"spec": {"group": "sipcred.io", "scope": "Namespaced", "names": {"plural": "things", "kind": "Thing"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema}}]}})
    }

    #[test]
    fn structural_and_cel_checks() {
        assert!(check(&crd(json!({"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.a > 0"}], "properties": {"a": {"type": "integer"}}}}}))).is_empty());
        let c = check(&crd(
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "strin"}}}}}),
        ));
        assert!(
            c.iter().any(|x| x.2
                == "spec.versions[0].schema.openAPIV3Schema.properties[spec].type"
                && x.0 == "FieldValueRequired"),
            "{c:?}"
        );
        assert!(c.iter().any(|x| x.0 == "FieldValueNotSupported"), "{c:?}");
        let c = check(&crd(
            json!({"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.a >"}]}}}),
        ));
        assert!(
            c.iter()
                .any(|x| x.2.ends_with("x-kubernetes-validations[0].rule")
                    && x.1.contains("compilation failed")),
            "{c:?}"
        );
    }
}
