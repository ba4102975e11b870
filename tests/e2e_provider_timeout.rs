//! `spec.timeout` of a provider account: requests slower than it are abandoned, while
//! an account without it waits the default; changing it takes effect without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use serde_json::json;
use sipcred_operator::crd::SipProvider;
use sipcred_provider_sim::{FaultConfig, Latency};
use support::hygiene::assert_readable;
use support::{NS, World};

#[tokio::test]
async fn requests_slower_than_the_account_timeout_time_out() {
    let mut w = World::start().await;
    // Every Telnyx request takes 2 s: above the 1 s account below, well within the
    // default (5 s in this world, 30 s in production).
    w.telnyx
        .set_faults(FaultConfig::none().with_latency(Latency::Fixed { ms: 2000 }));
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipProvider",
        "metadata": {"name": "impatient", "namespace": NS},
        "spec": {"telnyx": {"apiKeySecretRef": {"name": "telnyx-key"}, "baseURL": w.telnyx.base_url()},
                 "timeout": "1s"}}))
        .await;
    w.start_operator();

    w.wait_ready::<SipProvider>("telnyx").await;
    let (_, reason, message) = w
        .until("impatient to fail", 60, || async {
            w.ready::<SipProvider>("impatient")
                .await
                .filter(|(status, _, _)| status == "False")
        })
        .await;
    assert!(
        message.contains("timed out"),
        "the condition says the request timed out: {reason}: {message}"
    );
    assert_readable("SipProvider impatient Ready", &message);

    // A longer timeout is picked up by the next check: the account client is rebuilt.
    w.api::<SipProvider>()
        .patch(
            "impatient",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"timeout": "4s"}})),
        )
        .await
        .unwrap();
    w.wait_ready::<SipProvider>("impatient").await;
}
