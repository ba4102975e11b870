//! Telnyx credential activation delay and access-token verification.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sipcred_provider_sim::{TelnyxConfig, VobizConfig, start_vobiz};

use crate::telnyx::Tx;

const KEY: &str = "KEYtest123";

/// A connection and one telephony credential on it: (credential id, username, password).
async fn credential(t: &Tx, extra: Value) -> (String, String, String) {
    let conn = t.create_conn("parent", "parent01").await;
    let mut body = json!({"connection_id": conn["id"]});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let r = t.create_cred(body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = &r.json["data"];
    (
        d["id"].as_str().unwrap().into(),
        d["sip_username"].as_str().unwrap().into(),
        d["sip_password"].as_str().unwrap().into(),
    )
}

async fn admin_post(t: &Tx, path: &str, body: Value) -> (u16, Value) {
    let r =
        t.c.post(format!("{}{path}", t.sim.admin_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn advance(t: &Tx, seconds: i64) {
    let (status, body) = admin_post(t, "/clock/advance", json!({"seconds": seconds})).await;
    assert_eq!(status, 200, "{body}");
}

async fn token(t: &Tx, id: &str) -> String {
    let r = t
        .call(
            Method::POST,
            &format!("/telephony_credentials/{id}/token"),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.text
}

#[tokio::test]
async fn a_new_telephony_credential_logs_in_only_after_the_activation_delay() {
    let t = Tx::new().await;
    assert_eq!(
        t.sim.activation_delay(),
        Duration::from_secs(5),
        "documented default"
    );
    let (_, user, password) = credential(&t, json!({})).await;
    // The connection's own login has no delay.
    assert!(t.sim.check_credentials("parent01", "secret123"));

    assert!(!t.sim.check_credentials(&user, &password));
    let (status, body) = admin_post(
        &t,
        "/check",
        json!({"username": user, "password": password}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"valid": false, "reason": "credential_not_active"})
    );
    // A wrong password is refused for that reason, not for the delay.
    let (_, body) = admin_post(&t, "/check", json!({"username": user, "password": "nope"})).await;
    assert_eq!(body, json!({"valid": false}));

    let (status, body) = admin_post(
        &t,
        "/telnyx/register",
        json!({"username": user, "password": password}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not active yet"),
        "{body}"
    );

    advance(&t, 4).await;
    assert!(
        !t.sim.check_credentials(&user, &password),
        "4 s is still inside 5 s"
    );
    advance(&t, 1).await;
    assert!(t.sim.check_credentials(&user, &password));
    let (_, body) = admin_post(
        &t,
        "/check",
        json!({"username": user, "password": password}),
    )
    .await;
    assert_eq!(body, json!({"valid": true}));
    let (status, body) = admin_post(
        &t,
        "/telnyx/register",
        json!({"username": user, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Registered");
}

#[tokio::test]
async fn the_activation_delay_is_set_by_builder_setter_and_admin_api() {
    let t = Tx::with(TelnyxConfig::new(KEY).with_activation_delay(Duration::ZERO)).await;
    let (_, user, password) = credential(&t, json!({})).await;
    assert!(
        t.sim.check_credentials(&user, &password),
        "no delay: at once"
    );

    let url = format!("{}/activation", t.sim.admin_url());
    let r: Value = t.c.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(r, json!({"delay_ms": 0}));

    // The delay counts from each credential's creation, so raising it covers young
    // credentials that already passed the old one.
    let r =
        t.c.put(&url)
            .json(&json!({"delay_ms": 60_000}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"delay_ms": 60_000})
    );
    assert_eq!(t.sim.activation_delay(), Duration::from_secs(60));
    assert!(!t.sim.check_credentials(&user, &password));
    let state = t.sim.state();
    let cred = &state["telephony_credentials"][0];
    assert!(
        cred["active_from"].as_str().unwrap() > cred["created_at"].as_str().unwrap(),
        "{cred}"
    );

    t.sim.set_activation_delay(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(t.sim.check_credentials(&user, &password));

    for bad in [
        json!({}),
        json!({"delay_ms": -1}),
        json!({"delay_ms": "5s"}),
        json!({"delay_ms": 86_400_001u64}),
    ] {
        let r = t.c.put(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(
        t.sim.activation_delay(),
        Duration::from_millis(1),
        "a refused PUT changes nothing"
    );
}

#[tokio::test]
async fn a_token_verifies_like_a_webrtc_login() {
    let t = Tx::new().await;
    let (id, _, _) = credential(&t, json!({})).await;
    // Minting is allowed at once; logging in with the token waits for activation.
    let jwt = token(&t, &id).await;
    let c = t.sim.verify_token(&jwt);
    assert!(!c.valid);
    assert_eq!(c.reason.as_deref(), Some("credential_not_active"));
    assert_eq!(c.credential_id.as_deref(), Some(id.as_str()));

    advance(&t, 5).await;
    let c = t.sim.verify_token(&jwt);
    assert!(c.valid, "{c:?}");
    assert_eq!(c.reason, None);
    assert_eq!(c.credential_id.as_deref(), Some(id.as_str()));
    let exp = c.expires_at.unwrap();

    // The HTTP form answers the same.
    let (status, body) = admin_post(&t, "/tokens/verify", json!({"token": jwt})).await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], true);
    assert_eq!(body["credential_id"], id.as_str());
    assert_eq!(body["reason"], Value::Null);
    assert_eq!(
        body["expires_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap(),
        exp
    );
    let (status, _) = admin_post(&t, "/tokens/verify", json!({"jwt": jwt})).await;
    assert_eq!(status, 400);

    // 24 h lifetime on the simulator's clock.
    advance(&t, 24 * 3600 - 10).await;
    assert!(t.sim.verify_token(&jwt).valid);
    advance(&t, 10).await;
    let c = t.sim.verify_token(&jwt);
    assert_eq!(c.reason.as_deref(), Some("expired"));
    assert_eq!(c.expires_at, Some(exp));
}

#[tokio::test]
async fn tokens_are_refused_for_bad_signatures_and_gone_or_expired_credentials() {
    let t = Tx::with(TelnyxConfig::new(KEY).with_activation_delay(Duration::ZERO)).await;
    let (id, _, _) = credential(&t, json!({})).await;
    let jwt = token(&t, &id).await;
    assert!(t.sim.verify_token(&jwt).valid);

    let reason = |tok: &str| t.sim.verify_token(tok).reason;
    assert_eq!(reason("not a token").as_deref(), Some("malformed"));
    assert_eq!(reason("a.b.c").as_deref(), Some("malformed"));
    let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
    let sig = parts[2].clone();
    parts[2] = format!(
        "{}{}",
        if sig.starts_with('A') { 'B' } else { 'A' },
        &sig[1..]
    );
    assert_eq!(reason(&parts.join(".")).as_deref(), Some("bad_signature"));
    // Another simulator (another account) signs with another key.
    let other = Tx::with(TelnyxConfig::new(KEY).with_activation_delay(Duration::ZERO)).await;
    let (oid, _, _) = credential(&other, json!({})).await;
    assert_eq!(
        reason(&token(&other, &oid).await).as_deref(),
        Some("bad_signature")
    );

    // The credential's own expiry, earlier than the token's.
    let soon = jiff::Timestamp::now().as_second() + 600;
    let soon = jiff::Timestamp::from_second(soon).unwrap().to_string();
    let r = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"expires_at": soon})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    advance(&t, 601).await;
    assert_eq!(reason(&jwt).as_deref(), Some("credential_expired"));

    let conn = t.create_conn("second", "second01").await;
    let r = t.create_cred(json!({"connection_id": conn["id"]})).await;
    let id2 = r.json["data"]["id"].as_str().unwrap().to_string();
    let jwt2 = token(&t, &id2).await;
    assert!(t.sim.verify_token(&jwt2).valid);
    let r = t
        .call(
            Method::DELETE,
            &format!("/telephony_credentials/{id2}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let c = t.sim.verify_token(&jwt2);
    assert_eq!(c.reason.as_deref(), Some("credential_not_found"));
    assert_eq!(c.credential_id.as_deref(), Some(id2.as_str()));
}

#[tokio::test]
async fn vobiz_has_no_tokens_or_activation() {
    let v = start_vobiz(VobizConfig::default()).await.unwrap();
    let c = v.verify_token("a.b.c");
    assert!(!c.valid);
    assert_eq!(c.reason.as_deref(), Some("unsupported"));
    assert_eq!(v.activation_delay(), Duration::ZERO);
    let r = crate::common::client()
        .post(format!("{}/tokens/verify", v.admin_url()))
        .json(&json!({"token": "a.b.c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
