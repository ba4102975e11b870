//! The real operator binary SIGKILLed between the provider's create and recording the
//! provider's ID on the Kubernetes object.
//!
//! Windows targeted:
//!
//! - `*_killed_after_the_provider_create_*` (SipConnection at Telnyx, TrunkCredential at
//!   Vobiz, TelephonyCredential at Telnyx): the window between the provider committing
//!   the create and the operator writing the ID (`sipcred.io/external-name`) onto the
//!   object. The simulator commits the POST and drops the response (CommitThenDrop), so
//!   the first process can never learn the ID from the response; it is SIGKILLed as
//!   soon as the simulator has counted the POST. Lookups are slowed to 1 s meanwhile,
//!   so even a reconcile that runs again at once cannot record the ID before the kill:
//!   the kill always lands inside the window, and the test checks that it did (at the
//!   kill the object carries the create-pending marker and no ID). A new
//!   process must then find the object by its deterministic identity and adopt it:
//!   one provider object, one POST, a Secret the provider accepts, the status ID equal
//!   to the provider's.
//! - `random_kills_*`: 10 SipConnections and 3 to 5 SIGKILLs at random moments (50 to
//!   400 ms apart, with 50 to 150 ms of latency on the provider's reads so the creates
//!   spread over several processes): whatever step each object was in (before the marker, between the marker and
//!   the POST, inside the POST, between the POST and the ID, while writing the Secret
//!   or the status), a final process converges to exactly 10 provider objects created
//!   by exactly 10 POSTs (none attempted twice), and every Secret works. The seed is printed;
//!   `E2E_SEED=N` replays the same kill schedule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kube::Resource;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sipcred_operator::crd::{SipConnection, TelephonyCredential, TrunkCredential};
use sipcred_provider_sim::{FaultConfig, FaultKind, FaultRule, Latency, RunningSim};
use support::{Killed, NS, World};

const CONNS: &str = "/v2/credential_connections";
const TEL_CREDS: &str = "/v2/telephony_credentials";
const VOBIZ_CREDS: &str = "/api/v1/Account/{auth_id}/credentials";
const VOBIZ_LOOKUP: &str = "/api/v1/Account/{auth_id}/trunks/credentials";
const CREATE_PENDING: &str = "sipcred.io/external-create-pending";
const EXTERNAL_NAME: &str = "sipcred.io/external-name";

fn conn(name: &str, user: &str) -> Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name, "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": user}})
}

/// The next create on `post_route` is committed and its response dropped; lookups on
/// `lookup_route` take 1 s, so that the operator cannot learn the ID within 1 s of the
/// create even if a reconcile runs again at once (a trigger that arrived meanwhile).
fn drop_next_create(sim: &RunningSim, post_route: &str, lookup_route: &str) {
    sim.set_faults(
        FaultConfig::none()
            .with_rule(
                FaultRule::new(FaultKind::Latency {
                    latency: Latency::Fixed { ms: 1000 },
                })
                .method("GET")
                .route(lookup_route),
            )
            .with_rule(
                FaultRule::new(FaultKind::CommitThenDrop)
                    .method("POST")
                    .route(post_route)
                    .times(1),
            ),
    );
}

/// Starts the binary, SIGKILLs it as soon as `sim` has counted a POST on `route`,
/// clears the faults, and checks that the kill landed between the provider's create
/// and recording the ID on object `K/name`.
async fn kill_right_after_the_create<K>(w: &World, sim: &RunningSim, route: &str, name: &str)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut first = Killed(w.spawn_binary());
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.request_count("POST", route, None) == 0 {
        assert!(Instant::now() < deadline, "no POST {route} within 30 s");
        assert!(!first.exited(), "the operator exited before the create");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    sim.set_faults(FaultConfig::none());
    let obj = w.api::<K>().get(name).await.unwrap();
    let ann = obj.meta().annotations.clone().unwrap_or_default();
    assert!(
        ann.contains_key(CREATE_PENDING) && !ann.contains_key(EXTERNAL_NAME),
        "the kill must land after the create and before the ID is recorded: {ann:?}"
    );
}

#[tokio::test]
async fn sip_connection_killed_after_the_provider_create_is_adopted_not_created_twice() {
    let w = World::start().await;
    w.apply(conn("crash", "crash001")).await;
    drop_next_create(&w.telnyx, CONNS, CONNS);
    kill_right_after_the_create::<SipConnection>(&w, &w.telnyx, CONNS, "crash").await;

    let _second = Killed(w.spawn_binary());
    let obj: SipConnection = w.wait_ready("crash").await;
    let c = World::provider_objects(&w.telnyx, "credential_connections");
    assert_eq!(c.len(), 1, "one provider object: {c:?}");
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 1, "one create");
    let st = obj.status.unwrap();
    assert_eq!(st.connection_id.as_deref(), c[0]["id"].as_str());
    assert_eq!(c[0]["connection_name"], format!("{}-crash", w.ns));
    let s = w.secret("crash").await.unwrap();
    assert_eq!(s["username"], "crash001");
    assert_eq!(s["id"], c[0]["id"].as_str().unwrap());
    assert!(w.telnyx.check_credentials(&s["username"], &s["password"]));
}

#[tokio::test]
async fn trunk_credential_killed_after_the_provider_create_is_adopted_not_created_twice() {
    let w = World::start().await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "pbx", "namespace": NS},
        "spec": {"providerRef": {"name": "vobiz"}, "username": "crashpbx01"}}))
        .await;
    drop_next_create(&w.vobiz, VOBIZ_CREDS, VOBIZ_LOOKUP);
    kill_right_after_the_create::<TrunkCredential>(&w, &w.vobiz, VOBIZ_CREDS, "pbx").await;

    let _second = Killed(w.spawn_binary());
    let obj: TrunkCredential = w.wait_ready("pbx").await;
    let c = World::provider_objects(&w.vobiz, "credentials");
    assert_eq!(c.len(), 1, "one provider object: {c:?}");
    assert_eq!(
        w.vobiz.request_count("POST", VOBIZ_CREDS, None),
        1,
        "one create"
    );
    assert_eq!(
        obj.status.unwrap().credential_id.as_deref(),
        c[0]["id"].as_str()
    );
    let s = w.secret("pbx").await.unwrap();
    assert_eq!(s["username"], "crashpbx01");
    assert!(w.vobiz.check_credentials(&s["username"], &s["password"]));
}

#[tokio::test]
async fn telephony_credential_killed_after_the_provider_create_is_adopted_not_created_twice() {
    let w = World::start().await;
    w.apply(conn("host", "host0001")).await;
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": "agent", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "host"}, "tag": "agents"}}))
        .await;
    drop_next_create(&w.telnyx, TEL_CREDS, TEL_CREDS);
    kill_right_after_the_create::<TelephonyCredential>(&w, &w.telnyx, TEL_CREDS, "agent").await;

    let _second = Killed(w.spawn_binary());
    let obj: TelephonyCredential = w.wait_ready("agent").await;
    let conns = World::provider_objects(&w.telnyx, "credential_connections");
    let creds = World::provider_objects(&w.telnyx, "telephony_credentials");
    assert_eq!(conns.len(), 1, "{conns:?}");
    assert_eq!(creds.len(), 1, "one provider object: {creds:?}");
    assert_eq!(w.telnyx.request_count("POST", CONNS, None), 1);
    assert_eq!(
        w.telnyx.request_count("POST", TEL_CREDS, None),
        1,
        "one create"
    );
    let st = obj.status.unwrap();
    assert_eq!(st.credential_id.as_deref(), creds[0]["id"].as_str());
    assert_eq!(st.connection_id.as_deref(), conns[0]["id"].as_str());
    assert_eq!(creds[0]["connection_id"], conns[0]["id"]);
    let s = w.secret("agent").await.unwrap();
    assert_eq!(s["username"], creds[0]["sip_username"].as_str().unwrap());
    assert!(w.telnyx.check_credentials(&s["username"], &s["password"]));
}

#[tokio::test]
async fn random_kills_while_ten_connections_are_created_converge_without_duplicates() {
    const N: usize = 10;
    let seed = std::env::var("E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("E2E_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let w = World::start().await;
    // Slow reads stretch the create phase over several processes. POSTs stay
    // instantaneous: a POST still sleeping in the simulator when its client dies could
    // commit after the next process's lookup, which no client can defend against.
    w.telnyx.set_faults(
        FaultConfig::none().with_rule(
            FaultRule::new(FaultKind::Latency {
                latency: Latency::Uniform {
                    min_ms: 50,
                    max_ms: 150,
                },
            })
            .method("GET"),
        ),
    );

    let mut op = Killed(w.spawn_binary());
    for i in 0..N {
        w.apply(conn(&format!("rk-{i}"), &format!("rkuser{i:02}")))
            .await;
    }
    let kills = rng.random_range(3..=5);
    for k in 1..=kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..=400))).await;
        op.kill();
        let mut pending = 0;
        let mut recorded = 0;
        for i in 0..N {
            let o = w
                .api::<SipConnection>()
                .get(&format!("rk-{i}"))
                .await
                .unwrap();
            let ann = o.metadata.annotations.unwrap_or_default();
            pending += usize::from(ann.contains_key(CREATE_PENDING));
            recorded += usize::from(ann.contains_key(EXTERNAL_NAME));
        }
        println!(
            "kill {k}/{kills}: {} provider objects, {pending} objects create-pending, {recorded} with an ID",
            World::provider_objects(&w.telnyx, "credential_connections").len()
        );
        op = Killed(w.spawn_binary());
    }
    w.telnyx.set_faults(FaultConfig::none());

    for i in 0..N {
        w.wait_ready::<SipConnection>(&format!("rk-{i}")).await;
    }
    let c = World::provider_objects(&w.telnyx, "credential_connections");
    assert_eq!(c.len(), N, "one provider object per SipConnection: {c:?}");
    let names: BTreeSet<String> = c
        .iter()
        .map(|x| x["connection_name"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = (0..N).map(|i| format!("{}-rk-{i}", w.ns)).collect();
    assert_eq!(names, expected, "no duplicates");
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, Some(201)),
        N as u64,
        "exactly one successful create per object"
    );
    assert_eq!(
        w.telnyx.request_count("POST", CONNS, None),
        N as u64,
        "no create was even attempted twice: {}",
        w.telnyx.requests()
    );
    for i in 0..N {
        let name = format!("rk-{i}");
        let obj = w.api::<SipConnection>().get(&name).await.unwrap();
        let id = obj.status.unwrap().connection_id.unwrap();
        let at_provider = c.iter().find(|x| x["id"] == id.as_str()).unwrap();
        assert_eq!(at_provider["connection_name"], format!("{}-{name}", w.ns));
        let s = w.secret(&name).await.unwrap();
        assert_eq!(s["username"], format!("rkuser{i:02}"));
        assert_eq!(s["id"], id);
        assert!(
            w.telnyx.check_credentials(&s["username"], &s["password"]),
            "{name}: the Secret's password is the one Telnyx holds"
        );
    }
    drop(op);
}
