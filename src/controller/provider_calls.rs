//! Glue shared by the per-kind external clients: error mapping and drift detection.

use serde_json::Value;

use crate::managed::{ExternalError, ExternalErrorKind};
use crate::provider::{ErrorClass, ProviderError};

/// Maps a provider error to the engine's classes. The message names the field the
/// provider rejected, when it said which; it never carries a secret.
pub fn from_provider(e: &ProviderError) -> ExternalError {
    let kind = if e.outcome_unknown() {
        ExternalErrorKind::OutcomeUnknown
    } else {
        match e.class() {
            ErrorClass::Retryable => ExternalErrorKind::Retryable,
            ErrorClass::NotFound => ExternalErrorKind::NotFound,
            ErrorClass::Terminal | ErrorClass::Conflict => ExternalErrorKind::Terminal,
        }
    };
    let mut message = e.to_string();
    if let Some(field) = e.field()
        && !message.contains(field)
    {
        message = format!("{message} (field {field})");
    }
    ExternalError::new(kind, e.category().as_str(), message)
}

/// The error of a write asked of a client built only to observe and delete: the
/// engine never asks one, since a deletion step only observes and deletes.
pub fn no_desired_state() -> ExternalError {
    ExternalError::new(
        ExternalErrorKind::Terminal,
        "InternalError",
        "the desired state is unknown while deleting",
    )
}

/// Paths where `desired` (a provider request as JSON) differs from `observed` (the
/// provider object as JSON). Only fields present in `desired` count: unset fields are
/// left to the provider. A desired `null` matches an absent or null observed value.
pub fn drift(desired: &Value, observed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", desired, observed, &mut out);
    out
}

fn walk(path: &str, d: &Value, o: &Value, out: &mut Vec<String>) {
    match d {
        Value::Object(map) => {
            for (k, dv) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, dv, o.get(k).unwrap_or(&Value::Null), out);
            }
        }
        Value::Null => {
            if !o.is_null() {
                out.push(path.to_string());
            }
        }
        Value::Number(n) => {
            if o.as_f64() != n.as_f64() {
                out.push(path.to_string());
            }
        }
        // Telnyx documents some numbers as strings (int64 IDs such as
        // `outbound_voice_profile_id`, `webhook_api_version`) and may send them as
        // JSON numbers: the same digits are the same value.
        Value::String(s) if o.as_number().is_some_and(|n| n.to_string() == *s) => {}
        other => {
            if other != o {
                out.push(path.to_string());
            }
        }
    }
}

/// A provider delete's result for the engine: an object already gone is an error of
/// kind [`ExternalErrorKind::NotFound`], on which the engine releases the object
/// without counting a deletion.
pub fn deleted(r: Result<(), ProviderError>) -> Result<(), ExternalError> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Err(ExternalError::new(
            ExternalErrorKind::NotFound,
            "NotFound",
            "already deleted",
        )),
        Err(e) => Err(from_provider(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drift_compares_only_desired_fields() {
        let cases = [
            (
                "equal",
                json!({"a": 1, "b": {"c": "x"}}),
                json!({"a": 1, "b": {"c": "x", "d": 2}, "e": 3}),
                vec![],
            ),
            (
                "changed nested",
                json!({"b": {"c": "x"}}),
                json!({"b": {"c": "y"}}),
                vec!["b.c"],
            ),
            ("missing observed", json!({"a": true}), json!({}), vec!["a"]),
            ("null matches absent", json!({"a": null}), json!({}), vec![]),
            (
                "null vs value",
                json!({"a": null}),
                json!({"a": "SRTP"}),
                vec!["a"],
            ),
            ("int vs float", json!({"a": 25}), json!({"a": 25.0}), vec![]),
            (
                "digits sent as a number",
                json!({"v": "2", "id": "1293384261075731499"}),
                json!({"v": 2, "id": 1293384261075731499u64}),
                vec![],
            ),
            (
                "other digits",
                json!({"v": "2"}),
                json!({"v": 1}),
                vec!["v"],
            ),
            (
                "arrays by value",
                json!({"t": ["a", "b"]}),
                json!({"t": ["b", "a"]}),
                vec!["t"],
            ),
        ];
        for (name, d, o, want) in cases {
            assert_eq!(drift(&d, &o), want, "{name}");
        }
    }
}
