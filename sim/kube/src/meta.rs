//! ObjectMeta validation: names (RFC 1123), label keys and values.

use serde_json::Value;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const KEY_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric()))
}

/// (reason, message, field) causes for invalid metadata.
pub fn validate(obj: &Value, namespace_kind: bool) -> Vec<(String, String, String)> {
    let mut causes = Vec::new();
    let inv = |v: &str, msg: &str, field: &str| {
        (
            "FieldValueInvalid".to_string(),
            format!("Invalid value: {}: {msg}", Value::String(v.to_string())),
            field.to_string(),
        )
    };
    if let Some(name) = obj.pointer("/metadata/name").and_then(Value::as_str) {
        if namespace_kind {
            if !is_dns_label(name) {
                causes.push(inv(name, LABEL_MSG, "metadata.name"));
            }
        } else if !is_subdomain(name) {
            causes.push(inv(name, SUBDOMAIN_MSG, "metadata.name"));
        }
    }
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            let (prefix, name) = match k.split_once('/') {
                Some((p, n)) => (Some(p), n),
                None => (None, k.as_str()),
            };
            if prefix.is_some_and(|p| !is_subdomain(p)) {
                causes.push(inv(
                    k,
                    &format!("prefix part {SUBDOMAIN_MSG}"),
                    "metadata.labels",
                ));
            }
            if name.is_empty() || name.len() > 63 || !is_label_value(name) {
                let msg = if name.len() > 63 {
                    "name part must be no more than 63 characters"
                } else {
                    KEY_NAME_MSG
                };
                causes.push(inv(k, msg, "metadata.labels"));
            }
            match v.as_str() {
                Some(s) if s.len() > 63 => causes.push(inv(
                    s,
                    "must be no more than 63 characters",
                    "metadata.labels",
                )),
                Some(s) if !is_label_value(s) => causes.push(inv(s, VALUE_MSG, "metadata.labels")),
                Some(_) => {}
                None => causes.push((
                    "FieldValueInvalid".into(),
                    "Invalid value: label values must be strings".into(),
                    "metadata.labels".into(),
                )),
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_labels() {
        assert!(validate(&json!({"metadata": {"name": "ok-name.x", "labels": {"app.kubernetes.io/name": "a_b.c"}}}), false).is_empty());
        let c = validate(&json!({"metadata": {"name": "Bad_Name"}}), false);
        assert_eq!(c.len(), 1);
        assert!(
            c[0].1
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
        assert_eq!(
            validate(&json!({"metadata": {"name": "a.b"}}), true).len(),
            1,
            "namespaces are labels"
        );
        let c = validate(
            &json!({"metadata": {"name": "x", "labels": {"k": "bad value", "-k": "v"}}}),
            false,
        );
        assert_eq!(c.len(), 2);
    }
}
