use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::*;

fn secret(name: &str) -> Secret {
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "k".to_string(),
            ByteString(b"v".to_vec()),
        )])),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_get_conflict_not_found() {
    let sim = sim().await;
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    let s = api
        .create(&PostParams::default(), &secret("s"))
        .await
        .expect("create");
    assert!(s.metadata.uid.is_some());
    assert!(s.metadata.creation_timestamp.is_some());
    let rv1: u64 = s
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("numeric rv");
    assert_eq!(s.type_.as_deref(), Some("Opaque"));

    let e = status(
        api.create(&PostParams::default(), &secret("s"))
            .await
            .expect_err("dup"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "secrets \"s\" already exists");

    let e = status(api.get("nope").await.expect_err("missing"));
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "secrets \"nope\" not found");

    let mut newer = s.clone();
    newer.metadata.labels = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    let updated = api
        .replace("s", &PostParams::default(), &newer)
        .await
        .expect("replace");
    let rv2: u64 = updated
        .metadata
        .resource_version
        .clone()
        .expect("rv")
        .parse()
        .expect("rv");
    assert!(rv2 > rv1, "one monotonic resourceVersion");
    let e = status(
        api.replace("s", &PostParams::default(), &newer)
            .await
            .expect_err("stale"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on secrets \"s\": the object has been modified; please apply your changes to the latest version and try again"
    );

    install_crd(&sim.client()).await;
    let cr: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let e = status(cr.get("x").await.expect_err("missing cr"));
    assert_eq!(e.message, "sipconnections.sipcred.io \"x\" not found");
    assert_eq!(e.details.expect("details").kind, "sipconnections");
    sim.shutdown().await;
}

#[tokio::test]
async fn default_namespaces_exist_and_missing_namespace_is_404() {
    let sim = sim().await;
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(sim.client());
    for n in ["default", "kube-system"] {
        let o = ns.get(n).await.expect("namespace");
        assert_eq!(o.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    }
    let api: Api<Secret> = Api::namespaced(sim.client(), "nowhere");
    let e = status(
        api.create(&PostParams::default(), &secret("s"))
            .await
            .expect_err("no ns"),
    );
    assert_eq!(e.code, 404);
    assert_eq!(e.message, "namespaces \"nowhere\" not found");
    sim.shutdown().await;
}

#[tokio::test]
async fn crd_becomes_established_and_discoverable() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(sim.client());
    let crd = crds.get("sipconnections.sipcred.io").await.expect("crd");
    let st = crd.status.expect("status");
    let conds = st.conditions.expect("conditions");
    for t in ["NamesAccepted", "Established"] {
        assert!(
            conds.iter().any(|c| c.type_ == t && c.status == "True"),
            "{t}"
        );
    }
    assert_eq!(st.accepted_names.expect("names").kind, "SipConnection");
    let list = sim
        .client()
        .list_api_group_resources("sipcred.io/v1alpha1")
        .await
        .expect("discovery");
    let r = list
        .resources
        .iter()
        .find(|r| r.name == "sipconnections")
        .expect("resource");
    assert_eq!(r.short_names.as_deref(), Some(&["sipc".to_string()][..]));
    assert!(
        r.categories
            .as_ref()
            .expect("categories")
            .contains(&"sipcred".to_string())
    );
    assert!(r.verbs.contains(&"watch".to_string()));
    let sub = list
        .resources
        .iter()
        .find(|r| r.name == "sipconnections/status")
        .expect("status subresource");
    assert_eq!(sub.verbs, vec!["get", "patch", "update"]);
    let groups = sim.client().list_api_groups().await.expect("apis");
    assert!(groups.groups.iter().any(|g| g.name == "sipcred.io"));
    let core = sim
        .client()
        .list_core_api_resources("v1")
        .await
        .expect("core");
    assert!(
        core.resources
            .iter()
            .any(|r| r.name == "secrets" && r.namespaced)
    );
    let v = sim.client().apiserver_version().await.expect("version");
    assert_eq!(v.major, "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn schema_and_cel_violations_are_422() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let mut bad = sipc("bad", "ab");
    bad.spec.provider = "mars".into();
    bad.spec.channels = Some(0);
    let e = status(
        api.create(&PostParams::default(), &bad)
            .await
            .expect_err("invalid"),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        "SipConnection.sipcred.io \"bad\" is invalid: [spec.channels: Invalid value: 0: spec.channels in body should be greater than or equal to 1, spec.provider: Unsupported value: \"mars\": supported values: \"telnyx\", \"vobiz\", spec.userName: Invalid value: \"ab\": spec.userName in body should be at least 4 chars long, <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"
    );
    let d = e.details.expect("details");
    assert_eq!(d.kind, "SipConnection");
    assert_eq!(d.group, "sipcred.io");
    assert_eq!(d.causes.len(), 4, "three schema errors, and CEL not run");
    assert_eq!(d.causes[1].reason, "FieldValueNotSupported");
    assert_eq!(d.causes[1].field, "spec.provider");

    let mut v = sipc("cel", "alice1");
    v.spec.provider = "vobiz".into();
    v.spec.codec = Some("G711".into());
    let e = status(
        api.create(&PostParams::default(), &v)
            .await
            .expect_err("cel"),
    );
    assert_eq!(
        e.message,
        "SipConnection.sipcred.io \"cel\" is invalid: spec.codec: Invalid value: codec is only supported by telnyx"
    );

    let ok = api
        .create(&PostParams::default(), &sipc("ok", "alice1"))
        .await
        .expect("valid");
    let mut changed = ok.clone();
    changed.spec.user_name = "bobby1".into();
    let e = status(
        api.replace("ok", &PostParams::default(), &changed)
            .await
            .expect_err("transition"),
    );
    assert_eq!(
        e.message,
        "SipConnection.sipcred.io \"ok\" is invalid: spec: Invalid value: userName is immutable"
    );

    // unknown fields: Strict -> 400, default -> pruned with a warning
    let raw = json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "extra"}, "spec": {"provider": "telnyx", "userName": "alice1", "foo": 1}});
    let req = axum::http::Request::post(format!(
        "{}/apis/sipcred.io/v1alpha1/namespaces/default/sipconnections?fieldValidation=Strict",
        sim.url()
    ))
    .header("content-type", "application/json")
    .body(serde_json::to_vec(&raw).expect("json"))
    .expect("req");
    let e = status(
        sim.client()
            .request::<SipConnection>(req)
            .await
            .expect_err("strict"),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            400,
            "SipConnection in version \"v1alpha1\" cannot be handled as a SipConnection: strict decoding error: unknown field \"spec.foo\""
        )
    );
    let resp = reqwest_like_post(
        &sim.url(),
        "/apis/sipcred.io/v1alpha1/namespaces/default/sipconnections",
        &raw,
    )
    .await;
    assert_eq!(resp.0, 201);
    assert!(
        resp.1.contains("unknown field \\\"spec.foo\\\""),
        "warning header: {}",
        resp.1
    );
    let got = api.get("extra").await.expect("pruned object stored");
    assert!(
        serde_json::to_value(&got.spec)
            .expect("v")
            .get("foo")
            .is_none()
    );
    sim.shutdown().await;
}

/// Minimal HTTP/1.1 POST returning (status, warning header).
pub async fn reqwest_like_post(base: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let b = serde_json::to_vec(body).expect("json");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        b.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&b).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let warning = text
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("warning:"))
        .collect::<Vec<_>>()
        .join("\n");
    (code, warning)
}

#[tokio::test]
async fn generation_and_status_subresource() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let mut o = sipc("g", "alice1");
    o.status = Some(SipConnectionStatus {
        conditions: vec![json!({"type": "Ready"})],
        observed_generation: None,
    });
    let o = api
        .create(&PostParams::default(), &o)
        .await
        .expect("create");
    assert_eq!(o.metadata.generation, Some(1));
    assert!(o.status.is_none(), "status is dropped on create");

    let o = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .expect("label");
    assert_eq!(
        o.metadata.generation,
        Some(1),
        "metadata changes keep generation"
    );

    let o = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"channels": 9}, "status": {"observedGeneration": 7}})),
        )
        .await
        .expect("spec");
    assert_eq!(o.metadata.generation, Some(2));
    assert!(o.status.is_none(), "main resource ignores status");

    let o = api
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 2}, "spec": {"channels": 3}})),
        )
        .await
        .expect("status");
    assert_eq!(
        o.metadata.generation,
        Some(2),
        "status writes keep generation"
    );
    assert_eq!(o.spec.channels, Some(9), "status subresource ignores spec");
    assert_eq!(o.status.expect("status").observed_generation, Some(2));

    // a no-op write does not bump the resourceVersion
    let before = api.get("g").await.expect("get");
    let after = api
        .replace("g", &PostParams::default(), &before)
        .await
        .expect("noop");
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn patches_merge_json_strategic() {
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let secrets: Api<Secret> = Api::namespaced(sim.client(), "default");
    secrets
        .create(&PostParams::default(), &secret("p"))
        .await
        .expect("create");
    let s = secrets
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"metadata": {"finalizers": ["a/b"]}, "stringData": {"n": "1"}}),
            ),
        )
        .await
        .expect("smp");
    assert_eq!(s.metadata.finalizers, Some(vec!["a/b".to_string()]));
    assert_eq!(
        s.data.as_ref().expect("data").get("n").map(|b| b.0.clone()),
        Some(b"1".to_vec())
    );
    let p: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "a/b"},
        {"op": "remove", "path": "/metadata/finalizers"}
    ]))
    .expect("patch");
    let s = secrets
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(p))
        .await
        .expect("json patch");
    assert!(s.metadata.finalizers.is_none());
    let p: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/type", "value": "nope"}]))
            .expect("patch");
    let e = status(
        secrets
            .patch("p", &PatchParams::default(), &Patch::<()>::Json(p))
            .await
            .expect_err("failed test"),
    );
    assert_eq!(e.code, 422);

    let cr: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    cr.create(&PostParams::default(), &sipc("c", "alice1"))
        .await
        .expect("cr");
    let e = status(
        cr.patch(
            "c",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"channels": 2}})),
        )
        .await
        .expect_err("415"),
    );
    assert_eq!(e.code, 415);
    assert_eq!(e.reason, "UnsupportedMediaType");
    assert_eq!(
        e.message,
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    let o = cr
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"codec": null, "channels": 2}})),
        )
        .await
        .expect("merge");
    assert_eq!(o.spec.channels, Some(2));
    sim.shutdown().await;
}

#[tokio::test]
async fn event_recorder_publishes_and_series() {
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let sim = sim().await;
    install_crd(&sim.client()).await;
    let api: Api<SipConnection> = Api::namespaced(sim.client(), "default");
    let o = api
        .create(&PostParams::default(), &sipc("ev", "alice1"))
        .await
        .expect("create");
    let recorder = Recorder::new(
        sim.client(),
        Reporter {
            controller: "sipcred-operator".into(),
            instance: None,
        },
    );
    let reference = kube::Resource::object_ref(&o, &());
    let ev = Event {
        type_: EventType::Normal,
        reason: "Created".into(),
        note: Some("provisioned".into()),
        action: "Provision".into(),
        secondary: None,
    };
    recorder.publish(&ev, &reference).await.expect("publish");
    recorder
        .publish(&ev, &reference)
        .await
        .expect("publish again");
    let events: Api<K8sEvent> = Api::namespaced(sim.client(), "default");
    let list = events.list(&Default::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].reason.as_deref(), Some("Created"));
    assert_eq!(list.items[0].series.as_ref().map(|s| s.count), Some(2));
    let req = axum::http::Request::get(format!(
        "{}/apis/events.k8s.io/v1/namespaces/default/events",
        sim.url()
    ))
    .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .expect("req");
    let t: serde_json::Value =
        serde_json::from_str(&sim.client().request_text(req).await.expect("table")).expect("json");
    let cells = &t["rows"][0]["cells"];
    assert_eq!(
        (cells[2].as_str(), cells[3].as_str()),
        (Some("Normal"), Some("Created")),
        "{t}"
    );
    assert_eq!(cells[4], "sipconnection/ev");
    assert_eq!(cells[5], "provisioned");
    // the same Event through core/v1, as `kubectl describe` reads it
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(sim.client(), "default");
    let l = core
        .list(
            &kube::api::ListParams::default()
                .fields("involvedObject.name=ev,involvedObject.kind=SipConnection"),
        )
        .await
        .expect("core events");
    assert_eq!(l.items.len(), 1);
    assert_eq!(l.items[0].message.as_deref(), Some("provisioned"));
    assert_eq!(l.items[0].count, Some(2));
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_collection_and_dry_run() {
    use kube::api::{DeleteParams, ListParams};
    let sim = sim().await;
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    for n in ["a", "b", "c"] {
        let mut s = secret(n);
        s.metadata.labels = Some(BTreeMap::from([(
            "grp".to_string(),
            if n == "c" { "keep" } else { "drop" }.to_string(),
        )]));
        api.create(&PostParams::default(), &s)
            .await
            .expect("create");
    }
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    api.create(&dry, &secret("dry"))
        .await
        .expect("dry-run create");
    assert!(
        api.get_opt("dry").await.expect("get").is_none(),
        "dry run stores nothing"
    );
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("grp=drop"),
    )
    .await
    .expect("deletecollection");
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    assert_eq!(left, vec!["c".to_string()]);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_names_and_labels_are_422() {
    let sim = sim().await;
    let api: Api<Secret> = Api::namespaced(sim.client(), "default");
    let e = status(
        api.create(&PostParams::default(), &secret("Bad_Name"))
            .await
            .expect_err("bad name"),
    );
    assert_eq!(e.code, 422);
    assert!(
        e.message.starts_with("Secret \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{}",
        e.message
    );
    let mut s = secret("ok");
    s.metadata.labels = Some(BTreeMap::from([("app".to_string(), "not ok!".to_string())]));
    let e = status(
        api.create(&PostParams::default(), &s)
            .await
            .expect_err("bad label"),
    );
    assert!(
        e.message.contains(
            "metadata.labels: Invalid value: \"not ok!\": a valid label must be an empty string"
        ),
        "{}",
        e.message
    );
    sim.shutdown().await;
}
