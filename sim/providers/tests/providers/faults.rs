use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sipcred_provider_sim::{
    FaultConfig, FaultKind, FaultRule, Latency, TelnyxConfig, VobizConfig, start_telnyx,
};

use crate::common::client;
use crate::telnyx::Tx;
use crate::vobiz::{AID, TOKEN, Vx};

const CONNS: &str = "/v2/credential_connections";

fn conn_body(user: &str) -> Value {
    json!({"connection_name": "c", "user_name": user, "password": "secret123"})
}

#[tokio::test]
async fn fixed_and_distributed_latency() {
    let t = Tx::new().await;
    t.sim
        .set_faults(FaultConfig::none().with_latency(Latency::Fixed { ms: 300 }));
    let start = Instant::now();
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    // Admin routes are never delayed.
    let start = Instant::now();
    client()
        .get(format!("{}/state", t.sim.admin_url()))
        .send()
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_millis(250));
    // Uniform, scoped to one route via a latency rule.
    t.sim.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Latency {
                latency: Latency::Uniform {
                    min_ms: 300,
                    max_ms: 320,
                },
            })
            .route("/v2/credential_connections/{id}"),
        ),
    );
    let start = Instant::now();
    t.call(Method::GET, "/credential_connections", None).await;
    assert!(start.elapsed() < Duration::from_millis(250));
    let start = Instant::now();
    t.call(Method::GET, "/credential_connections/1", None).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    // Normal distribution via the admin API.
    let r = client()
        .put(format!("{}/faults", t.sim.admin_url()))
        .json(&json!({"latency": {"dist": "normal", "mean_ms": 60.0, "stddev_ms": 1.0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let start = Instant::now();
    t.call(Method::GET, "/credential_connections", None).await;
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn server_errors_share_and_next_n() {
    let t = Tx::new().await;
    // Next 2 requests: 503, then normal.
    t.sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::Error { status: 503 }).times(2)),
    );
    for _ in 0..2 {
        let r = t.call(Method::GET, "/credential_connections", None).await;
        assert_eq!(r.status, 503);
        assert!(r.text.contains("503"));
    }
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(t.sim.faults().rules[0].remaining, Some(0));
    // 500 has the provider's JSON error body; 502 a gateway page.
    t.sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::Error { status: 500 }).times(1)),
    );
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.code(), "10007");
    t.sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::Error { status: 502 }).times(1)),
    );
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 502);
    // A share: about half of 300 requests.
    t.sim.set_faults(
        FaultConfig::none()
            .with_rule(FaultRule::new(FaultKind::Error { status: 500 }).probability(0.5)),
    );
    t.sim.reset_request_counts();
    for _ in 0..300 {
        t.call(Method::GET, "/credential_connections", None).await;
    }
    let errs = t.sim.request_count("GET", CONNS, Some(500));
    let oks = t.sim.request_count("GET", CONNS, Some(200));
    assert_eq!(errs + oks, 300);
    assert!((90..=210).contains(&errs), "{errs}");
    // Errors never touch state.
    t.sim.set_faults(
        FaultConfig::none()
            .with_rule(FaultRule::new(FaultKind::Error { status: 503 }).method("POST")),
    );
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(conn_body("user0001")),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(t.sim.state()["credential_connections"], json!([]));
    // Method scoping: GET unaffected.
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    // Invalid configs are refused by the admin API.
    for bad in [
        json!({"rules": [{"kind": "error", "status": 404}]}),
        json!({"rules": [{"kind": "error", "status": 500, "probability": 2.0}]}),
        json!({"rules": [{"kind": "explode"}]}),
    ] {
        let r = client()
            .put(format!("{}/faults", t.sim.admin_url()))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn timeouts_hold_and_never_answer() {
    let t = Tx::new().await;
    // Held for 200 ms, then 504; state untouched.
    t.sim.set_faults(
        FaultConfig::none()
            .with_rule(FaultRule::new(FaultKind::Timeout { hold_ms: Some(200) }).times(1)),
    );
    let start = Instant::now();
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(conn_body("user0001")),
        )
        .await;
    assert_eq!(r.status, 504);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(t.sim.state()["credential_connections"], json!([]));
    // Never answered: the client's own timeout fires.
    t.sim.set_faults(
        FaultConfig::none()
            .with_rule(FaultRule::new(FaultKind::Timeout { hold_ms: None }).times(1)),
    );
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c
        .get(format!("{}/credential_connections", t.sim.base_url()))
        .bearer_auth("KEYtest123")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(t.sim.request_count("GET", CONNS, Some(0)), 1);
    // Once the client has given up and closed the socket, the held connection is released.
    drop(c);
    let start = Instant::now();
    while t.sim.open_connections() > 1 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "held connection not released: {}",
            t.sim.open_connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The rule is spent: the next request is answered.
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn rate_limit_bursts() {
    let t = Tx::new().await;
    // Next 2 requests get 429 (Telnyx format with headers).
    t.sim
        .set_faults(FaultConfig::none().with_rule(FaultRule::new(FaultKind::RateLimit).times(2)));
    for _ in 0..2 {
        let r = t.call(Method::GET, "/credential_connections", None).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.code(), "10011");
        assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        assert!(
            r.header("x-ratelimit-reset")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }
    assert_eq!(
        t.sim
            .call_status(Method::GET, "/credential_connections")
            .await,
        200
    );
    // A share.
    t.sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::RateLimit).probability(0.3)),
    );
    let mut limited = 0;
    for _ in 0..200 {
        if t.sim
            .call_status(Method::GET, "/credential_connections")
            .await
            == 429
        {
            limited += 1;
        }
    }
    assert!((25..=100).contains(&limited), "{limited}");

    // Vobiz: 429 envelope + Retry-After.
    let v = Vx::with(VobizConfig {
        faults: FaultConfig::none().with_rule(FaultRule::new(FaultKind::RateLimit).times(1)),
        ..VobizConfig::new(AID, TOKEN)
    })
    .await;
    let r = v.call(Method::GET, "/trunks/credentials", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json["error"]["code"], "RATE_LIMIT_EXCEEDED");
    assert!(r.header("retry-after").is_some());
    let r = v.call(Method::GET, "/trunks/credentials", None).await;
    assert_eq!(r.status, 200);
}

trait CallStatus {
    async fn call_status(&self, m: Method, path: &str) -> u16;
}

impl CallStatus for sipcred_provider_sim::RunningSim {
    async fn call_status(&self, m: Method, path: &str) -> u16 {
        client()
            .request(m, format!("{}{}", self.base_url(), path))
            .bearer_auth("KEYtest123")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn commit_then_drop_telnyx() {
    let t = Tx::new().await;
    t.sim.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route(CONNS)
                .times(1),
        ),
    );
    // GETs are out of scope.
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    let err =
        t.c.post(format!("{}/credential_connections", t.sim.base_url()))
            .bearer_auth("KEYtest123")
            .json(&conn_body("dropped1"))
            .send()
            .await
            .unwrap_err();
    // A connection-level error, not a timeout and not an HTTP status.
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.status().is_none());
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    // ...and the write was applied.
    let st = t.sim.state();
    assert_eq!(st["credential_connections"].as_array().unwrap().len(), 1);
    assert_eq!(st["credential_connections"][0]["user_name"], "dropped1");
    assert_eq!(t.sim.request_count("POST", CONNS, Some(0)), 1);
    // What the dropped request answered before its connection closed: a committed create.
    assert_eq!(t.sim.dropped_count("POST", CONNS, Some(201)), 1);
    assert_eq!(t.sim.creates("credential_connections")["c"], 1);
    // A retry sees the duplicate, as a real client would.
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(conn_body("dropped1")),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.pointer(), "/user_name");
    // Rule spent.
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(conn_body("second01")),
        )
        .await;
    assert_eq!(r.status, 201);
    // Creates are counted by identity (the connection name), refused ones not at all.
    assert_eq!(t.sim.creates("credential_connections")["c"], 2);
    // PATCH and DELETE too.
    let id = r.json["data"]["id"].as_str().unwrap().to_string();
    t.sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::CommitThenDrop).method("PATCH")),
    );
    let err =
        t.c.patch(format!("{}/credential_connections/{id}", t.sim.base_url()))
            .bearer_auth("KEYtest123")
            .json(&json!({"connection_name": "patched"}))
            .send()
            .await
            .unwrap_err();
    assert!(err.status().is_none());
    let st = t.sim.state();
    assert!(
        st["credential_connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["connection_name"] == "patched")
    );
    // The same fault via the admin API, with the JSON form.
    let r = client()
        .put(format!("{}/faults", t.sim.admin_url()))
        .json(
            &json!({"rules": [{"kind": "commit_then_drop", "method": "DELETE",
                                  "route": "/v2/credential_connections/{id}", "remaining": 1}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let err =
        t.c.delete(format!("{}/credential_connections/{id}", t.sim.base_url()))
            .bearer_auth("KEYtest123")
            .send()
            .await
            .unwrap_err();
    assert!(err.status().is_none());
    let g = t
        .call(Method::GET, &format!("/credential_connections/{id}"), None)
        .await;
    assert_eq!(g.status, 404);
    let f: Value = client()
        .get(format!("{}/faults", t.sim.admin_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["rules"][0]["remaining"], 0);
}

#[tokio::test]
async fn commit_then_drop_vobiz() {
    let v = Vx::with(VobizConfig {
        faults: FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::CommitThenDrop)
                .method("POST")
                .route("/api/v1/Account/{auth_id}/credentials")
                .times(1),
        ),
        ..VobizConfig::new(AID, TOKEN)
    })
    .await;
    let err =
        v.c.post(format!("{}/Account/{AID}/credentials", v.sim.base_url()))
            .header("X-Auth-ID", AID)
            .header("X-Auth-Token", TOKEN)
            .json(&json!({"username": "dropped", "password": "password1"}))
            .send()
            .await
            .unwrap_err();
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert!(v.sim.check_credentials("dropped", "password1"));
    let r = v.create("dropped", "password1").await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn faults_from_config_at_start_and_other_connections_survive() {
    let sim = start_telnyx(TelnyxConfig {
        faults: FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Error { status: 500 })
                .route("/v2/telephony_credentials")
                .times(1),
        ),
        ..TelnyxConfig::new("KEYtest123")
    })
    .await
    .unwrap();
    assert_eq!(
        sim.call_status(Method::GET, "/telephony_credentials").await,
        500
    );
    assert_eq!(
        sim.call_status(Method::GET, "/telephony_credentials").await,
        200
    );
    // A dropped connection doesn't disturb a kept-alive client for later requests.
    sim.set_faults(
        FaultConfig::none().with_rule(FaultRule::new(FaultKind::CommitThenDrop).times(1)),
    );
    let c = client();
    let first = c
        .get(format!("{}/credential_connections", sim.base_url()))
        .bearer_auth("KEYtest123")
        .send()
        .await;
    assert!(first.is_err());
    for _ in 0..5 {
        let r = c
            .get(format!("{}/credential_connections", sim.base_url()))
            .bearer_auth("KEYtest123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    sim.shutdown().await;
}

/// The statuses of `n` list requests, in order.
async fn statuses(t: &Tx, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(
            t.call(Method::GET, "/credential_connections", None)
                .await
                .status,
        );
    }
    out
}

#[tokio::test]
async fn a_seeded_fault_run_replays_through_the_admin_api() {
    let t = Tx::new().await;
    let faults = json!({"seed": 1234, "rules": [
        {"kind": "error", "status": 503, "probability": 0.4},
        {"kind": "rate_limit", "probability": 0.2}
    ]});
    let put = |body: Value| {
        let url = format!("{}/faults", t.sim.admin_url());
        async move { client().put(url).json(&body).send().await.unwrap() }
    };
    let r = put(faults.clone()).await;
    assert_eq!(r.status(), 200);
    let first = statuses(&t, 60).await;
    assert!(first.contains(&503) && first.contains(&429) && first.contains(&200));
    // PUT again: the sequence restarts from the seed.
    put(faults.clone()).await;
    assert_eq!(statuses(&t, 60).await, first, "same seed, same requests");
    let mut other = faults.clone();
    other["seed"] = json!(4321);
    put(other).await;
    assert_ne!(statuses(&t, 60).await, first, "another seed, other faults");

    // Without a seed the simulator picks one and reports it, so the run can be replayed.
    let r: Value = put(json!({"rules": faults["rules"]}))
        .await
        .json()
        .await
        .unwrap();
    let seed = r["seed"].as_u64().expect("the seed in use is reported");
    let got: Value = client()
        .get(format!("{}/faults", t.sim.admin_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["seed"], json!(seed));
    let unseeded = statuses(&t, 60).await;
    put(json!({"seed": seed, "rules": faults["rules"]})).await;
    assert_eq!(
        statuses(&t, 60).await,
        unseeded,
        "replayed from the reported seed"
    );
}
