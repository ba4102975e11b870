use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use serde_json::{Value, json};

use crate::common::*;

async fn seed(api: &Api<Secret>, n: usize) {
    for i in 0..n {
        let tier = if i % 2 == 0 { "web" } else { "db" };
        let mut labels = BTreeMap::from([("tier".to_string(), tier.to_string())]);
        if i % 3 == 0 {
            labels.insert("legacy".into(), "yes".into());
        }
        let s = Secret {
            metadata: ObjectMeta {
                name: Some(format!("s{i:02}")),
                labels: Some(labels),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &s)
            .await
            .expect("create");
    }
}

#[tokio::test]
async fn label_and_field_selectors() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    seed(&api, 12).await;
    let count = |sel: &'static str| {
        let api = api.clone();
        async move {
            api.list(&ListParams::default().labels(sel))
                .await
                .expect("list")
                .items
                .len()
        }
    };
    assert_eq!(count("tier=web").await, 6);
    assert_eq!(count("tier==web").await, 6);
    assert_eq!(count("tier!=web").await, 6);
    assert_eq!(count("tier in (web,db)").await, 12);
    assert_eq!(count("tier notin (web)").await, 6);
    assert_eq!(count("legacy").await, 4);
    assert_eq!(count("!legacy").await, 8);
    assert_eq!(count("tier=web,legacy").await, 2);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=s03"))
        .await
        .expect("list");
    assert_eq!(by_name.items.len(), 1);
    let by_ns = api
        .list(&ListParams::default().fields(&format!(
            "metadata.namespace={},metadata.name!=s03",
            srv.ns()
        )))
        .await
        .expect("list");
    assert_eq!(by_ns.items.len(), 11);
    srv.shutdown().await;
}

#[tokio::test]
async fn pagination_and_expired_continue() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    seed(&api, 25).await;
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let page = api.list(&lp).await.expect("page");
        pages += 1;
        first_rv.get_or_insert(page.metadata.resource_version.clone());
        assert_eq!(
            page.metadata.resource_version,
            *first_rv.as_ref().expect("rv"),
            "pages share one resourceVersion"
        );
        names.extend(
            page.items
                .iter()
                .map(|s| s.metadata.name.clone().expect("name")),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 25);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25);

    let page = api
        .list(&ListParams::default().limit(5))
        .await
        .expect("page");
    let token = page.metadata.continue_.expect("continue");
    let Some(sim) = srv.sim() else {
        eprintln!(
            "expired continue skipped on the real API server: it needs set_watch_history (etcd compaction there is on a 5-minute timer)"
        );
        return;
    };
    sim.set_watch_history(2);
    seed_more(&api).await;
    let e = status(
        api.list(&ListParams::default().limit(5).continue_token(&token))
            .await
            .expect_err("expired"),
    );
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
    assert!(
        e.message
            .starts_with("The provided continue parameter is too old"),
        "{}",
        e.message
    );
    srv.shutdown().await;
}

async fn seed_more(api: &Api<Secret>) {
    for i in 0..5 {
        let s = Secret {
            metadata: ObjectMeta {
                name: Some(format!("more{i}")),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &s)
            .await
            .expect("create");
    }
}

#[tokio::test]
async fn metadata_only_list() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    seed(&api, 3).await;
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .expect("metadata list");
    assert_eq!(list.items.len(), 3);
    assert_eq!(
        list.items[0].types.as_ref().expect("types").kind,
        "PartialObjectMetadata"
    );
    let one = api.get_metadata("s01").await.expect("metadata get");
    assert_eq!(one.metadata.name.as_deref(), Some("s01"));
    srv.shutdown().await;
}

async fn table(srv: &Server, path: &str) -> Value {
    let req = axum::http::Request::get(path)
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .expect("req");
    let text = srv.client().request_text(req).await.expect("table");
    serde_json::from_str(&text).expect("json")
}

#[tokio::test]
async fn table_output_uses_printer_columns() {
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let api: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
    api.create(&PostParams::default(), &sipc("t", "alice1"))
        .await
        .expect("create");
    api.patch_status(
        "t",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        ),
    )
    .await
    .expect("status");
    let t = table(
        &srv,
        &format!(
            "/apis/sipcred.io/v1alpha1/namespaces/{}/sipconnections",
            srv.ns()
        ),
    )
    .await;
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .expect("cols")
        .iter()
        .map(|c| c["name"].as_str().expect("n"))
        .collect();
    assert_eq!(cols, vec!["Name", "Provider", "User", "Ready", "Age"]);
    assert_eq!(t["columnDefinitions"][2]["priority"], 1);
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[0], "t");
    assert_eq!(cells[1], "telnyx");
    assert_eq!(cells[3], "True");
    assert!(cells[4].as_str().expect("age").ends_with('s'));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");

    let secrets: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
    seed(&secrets, 1).await;
    let t = table(&srv, &format!("/api/v1/namespaces/{}/secrets", srv.ns())).await;
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .expect("cols")
        .iter()
        .map(|c| c["name"].as_str().expect("n"))
        .collect();
    assert_eq!(cols, vec!["Name", "Type", "Data", "Age"]);
    assert_eq!(t["rows"][0]["cells"][1], "Opaque");
    srv.shutdown().await;
}
