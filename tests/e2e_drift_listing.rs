//! Drift checks that cost one paged LIST per account and resync: 1,000 SipConnections
//! are checked with at most
//! ceil(N/250) list pages per resync plus one read per object that changed; an
//! out-of-band edit is reverted and an out-of-band delete is confirmed by GET and
//! recreated. The figures are printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use kube::api::ListParams;
use serde_json::json;
use sipcred_operator::crd::SipConnection;
use support::{NS, World};

const CONNS: &str = "/v2/credential_connections";
const CONN: &str = "/v2/credential_connections/{id}";

#[tokio::test]
async fn a_thousand_connections_are_drift_checked_with_one_paged_list_per_resync() {
    let mut w = World::start().await;
    let n: usize = 1000;
    let resync = Duration::from_secs(5);
    for i in 0..n {
        w.apply(
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
            "metadata": {"name": format!("d{i:04}"), "namespace": NS},
            "spec": {"providerRef": {"name": "telnyx"}, "userName": format!("dr{i:04}")}}),
        )
        .await;
    }
    let started = Instant::now();
    w.start_operator_with(resync, 16);
    w.until(&format!("{n} Ready"), 600, || async {
        let list = w
            .api::<SipConnection>()
            .list(&ListParams::default())
            .await
            .ok()?;
        let ready = list
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
        (ready == n).then_some(())
    })
    .await;
    println!(
        "{n} SipConnections Ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Let every object pass one resync, then count from a clean slate.
    tokio::time::sleep(resync).await;
    w.telnyx.reset_request_counts();
    let window = Instant::now();

    let edited = w.secret("d0007").await.unwrap();
    let deleted = w.secret("d0008").await.unwrap();
    w.telnyx
        .oob_patch(
            "credential_connections",
            &edited["id"],
            json!({"password": "Tamp3red-In-Portal"}),
        )
        .unwrap();
    assert!(
        w.telnyx
            .oob_delete("credential_connections", &deleted["id"])
    );
    w.until("the edit reverted and the delete recreated", 60, || async {
        let e = w
            .telnyx
            .check_credentials(&edited["username"], &edited["password"]);
        let d = w.secret("d0008").await.unwrap();
        (e && d["id"] != deleted["id"]
            && w.telnyx.check_credentials(&d["username"], &d["password"]))
        .then_some(())
    })
    .await;
    // Three more resyncs of steady state.
    tokio::time::sleep(resync * 3).await;
    let elapsed = window.elapsed();

    let lists = w.telnyx.request_count("GET", CONNS, None);
    let gets = w.telnyx.request_count("GET", CONN, None);
    let patches = w.telnyx.request_count("PATCH", CONN, None);
    let posts = w.telnyx.request_count("POST", CONNS, None);
    let pages = n.div_ceil(250) as u64;
    let resyncs = elapsed.as_secs_f64() / resync.as_secs_f64();
    println!(
        "{n} objects, {:.1} s = {resyncs:.1} resyncs: {lists} LIST requests ({:.1} per resync; {pages} pages per listing), {gets} GETs by ID, {patches} PATCH, {posts} POST",
        elapsed.as_secs_f64(),
        lists as f64 / resyncs
    );
    assert_eq!(
        patches, 1,
        "the out-of-band edit reverted, nothing else written"
    );
    assert_eq!(posts, 1, "the out-of-band delete recreated once");
    assert!(
        gets <= 2,
        "only the deleted object is read by ID (to confirm it is gone): {gets}"
    );
    // One listing per resync (plus one in progress at each end), and the one lookup
    // by name that precedes the recreate.
    let budget = (resyncs.ceil() as u64 + 2) * pages + 2;
    assert!(
        lists <= budget,
        "{lists} LIST requests in {resyncs:.1} resyncs exceed {budget} (ceil(N/250) per resync)"
    );
    assert!(
        lists + gets < n as u64 / 10,
        "reads are a small fraction of the objects: {lists} + {gets} for {n}"
    );
}
