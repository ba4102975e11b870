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
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
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

    install_crd(&srv.client()).await;
    let cr: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
    let e = status(cr.get("x").await.expect_err("missing cr"));
    assert_eq!(e.message, "sipconnections.sipcred.io \"x\" not found");
    assert_eq!(e.details.expect("details").kind, "sipconnections");
    srv.shutdown().await;
}

#[tokio::test]
async fn default_namespaces_exist_and_missing_namespace_is_404() {
    let srv = Server::start().await;
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(srv.client());
    for n in ["default", "kube-system"] {
        let o = ns.get(n).await.expect("namespace");
        assert_eq!(o.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    }
    let nowhere = srv.unique("nowhere");
    let api: Api<Secret> = Api::namespaced(srv.client(), &nowhere);
    let e = status(
        api.create(&PostParams::default(), &secret("s"))
            .await
            .expect_err("no ns"),
    );
    assert_eq!(e.code, 404);
    assert_eq!(e.message, format!("namespaces \"{nowhere}\" not found"));
    srv.shutdown().await;
}

#[tokio::test]
async fn crd_becomes_established_and_discoverable() {
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(srv.client());
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
    let list = srv
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
    let groups = srv.client().list_api_groups().await.expect("apis");
    assert!(groups.groups.iter().any(|g| g.name == "sipcred.io"));
    let core = srv
        .client()
        .list_core_api_resources("v1")
        .await
        .expect("core");
    assert!(
        core.resources
            .iter()
            .any(|r| r.name == "secrets" && r.namespaced)
    );
    let v = srv.client().apiserver_version().await.expect("version");
    assert_eq!(v.major, "1");
    srv.shutdown().await;
}

#[tokio::test]
async fn schema_and_cel_violations_are_422() {
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let api: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
    let mut bad = sipc("bad", "ab");
    bad.spec.provider = "mars".into();
    bad.spec.channels = Some(0);
    let e = status(
        api.create(&PostParams::default(), &bad)
            .await
            .expect_err("invalid"),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    let d = e.details.expect("details");
    assert_eq!(d.kind, "SipConnection");
    assert_eq!(d.group, "sipcred.io");
    // The real server lists the causes in no fixed order (Go map iteration); the
    // message joins them in the order of `details.causes`.
    let rendered: Vec<String> = d
        .causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    assert_eq!(
        e.message,
        format!(
            "SipConnection.sipcred.io \"bad\" is invalid: [{}]",
            rendered.join(", ")
        )
    );
    let mut causes: Vec<(&str, &str, &str)> = d
        .causes
        .iter()
        .map(|c| (c.field.as_str(), c.reason.as_str(), c.message.as_str()))
        .collect();
    causes.sort();
    assert_eq!(
        causes,
        vec![
            // an enum violation stops the CEL rules, and one cause says so
            (
                "<nil>",
                "FieldValueInvalid",
                "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
            ),
            (
                "spec.channels",
                "FieldValueInvalid",
                "Invalid value: 0: spec.channels in body should be greater than or equal to 1"
            ),
            (
                "spec.provider",
                "FieldValueNotSupported",
                "Unsupported value: \"mars\": supported values: \"telnyx\", \"vobiz\""
            ),
            (
                "spec.userName",
                "FieldValueInvalid",
                "Invalid value: \"ab\": spec.userName in body should be at least 4 chars long"
            ),
        ]
    );

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
    let path = format!(
        "/apis/sipcred.io/v1alpha1/namespaces/{}/sipconnections",
        srv.ns()
    );
    let req = axum::http::Request::post(format!("{path}?fieldValidation=Strict"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&raw).expect("json"))
        .expect("req");
    let e = status(
        srv.client()
            .request::<SipConnection>(req)
            .await
            .expect_err("strict"),
    );
    assert_eq!(e.code, 400);
    // The real server prefixes `SipConnection in version "v1alpha1" cannot be handled
    // as a SipConnection: `.
    assert!(
        e.message
            .ends_with("strict decoding error: unknown field \"spec.foo\""),
        "{}",
        e.message
    );
    let resp = post_with_warning(&srv.client(), &path, &raw).await;
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
    srv.shutdown().await;
}

/// A JSON POST returning (status, warning headers).
pub async fn post_with_warning(
    client: &kube::Client,
    path: &str,
    body: &serde_json::Value,
) -> (u16, String) {
    let req = axum::http::Request::post(path)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(
            serde_json::to_vec(body).expect("json"),
        ))
        .expect("req");
    let resp = client.send(req).await.expect("response");
    let warning = resp
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    (resp.status().as_u16(), warning)
}

#[tokio::test]
async fn generation_and_status_subresource() {
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let api: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
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
    srv.shutdown().await;
}

#[tokio::test]
async fn patches_merge_json_strategic() {
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let secrets: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
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

    let cr: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
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
    srv.shutdown().await;
}

#[tokio::test]
async fn event_recorder_publishes_and_series() {
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let srv = Server::start().await;
    install_crd(&srv.client()).await;
    let api: Api<SipConnection> = Api::namespaced(srv.client(), srv.ns());
    let o = api
        .create(&PostParams::default(), &sipc("ev", "alice1"))
        .await
        .expect("create");
    let recorder = Recorder::new(
        srv.client(),
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
    let events: Api<K8sEvent> = Api::namespaced(srv.client(), srv.ns());
    let list = events.list(&Default::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].reason.as_deref(), Some("Created"));
    assert_eq!(list.items[0].series.as_ref().map(|s| s.count), Some(2));
    let req = axum::http::Request::get(format!(
        "/apis/events.k8s.io/v1/namespaces/{}/events",
        srv.ns()
    ))
    .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
    .body(Vec::new())
    .expect("req");
    let t: serde_json::Value =
        serde_json::from_str(&srv.client().request_text(req).await.expect("table")).expect("json");
    // Columns by name: the real server's Event table has no leading Name column.
    let cell = |name: &str| {
        let i = t["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .position(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("column {name}: {t}"));
        t["rows"][0]["cells"][i].clone()
    };
    assert_eq!(
        (cell("Type"), cell("Reason")),
        (json!("Normal"), json!("Created")),
        "{t}"
    );
    assert_eq!(cell("Object"), "sipconnection/ev");
    assert_eq!(cell("Message"), "provisioned");
    // the same Event through core/v1, as `kubectl describe` reads it
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(srv.client(), srv.ns());
    let l = core
        .list(
            &kube::api::ListParams::default()
                .fields("involvedObject.name=ev,involvedObject.kind=SipConnection"),
        )
        .await
        .expect("core events");
    assert_eq!(l.items.len(), 1);
    assert_eq!(l.items[0].message.as_deref(), Some("provisioned"));
    // The real server carries the repetition in the core view's `series` only.
    assert_eq!(l.items[0].series.as_ref().and_then(|s| s.count), Some(2));
    srv.shutdown().await;
}

#[tokio::test]
async fn delete_collection_and_dry_run() {
    use kube::api::{DeleteParams, ListParams};
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
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
    srv.shutdown().await;
}

#[tokio::test]
async fn invalid_names_and_labels_are_422() {
    let srv = Server::start().await;
    let api: Api<Secret> = Api::namespaced(srv.client(), srv.ns());
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
    srv.shutdown().await;
}
