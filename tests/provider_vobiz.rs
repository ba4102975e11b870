//! Vobiz client against a scripted local HTTP server.
#![allow(clippy::unwrap_used)]

mod provider_common;

use std::sync::Arc;
use std::time::Duration;

use provider_common::*;
use secrecy::SecretString;
use serde_json::json;
use sipcred_operator::provider::vobiz::*;
use sipcred_operator::provider::{ErrorCategory, Nullable};

const TOKEN: &str = "tok_0123456789_secret";
const PASSWORD: &str = "Vbz!2025$SecureP@ss";

fn client(base: &str) -> VobizClient {
    VobizClient::new(VobizConfig {
        base_url: format!("{base}/api/v1"),
        rate: open_rate(),
        retry: fast_retry(),
        timeout: Duration::from_secs(5),
        observer: Arc::new(Recorder::default()),
        ..VobizConfig::new("MA_TEST", SecretString::from(TOKEN))
    })
    .unwrap()
}

fn cred(id: &str, username: &str) -> serde_json::Value {
    json!({
        "id": id, "account_id": "MA_TEST", "username": username, "password": "<redacted>",
        "realm": "MA_TEST.sip.vobiz.ai", "enabled": true,
        "created_at": "2026-05-12T05:11:51.635106Z", "updated_at": "2026-05-12T05:11:51.635106Z"
    })
}

#[tokio::test]
async fn create_sends_auth_headers_and_only_username_password() {
    let srv = Server::start(vec![Canned::json(201, cred("c1", "office_phone_main"))]).await;
    let c = client(&srv.base);
    let created = c
        .create_credential(&CredentialCreate {
            username: "office_phone_main".into(),
            password: SecretString::from(PASSWORD),
        })
        .await
        .unwrap();
    assert_eq!(created.id, "c1");
    assert_eq!(created.realm, "MA_TEST.sip.vobiz.ai");
    let r = &srv.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/Account/MA_TEST/credentials");
    assert_eq!(r.header("x-auth-id").as_deref(), Some("MA_TEST"));
    assert_eq!(r.header("x-auth-token").as_deref(), Some(TOKEN));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.json(),
        json!({"username": "office_phone_main", "password": PASSWORD})
    );
}

#[tokio::test]
async fn duplicate_username_flat_409_is_conflict() {
    let srv = Server::start(vec![Canned::json(
        409,
        json!({"error": "Username already exists", "code": 409}),
    )])
    .await;
    let c = client(&srv.base);
    let e = c
        .create_credential(&CredentialCreate {
            username: "dup".into(),
            password: SecretString::from(PASSWORD),
        })
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.metric_label(), "Conflict");
    assert_eq!(srv.requests().len(), 1);
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(TOKEN),
        "{shown}"
    );
}

#[tokio::test]
async fn duplicate_username_envelope_409_is_conflict() {
    let srv = Server::start(vec![Canned::json(
        409,
        json!({"status": "error", "error": {"code": "CONFLICT", "message": "Username already exists", "details": null},
               "timestamp": "2026-01-01T00:00:00Z", "requestId": "r-1"}),
    )])
    .await;
    let c = client(&srv.base);
    let e = c
        .create_credential(&CredentialCreate {
            username: "dup".into(),
            password: SecretString::from(PASSWORD),
        })
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.request_id(), Some("r-1"));
}

#[tokio::test]
async fn list_pages_by_offset_and_finds_username() {
    let page = |offset: u32, objs: Vec<serde_json::Value>| {
        Canned::json(
            200,
            json!({"meta": {"limit": 2, "offset": offset, "total": 5}, "objects": objs}),
        )
    };
    let srv = Server::start(vec![
        page(0, vec![cred("1", "a"), cred("2", "b")]),
        page(2, vec![cred("3", "c"), cred("4", "d")]),
        page(4, vec![cred("5", "e")]),
    ])
    .await;
    let c = client(&srv.base);
    let found = c.find_credential_by_username("e").await.unwrap().unwrap();
    assert_eq!(found.id, "5");
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3);
    let offsets: Vec<_> = reqs.iter().map(|r| r.query("offset").unwrap()).collect();
    assert_eq!(offsets, vec!["0", "2", "4"]);
    assert!(
        reqs.iter()
            .all(|r| r.path == "/api/v1/Account/MA_TEST/trunks/credentials")
    );
    assert_eq!(reqs[0].query("limit").as_deref(), Some("100"));
}

#[tokio::test]
async fn list_accepts_total_count() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"meta": {"limit": 100, "offset": 0, "total_count": 1}, "objects": [cred("1", "a")]}),
    )])
    .await;
    let c = client(&srv.base);
    assert_eq!(c.list_all_credentials().await.unwrap().len(), 1);
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn get_falls_back_to_list_on_405_and_remembers() {
    let list = Canned::json(
        200,
        json!({"meta": {"limit": 100, "offset": 0, "total": 2}, "objects": [cred("1", "a"), cred("2", "b")]}),
    );
    let srv = Server::start(vec![Canned::empty(405), list]).await;
    let c = client(&srv.base);
    let got = c.get_credential("2").await.unwrap();
    assert_eq!(got.username, "b");
    let e = c.get_credential("zzz").await.unwrap_err();
    assert!(e.is_not_found());
    let paths: Vec<_> = srv.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        vec![
            "/api/v1/Account/MA_TEST/credentials/2",
            "/api/v1/Account/MA_TEST/trunks/credentials",
            // after the 405, straight to the list
            "/api/v1/Account/MA_TEST/trunks/credentials",
        ]
    );
}

#[tokio::test]
async fn get_uses_direct_route_when_it_exists() {
    let srv = Server::start(vec![Canned::json(200, cred("7", "x"))]).await;
    let c = client(&srv.base);
    assert_eq!(c.get_credential("7").await.unwrap().username, "x");
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn update_put_sends_only_set_fields() {
    let srv = Server::start(vec![Canned::json(200, cred("7", "x"))]).await;
    let c = client(&srv.base);
    c.update_credential(
        "7",
        &CredentialUpdate {
            password: Some(SecretString::from(PASSWORD)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = &srv.requests()[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.path, "/api/v1/Account/MA_TEST/credentials/7");
    assert_eq!(r.json(), json!({"password": PASSWORD}));
}

#[tokio::test]
async fn delete_204_and_404_and_in_use() {
    let srv = Server::start(vec![
        Canned::empty(204),
        Canned::json(
            404,
            json!({"status": "error", "error": {"code": "NOT_FOUND", "message": "Credential not found"}}),
        ),
        Canned::json(409, json!({"error": "Credential is used by active calls", "code": 409})),
    ])
    .await;
    let c = client(&srv.base);
    c.delete_credential("1").await.unwrap();
    let e = c.delete_credential("1").await.unwrap_err();
    assert!(e.is_not_found());
    let e = c.delete_credential("1").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::ResourceInUse);
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn attach_credential_to_trunk_keeps_trunk_fields() {
    let trunk = json!({"trunk_id": "t1", "name": "main", "trunk_domain": "t1.sip.vobiz.ai",
        "trunk_status": "active", "trunk_direction": "OUTBOUND", "enabled": true,
        "max_concurrent_calls": 10, "credential_uuid": null});
    let mut updated = trunk.clone();
    updated["credential_uuid"] = json!("c1");
    let srv = Server::start(vec![Canned::json(200, trunk), Canned::json(200, updated)]).await;
    let c = client(&srv.base);
    let t = c
        .set_trunk_credential("t1", Nullable::Value("c1".into()))
        .await
        .unwrap();
    assert_eq!(t.credential_uuid.as_deref(), Some("c1"));
    let reqs = srv.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/v1/Account/MA_TEST/trunks/t1");
    assert_eq!(reqs[1].method, "PUT");
    assert_eq!(
        reqs[1].json(),
        json!({"name": "main", "max_concurrent_calls": 10, "enabled": true, "credential_uuid": "c1"})
    );
}

#[tokio::test]
async fn create_503_retried_then_conflict() {
    // 503 provably did not create; the retry then learns the name is taken.
    let srv = Server::start(vec![
        Canned::empty(503),
        Canned::json(
            409,
            json!({"error": "Username already exists", "code": 409}),
        ),
    ])
    .await;
    let c = client(&srv.base);
    let e = c
        .create_credential(&CredentialCreate {
            username: "u".into(),
            password: SecretString::from(PASSWORD),
        })
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.attempts(), 2);
    assert_eq!(srv.requests().len(), 2);
}

#[tokio::test]
async fn create_502_is_outcome_unknown() {
    let srv = Server::start(vec![Canned::empty(502)]).await;
    let c = client(&srv.base);
    let e = c
        .create_credential(&CredentialCreate {
            username: "u".into(),
            password: SecretString::from(PASSWORD),
        })
        .await
        .unwrap_err();
    assert!(e.outcome_unknown());
    assert_eq!(srv.requests().len(), 1);
}
