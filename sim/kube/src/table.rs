//! `Table` output (`as=Table;g=meta.k8s.io;v=v1`) with printer columns and a
//! small JSONPath evaluator.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::{PrinterColumn, ResourceInfo};

/// Metadata-only view of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

fn col(name: &str, type_: &str, format: &str, description: &str, priority: i64) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: format.into(),
        description: description.into(),
        json_path: String::new(),
        priority,
    }
}

fn with_path(mut c: PrinterColumn, path: &str) -> PrinterColumn {
    c.json_path = path.into();
    c
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str =
    "CreationTimestamp is a timestamp representing the server time when this object was created.";

/// Columns (after Name) for a resource.
pub fn columns(info: &ResourceInfo, version: &str) -> Vec<PrinterColumn> {
    let age = || {
        with_path(
            col("Age", "date", "", AGE_DESC, 0),
            ".metadata.creationTimestamp",
        )
    };
    if info.custom {
        let cs = info.columns.get(version).cloned().unwrap_or_default();
        if cs.is_empty() {
            return vec![age()];
        }
        return cs;
    }
    match info.kind.as_str() {
        "Secret" => vec![
            with_path(col("Type", "string", "", "", 0), ".type"),
            with_path(col("Data", "string", "", "", 0), "#count:data"),
            age(),
        ],
        "ConfigMap" => vec![
            with_path(col("Data", "string", "", "", 0), "#count:data"),
            age(),
        ],
        "Namespace" => vec![
            with_path(col("Status", "string", "", "", 0), ".status.phase"),
            age(),
        ],
        "Deployment" => vec![
            with_path(col("Ready", "string", "", "", 0), "#ready"),
            with_path(
                col("Up-to-date", "integer", "", "", 0),
                ".status.updatedReplicas",
            ),
            with_path(
                col("Available", "integer", "", "", 0),
                ".status.availableReplicas",
            ),
            age(),
        ],
        "CustomResourceDefinition" => {
            vec![with_path(col("Created At", "date", "", "", 0), "#created")]
        }
        "Event" if info.group.is_empty() => vec![
            with_path(col("Last Seen", "string", "", "", 0), "#event-last-seen"),
            with_path(col("Type", "string", "", "", 0), ".type"),
            with_path(col("Reason", "string", "", "", 0), ".reason"),
            with_path(
                col("Object", "string", "", "", 0),
                "#event-object:involvedObject",
            ),
            with_path(col("Message", "string", "", "", 0), ".message"),
        ],
        "Event" => vec![
            with_path(col("Last Seen", "string", "", "", 0), "#event-last-seen"),
            with_path(col("Type", "string", "", "", 0), ".type"),
            with_path(col("Reason", "string", "", "", 0), ".reason"),
            with_path(
                col("Object", "string", "", "", 0),
                "#event-object:regarding",
            ),
            with_path(col("Message", "string", "", "", 0), ".note"),
        ],
        "Lease" => vec![
            with_path(col("Holder", "string", "", "", 0), ".spec.holderIdentity"),
            age(),
        ],
        "Service" => vec![
            with_path(col("Type", "string", "", "", 0), ".spec.type"),
            with_path(col("Cluster-IP", "string", "", "", 0), ".spec.clusterIP"),
            age(),
        ],
        _ => vec![age()],
    }
}

/// Kubernetes' HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        return format!("{s}s");
    }
    let m = s / 60;
    if m < 10 {
        let r = s % 60;
        return if r == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{r}s")
        };
    }
    if m < 180 {
        return format!("{m}m");
    }
    let h = s / 3600;
    if h < 8 {
        let rm = (s % 3600) / 60;
        return if rm == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{rm}m")
        };
    }
    if h < 48 {
        return format!("{h}h");
    }
    if h < 24 * 8 {
        let d = h / 24;
        let rh = h % 24;
        return if rh == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{rh}h")
        };
    }
    if h < 24 * 365 * 2 {
        return format!("{}d", h / 24);
    }
    format!("{}y", h / 24 / 365)
}

fn age_of(ts: &str) -> Value {
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => json!(human_duration(
            jiff::Timestamp::now().as_second() - t.as_second()
        )),
        Err(_) => Value::Null,
    }
}

fn cell(obj: &Value, c: &PrinterColumn) -> Value {
    match c.json_path.as_str() {
        "#count:data" => {
            let n = obj
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + obj
                    .get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            return json!(n);
        }
        "#ready" => {
            let r = obj
                .pointer("/status/readyReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let d = obj
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            return json!(format!("{r}/{d}"));
        }
        "#event-last-seen" => {
            let ts = [
                "/series/lastObservedTime",
                "/lastTimestamp",
                "/deprecatedLastTimestamp",
                "/eventTime",
                "/metadata/creationTimestamp",
            ]
            .iter()
            .find_map(|p| obj.pointer(p).and_then(Value::as_str));
            return ts.map(age_of).unwrap_or(Value::Null);
        }
        p if p.starts_with("#event-object:") => {
            let field = &p["#event-object:".len()..];
            let r = &obj[field];
            let kind = r["kind"].as_str().unwrap_or_default().to_lowercase();
            let name = r["name"].as_str().unwrap_or_default();
            return json!(format!("{kind}/{name}"));
        }
        "#created" => {
            return obj
                .pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null);
        }
        _ => {}
    }
    let vals = jsonpath(obj, &c.json_path);
    if vals.is_empty() {
        return Value::Null;
    }
    let v = if vals.len() == 1 {
        vals[0].clone()
    } else {
        let parts: Vec<String> = vals.iter().map(scalar_text).collect();
        Value::String(parts.join(","))
    };
    match c.type_.as_str() {
        "date" => match v.as_str() {
            Some(s) => age_of(s),
            None => v,
        },
        "integer" | "number" | "boolean" => v,
        _ => match v {
            Value::String(_) => v,
            other => Value::String(scalar_text(&other)),
        },
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluate a simple JSONPath (`.a.b`, `.a[0]`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`, optionally in `{}`).
pub fn jsonpath(obj: &Value, path: &str) -> Vec<Value> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut cur: Vec<&Value> = vec![obj];
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let key: String = chars[start..i].iter().collect();
                if key.is_empty() {
                    continue;
                }
                cur = cur.into_iter().filter_map(|v| v.get(&key)).collect();
            }
            '[' => {
                let start = i + 1;
                let mut depth = 0;
                while i < chars.len() {
                    match chars[i] {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                i += 1;
                cur = index(cur, inner.trim());
            }
            _ => i += 1,
        }
    }
    cur.into_iter().cloned().collect()
}

fn index<'v>(cur: Vec<&'v Value>, inner: &str) -> Vec<&'v Value> {
    if inner == "*" {
        return cur
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(a) => a.iter().collect::<Vec<_>>(),
                Value::Object(m) => m.values().collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    if let Ok(n) = inner.parse::<i64>() {
        return cur
            .into_iter()
            .filter_map(|v| {
                let a = v.as_array()?;
                let idx = if n < 0 { a.len() as i64 + n } else { n };
                a.get(usize::try_from(idx).ok()?)
            })
            .collect();
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        let (lhs, op, rhs) = if let Some((l, r)) = f.split_once("==") {
            (l, true, r)
        } else if let Some((l, r)) = f.split_once("!=") {
            (l, false, r)
        } else {
            return Vec::new();
        };
        let field = lhs.trim().trim_start_matches('@');
        let want = rhs.trim().trim_matches('"').trim_matches('\'').to_string();
        return cur
            .into_iter()
            .filter_map(Value::as_array)
            .flat_map(|a| a.iter())
            .filter(|item| {
                let got = jsonpath(item, field);
                let hit = got.first().map(scalar_text).as_deref() == Some(want.as_str());
                hit == op
            })
            .collect();
    }
    let key = inner.trim_matches('\'').trim_matches('"');
    cur.into_iter().filter_map(|v| v.get(key)).collect()
}

/// Column definitions JSON (Name first).
pub fn column_definitions(info: &ResourceInfo, version: &str) -> Vec<Value> {
    let mut out = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}),
    ];
    for c in columns(info, version) {
        out.push(json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}));
    }
    out
}

/// One row.
pub fn row(info: &ResourceInfo, version: &str, obj: &Value, include_object: &str) -> Value {
    let mut cells = vec![
        obj.pointer("/metadata/name")
            .cloned()
            .unwrap_or(Value::Null),
    ];
    for c in columns(info, version) {
        cells.push(cell(obj, &c));
    }
    let object = match include_object {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => partial_metadata(obj),
    };
    json!({"cells": cells, "object": object})
}

/// A full Table.
pub fn table(
    info: &ResourceInfo,
    version: &str,
    objs: &[Arc<Value>],
    list_meta: Value,
    include_object: &str,
) -> Value {
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| row(info, version, o, include_object))
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
        "columnDefinitions": column_definitions(info, version),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_filters() {
        let o = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}, "spec": {"a": [1, 2]}});
        assert_eq!(
            jsonpath(&o, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(jsonpath(&o, ".spec.a[1]"), vec![json!(2)]);
        assert_eq!(jsonpath(&o, ".spec.a[*]"), vec![json!(1), json!(2)]);
        assert_eq!(jsonpath(&o, "{.spec.a[0]}"), vec![json!(1)]);
        assert!(jsonpath(&o, ".nope.x").is_empty());
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 3 + 60), "3h1m");
        assert_eq!(human_duration(86400 * 3), "3d");
    }
}
