//! Messages people read (condition messages, Event notes) are sentences: never Rust
//! `Debug` output (`Some(`, `Status {`) and never terminal escape sequences. The shared
//! test support calls these on every condition and Event it sees.
#![allow(dead_code)]

use k8s_openapi::api::events::v1::Event;
use serde_json::Value;

/// What makes `text` unfit for a person, or `None` when it reads as words.
pub fn unreadable(text: &str) -> Option<&'static str> {
    if text.contains('\u{1b}') || text.contains('\u{9b}') {
        return Some("an ANSI escape sequence");
    }
    // An escape that went through `Debug` is no longer a control byte but its spelling.
    if text.contains("\\u{1b}") || text.contains("\\x1b") || text.contains("\\e[") {
        return Some("an escaped ANSI sequence");
    }
    if text.contains("Some(") {
        return Some("Rust Debug output `Some(`");
    }
    if text.contains("Status {") {
        return Some("Rust Debug output `Status {`");
    }
    None
}

/// Panics, naming `what` (e.g. `SipConnection default/a Ready`), when `text` is not
/// fit for a person.
#[track_caller]
pub fn assert_readable(what: &str, text: &str) {
    if let Some(problem) = unreadable(text) {
        panic!("{what} contains {problem}: {text:?}");
    }
}

/// Checks the message of every condition of an object (or of its `status`) as JSON.
#[track_caller]
pub fn assert_conditions_readable(what: &str, object_or_status: &Value) {
    let status = object_or_status.get("status").unwrap_or(object_or_status);
    for c in status["conditions"].as_array().into_iter().flatten() {
        let kind = c["type"].as_str().unwrap_or("?");
        if let Some(message) = c["message"].as_str() {
            assert_readable(&format!("{what} condition {kind}"), message);
        }
    }
}

/// Checks the note of every Event.
#[track_caller]
pub fn assert_events_readable(events: &[Event]) {
    for e in events {
        let about = e
            .regarding
            .as_ref()
            .map(|r| {
                format!(
                    "{} {}/{}",
                    r.kind.as_deref().unwrap_or("?"),
                    r.namespace.as_deref().unwrap_or(""),
                    r.name.as_deref().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        let reason = e.reason.as_deref().unwrap_or("?");
        if let Some(note) = &e.note {
            assert_readable(&format!("Event {reason} on {about}"), note);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;
    use serde_json::json;

    #[test]
    fn tells_sentences_from_debug_dumps_and_escapes() {
        for (text, bad, why) in [
            (
                "Kubernetes API: 500 InternalError: etcd is down",
                false,
                "what failed, in words",
            ),
            (
                "provider rejected the request [field /user_name]: already taken",
                false,
                "a provider error with its field",
            ),
            ("", false, "an empty message says nothing wrong"),
            (
                "Kubernetes API error: ApiError: boom (Status { status: Some(Failure), code: 500 })",
                true,
                "a kube-rs ErrorResponse through Debug",
            ),
            ("expected Some(\"x\")", true, "an Option through Debug"),
            (
                "\u{1b}[31mfailed\u{1b}[0m",
                true,
                "colour codes from a log formatter",
            ),
            ("\u{9b}31mfailed", true, "the 8-bit CSI"),
            ("\\u{1b}[2mfailed", true, "an escape printed through Debug"),
        ] {
            assert_eq!(unreadable(text).is_some(), bad, "{why}: {text:?}");
        }
    }

    #[test]
    #[should_panic(expected = "SipConnection default/a condition Ready contains")]
    fn a_debug_dump_in_a_condition_fails_naming_the_object() {
        assert_conditions_readable(
            "SipConnection default/a",
            &json!({"status": {"conditions": [
                {"type": "Synced", "status": "True", "message": "synced"},
                {"type": "Ready", "status": "False", "message": "error: Status { code: 500 }"},
            ]}}),
        );
    }

    #[test]
    fn readable_conditions_and_events_pass() {
        assert_conditions_readable(
            "SipConnection default/a",
            &json!({"conditions": [{"type": "Ready", "status": "True", "message": "ready"}]}),
        );
        assert_conditions_readable("an object without status", &json!({"spec": {}}));
        assert_events_readable(&[Event {
            note: Some("Created credential connection 123".into()),
            reason: Some("Created".into()),
            ..Default::default()
        }]);
    }

    #[test]
    #[should_panic(expected = "Event Failed on SipConnection default/a contains")]
    fn an_escape_in_an_event_note_fails_naming_the_event() {
        assert_events_readable(&[Event {
            note: Some("\u{1b}[31mfailed\u{1b}[0m".into()),
            reason: Some("Failed".into()),
            regarding: Some(ObjectReference {
                kind: Some("SipConnection".into()),
                namespace: Some("default".into()),
                name: Some("a".into()),
                ..Default::default()
            }),
            ..Default::default()
        }]);
    }
}
