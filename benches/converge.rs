//! Convergence benchmark: N SipConnections against the in-memory API server and the
//! Telnyx simulator with a provider rate limit. Prints time to all-Ready against the
//! rate-limit bound, provider calls per object, API writes in steady state, and RSS.
//!
//!     cargo bench --bench converge -- 1000 100
//!
//! Arguments: object count (default 500), simulator rate limit in requests/s (default 100).

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde_json::json;
use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::crd::{self, SipConnection, SipProvider};
use sipcred_provider_sim::{RateLimit, TelnyxConfig};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and a benchmark has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("converge: run with `cargo bench --bench converge -- OBJECTS RPS`");
        return Ok(());
    }
    // Only the numbers are ours.
    let nums: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = nums.first().map_or(500, |&v| v as usize);
    let rps = nums.get(1).map_or(100, |&v| v as u32);
    let kube = sipcred_kube_sim::start(Default::default()).await?;
    let mut tcfg = TelnyxConfig::new("KEYBENCH");
    tcfg.rate_limit = RateLimit::TokenBucket {
        rps: f64::from(rps),
        burst: rps,
    };
    let telnyx = sipcred_provider_sim::start_telnyx(tcfg).await?;
    let client = kube.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for c in crd::all() {
        crds.create(&PostParams::default(), &c).await?;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "default");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "key"}, "stringData": {"apiKey": "KEYBENCH"}}),
            )?,
        )
        .await?;
    let providers: Api<SipProvider> = Api::namespaced(client.clone(), "default");
    providers
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "telnyx"},
            "spec": {"telnyx": {"apiKeySecretRef": {"name": "key"}, "baseURL": telnyx.base_url()}, "rateLimit": {"requestsPerSecond": rps, "burst": rps}}}))?)
        .await?;
    let conns: Api<SipConnection> = Api::namespaced(client.clone(), "default");
    for i in 0..n {
        let obj = json!({"metadata": {"name": format!("c{i}")}, "spec": {"providerRef": {"name": "telnyx"}, "userName": format!("bench{i:06}")}});
        conns
            .create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    }
    let resync = Duration::from_secs(20);
    let ctx = Ctx::new(
        client.clone(),
        Settings {
            resync,
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
            concurrency: 16,
            ..Default::default()
        },
    ));
    loop {
        let ready = conns
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
            .count();
        if ready == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    let posts = telnyx.request_count("POST", "/v2/credential_connections", None);
    let total = telnyx.requests()["total"].as_u64().unwrap_or(0);
    // Creates need a lookup (list by name) and a POST each: the bound is 2 calls per
    // object at the provider's rate.
    let bound = Duration::from_secs_f64(2.0 * n as f64 / f64::from(rps));
    println!("objects                      {n}");
    println!("provider rate limit          {rps} req/s");
    println!("time to all Ready            {:.2} s", took.as_secs_f64());
    println!(
        "rate-limit bound (2 calls)   {:.2} s  (ratio {:.2})",
        bound.as_secs_f64(),
        took.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "provider creates per object  {:.3}",
        posts as f64 / n as f64
    );
    println!(
        "provider calls per object    {:.2}",
        total as f64 / n as f64
    );
    // Steady state: one full resync period with nothing changing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rv0 = kube.resource_version();
    let calls0 = telnyx.requests()["total"].as_u64().unwrap_or(0);
    tokio::time::sleep(resync + Duration::from_secs(5)).await;
    let rv1 = kube.resource_version();
    let calls1 = telnyx.requests()["total"].as_u64().unwrap_or(0);
    println!(
        "steady-state API writes      {} over {} s",
        rv1 - rv0,
        (resync + Duration::from_secs(5)).as_secs()
    );
    println!(
        "steady-state provider reads  {} over one resync ({:.2} per object)",
        calls1 - calls0,
        (calls1 - calls0) as f64 / n as f64
    );
    println!("RSS (operator + simulators)  {:.1} MiB", rss_mib());
    Ok(())
}
