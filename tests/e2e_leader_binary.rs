//! Two real operator processes with `--leader-elect` (Lease `default/sipcred-operator`,
//! distinct `POD_NAME`s), each authenticated as its own ServiceAccount so the API
//! server's audit log tells their requests apart.
//!
//! Proves: exactly one process leads (the Lease's holder); while it lives the standby
//! sends no request at all except to the Lease (so only the leader writes, to
//! Kubernetes and, since the standby runs no controller, to the providers); when the
//! leader is SIGKILLed (no release of the Lease) the standby takes over within the lease
//! duration (15 s) plus its 1 s take-over jitter, shown by a SipConnection created after
//! the kill becoming Ready; and nothing was created twice at Telnyx across the
//! hand-over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sipcred_kube_sim::KubeSimConfig;
use sipcred_operator::crd::SipConnection;
use support::{Killed, NS, World};

const CONNS: &str = "/v2/credential_connections";
const LEASE: &str = "sipcred-operator";

fn conn(name: &str, user: &str) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name, "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": user}})
}

struct Replica {
    pod: &'static str,
    user: String,
    proc: Killed,
}

/// The audit entries of `user`, as `verb resource namespace/name`.
fn requests_of(w: &World, user: &str) -> Vec<String> {
    w.audit()
        .into_iter()
        .filter(|e| e.user == user)
        .map(|e| format!("{} {} {}/{}", e.verb, e.resource, e.namespace, e.name))
        .collect()
}

async fn holder(w: &World) -> Option<String> {
    Api::<Lease>::namespaced(w.client.clone(), &w.ns)
        .get_opt(LEASE)
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

#[tokio::test]
async fn only_the_leader_writes_and_the_standby_takes_over_after_a_sigkill() {
    let w = World::start_exclusive(KubeSimConfig {
        rbac: true,
        ..Default::default()
    })
    .await;
    // Both replicas may do anything: this test is about who acts, not what is allowed.
    let pp = PostParams::default();
    Api::<ClusterRole>::all(w.client.clone())
        .create(
            &pp,
            &serde_json::from_value(json!({"metadata": {"name": "e2e-all"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let mut replicas = vec![];
    for pod in ["operator-a", "operator-b"] {
        Api::<ClusterRoleBinding>::all(w.client.clone())
            .create(&pp, &serde_json::from_value(json!({"metadata": {"name": pod},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-all"},
                "subjects": [{"kind": "ServiceAccount", "name": pod, "namespace": w.ns}]})).unwrap())
            .await
            .unwrap();
        let kc = w.dir.path().join(format!("kubeconfig.{pod}"));
        w.write_kubeconfig_for_service_account(&kc, &w.ns, pod)
            .await;
        let proc = Killed(w.spawn_binary_with(
            &kc,
            &["--leader-elect"],
            &[("POD_NAMESPACE", &w.ns), ("POD_NAME", pod)],
        ));
        replicas.push(Replica {
            pod,
            user: format!("system:serviceaccount:{}:{pod}", w.ns),
            proc,
        });
    }

    for i in 0..3 {
        w.apply(conn(&format!("c{i}"), &format!("leaduser{i}")))
            .await;
    }
    for i in 0..3 {
        w.wait_ready::<SipConnection>(&format!("c{i}")).await;
    }
    let first = holder(&w).await.unwrap();
    let leader_ix = replicas
        .iter()
        .position(|r| first.starts_with(&format!("{}-", r.pod)))
        .unwrap_or_else(|| panic!("the Lease holder {first:?} is neither replica"));
    let standby_ix = 1 - leader_ix;
    println!(
        "leader: {} (holder {first}); standby: {}",
        replicas[leader_ix].pod, replicas[standby_ix].pod
    );

    // The standby has touched nothing but the Lease; the leader did the work.
    let standby_requests = requests_of(&w, &replicas[standby_ix].user);
    let not_lease: Vec<&String> = standby_requests
        .iter()
        .filter(|r| !r.contains(" leases "))
        .collect();
    assert!(
        not_lease.is_empty(),
        "the standby sent requests other than the Lease's: {not_lease:?}"
    );
    assert!(
        !standby_requests.is_empty(),
        "the standby competes for the Lease"
    );
    let leader_writes = requests_of(&w, &replicas[leader_ix].user)
        .into_iter()
        .filter(|r| r.starts_with("patch sipconnections"))
        .count();
    assert!(leader_writes > 0, "the leader wrote the SipConnections");
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 3);

    // SIGKILL the leader: no release, the standby must wait for the lease to expire.
    replicas[leader_ix].proc.kill();
    let killed_at = Instant::now();
    w.apply(conn("after", "leaduser9")).await;
    w.until("the standby to take over and reconcile", 25, || async {
        match w.ready::<SipConnection>("after").await {
            Some((s, _, _)) if s == "True" => Some(()),
            _ => None,
        }
    })
    .await;
    let took = killed_at.elapsed();
    println!("take-over and first reconcile {took:?} after the SIGKILL");
    assert!(
        took < Duration::from_secs(15 + 1 + 3),
        "take-over within the lease duration (15 s) + 1 s jitter (+3 s slack): {took:?}"
    );
    let second = holder(&w).await.unwrap();
    assert!(
        second.starts_with(&format!("{}-", replicas[standby_ix].pod)),
        "the standby holds the Lease now: {second}"
    );
    assert!(!replicas[standby_ix].proc.exited(), "the new leader runs");

    // Nothing twice across the hand-over.
    let c = World::provider_objects(&w.telnyx, "credential_connections");
    let names: BTreeSet<&str> = c
        .iter()
        .map(|x| x["connection_name"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = ["c0", "c1", "c2", "after"]
        .iter()
        .map(|n| format!("{}-{n}", w.ns))
        .collect();
    assert_eq!(names, expected.iter().map(String::as_str).collect());
    assert_eq!(c.len(), 4);
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 4);
    let s = w.secret("after").await.unwrap();
    assert!(w.telnyx.check_credentials("leaduser9", &s["password"]));

    // Another replica's claim lands in the Lease (what a standby that read it as
    // expired does): the leader stops its work and exits with status 3, a hand-over
    // that supervisors and the chaos run tell from a crash.
    Api::<Lease>::namespaced(w.client.clone(), &w.ns)
        .patch(
            LEASE,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"holderIdentity": "intruder"}})),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(code) = replicas[standby_ix].proc.exit_code() {
            break code;
        }
        assert!(
            Instant::now() < deadline,
            "the leader kept working under another holder"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(code, Some(3), "exit status 3: leadership lost");
}
