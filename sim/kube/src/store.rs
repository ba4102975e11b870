//! The object store: one monotonic resourceVersion for everything, objects
//! by resource and (namespace, name), a bounded event history for watch
//! resumption and a broadcast channel feeding live watchers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::resources::Registry;

/// Watch event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change.
#[derive(Debug)]
pub struct Event {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Resource key (`group/plural`).
    pub key: String,
    /// Type.
    pub etype: EventType,
    /// Object after the change (for DELETED: the last state).
    pub obj: Arc<Value>,
    /// Object before the change (MODIFIED only).
    pub old: Option<Arc<Value>>,
}

/// (namespace, name); namespace is "" for cluster-scoped objects.
pub type ObjKey = (String, String);

/// All state behind one lock.
pub struct Store {
    /// Current resourceVersion.
    pub rv: u64,
    /// Served resources.
    pub registry: Registry,
    tables: HashMap<String, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<Event>>,
    cap: usize,
    /// Highest resourceVersion evicted from the history (0: none).
    pub compacted: u64,
    tx: broadcast::Sender<Arc<Event>>,
    /// What the garbage collector has to look at.
    gc_index: GcIndex,
}

/// Where a stored object lives: resource key and (namespace, name).
pub type Place = (String, ObjKey);

/// What the garbage collector needs to look at only the objects a write concerns,
/// instead of scanning the whole store (at 10,000 owners and 10,000 owned Secrets a
/// full scan per write held the store's lock most of the time during mass deletes).
#[derive(Default)]
struct GcIndex {
    /// Live uids and where each object is.
    by_uid: HashMap<String, Place>,
    /// Owner uid -> the objects naming it in `ownerReferences`.
    dependents: HashMap<String, HashSet<Place>>,
    /// Uids of objects being deleted.
    deleting: HashSet<String>,
    /// Namespaces and CRDs being deleted: their cleanup reaches every object in them,
    /// so the collector scans everything while there are any.
    terminating: usize,
    /// Objects to look at on the next pass.
    queue: HashSet<Place>,
}

fn uid_of(v: &Value) -> Option<&str> {
    v.pointer("/metadata/uid").and_then(Value::as_str)
}

fn owner_uids(v: &Value) -> Vec<&str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r["uid"].as_str()).collect())
        .unwrap_or_default()
}

fn is_deleting(v: &Value) -> bool {
    v.pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
}

fn terminates_others(place: &Place) -> bool {
    place.0 == "/namespaces" || place.0 == crate::ops::CRD_KEY
}

impl GcIndex {
    fn forget(&mut self, place: &Place, v: &Value) {
        if let Some(u) = uid_of(v) {
            if self.by_uid.get(u) == Some(place) {
                self.by_uid.remove(u);
            }
            if self.deleting.remove(u) && terminates_others(place) {
                self.terminating -= 1;
            }
        }
        for o in owner_uids(v) {
            if let Some(d) = self.dependents.get_mut(o) {
                d.remove(place);
                if d.is_empty() {
                    self.dependents.remove(o);
                }
            }
        }
    }

    fn learn(&mut self, place: &Place, v: &Value) {
        let uid = uid_of(v).unwrap_or_default();
        if !uid.is_empty() {
            self.by_uid.insert(uid.to_string(), place.clone());
        }
        let owners = owner_uids(v);
        for o in &owners {
            self.dependents
                .entry((*o).to_string())
                .or_default()
                .insert(place.clone());
        }
        // A dependent matters when an owner is missing or being deleted.
        if owners
            .iter()
            .any(|o| !self.by_uid.contains_key(*o) || self.deleting.contains(*o))
        {
            self.queue.insert(place.clone());
        }
        if is_deleting(v) && !uid.is_empty() {
            if self.deleting.insert(uid.to_string()) && terminates_others(place) {
                self.terminating += 1;
            }
            // Its finalizers (orphan, foregroundDeletion) and its dependents' fate.
            self.queue.insert(place.clone());
            if let Some(d) = self.dependents.get(uid) {
                self.queue.extend(d.iter().cloned());
            }
        }
    }

    /// Owners being deleted that `v` names: they may be waiting for it.
    fn wake_deleting_owners(&mut self, v: &Value) {
        for o in owner_uids(v) {
            if self.deleting.contains(o)
                && let Some(p) = self.by_uid.get(o)
            {
                self.queue.insert(p.clone());
            }
        }
    }

    /// An object is gone: its dependents may have no owner left.
    fn gone(&mut self, v: &Value) {
        self.wake_deleting_owners(v);
        if let Some(d) = uid_of(v).and_then(|u| self.dependents.get(u)) {
            self.queue.extend(d.iter().cloned());
        }
    }
}

/// Read `metadata.namespace` / `metadata.name`.
pub fn obj_key(v: &Value) -> ObjKey {
    let m = &v["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// `metadata.resourceVersion` as a number.
pub fn obj_rv(v: &Value) -> u64 {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Store {
    /// Empty store with the built-in resources.
    pub fn new(history: usize) -> Self {
        let (tx, _) = broadcast::channel(65_536);
        Self {
            rv: 1,
            registry: Registry::with_builtins(),
            tables: HashMap::new(),
            history: VecDeque::new(),
            cap: history.max(1),
            compacted: 0,
            tx,
            gc_index: GcIndex::default(),
        }
    }

    /// Change the history bound.
    pub fn set_history(&mut self, cap: usize) {
        self.cap = cap.max(1);
        self.trim();
    }

    fn trim(&mut self) {
        while self.history.len() > self.cap {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    /// Subscribe to live events (call under the lock that also read the history).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Events after `rv` for resource `key`; Err(oldest) if `rv` is too old.
    pub fn history_since(&self, key: &str, rv: u64) -> Result<Vec<Arc<Event>>, u64> {
        if rv < self.compacted {
            return Err(self.compacted + 1);
        }
        let start = self.history.partition_point(|e| e.rv <= rv);
        Ok(self
            .history
            .range(start..)
            .filter(|e| e.key == key)
            .cloned()
            .collect())
    }

    /// One object.
    pub fn get(&self, key: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.tables
            .get(key)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a resource, optionally in one namespace, sorted by (ns, name),
    /// starting after `after` if given.
    pub fn list(&self, key: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
        let Some(t) = self.tables.get(key) else {
            return Vec::new();
        };
        match ns {
            Some(ns) => t
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => t.values().cloned().collect(),
        }
    }

    /// Keys of all tables (resource keys holding objects).
    pub fn table_keys(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    /// Number of objects held.
    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// True when no objects are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(&mut self, key: &str, etype: EventType, obj: Arc<Value>, old: Option<Arc<Value>>) {
        let e = Arc::new(Event {
            rv: self.rv,
            key: key.to_string(),
            etype,
            obj,
            old,
        });
        self.history.push_back(e.clone());
        self.trim();
        let _ = self.tx.send(e);
    }

    /// Store `obj` (new resourceVersion assigned) and emit ADDED/MODIFIED.
    pub fn put(&mut self, key: &str, obj: Value) -> Arc<Value> {
        let mirror = crate::events::mirror(key, &obj);
        let stored = self.put_one(key, obj);
        if let Some((other, m)) = mirror {
            self.put_one(other, m);
        }
        stored
    }

    fn put_one(&mut self, key: &str, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let k = obj_key(&obj);
        let place: Place = (key.to_string(), k.clone());
        let obj = Arc::new(obj);
        let old = self
            .tables
            .entry(key.to_string())
            .or_default()
            .insert(k, obj.clone());
        if let Some(o) = &old {
            self.gc_index.forget(&place, o);
            self.gc_index.wake_deleting_owners(o);
        }
        self.gc_index.learn(&place, &obj);
        self.gc_index.wake_deleting_owners(&obj);
        let etype = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(key, etype, obj.clone(), old);
        obj
    }

    /// Remove an object and emit DELETED (the object carries a new resourceVersion).
    pub fn remove(&mut self, key: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let gone = self.remove_one(key, ns, name)?;
        if let Some((other, _)) = crate::events::mirror(key, &gone) {
            self.remove_one(other, ns, name);
        }
        Some(gone)
    }

    fn remove_one(&mut self, key: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let old = self
            .tables
            .get_mut(key)?
            .remove(&(ns.to_string(), name.to_string()))?;
        let place: Place = (key.to_string(), (ns.to_string(), name.to_string()));
        self.gc_index.forget(&place, &old);
        self.gc_index.gone(&old);
        self.rv += 1;
        let mut last = (*old).clone();
        last["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let last = Arc::new(last);
        self.record(key, EventType::Deleted, last.clone(), Some(old));
        Some(last)
    }

    /// Drop a whole table (CRD removal), emitting DELETED for each object.
    pub fn drop_table(&mut self, key: &str) {
        let keys: Vec<ObjKey> = self
            .tables
            .get(key)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in keys {
            self.remove(key, &ns, &name);
        }
        self.tables.remove(key);
    }

    /// Whether the garbage collector has anything to look at.
    pub fn gc_pending(&self) -> bool {
        !self.gc_index.queue.is_empty() || self.gc_index.terminating > 0
    }

    /// Whether a namespace or CRD is being deleted (the collector then scans all).
    pub fn gc_terminating(&self) -> bool {
        self.gc_index.terminating > 0
    }

    /// The objects queued for the collector, emptying the queue.
    pub fn take_gc_queue(&mut self) -> HashSet<Place> {
        std::mem::take(&mut self.gc_index.queue)
    }

    /// The live object with this uid.
    pub fn by_uid(&self, uid: &str) -> Option<(String, Arc<Value>)> {
        let (key, (ns, name)) = self.gc_index.by_uid.get(uid)?;
        Some((key.clone(), self.get(key, ns, name)?))
    }

    /// The live objects naming `uid` in their `ownerReferences`.
    pub fn dependents_of(&self, uid: &str) -> Vec<Arc<Value>> {
        self.gc_index
            .dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|(key, (ns, name))| self.get(key, ns, name))
            .collect()
    }

    /// Visit every object of every resource.
    pub fn all_objects(&self) -> impl Iterator<Item = (&String, &Arc<Value>)> {
        self.tables
            .iter()
            .flat_map(|(k, t)| t.values().map(move |v| (k, v)))
    }
}
