#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The HTTP endpoints over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use sipcred_operator::metrics::Metrics;
use sipcred_operator::server::{Health, health_router, metrics_router, serve_all, serve_router};
use tokio::sync::oneshot;

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("server stops on shutdown")
            .unwrap()
            .unwrap();
    }
}

async fn start(router: axum::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_router(listener, router, async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        stop: Some(tx),
        task,
    }
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Option<String>, String) {
    let resp = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn metrics_endpoint_serves_openmetrics() {
    let metrics = Metrics::new();
    metrics.reconcile("SipConnection", "success", Duration::from_millis(5));
    let srv = start(metrics_router(metrics.clone())).await;

    let (status, ct, body) = get(srv.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        ct.as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(body.contains(r#"sipcred_reconcile_total{kind="SipConnection",result="success"} 1"#));
    assert!(body.trim_end().ends_with("# EOF"));

    // Later recordings show on the next scrape.
    metrics.set_leader(true);
    let (_, _, body) = get(srv.addr, "/metrics").await;
    assert!(body.contains("sipcred_leader 1"));

    let (status, _, _) = get(srv.addr, "/healthz").await;
    assert_eq!(status, 404, "health routes are not on the metrics router");
    srv.shutdown().await;
}

#[tokio::test]
async fn readyz_is_503_until_ready() {
    let health = Health::new(Duration::from_secs(60));
    let srv = start(health_router(health.clone())).await;

    assert_eq!(get(srv.addr, "/readyz").await.0, 503);
    health.set_ready(true);
    let (status, _, body) = get(srv.addr, "/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    health.set_ready(false);
    assert_eq!(get(srv.addr, "/readyz").await.0, 503);
    srv.shutdown().await;
}

#[tokio::test]
async fn healthz_fails_when_heartbeats_stop() {
    let health = Health::new(Duration::from_millis(300));
    let srv = start(health_router(health.clone())).await;

    let (status, _, body) = get(srv.addr, "/healthz").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok"),
        "live before any controller runs"
    );

    health.heartbeat();
    assert_eq!(get(srv.addr, "/healthz").await.0, 200);

    tokio::time::sleep(Duration::from_millis(450)).await;
    let (status, _, body) = get(srv.addr, "/healthz").await;
    assert_eq!(status, 500, "no heartbeat for longer than the window");
    assert!(body.contains("no controller progress"), "{body}");

    health.heartbeat();
    assert_eq!(
        get(srv.addr, "/healthz").await.0,
        200,
        "recovers on the next beat"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn serve_all_merges_routes_on_one_address() {
    // Find a free port, then hand the same address to both.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let health = Health::default();
    health.set_ready(true);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_all(addr, addr, Metrics::new(), health, async move {
        let _ = rx.await;
    }));
    wait_listening(addr).await;
    assert_eq!(get(addr, "/metrics").await.0, 200);
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serve_all_splits_routes_on_two_addresses() {
    let free = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (maddr, haddr) = (free(), free());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_all(
        maddr,
        haddr,
        Metrics::new(),
        Health::default(),
        async move {
            let _ = rx.await;
        },
    ));
    wait_listening(maddr).await;
    wait_listening(haddr).await;
    assert_eq!(get(maddr, "/metrics").await.0, 200);
    assert_eq!(get(maddr, "/readyz").await.0, 404);
    assert_eq!(get(haddr, "/readyz").await.0, 503);
    assert_eq!(get(haddr, "/metrics").await.0, 404);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serve_all_fails_fast_when_an_address_is_taken() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        serve_all(
            free,
            taken_addr,
            Metrics::new(),
            Health::default(),
            std::future::pending(),
        ),
    )
    .await
    .expect("returns instead of serving");
    assert!(res.is_err());
}

async fn wait_listening(addr: SocketAddr) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{addr} never listened");
}
