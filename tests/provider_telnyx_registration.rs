//! Telnyx registration-status client methods against the Telnyx simulator, whose admin
//! API plays the SIP client (REGISTER with the login) and moves the registrar's clock.
#![allow(clippy::unwrap_used)]

mod provider_common;

use std::time::Duration;

use provider_common::{fast_retry, open_rate};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sipcred_operator::provider::ErrorCategory;
use sipcred_operator::provider::telnyx::*;
use sipcred_provider_sim::{RunningSim, TelnyxConfig as SimConfig, start_telnyx};

const KEY: &str = "KEYregistration0123";
const PASSWORD: &str = "Reg1ster-Me-Passw0rd";

async fn setup() -> (RunningSim, TelnyxClient, reqwest::Client) {
    // These tests log in right after creating a telephony credential.
    let sim = start_telnyx(SimConfig::new(KEY).with_activation_delay(Duration::ZERO))
        .await
        .unwrap();
    let client = TelnyxClient::new(TelnyxConfig {
        base_url: sim.base_url(),
        rate: open_rate(),
        retry: fast_retry(),
        timeout: Duration::from_secs(10),
        ..TelnyxConfig::new(SecretString::from(KEY))
    })
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    (sim, client, http)
}

/// Plays a SIP client sending REGISTER; returns the admin API's HTTP status.
async fn register(sim: &RunningSim, http: &reqwest::Client, body: Value) -> (u16, Value) {
    let r = http
        .post(format!("{}/telnyx/register", sim.admin_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn advance(sim: &RunningSim, http: &reqwest::Client, seconds: i64) {
    let r = http
        .post(format!("{}/clock/advance", sim.admin_url()))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn connection(client: &TelnyxClient, user: &str) -> CredentialConnection {
    client
        .create_credential_connection(&CredentialConnectionRequest {
            connection_name: Some(format!("conn-{user}")),
            user_name: Some(user.into()),
            password: Some(SecretString::from(PASSWORD)),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn connection_status_follows_register_refusal_expiry_and_unregister() {
    let (sim, client, http) = setup().await;
    let conn = connection(&client, "pbxuser01").await;
    let state = |s: RegistrationStatus| s.state().unwrap();

    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::NotRegistered);

    // A wrong password is refused, as a registrar answers 403, and reported.
    let (code, _) = register(
        &sim,
        &http,
        json!({"username": "pbxuser01", "password": "wrong-password"}),
    )
    .await;
    assert_eq!(code, 403);
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::Failed);

    let (code, body) = register(
        &sim,
        &http,
        json!({"username": "pbxuser01", "password": PASSWORD, "ip_address": "198.51.100.7",
               "port": 5062, "transport": "tls", "user_agent": "Asterisk PBX 22.1", "expires": 120}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(s.state(), Some(RegistrationState::Registered));
    assert_eq!(s.ip_address.as_deref(), Some("198.51.100.7"));
    assert_eq!(s.port.as_deref(), Some("5062"));
    assert_eq!(s.transport.as_deref(), Some("TLS"));
    assert_eq!(s.user_agent.as_deref(), Some("Asterisk PBX 22.1"));
    assert!(s.last_registration.is_some());

    advance(&sim, &http, 119).await;
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::Registered);
    advance(&sim, &http, 2).await;
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::Expired);

    register(
        &sim,
        &http,
        json!({"username": "pbxuser01", "password": PASSWORD}),
    )
    .await;
    let (code, _) = register(
        &sim,
        &http,
        json!({"username": "pbxuser01", "password": PASSWORD, "expires": 0}),
    )
    .await;
    assert_eq!(code, 200);
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::Unregistered);

    // A disabled connection cannot register at all.
    client
        .update_credential_connection(
            &conn.id,
            &CredentialConnectionRequest {
                settings: json!({"active": false}).as_object().unwrap().clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let s = client.check_registration_status(&conn.id).await.unwrap();
    assert_eq!(state(s), RegistrationState::NotApplicable);

    let e = client.check_registration_status("999").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::NotFound);
}

#[tokio::test]
async fn telephony_credential_status_by_username() {
    let (sim, client, http) = setup().await;
    let conn = connection(&client, "webrtcparent").await;
    let cred = client
        .create_telephony_credential(&TelephonyCredentialRequest {
            connection_id: Some(conn.id.clone()),
            name: Some("agent-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let user = cred.sip_username.clone().unwrap();
    assert!(user.starts_with("gencred"));
    let tc = RegistrationCredentialType::TelephonyCredential;

    let r = client.sip_registration_status(tc, &user).await.unwrap();
    assert_eq!(r.registered, Some(false));
    assert_eq!(r.credential_username.as_deref(), Some(user.as_str()));
    assert_eq!(r.connection_id.as_deref(), Some(conn.id.as_str()));

    // The connection's password does not log a telephony credential in.
    let (code, _) = register(&sim, &http, json!({"username": user, "password": PASSWORD})).await;
    assert_eq!(code, 403);
    let r = client.sip_registration_status(tc, &user).await.unwrap();
    assert_eq!(r.sip_registration_status.as_deref(), Some("failed"));
    assert_eq!(
        r.last_registration_response.as_deref(),
        Some("403 Forbidden")
    );

    let password = cred.sip_password.unwrap();
    let (code, _) = register(
        &sim,
        &http,
        json!({"username": user, "password": password.expose_secret(), "ip_address": "203.0.113.9",
               "port": 443, "transport": "WSS", "user_agent": "TelnyxWebRTC", "expires": 60}),
    )
    .await;
    assert_eq!(code, 200);
    let r = client.sip_registration_status(tc, &user).await.unwrap();
    assert_eq!(r.registered, Some(true));
    assert_eq!(r.sip_registration_status.as_deref(), Some("registered"));
    let d = r.sip_registration_details.unwrap();
    assert_eq!(d.ua_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(d.ua_port.as_deref(), Some("443"));
    assert_eq!(d.transport.as_deref(), Some("WSS"));
    assert!(d.expires.is_some());

    advance(&sim, &http, 61).await;
    let r = client.sip_registration_status(tc, &user).await.unwrap();
    assert_eq!(r.registered, Some(false));

    // The connection's own login is looked up by its user_name.
    let r = client
        .sip_registration_status(
            RegistrationCredentialType::SipCredentialConnection,
            "webrtcparent",
        )
        .await
        .unwrap();
    assert_eq!(r.registered, Some(false));

    let e = client
        .sip_registration_status(tc, "gencrednosuchuser")
        .await
        .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::NotFound);
}

#[tokio::test]
async fn unknown_user_register_leaves_no_trace() {
    let (sim, _client, http) = setup().await;
    let (code, _) = register(
        &sim,
        &http,
        json!({"username": "nobody", "password": "whatever"}),
    )
    .await;
    assert_eq!(code, 404);
    let list: Value = http
        .get(format!("{}/telnyx/registrations", sim.admin_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    let (code, _) = register(
        &sim,
        &http,
        json!({"username": "x", "password": "y", "transport": "carrier-pigeon"}),
    )
    .await;
    assert_eq!(code, 400);
}
