//! Vobiz: trunk credentials and trunks under `/api/v1/Account/{auth_id}/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::VobizConfig;
use crate::core::{self, Common, Flavor, Sim, lock};
use crate::ratelimit::Snapshot;
use crate::telnyx::gateway_page;
use crate::util::{deep_merge, parse_u64, ts_micros};

pub(crate) const R_CRED_CREATE: &str = "/api/v1/Account/{auth_id}/credentials";
pub(crate) const R_CRED_LIST: &str = "/api/v1/Account/{auth_id}/trunks/credentials";
pub(crate) const R_CRED: &str = "/api/v1/Account/{auth_id}/credentials/{id}";
pub(crate) const R_TRUNKS: &str = "/api/v1/Account/{auth_id}/trunks";
pub(crate) const R_TRUNK: &str = "/api/v1/Account/{auth_id}/trunks/{trunk_id}";

type Err_ = (StatusCode, Value);
type ApiResult = Result<(StatusCode, Value), Err_>;

/// The documented envelope (docs.vobiz.ai/errors), used for every error including
/// the 409 on a duplicate username (seed 002's flat `{"error","code"}` body was
/// found in no other source).
fn envelope(status: StatusCode, code: &str, message: &str, details: Value) -> Err_ {
    (
        status,
        json!({
            "status": "error",
            "error": {"code": code, "message": message, "details": details},
            "timestamp": ts_micros(Timestamp::now()),
            "requestId": format!("req_{}", uuid::Uuid::new_v4().simple()),
        }),
    )
}

fn validation(field: &str, message: &str) -> Err_ {
    envelope(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        message,
        json!({"field": field}),
    )
}

fn not_found(what: &str) -> Err_ {
    envelope(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("{what} not found"),
        Value::Null,
    )
}

fn respond(r: ApiResult) -> Response {
    let (s, v) = match r {
        Ok(x) | Err(x) => x,
    };
    if s == StatusCode::NO_CONTENT {
        return s.into_response();
    }
    (s, axum::Json(v)).into_response()
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, Err_> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(envelope(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "Request body must be a valid JSON object",
            Value::Null,
        )),
    }
}

/// Usernames: 1-64 characters from `[A-Za-z0-9_.-]` (the API docs' examples use
/// underscores; seed 002's "punctuation may be rejected" warning is about Endpoints).
fn valid_username(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

struct VCred {
    seq: u64,
    id: String,
    username: String,
    password: String,
    enabled: bool,
    description: String,
    created_at: String,
    updated_at: String,
}

struct Trunk {
    seq: u64,
    obj: Value,
}

#[derive(Default)]
struct State_ {
    seq: u64,
    creds: HashMap<String, VCred>,
    /// Index: username -> credential id.
    usernames: HashMap<String, String>,
    trunks: HashMap<String, Trunk>,
}

pub(crate) struct VobizApp {
    cfg: VobizConfig,
    realm: String,
    common: Common,
    state: Mutex<State_>,
}

impl VobizApp {
    pub fn new(cfg: VobizConfig) -> Arc<Self> {
        Arc::new(VobizApp {
            realm: format!("{}.sip.vobiz.ai", cfg.auth_id),
            common: Common::new(cfg.faults.clone(), cfg.rate_limit),
            state: Mutex::new(State_::default()),
            cfg,
        })
    }

    fn cred_json(&self, c: &VCred) -> Value {
        json!({
            "id": c.id,
            "account_id": self.cfg.auth_id,
            "username": c.username,
            "password": "<redacted>",
            "realm": self.realm,
            "enabled": c.enabled,
            "description": c.description,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        })
    }

    fn create_cred(&self, body: Map<String, Value>) -> ApiResult {
        // Only username and password are accepted at creation; other keys are ignored.
        let username = match body.get("username") {
            Some(Value::String(s)) if valid_username(s) => s.clone(),
            Some(Value::String(s)) if !s.is_empty() => {
                return Err(validation(
                    "username",
                    "username may contain only letters, digits, '_', '-' and '.' (at most 64 characters)",
                ));
            }
            _ => return Err(validation("username", "username is required")),
        };
        let password = match body.get("password") {
            Some(Value::String(s)) if s.chars().count() >= 8 => s.clone(),
            Some(Value::String(_)) => {
                return Err(validation(
                    "password",
                    "password must be at least 8 characters",
                ));
            }
            _ => return Err(validation("password", "password is required")),
        };
        let mut st = lock(&self.state);
        if st.usernames.contains_key(&username) {
            return Err(envelope(
                StatusCode::CONFLICT,
                "CONFLICT",
                "Username already exists",
                json!({"field": "username"}),
            ));
        }
        let now = ts_micros(Timestamp::now());
        st.seq += 1;
        let c = VCred {
            seq: st.seq,
            id: uuid::Uuid::new_v4().to_string(),
            username,
            password,
            enabled: true,
            description: String::new(),
            created_at: now.clone(),
            updated_at: now,
        };
        let out = self.cred_json(&c);
        st.usernames.insert(c.username.clone(), c.id.clone());
        self.common.record_create("credentials", &c.username);
        st.creds.insert(c.id.clone(), c);
        Ok((StatusCode::CREATED, out))
    }

    fn update_cred(&self, id: &str, body: Map<String, Value>) -> ApiResult {
        let mut st = lock(&self.state);
        let Some(c) = st.creds.get(id) else {
            return Err(not_found("Credential"));
        };
        if let Some(u) = body.get("username")
            && u.as_str() != Some(c.username.as_str())
        {
            return Err(validation(
                "username",
                "username cannot be changed after creation",
            ));
        }
        let password = match body.get("password") {
            None => None,
            Some(Value::String(s)) if s.chars().count() >= 8 => Some(s.clone()),
            Some(_) => {
                return Err(validation(
                    "password",
                    "password must be at least 8 characters",
                ));
            }
        };
        let enabled = match body.get("enabled") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(validation("enabled", "enabled must be a boolean")),
        };
        let description = match body.get("description") {
            None => None,
            Some(Value::Null) => Some(String::new()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(validation("description", "description must be a string"));
            }
        };
        let Some(c) = st.creds.get_mut(id) else {
            return Err(not_found("Credential"));
        };
        if let Some(p) = password {
            c.password = p;
        }
        if let Some(e) = enabled {
            c.enabled = e;
        }
        if let Some(d) = description {
            c.description = d;
        }
        c.updated_at = ts_micros(Timestamp::now());
        let out = self.cred_json(c);
        Ok((StatusCode::OK, out))
    }

    /// Deletes a credential; trunks that referenced it get `credential_uuid: null`.
    fn delete_cred(&self, id: &str) -> bool {
        let mut st = lock(&self.state);
        let Some(c) = st.creds.remove(id) else {
            return false;
        };
        st.usernames.remove(&c.username);
        for t in st.trunks.values_mut() {
            if t.obj["credential_uuid"].as_str() == Some(id) {
                t.obj["credential_uuid"] = Value::Null;
            }
        }
        true
    }

    /// Validates a trunk create/update body into the stored field names.
    fn trunk_fields(
        &self,
        st: &State_,
        body: &Map<String, Value>,
        create: bool,
    ) -> Result<Map<String, Value>, Err_> {
        let mut out = Map::new();
        match body.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                out.insert("name".into(), json!(s));
            }
            None if !create => {}
            _ => return Err(validation("name", "name is required")),
        }
        for key in ["trunk_direction", "trunk_type"] {
            match body.get(key) {
                None => {}
                Some(Value::String(s))
                    if s.eq_ignore_ascii_case("inbound") || s.eq_ignore_ascii_case("outbound") =>
                {
                    out.insert("trunk_direction".into(), json!(s.to_ascii_lowercase()));
                }
                Some(_) => {
                    return Err(validation(
                        key,
                        &format!("{key} must be inbound or outbound"),
                    ));
                }
            }
        }
        for key in ["concurrent_calls_limit", "max_concurrent_calls"] {
            match body.get(key) {
                None => {}
                Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {
                    out.insert("concurrent_calls_limit".into(), v.clone());
                }
                Some(_) => {
                    return Err(validation(
                        key,
                        &format!("{key} must be a positive integer"),
                    ));
                }
            }
        }
        match body.get("enabled") {
            None => {}
            Some(Value::Bool(b)) => {
                out.insert("enabled".into(), json!(b));
                out.insert(
                    "trunk_status".into(),
                    json!(if *b { "active" } else { "inactive" }),
                );
            }
            Some(_) => return Err(validation("enabled", "enabled must be a boolean")),
        }
        match body.get("credential_uuid") {
            None => {}
            Some(Value::Null) => {
                out.insert("credential_uuid".into(), Value::Null);
            }
            Some(Value::String(s)) if s.is_empty() => {
                out.insert("credential_uuid".into(), Value::Null);
            }
            Some(Value::String(s)) => {
                if !st.creds.contains_key(s) {
                    return Err(validation(
                        "credential_uuid",
                        "credential_uuid does not reference an existing credential",
                    ));
                }
                out.insert("credential_uuid".into(), json!(s));
            }
            Some(_) => {
                return Err(validation(
                    "credential_uuid",
                    "credential_uuid must be a string",
                ));
            }
        }
        for key in ["ipacl_uuid", "primary_uri_uuid", "fallback_uri_uuid"] {
            match body.get(key) {
                None => {}
                Some(Value::Null) => {
                    out.insert(key.into(), Value::Null);
                }
                Some(Value::String(s)) => {
                    out.insert(
                        key.into(),
                        if s.is_empty() { Value::Null } else { json!(s) },
                    );
                }
                Some(_) => return Err(validation(key, &format!("{key} must be a string"))),
            }
        }
        Ok(out)
    }

    fn create_trunk(&self, body: Map<String, Value>) -> ApiResult {
        let mut st = lock(&self.state);
        let fields = self.trunk_fields(&st, &body, true)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = ts_micros(Timestamp::now());
        let mut obj = json!({
            "trunk_id": id,
            "account_id": self.cfg.auth_id,
            "name": "",
            "trunk_domain": format!("{id}.sip.vobiz.ai"),
            "trunk_status": "active",
            "trunk_direction": "outbound",
            "enabled": true,
            "concurrent_calls_limit": 10,
            "credential_uuid": null,
            "ipacl_uuid": null,
            "primary_uri_uuid": null,
            "fallback_uri_uuid": null,
            "created_at": now,
            "updated_at": now,
        });
        deep_merge(&mut obj, &Value::Object(fields));
        st.seq += 1;
        let seq = st.seq;
        st.trunks.insert(
            id,
            Trunk {
                seq,
                obj: obj.clone(),
            },
        );
        Ok((StatusCode::CREATED, obj))
    }

    fn update_trunk(&self, id: &str, body: Map<String, Value>) -> ApiResult {
        let mut st = lock(&self.state);
        if !st.trunks.contains_key(id) {
            return Err(not_found("Trunk"));
        }
        let fields = self.trunk_fields(&st, &body, false)?;
        let Some(t) = st.trunks.get_mut(id) else {
            return Err(not_found("Trunk"));
        };
        deep_merge(&mut t.obj, &Value::Object(fields));
        t.obj["updated_at"] = json!(ts_micros(Timestamp::now()));
        Ok((StatusCode::OK, t.obj.clone()))
    }

    fn list<T>(
        &self,
        q: &HashMap<String, String>,
        path: &str,
        rows: Vec<T>,
        f: impl Fn(T) -> Value,
    ) -> ApiResult {
        let limit = match q.get("limit") {
            None => 20,
            Some(s) => match parse_u64(s) {
                Some(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(validation(
                        "limit",
                        "limit must be an integer between 1 and 100",
                    ));
                }
            },
        };
        let offset = match q.get("offset") {
            None => 0,
            Some(s) => match parse_u64(s) {
                Some(n) => n,
                None => {
                    return Err(validation(
                        "offset",
                        "offset must be a non-negative integer",
                    ));
                }
            },
        };
        let total = rows.len() as u64;
        let next = (offset.saturating_add(limit) < total)
            .then(|| format!("{path}?limit={limit}&offset={}", offset + limit));
        let previous = (offset > 0).then(|| {
            format!(
                "{path}?limit={limit}&offset={}",
                offset.saturating_sub(limit)
            )
        });
        let objects: Vec<Value> = rows
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(f)
            .collect();
        Ok((
            StatusCode::OK,
            json!({
                "meta": {"limit": limit, "offset": offset, "total": total, "next": next, "previous": previous},
                "objects": objects,
            }),
        ))
    }
}

// ---------- handlers ----------

type S = State<Arc<VobizApp>>;
type Q = Query<HashMap<String, String>>;

async fn create_cred(State(app): S, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.create_cred(b)))
}

async fn list_creds(State(app): S, Query(q): Q) -> Response {
    let st = lock(&app.state);
    let mut rows: Vec<&VCred> = st.creds.values().collect();
    rows.sort_by_key(|c| c.seq);
    let path = format!("/api/v1/Account/{}/trunks/credentials", app.cfg.auth_id);
    respond(app.list(&q, &path, rows, |c| app.cred_json(c)))
}

async fn get_cred(State(app): S, Path((_, id)): Path<(String, String)>) -> Response {
    let st = lock(&app.state);
    respond(match st.creds.get(&id) {
        Some(c) => Ok((StatusCode::OK, app.cred_json(c))),
        None => Err(not_found("Credential")),
    })
}

async fn update_cred(
    State(app): S,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(parse_body(&body).and_then(|b| app.update_cred(&id, b)))
}

async fn delete_cred(State(app): S, Path((_, id)): Path<(String, String)>) -> Response {
    respond(if app.delete_cred(&id) {
        Ok((StatusCode::NO_CONTENT, Value::Null))
    } else {
        Err(not_found("Credential"))
    })
}

async fn create_trunk(State(app): S, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.create_trunk(b)))
}

async fn list_trunks(State(app): S, Query(q): Q) -> Response {
    let st = lock(&app.state);
    let mut rows: Vec<&Trunk> = st.trunks.values().collect();
    rows.sort_by_key(|t| t.seq);
    let path = format!("/api/v1/Account/{}/trunks", app.cfg.auth_id);
    respond(app.list(&q, &path, rows, |t| t.obj.clone()))
}

async fn get_trunk(State(app): S, Path((_, id)): Path<(String, String)>) -> Response {
    let st = lock(&app.state);
    respond(match st.trunks.get(&id) {
        Some(t) => Ok((StatusCode::OK, t.obj.clone())),
        None => Err(not_found("Trunk")),
    })
}

async fn update_trunk(
    State(app): S,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond(parse_body(&body).and_then(|b| app.update_trunk(&id, b)))
}

async fn delete_trunk(State(app): S, Path((_, id)): Path<(String, String)>) -> Response {
    respond(if lock(&app.state).trunks.remove(&id).is_some() {
        Ok((StatusCode::NO_CONTENT, Value::Null))
    } else {
        Err(not_found("Trunk"))
    })
}

pub(crate) fn router(app: Arc<VobizApp>) -> Router {
    let api = Router::new()
        .route(R_CRED_CREATE, axum::routing::post(create_cred))
        .route(R_CRED_LIST, get(list_creds))
        .route(R_CRED, get(get_cred).put(update_cred).delete(delete_cred))
        .route(R_TRUNKS, get(list_trunks).post(create_trunk))
        .route(
            R_TRUNK,
            get(get_trunk).put(update_trunk).delete(delete_trunk),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            core::pipeline::<VobizApp>,
        ))
        .with_state(app.clone());
    api.merge(core::admin_router(app.clone())).merge(
        Router::new()
            .fallback(core::fallback::<VobizApp>)
            .with_state(app),
    )
}

impl Sim for VobizApp {
    fn common(&self) -> &Common {
        &self.common
    }

    fn provider_name(&self) -> &'static str {
        "vobiz"
    }

    fn state_json(&self) -> Value {
        let st = lock(&self.state);
        let mut creds: Vec<&VCred> = st.creds.values().collect();
        creds.sort_by_key(|c| c.seq);
        let mut trunks: Vec<&Trunk> = st.trunks.values().collect();
        trunks.sort_by_key(|t| t.seq);
        json!({
            "provider": "vobiz",
            "account_id": self.cfg.auth_id,
            "credentials": creds.iter().map(|c| self.cred_json(c)).collect::<Vec<_>>(),
            "trunks": trunks.iter().map(|t| &t.obj).collect::<Vec<_>>(),
        })
    }

    fn check(&self, username: &str, password: &str) -> bool {
        lock(&self.state)
            .creds
            .values()
            .any(|c| c.enabled && c.username == username && c.password == password)
    }

    fn oob_create(&self, collection: &str, body: Value) -> Result<Value, Value> {
        let Value::Object(m) = body else {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "Request body must be a valid JSON object",
                Value::Null,
            )
            .1);
        };
        let r = match collection {
            "credentials" => self.create_cred(m),
            "trunks" => self.create_trunk(m),
            _ => Err(not_found("Collection")),
        };
        r.map(|(_, v)| v).map_err(|(_, v)| v)
    }

    fn oob_patch(&self, collection: &str, id: &str, patch: Value) -> Option<Value> {
        let now = ts_micros(Timestamp::now());
        let mut st = lock(&self.state);
        match collection {
            "credentials" => {
                let c = st.creds.get_mut(id)?;
                let old = c.username.clone();
                if let Some(v) = patch.get("username").and_then(Value::as_str) {
                    c.username = v.to_string();
                }
                if let Some(v) = patch.get("password").and_then(Value::as_str) {
                    c.password = v.to_string();
                }
                if let Some(v) = patch.get("enabled").and_then(Value::as_bool) {
                    c.enabled = v;
                }
                if let Some(v) = patch.get("description") {
                    c.description = v.as_str().unwrap_or_default().to_string();
                }
                c.updated_at = now;
                let out = self.cred_json(c);
                let new = c.username.clone();
                if new != old {
                    st.usernames.remove(&old);
                    st.usernames.insert(new, id.to_string());
                }
                Some(out)
            }
            "trunks" => {
                let t = st.trunks.get_mut(id)?;
                deep_merge(&mut t.obj, &patch);
                t.obj["updated_at"] = json!(now);
                Some(t.obj.clone())
            }
            _ => None,
        }
    }

    fn oob_delete(&self, collection: &str, id: &str) -> bool {
        match collection {
            "credentials" => self.delete_cred(id),
            "trunks" => lock(&self.state).trunks.remove(id).is_some(),
            _ => false,
        }
    }
}

impl Flavor for VobizApp {
    fn authenticate(&self, req: &Request) -> Result<(), Response> {
        let path_id = req.uri().path().split('/').nth(4).unwrap_or_default();
        let h = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let id = h("x-auth-id");
        let token = h("x-auth-token");
        if !id.is_empty() && id == path_id && id == self.cfg.auth_id && token == self.cfg.auth_token
        {
            Ok(())
        } else {
            Err(respond(Err(envelope(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid or missing X-Auth-ID / X-Auth-Token",
                Value::Null,
            ))))
        }
    }

    fn server_error(&self, status: u16) -> Response {
        match status {
            500 => respond(Err(envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "An internal error occurred",
                Value::Null,
            ))),
            s => gateway_page(StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY)),
        }
    }

    fn gateway_timeout(&self) -> Response {
        gateway_page(StatusCode::GATEWAY_TIMEOUT)
    }

    fn rate_limited(&self, snap: Snapshot) -> Response {
        let mut r = respond(Err(envelope(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            "Rate limit exceeded",
            json!({"retry_after": snap.reset_secs.max(1)}),
        )));
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(snap.reset_secs.max(1)),
        );
        r
    }

    fn decorate(&self, _resp: &mut Response, _snap: Snapshot) {}

    fn not_found(&self) -> Response {
        respond(Err(not_found("Resource")))
    }
}
