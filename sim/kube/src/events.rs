//! core/v1 and events.k8s.io/v1 Events are two views of one object in a
//! real API server: a write through either is mirrored into the other, so
//! `kubectl describe` and `kubectl get events` show what kube-rs' Recorder
//! published.

use serde_json::{Map, Value, json};

/// Store key of core/v1 Events.
pub const CORE: &str = "/events";
/// Store key of events.k8s.io/v1 Events.
pub const NEW: &str = "events.k8s.io/events";

fn copy(from: &Value, to: &mut Map<String, Value>, src: &str, dst: &str) {
    if let Some(v) = from.get(src).filter(|v| !v.is_null()) {
        to.insert(dst.into(), v.clone());
    }
}

fn base(obj: &Value, api_version: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("apiVersion".into(), json!(api_version));
    m.insert("kind".into(), json!("Event"));
    let mut meta = obj["metadata"].clone();
    if let Some(mm) = meta.as_object_mut() {
        mm.remove("managedFields");
        mm.remove("resourceVersion");
    }
    m.insert("metadata".into(), meta);
    m
}

/// The other view of an Event written under `key`, with its store key.
pub fn mirror(key: &str, obj: &Value) -> Option<(&'static str, Value)> {
    match key {
        NEW => {
            let mut m = base(obj, "v1");
            for (s, d) in [
                ("regarding", "involvedObject"),
                ("note", "message"),
                ("reason", "reason"),
                ("type", "type"),
                ("action", "action"),
                ("related", "related"),
                ("eventTime", "eventTime"),
                ("series", "series"),
                ("reportingController", "reportingComponent"),
                ("reportingInstance", "reportingInstance"),
                ("deprecatedSource", "source"),
                ("deprecatedFirstTimestamp", "firstTimestamp"),
                ("deprecatedLastTimestamp", "lastTimestamp"),
                ("deprecatedCount", "count"),
            ] {
                copy(obj, &mut m, s, d);
            }
            if !m.contains_key("source") {
                if let Some(c) = obj.get("reportingController") {
                    m.insert("source".into(), json!({"component": c}));
                }
            }
            if !m.contains_key("lastTimestamp") {
                if let Some(t) = obj
                    .pointer("/series/lastObservedTime")
                    .or_else(|| obj.get("eventTime"))
                {
                    m.insert("lastTimestamp".into(), json!(second_precision(t)));
                }
            }
            if !m.contains_key("firstTimestamp") {
                if let Some(t) = obj.get("eventTime") {
                    m.insert("firstTimestamp".into(), json!(second_precision(t)));
                }
            }
            if !m.contains_key("count") {
                let n = obj.pointer("/series/count").cloned().unwrap_or(json!(1));
                m.insert("count".into(), n);
            }
            Some((CORE, Value::Object(m)))
        }
        CORE => {
            let mut m = base(obj, "events.k8s.io/v1");
            for (s, d) in [
                ("involvedObject", "regarding"),
                ("message", "note"),
                ("reason", "reason"),
                ("type", "type"),
                ("action", "action"),
                ("related", "related"),
                ("eventTime", "eventTime"),
                ("series", "series"),
                ("reportingComponent", "reportingController"),
                ("reportingInstance", "reportingInstance"),
                ("source", "deprecatedSource"),
                ("firstTimestamp", "deprecatedFirstTimestamp"),
                ("lastTimestamp", "deprecatedLastTimestamp"),
                ("count", "deprecatedCount"),
            ] {
                copy(obj, &mut m, s, d);
            }
            if !m.contains_key("reportingController") {
                if let Some(c) = obj.pointer("/source/component") {
                    m.insert("reportingController".into(), c.clone());
                }
            }
            Some((NEW, Value::Object(m)))
        }
        _ => None,
    }
}

fn second_precision(t: &Value) -> String {
    let s = t.as_str().unwrap_or_default();
    match s.parse::<jiff::Timestamp>() {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => s.to_string(),
    }
}
