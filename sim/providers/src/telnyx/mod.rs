//! Telnyx v2: credential_connections and telephony_credentials.

mod registrations;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::TelnyxConfig;
use crate::core::{self, Common, Flavor, Sim, lock};
use crate::ratelimit::Snapshot;
use crate::util::{
    deep_merge, parse_instant, parse_u64, random_alnum, random_hex, random_int64_id, ts_millis,
};
use schema::FieldErr;

pub(crate) const R_CONNS: &str = "/v2/credential_connections";
pub(crate) const R_CONN: &str = "/v2/credential_connections/{id}";
pub(crate) const R_CREDS: &str = "/v2/telephony_credentials";
pub(crate) const R_CRED: &str = "/v2/telephony_credentials/{id}";
pub(crate) const R_TOKEN: &str = "/v2/telephony_credentials/{id}/token";
pub(crate) const R_REG_CHECK: &str =
    "/v2/credential_connections/{id}/actions/check_registration_status";
pub(crate) const R_REG_STATUS: &str = "/v2/sip_registration_status";

type ApiResult = Result<(StatusCode, Value), (StatusCode, Value)>;

// ---------- error bodies ----------

fn err_obj(code: &str, title: &str, detail: &str, pointer: Option<&str>) -> Value {
    let mut e = json!({
        "code": code,
        "title": title,
        "detail": detail,
        "meta": {"url": format!("https://developers.telnyx.com/docs/overview/errors/{code}")},
    });
    if let Some(p) = pointer {
        e["source"] = json!({"pointer": p});
    }
    e
}

fn errors(status: StatusCode, errs: Vec<Value>) -> (StatusCode, Value) {
    (status, json!({"errors": errs}))
}

fn not_found() -> (StatusCode, Value) {
    errors(
        StatusCode::NOT_FOUND,
        vec![err_obj(
            "10005",
            "Resource not found",
            "The requested resource or URL could not be found.",
            Some("/"),
        )],
    )
}

fn malformed() -> (StatusCode, Value) {
    errors(
        StatusCode::BAD_REQUEST,
        vec![err_obj(
            "10015",
            "Bad Request",
            "The request failed because it was not well-formed.",
            Some("/"),
        )],
    )
}

fn invalid(errs: Vec<FieldErr>) -> (StatusCode, Value) {
    errors(
        StatusCode::UNPROCESSABLE_ENTITY,
        errs.into_iter()
            .map(|e| {
                let field = e.pointer.trim_start_matches('/').replace('/', ".");
                let detail = if field.is_empty() {
                    e.detail
                } else {
                    format!("{field} {}", e.detail)
                };
                err_obj("10015", "Bad Request", &detail, Some(&e.pointer))
            })
            .collect(),
    )
}

fn invalid_one(pointer: &str, detail: &str) -> (StatusCode, Value) {
    invalid(vec![FieldErr {
        pointer: pointer.to_string(),
        detail: detail.to_string(),
    }])
}

/// Query-parameter errors: 400, code 10015, `source.parameter` naming the parameter.
fn bad_param(param: &str, detail: &str) -> (StatusCode, Value) {
    let mut e = err_obj("10015", "Bad Request", detail, None);
    e["source"] = json!({"parameter": param});
    errors(StatusCode::BAD_REQUEST, vec![e])
}

fn respond(r: ApiResult) -> Response {
    let (s, v) = match r {
        Ok(x) | Err(x) => x,
    };
    (s, axum::Json(v)).into_response()
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, (StatusCode, Value)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(malformed()),
    }
}

// ---------- state ----------

struct Connection {
    seq: u64,
    obj: Value,
}

struct Credential {
    seq: u64,
    id: String,
    name: String,
    tag: Option<String>,
    connection_id: String,
    sip_username: String,
    sip_password: String,
    expires_at: Option<Timestamp>,
    /// Creation on the simulator's clock: the start of the activation delay.
    created: Timestamp,
    created_at: String,
    updated_at: String,
}

impl Credential {
    fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// When the credential can first log in, with this activation delay.
    fn active_from(&self, delay: std::time::Duration) -> Timestamp {
        jiff::SignedDuration::try_from(delay)
            .ok()
            .and_then(|d| self.created.checked_add(d).ok())
            .unwrap_or(Timestamp::MAX)
    }

    /// The TelephonyCredential shape of seed 003.
    fn to_json(&self, user_id: &str, now: Timestamp) -> Value {
        json!({
            "id": self.id,
            "record_type": "credential",
            "name": self.name,
            "resource_id": format!("connection:{}", self.connection_id),
            "expired": self.expired(now),
            "sip_username": self.sip_username,
            "sip_password": self.sip_password,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at.map(ts_millis),
            "user_id": user_id,
        })
    }
}

#[derive(Default)]
struct State_ {
    seq: u64,
    connections: HashMap<String, Connection>,
    credentials: HashMap<String, Credential>,
    /// Index: lower-cased user_name -> connection id.
    user_names: HashMap<String, String>,
    /// Index: tag -> number of credentials.
    tags: HashMap<String, usize>,
    registrar: registrations::Registrar,
}

impl State_ {
    fn reindex(&mut self) {
        self.user_names = self
            .connections
            .iter()
            .filter_map(|(id, c)| {
                c.obj["user_name"]
                    .as_str()
                    .map(|u| (u.to_ascii_lowercase(), id.clone()))
            })
            .collect();
        self.tags.clear();
        for c in self.credentials.values() {
            if let Some(t) = &c.tag {
                *self.tags.entry(t.clone()).or_default() += 1;
            }
        }
    }

    fn untag(&mut self, tag: Option<&str>) {
        if let Some(t) = tag
            && let Some(n) = self.tags.get_mut(t)
        {
            *n = n.saturating_sub(1);
        }
    }

    fn remove_credential(&mut self, id: &str) -> Option<Credential> {
        let c = self.credentials.remove(id)?;
        self.untag(c.tag.as_deref());
        Some(c)
    }
}

pub(crate) struct TelnyxApp {
    cfg: TelnyxConfig,
    bearer: String,
    user_id: String,
    jwt_key: ring::hmac::Key,
    common: Common,
    state: Mutex<State_>,
    /// Seconds added to the wall clock (`POST /_sim/clock/advance`), so tests can
    /// expire registrations and credentials without waiting.
    clock_offset: Mutex<i64>,
    /// How long a new telephony credential cannot log in (`/_sim/activation`).
    activation_delay: Mutex<std::time::Duration>,
}

impl TelnyxApp {
    pub fn new(cfg: TelnyxConfig) -> Arc<Self> {
        let secret = random_hex(64);
        Arc::new(TelnyxApp {
            bearer: format!("Bearer {}", cfg.api_key),
            user_id: uuid::Uuid::new_v4().to_string(),
            jwt_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
            common: Common::new(cfg.faults.clone(), cfg.rate_limit),
            state: Mutex::new(State_::default()),
            clock_offset: Mutex::new(0),
            activation_delay: Mutex::new(cfg.activation_delay),
            cfg,
        })
    }

    /// The simulator's clock: the wall clock plus the admin API's offset.
    pub(crate) fn now(&self) -> Timestamp {
        let off = *lock(&self.clock_offset);
        Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(off))
            .unwrap_or_else(|_| Timestamp::now())
    }

    fn delay(&self) -> std::time::Duration {
        *lock(&self.activation_delay)
    }

    /// Whether a credential has passed its activation delay at `now`.
    fn activated(&self, c: &Credential, now: Timestamp) -> bool {
        c.active_from(self.delay()) <= now
    }

    /// A WebRTC login with an access token: the simulator's signature, `nbf`/`exp` on
    /// the simulator's clock, and a credential that still exists, has not expired and
    /// has passed its activation delay (the docs: JWTs minted from a new credential may
    /// fail to authenticate too).
    fn verify(&self, token: &str) -> crate::TokenCheck {
        let refuse = |reason: &str, id: Option<String>, exp: Option<Timestamp>| crate::TokenCheck {
            valid: false,
            credential_id: id,
            expires_at: exp,
            reason: Some(reason.to_string()),
        };
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [h, c, sig] = parts[..] else {
            return refuse("malformed", None, None);
        };
        let decode = |p: &str| {
            URL_SAFE_NO_PAD
                .decode(p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        };
        let (Some(header), Some(claims), Ok(sig)) =
            (decode(h), decode(c), URL_SAFE_NO_PAD.decode(sig))
        else {
            return refuse("malformed", None, None);
        };
        if header["alg"] != "HS256" {
            return refuse("bad_signature", None, None);
        }
        let signed = &token.trim()[..h.len() + 1 + c.len()];
        if ring::hmac::verify(&self.jwt_key, signed.as_bytes(), &sig).is_err() {
            return refuse("bad_signature", None, None);
        }
        let id = claims["sub"].as_str().map(str::to_string);
        let exp = claims["exp"]
            .as_i64()
            .and_then(|e| Timestamp::from_second(e).ok());
        let (Some(id), Some(exp), Some(nbf)) = (id, exp, claims["nbf"].as_i64()) else {
            return refuse("malformed", None, None);
        };
        if claims["aud"] != "telnyx_telephony" || claims["typ"] != "access" {
            return refuse("malformed", Some(id), Some(exp));
        }
        let now = self.now();
        if now.as_second() < nbf {
            return refuse("not_yet_valid", Some(id), Some(exp));
        }
        if exp <= now {
            return refuse("expired", Some(id), Some(exp));
        }
        let st = lock(&self.state);
        let Some(cred) = st
            .credentials
            .get(&id)
            .filter(|c| st.connections.contains_key(&c.connection_id))
        else {
            return refuse("credential_not_found", Some(id), Some(exp));
        };
        if cred.expired(now) {
            return refuse("credential_expired", Some(id), Some(exp));
        }
        if !self.activated(cred, now) {
            return refuse("credential_not_active", Some(id), Some(exp));
        }
        crate::TokenCheck {
            valid: true,
            credential_id: Some(id),
            expires_at: Some(exp),
            reason: None,
        }
    }

    // ----- credential connections -----

    fn create_connection(&self, body: Map<String, Value>) -> ApiResult {
        let mut errs = Vec::new();
        let clean = schema::validate(schema::CONNECTION, &body, "", &mut errs);
        for req in ["connection_name", "user_name", "password"] {
            if errs.iter().any(|e| e.pointer[1..] == *req) {
                continue;
            }
            match body.get(req) {
                None | Some(Value::Null) => errs.push(FieldErr {
                    pointer: format!("/{req}"),
                    detail: "is required".into(),
                }),
                Some(Value::String(s)) if s.trim().is_empty() && req == "connection_name" => errs
                    .push(FieldErr {
                        pointer: format!("/{req}"),
                        detail: "can't be blank".into(),
                    }),
                _ => {}
            }
        }
        let mut obj = schema::connection_defaults();
        deep_merge(&mut obj, &Value::Object(clean.clone()));
        if clean
            .get("noise_suppression_details")
            .and_then(|d| d.get("attenuation_limit"))
            .is_none()
        {
            let engine = obj["noise_suppression_details"]["engine"]
                .as_str()
                .unwrap_or("denoiser")
                .to_string();
            obj["noise_suppression_details"]["attenuation_limit"] =
                json!(schema::engine_default_attenuation(&engine));
        }
        cross_checks(&obj, &mut errs);
        let mut st = lock(&self.state);
        if let Some(u) = clean.get("user_name").and_then(Value::as_str)
            && user_name_taken(&st, u, None)
        {
            errs.push(FieldErr {
                pointer: "/user_name".into(),
                detail: "has already been taken".into(),
            });
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        if st.connections.len() >= self.cfg.max_connections {
            return Err(invalid_one(
                "/",
                &format!(
                    "The account has reached its limit of {} connections.",
                    self.cfg.max_connections
                ),
            ));
        }
        let mut id = random_int64_id();
        while st.connections.contains_key(&id) {
            id = random_int64_id();
        }
        let now = ts_millis(self.now());
        obj["id"] = json!(id);
        obj["record_type"] = json!("credential_connection");
        obj["created_at"] = json!(now);
        obj["updated_at"] = json!(now);
        st.seq += 1;
        let seq = st.seq;
        if let Some(u) = obj["user_name"].as_str() {
            st.user_names.insert(u.to_ascii_lowercase(), id.clone());
        }
        st.connections.insert(
            id,
            Connection {
                seq,
                obj: obj.clone(),
            },
        );
        self.common.record_create(
            "credential_connections",
            obj["connection_name"].as_str().unwrap_or_default(),
        );
        Ok((StatusCode::CREATED, json!({"data": obj})))
    }

    fn update_connection(&self, id: &str, body: Map<String, Value>) -> ApiResult {
        let mut errs = Vec::new();
        let clean = schema::validate(schema::CONNECTION, &body, "", &mut errs);
        if let Some(Value::String(s)) = clean.get("connection_name")
            && s.trim().is_empty()
        {
            errs.push(FieldErr {
                pointer: "/connection_name".into(),
                detail: "can't be blank".into(),
            });
        }
        let mut st = lock(&self.state);
        let Some(existing) = st.connections.get(id) else {
            return Err(not_found());
        };
        let mut obj = existing.obj.clone();
        let old_engine = obj["noise_suppression_details"]["engine"].clone();
        deep_merge(&mut obj, &Value::Object(clean.clone()));
        let nsd = clean.get("noise_suppression_details");
        if nsd.and_then(|d| d.get("attenuation_limit")).is_none()
            && obj["noise_suppression_details"]["engine"] != old_engine
        {
            let engine = obj["noise_suppression_details"]["engine"]
                .as_str()
                .unwrap_or("denoiser")
                .to_string();
            obj["noise_suppression_details"]["attenuation_limit"] =
                json!(schema::engine_default_attenuation(&engine));
        }
        cross_checks(&obj, &mut errs);
        if let Some(u) = clean.get("user_name").and_then(Value::as_str)
            && user_name_taken(&st, u, Some(id))
        {
            errs.push(FieldErr {
                pointer: "/user_name".into(),
                detail: "has already been taken".into(),
            });
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        obj["updated_at"] = json!(ts_millis(self.now()));
        if let Some(c) = st.connections.get_mut(id) {
            let old = c.obj["user_name"].as_str().map(str::to_ascii_lowercase);
            c.obj = obj.clone();
            if let Some(u) = obj["user_name"].as_str()
                && Some(u.to_ascii_lowercase()) != old
            {
                if let Some(o) = old {
                    st.user_names.remove(&o);
                }
                st.user_names.insert(u.to_ascii_lowercase(), id.to_string());
            }
        }
        Ok((StatusCode::OK, json!({"data": obj})))
    }

    /// Deletes a connection and (our choice) its telephony credentials.
    fn delete_connection(&self, id: &str) -> Option<Value> {
        let mut st = lock(&self.state);
        let c = st.connections.remove(id)?;
        if let Some(u) = c.obj["user_name"].as_str() {
            st.user_names.remove(&u.to_ascii_lowercase());
        }
        let before = st.credentials.len();
        st.credentials.retain(|_, cr| cr.connection_id != id);
        if st.credentials.len() != before {
            st.reindex();
        }
        Some(c.obj)
    }

    fn list_connections(&self, q: &HashMap<String, String>) -> ApiResult {
        let (page, size) = page_params(q, 250)?;
        let sort = q.get("sort").map(String::as_str).unwrap_or("-created_at");
        let (desc, key) = match sort.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, sort),
        };
        if !matches!(key, "created_at" | "connection_name" | "active") {
            return Err(bad_param(
                "sort",
                "sort must be one of created_at, connection_name, active (optionally prefixed with '-')",
            ));
        }
        let contains = q
            .get("filter[connection_name][contains]")
            .map(|s| s.to_lowercase());
        // The SDK documents: "Requires at least three characters."
        if contains.as_ref().is_some_and(|c| c.chars().count() < 3) {
            return Err(bad_param(
                "filter[connection_name][contains]",
                "filter[connection_name][contains] requires at least three characters",
            ));
        }
        let st = lock(&self.state);
        let mut rows: Vec<&Connection> = st
            .connections
            .values()
            .filter(|c| {
                contains.as_deref().is_none_or(|needle| {
                    c.obj["connection_name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(needle))
                })
            })
            .filter(|c| {
                q.get("filter[fqdn]").is_none()
                    && [
                        "filter[outbound.outbound_voice_profile_id]",
                        "filter[outbound_voice_profile_id]",
                    ]
                    .iter()
                    .all(|k| {
                        q.get(*k).is_none_or(|v| {
                            c.obj["outbound"]["outbound_voice_profile_id"].as_str() == Some(v)
                        })
                    })
            })
            .collect();
        rows.sort_by(|a, b| {
            let o = match key {
                "connection_name" => a.obj["connection_name"]
                    .as_str()
                    .cmp(&b.obj["connection_name"].as_str()),
                "active" => a.obj["active"].as_bool().cmp(&b.obj["active"].as_bool()),
                _ => std::cmp::Ordering::Equal,
            }
            .then(a.seq.cmp(&b.seq));
            if desc { o.reverse() } else { o }
        });
        Ok((
            StatusCode::OK,
            paginate(rows.iter().map(|c| &c.obj), page, size, |v| v.clone()),
        ))
    }

    // ----- telephony credentials -----

    fn create_credential(&self, body: Map<String, Value>) -> ApiResult {
        let mut errs = Vec::new();
        let now = self.now();
        let name = opt_str(&body, "name", &mut errs);
        let tag = opt_str(&body, "tag", &mut errs);
        let expires_at = opt_instant(&body, &mut errs);
        let connection_id = match body.get("connection_id") {
            None | Some(Value::Null) => {
                errs.push(FieldErr {
                    pointer: "/connection_id".into(),
                    detail: "is required".into(),
                });
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                errs.push(FieldErr {
                    pointer: "/connection_id".into(),
                    detail: "must be a string".into(),
                });
                None
            }
        };
        let mut st = lock(&self.state);
        if let Some(cid) = &connection_id
            && !st.connections.contains_key(cid)
        {
            errs.push(FieldErr {
                pointer: "/connection_id".into(),
                detail: "must reference an existing credential connection".into(),
            });
        }
        if let Some(Some(t)) = &tag
            && tag_count(&st, t, None) >= self.cfg.max_credentials_per_tag
        {
            errs.push(FieldErr {
                pointer: "/tag".into(),
                detail: format!(
                    "A single tag can hold at maximum {} credentials",
                    self.cfg.max_credentials_per_tag
                ),
            });
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let created = ts_millis(now);
        let cred = Credential {
            seq: {
                st.seq += 1;
                st.seq
            },
            id: uuid::Uuid::new_v4().to_string(),
            // Seed 003's example: an unnamed credential is named after its creation time.
            name: name
                .flatten()
                .unwrap_or_else(|| now.strftime("%Y-%m-%d %H:%M:%S%.6fZ").to_string()),
            tag: tag.flatten(),
            connection_id: connection_id.unwrap_or_default(),
            sip_username: format!("gencred{}", random_alnum(22)),
            sip_password: random_hex(32),
            expires_at: expires_at.flatten(),
            created: now,
            created_at: created.clone(),
            updated_at: created,
        };
        let out = cred.to_json(&self.user_id, now);
        if let Some(t) = &cred.tag {
            *st.tags.entry(t.clone()).or_default() += 1;
        }
        self.common
            .record_create("telephony_credentials", &cred.name);
        st.credentials.insert(cred.id.clone(), cred);
        Ok((StatusCode::CREATED, json!({"data": out})))
    }

    fn update_credential(&self, id: &str, body: Map<String, Value>) -> ApiResult {
        let now = self.now();
        let mut st = lock(&self.state);
        let Some(cur) = st.credentials.get(id) else {
            return Err(not_found());
        };
        if cur.expired(now) {
            // Not the standard error array: the documented body for this case.
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"errors": {"status": "can't update credentials in expired status"}}),
            ));
        }
        let mut errs = Vec::new();
        let name = opt_str(&body, "name", &mut errs);
        let tag = opt_str(&body, "tag", &mut errs);
        let expires_at = opt_instant(&body, &mut errs);
        let connection_id = match body.get("connection_id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                errs.push(FieldErr {
                    pointer: "/connection_id".into(),
                    detail: "must be a string".into(),
                });
                None
            }
        };
        if let Some(cid) = &connection_id
            && !st.connections.contains_key(cid)
        {
            errs.push(FieldErr {
                pointer: "/connection_id".into(),
                detail: "must reference an existing credential connection".into(),
            });
        }
        if let Some(Some(t)) = &tag
            && tag_count(&st, t, Some(id)) >= self.cfg.max_credentials_per_tag
        {
            errs.push(FieldErr {
                pointer: "/tag".into(),
                detail: format!(
                    "A single tag can hold at maximum {} credentials",
                    self.cfg.max_credentials_per_tag
                ),
            });
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        if let Some(t) = &tag {
            let old = st.credentials.get(id).and_then(|c| c.tag.clone());
            st.untag(old.as_deref());
            if let Some(t) = t {
                *st.tags.entry(t.clone()).or_default() += 1;
            }
        }
        let Some(c) = st.credentials.get_mut(id) else {
            return Err(not_found());
        };
        if let Some(n) = name {
            c.name = n.unwrap_or_default();
        }
        if let Some(t) = tag {
            c.tag = t;
        }
        if let Some(e) = expires_at {
            c.expires_at = e;
        }
        if let Some(cid) = connection_id {
            c.connection_id = cid;
        }
        c.updated_at = ts_millis(now);
        Ok((
            StatusCode::OK,
            json!({"data": c.to_json(&self.user_id, now)}),
        ))
    }

    fn list_credentials(&self, q: &HashMap<String, String>) -> ApiResult {
        let (page, size) = page_params(q, 50)?;
        let status = q.get("filter[status]").map(String::as_str);
        if let Some(s) = status
            && !matches!(s, "active" | "expired")
        {
            return Err(bad_param(
                "filter[status]",
                "filter[status] must be one of active, expired",
            ));
        }
        let now = self.now();
        let st = lock(&self.state);
        let eq = |k: &str, v: &str| q.get(k).is_none_or(|want| want == v);
        let mut rows: Vec<&Credential> = st
            .credentials
            .values()
            .filter(|c| {
                q.get("filter[tag]")
                    .is_none_or(|t| c.tag.as_deref() == Some(t.as_str()))
                    && eq("filter[name]", &c.name)
                    && eq(
                        "filter[resource_id]",
                        &format!("connection:{}", c.connection_id),
                    )
                    && eq("filter[sip_username]", &c.sip_username)
                    && status.is_none_or(|s| (s == "expired") == c.expired(now))
            })
            .collect();
        rows.sort_by_key(|c| c.seq);
        Ok((
            StatusCode::OK,
            paginate(rows.into_iter(), page, size, |c| {
                c.to_json(&self.user_id, now)
            }),
        ))
    }

    fn token(&self, id: &str) -> Response {
        let now = self.now();
        let st = lock(&self.state);
        let Some(c) = st.credentials.get(id) else {
            return respond(Err(not_found()));
        };
        if c.expired(now) {
            return respond(Err(invalid_one(
                "/",
                "can't create a token for a credential in expired status",
            )));
        }
        let iat = now.as_second();
        let mut exp = iat + 24 * 3600;
        if let Some(e) = c.expires_at {
            exp = exp.min(e.as_second());
        }
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let claims = json!({
            "aud": "telnyx_telephony",
            "iss": "telnyx_telephony",
            "sub": c.id,
            "tel_token": random_alnum(32),
            "typ": "access",
            "iat": iat,
            "nbf": iat - 1,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = ring::hmac::sign(&self.jwt_key, signing_input.as_bytes());
        let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            jwt,
        )
            .into_response()
    }
}

fn cross_checks(obj: &Value, errs: &mut Vec<FieldErr>) {
    let jb = &obj["jitter_buffer"];
    if let (Some(min), Some(max)) = (
        jb["jitterbuffer_msec_min"].as_i64(),
        jb["jitterbuffer_msec_max"].as_i64(),
    ) && min > max
        && !errs
            .iter()
            .any(|e| e.pointer.starts_with("/jitter_buffer/"))
    {
        errs.push(FieldErr {
            pointer: "/jitter_buffer/jitterbuffer_msec_min".into(),
            detail: "must be less than or equal to jitterbuffer_msec_max".into(),
        });
    }
}

/// user_name is unique across the account, compared case-insensitively.
fn user_name_taken(st: &State_, u: &str, except: Option<&str>) -> bool {
    st.user_names
        .get(&u.to_ascii_lowercase())
        .is_some_and(|id| Some(id.as_str()) != except)
}

/// Credentials holding `tag`, not counting `except`.
fn tag_count(st: &State_, tag: &str, except: Option<&str>) -> usize {
    let n = st.tags.get(tag).copied().unwrap_or(0);
    let own = except
        .and_then(|id| st.credentials.get(id))
        .is_some_and(|c| c.tag.as_deref() == Some(tag));
    n - usize::from(own && n > 0)
}

/// `None` = absent; `Some(None)` = null; `Some(Some(s))` = a string.
fn opt_str(
    body: &Map<String, Value>,
    key: &str,
    errs: &mut Vec<FieldErr>,
) -> Option<Option<String>> {
    match body.get(key) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            errs.push(FieldErr {
                pointer: format!("/{key}"),
                detail: "must be a string".into(),
            });
            None
        }
    }
}

fn opt_instant(body: &Map<String, Value>, errs: &mut Vec<FieldErr>) -> Option<Option<Timestamp>> {
    match body.get("expires_at") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match parse_instant(s) {
            Some(t) => Some(Some(t)),
            None => {
                errs.push(FieldErr {
                    pointer: "/expires_at".into(),
                    detail: "must be an ISO-8601 date-time".into(),
                });
                None
            }
        },
        Some(_) => {
            errs.push(FieldErr {
                pointer: "/expires_at".into(),
                detail: "must be an ISO-8601 date-time".into(),
            });
            None
        }
    }
}

/// `page[number]` (>= 1, default 1) and `page[size]` (1..=250).
fn page_params(
    q: &HashMap<String, String>,
    default_size: u64,
) -> Result<(u64, u64), (StatusCode, Value)> {
    let page = match q.get("page[number]") {
        None => 1,
        Some(s) => match parse_u64(s) {
            Some(n) if n >= 1 => n,
            _ => {
                return Err(bad_param(
                    "page[number]",
                    "page[number] must be an integer greater than or equal to 1",
                ));
            }
        },
    };
    let size = match q.get("page[size]") {
        None => default_size,
        Some(s) => match parse_u64(s) {
            Some(n) if (1..=250).contains(&n) => n,
            _ => {
                return Err(bad_param(
                    "page[size]",
                    "page[size] must be an integer between 1 and 250",
                ));
            }
        },
    };
    Ok((page, size))
}

fn paginate<'a, T: 'a>(
    rows: impl ExactSizeIterator<Item = T>,
    page: u64,
    size: u64,
    f: impl Fn(T) -> Value,
) -> Value {
    let total = rows.len() as u64;
    let total_pages = total.div_ceil(size).max(1);
    let skip = (page - 1).saturating_mul(size);
    let data: Vec<Value> = rows
        .skip(skip as usize)
        .take(size as usize)
        .map(f)
        .collect();
    json!({
        "data": data,
        "meta": {
            "page_number": page,
            "page_size": size,
            "total_pages": total_pages,
            "total_results": total,
        }
    })
}

// ---------- handlers ----------

type S = State<Arc<TelnyxApp>>;
type Q = Query<HashMap<String, String>>;

async fn list_connections(State(app): S, Query(q): Q) -> Response {
    respond(app.list_connections(&q))
}

async fn create_connection(State(app): S, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.create_connection(b)))
}

async fn get_connection(State(app): S, Path(id): Path<String>) -> Response {
    let st = lock(&app.state);
    respond(match st.connections.get(&id) {
        Some(c) => Ok((StatusCode::OK, json!({"data": c.obj}))),
        None => Err(not_found()),
    })
}

async fn update_connection(State(app): S, Path(id): Path<String>, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.update_connection(&id, b)))
}

async fn delete_connection(State(app): S, Path(id): Path<String>) -> Response {
    respond(match app.delete_connection(&id) {
        Some(obj) => Ok((StatusCode::OK, json!({"data": obj}))),
        None => Err(not_found()),
    })
}

async fn list_credentials(State(app): S, Query(q): Q) -> Response {
    respond(app.list_credentials(&q))
}

async fn create_credential(State(app): S, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.create_credential(b)))
}

async fn get_credential(State(app): S, Path(id): Path<String>) -> Response {
    let st = lock(&app.state);
    respond(match st.credentials.get(&id) {
        Some(c) => Ok((
            StatusCode::OK,
            json!({"data": c.to_json(&app.user_id, app.now())}),
        )),
        None => Err(not_found()),
    })
}

async fn update_credential(State(app): S, Path(id): Path<String>, body: Bytes) -> Response {
    respond(parse_body(&body).and_then(|b| app.update_credential(&id, b)))
}

async fn delete_credential(State(app): S, Path(id): Path<String>) -> Response {
    let mut st = lock(&app.state);
    respond(match st.remove_credential(&id) {
        Some(c) => Ok((
            StatusCode::OK,
            json!({"data": c.to_json(&app.user_id, app.now())}),
        )),
        None => Err(not_found()),
    })
}

async fn create_token(State(app): S, Path(id): Path<String>) -> Response {
    app.token(&id)
}

// ---------- SIP registrations ----------

impl TelnyxApp {
    /// `credential_not_active` when this is a live credential's right login that only
    /// its activation delay refuses.
    fn refusal(
        &self,
        st: &State_,
        username: &str,
        password: &str,
        now: Timestamp,
    ) -> Option<&'static str> {
        st.credentials
            .values()
            .any(|c| {
                c.sip_username == username
                    && c.sip_password == password
                    && !c.expired(now)
                    && !self.activated(c, now)
            })
            .then_some("credential_not_active")
    }

    fn check_registration(&self, id: &str) -> ApiResult {
        let now = self.now();
        let st = lock(&self.state);
        let Some(c) = st.connections.get(id) else {
            return Err(not_found());
        };
        let user = c.obj["user_name"].as_str().unwrap_or_default();
        let active = c.obj["active"].as_bool() != Some(false);
        let v = st.registrar.view(user, now);
        Ok((
            StatusCode::OK,
            json!({"data": registrations::connection_status(&v, user, active)}),
        ))
    }

    fn lookup_registration(&self, q: &HashMap<String, String>) -> ApiResult {
        const TYPES: &str =
            "uac_external_credential, telephony_credential, sip_credential_connection";
        let Some(kind) = q.get("credential_type") else {
            return Err(bad_param(
                "credential_type",
                &format!("credential_type is required and must be one of {TYPES}"),
            ));
        };
        let now = self.now();
        let st = lock(&self.state);
        match kind.as_str() {
            // The simulator models no UAC (registering-out) connections.
            "uac_external_credential" => {
                if q.get("connection_id").is_none_or(|s| s.is_empty()) {
                    return Err(bad_param(
                        "connection_id",
                        "connection_id is required when credential_type is uac_external_credential",
                    ));
                }
                Err(not_found())
            }
            "telephony_credential" | "sip_credential_connection" => {
                let Some(user) = q.get("username").filter(|s| !s.is_empty()) else {
                    return Err(bad_param(
                        "username",
                        &format!("username is required when credential_type is {kind}"),
                    ));
                };
                let (conn_id, active) = if kind == "telephony_credential" {
                    let Some(cr) = st.credentials.values().find(|c| c.sip_username == *user) else {
                        return Err(not_found());
                    };
                    let conn_active = st
                        .connections
                        .get(&cr.connection_id)
                        .is_some_and(|c| c.obj["active"].as_bool() != Some(false));
                    (cr.connection_id.clone(), conn_active && !cr.expired(now))
                } else {
                    let Some((id, c)) = st
                        .connections
                        .iter()
                        .find(|(_, c)| c.obj["user_name"].as_str() == Some(user.as_str()))
                    else {
                        return Err(not_found());
                    };
                    (id.clone(), c.obj["active"].as_bool() != Some(false))
                };
                let name = st
                    .connections
                    .get(&conn_id)
                    .and_then(|c| c.obj["connection_name"].as_str());
                let v = st.registrar.view(user, now);
                Ok((
                    StatusCode::OK,
                    registrations::lookup_body(&v, kind, user, &conn_id, name, active),
                ))
            }
            _ => Err(bad_param(
                "credential_type",
                &format!("credential_type must be one of {TYPES}"),
            )),
        }
    }

    /// A SIP REGISTER with this login: 200 binds (or, with `expires: 0`, removes) the
    /// contact; a wrong password is refused with 403 and recorded as a failure; an
    /// unknown username gets 404 and leaves no trace.
    fn register(&self, req: registrations::RegisterRequest) -> Response {
        let admin = |status: StatusCode, v: Value| (status, axum::Json(v)).into_response();
        if req.expires.is_some_and(|e| e > registrations::MAX_EXPIRES) {
            return admin(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("expires must be between 0 and {}", registrations::MAX_EXPIRES)}),
            );
        }
        let transport = req.transport.to_ascii_uppercase();
        if !matches!(transport.as_str(), "UDP" | "TCP" | "TLS" | "WS" | "WSS") {
            return admin(
                StatusCode::BAD_REQUEST,
                json!({"error": "transport must be one of UDP, TCP, TLS, WS, WSS"}),
            );
        }
        let valid = self.check(&req.username, &req.password);
        let now = self.now();
        let mut st = lock(&self.state);
        if valid {
            st.registrar.record_ok(&req, now);
            let v = st.registrar.view(&req.username, now);
            return admin(
                StatusCode::OK,
                json!({"sip_status": 200, "status": v.status.as_str(),
                       "expires_at": v.expires_at.map(ts_millis)}),
            );
        }
        let known = st
            .user_names
            .contains_key(&req.username.to_ascii_lowercase())
            || st
                .credentials
                .values()
                .any(|c| c.sip_username == req.username);
        if known {
            st.registrar.record_failure(&req.username, now);
            let error = match self.refusal(&st, &req.username, &req.password, now) {
                Some(_) => "authentication failed: the credential is not active yet",
                None => "authentication failed",
            };
            admin(
                StatusCode::FORBIDDEN,
                json!({"sip_status": 403, "error": error}),
            )
        } else {
            admin(
                StatusCode::NOT_FOUND,
                json!({"sip_status": 404, "error": "no such SIP user"}),
            )
        }
    }
}

async fn check_registration(State(app): S, Path(id): Path<String>) -> Response {
    respond(app.check_registration(&id))
}

async fn lookup_registration(State(app): S, Query(q): Q) -> Response {
    respond(app.lookup_registration(&q))
}

async fn admin_register(State(app): S, body: Bytes) -> Response {
    match serde_json::from_slice::<registrations::RegisterRequest>(&body) {
        Ok(r) => app.register(r),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("invalid REGISTER: {e}")})),
        )
            .into_response(),
    }
}

async fn admin_registrations(State(app): S) -> Response {
    let now = app.now();
    axum::Json(lock(&app.state).registrar.dump(now)).into_response()
}

fn clock_json(app: &TelnyxApp) -> Value {
    json!({"now": ts_millis(app.now()), "offset_seconds": *lock(&app.clock_offset)})
}

async fn admin_clock(State(app): S) -> Response {
    axum::Json(clock_json(&app)).into_response()
}

/// `{"seconds": N}` moves the simulator's clock forward (never back: expiry must not
/// be undone).
async fn admin_clock_advance(State(app): S, body: Bytes) -> Response {
    let secs = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["seconds"].as_i64())
        .filter(|s| (0..=10 * 365 * 86_400).contains(s));
    let Some(secs) = secs else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "seconds must be an integer between 0 and 315360000"})),
        )
            .into_response();
    };
    *lock(&app.clock_offset) += secs;
    axum::Json(clock_json(&app)).into_response()
}

fn activation_json(app: &TelnyxApp) -> Value {
    json!({"delay_ms": u64::try_from(app.delay().as_millis()).unwrap_or(u64::MAX)})
}

async fn admin_activation(State(app): S) -> Response {
    axum::Json(activation_json(&app)).into_response()
}

/// `{"delay_ms": N}`: how long a new telephony credential cannot log in; it applies
/// to existing credentials too, by their age.
async fn admin_set_activation(State(app): S, body: Bytes) -> Response {
    let ms = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["delay_ms"].as_u64())
        .filter(|ms| *ms <= 86_400_000);
    let Some(ms) = ms else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "delay_ms must be an integer between 0 and 86400000"})),
        )
            .into_response();
    };
    *lock(&app.activation_delay) = std::time::Duration::from_millis(ms);
    axum::Json(activation_json(&app)).into_response()
}

/// `{"token": "..."}` -> [`crate::TokenCheck`].
async fn admin_verify_token(State(app): S, body: Bytes) -> Response {
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["token"].as_str().map(str::to_string));
    let Some(token) = token else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "token (a string) is required"})),
        )
            .into_response();
    };
    axum::Json(app.verify(&token)).into_response()
}

/// Bad query strings (e.g. `page[size]=%zz`) still get a Telnyx-shaped 400.
async fn query_rejection_guard(req: Request, next: axum::middleware::Next) -> Response {
    if let Some(q) = req.uri().query()
        && serde_urlencoded_ok(q).is_err()
    {
        return respond(Err(bad_param("query", "The query string is malformed.")));
    }
    next.run(req).await
}

fn serde_urlencoded_ok(q: &str) -> Result<(), ()> {
    Query::<HashMap<String, String>>::try_from_uri(&format!("/?{q}").parse().map_err(|_| ())?)
        .map(|_| ())
        .map_err(|_| ())
}

pub(crate) fn router(app: Arc<TelnyxApp>) -> Router {
    let api = Router::new()
        .route(R_CONNS, get(list_connections).post(create_connection))
        .route(
            R_CONN,
            get(get_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
        .route(R_CREDS, get(list_credentials).post(create_credential))
        .route(
            R_CRED,
            get(get_credential)
                .patch(update_credential)
                .delete(delete_credential),
        )
        .route(R_TOKEN, post(create_token))
        .route(R_REG_CHECK, post(check_registration))
        .route(R_REG_STATUS, get(lookup_registration))
        .route_layer(axum::middleware::from_fn(query_rejection_guard))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            core::pipeline::<TelnyxApp>,
        ))
        .with_state(app.clone());
    let admin = Router::new()
        .route("/_sim/telnyx/register", post(admin_register))
        .route("/_sim/telnyx/registrations", get(admin_registrations))
        .route("/_sim/clock", get(admin_clock))
        .route("/_sim/clock/advance", post(admin_clock_advance))
        .route(
            "/_sim/activation",
            get(admin_activation).put(admin_set_activation),
        )
        .route("/_sim/tokens/verify", post(admin_verify_token))
        .with_state(app.clone());
    api.merge(admin)
        .merge(core::admin_router(app.clone()))
        .merge(
            Router::new()
                .fallback(core::fallback::<TelnyxApp>)
                .with_state(app),
        )
}

// ---------- trait impls ----------

impl Sim for TelnyxApp {
    fn common(&self) -> &Common {
        &self.common
    }

    fn provider_name(&self) -> &'static str {
        "telnyx"
    }

    fn state_json(&self) -> Value {
        let now = self.now();
        let st = lock(&self.state);
        let mut conns: Vec<&Connection> = st.connections.values().collect();
        conns.sort_by_key(|c| c.seq);
        let mut creds: Vec<&Credential> = st.credentials.values().collect();
        creds.sort_by_key(|c| c.seq);
        json!({
            "provider": "telnyx",
            "user_id": self.user_id,
            "credential_connections": conns.iter().map(|c| &c.obj).collect::<Vec<_>>(),
            "telephony_credentials": creds.iter().map(|c| {
                let mut v = c.to_json(&self.user_id, now);
                v["tag"] = json!(c.tag);
                v["connection_id"] = json!(c.connection_id);
                v["active_from"] = json!(ts_millis(c.active_from(self.delay())));
                v
            }).collect::<Vec<_>>(),
        })
    }

    fn check(&self, username: &str, password: &str) -> bool {
        let now = self.now();
        let st = lock(&self.state);
        let conn_ok = st.connections.values().any(|c| {
            c.obj["active"].as_bool() != Some(false)
                && c.obj["user_name"].as_str() == Some(username)
                && c.obj["password"].as_str() == Some(password)
        });
        conn_ok
            || st.credentials.values().any(|c| {
                c.sip_username == username
                    && c.sip_password == password
                    && !c.expired(now)
                    && self.activated(c, now)
                    && st.connections.contains_key(&c.connection_id)
            })
    }

    fn check_refusal(&self, username: &str, password: &str) -> Option<&'static str> {
        let now = self.now();
        let st = lock(&self.state);
        self.refusal(&st, username, password, now)
    }

    fn verify_token(&self, token: &str) -> crate::TokenCheck {
        self.verify(token)
    }

    fn set_activation_delay(&self, delay: std::time::Duration) {
        *lock(&self.activation_delay) = delay;
    }

    fn activation_delay(&self) -> std::time::Duration {
        self.delay()
    }

    fn oob_create(&self, collection: &str, body: Value) -> Result<Value, Value> {
        let Value::Object(m) = body else {
            return Err(malformed().1);
        };
        let r = match collection {
            "credential_connections" => self.create_connection(m),
            "telephony_credentials" => self.create_credential(m),
            _ => Err(not_found()),
        };
        r.map(|(_, v)| v["data"].clone()).map_err(|(_, v)| v)
    }

    fn oob_patch(&self, collection: &str, id: &str, patch: Value) -> Option<Value> {
        let now = self.now();
        let mut st = lock(&self.state);
        match collection {
            "credential_connections" => {
                let c = st.connections.get_mut(id)?;
                deep_merge(&mut c.obj, &patch);
                if patch.get("updated_at").is_none() {
                    c.obj["updated_at"] = json!(ts_millis(now));
                }
                let out = c.obj.clone();
                st.reindex();
                Some(out)
            }
            "telephony_credentials" => {
                let c = st.credentials.get_mut(id)?;
                let s = |k: &str| patch.get(k).and_then(Value::as_str).map(str::to_string);
                if let Some(v) = s("name") {
                    c.name = v;
                }
                if let Some(v) = patch.get("tag") {
                    c.tag = v.as_str().map(str::to_string);
                }
                if let Some(v) = patch.get("expires_at") {
                    c.expires_at = v.as_str().and_then(parse_instant);
                }
                if let Some(v) = s("connection_id") {
                    c.connection_id = v;
                }
                if let Some(v) = s("sip_username") {
                    c.sip_username = v;
                }
                if let Some(v) = s("sip_password") {
                    c.sip_password = v;
                }
                c.updated_at = ts_millis(now);
                let out = c.to_json(&self.user_id, now);
                st.reindex();
                Some(out)
            }
            _ => None,
        }
    }

    fn oob_delete(&self, collection: &str, id: &str) -> bool {
        match collection {
            "credential_connections" => self.delete_connection(id).is_some(),
            "telephony_credentials" => lock(&self.state).remove_credential(id).is_some(),
            _ => false,
        }
    }
}

impl Flavor for TelnyxApp {
    fn authenticate(&self, req: &Request) -> Result<(), Response> {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| {
                h.len() == self.bearer.len()
                    && h[..7].eq_ignore_ascii_case("bearer ")
                    && h[7..] == self.bearer[7..]
            });
        if ok {
            Ok(())
        } else {
            Err(respond(Err(errors(
                StatusCode::UNAUTHORIZED,
                vec![err_obj(
                    "10009",
                    "Authentication failed",
                    "Could not understand the provided credentials.",
                    None,
                )],
            ))))
        }
    }

    fn server_error(&self, status: u16) -> Response {
        match status {
            500 => respond(Err(errors(
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![err_obj(
                    "10007",
                    "Unexpected error",
                    "An unexpected error occurred.",
                    None,
                )],
            ))),
            s => gateway_page(StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY)),
        }
    }

    fn gateway_timeout(&self) -> Response {
        gateway_page(StatusCode::GATEWAY_TIMEOUT)
    }

    fn rate_limited(&self, _snap: Snapshot) -> Response {
        respond(Err(errors(
            StatusCode::TOO_MANY_REQUESTS,
            vec![err_obj(
                "10011",
                "Too many requests",
                "You have exceeded the rate limit. Please try again later.",
                None,
            )],
        )))
    }

    fn decorate(&self, resp: &mut Response, snap: Snapshot) {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(snap.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(snap.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(snap.reset_secs));
    }

    fn not_found(&self) -> Response {
        respond(Err(not_found()))
    }
}

/// What a load balancer in front of the API answers for 502/503/504.
pub(crate) fn gateway_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!(
            "<html><head><title>{} {reason}</title></head><body><h1>{} {reason}</h1></body></html>\n",
            status.as_u16(),
            status.as_u16()
        ),
    )
        .into_response()
}
