//! Bugs the chaos run (tests/chaos.rs) found, each pinned by a small deterministic
//! test: the fault that exposed it is placed exactly, instead of at random.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use sipcred_operator::crd::{SipConnection, TelephonyCredential};
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule};
use support::{NS, World};

const TEL_CREDS: &str = "/v2/telephony_credentials";
const CREATE_PENDING: &str = "sipcred.io/external-create-pending";
const EXTERNAL_NAME: &str = "sipcred.io/external-name";

fn conn(name: &str, user: &str) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name, "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": user}})
}

/// Found with seed 3: a TelephonyCredential deleted after its create committed at
/// Telnyx but before the operator learnt the credential's ID (the response lost) was
/// released without deleting the credential, which stayed at Telnyx for good. Deleting,
/// the operator looked the credential up on the connection recorded in its status, and
/// a create that never returned had recorded none.
#[tokio::test]
async fn a_telephony_credential_deleted_before_its_create_was_recorded_is_deleted_at_telnyx() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("host", "host0001")).await;
    w.wait_ready::<SipConnection>("host").await;
    // The create commits and its response is lost; from then on lookups fail, so the
    // ID stays unknown. (The failed create is retried after a backoff of about a
    // second: the lookups fail long before.)
    w.telnyx.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route(TEL_CREDS)
                .times(1),
        ),
    );
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "agent", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "host"}}}))
        .await;
    w.until("the create committed at Telnyx", 30, || async {
        (w.telnyx.request_count("POST", TEL_CREDS, None) == 1).then_some(())
    })
    .await;
    w.telnyx.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Error { status: 503 })
                .method("GET")
                .route(TEL_CREDS),
        ),
    );
    assert_eq!(w.telnyx.creates("telephony_credentials").len(), 1);
    let obj = w.api::<TelephonyCredential>().get("agent").await.unwrap();
    let ann = obj.metadata.annotations.clone().unwrap_or_default();
    assert!(
        ann.contains_key(CREATE_PENDING) && !ann.contains_key(EXTERNAL_NAME),
        "deleted inside the window, with the create pending and no ID: {ann:?}"
    );
    assert_eq!(
        obj.status.and_then(|s| s.connection_id),
        None,
        "no connection recorded yet"
    );

    w.delete::<TelephonyCredential>("agent").await;
    w.telnyx.set_faults(FaultConfig::none());
    w.until("the TelephonyCredential gone", 60, || async {
        w.api::<TelephonyCredential>()
            .get_opt("agent")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let left = World::provider_objects(&w.telnyx, "telephony_credentials");
    assert!(
        left.is_empty(),
        "deletionPolicy Delete leaves nothing at Telnyx: {left:?}"
    );
}

/// Found with seed 2 (two replicas): a replica restarted while the API server failed a
/// request now and then exited at once when its first read of the leader Lease got a
/// 500, leaving the Deployment to restart it with a growing back-off, and its last
/// words held the `Debug` dump of the API status. A transient failure at start is now
/// waited out.
#[tokio::test]
async fn a_replica_whose_first_lease_reads_fail_waits_and_leads() {
    let w = World::start().await;
    let Some(faults) = w.api_faults() else {
        return;
    };
    faults.fail(
        sipcred_kube_sim::FaultRule::error(500)
            .resource("leases")
            .times(3),
    );
    let mut op = support::Killed(w.spawn_binary_with(
        &w.kubeconfig,
        &["--leader-elect"],
        &[("POD_NAME", "regression")],
    ));
    w.apply(conn("after", "lease0001")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(
            !op.exited(),
            "the replica exited on a transient Lease failure"
        );
        if matches!(w.ready::<SipConnection>("after").await, Some((s, _, _)) if s == "True") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica did not lead and reconcile within 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        faults.get().rules[0].remaining,
        Some(0),
        "the Lease failures were all met"
    );
}

/// Found by the soak (seed 42): after a provider key was wrong for a while and then
/// corrected, objects stayed `ProviderNotReady` for up to minutes (here 19 s, 1 s with
/// the fix). The account's
/// failed checks had backed off exponentially (5 s doubling, up to 5 min), and nothing
/// woke it when its key Secret was corrected (the operator watches only the Secrets it
/// writes). A failing account is now checked again at least every 30 s, or every
/// resync if shorter (2 s in this world).
#[tokio::test]
async fn a_corrected_provider_key_is_noticed_without_waiting_out_a_long_backoff() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, Patch, PatchParams};
    use sipcred_operator::crd::SipProvider;
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("c", "keyfix001")).await;
    w.wait_ready::<SipConnection>("c").await;
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &w.ns);
    let set_key = |key: &'static str| {
        let secrets = secrets.clone();
        async move {
            secrets
                .patch(
                    "telnyx-key",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"stringData": {"apiKey": key}})),
                )
                .await
                .unwrap();
        }
    };
    set_key("KEYWRONG000000000").await;
    w.until("the account to fail its check", 30, || async {
        w.ready::<SipProvider>("telnyx")
            .await
            .filter(|(s, reason, _)| s == "False" && reason == "AuthenticationFailed")
    })
    .await;
    // Three failed checks: the back-off has grown to about 20 s.
    tokio::time::sleep(std::time::Duration::from_secs(16)).await;
    set_key(support::TELNYX_KEY).await;
    let fixed = std::time::Instant::now();
    w.until("the corrected key noticed within 8 s", 8, || async {
        w.ready::<SipProvider>("telnyx")
            .await
            .filter(|(s, _, _)| s == "True")
    })
    .await;
    println!("corrected key noticed after {:?}", fixed.elapsed());
}

/// Found by the soak: after API faults stopped, objects stayed Ready at their old
/// generation, deleted ones kept their finalizer, and status writes met 409 after 409
/// against a stale cache, for 60-100 s. kube-runtime puts one shared backoff over all
/// of a controller's watches, reset only by a trigger that passes the filters; errors
/// of any watch (here the owned-Secret watch) grew it to sleeps of 30 s and more, and
/// while it slept no watch of the controller was read at all. Every watch now backs off
/// on its own, so a failing watch of Secrets never holds up the objects' own watch.
#[tokio::test]
async fn a_failing_watch_of_secrets_never_holds_up_the_objects_own_watch() {
    use kube::api::{Patch, PatchParams};
    let mut w = World::start().await;
    let Some(faults) = w.api_faults() else {
        println!("skipped on the real API server: it needs the in-memory server's fault injection");
        return;
    };
    w.start_operator();
    w.apply(conn("steady", "steady001")).await;
    w.wait_ready::<SipConnection>("steady").await;
    // Every list and watch of Secrets fails from now on; the operator still reads
    // and writes single Secrets.
    for verb in ["list", "watch"] {
        faults.fail(
            sipcred_kube_sim::FaultRule::error(500)
                .resource("secrets")
                .verb(verb),
        );
    }
    faults.cut_watches();
    // Long enough for a shared backoff to reach sleeps of 6-13 s.
    tokio::time::sleep(std::time::Duration::from_secs(15)).await;
    let api = w.api::<SipConnection>();
    for (round, secs) in [(1, 25), (2, 30)] {
        api.patch(
            "steady",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"webhookTimeoutSecs": secs}})),
        )
        .await
        .unwrap();
        let generation = api.get("steady").await.unwrap().metadata.generation;
        let changed = std::time::Instant::now();
        w.until(
            &format!("change {round} reconciled within 4 s while Secrets cannot be watched"),
            4,
            || async {
                let s = api.get("steady").await.ok()?;
                (s.status.as_ref()?.observed_generation == generation).then_some(())
            },
        )
        .await;
        println!("change {round} reconciled after {:?}", changed.elapsed());
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
