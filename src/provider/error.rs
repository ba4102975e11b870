//! Provider errors: one type for both providers, classified so the lifecycle
//! engine can decide between "retry later", "give up until the spec changes",
//! "the object is gone" and "someone else already has this name".
//!
//! Nothing in here ever holds a request body, a password or an API key. The
//! provider's own error text is kept (it names the field that was rejected),
//! truncated, and scrubbed of any secret the client sent in the request.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// The broad class of a failure: what the caller should do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The same request may succeed later without any change (5xx, timeouts,
    /// connection errors, 429, a resource that is still in use).
    Retryable,
    /// The request is wrong or not allowed (400, 401, 403, 422, a 409 that is
    /// not a duplicate); retrying without a change is pointless.
    Terminal,
    /// The object does not exist (404).
    NotFound,
    /// The identity is already taken (duplicate user name / username).
    Conflict,
}

/// A CamelCase category, usable as a Kubernetes Event reason and as a metric
/// label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// 5xx, timeouts, connection failures.
    ProviderUnavailable,
    /// 429 / Telnyx code 10011.
    RateLimited,
    /// 400, 422 and other 4xx the provider rejected.
    ProviderRejected,
    /// 401 / Telnyx code 10009: the API key or auth token is wrong.
    AuthenticationFailed,
    /// 403 / Telnyx code 10010: the key lacks permission.
    PermissionDenied,
    /// 404.
    NotFound,
    /// Duplicate identity (Vobiz 409 duplicate username, Telnyx 10012 or a
    /// "has already been taken" validation error).
    Conflict,
    /// Cannot delete or change now because the resource is in use (Telnyx
    /// 10021, Vobiz 409 on delete with active calls).
    ResourceInUse,
    /// Telnyx: the telephony credential has expired and can only be deleted.
    CredentialExpired,
    /// A lookup by a name that must be unique found several objects.
    AmbiguousMatch,
    /// The provider answered 2xx with a body the client could not read.
    InvalidResponse,
    /// The client was built or called with invalid input (bad base URL,
    /// header value, id).
    InvalidRequest,
}

impl ErrorCategory {
    /// The CamelCase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderUnavailable => "ProviderUnavailable",
            Self::RateLimited => "RateLimited",
            Self::ProviderRejected => "ProviderRejected",
            Self::AuthenticationFailed => "AuthenticationFailed",
            Self::PermissionDenied => "PermissionDenied",
            Self::NotFound => "NotFound",
            Self::Conflict => "Conflict",
            Self::ResourceInUse => "ResourceInUse",
            Self::CredentialExpired => "CredentialExpired",
            Self::AmbiguousMatch => "AmbiguousMatch",
            Self::InvalidResponse => "InvalidResponse",
            Self::InvalidRequest => "InvalidRequest",
        }
    }

    /// The class this category belongs to.
    pub fn class(self) -> ErrorClass {
        match self {
            Self::ProviderUnavailable | Self::RateLimited | Self::ResourceInUse => {
                ErrorClass::Retryable
            }
            Self::NotFound => ErrorClass::NotFound,
            Self::Conflict => ErrorClass::Conflict,
            Self::ProviderRejected
            | Self::AuthenticationFailed
            | Self::PermissionDenied
            | Self::CredentialExpired
            | Self::AmbiguousMatch
            | Self::InvalidResponse
            | Self::InvalidRequest => ErrorClass::Terminal,
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the request failed at the transport level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The provider answered with a non-2xx status.
    Status,
    /// The connection could not be established: the request provably did not
    /// reach the server.
    Connect,
    /// The request timed out after it may have been sent.
    Timeout,
    /// The connection failed after the request may have been sent (reset,
    /// closed before the response, broken body).
    Transport,
    /// A 2xx answer whose body could not be decoded.
    Decode,
    /// Detected by the client itself (invalid input, ambiguous lookup).
    Client,
}

/// What kind of operation failed; drives 409 interpretation and retry safety.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// GET.
    Read,
    /// POST that creates a provider object (not idempotent).
    Create,
    /// PATCH / PUT.
    Update,
    /// DELETE.
    Delete,
    /// A POST whose repetition is harmless (e.g. minting an access token).
    Action,
}

impl OpKind {
    /// Whether repeating the request after an ambiguous failure is harmless.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, OpKind::Create)
    }
}

/// One error entry reported by the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Provider error code, e.g. Telnyx "10015" or Vobiz "DUPLICATE_USERNAME".
    pub code: Option<String>,
    /// Short title.
    pub title: Option<String>,
    /// Human-readable detail.
    pub detail: Option<String>,
    /// JSON pointer to the rejected field, e.g. "/user_name".
    pub pointer: Option<String>,
}

impl ErrorDetail {
    fn text(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(t) = &self.title {
            parts.push(t);
        }
        if let Some(d) = &self.detail
            && self.title.as_deref() != Some(d.as_str())
        {
            parts.push(d);
        }
        parts.join(": ")
    }
}

/// The parsed provider error body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedBody {
    /// Every error entry, in the provider's order.
    pub details: Vec<ErrorDetail>,
    /// Vobiz `requestId`, useful for support tickets.
    pub request_id: Option<String>,
}

const MAX_TEXT: usize = 512;

/// An error from a provider call.
#[derive(Clone, Debug, thiserror::Error)]
pub struct ProviderError(Box<Inner>);

#[derive(Clone, Debug)]
struct Inner {
    provider: &'static str,
    operation: &'static str,
    category: ErrorCategory,
    kind: FailureKind,
    status: Option<u16>,
    details: Vec<ErrorDetail>,
    request_id: Option<String>,
    message: Option<String>,
    retry_after: Option<Duration>,
    outcome_unknown: bool,
    attempts: u32,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed", self.0.provider, self.0.operation)?;
        match self.0.status {
            Some(s) => write!(f, ": HTTP {s} {}", self.0.category)?,
            None => write!(f, ": {}", self.0.category)?,
        }
        if let Some(code) = self.code() {
            write!(f, " (code {code})")?;
        }
        if let Some(d) = self.0.details.first() {
            let text = d.text();
            if !text.is_empty() {
                write!(f, ": {text}")?;
            }
        }
        if let Some(p) = self.field() {
            write!(f, " [field {p}]")?;
        }
        if let Some(m) = &self.0.message {
            write!(f, ": {m}")?;
        }
        if self.0.details.len() > 1 {
            write!(f, " (+{} more errors)", self.0.details.len() - 1)?;
        }
        if let Some(r) = self.0.retry_after {
            write!(f, "; retry after {}s", r.as_secs_f64().ceil())?;
        }
        if self.0.outcome_unknown {
            f.write_str("; outcome unknown: the create may have happened, look it up")?;
        }
        if self.0.attempts > 1 {
            write!(f, " (after {} attempts)", self.0.attempts)?;
        }
        if let Some(id) = &self.0.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl ProviderError {
    /// Builds an error from a non-2xx answer. `body` is the response body (never
    /// the request body); it is parsed, not kept.
    pub fn from_response(
        provider: &'static str,
        operation: &'static str,
        op: OpKind,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed = parse_error_body(body);
        let category = classify(status, op, &parsed.details);
        let message = if parsed.details.is_empty() && !body.is_empty() {
            Some(format!("unparsed error body ({} bytes)", body.len()))
        } else {
            None
        };
        Self(Box::new(Inner {
            provider,
            operation,
            category,
            kind: FailureKind::Status,
            status: Some(status),
            details: parsed.details.into_iter().map(truncate_detail).collect(),
            request_id: parsed.request_id,
            message,
            retry_after,
            outcome_unknown: false,
            attempts: 1,
        }))
    }

    /// A transport failure (no HTTP status).
    pub fn transport(
        provider: &'static str,
        operation: &'static str,
        kind: FailureKind,
        message: impl Into<String>,
    ) -> Self {
        let category = match kind {
            FailureKind::Decode => ErrorCategory::InvalidResponse,
            FailureKind::Client => ErrorCategory::InvalidRequest,
            _ => ErrorCategory::ProviderUnavailable,
        };
        Self(Box::new(Inner {
            provider,
            operation,
            category,
            kind,
            status: None,
            details: Vec::new(),
            request_id: None,
            message: Some(truncate(message.into())),
            retry_after: None,
            outcome_unknown: false,
            attempts: 1,
        }))
    }

    /// An error detected by the client (invalid input, ambiguous lookup...).
    pub fn client(
        provider: &'static str,
        operation: &'static str,
        category: ErrorCategory,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::transport(provider, operation, FailureKind::Client, message);
        e.0.category = category;
        e
    }

    /// A 2xx answer whose body did not decode.
    pub(crate) fn decode(
        provider: &'static str,
        operation: &'static str,
        status: u16,
        err: &serde_json::Error,
    ) -> Self {
        // serde_json errors name the position and the expected type, never the
        // value, so they are safe to keep.
        let mut e = Self::transport(
            provider,
            operation,
            FailureKind::Decode,
            format!("cannot decode response: {err}"),
        );
        e.0.status = Some(status);
        e
    }

    /// Provider name ("telnyx", "vobiz").
    pub fn provider(&self) -> &'static str {
        self.0.provider
    }
    /// Operation name, e.g. "create_credential_connection".
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }
    /// The class of the failure.
    pub fn class(&self) -> ErrorClass {
        self.0.category.class()
    }
    /// The category (Event reason / metric label).
    pub fn category(&self) -> ErrorCategory {
        self.0.category
    }
    /// The category as a CamelCase `&'static str`.
    pub fn metric_label(&self) -> &'static str {
        self.0.category.as_str()
    }
    /// Transport-level kind.
    pub fn kind(&self) -> FailureKind {
        self.0.kind
    }
    /// HTTP status, if the provider answered.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }
    /// First provider error code, e.g. "10015".
    pub fn code(&self) -> Option<&str> {
        self.0.details.iter().find_map(|d| d.code.as_deref())
    }
    /// First title.
    pub fn title(&self) -> Option<&str> {
        self.0.details.iter().find_map(|d| d.title.as_deref())
    }
    /// First detail.
    pub fn detail(&self) -> Option<&str> {
        self.0.details.iter().find_map(|d| d.detail.as_deref())
    }
    /// All error entries.
    pub fn details(&self) -> &[ErrorDetail] {
        &self.0.details
    }
    /// First JSON pointer naming a field, e.g. "/user_name" (a bare "/" is
    /// not a field and is skipped).
    pub fn field(&self) -> Option<&str> {
        self.0
            .details
            .iter()
            .filter_map(|d| d.pointer.as_deref())
            .find(|p| !p.is_empty() && *p != "/")
    }
    /// Vobiz request id.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// Server hint for when to try again (Retry-After, x-ratelimit-reset).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }
    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }
    /// True for a create that failed ambiguously (timeout or connection lost
    /// after sending, 5xx other than 503): the object may exist. Recover by
    /// looking it up by its deterministic identity; do not blindly create again.
    pub fn outcome_unknown(&self) -> bool {
        self.0.outcome_unknown
    }
    /// Same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }
    /// 404.
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }
    /// Duplicate identity.
    pub fn is_conflict(&self) -> bool {
        self.class() == ErrorClass::Conflict
    }
    /// Not retryable without a change.
    pub fn is_terminal(&self) -> bool {
        self.class() == ErrorClass::Terminal
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.0.attempts = attempts;
    }
    /// Marks the error as an ambiguous create (for fakes and tests of the
    /// lifecycle engine; the clients set it themselves).
    pub fn with_outcome_unknown(mut self) -> Self {
        self.0.outcome_unknown = true;
        self
    }

    pub(crate) fn set_outcome_unknown(&mut self) {
        self.0.outcome_unknown = true;
    }
    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.0.operation = operation;
        self
    }

    /// Replaces every occurrence of `secret` in the provider-supplied text.
    /// Called with every secret the client sent in the request, in case a
    /// provider echoes an input value in its error message.
    pub(crate) fn scrub(&mut self, secret: &str) {
        if secret.len() < 4 {
            // Too short to scrub meaningfully without mangling text; such
            // values are rejected by both providers anyway.
            return;
        }
        let fix = |s: &mut Option<String>| {
            if let Some(v) = s
                && v.contains(secret)
            {
                *v = v.replace(secret, "[REDACTED]");
            }
        };
        for d in &mut self.0.details {
            fix(&mut d.code);
            fix(&mut d.title);
            fix(&mut d.detail);
            fix(&mut d.pointer);
        }
        fix(&mut self.0.message);
        fix(&mut self.0.request_id);
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

fn truncate_detail(d: ErrorDetail) -> ErrorDetail {
    ErrorDetail {
        code: d.code.map(truncate),
        title: d.title.map(truncate),
        detail: d.detail.map(truncate),
        pointer: d.pointer.map(truncate),
    }
}

fn value_to_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_to_text).collect();
            if parts.is_empty() {
                None
            } else {
                Some(parts.join("; "))
            }
        }
        Value::Object(_) => Some(v.to_string()),
    }
}

fn str_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(value_to_text)
}

/// Parses every error body shape either provider is known to send:
///
/// * Telnyx `{"errors":[{"code","title","detail","source":{"pointer"},"meta"}]}`
/// * Telnyx expired credential `{"errors":{"status":"can't update ..."}}`
///   (a map of field to message(s); the key becomes the pointer)
/// * Vobiz `{"status":"error","error":{"code","message","details"},"requestId"}`
/// * Vobiz flat `{"error":"Username already exists","code":409}`
/// * a generic `{"message": "..."}` / `{"detail": "..."}`
///
/// Anything else (HTML from a proxy, empty body) yields no details.
pub fn parse_error_body(body: &[u8]) -> ParsedBody {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return ParsedBody::default();
    };
    let request_id = str_field(&obj, "requestId").or_else(|| str_field(&obj, "request_id"));
    let mut details = Vec::new();
    match obj.get("errors") {
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Object(e) => details.push(ErrorDetail {
                        code: str_field(e, "code"),
                        title: str_field(e, "title"),
                        detail: str_field(e, "detail").or_else(|| str_field(e, "message")),
                        pointer: e
                            .get("source")
                            .and_then(Value::as_object)
                            .and_then(|s| str_field(s, "pointer")),
                    }),
                    other => details.push(ErrorDetail {
                        detail: value_to_text(other),
                        ..ErrorDetail::default()
                    }),
                }
            }
        }
        Some(Value::Object(map)) => {
            for (field, msg) in map {
                details.push(ErrorDetail {
                    detail: value_to_text(msg),
                    pointer: Some(format!("/{field}")),
                    ..ErrorDetail::default()
                });
            }
        }
        Some(other) => details.push(ErrorDetail {
            detail: value_to_text(other),
            ..ErrorDetail::default()
        }),
        None => {}
    }
    if details.is_empty() {
        match obj.get("error") {
            Some(Value::Object(e)) => {
                let pointer = e
                    .get("details")
                    .and_then(Value::as_object)
                    .and_then(|d| str_field(d, "field"))
                    .map(|f| {
                        if f.starts_with('/') {
                            f
                        } else {
                            format!("/{f}")
                        }
                    });
                let detail = match e.get("details") {
                    Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                    _ => None,
                };
                details.push(ErrorDetail {
                    code: str_field(e, "code"),
                    title: str_field(e, "message"),
                    detail,
                    pointer,
                });
            }
            Some(v @ Value::String(_)) => details.push(ErrorDetail {
                code: str_field(&obj, "code"),
                title: value_to_text(v),
                ..ErrorDetail::default()
            }),
            _ => {
                let msg = str_field(&obj, "message").or_else(|| str_field(&obj, "detail"));
                if msg.is_some() {
                    details.push(ErrorDetail {
                        code: str_field(&obj, "code"),
                        title: msg,
                        ..ErrorDetail::default()
                    });
                }
            }
        }
    }
    ParsedBody {
        details,
        request_id,
    }
}

fn all_text(details: &[ErrorDetail]) -> String {
    let mut s = String::new();
    for d in details {
        for part in [&d.code, &d.title, &d.detail].into_iter().flatten() {
            s.push_str(&part.to_lowercase());
            s.push(' ');
        }
    }
    s
}

const DUPLICATE_MARKERS: &[&str] = &[
    "already exist",
    "already been taken",
    "already taken",
    "has been taken",
    "already in use",
    "duplicate",
    "not unique",
    "must be unique",
];
const IN_USE_MARKERS: &[&str] = &["in use", "active call", "in_use", "has associated", "still"];

/// Classifies a non-2xx answer.
pub fn classify(status: u16, op: OpKind, details: &[ErrorDetail]) -> ErrorCategory {
    let text = all_text(details);
    let has = |markers: &[&str]| markers.iter().any(|m| text.contains(m));
    let codes: Vec<&str> = details.iter().filter_map(|d| d.code.as_deref()).collect();
    let code_is = |c: &str| codes.contains(&c);

    // Status classes that no body can change.
    match status {
        429 => return ErrorCategory::RateLimited,
        500..=599 => return ErrorCategory::ProviderUnavailable,
        408 => return ErrorCategory::ProviderUnavailable,
        401 => return ErrorCategory::AuthenticationFailed,
        403 => return ErrorCategory::PermissionDenied,
        404 => return ErrorCategory::NotFound,
        _ => {}
    }
    // Telnyx codes with a precise meaning.
    if code_is("10011") {
        return ErrorCategory::RateLimited;
    }
    if code_is("10009") {
        return ErrorCategory::AuthenticationFailed;
    }
    if code_is("10010") {
        return ErrorCategory::PermissionDenied;
    }
    if code_is("10012") {
        return ErrorCategory::Conflict;
    }
    if code_is("10021") {
        return ErrorCategory::ResourceInUse;
    }
    if text.contains("expired") && (status == 422 || status == 400 || status == 409) {
        return ErrorCategory::CredentialExpired;
    }
    match status {
        409 => {
            if has(DUPLICATE_MARKERS) {
                ErrorCategory::Conflict
            } else if has(IN_USE_MARKERS) || op == OpKind::Delete {
                ErrorCategory::ResourceInUse
            } else {
                ErrorCategory::Conflict
            }
        }
        // Telnyx reports a taken user_name as a validation error.
        400 | 422 if has(DUPLICATE_MARKERS) => ErrorCategory::Conflict,
        _ => ErrorCategory::ProviderRejected,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn err(status: u16, op: OpKind, body: &str) -> ProviderError {
        ProviderError::from_response("telnyx", "op", op, status, body.as_bytes(), None)
    }

    #[test]
    fn telnyx_422_with_pointer() {
        let e = err(
            422,
            OpKind::Create,
            r#"{"errors":[{"code":"10015","title":"Bad Request","detail":"The value is invalid.","source":{"pointer":"/inbound/dnis_number_format"},"meta":{"url":"https://developers.telnyx.com/docs/overview/errors/10015"}}]}"#,
        );
        assert_eq!(e.class(), ErrorClass::Terminal);
        assert_eq!(e.category(), ErrorCategory::ProviderRejected);
        assert_eq!(e.metric_label(), "ProviderRejected");
        assert_eq!(e.code(), Some("10015"));
        assert_eq!(e.title(), Some("Bad Request"));
        assert_eq!(e.detail(), Some("The value is invalid."));
        assert_eq!(e.field(), Some("/inbound/dnis_number_format"));
        assert_eq!(e.status(), Some(422));
        assert!(!e.is_retryable());
        let s = e.to_string();
        assert!(
            s.contains("10015") && s.contains("/inbound/dnis_number_format"),
            "{s}"
        );
    }

    #[test]
    fn telnyx_404_root_pointer_is_not_a_field() {
        let e = err(
            404,
            OpKind::Read,
            r#"{"errors":[{"code":"10005","title":"Resource not found","detail":"The requested resource or URL could not be found.","source":{"pointer":"/"}}]}"#,
        );
        assert!(e.is_not_found());
        assert_eq!(e.field(), None);
        assert_eq!(e.metric_label(), "NotFound");
    }

    #[test]
    fn telnyx_auth_and_permission() {
        let e = err(
            401,
            OpKind::Read,
            r#"{"errors":[{"code":"10009","title":"Authentication failed"}]}"#,
        );
        assert_eq!(e.category(), ErrorCategory::AuthenticationFailed);
        assert!(e.is_terminal());
        let e = err(403, OpKind::Read, r#"{"errors":[{"code":"10010"}]}"#);
        assert_eq!(e.category(), ErrorCategory::PermissionDenied);
        assert!(e.is_terminal());
    }

    #[test]
    fn telnyx_rate_limited() {
        let e = err(
            429,
            OpKind::Create,
            r#"{"errors":[{"code":"10011","title":"Too many requests"}]}"#,
        );
        assert!(e.is_retryable());
        assert_eq!(e.metric_label(), "RateLimited");
    }

    #[test]
    fn telnyx_duplicate_user_name_is_conflict() {
        let e = err(
            422,
            OpKind::Create,
            r#"{"errors":[{"code":"10015","title":"Invalid value","detail":"user_name has already been taken","source":{"pointer":"/user_name"}}]}"#,
        );
        assert!(e.is_conflict());
        assert_eq!(e.field(), Some("/user_name"));
        let e = err(
            422,
            OpKind::Create,
            r#"{"errors":[{"code":"10012","title":"Duplicate resource"}]}"#,
        );
        assert!(e.is_conflict());
    }

    #[test]
    fn telnyx_in_use() {
        let e = err(
            422,
            OpKind::Delete,
            r#"{"errors":[{"code":"10021","title":"Resource in use"}]}"#,
        );
        assert_eq!(e.category(), ErrorCategory::ResourceInUse);
        assert!(e.is_retryable());
    }

    #[test]
    fn telnyx_expired_credential_map_shape() {
        let e = err(
            422,
            OpKind::Update,
            r#"{"errors":{"status":"can't update credentials in expired status"}}"#,
        );
        assert_eq!(e.category(), ErrorCategory::CredentialExpired);
        assert!(e.is_terminal());
        assert_eq!(e.field(), Some("/status"));
        assert_eq!(
            e.detail(),
            Some("can't update credentials in expired status")
        );
    }

    #[test]
    fn vobiz_envelope() {
        let e = ProviderError::from_response(
            "vobiz",
            "create_credential",
            OpKind::Create,
            400,
            br#"{"status":"error","error":{"code":"INVALID_PASSWORD","message":"Password must be at least 8 characters","details":{"field":"password"}},"timestamp":"2026-01-01T00:00:00Z","requestId":"req-123"}"#,
            None,
        );
        assert_eq!(e.code(), Some("INVALID_PASSWORD"));
        assert_eq!(e.title(), Some("Password must be at least 8 characters"));
        assert_eq!(e.field(), Some("/password"));
        assert_eq!(e.request_id(), Some("req-123"));
        assert_eq!(e.category(), ErrorCategory::ProviderRejected);
    }

    #[test]
    fn vobiz_envelope_duplicate() {
        let e = ProviderError::from_response(
            "vobiz",
            "create_credential",
            OpKind::Create,
            409,
            br#"{"status":"error","error":{"code":"CONFLICT","message":"Username already exists","details":"username acme_01"}}"#,
            None,
        );
        assert!(e.is_conflict());
        assert_eq!(e.detail(), Some("username acme_01"));
    }

    #[test]
    fn vobiz_flat_409() {
        let e = ProviderError::from_response(
            "vobiz",
            "create_credential",
            OpKind::Create,
            409,
            br#"{"error":"Username already exists","code":409}"#,
            None,
        );
        assert!(e.is_conflict());
        assert_eq!(e.code(), Some("409"));
        assert_eq!(e.title(), Some("Username already exists"));
        assert_eq!(e.metric_label(), "Conflict");
    }

    #[test]
    fn vobiz_delete_409_is_in_use() {
        let e = ProviderError::from_response(
            "vobiz",
            "delete_credential",
            OpKind::Delete,
            409,
            br#"{"error":"Credential has active calls","code":409}"#,
            None,
        );
        assert_eq!(e.category(), ErrorCategory::ResourceInUse);
        assert!(e.is_retryable());
    }

    #[test]
    fn non_json_and_empty_bodies() {
        let e = err(502, OpKind::Read, "<html>Bad gateway</html>");
        assert!(e.is_retryable());
        assert_eq!(e.category(), ErrorCategory::ProviderUnavailable);
        assert!(!e.to_string().contains("html"));
        let e = err(500, OpKind::Action, "");
        assert!(e.is_retryable());
        assert!(e.details().is_empty());
    }

    #[test]
    fn status_table() {
        let cases: &[(&str, u16, OpKind, ErrorClass, &str)] = &[
            (
                "bad request",
                400,
                OpKind::Create,
                ErrorClass::Terminal,
                "ProviderRejected",
            ),
            (
                "unauthenticated",
                401,
                OpKind::Read,
                ErrorClass::Terminal,
                "AuthenticationFailed",
            ),
            (
                "forbidden",
                403,
                OpKind::Read,
                ErrorClass::Terminal,
                "PermissionDenied",
            ),
            (
                "not found",
                404,
                OpKind::Read,
                ErrorClass::NotFound,
                "NotFound",
            ),
            (
                "method not allowed",
                405,
                OpKind::Read,
                ErrorClass::Terminal,
                "ProviderRejected",
            ),
            (
                "409 on create without text",
                409,
                OpKind::Create,
                ErrorClass::Conflict,
                "Conflict",
            ),
            (
                "409 on delete without text",
                409,
                OpKind::Delete,
                ErrorClass::Retryable,
                "ResourceInUse",
            ),
            (
                "unprocessable",
                422,
                OpKind::Update,
                ErrorClass::Terminal,
                "ProviderRejected",
            ),
            (
                "too many requests",
                429,
                OpKind::Create,
                ErrorClass::Retryable,
                "RateLimited",
            ),
            (
                "internal error",
                500,
                OpKind::Create,
                ErrorClass::Retryable,
                "ProviderUnavailable",
            ),
            (
                "unavailable",
                503,
                OpKind::Read,
                ErrorClass::Retryable,
                "ProviderUnavailable",
            ),
        ];
        for (name, status, op, class, label) in cases {
            let e = err(*status, *op, "{}");
            assert_eq!(e.class(), *class, "{name}");
            assert_eq!(e.metric_label(), *label, "{name}");
        }
    }

    /// The four error examples of seed 001, verbatim.
    #[test]
    fn seed_001_error_examples() {
        let cases = [
            (
                400,
                r#"{"errors":[{"code":"10015","title":"Bad Request","detail":"The request failed because it was not well-formed.","source":{"pointer":"/"},"meta":{"url":"https://developers.telnyx.com/docs/overview/errors/10015"}}]}"#,
                "ProviderRejected",
                "10015",
            ),
            (
                401,
                r#"{"errors":[{"code":"10009","title":"Authentication failed","detail":"Could not understand the provided credentials.","meta":{"url":"https://developers.telnyx.com/docs/overview/errors/10009"}}]}"#,
                "AuthenticationFailed",
                "10009",
            ),
            (
                403,
                r#"{"errors":[{"code":"10010","title":"Not authorized","detail":"You are not authorized to access the requested resource.","meta":{"url":"https://developers.telnyx.com/docs/overview/errors/10010"},"source":{"pointer":"/"}}]}"#,
                "PermissionDenied",
                "10010",
            ),
            (
                404,
                r#"{"errors":[{"code":"10005","title":"Resource not found","detail":"The requested resource or URL could not be found.","meta":{"url":"https://developers.telnyx.com/docs/overview/errors/10005"},"source":{"pointer":"/"}}]}"#,
                "NotFound",
                "10005",
            ),
        ];
        for (status, body, label, code) in cases {
            let e = err(status, OpKind::Read, body);
            assert_eq!(e.metric_label(), label, "{status}");
            assert_eq!(e.code(), Some(code), "{status}");
            assert_eq!(e.field(), None, "{status}: '/' names no field");
            assert!(e.detail().is_some());
        }
    }

    #[test]
    fn scrub_removes_echoed_secret() {
        let mut e = err(
            422,
            OpKind::Create,
            r#"{"errors":[{"code":"10015","detail":"password 'hunter2hunter2' is too weak"}]}"#,
        );
        e.scrub("hunter2hunter2");
        assert!(!format!("{e} {e:?}").contains("hunter2hunter2"));
    }

    #[test]
    fn long_detail_truncated() {
        let long = "x".repeat(5000);
        let body = format!(r#"{{"errors":[{{"detail":"{long}"}}]}}"#);
        let e = err(400, OpKind::Create, &body);
        assert!(e.to_string().len() < 1200);
    }
}
