//! `run --selector` and `--namespace` through the real binary: objects outside the
//! scope are never touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use sipcred_operator::crd::SipConnection;
use support::{NS, World};

#[tokio::test]
async fn selector_and_namespace_limit_what_the_operator_manages() {
    let w = World::start().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
            "--namespace",
            &w.ns,
            "--selector",
            "team=voice",
            "--allowed-provider-hosts",
            support::LOOPBACK,
        ])
        .env("KUBECONFIG", &w.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for (name, team) in [("ours", "voice"), ("theirs", "video")] {
        w.apply(
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
            "metadata": {"name": name, "namespace": NS, "labels": {"team": team}},
            "spec": {"providerRef": {"name": "telnyx"}, "userName": format!("{name}0001")}}),
        )
        .await;
    }
    w.wait_ready::<SipConnection>("ours").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let theirs = w.api::<SipConnection>().get("theirs").await.unwrap();
    assert!(
        theirs.status.is_none(),
        "an object outside the selector gets no status"
    );
    assert!(theirs.metadata.finalizers.is_none(), "nor a finalizer");
    assert_eq!(
        World::provider_objects(&w.telnyx, "credential_connections").len(),
        1
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
