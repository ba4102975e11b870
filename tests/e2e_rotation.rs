//! Rotation, expiry and access tokens end to end, with exact provider call counts:
//! on demand (the `sipcred.io/rotate-requested-at` annotation, each value honoured
//! once) and on a schedule for the kinds whose password the operator chooses (a new
//! password pushed in place), and by replacement with a grace period for Telnyx
//! telephony credentials (Telnyx generates their logins). The operator is SIGKILLed
//! inside each rotation's risky window, and the invariants hold after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use sipcred_operator::crd::{SipConnection, TelephonyCredential, TrunkCredential};
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule, Latency};
use support::{Killed, NS, World};

const CONNS: &str = "/v2/credential_connections";
const CONN: &str = "/v2/credential_connections/{id}";
const CREDS: &str = "/v2/telephony_credentials";
const CRED: &str = "/v2/telephony_credentials/{id}";
const TOKEN: &str = "/v2/telephony_credentials/{id}/token";
const VOBIZ_CREDS: &str = "/api/v1/Account/{auth_id}/credentials";
const VOBIZ_CRED: &str = "/api/v1/Account/{auth_id}/credentials/{id}";
const REQUESTED: &str = "sipcred.io/rotate-requested-at";

fn obj(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec})
}

fn conn(name: &str, user: &str, extra: Value) -> Value {
    let mut spec = json!({"providerRef": {"name": "telnyx"}, "userName": user});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    obj("SipConnection", name, spec)
}

fn tc(name: &str, extra: Value) -> Value {
    let mut spec = json!({"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn"}});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    obj("TelephonyCredential", name, spec)
}

/// Asks for a rotation the way `sipcred-operator rotate` does.
async fn request_rotation<K>(w: &World, name: &str, value: &str)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    w.api::<K>()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {REQUESTED: value}}})),
        )
        .await
        .unwrap();
}

async fn status_of<K>(w: &World, name: &str) -> Value
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    serde_json::to_value(w.api::<K>().get(name).await.unwrap()).unwrap()["status"].clone()
}

/// Waits until status.rotations reaches `n` with the object Ready, and returns status.
async fn rotated<K>(w: &World, name: &str, n: u64, secs: u64) -> Value
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    w.until(&format!("{name}: rotation {n}"), secs, || async {
        let st = status_of::<K>(w, name).await;
        let ready = w.ready::<K>(name).await.is_some_and(|r| r.0 == "True");
        (ready && st["rotations"].as_u64() == Some(n)).then_some(st)
    })
    .await
}

async fn secret_annotation(w: &World, name: &str, key: &str) -> Option<String> {
    use k8s_openapi::api::core::v1::Secret;
    kube::Api::<Secret>::namespaced(w.client.clone(), &w.ns)
        .get(name)
        .await
        .unwrap()
        .annotations()
        .get(key)
        .cloned()
}

#[tokio::test]
async fn a_sip_connection_rotates_on_demand_once_per_requested_value() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("rot", "rotuser01", json!({}))).await;
    w.wait_ready::<SipConnection>("rot").await;
    let old = w.secret("rot").await.unwrap();
    let issued = secret_annotation(&w, "rot", "sipcred.io/issued-at").await;
    assert!(
        issued.is_some(),
        "the Secret records when its login was issued"
    );
    let (posts, patches) = (
        w.telnyx.request_count("POST", CONNS, None),
        w.telnyx.request_count("PATCH", CONN, None),
    );

    request_rotation::<SipConnection>(&w, "rot", "2026-12-02T10:00:00Z").await;
    let st = rotated::<SipConnection>(&w, "rot", 1, 30).await;
    assert_eq!(st["lastRotationRequest"], "2026-12-02T10:00:00Z");
    assert!(st["lastRotatedAt"].is_string(), "{st}");
    let new = w.secret("rot").await.unwrap();
    assert_ne!(new["password"], old["password"], "a new password");
    assert_eq!(new["username"], old["username"]);
    assert!(
        w.telnyx
            .check_credentials(&new["username"], &new["password"])
    );
    assert!(
        !w.telnyx
            .check_credentials(&old["username"], &old["password"])
    );
    assert_ne!(
        secret_annotation(&w, "rot", "sipcred.io/issued-at").await,
        issued,
        "the Secret's annotation changes with every rotation"
    );
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, None),
        posts,
        "no create"
    );
    assert_eq!(
        w.telnyx.request_count("PATCH", CONN, None) - patches,
        1,
        "one push of the new password"
    );
    assert!(
        w.events().await.iter().any(|(r, _, _)| r == "Rotated"),
        "a Rotated Event"
    );

    // The value stays: several resyncs later still one rotation.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let st = status_of::<SipConnection>(&w, "rot").await;
    assert_eq!(st["rotations"], 1);
    assert_eq!(w.secret("rot").await.unwrap()["password"], new["password"]);

    // A new value is a new request.
    request_rotation::<SipConnection>(&w, "rot", "2026-12-02T11:00:00Z").await;
    rotated::<SipConnection>(&w, "rot", 2, 30).await;
    let third = w.secret("rot").await.unwrap();
    assert_ne!(third["password"], new["password"]);
    assert!(
        w.telnyx
            .check_credentials(&third["username"], &third["password"])
    );
}

#[tokio::test]
async fn a_referenced_password_is_not_rotated_but_the_request_is_acknowledged() {
    let mut w = World::start().await;
    w.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mine", "namespace": NS},
        "stringData": {"password": "My-0wn-Passw0rd"}}),
    )
    .await;
    w.start_operator();
    w.apply(conn(
        "refd",
        "refduser1",
        json!({"passwordSecretRef": {"name": "mine"}}),
    ))
    .await;
    w.wait_ready::<SipConnection>("refd").await;
    request_rotation::<SipConnection>(&w, "refd", "r1").await;
    w.until("request acknowledged", 30, || async {
        (status_of::<SipConnection>(&w, "refd").await["lastRotationRequest"] == "r1").then_some(())
    })
    .await;
    let s = w.secret("refd").await.unwrap();
    assert_eq!(
        s["password"], "My-0wn-Passw0rd",
        "the user's Secret is the source"
    );
    let st = status_of::<SipConnection>(&w, "refd").await;
    assert_eq!(st["rotations"], 0, "{st}");
    assert!(st["nextRotationAt"].is_null(), "nothing scheduled");
}

#[tokio::test]
async fn a_trunk_credential_rotates_on_its_schedule() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(obj(
        "TrunkCredential",
        "sched",
        json!({"providerRef": {"name": "vobiz"}, "username": "schedrot01", "rotation": {"interval": "10s"}}),
    ))
    .await;
    let t: TrunkCredential = w.wait_ready("sched").await;
    let first = w.secret("sched").await.unwrap();
    let next_at: jiff::Timestamp = t
        .status
        .unwrap()
        .rotation
        .next_rotation_at
        .expect("nextRotationAt")
        .parse()
        .unwrap();
    let issued: jiff::Timestamp = secret_annotation(&w, "sched", "sipcred.io/issued-at")
        .await
        .unwrap()
        .parse()
        .unwrap();
    // nextRotationAt is written to the second; the Secret's mark to the millisecond.
    let span = issued.duration_until(next_at).as_secs_f64();
    assert!(
        (span - 10.0).abs() <= 1.0,
        "next rotation one interval after issue: {span}"
    );
    let updates = w.vobiz.request_count("PUT", VOBIZ_CRED, None);
    let st = rotated::<TrunkCredential>(&w, "sched", 1, 40).await;
    assert!(st["lastRotatedAt"].is_string());
    let second = w.secret("sched").await.unwrap();
    assert_ne!(second["password"], first["password"]);
    assert!(w.vobiz.check_credentials("schedrot01", &second["password"]));
    assert!(!w.vobiz.check_credentials("schedrot01", &first["password"]));
    assert_eq!(
        w.vobiz.request_count("POST", VOBIZ_CREDS, None),
        1,
        "rotated in place, never recreated"
    );
    assert!(
        w.vobiz.request_count("PUT", VOBIZ_CRED, None) > updates,
        "pushed"
    );
}

/// A SipConnection `conn` Ready, for TelephonyCredentials to hang on.
async fn connection(w: &World) {
    w.apply(conn("conn", "tcconn001", json!({}))).await;
    w.wait_ready::<SipConnection>("conn").await;
}

#[tokio::test]
async fn a_telephony_credential_is_replaced_and_its_predecessor_deleted_after_the_grace_period() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    w.apply(tc("agent", json!({"rotation": {"gracePeriod": "8s"}})))
        .await;
    w.wait_ready::<TelephonyCredential>("agent").await;
    let old = w.secret("agent").await.unwrap();
    let posts = w.telnyx.request_count("POST", CREDS, None);

    request_rotation::<TelephonyCredential>(&w, "agent", "2026-12-02T10:00:00Z").await;
    let st = rotated::<TelephonyCredential>(&w, "agent", 1, 30).await;
    let new = w.secret("agent").await.unwrap();
    assert_ne!(new["id"], old["id"], "a new credential");
    assert_ne!(new["username"], old["username"]);
    assert_eq!(
        w.telnyx.request_count("POST", CREDS, None) - posts,
        1,
        "created once"
    );
    assert!(
        w.telnyx
            .check_credentials(&new["username"], &new["password"]),
        "the new login works at once"
    );
    assert!(
        w.telnyx
            .check_credentials(&old["username"], &old["password"]),
        "the old login keeps working during the grace period"
    );
    let st = if st["previousCredentialID"].is_null() {
        status_of::<TelephonyCredential>(&w, "agent").await
    } else {
        st
    };
    assert_eq!(st["previousCredentialID"], old["id"].as_str());
    assert!(st["previousCredentialDeleteAt"].is_string());
    w.until("status shows the new credential", 10, || async {
        (status_of::<TelephonyCredential>(&w, "agent").await["credentialID"] == new["id"].as_str())
            .then_some(())
    })
    .await;
    let started = Instant::now();
    w.until("the predecessor deleted", 30, || async {
        (World::provider_objects(&w.telnyx, "telephony_credentials").len() == 1).then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "not deleted before its grace period"
    );
    assert!(
        !w.telnyx
            .check_credentials(&old["username"], &old["password"])
    );
    assert!(
        w.telnyx
            .check_credentials(&new["username"], &new["password"])
    );
    assert_eq!(w.telnyx.request_count("DELETE", CRED, None), 1);
    w.until("status forgets the predecessor", 10, || async {
        status_of::<TelephonyCredential>(&w, "agent").await["previousCredentialID"]
            .is_null()
            .then_some(())
    })
    .await;
    assert!(
        w.events()
            .await
            .iter()
            .any(|(r, _, _)| r == "PreviousDeleted")
    );

    // Deleting the object deletes its credential: nothing leaks.
    w.delete::<TelephonyCredential>("agent").await;
    w.until("credential deleted", 30, || async {
        World::provider_objects(&w.telnyx, "telephony_credentials")
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_credential_in_its_grace_period_deletes_both() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    w.apply(tc("both", json!({"rotation": {"gracePeriod": "1h"}})))
        .await;
    w.wait_ready::<TelephonyCredential>("both").await;
    request_rotation::<TelephonyCredential>(&w, "both", "now").await;
    rotated::<TelephonyCredential>(&w, "both", 1, 30).await;
    assert_eq!(
        World::provider_objects(&w.telnyx, "telephony_credentials").len(),
        2
    );
    w.delete::<TelephonyCredential>("both").await;
    w.until("both credentials deleted", 30, || async {
        World::provider_objects(&w.telnyx, "telephony_credentials")
            .is_empty()
            .then_some(())
    })
    .await;
}

/// A deleted credential is looked up for a rotation's unrecorded successor only when
/// a successor's create was started (the `sipcred.io/successor-create-pending`
/// marker): one that never rotated is deleted with its one DELETE; one deleted while
/// its successor is still being activated has both deleted.
#[tokio::test]
async fn deletion_looks_for_a_successor_only_when_one_was_being_created() {
    let mut w = World::start().await;
    // No resync: every provider call below is one the steps cause.
    w.start_operator_with(Duration::from_secs(3600), 4);
    connection(&w).await;
    w.apply(tc("plain", json!({}))).await;
    w.apply(tc("rotating", json!({}))).await;
    w.wait_ready::<TelephonyCredential>("plain").await;
    w.wait_ready::<TelephonyCredential>("rotating").await;
    let reads = || w.telnyx.request_count("GET", CREDS, None);
    // The follow-ups of reaching Ready (the Secret's own watch event) are done.
    let mut last = reads();
    w.until("no more reads of the credentials", 30, || {
        let seen = last;
        last = reads();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            (reads() == seen).then_some(())
        }
    })
    .await;

    let (before_reads, before_deletes) = (reads(), w.telnyx.request_count("DELETE", CRED, None));
    w.delete::<TelephonyCredential>("plain").await;
    w.gone::<TelephonyCredential>("plain").await;
    assert_eq!(
        w.telnyx.request_count("DELETE", CRED, None),
        before_deletes + 1
    );
    assert_eq!(
        reads(),
        before_reads,
        "no lookup for a successor never started"
    );
    assert_eq!(
        World::provider_objects(&w.telnyx, "telephony_credentials").len(),
        1
    );

    request_rotation::<TelephonyCredential>(&w, "rotating", "now").await;
    w.until(
        "the successor created, waiting for activation",
        30,
        || async {
            let o = w
                .api::<TelephonyCredential>()
                .get("rotating")
                .await
                .unwrap();
            let marked = o
                .annotations()
                .contains_key("sipcred.io/successor-create-pending");
            let both = World::provider_objects(&w.telnyx, "telephony_credentials").len() == 2;
            (marked && both).then_some(())
        },
    )
    .await;
    assert_eq!(
        status_of::<TelephonyCredential>(&w, "rotating").await["rotations"]
            .as_u64()
            .unwrap_or(0),
        0,
        "not switched yet (Telnyx activates the successor in about 5 s)"
    );
    w.delete::<TelephonyCredential>("rotating").await;
    w.until("both credentials deleted", 30, || async {
        World::provider_objects(&w.telnyx, "telephony_credentials")
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_access_token_is_written_and_refreshed_before_it_expires() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    // Tokens live 24 h: refreshing 23h59m52s before expiry makes one due every ~8 s.
    w.apply(tc(
        "webrtc",
        json!({"accessToken": {"enabled": true, "refreshBefore": "23h59m52s"}}),
    ))
    .await;
    let t: TelephonyCredential = w.wait_ready("webrtc").await;
    let s = w.secret("webrtc").await.unwrap();
    let token = s.get("token").expect("a token key").clone();
    let claims = jwt_claims(&token);
    assert_eq!(
        claims["sub"],
        s["id"].as_str(),
        "a token of this credential"
    );
    let check = w.telnyx.verify_token(&token);
    assert!(
        check.valid,
        "Telnyx accepts it as a WebRTC login: {check:?}"
    );
    assert_eq!(check.credential_id.as_deref(), Some(s["id"].as_str()));
    let exp = t
        .status
        .unwrap()
        .access_token_expires_at
        .expect("accessTokenExpiresAt");
    assert_eq!(
        exp.parse::<jiff::Timestamp>().unwrap().as_second(),
        claims["exp"].as_i64().unwrap()
    );
    let tokens = w.telnyx.request_count("POST", TOKEN, None);
    assert_eq!(tokens, 1, "one token until it is due");
    w.until("token refreshed", 30, || async {
        let s = w.secret("webrtc").await.unwrap();
        (s["token"] != token).then_some(())
    })
    .await;
    assert!(w.telnyx.request_count("POST", TOKEN, None) >= 2);
    let fresh = w.secret("webrtc").await.unwrap()["token"].clone();
    assert!(w.telnyx.verify_token(&fresh).valid);
    // The login itself is untouched by token refreshes.
    let after = w.secret("webrtc").await.unwrap();
    assert_eq!(after["password"], s["password"]);
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_expired_credential_is_reported_and_renewal_replaces_it_before_expiry() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    let soon = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap();
    let soon = sipcred_operator::managed::rotation::rfc3339(soon);
    w.apply(tc("exp", json!({"expiresAt": soon}))).await;
    w.wait_ready::<TelephonyCredential>("exp").await;
    // Two hours later at Telnyx: the credential has expired.
    let r = reqwest::Client::new()
        .post(format!("{}/clock/advance", w.telnyx.admin_url()))
        .json(&json!({"seconds": 2 * 3600}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (reason, message) = w.failed::<TelephonyCredential>("exp").await;
    assert_eq!(reason, "Expired", "{message}");
    assert!(message.contains("expired"), "{message}");
    assert!(w.events().await.iter().any(|(r, _, _)| r == "Expired"));

    // renewBefore: a credential expiring within it is replaced before it expires.
    let mut w2 = World::start().await;
    w2.start_operator();
    connection(&w2).await;
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap();
    w2.apply(tc(
        "renew",
        json!({"expiresAt": sipcred_operator::managed::rotation::rfc3339(at), "rotation": {"renewBefore": "50s", "gracePeriod": "2s"}}),
    ))
    .await;
    w2.wait_ready::<TelephonyCredential>("renew").await;
    let old = w2.secret("renew").await.unwrap();
    let st = rotated::<TelephonyCredential>(&w2, "renew", 1, 40).await;
    let new = w2.secret("renew").await.unwrap();
    assert_ne!(new["id"], old["id"]);
    let new_expiry: jiff::Timestamp = st["expiresAt"]
        .as_str()
        .expect("status.expiresAt after a renewal")
        .parse()
        .unwrap();
    assert!(
        new_expiry > at,
        "the renewed login expires later: {new_expiry} > {at}"
    );
    assert!(
        w2.telnyx
            .check_credentials(&new["username"], &new["password"])
    );
}

/// Blocks the next PATCH of a connection for `ms`, so a kill can land between the
/// Secret write of a rotation and the push of its password.
fn slow_pushes(w: &World, route: &str, method: &str, ms: u64) {
    w.telnyx.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Latency {
                latency: Latency::Fixed { ms },
            })
            .method(method)
            .route(route),
        ),
    );
}

#[tokio::test]
async fn a_sip_connection_killed_between_the_new_password_and_its_push_converges() {
    let w = World::start().await;
    w.apply(conn("crashrot", "crashrot1", json!({}))).await;
    let mut first = Killed(w.spawn_binary());
    w.wait_ready::<SipConnection>("crashrot").await;
    let old = w.secret("crashrot").await.unwrap();
    slow_pushes(&w, CONN, "PATCH", 5_000);
    request_rotation::<SipConnection>(&w, "crashrot", "crash-1").await;
    // The new password reaches the Secret before Telnyx: kill in between.
    w.until("new password in the Secret", 30, || async {
        let s = w.secret("crashrot").await.unwrap();
        (s["password"] != old["password"]).then_some(())
    })
    .await;
    first.kill();
    w.telnyx.set_faults(FaultConfig::none());
    let held = w.secret("crashrot").await.unwrap();
    let _second = Killed(w.spawn_binary());
    rotated::<SipConnection>(&w, "crashrot", 1, 40).await;
    let s = w.secret("crashrot").await.unwrap();
    assert_eq!(
        s["password"], held["password"],
        "the password already stored is the one pushed"
    );
    assert!(w.telnyx.check_credentials(&s["username"], &s["password"]));
    assert_eq!(
        World::provider_objects(&w.telnyx, "credential_connections").len(),
        1
    );
}

#[tokio::test]
async fn a_telephony_credential_killed_inside_its_rotation_leaves_one_credential_and_its_predecessor()
 {
    let w = World::start().await;
    w.apply(conn("conn", "tcconn001", json!({}))).await;
    w.apply(tc("crashtc", json!({"rotation": {"gracePeriod": "6s"}})))
        .await;
    let mut first = Killed(w.spawn_binary());
    w.wait_ready::<TelephonyCredential>("crashtc").await;
    let old = w.secret("crashtc").await.unwrap();
    // The successor's create is stored and its response lost; the lookup that would
    // find it is slowed, so the kill lands between the create and the switch.
    w.telnyx.set_faults(
        FaultConfig::none()
            .with_rule(
                FaultRule::new(FaultKind::CommitThenDrop)
                    .method("POST")
                    .route(CREDS)
                    .times(1),
            )
            .with_rule(
                FaultRule::new(FaultKind::Latency {
                    latency: Latency::Fixed { ms: 1000 },
                })
                .method("GET")
                .route(CREDS),
            ),
    );
    let posts = w.telnyx.request_count("POST", CREDS, None);
    request_rotation::<TelephonyCredential>(&w, "crashtc", "crash-1").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.telnyx.request_count("POST", CREDS, None) == posts {
        assert!(Instant::now() < deadline, "no successor create");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    w.telnyx.set_faults(FaultConfig::none());
    assert_eq!(
        w.secret("crashtc").await.unwrap()["id"],
        old["id"],
        "the kill landed before the switch"
    );
    let _second = Killed(w.spawn_binary());
    rotated::<TelephonyCredential>(&w, "crashtc", 1, 40).await;
    let new = w.secret("crashtc").await.unwrap();
    assert_ne!(new["id"], old["id"]);
    assert_eq!(
        w.telnyx.request_count("POST", CREDS, None) - posts,
        1,
        "the successor found again, never created twice"
    );
    assert!(
        w.telnyx
            .check_credentials(&new["username"], &new["password"])
    );
    w.until(
        "the predecessor deleted after its grace period",
        40,
        || async {
            let c = World::provider_objects(&w.telnyx, "telephony_credentials");
            (c.len() == 1 && c[0]["id"] == new["id"].as_str()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_trunk_credential_killed_between_the_new_password_and_its_push_converges() {
    let w = World::start().await;
    w.apply(obj(
        "TrunkCredential",
        "crashtrunk",
        json!({"providerRef": {"name": "vobiz"}, "username": "crashtrunk1"}),
    ))
    .await;
    let mut first = Killed(w.spawn_binary());
    w.wait_ready::<TrunkCredential>("crashtrunk").await;
    let old = w.secret("crashtrunk").await.unwrap();
    w.vobiz.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Latency {
                latency: Latency::Fixed { ms: 5_000 },
            })
            .method("PUT")
            .route(VOBIZ_CRED),
        ),
    );
    request_rotation::<TrunkCredential>(&w, "crashtrunk", "crash-1").await;
    w.until("new password in the Secret", 30, || async {
        let s = w.secret("crashtrunk").await.unwrap();
        (s["password"] != old["password"]).then_some(())
    })
    .await;
    first.kill();
    w.vobiz.set_faults(FaultConfig::none());
    let held = w.secret("crashtrunk").await.unwrap();
    let _second = Killed(w.spawn_binary());
    rotated::<TrunkCredential>(&w, "crashtrunk", 1, 40).await;
    let s = w.secret("crashtrunk").await.unwrap();
    assert_eq!(s["password"], held["password"]);
    assert!(w.vobiz.check_credentials("crashtrunk1", &s["password"]));
    assert_eq!(World::provider_objects(&w.vobiz, "credentials").len(), 1);
    assert_eq!(w.vobiz.request_count("POST", VOBIZ_CREDS, None), 1);
}

#[tokio::test]
async fn a_telephony_credential_killed_in_its_grace_period_still_deletes_the_predecessor() {
    let w = World::start().await;
    w.apply(conn("conn", "tcconn001", json!({}))).await;
    w.apply(tc("grace", json!({"rotation": {"gracePeriod": "8s"}})))
        .await;
    let mut first = Killed(w.spawn_binary());
    w.wait_ready::<TelephonyCredential>("grace").await;
    let old = w.secret("grace").await.unwrap();
    request_rotation::<TelephonyCredential>(&w, "grace", "crash-2").await;
    w.until("switched", 30, || async {
        let s = w.secret("grace").await.unwrap();
        (s["id"] != old["id"]).then_some(())
    })
    .await;
    // Inside the grace period: the predecessor is recorded only in the Secret.
    first.kill();
    let new = w.secret("grace").await.unwrap();
    assert!(
        w.telnyx
            .check_credentials(&old["username"], &old["password"])
    );
    assert_eq!(
        World::provider_objects(&w.telnyx, "telephony_credentials").len(),
        2
    );
    let _second = Killed(w.spawn_binary());
    w.until("the predecessor deleted", 40, || async {
        let c = World::provider_objects(&w.telnyx, "telephony_credentials");
        (c.len() == 1 && c[0]["id"] == new["id"].as_str()).then_some(())
    })
    .await;
    assert!(
        w.telnyx
            .check_credentials(&new["username"], &new["password"])
    );
    assert!(
        !w.telnyx
            .check_credentials(&old["username"], &old["password"])
    );
    assert_eq!(w.telnyx.request_count("DELETE", CRED, None), 1);
}

#[tokio::test]
async fn an_observe_only_object_rotates_nothing_until_it_is_managed_again() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(conn("watched", "watched01", json!({}))).await;
    w.wait_ready::<SipConnection>("watched").await;
    let before = w.secret("watched").await.unwrap();
    let policy =
        |p: Option<&str>| json!({"metadata": {"annotations": {"sipcred.io/management-policy": p}}});
    w.api::<SipConnection>()
        .patch(
            "watched",
            &PatchParams::default(),
            &Patch::Merge(policy(Some("ObserveOnly"))),
        )
        .await
        .unwrap();
    let patches = w.telnyx.request_count("PATCH", CONN, None);
    request_rotation::<SipConnection>(&w, "watched", "while-observing").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        w.secret("watched").await.unwrap()["password"],
        before["password"],
        "observe-only: the Secret keeps the login the provider holds"
    );
    assert!(
        w.telnyx
            .check_credentials(&before["username"], &before["password"])
    );
    assert_eq!(w.telnyx.request_count("PATCH", CONN, None), patches);
    // Managed again: the pending request is honoured.
    w.api::<SipConnection>()
        .patch(
            "watched",
            &PatchParams::default(),
            &Patch::Merge(policy(None)),
        )
        .await
        .unwrap();
    let st = rotated::<SipConnection>(&w, "watched", 1, 30).await;
    assert_eq!(st["lastRotationRequest"], "while-observing");
    let after = w.secret("watched").await.unwrap();
    assert_ne!(after["password"], before["password"]);
    assert!(
        w.telnyx
            .check_credentials(&after["username"], &after["password"])
    );
}

#[tokio::test]
async fn a_sip_connection_and_a_telephony_credential_rotate_on_their_schedules() {
    let mut w = World::start().await;
    w.start_operator();
    connection(&w).await;
    w.apply(conn(
        "every",
        "everyconn1",
        json!({"rotation": {"interval": "10s"}}),
    ))
    .await;
    w.apply(tc(
        "everytc",
        json!({"rotation": {"interval": "10s", "gracePeriod": "2s"}}),
    ))
    .await;
    w.wait_ready::<SipConnection>("every").await;
    w.wait_ready::<TelephonyCredential>("everytc").await;
    let (conn_before, tc_before) = (
        w.secret("every").await.unwrap(),
        w.secret("everytc").await.unwrap(),
    );
    rotated::<SipConnection>(&w, "every", 1, 40).await;
    rotated::<TelephonyCredential>(&w, "everytc", 1, 40).await;
    let (conn_after, tc_after) = (
        w.secret("every").await.unwrap(),
        w.secret("everytc").await.unwrap(),
    );
    assert_ne!(conn_after["password"], conn_before["password"]);
    assert_eq!(conn_after["id"], conn_before["id"], "in place");
    assert!(
        w.telnyx
            .check_credentials(&conn_after["username"], &conn_after["password"])
    );
    assert_ne!(tc_after["id"], tc_before["id"], "replaced");
    assert!(
        w.telnyx
            .check_credentials(&tc_after["username"], &tc_after["password"])
    );
    for name in ["every", "everytc"] {
        let st = if name == "every" {
            status_of::<SipConnection>(&w, name).await
        } else {
            status_of::<TelephonyCredential>(&w, name).await
        };
        assert!(st["nextRotationAt"].is_string(), "{name}: {st}");
        assert!(
            st["lastRotationRequest"].is_null(),
            "{name}: scheduled, not requested"
        );
    }
}

/// Found by the soak: a replacement rotation switches the Secret to the successor and
/// then records the successor on the object; when that second write was lost (an API
/// error, a kill), the object still named the predecessor. The next rotation then named
/// that predecessor as its own, and the successor in between stayed at Telnyx for good,
/// also after the object was deleted. The lost write is reproduced exactly: the
/// operator is stopped and the object's record set back.
#[tokio::test]
async fn a_lost_record_of_the_successor_is_repaired_and_nothing_leaks() {
    let w = World::start().await;
    w.apply(conn("conn", "tcconn001", json!({}))).await;
    w.apply(tc("lag", json!({"rotation": {"gracePeriod": "1h"}})))
        .await;
    let mut first = Killed(w.spawn_binary());
    w.wait_ready::<TelephonyCredential>("lag").await;
    let original = w.secret("lag").await.unwrap()["id"].clone();
    request_rotation::<TelephonyCredential>(&w, "lag", "first").await;
    rotated::<TelephonyCredential>(&w, "lag", 1, 30).await;
    let successor = w.secret("lag").await.unwrap()["id"].clone();
    first.kill();
    w.api::<TelephonyCredential>()
        .patch(
            "lag",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"sipcred.io/external-name": original}}}),
            ),
        )
        .await
        .unwrap();
    let _second = Killed(w.spawn_binary());
    request_rotation::<TelephonyCredential>(&w, "lag", "second").await;
    let st = rotated::<TelephonyCredential>(&w, "lag", 2, 30).await;
    let st = if st["previousCredentialID"].is_null() {
        status_of::<TelephonyCredential>(&w, "lag").await
    } else {
        st
    };
    assert_eq!(
        st["previousCredentialID"], successor,
        "the second rotation replaces the first one's credential"
    );
    let held = w.secret("lag").await.unwrap();
    let at_telnyx: Vec<Value> = World::provider_objects(&w.telnyx, "telephony_credentials");
    let ids: Vec<&str> = at_telnyx.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        ids.len(),
        2,
        "the current credential and its predecessor only: {ids:?}"
    );
    assert!(!ids.contains(&original.as_str()), "the original is deleted");
    assert!(
        w.telnyx
            .check_credentials(&held["username"], &held["password"])
    );
    w.delete::<TelephonyCredential>("lag").await;
    w.until("every credential deleted", 30, || async {
        World::provider_objects(&w.telnyx, "telephony_credentials")
            .is_empty()
            .then_some(())
    })
    .await;
}
