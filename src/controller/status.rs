//! Conditions and status writes shared by every kind.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crd::condition::{READY, SYNCED};

/// Now, as an RFC 3339 timestamp with second precision.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn now_time() -> Time {
    Time(
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
            .unwrap_or_else(|_| jiff::Timestamp::now()),
    )
}

/// Sets a condition, keeping `lastTransitionTime` unless the status changes (pure
/// apart from reading the clock).
pub fn set_condition(
    conds: &mut Vec<Condition>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    let status = if ok { "True" } else { "False" }.to_string();
    let message: String = message.chars().take(1024).collect();
    match conds.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now_time();
            }
            c.status = status;
            c.reason = reason.to_string();
            c.message = message;
            c.observed_generation = generation;
        }
        None => conds.push(Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message,
            observed_generation: generation,
            last_transition_time: now_time(),
        }),
    }
}

/// Ready and Synced after a successful reconcile.
pub fn mark_ready(conds: &mut Vec<Condition>, message: &str, generation: Option<i64>) {
    set_condition(conds, READY, true, "Available", message, generation);
    set_condition(
        conds,
        SYNCED,
        true,
        "ReconcileSuccess",
        "the last reconcile succeeded",
        generation,
    );
}

/// Synced=False, reason `ReconcilePaused`: nothing is observed or written while
/// paused, so Ready keeps what it last said (a login that worked still works; one
/// still activating, or never created, is not claimed ready). With no Ready yet,
/// Ready=False for the same reason.
pub fn mark_paused(conds: &mut Vec<Condition>, message: &str, generation: Option<i64>) {
    set_condition(conds, SYNCED, false, PAUSED, message, generation);
    if !conds.iter().any(|c| c.type_ == READY) {
        set_condition(conds, READY, false, PAUSED, message, generation);
    }
}

/// The reason of a paused object's Synced condition (Crossplane's).
pub const PAUSED: &str = "ReconcilePaused";

/// Synced=False; Ready=False too unless the object was Ready and keeps serving
/// (`still_serving`: the provider object and Secret are still valid).
pub fn mark_failed(
    conds: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    still_serving: bool,
) {
    set_condition(conds, SYNCED, false, reason, message, generation);
    let was_ready = conds.iter().any(|c| c.type_ == READY && c.status == "True");
    if still_serving && was_ready {
        // Keep Ready=True but stamp the generation it describes: kstatus sees the lag.
        return;
    }
    set_condition(conds, READY, false, reason, message, generation);
}

/// The longest wait that is not written to an object with no Ready condition yet.
pub const UNREPORTED_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether a failed step is worth a status write. A new object whose wait ends within
/// seconds has nothing to correct in a status that says nothing yet: Telnyx
/// activating the login it just created (about 5 s), or a provider account or
/// SipConnection applied together with it and not yet checked or created (the usual
/// case of one `kubectl apply`, Helm release or Argo CD sync). `kubectl wait`,
/// kstatus and Argo CD read an object without Ready as in progress anyway, and the
/// status write that follows carries everything the first one would have: Ready=True,
/// or the awaited object's failure once it has one (its readiness change wakes the
/// object). The wait is still logged; a longer wait, or one of an object that
/// already reports Ready, is written as usual (it corrects or explains something the
/// user can see).
pub fn worth_reporting(err: &super::error::Error, reported: &[Condition]) -> bool {
    use super::error::Error;
    let short = match err {
        Error::Activating { after, .. } => *after <= UNREPORTED_WAIT,
        Error::Waiting { soon, .. } => *soon,
        _ => false,
    };
    !short || reported.iter().any(|c| c.type_ == READY)
}

/// The generation `status.observedGeneration` reports after a step: the one the
/// Ready condition describes. kstatus, `kubectl wait` and the Argo CD script read
/// Ready=True with `status.observedGeneration == metadata.generation` as "this spec
/// is in effect", so a failure that keeps Ready=True from an earlier generation (the
/// login still works, the change is not at the provider yet) must not advance it,
/// and neither does a paused step, which acts on nothing. `previous` is what status
/// said before the step.
pub fn observed_generation(
    conds: &[Condition],
    previous: Option<i64>,
    paused: bool,
) -> Option<i64> {
    if paused {
        return previous;
    }
    conds
        .iter()
        .find(|c| c.type_ == READY)
        .map_or(previous, |c| c.observed_generation)
}

/// Writes the status subresource with a merge patch (status only).
pub async fn patch_status<K, S>(api: &Api<K>, name: &str, status: &S) -> kube::Result<()>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    patch_status_from(api, name, None::<&S>, status)
        .await
        .map(drop)
}

/// Writes status with a merge patch that also clears the fields `before` had and
/// `status` no longer has (a merge patch keeps what it does not mention). Returns the
/// resourceVersion the write produced.
pub async fn patch_status_from<K, S>(
    api: &Api<K>,
    name: &str,
    before: Option<&S>,
    status: &S,
) -> kube::Result<String>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let mut now = serde_json::to_value(status).unwrap_or_default();
    let was = before
        .and_then(|b| serde_json::to_value(b).ok())
        .unwrap_or_default();
    if let (Some(now), Some(was)) = (now.as_object_mut(), was.as_object()) {
        for k in was.keys() {
            now.entry(k.clone()).or_insert(serde_json::Value::Null);
        }
    }
    let body = serde_json::json!({ "status": now });
    let written = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
        .await?;
    Ok(written.meta().resource_version.clone().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_short_wait_of_an_object_that_reports_nothing_goes_unwritten() {
        use super::super::error::Error;
        use std::time::Duration;
        let activating = |secs| Error::Activating {
            message: "activating".into(),
            after: Duration::from_secs(secs),
        };
        let mut was_ready = vec![];
        set_condition(&mut was_ready, READY, true, "Available", "ok", Some(1));
        let mut was_waiting = vec![];
        set_condition(
            &mut was_waiting,
            READY,
            false,
            "ProviderNotReady",
            "w",
            Some(1),
        );
        let waiting = |soon| Error::Waiting {
            reason: "ProviderNotReady",
            message: "w".into(),
            soon,
        };
        let cases: [(&str, Error, &[Condition], bool); 10] = [
            ("new object, 5 s activation", activating(5), &[], false),
            (
                "new object, account not checked yet",
                waiting(true),
                &[],
                false,
            ),
            ("new object, account that failed", waiting(false), &[], true),
            (
                "object that reported a wait, account not checked",
                waiting(true),
                &was_waiting,
                true,
            ),
            (
                "object that was Ready, account not checked",
                waiting(true),
                &was_ready,
                true,
            ),
            ("new object, 10 s activation", activating(10), &[], false),
            ("new object, 60 s activation", activating(60), &[], true),
            (
                "object that was Ready (a recreate)",
                activating(5),
                &was_ready,
                true,
            ),
            (
                "object that reported a wait",
                activating(5),
                &was_waiting,
                true,
            ),
            (
                "any other failure of a new object",
                Error::InvalidSpec("spec.x".into()),
                &[],
                true,
            ),
        ];
        for (what, err, reported, want) in cases {
            assert_eq!(worth_reporting(&err, reported), want, "{what}");
        }
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let mut c = vec![];
        set_condition(&mut c, READY, false, "Creating", "x", Some(1));
        let t0 = c[0].last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        set_condition(&mut c, READY, false, "StillCreating", "y", Some(2));
        assert_eq!(c[0].last_transition_time, t0);
        assert_eq!(
            (c[0].reason.as_str(), c[0].observed_generation),
            ("StillCreating", Some(2))
        );
        set_condition(&mut c, READY, true, "Available", "z", Some(2));
        assert_ne!(c[0].last_transition_time, t0);
    }

    #[test]
    fn failure_keeps_ready_when_still_serving() {
        let mut c = vec![];
        mark_ready(&mut c, "ok", Some(1));
        mark_failed(&mut c, "ProviderUnavailable", "503", Some(2), true);
        let ready = c
            .iter()
            .find(|c| c.type_ == READY)
            .map(|c| c.status.clone());
        let synced = c
            .iter()
            .find(|c| c.type_ == SYNCED)
            .map(|c| c.status.clone());
        assert_eq!(
            (ready.as_deref(), synced.as_deref()),
            (Some("True"), Some("False"))
        );
        mark_failed(&mut c, "InvalidSpec", "bad", Some(3), false);
        assert!(c.iter().all(|c| c.status == "False"));
    }

    #[test]
    fn observed_generation_is_the_one_ready_describes() {
        type Step = fn(&mut Vec<Condition>);
        let ready_at_1: Step = |c| mark_ready(c, "ok", Some(1));
        let cases: [(&str, &[Step], bool, Option<i64>); 6] = [
            (
                "synced at 2",
                &[ready_at_1, |c| mark_ready(c, "ok", Some(2))],
                false,
                Some(2),
            ),
            (
                "a transient failure at 2 while still serving 1",
                &[ready_at_1, |c| {
                    mark_failed(c, "ProviderUnavailable", "503", Some(2), true)
                }],
                false,
                Some(1),
            ),
            (
                "a terminal failure at 2 is the answer for 2",
                &[ready_at_1, |c| {
                    mark_failed(c, "InvalidSpec", "bad", Some(2), false)
                }],
                false,
                Some(2),
            ),
            (
                "a transient failure before the first Ready",
                &[|c| mark_failed(c, "ProviderUnavailable", "503", Some(2), true)],
                false,
                Some(2),
            ),
            (
                "paused at 2 after Ready at 1",
                &[ready_at_1, |c| mark_paused(c, "paused", Some(2))],
                true,
                Some(1),
            ),
            (
                "paused before anything was observed",
                &[|c| mark_paused(c, "paused", Some(2))],
                true,
                None,
            ),
        ];
        for (what, steps, paused, want) in cases {
            let mut c = vec![];
            let mut previous = None;
            for (i, step) in steps.iter().enumerate() {
                step(&mut c);
                let last = i + 1 == steps.len();
                previous = observed_generation(&c, previous, paused && last);
            }
            assert_eq!(previous, want, "{what}");
        }
    }
}
