//! Fairness benchmark: one ClusterSipProvider shared by two namespaces. Namespace A
//! has N SipConnections pending when namespace B creates 5; prints how long B's 5
//! take to become Ready, next to how long they would wait queued behind A's backlog.
//!
//!     cargo bench --bench fairness -- 5000 50
//!
//! Arguments: objects in namespace A (default 5000), the account's client-side rate
//! limit in requests/s (default 50; the simulator allows twice that).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde_json::json;
use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::crd::{self, ClusterSipProvider, SipConnection};
use sipcred_provider_sim::{RateLimit, TelnyxConfig};

const A: &str = "tenant-a";
const B: &str = "tenant-b";

async fn ready(api: &Api<SipConnection>) -> Result<usize, kube::Error> {
    Ok(api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter(|c| {
            c.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        })
        .count())
}

async fn connections(
    api: &Api<SipConnection>,
    prefix: &str,
    n: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    for i in 0..n {
        let obj = json!({"metadata": {"name": format!("{prefix}{i}")},
            "spec": {"providerRef": {"kind": "ClusterSipProvider", "name": "shared"}, "userName": format!("{prefix}{i:06}")}});
        api.create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and a benchmark has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("fairness: run with `cargo bench --bench fairness -- OBJECTS_IN_A RPS`");
        return Ok(());
    }
    let nums: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = nums.first().map_or(5000, |&v| v as usize);
    let rps = nums.get(1).map_or(50, |&v| v as u32);
    let kube = sipcred_kube_sim::start(Default::default()).await?;
    let mut tcfg = TelnyxConfig::new("KEYBENCH");
    tcfg.rate_limit = RateLimit::TokenBucket {
        rps: f64::from(rps * 2),
        burst: rps * 2,
    };
    let telnyx = sipcred_provider_sim::start_telnyx(tcfg).await?;
    let client = kube.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for c in crd::all() {
        crds.create(&PostParams::default(), &c).await?;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pp = PostParams::default();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in [A, B] {
        namespaces
            .create(
                &pp,
                &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
            )
            .await?;
    }
    Api::<Secret>::namespaced(client.clone(), "default")
        .create(
            &pp,
            &serde_json::from_value(
                json!({"metadata": {"name": "key"}, "stringData": {"apiKey": "KEYBENCH"}}),
            )?,
        )
        .await?;
    Api::<ClusterSipProvider>::all(client.clone())
        .create(&pp, &serde_json::from_value(json!({"metadata": {"name": "shared"},
            "spec": {"telnyx": {"apiKeySecretRef": {"name": "key", "namespace": "default"}, "baseURL": telnyx.base_url()},
                     "rateLimit": {"requestsPerSecond": rps, "burst": rps}}}))?)
        .await?;
    let (conns_a, conns_b) = (
        Api::<SipConnection>::namespaced(client.clone(), A),
        Api::<SipConnection>::namespaced(client.clone(), B),
    );
    let created = Instant::now();
    connections(&conns_a, "a", n).await?;
    println!(
        "created {n} objects in {A} in {:.1} s",
        created.elapsed().as_secs_f64()
    );
    let ctx = Ctx::new(
        client.clone(),
        Settings {
            resync: Duration::from_secs(3600),
            allowed_provider_hosts: vec!["127.0.0.1".into()],
            ..Settings::default()
        },
        Default::default(),
        Default::default(),
    );
    let started = Instant::now();
    tokio::spawn(runner::run(
        ctx,
        runner::Scope {
            concurrency: 4,
            ..Default::default()
        },
    ));
    // Let A's backlog get going: its reconciles hold the account's slots and tokens.
    while ready(&conns_a).await? < 50.min(n) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a_before = ready(&conns_a).await?;
    let a_rate = a_before as f64 / started.elapsed().as_secs_f64();
    let t0 = Instant::now();
    connections(&conns_b, "b", 5).await?;
    loop {
        if ready(&conns_b).await? == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = t0.elapsed();
    let a_after = ready(&conns_a).await?;
    let pending = n - a_before;
    println!("account rate limit                    {rps} req/s, 4 reconcile slots");
    println!("{A} pending when {B} created 5       {pending}");
    println!(
        "{B}: time to Ready for 5 objects     {:.2} s",
        took.as_secs_f64()
    );
    println!(
        "{A} objects Ready meanwhile           {}",
        a_after - a_before
    );
    println!("{A} throughput before                 {a_rate:.1} objects/s");
    println!(
        "queued behind {A} (first come, first served) they would wait about {:.0} s",
        pending as f64 / a_rate.max(0.001)
    );
    Ok(())
}
