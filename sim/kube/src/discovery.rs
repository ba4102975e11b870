//! Discovery documents (/version, /api, /apis, /api/v1, /apis/G/V) and the
//! OpenAPI v3 index with per-group-version documents.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::resources::Registry;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// /version.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33",
        "gitVersion": "v1.33.0-sipcred-sim", "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0",
        "compiler": "gc", "platform": "linux/amd64"
    })
}

/// /api.
pub fn api(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

/// group -> ordered versions.
fn groups(reg: &Registry) -> BTreeMap<String, Vec<String>> {
    let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in reg.all() {
        if r.group.is_empty() {
            continue;
        }
        let e = g.entry(r.group.clone()).or_default();
        for v in &r.versions {
            if !e.contains(v) {
                e.push(v.clone());
            }
        }
    }
    for vs in g.values_mut() {
        vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    }
    g
}

/// Kubernetes version ordering: GA > beta > alpha, then by number.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.strip_prefix('v').unwrap_or(v);
    let num_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u32 = rest[..num_end].parse().unwrap_or(0);
    let tail = &rest[num_end..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(b) = tail.strip_prefix("beta") {
        (2, b.parse().unwrap_or(0))
    } else if let Some(a) = tail.strip_prefix("alpha") {
        (1, a.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, major, minor)
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

/// /apis.
pub fn apis(reg: &Registry) -> Value {
    let gs: Vec<Value> = groups(reg).iter().map(|(n, vs)| group_doc(n, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

/// /apis/G.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let g = groups(reg);
    let vs = g.get(name)?;
    let mut d = group_doc(name, vs);
    d["kind"] = json!("APIGroup");
    d["apiVersion"] = json!("v1");
    Some(d)
}

/// /api/v1 or /apis/G/V.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut rs: Vec<_> = reg
        .all()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
        .cloned()
        .collect();
    if rs.is_empty() {
        return None;
    }
    rs.sort_by(|a, b| a.plural.cmp(&b.plural));
    let mut out = Vec::new();
    for r in rs {
        let mut e = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": if r.group == "authorization.k8s.io" { &["create"][..] } else { VERBS },
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        out.push(e);
        if r.has_status {
            out.push(json!({
                "name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}),
    )
}

/// /openapi/v3 index.
pub fn openapi_index(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "api/v1".into(),
        json!({"serverRelativeURL": "/openapi/v3/api/v1?hash=sim"}),
    );
    for (g, vs) in groups(reg) {
        for v in vs {
            let p = format!("apis/{g}/{v}");
            paths.insert(p.clone(), json!({"serverRelativeURL": format!("/{p}?hash=sim").replace("/apis", "/openapi/v3/apis")}));
        }
    }
    json!({"paths": paths})
}

/// Per-group-version OpenAPI v3 document: one PATCH operation per resource
/// carrying `x-kubernetes-group-version-kind` and a `fieldValidation`
/// parameter, so kubectl leaves validation to the server.
pub fn openapi_gv(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let rs: Vec<_> = reg
        .all()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
        .cloned()
        .collect();
    if rs.is_empty() {
        return None;
    }
    let prefix = if group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{group}/{version}")
    };
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    let field_validation = json!({
        "name": "fieldValidation", "in": "query", "uniqueItems": true,
        "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        "schema": {"type": "string"}
    });
    for r in rs {
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        if let Some(cs) = r.schemas.get(version) {
            // lets `kubectl explain` describe custom resources
            let mut sc = cs.schema.clone();
            sc["x-kubernetes-group-version-kind"] = json!([gvk]);
            let reversed: Vec<&str> = group.split('.').rev().collect();
            schemas.insert(format!("{}.{version}.{}", reversed.join("."), r.kind), sc);
        }
        let item = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let op = |action: &str| {
            json!({
                "operationId": format!("{action}{}", r.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [field_validation],
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(item, json!({"patch": op("patch"), "put": op("put")}));
        let coll = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        paths.insert(coll, json!({"post": op("post")}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}
