use std::time::Duration;

use kube_lease_manager::LeaseManagerBuilder;

use crate::common::*;

#[tokio::test]
async fn kube_lease_manager_elects_one_leader_and_hands_over() {
    let srv = Server::start().await;
    let a = LeaseManagerBuilder::new(srv.client(), "sipcred-leader")
        .with_namespace(srv.ns())
        .with_identity("pod-a")
        .with_duration(3)
        .with_grace(1)
        .build()
        .await
        .expect("manager a");
    let b = LeaseManagerBuilder::new(srv.client(), "sipcred-leader")
        .with_namespace(srv.ns())
        .with_identity("pod-b")
        .with_duration(3)
        .with_grace(1)
        .build()
        .await
        .expect("manager b");
    let a_leads = tokio::time::timeout(Duration::from_secs(10), a.changed())
        .await
        .expect("a in time")
        .expect("a");
    assert!(a_leads, "first manager acquires the lease");
    let b_leads = tokio::time::timeout(Duration::from_secs(2), b.changed()).await;
    assert!(
        !matches!(b_leads, Ok(Ok(true))),
        "second manager must not lead while the first holds the lease"
    );
    a.release().await.expect("release");
    let b_leads = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if b.changed().await.expect("b") {
                return true;
            }
        }
    })
    .await
    .expect("b takes over in time");
    assert!(b_leads);
    srv.shutdown().await;
}
