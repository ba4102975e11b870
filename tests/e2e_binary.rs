//! The real binary: `sipcred-operator run` against the in-memory API server, scraped
//! like Prometheus and probed like the kubelet; and no secret in its logs, Events,
//! status or metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read;
use std::process::{Command, Stdio};

use k8s_openapi::api::events::v1::Event;
use serde_json::json;
use sipcred_operator::crd::{SipConnection, TrunkCredential};
use support::{NS, World};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn run_serves_metrics_and_health_and_never_leaks_a_secret() {
    let w = World::start().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args([
            "run",
            "--metrics-addr",
            &addr,
            "--health-addr",
            &addr,
            "--resync-secs",
            "2",
            "--log-level",
            "info,sipcred_operator=debug",
            "--log-format",
            "json",
            "--allowed-provider-hosts",
            support::LOOPBACK,
        ])
        .env("KUBECONFIG", &w.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the logs as they come: a full pipe would block the operator.
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "m1", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "metrics01"}})).await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "m2", "namespace": NS},
        "spec": {"providerRef": {"name": "vobiz"}, "username": "metrics02"}})).await;
    w.wait_ready::<SipConnection>("m1").await;
    // A failing object too (a username m1 already holds), so error paths log and emit Events.
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "m3", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "metrics01"}})).await;
    w.wait_ready::<TrunkCredential>("m2").await;
    w.failed::<SipConnection>("m3").await;

    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        let http = http.clone();
        async move { http.get(url).send().await.ok() }
    };
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let metrics = w
        .until("managed-resources gauge", 30, || async {
            let body = get("/metrics").await?.text().await.ok()?;
            // The gauges follow the watch caches: wait until every kind's has caught up.
            [
                r#"sipcred_managed_resources{kind="SipConnection",ready="True"} 1"#,
                r#"sipcred_managed_resources{kind="TrunkCredential",ready="True"} 1"#,
                r#"sipcred_managed_resources{kind="SipConnection",ready="False"} 1"#,
            ]
            .iter()
            .all(|g| body.contains(g))
            .then_some(body)
        })
        .await;
    for needle in [
        r#"sipcred_reconcile_total{kind="SipConnection",result="success"}"#,
        r#"sipcred_reconcile_total{kind="SipConnection",result="Conflict"}"#,
        r#"sipcred_provider_requests_total{provider="telnyx",operation="create_credential_connection",code="201"}"#,
        r#"sipcred_provider_requests_total{provider="vobiz",operation="create_credential",code="201"}"#,
        "sipcred_reconcile_duration_seconds_bucket",
        "sipcred_provider_request_duration_seconds_bucket",
        r#"sipcred_managed_resources{kind="TrunkCredential",ready="True"} 1"#,
        r#"sipcred_managed_resources{kind="SipConnection",ready="False"} 1"#,
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }

    let secrets: Vec<String> = [
        w.secret("m1").await.unwrap()["password"].clone(),
        w.secret("m2").await.unwrap()["password"].clone(),
    ]
    .into();
    let events: Vec<Event> = kube::Api::<Event>::namespaced(w.client.clone(), &w.ns)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    assert!(!events.is_empty(), "the operator records Events");
    let events = serde_json::to_string(&events).unwrap();
    let statuses = serde_json::to_string(
        &w.api::<SipConnection>()
            .list(&Default::default())
            .await
            .unwrap()
            .items,
    )
    .unwrap()
        + &serde_json::to_string(
            &w.api::<TrunkCredential>()
                .list(&Default::default())
                .await
                .unwrap()
                .items,
        )
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = logs.join().unwrap();
    assert!(logs.len() > 100, "debug logs were written");
    for (place, text) in [
        ("logs", &logs),
        ("Events", &events),
        ("status", &statuses),
        ("metrics", &metrics),
    ] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a password appears in {place}");
        }
        for key in [support::TELNYX_KEY, support::VOBIZ_TOKEN] {
            assert!(!text.contains(key), "a provider key appears in {place}");
        }
    }
}
