//! `Status` error objects, exactly as the API server shapes them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API error rendered as a `Status` object.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `reason` (NotFound, Conflict, ...).
    pub reason: String,
    /// Human message.
    pub message: String,
    /// `details`, if any.
    pub details: Option<Value>,
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// Generic constructor.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
        }
    }

    /// Attach `details`.
    pub fn with_details(mut self, d: Value) -> Self {
        self.details = Some(d);
        self
    }

    /// `<plural>[.<group>]` as used in messages.
    pub fn qualified(plural: &str, group: &str) -> String {
        if group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{group}")
        }
    }

    /// 404 NotFound.
    pub fn not_found(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", Self::qualified(plural, group)),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{name}\" already exists",
                Self::qualified(plural, group)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                Self::qualified(plural, group)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 404 for an unknown path.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 422 Invalid with causes.
    pub fn invalid(
        kind: &str,
        group: &str,
        name: &str,
        causes: Vec<(String, String, String)>,
    ) -> Self {
        let rendered: Vec<String> = causes
            .iter()
            .map(|(_, m, f)| {
                if f.is_empty() {
                    m.clone()
                } else {
                    format!("{f}: {m}")
                }
            })
            .collect();
        let body = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let q = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|(r, m, f)| json!({"reason": r, "message": m, "field": f}))
            .collect();
        Self::new(422, "Invalid", format!("{q} \"{name}\" is invalid: {body}"))
            .with_details(json!({"name": name, "group": group, "kind": kind, "causes": causes}))
    }

    /// 410 Expired (continue tokens).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The Status object.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl From<crate::validation::Invalid> for ApiError {
    fn from(i: crate::validation::Invalid) -> Self {
        let st = i.status();
        Self {
            code: i.code,
            reason: st["reason"].as_str().unwrap_or("Invalid").to_string(),
            message: i.message(),
            details: st.get("details").cloned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut status = self.status();
        // Go's omitempty: an empty group or name is left out of the details
        if let Some(d) = status.get_mut("details").and_then(Value::as_object_mut) {
            d.retain(|k, v| !(matches!(k.as_str(), "group" | "name") && v == ""));
        }
        let body = serde_json::to_vec(&status).unwrap_or_default();
        let mut r = (code, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}
