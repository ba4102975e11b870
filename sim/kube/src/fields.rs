//! managedFields bookkeeping and server-side apply.
//!
//! Field sets are leaf paths; maps are granular, lists are atomic (one leaf).
//! They are written as FieldsV1 (`{"f:data":{"f:x":{}}}`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::errors::ApiError;

/// A leaf path (map keys).
pub type Path = Vec<String>;

/// One managedFields entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager used.
    pub api_version: String,
    /// RFC 3339 time.
    pub time: String,
    /// `status` for /status writes.
    pub subresource: Option<String>,
    /// Owned leaves.
    pub fields: BTreeSet<Path>,
}

/// Which part of the object a write may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything but status (kinds with a status subresource).
    MainWithoutStatus,
    /// Everything (kinds without a status subresource).
    Main,
    /// Only `.status` (the /status subresource).
    Status,
}

const META_TRACKED: &[&str] = &["labels", "annotations", "ownerReferences", "finalizers"];

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// How a list is merged by server-side apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Items keyed by these fields (`x-kubernetes-list-type: map`).
    Map(Vec<String>),
    /// Scalar items as a set (`x-kubernetes-list-type: set`).
    Set,
}

/// The lists of a schema that server-side apply merges per item, by path
/// pattern (`[]` stands for any list item, `*` for any key of a map with
/// `additionalProperties`). Lists not named here are atomic.
#[derive(Clone, Debug, Default)]
pub struct ListTypes(Vec<(Vec<String>, ListKind)>);

impl ListTypes {
    /// Read `x-kubernetes-list-type` (and `-list-map-keys`) from an openAPIV3Schema.
    pub fn from_schema(schema: &Value) -> Self {
        let mut out = Vec::new();
        walk_schema(schema, &mut Vec::new(), &mut out);
        Self(out)
    }

    fn find(&self, path: &Path) -> Option<ListKind> {
        self.0.iter().find_map(|(pattern, kind)| {
            let same = pattern.len() == path.len()
                && pattern.iter().zip(path).all(|(want, seg)| {
                    if seg.starts_with('\0') {
                        want == "[]"
                    } else {
                        want == "*" || want == seg
                    }
                });
            same.then(|| kind.clone())
        })
    }
}

fn walk_schema(s: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, ListKind)>) {
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let keys: Vec<String> = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| {
                    k.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            if !keys.is_empty() {
                out.push((path.clone(), ListKind::Map(keys)));
            }
        }
        Some("set") => out.push((path.clone(), ListKind::Set)),
        _ => {}
    }
    if let Some(items) = s.get("items").filter(|i| i.is_object()) {
        path.push("[]".into());
        walk_schema(items, path, out);
        path.pop();
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            path.push(k.clone());
            walk_schema(p, path, out);
            path.pop();
        }
    }
    if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
        path.push("*".into());
        walk_schema(ap, path, out);
        path.pop();
    }
}

fn list_kind(path: &Path, types: &ListTypes) -> Option<ListKind> {
    match path
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["metadata", "ownerReferences"] => Some(ListKind::Map(vec!["uid".into()])),
        ["metadata", "finalizers"] => Some(ListKind::Set),
        _ => types.find(path),
    }
}

/// Internal path segment of a keyed list item (`\0k:{...}` / `\0v:...`);
/// the NUL keeps it apart from any map key.
fn item_segment(kind: &ListKind, item: &Value) -> Option<String> {
    match kind {
        ListKind::Map(keys) => {
            let mut m = Map::new();
            for k in keys {
                m.insert(k.clone(), item.get(k)?.clone());
            }
            Some(format!("\0k:{}", Value::Object(m)))
        }
        ListKind::Set => Some(format!("\0v:{item}")),
    }
}

/// Is `field` one of the key fields of the list-map item `seg`?
fn is_key_field(seg: &str, field: &str) -> bool {
    seg.strip_prefix("\0k:")
        .and_then(|k| serde_json::from_str::<Map<String, Value>>(k).ok())
        .is_some_and(|m| m.contains_key(field))
}

fn item_matches(seg: &str, item: &Value) -> bool {
    if let Some(k) = seg.strip_prefix("\0k:") {
        let Ok(Value::Object(want)) = serde_json::from_str::<Value>(k) else {
            return false;
        };
        want.iter().all(|(f, v)| item.get(f) == Some(v))
    } else if let Some(v) = seg.strip_prefix("\0v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|want| &want == item)
    } else {
        false
    }
}

fn collect(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>, types: &ListTypes) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                prefix.push(k.clone());
                collect(c, prefix, out, types);
                prefix.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match list_kind(prefix, types) {
            Some(kind) => {
                let segs: Option<Vec<String>> =
                    items.iter().map(|i| item_segment(&kind, i)).collect();
                match segs {
                    Some(segs) => {
                        for (seg, item) in segs.into_iter().zip(items) {
                            prefix.push(seg);
                            // items of a list map own their fields one by one
                            match (&kind, item) {
                                // (owner references are atomic structs, owned whole)
                                (ListKind::Map(_), Value::Object(m))
                                    if !m.is_empty() && prefix[0] != "metadata" =>
                                {
                                    collect(item, prefix, out, types)
                                }
                                _ => {
                                    out.insert(prefix.clone());
                                }
                            }
                            prefix.pop();
                        }
                    }
                    None => {
                        out.insert(prefix.clone());
                    }
                }
            }
            None => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

/// Leaf paths of an object within `scope`.
pub fn leaves(obj: &Value, scope: Scope, types: &ListTypes) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Some(m) = obj.as_object() else { return out };
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if scope == Scope::Status {
                    continue;
                }
                if let Some(meta) = v.as_object() {
                    for t in META_TRACKED {
                        if let Some(x) = meta.get(*t) {
                            let mut p = vec!["metadata".to_string(), t.to_string()];
                            collect(x, &mut p, &mut out, types);
                        }
                    }
                }
            }
            "status" if scope == Scope::MainWithoutStatus => {}
            _ if scope == Scope::Status && k != "status" => {}
            _ => {
                let mut p = vec![k.clone()];
                collect(v, &mut p, &mut out, types);
            }
        }
    }
    out
}

/// Value at a leaf path.
pub fn value_at<'v>(obj: &'v Value, p: &Path) -> Option<&'v Value> {
    let mut cur = obj;
    for k in p {
        cur = if k.starts_with('\0') {
            cur.as_array()?.iter().find(|i| item_matches(k, i))?
        } else {
            cur.as_object()?.get(k)?
        };
    }
    Some(cur)
}

fn remove_at(obj: &mut Value, p: &Path) {
    if p.is_empty() {
        return;
    }
    let last = &p[p.len() - 1];
    if last.starts_with('\0') {
        let list_path: Path = p[..p.len() - 1].to_vec();
        let mut empty = false;
        if let Some(Value::Array(items)) = value_at_mut(obj, &list_path) {
            items.retain(|i| !item_matches(last, i));
            empty = items.is_empty();
        }
        if empty {
            remove_at(obj, &list_path);
        }
        return;
    }
    let Some(parent) = value_at_mut(obj, &p[..p.len() - 1].to_vec()) else {
        return;
    };
    if let Some(m) = parent.as_object_mut() {
        m.remove(last);
    }
}

fn value_at_mut<'v>(obj: &'v mut Value, p: &Path) -> Option<&'v mut Value> {
    let mut cur = obj;
    for k in p {
        cur = if k.starts_with('\0') {
            cur.as_array_mut()?
                .iter_mut()
                .find(|i| item_matches(k, i))?
        } else {
            cur.as_object_mut()?.get_mut(k)?
        };
    }
    Some(cur)
}

fn set_at(obj: &mut Value, p: &Path, v: Value) {
    let last = &p[p.len() - 1];
    let mut cur = obj;
    for k in &p[..p.len() - 1] {
        if k.starts_with('\0') {
            // an item of a list map: found by its key, else added with it
            if !cur.is_array() {
                *cur = Value::Array(Vec::new());
            }
            let items = cur.as_array_mut().expect("array ensured above");
            let at = match items.iter().position(|i| item_matches(k, i)) {
                Some(at) => at,
                None => {
                    let key = k
                        .strip_prefix("\0k:")
                        .and_then(|j| serde_json::from_str::<Value>(j).ok())
                        .unwrap_or_else(|| json!({}));
                    items.push(key);
                    items.len() - 1
                }
            };
            cur = &mut items[at];
            continue;
        }
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let m = cur.as_object_mut().expect("object ensured above");
        cur = m
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if last.starts_with('\0') {
        if !cur.is_array() {
            *cur = Value::Array(Vec::new());
        }
        if let Some(items) = cur.as_array_mut() {
            match items.iter_mut().find(|i| item_matches(last, i)) {
                Some(i) => *i = v,
                None => items.push(v),
            }
        }
        return;
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    if let Some(m) = cur.as_object_mut() {
        m.insert(last.clone(), v);
    }
}

/// FieldsV1 JSON of a set.
pub fn to_fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for k in p {
            let name = match k.strip_prefix('\0') {
                Some(item) => item.to_string(),
                None => format!("f:{k}"),
            };
            let e = cur.entry(name).or_insert_with(|| json!({}));
            cur = e.as_object_mut().expect("fields nodes are objects");
        }
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object() else { return };
    let children: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(k, _)| k.starts_with("f:") || k.starts_with("k:") || k.starts_with("v:"))
        .collect();
    if children.is_empty() {
        if !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        return;
    }
    for (k, c) in children {
        match k.strip_prefix("f:") {
            Some(name) => prefix.push(name.to_string()),
            None => prefix.push(format!("\0{k}")),
        }
        from_fields_v1(c, prefix, out);
        prefix.pop();
    }
}

/// Parse `metadata.managedFields`.
pub fn entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let mut fields = BTreeSet::new();
            if let Some(f) = e.get("fieldsV1") {
                from_fields_v1(f, &mut Vec::new(), &mut fields);
            }
            Entry {
                manager: e["manager"].as_str().unwrap_or_default().into(),
                operation: e["operation"].as_str().unwrap_or("Update").into(),
                api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
                time: e["time"].as_str().unwrap_or_default().into(),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .map(String::from),
                fields,
            }
        })
        .collect()
}

/// Write entries into `metadata.managedFields` (empty ones dropped).
pub fn store_entries(obj: &mut Value, list: Vec<Entry>) {
    let arr: Vec<Value> = list
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if let Some(s) = e.subresource {
                v["subresource"] = Value::String(s);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if arr.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(arr));
        }
    }
}

fn subresource_of(scope: Scope) -> Option<String> {
    (scope == Scope::Status).then(|| "status".to_string())
}

/// Record an Update by `manager`: it takes ownership of the fields it
/// changed; fields that disappeared leave every set.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    scope: Scope,
    types: &ListTypes,
) {
    let mut list = old.map(entries).unwrap_or_default();
    let all_new = leaves(new, Scope::Main, types);
    let scoped = leaves(new, scope, types);
    let changed: BTreeSet<Path> = scoped
        .into_iter()
        .filter(|p| old.and_then(|o| value_at(o, p)) != value_at(new, p))
        .collect();
    let sub = subresource_of(scope);
    for e in list.iter_mut() {
        e.fields.retain(|p| all_new.contains(p));
        if !(e.manager == manager && e.operation == "Update" && e.subresource == sub) {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match list
            .iter_mut()
            .find(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub)
        {
            Some(e) => {
                e.fields.extend(changed);
                e.time = now();
                e.api_version = api_version.into();
            }
            None => list.push(Entry {
                manager: manager.into(),
                operation: "Update".into(),
                api_version: api_version.into(),
                time: now(),
                subresource: sub,
                fields: changed,
            }),
        }
    }
    store_entries(new, list);
}

fn render_path(p: &Path) -> String {
    p.iter()
        .map(|k| {
            if let Some(key) = k.strip_prefix("\0k:") {
                let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(key)
                    .map(|m| m.iter().map(|(f, v)| format!("{f}={v}")).collect())
                    .unwrap_or_default();
                format!("[{}]", parts.join(","))
            } else if let Some(v) = k.strip_prefix("\0v:") {
                format!("[={v}]")
            } else {
                format!(".{k}")
            }
        })
        .collect()
}

fn deep_merge(target: &mut Value, src: &Value) {
    match (target, src) {
        (Value::Object(t), Value::Object(s)) => {
            for (k, v) in s {
                match t.get_mut(k) {
                    Some(tv) if tv.is_object() && v.is_object() => deep_merge(tv, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, s) => *t = s.clone(),
    }
}

/// Server-side apply of `applied` onto `live` by `manager`.
/// Returns the merged object (managedFields updated) or a 409 with causes.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    scope: Scope,
    types: &ListTypes,
) -> Result<Value, ApiError> {
    let mut list = live.map(entries).unwrap_or_default();
    let sub = subresource_of(scope);
    let mine = |e: &Entry| e.manager == manager && e.operation == "Apply" && e.subresource == sub;
    let a_leaves = leaves(applied, scope, types);
    let empty = json!({});
    let live_v = live.unwrap_or(&empty);
    // conflicts
    let mut conflicts: Vec<(String, Option<String>, String, Path)> = Vec::new();
    for p in &a_leaves {
        let lv = value_at(live_v, p);
        if lv.is_none() || lv == value_at(applied, p) {
            continue;
        }
        for e in list
            .iter()
            .filter(|e| e.manager != manager && e.fields.contains(p))
        {
            // Apply managers are named without a version, Update managers with one
            let version = if e.operation == "Apply" {
                String::new()
            } else {
                e.api_version.clone()
            };
            conflicts.push((e.manager.clone(), e.subresource.clone(), version, p.clone()));
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&conflicts));
        }
        for (m, s, _, p) in &conflicts {
            for e in list
                .iter_mut()
                .filter(|e| &e.manager == m && &e.subresource == s)
            {
                e.fields.remove(p);
            }
        }
    }
    let prev: BTreeSet<Path> = list
        .iter()
        .find(|e| mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut merged = live.cloned().unwrap_or_else(
        || json!({"apiVersion": applied["apiVersion"], "kind": applied["kind"], "metadata": {}}),
    );
    for p in prev.difference(&a_leaves) {
        let shared = list.iter().any(|e| !mine(e) && e.fields.contains(p));
        if shared {
            continue;
        }
        // A field inside a list-map item: the item goes once nobody owns
        // anything in it; while others do, its key fields stay.
        match p.iter().rposition(|k| k.starts_with('\0')) {
            Some(i) if i + 1 < p.len() => {
                let item = &p[..=i];
                let owned = |f: &Path| f.len() > i && f[..=i] == *item;
                let others = list.iter().any(|e| !mine(e) && e.fields.iter().any(owned))
                    || a_leaves.iter().any(owned);
                if !others {
                    remove_at(&mut merged, &item.to_vec());
                } else if !is_key_field(&p[i], &p[i + 1]) {
                    remove_at(&mut merged, p);
                }
            }
            _ => remove_at(&mut merged, p),
        }
    }
    for p in &a_leaves {
        if let Some(v) = value_at(applied, p) {
            // An empty map, or an empty list that merges per item, adds nothing
            // to what is there: other managers' keys and items stay.
            let granular_empty = match v {
                Value::Object(m) => m.is_empty(),
                Value::Array(a) => a.is_empty() && list_kind(p, types).is_some(),
                _ => false,
            };
            let there = value_at(&merged, p).is_some_and(|old| {
                old.is_object() == v.is_object() && old.is_array() == v.is_array()
            });
            if granular_empty && there {
                continue;
            }
            set_at(&mut merged, p, v.clone());
        }
    }
    if live.is_none() {
        // creation: keep identifying metadata from the applied object
        if let Some(meta) = applied.get("metadata").and_then(Value::as_object) {
            for k in ["name", "namespace", "generateName"] {
                if let Some(v) = meta.get(k) {
                    merged["metadata"][k] = v.clone();
                }
            }
        }
        if scope != Scope::Status {
            let mut rest = applied.clone();
            if let Some(m) = rest.as_object_mut() {
                m.remove("metadata");
                if scope == Scope::MainWithoutStatus {
                    m.remove("status");
                }
            }
            deep_merge(&mut merged, &rest);
        }
    }
    match list.iter_mut().find(|e| mine(e)) {
        Some(e) => {
            e.fields = a_leaves;
            e.time = now();
            e.api_version = api_version.into();
        }
        None => list.push(Entry {
            manager: manager.into(),
            operation: "Apply".into(),
            api_version: api_version.into(),
            time: now(),
            subresource: sub,
            fields: a_leaves,
        }),
    }
    store_entries(&mut merged, list);
    Ok(merged)
}

fn conflict_error(conflicts: &[(String, Option<String>, String, Path)]) -> ApiError {
    let who = |m: &str, s: &Option<String>, v: &str| {
        let using = if v.is_empty() {
            String::new()
        } else {
            format!(" using {v}")
        };
        match s {
            Some(s) => format!("\"{m}\" with subresource \"{s}\"{using}"),
            None => format!("\"{m}\"{using}"),
        }
    };
    let n = conflicts.len();
    let message = if n == 1 {
        let (m, s, v, p) = &conflicts[0];
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            who(m, s, v),
            render_path(p)
        )
    } else {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (m, s, v, p) in conflicts {
            let w = who(m, s, v);
            match groups.iter_mut().find(|(g, _)| *g == w) {
                Some((_, ps)) => ps.push(render_path(p)),
                None => groups.push((w, vec![render_path(p)])),
            }
        }
        let body: Vec<String> = groups
            .iter()
            .map(|(w, ps)| {
                if ps.len() == 1 {
                    format!("conflict with {w}: {}", ps[0])
                } else {
                    let lines: Vec<String> = ps.iter().map(|p| format!("- {p}")).collect();
                    format!("conflicts with {w}:\n{}", lines.join("\n"))
                }
            })
            .collect();
        format!("Apply failed with {n} conflicts: {}", body.join("\n"))
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, s, v, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", who(m, s, v)), "field": render_path(p)})
        })
        .collect();
    ApiError::new(409, "Conflict", message).with_details(json!({"causes": causes}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_references_and_finalizers_merge_per_item() {
        let base = |refs: Value, fins: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default", "ownerReferences": refs, "finalizers": fins}});
        let a = apply(
            None,
            &base(json!([{"uid": "1", "name": "a"}]), json!(["x/a"])),
            "a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("a");
        let b = apply(
            Some(&a),
            &base(json!([{"uid": "2", "name": "b"}]), json!(["x/b"])),
            "b",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("no conflict between items");
        assert_eq!(
            b["metadata"]["ownerReferences"]
                .as_array()
                .expect("refs")
                .len(),
            2
        );
        assert_eq!(b["metadata"]["finalizers"], json!(["x/a", "x/b"]));
        let f = &entries(&b)[1].fields;
        assert!(
            to_fields_v1(f)["f:metadata"]["f:ownerReferences"]
                .get("k:{\"uid\":\"2\"}")
                .is_some()
        );
        // a stops sending its items: only those go
        let c = apply(
            Some(&b),
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
            "a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("a again");
        assert_eq!(
            c["metadata"]["ownerReferences"],
            json!([{"uid": "2", "name": "b"}])
        );
        assert_eq!(c["metadata"]["finalizers"], json!(["x/b"]));
        // changing another manager's item conflicts
        let e = apply(
            Some(&c),
            &base(json!([{"uid": "2", "name": "changed"}]), json!([])),
            "a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect_err("conflict");
        assert!(
            e.message.contains(".metadata.ownerReferences[uid=\"2\"]"),
            "{}",
            e.message
        );
    }

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}, "data": data})
    }

    #[test]
    fn apply_owns_and_removes_fields() {
        let a = apply(
            None,
            &secret(json!({"x": "MQ==", "y": "Mg=="})),
            "mgr-a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("apply");
        assert_eq!(
            a["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:x": {}, "f:y": {}}})
        );
        assert_eq!(a["metadata"]["managedFields"][0]["operation"], "Apply");
        let b = apply(
            Some(&a),
            &secret(json!({"x": "MQ=="})),
            "mgr-a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("apply");
        assert!(
            b["data"].get("y").is_none(),
            "field no longer applied is removed"
        );
        let e = apply(
            Some(&b),
            &secret(json!({"x": "Mw=="})),
            "mgr-b",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect_err("conflict");
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"mgr-a\": .data.x"
        );
        assert_eq!(
            e.details.as_ref().expect("d")["causes"][0]["reason"],
            "FieldManagerConflict"
        );
        let c = apply(
            Some(&b),
            &secret(json!({"x": "Mw=="})),
            "mgr-b",
            true,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("force");
        assert_eq!(c["data"]["x"], "Mw==");
        let es = entries(&c);
        assert!(
            es.iter().all(|e| e.manager == "mgr-b"),
            "ownership transferred: {es:?}"
        );
        // same value: shared ownership, no conflict
        let d = apply(
            Some(&c),
            &secret(json!({"x": "Mw=="})),
            "mgr-a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("shared");
        assert_eq!(entries(&d).len(), 2);
    }

    #[test]
    fn update_takes_ownership() {
        let a = apply(
            None,
            &secret(json!({"x": "MQ=="})),
            "mgr-a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("apply");
        let mut n = a.clone();
        n["data"]["x"] = json!("Mg==");
        record_update(
            Some(&a),
            &mut n,
            "editor",
            "v1",
            Scope::Main,
            &ListTypes::default(),
        );
        let es = entries(&n);
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].manager, "editor");
        assert_eq!(es[0].operation, "Update");
    }

    fn with_conditions(conds: Value) -> Value {
        json!({"apiVersion": "x.io/v1", "kind": "K", "metadata": {"name": "k"}, "status": {"conditions": conds}})
    }

    fn cond(t: &str, status: &str) -> Value {
        json!({"type": t, "status": status})
    }

    #[test]
    fn list_map_items_are_owned_per_key_and_field() {
        let schema = json!({"type": "object", "properties": {"status": {"type": "object", "properties": {
            "conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                           "items": {"type": "object", "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}}}}}});
        let types = ListTypes::from_schema(&schema);
        let apply_as = |live: Option<&Value>, conds: Value, mgr: &str, force: bool| {
            apply(
                live,
                &with_conditions(conds),
                mgr,
                force,
                "x.io/v1",
                Scope::Status,
                &types,
            )
        };
        let a = apply_as(None, json!([cond("Ready", "True")]), "a", false).expect("a");
        let b = apply_as(Some(&a), json!([cond("Synced", "False")]), "b", false).expect("b");
        assert_eq!(
            b["status"]["conditions"],
            json!([cond("Ready", "True"), cond("Synced", "False")]),
            "each manager's item is kept"
        );
        let e = apply_as(Some(&b), json!([cond("Ready", "False")]), "b", false)
            .expect_err("another manager's item field conflicts");
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"a\" with subresource \"status\": .status.conditions[type=\"Ready\"].status"
        );
        // force moves ownership; a re-applying without the item leaves it alone
        let c = apply_as(
            Some(&b),
            json!([cond("Synced", "False"), cond("Ready", "False")]),
            "b",
            true,
        )
        .expect("force");
        let d = apply_as(Some(&c), json!([]), "a", false).expect("a lets go");
        assert_eq!(
            d["status"]["conditions"],
            json!([cond("Ready", "False"), cond("Synced", "False")])
        );
        // b drops Ready, which nobody else owns: the whole item goes
        let e = apply_as(Some(&d), json!([cond("Synced", "False")]), "b", false).expect("b");
        assert_eq!(e["status"]["conditions"], json!([cond("Synced", "False")]));
    }

    #[test]
    fn forced_field_stays_when_the_old_manager_reapplies_without_it() {
        let a = apply(
            None,
            &secret(json!({"x": "MQ==", "y": "Mg=="})),
            "a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("a");
        let b = apply(
            Some(&a),
            &secret(json!({"x": "Mw=="})),
            "b",
            true,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("b forces");
        let again = apply(
            Some(&b),
            &secret(json!({"y": "Mg=="})),
            "a",
            false,
            "v1",
            Scope::Main,
            &ListTypes::default(),
        )
        .expect("a again");
        assert_eq!(again["data"], json!({"x": "Mw==", "y": "Mg=="}));
        let owners: Vec<(String, Value)> = entries(&again)
            .into_iter()
            .map(|e| (e.manager, to_fields_v1(&e.fields)))
            .collect();
        assert_eq!(
            owners,
            vec![
                ("a".to_string(), json!({"f:data": {"f:y": {}}})),
                ("b".to_string(), json!({"f:data": {"f:x": {}}}))
            ]
        );
    }
}
