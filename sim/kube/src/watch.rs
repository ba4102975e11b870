//! Watch streams: initial ADDED events or history replay from a
//! resourceVersion, live events, bookmarks, timeouts, 410 when too old,
//! selector transitions (an object that stops matching is sent as DELETED).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::ops::at_version;
use crate::resources::ResourceInfo;
use crate::selectors::Selectors;
use crate::server::App;
use crate::store::{Event, EventType};
use crate::table;

/// How objects are rendered.
#[derive(Clone, Debug)]
pub enum OutMode {
    /// The full object.
    Full,
    /// PartialObjectMetadata.
    Meta,
    /// A Table with one row; the string is includeObject.
    Table(String),
}

/// A watch request.
pub struct WatchReq {
    /// Resource.
    pub info: Arc<ResourceInfo>,
    /// Requested version.
    pub version: String,
    /// Namespace filter.
    pub ns: Option<String>,
    /// Selectors.
    pub sel: Selectors,
    /// Start resourceVersion (None or 0: initial ADDED events).
    pub rv: Option<u64>,
    /// allowWatchBookmarks.
    pub bookmarks: bool,
    /// timeoutSeconds.
    pub timeout: Option<Duration>,
    /// Rendering.
    pub mode: OutMode,
    /// sendInitialEvents=true.
    pub send_initial: bool,
}

impl WatchReq {
    fn visible(&self, o: &Value) -> bool {
        if let Some(ns) = &self.ns {
            if o.pointer("/metadata/namespace").and_then(Value::as_str) != Some(ns.as_str()) {
                return false;
            }
        }
        self.sel.matches(o)
    }

    fn render(&self, o: &Value) -> Value {
        match &self.mode {
            OutMode::Full => at_version(o, &self.info, &self.version),
            OutMode::Meta => table::partial_metadata(o),
            OutMode::Table(inc) => {
                let row = table::row(&self.info, &self.version, o, inc);
                json!({
                    "kind": "Table", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": o.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)},
                    "columnDefinitions": table::column_definitions(&self.info, &self.version),
                    "rows": [row],
                })
            }
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let (api_version, kind) = match self.mode {
            OutMode::Full => (self.info.api_version(&self.version), self.info.kind.clone()),
            _ => (
                "meta.k8s.io/v1".to_string(),
                "PartialObjectMetadata".to_string(),
            ),
        };
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": kind, "apiVersion": api_version, "metadata": meta}),
        )
    }

    /// Translate a store event into what this watcher sees.
    fn translate(&self, e: &Event) -> Option<(EventType, Value)> {
        let now = self.visible(&e.obj);
        match e.etype {
            EventType::Added => now.then(|| (EventType::Added, self.render(&e.obj))),
            EventType::Deleted => now.then(|| (EventType::Deleted, self.render(&e.obj))),
            EventType::Modified => {
                let before = e.old.as_ref().is_some_and(|o| self.visible(o));
                match (before, now) {
                    (true, true) => Some((EventType::Modified, self.render(&e.obj))),
                    (false, true) => Some((EventType::Added, self.render(&e.obj))),
                    (true, false) => Some((EventType::Deleted, self.render(&e.obj))),
                    (false, false) => None,
                }
            }
        }
    }
}

fn line(t: &str, obj: &Value) -> Bytes {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"{\"type\":\"");
    buf.extend_from_slice(t.as_bytes());
    buf.extend_from_slice(b"\",\"object\":");
    let _ = serde_json::to_writer(&mut buf, obj);
    buf.extend_from_slice(b"}\n");
    Bytes::from(buf)
}

fn stream_response(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Start a watch; the response streams until timeout, cut, lag or client close.
pub fn watch(app: Arc<App>, w: WatchReq) -> Response {
    let key = w.info.key();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let (initial, history, mut live, start_rv) = {
        let st = app.read();
        let live = st.subscribe();
        let want_initial = w.send_initial || matches!(w.rv, None | Some(0));
        let initial: Vec<Arc<Value>> = if want_initial {
            st.list(&key, w.ns.as_deref())
                .into_iter()
                .filter(|o| w.visible(o))
                .collect()
        } else {
            Vec::new()
        };
        let (history, start) = match w.rv {
            Some(rv) if rv > 0 && !w.send_initial => match st.history_since(&key, rv) {
                Ok(h) => (h, rv),
                Err(oldest) => {
                    let err = json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {rv} ({oldest})"),
                        "reason": "Expired", "code": 410,
                    });
                    let _ = tx.try_send(line("ERROR", &err));
                    drop(tx);
                    return stream_response(rx);
                }
            },
            _ => (Vec::new(), st.rv),
        };
        (initial, history, live, start)
    };
    let mut cut = app.faults.on_cut();
    let bookmark_every = app.cfg.bookmark_interval;
    tokio::spawn(async move {
        for o in &initial {
            if tx.send(line("ADDED", &w.render(o))).await.is_err() {
                return;
            }
        }
        if w.send_initial && w.bookmarks {
            if tx.send(w.bookmark(start_rv, true)).await.is_err() {
                return;
            }
        }
        let mut last_rv = start_rv;
        for e in &history {
            last_rv = e.rv;
            if let Some((t, o)) = w.translate(e) {
                if tx.send(line(t.as_str(), &o)).await.is_err() {
                    return;
                }
            }
        }
        let deadline = w.timeout.map(|d| tokio::time::Instant::now() + d);
        let sleep_until = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep_until);
        let mut tick = tokio::time::interval(bookmark_every);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = live.recv() => match ev {
                    Ok(e) => {
                        if e.rv <= last_rv {
                            continue;
                        }
                        last_rv = e.rv;
                        if e.key != key {
                            continue;
                        }
                        if let Some((t, o)) = w.translate(&e) {
                            if tx.send(line(t.as_str(), &o)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                },
                _ = tick.tick(), if w.bookmarks => {
                    if tx.send(w.bookmark(last_rv, false)).await.is_err() {
                        return;
                    }
                }
                _ = &mut sleep_until => return,
                _ = cut.recv() => return,
                _ = tx.closed() => return,
            }
        }
    });
    stream_response(rx)
}
