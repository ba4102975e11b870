//! A quiet steady state and readable errors (issue 10): left alone, the operator
//! sends no provider writes and records no Events; waiting for a dependency is woken
//! by it, not by a growing backoff; API-server errors read as sentences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sipcred_operator::crd::{SipConnection, TelephonyCredential, TrunkCredential};
use support::{NS, World, assert_readable};

fn obj(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

/// The resync of the test world (`World::start_operator`).
const RESYNC: Duration = Duration::from_secs(2);

#[tokio::test]
async fn left_alone_for_three_resyncs_nothing_is_written_and_no_event_recorded() {
    let mut w = World::start().await;
    let trunk = w
        .vobiz
        .oob_create("trunks", json!({"name": "office"}))
        .unwrap();
    let trunk_id = trunk["trunk_id"].as_str().unwrap().to_string();
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "softphone-password", "namespace": NS}, "stringData": {"password": "Chang3-Me-Str0ng-Passw0rd"}})).await;
    w.start_operator();
    // The examples' shapes: a tagged, expiring TelephonyCredential (Telnyx does not
    // echo `tag`), Vobiz credentials with a generated and a referenced password, one
    // attached to a trunk.
    w.apply(obj("SipConnection", "webrtc-internal", json!({"providerRef": {"name": "telnyx"}, "userName": "webrtc01", "sipURICallingPreference": "internal", "active": true}))).await;
    w.apply(obj("TelephonyCredential", "agent-alice", json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "webrtc-internal"}, "tag": "agents", "expiresAt": "2030-01-01T00:00:00Z", "secret": {"name": "agent-alice-sip"}}))).await;
    w.apply(obj("TrunkCredential", "office-pbx", json!({"providerRef": {"name": "vobiz"}, "username": "officepbx01", "description": "Office PBX trunk login", "passwordPolicy": {"length": 24}, "trunkID": trunk_id}))).await;
    w.apply(obj("TrunkCredential", "softphone", json!({"providerRef": {"name": "vobiz"}, "username": "softphone01", "passwordSecretRef": {"name": "softphone-password", "key": "password"}, "enabled": true}))).await;
    w.wait_ready::<SipConnection>("webrtc-internal").await;
    w.wait_ready::<TelephonyCredential>("agent-alice").await;
    w.wait_ready::<TrunkCredential>("office-pbx").await;
    w.wait_ready::<TrunkCredential>("softphone").await;
    // Settle: the writes that made them Ready have all landed.
    tokio::time::sleep(RESYNC * 2).await;
    let writes = |w: &World| World::provider_writes(&w.telnyx) + World::provider_writes(&w.vobiz);
    let (writes_before, events_before) = (writes(&w), w.event_total().await);
    // Observed through the account's shared listing (or a GET by ID).
    let reads = |w: &World| {
        w.telnyx
            .request_count("GET", "/v2/telephony_credentials/{id}", None)
            + w.telnyx
                .request_count("GET", "/v2/telephony_credentials", None)
    };
    let reads_before = reads(&w);
    tokio::time::sleep(RESYNC * 3 + Duration::from_secs(1)).await;
    let reads_after = reads(&w);
    assert!(
        reads_after > reads_before,
        "the resyncs did observe the provider ({reads_before} -> {reads_after} reads)"
    );
    assert_eq!(
        writes(&w) - writes_before,
        0,
        "provider writes in steady state: telnyx {} vobiz {}",
        w.telnyx.requests(),
        w.vobiz.requests()
    );
    assert_eq!(
        w.event_total().await - events_before,
        0,
        "Events in steady state: {:?}",
        w.events().await
    );
    assert!(
        !w.events().await.iter().any(|e| e.0 == "ProviderNotReady"),
        "a provider not checked yet at start-up is no Warning: {:?}",
        w.events().await
    );
    let attached = World::provider_objects(&w.vobiz, "trunks");
    assert_eq!(
        attached[0]["credential_uuid"],
        World::provider_objects(&w.vobiz, "credentials")
            .iter()
            .find(|c| c["username"] == "officepbx01")
            .unwrap()["id"]
    );
}

#[tokio::test]
async fn a_credential_waiting_long_for_its_connection_is_ready_right_after_it() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(obj(
        "TelephonyCredential",
        "late",
        json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn"}}),
    ))
    .await;
    let (_, reason, _) = w
        .until("waiting", 20, || async {
            w.ready::<TelephonyCredential>("late")
                .await
                .filter(|r| r.1 != "ProviderNotReady")
        })
        .await;
    assert_eq!(reason, "WaitingForSipConnection");
    // Long enough for a failure backoff to have grown past 16 s.
    tokio::time::sleep(Duration::from_secs(22)).await;
    let waited = w
        .events()
        .await
        .into_iter()
        .filter(|e| e.0 == "WaitingForSipConnection")
        .count();
    assert_eq!(waited, 0, "waiting is not a Warning");
    w.apply(obj(
        "SipConnection",
        "conn",
        json!({"providerRef": {"name": "telnyx"}, "userName": "lateconn01"}),
    ))
    .await;
    w.wait_ready::<SipConnection>("conn").await;
    let ready_at = Instant::now();
    // Woken by its connection, not by a grown backoff: the credential is created at
    // once (Ready follows Telnyx's activation delay of a new credential).
    w.until("the credential created", 30, || async {
        (w.telnyx
            .request_count("POST", "/v2/telephony_credentials", None)
            > 0)
        .then_some(())
    })
    .await;
    let lag = ready_at.elapsed();
    w.wait_ready::<TelephonyCredential>("late").await;
    // One second on an idle machine; generous under a contended CPU.
    assert!(
        lag < Duration::from_secs(3),
        "created {lag:?} after its connection was Ready"
    );
}

#[tokio::test]
async fn an_api_server_error_reads_as_a_sentence_in_conditions_and_events() {
    let mut w = World::start().await;
    let Some(faults) = w.api_faults() else {
        return;
    };
    w.start_operator();
    // Every write of a SipConnection's metadata fails; status writes still work.
    faults.fail(sipcred_kube_sim::faults::ErrorRule {
        code: 500,
        share: 1.0,
        resource: Some("sipconnections".into()),
        verb: Some("patch".into()),
    });
    w.apply(obj(
        "SipConnection",
        "broken",
        json!({"providerRef": {"name": "telnyx"}, "userName": "broken01"}),
    ))
    .await;
    let events = w
        .until("a Warning about the API error", 30, || async {
            let e = w.events().await;
            e.iter().any(|e| e.0 == "KubernetesAPIError").then_some(e)
        })
        .await;
    let note = &events
        .iter()
        .find(|e| e.0 == "KubernetesAPIError")
        .unwrap()
        .1;
    assert!(note.starts_with("Kubernetes API: 500 "), "{note}");
    assert_readable(note);
}

#[tokio::test]
async fn a_lost_write_race_is_retried_promptly_and_never_reported() {
    let mut w = World::start().await;
    let Some(faults) = w.api_faults() else {
        return;
    };
    // Every other metadata or status patch of a SipConnection loses a race (409),
    // as under a lagging cache at scale.
    faults.fail(sipcred_kube_sim::faults::ErrorRule {
        code: 409,
        share: 0.5,
        resource: Some("sipconnections".into()),
        verb: Some("patch".into()),
    });
    w.start_operator();
    let names: Vec<String> = (0..6).map(|i| format!("race{i}")).collect();
    for n in &names {
        w.apply(obj(
            "SipConnection",
            n,
            json!({"providerRef": {"name": "telnyx"}, "userName": format!("{n}user")}),
        ))
        .await;
    }
    w.until("all Ready", 30, || async {
        let mut ready = 0;
        for n in &names {
            if let Some((s, reason, message)) = w.ready::<SipConnection>(n).await {
                assert!(
                    !reason.starts_with("Kubernetes"),
                    "a conflict was reported on {n}: {reason}: {message}"
                );
                ready += usize::from(s == "True");
            }
        }
        (ready == names.len()).then_some(())
    })
    .await;
    let events = w.events().await;
    assert!(
        !events.iter().any(|e| e.0.starts_with("Kubernetes")),
        "no Warning for a lost race: {events:?}"
    );
    assert_eq!(
        World::provider_objects(&w.telnyx, "credential_connections").len(),
        names.len(),
        "no duplicates"
    );
}

/// Applied together, as one `kubectl apply`, Helm release or Argo CD sync does: a
/// TelephonyCredential whose SipConnection is being created, and whose new login
/// Telnyx then activates for about 5 s, reports nothing until it is Ready. A wait that
/// ends within seconds is not a Ready=False status write (each was one more write per
/// object, and a flicker through "not Ready" in every dashboard).
#[tokio::test]
async fn applied_together_a_credential_says_nothing_until_it_is_ready() {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let mut w = World::start().await;
    w.start_operator();
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let watch = {
        let seen = seen.clone();
        let stream = watcher(
            w.api::<TelephonyCredential>(),
            watcher::Config::default().fields("metadata.name=together"),
        )
        .applied_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(tc)) = stream.next().await {
                let ready = tc
                    .status
                    .iter()
                    .flat_map(|s| &s.conditions)
                    .find(|c| c.type_ == "Ready")
                    .map(|c| (c.status.clone(), c.reason.clone()));
                let mut seen = seen.lock().unwrap();
                if let Some(r) = ready.filter(|r| seen.last() != Some(r)) {
                    seen.push(r);
                }
            }
        })
    };
    w.apply(obj(
        "SipConnection",
        "conn-together",
        json!({"providerRef": {"name": "telnyx"}, "userName": "together01"}),
    ))
    .await;
    w.apply(obj(
        "TelephonyCredential",
        "together",
        json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn-together"}}),
    ))
    .await;
    w.wait_ready::<TelephonyCredential>("together").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    watch.abort();
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec![("True".to_string(), "Available".to_string())],
        "the first Ready the credential ever showed is True"
    );
}
