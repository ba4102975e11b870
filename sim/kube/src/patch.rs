//! JSON merge patch, JSON patch and strategic merge patch.

use serde_json::{Map, Value};

use crate::errors::{ApiError, ApiResult};

/// Patch flavours by Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// application/merge-patch+json
    Merge,
    /// application/json-patch+json
    Json,
    /// application/strategic-merge-patch+json
    Strategic,
    /// application/apply-patch+yaml
    Apply,
}

impl PatchKind {
    /// From the Content-Type header.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let ct = ct.split(';').next().unwrap_or_default().trim();
        match ct {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// The 415 for unsupported patch types.
pub fn unsupported_media(custom: bool) -> ApiError {
    let accepted = if custom {
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    } else {
        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
    };
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}"
        ),
    )
}

/// Apply a merge or JSON patch or SMP to `target`.
pub fn apply_patch(kind: PatchKind, target: &Value, body: &[u8]) -> ApiResult<Value> {
    match kind {
        PatchKind::Merge => {
            let p: Value = parse_json(body)?;
            let mut t = target.clone();
            json_patch::merge(&mut t, &p);
            Ok(t)
        }
        PatchKind::Json => {
            // like the API server's json-patch library, `test` of null against a
            // missing path succeeds (kube-rs' finalizer helper relies on it)
            let mut ops: Vec<Value> = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            ops.retain(|op| {
                !(op["op"] == "test"
                    && op.get("value").is_none_or(Value::is_null)
                    && op["path"]
                        .as_str()
                        .is_some_and(|p| target.pointer(p).is_none_or(Value::is_null)))
            });
            let p: json_patch::Patch = serde_json::from_value(Value::Array(ops))
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let mut t = target.clone();
            json_patch::patch(&mut t, &p).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
            Ok(t)
        }
        PatchKind::Strategic => {
            let p: Value = parse_json(body)?;
            let mut t = target.clone();
            strategic_merge(&mut t, &p, "");
            Ok(t)
        }
        PatchKind::Apply => Err(ApiError::internal("apply is not a plain patch")),
    }
}

fn parse_json(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// Patch merge key of a list field, by field name (parent path for ports).
fn merge_key(field: &str, parent: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => "name",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "ports" if parent.ends_with("containers") || parent.ends_with("initContainers") => {
            "containerPort"
        }
        "ports" => "port",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Primitive lists that merge (set union) instead of replace.
fn merges_primitives(field: &str) -> bool {
    matches!(field, "finalizers")
}

/// Strategic merge patch (subset: merge keys, `$patch: delete|replace`,
/// `$retainKeys`, `$deleteFromPrimitiveList/<f>`, `$setElementOrder` ignored).
pub fn strategic_merge(target: &mut Value, patch: &Value, path: &str) {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = pm.clone();
        p.remove("$patch");
        *target = Value::Object(p);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(tm) = target.as_object_mut() else {
        return;
    };
    if let Some(keys) = pm.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        tm.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, pv) in pm {
        if k == "$retainKeys" || k == "$patch" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(del)) = (tm.get_mut(field), pv.as_array()) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if pv.is_null() {
            tm.remove(k);
            continue;
        }
        let child_path = format!("{path}.{k}");
        match pv {
            Value::Object(_) => {
                let entry = tm.entry(k.clone()).or_insert(Value::Null);
                if pv.get("$patch").and_then(Value::as_str) == Some("delete") {
                    tm.remove(k);
                } else {
                    strategic_merge(entry, pv, &child_path);
                }
            }
            Value::Array(items) => {
                let key = merge_key(k, path);
                let existing = tm.get(k).and_then(Value::as_array).cloned();
                match (key, existing) {
                    (Some(mk), Some(mut cur)) if items.iter().all(Value::is_object) => {
                        for it in items {
                            let id = it.get(mk);
                            let pos = cur.iter().position(|c| id.is_some() && c.get(mk) == id);
                            let delete = it.get("$patch").and_then(Value::as_str) == Some("delete");
                            match (pos, delete) {
                                (Some(i), true) => {
                                    cur.remove(i);
                                }
                                (None, true) => {}
                                (Some(i), false) => strategic_merge(&mut cur[i], it, &child_path),
                                (None, false) => {
                                    let mut fresh = Value::Null;
                                    strategic_merge(&mut fresh, it, &child_path);
                                    cur.push(fresh);
                                }
                            }
                        }
                        tm.insert(k.clone(), Value::Array(cur));
                    }
                    (_, Some(mut cur)) if merges_primitives(k) => {
                        for it in items {
                            if !cur.contains(it) {
                                cur.push(it.clone());
                            }
                        }
                        tm.insert(k.clone(), Value::Array(cur));
                    }
                    _ => {
                        tm.insert(k.clone(), pv.clone());
                    }
                }
            }
            _ => {
                tm.insert(k.clone(), pv.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn smp_merges_containers_by_name() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}, {"name": "a", "$patch": "delete"}]}}}});
        strategic_merge(&mut d, &p, "");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}])
        );
    }

    #[test]
    fn smp_retain_keys_and_null() {
        let mut d = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]}, "data": {"k": "v", "j": "w"}});
        let p = json!({"metadata": {"labels": {"a": null}, "finalizers": ["y"]}, "data": {"$retainKeys": ["k"], "k": "v2"}});
        strategic_merge(&mut d, &p, "");
        assert_eq!(d["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(d["metadata"]["finalizers"], json!(["x", "y"]));
        assert_eq!(d["data"], json!({"k": "v2"}));
    }
}
