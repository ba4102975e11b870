//! Request counts in the shape of the real API server's `apiserver_request_total`
//! (labels verb, group, resource, subresource, code), so a benchmark reads the same
//! figures from this server and from a real control plane's `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use serde_json::{Value, json};

/// One counter's labels. `verb` uses the API server's metric names: `GET`, `LIST`,
/// `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY`, `DELETE`, `DELETECOLLECTION`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestLabels {
    /// Metric verb.
    pub verb: &'static str,
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    /// `status`, `finalize` or `""`.
    pub subresource: String,
}

/// Counts of resource requests by labels and response code.
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: Mutex<BTreeMap<(RequestLabels, u16), u64>>,
}

/// The metric verb of a request, as the real API server's `CleanVerb` names it.
pub fn metric_verb(method: &str, named: bool, watch: bool, apply: bool) -> &'static str {
    match (method, named) {
        ("GET", false) if watch => "WATCH",
        ("GET", false) => "LIST",
        ("GET", true) => "GET",
        ("POST", _) => "POST",
        ("PUT", _) => "PUT",
        ("PATCH", _) if apply => "APPLY",
        ("PATCH", _) => "PATCH",
        ("DELETE", true) => "DELETE",
        ("DELETE", false) => "DELETECOLLECTION",
        _ => "UNKNOWN",
    }
}

impl RequestCounts {
    /// Counts one answered request.
    pub fn record(&self, labels: RequestLabels, code: u16) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry((labels, code)).or_default() += 1;
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn rows(&self) -> Vec<((RequestLabels, u16), u64)> {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// `{"total": N, "requests": [{"verb","group","resource","subresource","code","count"}]}`.
    pub fn to_json(&self) -> Value {
        let rows = self.rows();
        let total: u64 = rows.iter().map(|(_, n)| n).sum();
        json!({
            "total": total,
            "requests": rows.iter().map(|((l, code), n)| json!({
                "verb": l.verb,
                "group": l.group,
                "resource": l.resource,
                "subresource": l.subresource,
                "code": code,
                "count": n,
            })).collect::<Vec<_>>(),
        })
    }

    /// Prometheus text exposition of `apiserver_request_total`.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::from(
            "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, group, resource, subresource and HTTP response code.\n# TYPE apiserver_request_total counter\n",
        );
        for ((l, code), n) in self.rows() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{code}\",group=\"{}\",resource=\"{}\",subresource=\"{}\",verb=\"{}\"}} {n}",
                l.group, l.resource, l.subresource, l.verb
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_follow_the_api_server_metric_names() {
        let cases = [
            ("list", "GET", false, false, false, "LIST"),
            ("watch", "GET", false, true, false, "WATCH"),
            ("get", "GET", true, false, false, "GET"),
            ("create", "POST", false, false, false, "POST"),
            ("replace", "PUT", true, false, false, "PUT"),
            ("merge patch", "PATCH", true, false, false, "PATCH"),
            ("server-side apply", "PATCH", true, false, true, "APPLY"),
            ("delete", "DELETE", true, false, false, "DELETE"),
            (
                "delete collection",
                "DELETE",
                false,
                false,
                false,
                "DELETECOLLECTION",
            ),
        ];
        for (name, method, named, watch, apply, want) in cases {
            assert_eq!(metric_verb(method, named, watch, apply), want, "{name}");
        }
    }

    #[test]
    fn counts_are_exposed_as_json_and_prometheus_text() {
        let c = RequestCounts::default();
        let labels = RequestLabels {
            verb: "APPLY",
            group: String::new(),
            resource: "secrets".into(),
            subresource: String::new(),
        };
        c.record(labels.clone(), 200);
        c.record(labels, 200);
        let j = c.to_json();
        assert_eq!(j["total"], 2);
        assert_eq!(j["requests"][0]["resource"], "secrets");
        assert!(c.to_prometheus().contains(
            "apiserver_request_total{code=\"200\",group=\"\",resource=\"secrets\",subresource=\"\",verb=\"APPLY\"} 2"
        ));
        c.reset();
        assert_eq!(c.to_json()["total"], 0);
    }
}
