//! Garbage collector: ownerReferences (background, foreground with
//! blockOwnerDeletion, orphan) and namespace termination.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::ops::{self, DeleteOpts, Propagation, deleting};
use crate::store::{Store, obj_key};

fn uid(v: &Value) -> &str {
    v.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn owner_refs(v: &Value) -> Vec<&Value> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn has_finalizer(v: &Value, f: &str) -> bool {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(f)))
}

/// One collection pass; returns true if anything changed. Looks only at the objects
/// the store queued (see `Store::gc_pending`), unless a namespace or CRD is being
/// deleted, whose cleanup reaches everything in it.
pub fn pass(st: &mut Store) -> bool {
    if st.gc_terminating() {
        st.take_gc_queue();
        return full_pass(st);
    }
    let mut actions = Vec::new();
    for (key, (ns, name)) in st.take_gc_queue() {
        let Some(o) = st.get(&key, &ns, &name) else {
            continue;
        };
        as_dependent(st, &key, &o, &mut actions);
        if deleting(&o) {
            as_owner(st, &key, &o, &mut actions);
        }
    }
    let changed = !actions.is_empty();
    for a in actions {
        a.run(st);
    }
    changed
}

/// What happens to `o` because of its owners: dropped when none is left (background),
/// deleted with a foreground-deleted owner, its reference dropped for an orphaning one.
fn as_dependent(st: &Store, key: &str, o: &Arc<Value>, actions: &mut Vec<Action>) {
    let refs = owner_refs(o);
    if refs.is_empty() {
        return;
    }
    let mut live = 0;
    for r in &refs {
        let ruid = r["uid"].as_str().unwrap_or_default();
        let Some((_, owner)) = st.by_uid(ruid) else {
            continue;
        };
        live += 1;
        if deleting(&owner) && has_finalizer(&owner, "orphan") {
            actions.push(Action::DropRef(
                key.to_string(),
                o.clone(),
                ruid.to_string(),
            ));
        } else if deleting(&owner) && has_finalizer(&owner, "foregroundDeletion") && !deleting(o) {
            actions.push(Action::Delete(
                key.to_string(),
                o.clone(),
                Propagation::Foreground,
            ));
        }
    }
    if live == 0 && !deleting(o) {
        actions.push(Action::Delete(
            key.to_string(),
            o.clone(),
            Propagation::Background,
        ));
    }
}

/// The finalizers of a deleted owner that wait for its dependents: foregroundDeletion
/// until no dependent blocks it, orphan until none names it.
fn as_owner(st: &Store, key: &str, o: &Arc<Value>, actions: &mut Vec<Action>) {
    let u = uid(o);
    let deps = st.dependents_of(u);
    let blocking = deps.iter().any(|d| {
        owner_refs(d).iter().any(|r| {
            r["uid"].as_str() == Some(u) && r["blockOwnerDeletion"].as_bool().unwrap_or(false)
        })
    });
    if has_finalizer(o, "foregroundDeletion") && !blocking {
        actions.push(Action::RemoveFinalizer(
            key.to_string(),
            o.clone(),
            "foregroundDeletion",
        ));
    }
    if has_finalizer(o, "orphan") && deps.is_empty() {
        actions.push(Action::RemoveFinalizer(
            key.to_string(),
            o.clone(),
            "orphan",
        ));
    }
}

/// A pass over every object (namespace and CRD cleanup).
fn full_pass(st: &mut Store) -> bool {
    let all: Vec<(String, Arc<Value>)> = st
        .all_objects()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let by_uid: HashMap<&str, &Arc<Value>> = all.iter().map(|(_, v)| (uid(v), v)).collect();
    let mut dependents: HashMap<String, Vec<(bool, bool)>> = HashMap::new(); // owner uid -> (block, dependent deleting)
    let mut actions: Vec<Action> = Vec::new();
    for (key, o) in &all {
        let refs = owner_refs(o);
        if refs.is_empty() {
            continue;
        }
        let mut live = 0;
        for r in &refs {
            let ruid = r["uid"].as_str().unwrap_or_default();
            let block = r["blockOwnerDeletion"].as_bool().unwrap_or(false);
            dependents
                .entry(ruid.to_string())
                .or_default()
                .push((block, deleting(o)));
            if let Some(owner) = by_uid.get(ruid) {
                {
                    live += 1;
                    if deleting(owner) && has_finalizer(owner, "orphan") {
                        actions.push(Action::DropRef(key.clone(), o.clone(), ruid.to_string()));
                    } else if deleting(owner)
                        && has_finalizer(owner, "foregroundDeletion")
                        && !deleting(o)
                    {
                        actions.push(Action::Delete(
                            key.clone(),
                            o.clone(),
                            Propagation::Foreground,
                        ));
                    }
                }
            }
        }
        if live == 0 && !deleting(o) {
            actions.push(Action::Delete(
                key.clone(),
                o.clone(),
                Propagation::Background,
            ));
        }
    }
    let mut terminating_ns: HashSet<String> = HashSet::new();
    for (key, o) in &all {
        if !deleting(o) {
            continue;
        }
        let u = uid(o);
        let deps = dependents.get(u);
        if has_finalizer(o, "foregroundDeletion")
            && !deps.is_some_and(|d| d.iter().any(|(block, _)| *block))
        {
            // dependents without blockOwnerDeletion do not hold the owner
            let any_live_dep = deps.is_some_and(|d| d.iter().any(|(b, _)| *b));
            if !any_live_dep {
                actions.push(Action::RemoveFinalizer(
                    key.clone(),
                    o.clone(),
                    "foregroundDeletion",
                ));
            }
        }
        if has_finalizer(o, "orphan") && deps.is_none() {
            actions.push(Action::RemoveFinalizer(key.clone(), o.clone(), "orphan"));
        }
        if key == "/namespaces" {
            terminating_ns.insert(obj_key(o).1);
        }
        if key == ops::CRD_KEY && has_finalizer(o, ops::CRD_CLEANUP) {
            if let Some(ci) = crate::resources::from_crd(o) {
                let instances = st.list(&ci.key(), None);
                for i in &instances {
                    if !deleting(i) {
                        actions.push(Action::Delete(ci.key(), i.clone(), Propagation::Background));
                    }
                }
                if instances.is_empty() {
                    actions.push(Action::RemoveFinalizer(
                        key.clone(),
                        o.clone(),
                        ops::CRD_CLEANUP,
                    ));
                }
            }
        }
    }
    for ns in &terminating_ns {
        let mut remaining = 0;
        for (key, o) in &all {
            if obj_key(o).0 == *ns && key != "/namespaces" {
                remaining += 1;
                if !deleting(o) {
                    actions.push(Action::Delete(
                        key.clone(),
                        o.clone(),
                        Propagation::Background,
                    ));
                }
            }
        }
        if remaining == 0 {
            actions.push(Action::FinishNamespace(ns.clone()));
        }
    }
    let changed = !actions.is_empty();
    for a in actions {
        a.run(st);
    }
    changed
}

enum Action {
    Delete(String, Arc<Value>, Propagation),
    DropRef(String, Arc<Value>, String),
    RemoveFinalizer(String, Arc<Value>, &'static str),
    FinishNamespace(String),
}

impl Action {
    fn run(self, st: &mut Store) {
        match self {
            Action::Delete(key, o, p) => {
                let (ns, name) = obj_key(&o);
                // act only on the current version
                let Some(cur) = st.get(&key, &ns, &name) else {
                    return;
                };
                if uid(&cur) != uid(&o) || deleting(&cur) {
                    return;
                }
                if let Some(info) = st.registry.get(&key) {
                    let opts = DeleteOpts {
                        propagation: Some(p),
                        ..Default::default()
                    };
                    let _ = ops::delete(st, &info, &ns, &name, &opts);
                }
            }
            Action::DropRef(key, o, owner) => {
                let (ns, name) = obj_key(&o);
                let Some(cur) = st.get(&key, &ns, &name) else {
                    return;
                };
                let mut n = (*cur).clone();
                let refs: Vec<Value> = owner_refs(&cur)
                    .into_iter()
                    .filter(|r| r["uid"].as_str() != Some(owner.as_str()))
                    .cloned()
                    .collect();
                if refs.is_empty() {
                    if let Some(m) = n["metadata"].as_object_mut() {
                        m.remove("ownerReferences");
                    }
                } else {
                    n["metadata"]["ownerReferences"] = json!(refs);
                }
                st.put(&key, n);
            }
            Action::RemoveFinalizer(key, o, f) => {
                let (ns, name) = obj_key(&o);
                let Some(cur) = st.get(&key, &ns, &name) else {
                    return;
                };
                if has_finalizer(&cur, f) {
                    ops::remove_finalizer(st, &key, &cur, f);
                }
            }
            Action::FinishNamespace(ns) => {
                st.remove("/namespaces", "", &ns);
            }
        }
    }
}

/// Run passes until nothing changes (bounded).
pub fn collect(st: &mut Store) {
    for _ in 0..50 {
        if !pass(st) {
            break;
        }
    }
}
