//! Telnyx client against a scripted local HTTP server.
#![allow(clippy::unwrap_used)]

mod provider_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use provider_common::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sipcred_operator::provider::telnyx::*;
use sipcred_operator::provider::{ErrorCategory, FailureKind};

const KEY: &str = "KEYtest_0123456789abcdef";
const PASSWORD: &str = "Sup3r-Secret-Passw0rd";

fn client(base: &str, observer: Arc<Recorder>) -> TelnyxClient {
    TelnyxClient::new(TelnyxConfig {
        base_url: format!("{base}/v2"),
        rate: open_rate(),
        retry: fast_retry(),
        timeout: Duration::from_secs(5),
        observer,
        ..TelnyxConfig::new(SecretString::from(KEY))
    })
    .unwrap()
}

fn connection(id: &str, name: &str) -> serde_json::Value {
    json!({
        "id": id,
        "record_type": "credential_connection",
        "connection_name": name,
        "user_name": "user1234",
        "password": PASSWORD,
        "active": true
    })
}

fn create_request() -> CredentialConnectionRequest {
    CredentialConnectionRequest {
        connection_name: Some("team-a-conn".into()),
        user_name: Some("teamauser1".into()),
        password: Some(SecretString::from(PASSWORD)),
        ..Default::default()
    }
}

#[tokio::test]
async fn sends_bearer_auth_and_decodes_get() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": connection("123", "team-a")}),
    )])
    .await;
    let rec = Arc::new(Recorder::default());
    let c = client(&srv.base, rec.clone());
    let got = c.get_credential_connection("123").await.unwrap();
    assert_eq!(got.id, "123");
    assert_eq!(got.connection_name.as_deref(), Some("team-a"));
    assert_eq!(got.password.unwrap().expose_secret(), PASSWORD);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/v2/credential_connections/123");
    assert_eq!(
        reqs[0].header("authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        reqs[0].header("accept").as_deref(),
        Some("application/json")
    );
    assert!(
        reqs[0]
            .header("user-agent")
            .unwrap()
            .starts_with("sipcred-operator/")
    );
    assert_eq!(
        rec.requests.lock().unwrap().as_slice(),
        &[("telnyx", "get_credential_connection", Some(200))]
    );
}

#[tokio::test]
async fn ids_are_path_encoded() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": connection("a/b", "x")}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    c.get_credential_connection("a/b?c").await.unwrap();
    assert_eq!(
        srv.requests()[0].path,
        "/v2/credential_connections/a%2Fb%3Fc"
    );
    let e = c.get_credential_connection("").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidRequest);
    let e = c.get_credential_connection("..").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidRequest);
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn rate_limited_429_then_success_honours_x_ratelimit_reset() {
    let srv = Server::start(vec![
        Canned::json(
            429,
            json!({"errors": [{"code": "10011", "title": "Too many requests"}]}),
        )
        .header("x-ratelimit-limit", "10")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "1"),
        Canned::json(200, json!({"data": connection("1", "n")})),
    ])
    .await;
    let rec = Arc::new(Recorder::default());
    let c = client(&srv.base, rec.clone());
    let start = Instant::now();
    c.get_credential_connection("1").await.unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(srv.requests().len(), 2);
    let statuses: Vec<_> = rec.requests.lock().unwrap().iter().map(|r| r.2).collect();
    assert_eq!(statuses, vec![Some(429), Some(200)]);
}

#[tokio::test]
async fn create_retried_on_429_with_retry_after() {
    let srv = Server::start(vec![
        Canned::json(429, json!({"errors": [{"code": "10011"}]})).header("retry-after", "1"),
        Canned::json(201, json!({"data": connection("9", "team-a-conn")})),
    ])
    .await;
    let c = client(&srv.base, Arc::default());
    let start = Instant::now();
    let created = c
        .create_credential_connection(&create_request())
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(950));
    assert_eq!(created.id, "9");
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.method == "POST"));
    // Both attempts carry the same body, with the password in it.
    assert_eq!(reqs[0].body, reqs[1].body);
    assert_eq!(
        reqs[0].json(),
        json!({"connection_name": "team-a-conn", "user_name": "teamauser1", "password": PASSWORD})
    );
    assert_eq!(
        reqs[0].header("content-type").as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn server_pause_from_success_headers_delays_next_call() {
    let srv = Server::start(vec![
        Canned::json(200, json!({"data": connection("1", "n")}))
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", "1"),
        Canned::json(200, json!({"data": connection("1", "n")})),
    ])
    .await;
    let rec = Arc::new(Recorder::default());
    let c = client(&srv.base, rec.clone());
    c.get_credential_connection("1").await.unwrap();
    assert!(c.rate_limiter().paused_for().is_some());
    let start = Instant::now();
    // A clone shares the limiter.
    c.clone().get_credential_connection("1").await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(900));
    let waits = rec.waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] >= Duration::from_millis(900));
}

#[tokio::test]
async fn retries_503_for_reads() {
    let srv = Server::start(vec![
        Canned::empty(503),
        Canned::text(503, "text/html", "<html>down</html>"),
        Canned::json(200, json!({"data": connection("1", "n")})),
    ])
    .await;
    let c = client(&srv.base, Arc::default());
    c.get_credential_connection("1").await.unwrap();
    assert_eq!(srv.requests().len(), 3);
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let srv = Server::start(vec![Canned::empty(500)]).await;
    let c = client(&srv.base, Arc::default());
    let e = c.get_credential_connection("1").await.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.attempts(), 4);
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.metric_label(), "ProviderUnavailable");
    assert!(!e.outcome_unknown());
    assert_eq!(srv.requests().len(), 4);
}

#[tokio::test]
async fn validation_422_not_retried_and_names_the_field() {
    let srv = Server::start(vec![Canned::json(
        422,
        json!({"errors": [{
            "code": "10015",
            "title": "Bad Request",
            "detail": format!("user_name is invalid (password was {PASSWORD})"),
            "source": {"pointer": "/user_name"},
            "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/10015"}
        }]}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c
        .create_credential_connection(&create_request())
        .await
        .unwrap_err();
    assert_eq!(srv.requests().len(), 1);
    assert!(e.is_terminal());
    assert!(!e.is_retryable());
    assert!(!e.outcome_unknown());
    assert_eq!(e.code(), Some("10015"));
    assert_eq!(e.field(), Some("/user_name"));
    assert_eq!(e.category(), ErrorCategory::ProviderRejected);
    // The echoed password is scrubbed; the key never appears.
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
}

#[tokio::test]
async fn duplicate_user_name_is_conflict() {
    let srv = Server::start(vec![Canned::json(
        422,
        json!({"errors": [{"code": "10015", "title": "Invalid value",
            "detail": "This user name has already been taken.", "source": {"pointer": "/user_name"}}]}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c
        .create_credential_connection(&create_request())
        .await
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.metric_label(), "Conflict");
}

#[tokio::test]
async fn create_with_dropped_connection_is_outcome_unknown_and_sent_once() {
    let (base, seen) = dropping_server().await;
    let c = client(&base, Arc::default());
    let e = c
        .create_credential_connection(&create_request())
        .await
        .unwrap_err();
    assert!(e.outcome_unknown(), "{e}");
    assert!(e.is_retryable());
    assert_eq!(e.kind(), FailureKind::Transport);
    assert_eq!(e.attempts(), 1);
    // Give a stray retry a moment to show up, then count.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("POST /v2/credential_connections "));
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}

#[tokio::test]
async fn reads_are_retried_after_a_dropped_connection() {
    let (base, seen) = dropping_server().await;
    let c = client(&base, Arc::default());
    let e = c.get_credential_connection("1").await.unwrap_err();
    assert!(!e.outcome_unknown());
    assert_eq!(e.attempts(), 4);
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn create_timeout_is_outcome_unknown_and_sent_once() {
    let srv = Server::start(vec![
        Canned::json(201, json!({"data": connection("1", "n")})).delayed(Duration::from_secs(2)),
    ])
    .await;
    let c = TelnyxClient::new(TelnyxConfig {
        base_url: format!("{}/v2", srv.base),
        rate: open_rate(),
        retry: fast_retry(),
        timeout: Duration::from_millis(300),
        ..TelnyxConfig::new(SecretString::from(KEY))
    })
    .unwrap();
    let e = c
        .create_telephony_credential(&TelephonyCredentialRequest {
            connection_id: Some("1".into()),
            name: Some("n".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.outcome_unknown());
    assert_eq!(e.kind(), FailureKind::Timeout);
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn create_connect_error_is_retried_and_not_ambiguous() {
    let base = refused_base().await;
    let c = client(&base, Arc::default());
    let e = c
        .create_credential_connection(&create_request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Connect);
    assert_eq!(e.attempts(), 4);
    assert!(!e.outcome_unknown());
    assert!(e.is_retryable());
}

#[tokio::test]
async fn list_all_follows_total_pages() {
    let page = |n: u32, ids: &[&str]| {
        Canned::json(
            200,
            json!({
                "data": ids.iter().map(|id| connection(id, &format!("conn-{id}"))).collect::<Vec<_>>(),
                "meta": {"page_number": n, "page_size": 250, "total_pages": 3, "total_results": 5}
            }),
        )
    };
    let srv = Server::start(vec![
        page(1, &["1", "2"]),
        page(2, &["3", "4"]),
        page(3, &["5"]),
    ])
    .await;
    let c = client(&srv.base, Arc::default());
    let all = c
        .list_all_credential_connections(&ConnectionFilter {
            sort: Some("created_at".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec!["1", "2", "3", "4", "5"]
    );
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3);
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.path, "/v2/credential_connections");
        assert_eq!(r.query("page[number]"), Some((i + 1).to_string()));
        assert_eq!(r.query("page[size]").as_deref(), Some("250"));
        assert_eq!(r.query("sort").as_deref(), Some("created_at"));
    }
}

#[tokio::test]
async fn find_connection_by_name_matches_exactly() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({
            "data": [connection("1", "team-a-2"), connection("2", "team-a"), connection("3", "TEAM-A")],
            "meta": {"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 3}
        }),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let found = c.find_connection_by_name("team-a").await.unwrap().unwrap();
    assert_eq!(found.id, "2");
    let r = &srv.requests()[0];
    assert_eq!(
        r.query("filter[connection_name][contains]").as_deref(),
        Some("team-a")
    );
    assert!(c.find_connection_by_name("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn find_connection_by_name_ambiguous() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": [connection("1", "dup"), connection("2", "dup")],
               "meta": {"page_number": 1, "total_pages": 1}}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c.find_connection_by_name("dup").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::AmbiguousMatch);
    assert!(e.is_terminal());
}

#[tokio::test]
async fn find_credential_by_name_filters_on_connection() {
    let cred = |id: &str, name: &str| {
        json!({"id": id, "record_type": "credential", "name": name,
               "resource_id": "connection:77", "sip_username": "gencredX", "sip_password": "pw-secret-1"})
    };
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": [cred("a", "other"), cred("b", "mine")],
               "meta": {"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 2}}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let found = c
        .find_credential_by_name("mine", "77")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "b");
    assert_eq!(found.sip_password.unwrap().expose_secret(), "pw-secret-1");
    let r = &srv.requests()[0];
    assert_eq!(r.path, "/v2/telephony_credentials");
    assert_eq!(r.query("filter[name]").as_deref(), Some("mine"));
    assert_eq!(
        r.query("filter[resource_id]").as_deref(),
        Some("connection:77")
    );
    assert_eq!(r.query("page[size]").as_deref(), Some("250"));
}

#[tokio::test]
async fn access_token_is_text_plain() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig";
    let srv = Server::start(vec![Canned::text(201, "text/plain", jwt)]).await;
    let c = client(&srv.base, Arc::default());
    let token = c.create_access_token("cred-1").await.unwrap();
    assert_eq!(token.expose_secret(), jwt);
    assert!(!format!("{token:?}").contains(jwt));
    let r = &srv.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v2/telephony_credentials/cred-1/token");
    assert_eq!(r.header("accept").as_deref(), Some("text/plain"));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn access_token_500_is_retried() {
    let srv = Server::start(vec![
        Canned::empty(500),
        Canned::text(201, "text/plain", "tok.tok.tok\n"),
    ])
    .await;
    let c = client(&srv.base, Arc::default());
    let token = c.create_access_token("cred-1").await.unwrap();
    assert_eq!(token.expose_secret(), "tok.tok.tok");
    assert_eq!(srv.requests().len(), 2);
}

#[tokio::test]
async fn patch_sends_only_set_fields() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": connection("5", "n")}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    c.update_credential_connection(
        "5",
        &CredentialConnectionRequest {
            settings: json!({"sip_uri_calling_preference": "internal", "webhook_event_failover_url": null})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = &srv.requests()[0];
    assert_eq!(r.method, "PATCH");
    assert_eq!(r.path, "/v2/credential_connections/5");
    assert_eq!(
        r.json(),
        json!({"sip_uri_calling_preference": "internal", "webhook_event_failover_url": null})
    );
}

#[tokio::test]
async fn expired_credential_update_is_terminal() {
    let srv = Server::start(vec![Canned::json(
        422,
        json!({"errors": {"status": "can't update credentials in expired status"}}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c
        .update_telephony_credential(
            "x",
            &TelephonyCredentialRequest {
                tag: Some("t".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::CredentialExpired);
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn delete_404_is_not_found() {
    let srv = Server::start(vec![Canned::json(
        404,
        json!({"errors": [{"code": "10005", "title": "Resource not found", "source": {"pointer": "/"}}]}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c.delete_credential_connection("gone").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.field(), None);
    assert_eq!(srv.requests()[0].method, "DELETE");
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": connection("x", "n")}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    c.delete_telephony_credential("x").await.unwrap();
}

#[tokio::test]
async fn unauthorized_is_terminal_and_not_retried() {
    let srv = Server::start(vec![Canned::json(
        401,
        json!({"errors": [{"code": "10009", "title": "Authentication failed"}]}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c
        .list_credential_connections(&ConnectionFilter::default())
        .await
        .unwrap_err();
    assert_eq!(e.metric_label(), "AuthenticationFailed");
    assert_eq!(srv.requests().len(), 1);
    assert!(!format!("{e} {e:?}").contains(KEY));
}

#[tokio::test]
async fn bad_success_body_is_invalid_response() {
    let srv = Server::start(vec![Canned::json(200, json!({"data": {"no_id": true}}))]).await;
    let c = client(&srv.base, Arc::default());
    let e = c.get_credential_connection("1").await.unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidResponse);
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn registration_status_action() {
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": {"status": "Registered", "ip_address": "198.51.100.7", "port": 5060,
               "transport": "UDP", "user_agent": "Zoiper", "last_registration": "2026-01-01T00:00:00Z"}}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let s = c.check_registration_status("42").await.unwrap();
    assert_eq!(s.status.as_deref(), Some("Registered"));
    assert_eq!(s.port.as_deref(), Some("5060"));
    let r = &srv.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        "/v2/credential_connections/42/actions/check_registration_status"
    );
}

#[tokio::test]
async fn clients_can_share_one_limiter() {
    use sipcred_operator::provider::{RateLimitConfig, RateLimiter};
    let srv = Server::start(vec![Canned::json(
        200,
        json!({"data": connection("1", "n")}),
    )])
    .await;
    let shared = RateLimiter::new(&RateLimitConfig {
        requests_per_second: 2.0,
        burst: 1,
        ..RateLimitConfig::default()
    });
    let a = client(&srv.base, Arc::default()).with_rate_limiter(shared.clone());
    let b = client(&srv.base, Arc::default()).with_rate_limiter(shared);
    let start = Instant::now();
    a.get_credential_connection("1").await.unwrap();
    b.get_credential_connection("1").await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(450));
}

#[tokio::test]
async fn echoed_api_key_is_scrubbed() {
    let srv = Server::start(vec![Canned::json(
        401,
        json!({"errors": [{"code": "10009", "detail": format!("bad key {KEY}")}]}),
    )])
    .await;
    let c = client(&srv.base, Arc::default());
    let e = c.get_credential_connection("1").await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(KEY));
}

#[tokio::test]
async fn unreadable_create_answer_is_outcome_unknown() {
    let srv = Server::start(vec![Canned::text(201, "application/json", "{\"data\": ")]).await;
    let c = client(&srv.base, Arc::default());
    let e = c
        .create_credential_connection(&create_request())
        .await
        .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::InvalidResponse);
    assert!(e.outcome_unknown());
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn long_retry_after_is_handed_to_the_caller() {
    let srv = Server::start(vec![
        Canned::json(429, json!({"errors": [{"code": "10011"}]})).header("retry-after", "300"),
    ])
    .await;
    let c = client(&srv.base, Arc::default());
    let start = Instant::now();
    let e = c.get_credential_connection("1").await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(e.metric_label(), "RateLimited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(300)));
    assert_eq!(srv.requests().len(), 1);
    // Every caller of this account is now paused (capped at max_server_pause).
    let paused = c.rate_limiter().paused_for().unwrap();
    assert!(paused > Duration::from_secs(8) && paused <= Duration::from_secs(10));
}
