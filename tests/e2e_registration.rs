//! SIP registration health end to end: a SipConnection with
//! `spec.registrationCheck` reports in `status.registration` and the `Registered`
//! condition whether a SIP client (played by the Telnyx simulator's admin API) is
//! registered with the Secret's login, while Ready stays True throughout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use sipcred_operator::crd::SipConnection;
use support::{NS, World};

/// The registration status and the `Registered` and `Ready` conditions' statuses.
async fn registration(w: &World, name: &str) -> (Option<String>, Option<String>, Option<String>) {
    let obj = w.api::<SipConnection>().get(name).await.unwrap();
    let st = obj.status.unwrap_or_default();
    let cond = |t: &str| {
        st.conditions
            .iter()
            .find(|c| c.type_ == t)
            .map(|c| format!("{}/{}", c.status, c.reason))
    };
    (
        st.registration.and_then(|r| r.status),
        cond("Registered"),
        cond("Ready"),
    )
}

/// A user-visible change (an annotation) makes the operator reconcile, and so check,
/// at once instead of after the 30 s interval.
async fn poke(w: &World, name: &str, n: u32) {
    w.api::<SipConnection>()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"example.com/poke": n.to_string()}}}),
            ),
        )
        .await
        .unwrap();
}

async fn admin(w: &World, path: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{}{path}", w.telnyx.admin_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn registration_status_follows_a_client_registering_and_expiring() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
        "metadata": {"name": "desk", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "deskphone01",
                 "registrationCheck": {"interval": "30s"}}
    }))
    .await;
    let _: SipConnection = w.wait_ready("desk").await;
    w.until("the first registration check", 30, || async {
        let (s, c, r) = registration(&w, "desk").await;
        (s.as_deref() == Some("NotRegistered")).then_some((c, r))
    })
    .await;
    let (_, cond, ready) = registration(&w, "desk").await;
    assert_eq!(cond.as_deref(), Some("False/NotRegistered"));
    assert_eq!(ready.as_deref(), Some("True/Available"));

    // A wrong password is refused, as a registrar would.
    let login = w.secret("desk").await.unwrap();
    let wrong = json!({"username": login["username"], "password": "not-the-password"});
    assert_ne!(admin(&w, "/telnyx/register", wrong).await, 200);

    // The client registers with the Secret's login.
    let reg = json!({"username": login["username"], "password": login["password"],
                     "expires": 60, "user_agent": "Deskphone/1.0"});
    assert_eq!(admin(&w, "/telnyx/register", reg).await, 200);
    poke(&w, "desk", 1).await;
    w.until("Registered", 30, || async {
        let (s, c, _) = registration(&w, "desk").await;
        (s.as_deref() == Some("Registered") && c.as_deref() == Some("True/Registered"))
            .then_some(())
    })
    .await;
    let obj = w.api::<SipConnection>().get("desk").await.unwrap();
    let r = obj.status.unwrap().registration.unwrap();
    assert_eq!(r.ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(r.user_agent.as_deref(), Some("Deskphone/1.0"));
    assert!(r.checked_at.is_some());

    // The registration lapses when its 60 s pass without a refresh.
    assert_eq!(
        admin(&w, "/clock/advance", json!({"seconds": 120})).await,
        200
    );
    poke(&w, "desk", 2).await;
    let lapsed = w
        .until("the registration to lapse", 30, || async {
            let (s, _, _) = registration(&w, "desk").await;
            s.filter(|s| s == "Expired" || s == "NotRegistered")
        })
        .await;
    let (_, cond, ready) = registration(&w, "desk").await;
    assert_eq!(cond, Some(format!("False/{lapsed}")));
    assert_eq!(
        ready.as_deref(),
        Some("True/Available"),
        "registration health never affects Ready"
    );
}

#[tokio::test]
async fn a_telephony_credential_reports_the_registration_of_its_generated_login() {
    use sipcred_operator::crd::TelephonyCredential;
    let mut w = World::start().await;
    w.start_operator();
    w.apply(json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
        "metadata": {"name": "webrtc", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "webrtcconn1"}
    }))
    .await;
    w.apply(json!({
        "apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential",
        "metadata": {"name": "agent", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "webrtc"},
                 "registrationCheck": {"interval": "30s"}}
    }))
    .await;
    let _: TelephonyCredential = w.wait_ready("agent").await;
    let status = |w: &World| {
        let w = w.api::<TelephonyCredential>();
        async move {
            let st = w.get("agent").await.unwrap().status.unwrap_or_default();
            let registered = st
                .conditions
                .iter()
                .find(|c| c.type_ == "Registered")
                .map(|c| format!("{}/{}", c.status, c.reason));
            (st.registration.and_then(|r| r.status), registered)
        }
    };
    w.until("the first registration check", 30, || async {
        let (s, c) = status(&w).await;
        (s.as_deref() == Some("NotRegistered") && c.as_deref() == Some("False/NotRegistered"))
            .then_some(())
    })
    .await;
    // A browser softphone registers with the generated login from the Secret.
    let login = w.secret("agent").await.unwrap();
    assert!(login["username"].starts_with("gencred"));
    let reg = json!({"username": login["username"], "password": login["password"],
                     "expires": 600, "user_agent": "WebRTC/1.0"});
    assert_eq!(admin(&w, "/telnyx/register", reg).await, 200);
    w.api::<TelephonyCredential>()
        .patch(
            "agent",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"example.com/poke": "1"}}})),
        )
        .await
        .unwrap();
    w.until("Registered", 30, || async {
        let (s, c) = status(&w).await;
        (s.as_deref() == Some("Registered") && c.as_deref() == Some("True/Registered"))
            .then_some(())
    })
    .await;
    let ready = w.ready::<TelephonyCredential>("agent").await.unwrap();
    assert_eq!(ready.0, "True");
}
