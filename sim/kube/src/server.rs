//! HTTP front: routing, authentication, faults, and the REST verbs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::KubeSimConfig;
use crate::discovery;
use crate::errors::{ApiError, ApiResult};
use crate::faults::{FaultConfig, FaultHandle};
use crate::fields;
use crate::ops::{self, DeleteOpts, WriteOpts, at_version};
use crate::patch::{self, PatchKind};
use crate::rbac::{self, Attributes, Audit, Tokens, User};
use crate::requests::{RequestCounts, RequestLabels, metric_verb};
use crate::resources::ResourceInfo;
use crate::selectors::Selectors;
use crate::store::{Store, obj_key};
use crate::table;
use crate::validation::FieldValidation;
use crate::watch::{self, OutMode, WatchReq};

/// Shared server state.
pub struct App {
    store: RwLock<Store>,
    /// Configuration.
    pub cfg: KubeSimConfig,
    /// Faults.
    pub faults: FaultHandle,
    /// Tokens.
    pub tokens: Tokens,
    /// Authorization decisions (only with `rbac`).
    pub audit: Audit,
    /// Wakes the garbage collector.
    pub gc: Notify,
    /// Bound address.
    pub addr: SocketAddr,
    /// Resource requests answered, by verb, resource and code.
    pub requests: RequestCounts,
}

impl App {
    /// New state with `default` and `kube-system` namespaces.
    pub fn new(cfg: KubeSimConfig, addr: SocketAddr) -> Arc<Self> {
        let mut st = Store::new(cfg.watch_history);
        if let Some(ns) = st.registry.get("/namespaces") {
            for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let _ = ops::create(
                    &mut st,
                    &ns,
                    "v1",
                    "",
                    json!({"metadata": {"name": n}}),
                    &WriteOpts::default(),
                );
            }
        }
        Arc::new(Self {
            store: RwLock::new(st),
            cfg,
            faults: FaultHandle::default(),
            tokens: Tokens::new(),
            audit: Audit::default(),
            gc: Notify::new(),
            addr,
            requests: RequestCounts::default(),
        })
    }

    /// Read lock.
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The garbage collector loop. Passes are paced (at most one per 25 ms): writes
/// arriving meanwhile are collected together, like the real, asynchronous garbage
/// collector.
pub async fn gc_loop(app: Arc<App>) {
    loop {
        app.gc.notified().await;
        tokio::time::sleep(Duration::from_millis(25)).await;
        let mut st = app.write();
        if st.gc_pending() {
            crate::gc::collect(&mut st);
        }
    }
}

/// Percent-decoded query map.
pub fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(x) => {
                    out.push(x);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_bytes(code: u16, body: Vec<u8>, warnings: &[String]) -> Response {
    let mut r = (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for w in warnings {
        let text = format!("299 - {}", Value::String(w.clone()));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("warning", v);
        }
    }
    r
}

fn json_resp(code: u16, v: &Value, warnings: &[String]) -> Response {
    json_bytes(code, serde_json::to_vec(v).unwrap_or_default(), warnings)
}

/// A resource request path.
#[derive(Debug)]
struct ResPath {
    group: String,
    version: String,
    ns: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

enum Route {
    Version,
    Api,
    Apis,
    Group(String),
    ResourceList(String, String),
    OpenApiIndex,
    OpenApiGv(String, String),
    Resource(ResPath),
    NotFound,
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::Api,
        ["apis"] => return Route::Apis,
        ["apis", g] => return Route::Group(g.to_string()),
        ["api", v] => return Route::ResourceList(String::new(), v.to_string()),
        ["apis", g, v] => return Route::ResourceList(g.to_string(), v.to_string()),
        ["openapi", "v3"] => return Route::OpenApiIndex,
        ["openapi", "v3", "api", v] => return Route::OpenApiGv(String::new(), v.to_string()),
        ["openapi", "v3", "apis", g, v] => return Route::OpenApiGv(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Route::NotFound,
    };
    let (ns, rest) = if rest.len() >= 3
        && rest[0] == "namespaces"
        && !matches!(rest[2], "status" | "finalize")
    {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.is_empty() || rest.len() > 3 {
        return Route::NotFound;
    }
    Route::Resource(ResPath {
        group: group.into(),
        version: version.into(),
        ns,
        plural: rest[0].into(),
        name: rest.get(1).map(|s| s.to_string()),
        sub: rest.get(2).map(|s| s.to_string()),
    })
}

fn output_mode(headers: &HeaderMap, q: &HashMap<String, String>) -> OutMode {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("as=Table") {
        OutMode::Table(
            q.get("includeObject")
                .cloned()
                .unwrap_or_else(|| "Metadata".into()),
        )
    } else if accept.contains("as=PartialObjectMetadata") {
        OutMode::Meta
    } else {
        OutMode::Full
    }
}

fn authenticate(app: &App, headers: &HeaderMap) -> ApiResult<Option<User>> {
    if !app.cfg.rbac {
        return Ok(None);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.strip_prefix("Bearer "))
        .map(str::trim);
    let user = match token {
        // like an API server with anonymous auth enabled; note that kubectl
        // (client-go) sends no credentials over plain HTTP
        None => User {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
        },
        Some(t) => app.tokens.user(t).ok_or_else(rbac::unauthorized)?,
    };
    impersonate(user, headers).map(Some)
}

/// `Impersonate-User` / `Impersonate-Group` (allowed for system:masters).
fn impersonate(user: User, headers: &HeaderMap) -> ApiResult<User> {
    let Some(target) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(user);
    };
    if !user.groups.iter().any(|g| g == "system:masters") {
        return Err(ApiError::forbidden(format!(
            "users \"{target}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
            user.name
        )));
    }
    let mut groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    groups.extend(service_account_groups(target));
    groups.push("system:authenticated".into());
    Ok(User {
        name: target.to_string(),
        groups,
    })
}

fn service_account_groups(user: &str) -> Vec<String> {
    match user
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
    {
        Some((ns, _)) => vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
        ],
        None => Vec::new(),
    }
}

/// Entry point for every request.
pub async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 256 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(format!("reading body: {e}")).into_response(),
    };
    let path = parts.uri.path().to_string();
    let q = parse_query(parts.uri.query());
    if let Some(rest) = path.strip_prefix("/_sim/") {
        return admin(&app, &parts.method, rest, &body).await;
    }
    if path == "/openapi/v2" {
        return openapi_v2();
    }
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/livez") {
        return (StatusCode::OK, "ok").into_response();
    }
    if path == "/metrics" {
        let mut r = (StatusCode::OK, app.requests.to_prometheus()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return r;
    }
    let labels = request_labels(&parts.method, &path, &q, &parts.headers);
    let r = match serve(&app, &parts.method, &path, &q, &parts.headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(l) = labels {
        app.requests.record(l, r.status().as_u16());
    }
    r
}

/// The `apiserver_request_total` labels of a resource request; `None` for discovery.
fn request_labels(
    method: &Method,
    path: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<RequestLabels> {
    let Route::Resource(rp) = route(path) else {
        return None;
    };
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let apply = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/apply-patch"));
    Some(RequestLabels {
        verb: metric_verb(method.as_str(), rp.name.is_some(), watch, apply),
        group: rp.group,
        resource: rp.plural,
        subresource: rp.sub.unwrap_or_default(),
    })
}

async fn serve(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let user = authenticate(app, headers)?;
    let lat = app.faults.delay();
    if !lat.is_zero() {
        tokio::time::sleep(lat).await;
    }
    let reg_json = |f: &dyn Fn(&Store) -> Option<Value>| -> ApiResult<Response> {
        let st = app.read();
        match f(&st) {
            Some(v) => Ok(json_resp(200, &v, &[])),
            None => Err(ApiError::path_not_found()),
        }
    };
    match route(path) {
        Route::Version => Ok(json_resp(200, &discovery::version(), &[])),
        Route::Api => Ok(json_resp(200, &discovery::api(&app.addr.to_string()), &[])),
        Route::Apis => reg_json(&|st| Some(discovery::apis(&st.registry))),
        Route::Group(g) => reg_json(&|st| discovery::group(&st.registry, &g)),
        Route::ResourceList(g, v) => reg_json(&|st| discovery::resource_list(&st.registry, &g, &v)),
        Route::OpenApiIndex => reg_json(&|st| Some(discovery::openapi_index(&st.registry))),
        Route::OpenApiGv(g, v) => reg_json(&|st| discovery::openapi_gv(&st.registry, &g, &v)),
        Route::NotFound => Err(ApiError::path_not_found()),
        Route::Resource(rp) => resource(app, method, rp, q, headers, body, user).await,
    }
}

/// Wake the garbage collector when a write can matter to it: objects being
/// deleted (or just removed by their last finalizer) and objects with owners.
fn wake_gc(app: &App, obj: &Value) {
    let owned = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if owned || ops::deleting(obj) {
        app.gc.notify_one();
    }
}

fn verb_of(method: &Method, rp: &ResPath, q: &HashMap<String, String>) -> &'static str {
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method.as_str(), rp.name.is_some()) {
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

fn write_opts(q: &HashMap<String, String>, headers: &HeaderMap) -> WriteOpts {
    let manager = q.get("fieldManager").cloned().unwrap_or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into())
    });
    WriteOpts {
        manager,
        validation: FieldValidation::parse(q.get("fieldValidation").map(String::as_str)),
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        precomputed_fields: false,
    }
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.contains("protobuf") {
        return crate::protobuf::decode(body).map_err(|e| {
            ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("{e} - accepted media types include: application/json, application/yaml"),
            )
        });
    }
    if ct.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml".to_string(),
        ));
    }
    if ct.contains("yaml") {
        serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
    }
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    app: &Arc<App>,
    method: &Method,
    rp: ResPath,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
    user: Option<User>,
) -> ApiResult<Response> {
    let info = app
        .read()
        .registry
        .find(&rp.group, &rp.version, &rp.plural)
        .ok_or_else(ApiError::path_not_found)?;
    if rp.ns.is_some() && !info.namespaced {
        return Err(ApiError::path_not_found());
    }
    if let Some(s) = &rp.sub {
        let known =
            (s == "status" && info.has_status) || (s == "finalize" && info.kind == "Namespace");
        if !known {
            return Err(ApiError::path_not_found());
        }
    }
    let verb = verb_of(method, &rp, q);
    if let Some(u) = &user {
        let attrs = Attributes {
            verb,
            group: &info.group,
            resource: &info.plural,
            subresource: rp.sub.as_deref(),
            namespace: rp.ns.as_deref().unwrap_or_default(),
            name: rp.name.as_deref().unwrap_or_default(),
        };
        let allowed = rbac::authorize(&app.read(), u, &attrs);
        app.audit.record(u, &attrs, allowed);
        if !allowed {
            return Err(rbac::forbidden(u, &attrs));
        }
        // As the real API server does: a server-side apply that creates the object is
        // also authorized as `create`.
        let is_apply = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/apply-patch"));
        if verb == "patch" && is_apply && rp.sub.is_none() {
            let ns_key = if info.namespaced {
                rp.ns.as_deref().unwrap_or_default()
            } else {
                ""
            };
            let exists = app
                .read()
                .get(&info.key(), ns_key, rp.name.as_deref().unwrap_or_default())
                .is_some();
            if !exists {
                let create = Attributes {
                    verb: "create",
                    ..attrs
                };
                let allowed = rbac::authorize(&app.read(), u, &create);
                app.audit.record(u, &create, allowed);
                if !allowed {
                    return Err(rbac::forbidden(u, &create));
                }
            }
        }
    }
    if info.group == "authorization.k8s.io" {
        if verb != "create" {
            return Err(ApiError::method_not_allowed());
        }
        return access_review(app, &info, user.as_ref(), &parse_body(headers, &body)?);
    }
    // Only a write naming the resourceVersion it read can lose a race.
    let preconditioned = matches!(verb, "update" | "patch")
        && serde_json::from_slice::<Value>(&body).is_ok_and(|b| {
            b.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .is_some_and(|rv| !rv.is_empty())
        });
    if let Some(e) = app.faults.check_request(&crate::faults::Target {
        resource: &info.plural,
        group: &info.group,
        name: rp.name.as_deref().unwrap_or_default(),
        verb,
        preconditioned,
    }) {
        let mut r = e.clone().into_response();
        if e.code == 429 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        return Ok(r);
    }
    let ns = rp.ns.clone().unwrap_or_default();
    let status_sub = rp.sub.as_deref() == Some("status");
    let version = rp.version.clone();
    match (verb, rp.name.as_deref()) {
        ("watch", _) => {
            let send_initial = q.get("sendInitialEvents").is_some_and(|b| b == "true");
            if send_initial
                && q.get("resourceVersionMatch").map(String::as_str) != Some("NotOlderThan")
            {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
                .with_details(json!({"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", "field": "resourceVersionMatch"}]})));
            }
            let rv = q
                .get("resourceVersion")
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<u64>().unwrap_or(0));
            let w = WatchReq {
                info: info.clone(),
                version,
                ns: rp.ns.clone(),
                sel: Selectors::parse(
                    q.get("labelSelector").map(String::as_str),
                    q.get("fieldSelector").map(String::as_str),
                )?,
                rv,
                bookmarks: q.get("allowWatchBookmarks").is_some_and(|b| b == "true"),
                timeout: q
                    .get("timeoutSeconds")
                    .and_then(|s| s.parse().ok())
                    .map(Duration::from_secs),
                mode: output_mode(headers, q),
                send_initial,
            };
            Ok(watch::watch(app.clone(), w))
        }
        ("list", _) => list(app, &info, &version, rp.ns.as_deref(), q, headers),
        ("get", Some(name)) => {
            let obj = app
                .read()
                .get(&info.key(), &ns, name)
                .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))?;
            Ok(match output_mode(headers, q) {
                OutMode::Full => json_resp(200, &at_version(&obj, &info, &version), &[]),
                OutMode::Meta => json_resp(200, &table::partial_metadata(&obj), &[]),
                OutMode::Table(inc) => {
                    let meta = json!({"resourceVersion": obj.pointer("/metadata/resourceVersion")});
                    json_resp(
                        200,
                        &table::table(&info, &version, std::slice::from_ref(&obj), meta, &inc),
                        &[],
                    )
                }
            })
        }
        ("create", None) => {
            if info.namespaced && rp.ns.is_none() {
                return Err(ApiError::path_not_found());
            }
            let obj = parse_body(headers, &body)?;
            let opts = write_opts(q, headers);
            let w = ops::create(&mut app.write(), &info, &version, &ns, obj, &opts)?;
            wake_gc(app, &w.obj);
            Ok(json_resp(
                201,
                &at_version(&w.obj, &info, &version),
                &w.warnings,
            ))
        }
        ("update", Some(name)) => {
            let obj = parse_body(headers, &body)?;
            let opts = write_opts(q, headers);
            let w = ops::update(
                &mut app.write(),
                &info,
                &version,
                &ns,
                name,
                obj,
                status_sub,
                &opts,
            )?;
            wake_gc(app, &w.obj);
            Ok(json_resp(
                200,
                &at_version(&w.obj, &info, &version),
                &w.warnings,
            ))
        }
        ("patch", Some(name)) => {
            let (code, w) = patch_object(
                app, &info, &version, &ns, name, status_sub, q, headers, &body,
            )?;
            wake_gc(app, &w.obj);
            Ok(json_resp(
                code,
                &at_version(&w.obj, &info, &version),
                &w.warnings,
            ))
        }
        ("delete", Some(name)) => {
            let opts = DeleteOpts::parse(&body, q)?;
            let mut st = app.write();
            let gone = ops::delete(&mut st, &info, &ns, name, &opts)?;
            let pending = st.get(&info.key(), &ns, name).is_some();
            drop(st);
            app.gc.notify_one();
            // Like the registries without `ReturnDeletedObject`: an object removed
            // at once is answered with a Success Status; one that waits for
            // finalizers (and pods and service accounts) with itself.
            let returns_object = matches!(info.plural.as_str(), "pods" | "serviceaccounts");
            if pending || returns_object || opts.dry_run {
                return Ok(json_resp(200, &at_version(&gone, &info, &version), &[]));
            }
            let mut details =
                json!({"name": name, "kind": info.plural, "uid": gone.pointer("/metadata/uid")});
            if !info.group.is_empty() {
                details["group"] = json!(info.group);
            }
            Ok(json_resp(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
                &[],
            ))
        }
        ("deletecollection", None) => {
            let opts = DeleteOpts::parse(&body, q)?;
            let sel = Selectors::parse(
                q.get("labelSelector").map(String::as_str),
                q.get("fieldSelector").map(String::as_str),
            )?;
            let mut st = app.write();
            let targets: Vec<Arc<Value>> = st
                .list(&info.key(), rp.ns.as_deref())
                .into_iter()
                .filter(|o| sel.matches(o))
                .collect();
            let mut items = Vec::new();
            for t in targets {
                let (ons, oname) = obj_key(&t);
                if let Ok(o) = ops::delete(&mut st, &info, &ons, &oname, &opts) {
                    items.push(at_version(&o, &info, &version));
                }
            }
            let rv = st.rv;
            drop(st);
            app.gc.notify_one();
            Ok(json_resp(
                200,
                &json!({"kind": info.list_kind, "apiVersion": info.api_version(&version), "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
                &[],
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[allow(clippy::too_many_arguments)]
fn patch_object(
    app: &Arc<App>,
    info: &Arc<ResourceInfo>,
    version: &str,
    ns: &str,
    name: &str,
    status: bool,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<(u16, ops::Written)> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let kind =
        PatchKind::from_content_type(ct).ok_or_else(|| patch::unsupported_media(info.custom))?;
    if kind == PatchKind::Strategic && info.custom {
        return Err(patch::unsupported_media(true));
    }
    let mut opts = write_opts(q, headers);
    let ns_key = if info.namespaced { ns } else { "" };
    if kind == PatchKind::Apply {
        let Some(manager) = q.get("fieldManager").filter(|m| !m.is_empty()) else {
            return Err(ApiError::new(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            )
            .with_details(json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]})));
        };
        opts.manager = manager.clone();
        opts.precomputed_fields = true;
        let mut applied: Value = serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not an object",
            ));
        }
        match applied.pointer("/metadata/name").and_then(Value::as_str) {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            Some(_) => {}
            None => applied["metadata"]["name"] = json!(name),
        }
        if info.namespaced {
            applied["metadata"]["namespace"] = json!(ns);
        }
        let force = q.get("force").is_some_and(|f| f == "true");
        let scope = ops::scope_for(info, status);
        let mut st = app.write();
        let live = st.get(&info.key(), ns_key, name);
        let live_v = live.as_ref().map(|l| at_version(l, info, version));
        let merged = fields::apply(
            live_v.as_ref(),
            &applied,
            manager,
            force,
            &info.api_version(version),
            scope,
            &info.list_types(version),
        )?;
        return match live {
            None if status => Err(ApiError::not_found(&info.plural, &info.group, name)),
            None => ops::create(&mut st, info, version, ns, merged, &opts).map(|w| (201, w)),
            Some(_) => ops::update(&mut st, info, version, ns, name, merged, status, &opts)
                .map(|w| (200, w)),
        };
    }
    let mut st = app.write();
    let live = st
        .get(&info.key(), ns_key, name)
        .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))?;
    let patched = patch::apply_patch(kind, &at_version(&live, info, version), body)?;
    ops::update(&mut st, info, version, ns, name, patched, status, &opts).map(|w| (200, w))
}

/// SelfSubjectAccessReview / SubjectAccessReview.
fn access_review(
    app: &Arc<App>,
    info: &ResourceInfo,
    user: Option<&User>,
    body: &Value,
) -> ApiResult<Response> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let subject = if info.kind == "SubjectAccessReview" {
        let name = spec["user"].as_str().unwrap_or_default().to_string();
        let mut groups: Vec<String> = spec["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        groups.extend(service_account_groups(&name));
        Some(User { name, groups })
    } else {
        user.cloned()
    };
    let allowed = match (&subject, spec.get("resourceAttributes")) {
        (Some(u), Some(ra)) if app.cfg.rbac => {
            let s = |k: &str| ra[k].as_str().unwrap_or_default().to_string();
            let (verb, group, resource, sub, ns, name) = (
                s("verb"),
                s("group"),
                s("resource"),
                s("subresource"),
                s("namespace"),
                s("name"),
            );
            let attrs = Attributes {
                verb: &verb,
                group: &group,
                resource: &resource,
                subresource: (!sub.is_empty()).then_some(sub.as_str()),
                namespace: &ns,
                name: &name,
            };
            rbac::authorize(&app.read(), u, &attrs)
        }
        _ => true,
    };
    let mut out = body.clone();
    out["apiVersion"] = json!("authorization.k8s.io/v1");
    out["kind"] = json!(info.kind);
    if !out.get("metadata").is_some_and(Value::is_object) {
        out["metadata"] = json!({});
    }
    out["metadata"]["creationTimestamp"] = Value::Null;
    // system:masters is allowed before RBAC is asked, so without a reason
    let masters = subject
        .as_ref()
        .is_some_and(|u| u.groups.iter().any(|g| g == "system:masters"));
    out["status"] = if allowed && (masters || !app.cfg.rbac) {
        json!({"allowed": true})
    } else if allowed {
        json!({"allowed": true, "reason": "RBAC: allowed"})
    } else {
        json!({"allowed": false})
    };
    Ok(json_resp(201, &out, &[]))
}

fn continue_token(rv: u64, ns: &str, name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{rv}|{ns}|{name}"))
}

fn parse_continue(tok: &str) -> Option<(u64, String, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(tok)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let mut it = s.splitn(3, '|');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.to_string(),
        it.next()?.to_string(),
    ))
}

const EXPIRED_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn list(
    app: &Arc<App>,
    info: &Arc<ResourceInfo>,
    version: &str,
    ns: Option<&str>,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let sel = Selectors::parse(
        q.get("labelSelector").map(String::as_str),
        q.get("fieldSelector").map(String::as_str),
    )?;
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let cont = q.get("continue").filter(|c| !c.is_empty());
    let (items, list_rv, next, remaining) = {
        let st = app.read();
        let (list_rv, after) = match cont {
            Some(tok) => {
                let (rv, cns, cname) = parse_continue(tok)
                    .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
                if rv < st.compacted {
                    return Err(ApiError::expired(EXPIRED_CONTINUE));
                }
                (rv, Some((cns, cname)))
            }
            None => (st.rv, None),
        };
        let all = st.list(&info.key(), ns);
        let start = match &after {
            Some(k) => all.partition_point(|o| obj_key(o) <= *k),
            None => 0,
        };
        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0usize;
        for o in &all[start..] {
            if !sel.matches(o) {
                continue;
            }
            if items.len() < limit {
                items.push(o.clone());
            } else {
                if next.is_none() {
                    let last = items
                        .last()
                        .map(|l: &Arc<Value>| obj_key(l))
                        .unwrap_or_default();
                    next = Some(continue_token(list_rv, &last.0, &last.1));
                }
                remaining += 1;
            }
        }
        (items, list_rv, next, remaining)
    };
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if let Some(n) = &next {
        meta["continue"] = json!(n);
        meta["remainingItemCount"] = json!(remaining);
    }
    match output_mode(headers, q) {
        OutMode::Table(inc) => Ok(json_resp(
            200,
            &table::table(info, version, &items, meta, &inc),
            &[],
        )),
        mode => {
            let meta_only = matches!(mode, OutMode::Meta);
            let (kind, api_version) = if meta_only {
                (
                    "PartialObjectMetadataList".to_string(),
                    "meta.k8s.io/v1".to_string(),
                )
            } else {
                (info.list_kind.clone(), info.api_version(version))
            };
            let rewrite = info.custom && version != info.storage_version;
            let mut buf = Vec::with_capacity(items.len() * 512 + 256);
            buf.extend_from_slice(
                format!("{{\"kind\":\"{kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":")
                    .as_bytes(),
            );
            let _ = serde_json::to_writer(&mut buf, &meta);
            buf.extend_from_slice(b",\"items\":[");
            for (i, o) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                if meta_only {
                    buf.extend_from_slice(
                        b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":",
                    );
                    let _ = serde_json::to_writer(&mut buf, &o["metadata"]);
                    buf.push(b'}');
                } else if rewrite {
                    let _ = serde_json::to_writer(&mut buf, &at_version(o, info, version));
                } else {
                    let _ = serde_json::to_writer(&mut buf, &**o);
                }
            }
            buf.extend_from_slice(b"]}");
            Ok(json_bytes(200, buf, &[]))
        }
    }
}

/// A minimal, valid protobuf OpenAPI v2 document (swagger "2.0" and info only):
/// kubectl then finds no schema for any kind, treats field validation as
/// the server's job for kinds it cannot look up, and falls back to its
/// built-in patch metadata for strategic merge patches.
fn openapi_v2() -> Response {
    let title = b"Kubernetes";
    let version = b"v1.33.0";
    let mut info = vec![0x0a, title.len() as u8];
    info.extend_from_slice(title);
    info.push(0x12);
    info.push(version.len() as u8);
    info.extend_from_slice(version);
    let mut doc = vec![0x0a, 3, b'2', b'.', b'0', 0x12, info.len() as u8];
    doc.extend_from_slice(&info);
    let mut r = (StatusCode::OK, doc).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
    );
    r
}

async fn admin(app: &Arc<App>, method: &Method, rest: &str, body: &[u8]) -> Response {
    let v: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    match (method.as_str(), rest.trim_end_matches('/')) {
        ("GET", "healthz") => (StatusCode::OK, "ok").into_response(),
        ("POST", "faults/cut-watches") => {
            app.faults.cut_watches();
            json_resp(200, &json!({"ok": true}), &[])
        }
        ("GET", "faults") => json_resp(
            200,
            &serde_json::to_value(app.faults.get()).unwrap_or_default(),
            &[],
        ),
        ("PUT", "faults") => {
            let set = serde_json::from_slice::<FaultConfig>(body)
                .map_err(|e| format!("invalid faults: {e}"))
                .and_then(|f| app.faults.set(f));
            match set {
                Ok(f) => json_resp(200, &serde_json::to_value(f).unwrap_or_default(), &[]),
                // A Status, like every other error of this server, so kube clients show it.
                Err(e) => ApiError::bad_request(e).into_response(),
            }
        }
        ("POST", "tokens") => {
            let ns = v["namespace"].as_str().unwrap_or("default");
            let sa = v["serviceAccount"].as_str().unwrap_or("default");
            let token = app.tokens.mint_service_account(ns, sa);
            json_resp(
                200,
                &json!({"token": token, "user": format!("system:serviceaccount:{ns}:{sa}")}),
                &[],
            )
        }
        ("GET", "requests") => json_resp(200, &app.requests.to_json(), &[]),
        ("POST", "requests/reset") => {
            app.requests.reset();
            json_resp(200, &json!({"ok": true}), &[])
        }
        ("GET", "stats") => {
            let st = app.read();
            json_resp(
                200,
                &json!({"objects": st.len(), "resourceVersion": st.rv.to_string()}),
                &[],
            )
        }
        _ => {
            let mut r = Response::new(Body::from("not found"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}
