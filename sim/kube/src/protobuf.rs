//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! kubectl's typed generators (`kubectl create secret|configmap|namespace|
//! serviceaccount|role|rolebinding|...`, `kubectl auth can-i`) send their
//! objects as protobuf: the magic `k8s\0` followed by a `runtime.Unknown`
//! envelope whose `raw` bytes are the typed message. They accept JSON back,
//! so only decoding is needed. Kinds outside this list answer 415 with the
//! media types that do work.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// Decode a protobuf body into the JSON object a JSON client would have sent.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("the protobuf body does not start with the k8s\\0 magic")?;
    let unknown = Unknown::decode(rest).map_err(|e| format!("decoding the envelope: {e}"))?;
    let tm = unknown.type_meta.unwrap_or_default();
    let api_version = tm.api_version.unwrap_or_default();
    let kind = tm.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let raw = raw.as_slice();
    let err = |e: prost::DecodeError| format!("decoding {api_version} {kind}: {e}");
    let mut v = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => secret(core::Secret::decode(raw).map_err(err)?),
        ("v1", "ConfigMap") => config_map(core::ConfigMap::decode(raw).map_err(err)?),
        ("v1", "Namespace") => namespace(core::Namespace::decode(raw).map_err(err)?),
        ("v1", "ServiceAccount") => {
            service_account(core::ServiceAccount::decode(raw).map_err(err)?)
        }
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            ssar(authz::SelfSubjectAccessReview::decode(raw).map_err(err)?)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => {
            let r = rbac::Role::decode(raw).map_err(err)?;
            obj(r.metadata, [("rules", rules(r.rules))])
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
            let r = rbac::ClusterRole::decode(raw).map_err(err)?;
            let aggregation = r.aggregation_rule.map(|a| {
                json!({"clusterRoleSelectors": a.cluster_role_selectors.into_iter().map(label_selector).collect::<Vec<_>>()})
            });
            obj(
                r.metadata,
                [("rules", rules(r.rules)), ("aggregationRule", aggregation)],
            )
        }
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
            let b = rbac::RoleBinding::decode(raw).map_err(err)?;
            binding(b.metadata, b.subjects, b.role_ref)
        }
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            let b = rbac::ClusterRoleBinding::decode(raw).map_err(err)?;
            binding(b.metadata, b.subjects, b.role_ref)
        }
        _ => {
            return Err(format!(
                "protobuf bodies of {api_version} {kind} are not supported by this simulator; send JSON"
            ));
        }
    };
    v["apiVersion"] = json!(api_version);
    v["kind"] = json!(kind);
    Ok(v)
}

/// Go writes every string field, empty or not; empty means unset.
fn s(x: Option<String>) -> Option<Value> {
    x.filter(|x| !x.is_empty()).map(Value::String)
}

fn strings(x: Vec<String>) -> Option<Value> {
    (!x.is_empty()).then(|| json!(x))
}

fn string_map(m: BTreeMap<String, String>) -> Option<Value> {
    (!m.is_empty()).then(|| json!(m))
}

fn bytes_map(m: BTreeMap<String, Vec<u8>>) -> Option<Value> {
    let b64 = base64::engine::general_purpose::STANDARD;
    (!m.is_empty()).then(|| {
        Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, Value::String(b64.encode(v))))
                .collect(),
        )
    })
}

/// A JSON object of the fields that are set.
fn fields<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Value {
    let m: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
    Value::Object(m)
}

fn obj<const N: usize>(m: Option<meta::ObjectMeta>, rest: [(&str, Option<Value>); N]) -> Value {
    let mut v = fields(rest);
    v["metadata"] = object_meta(m.unwrap_or_default());
    v
}

/// The client-settable part of ObjectMeta (the server sets the rest).
fn object_meta(m: meta::ObjectMeta) -> Value {
    let owners: Vec<Value> = m
        .owner_references
        .into_iter()
        .map(|o| {
            fields([
                ("apiVersion", s(o.api_version)),
                ("kind", s(o.kind)),
                ("name", s(o.name)),
                ("uid", s(o.uid)),
                ("controller", o.controller.map(Value::Bool)),
                (
                    "blockOwnerDeletion",
                    o.block_owner_deletion.map(Value::Bool),
                ),
            ])
        })
        .collect();
    fields([
        ("name", s(m.name)),
        ("generateName", s(m.generate_name)),
        ("namespace", s(m.namespace)),
        ("resourceVersion", s(m.resource_version)),
        ("uid", s(m.uid)),
        ("labels", string_map(m.labels)),
        ("annotations", string_map(m.annotations)),
        (
            "ownerReferences",
            (!owners.is_empty()).then(|| json!(owners)),
        ),
        ("finalizers", strings(m.finalizers)),
    ])
}

fn secret(x: core::Secret) -> Value {
    obj(
        x.metadata,
        [
            ("immutable", x.immutable.map(Value::Bool)),
            ("data", bytes_map(x.data)),
            ("stringData", string_map(x.string_data)),
            ("type", s(x.r#type)),
        ],
    )
}

fn config_map(x: core::ConfigMap) -> Value {
    obj(
        x.metadata,
        [
            ("immutable", x.immutable.map(Value::Bool)),
            ("data", string_map(x.data)),
            ("binaryData", bytes_map(x.binary_data)),
        ],
    )
}

fn namespace(x: core::Namespace) -> Value {
    let spec = x
        .spec
        .and_then(|sp| strings(sp.finalizers))
        .map(|f| json!({ "finalizers": f }));
    obj(x.metadata, [("spec", spec)])
}

fn service_account(x: core::ServiceAccount) -> Value {
    let secrets: Vec<Value> = x
        .secrets
        .into_iter()
        .map(|r| fields([("name", s(r.name)), ("namespace", s(r.namespace))]))
        .collect();
    let pulls: Vec<Value> = x
        .image_pull_secrets
        .into_iter()
        .map(|r| fields([("name", s(r.name))]))
        .collect();
    obj(
        x.metadata,
        [
            ("secrets", (!secrets.is_empty()).then(|| json!(secrets))),
            (
                "imagePullSecrets",
                (!pulls.is_empty()).then(|| json!(pulls)),
            ),
            (
                "automountServiceAccountToken",
                x.automount_service_account_token.map(Value::Bool),
            ),
        ],
    )
}

fn ssar(x: authz::SelfSubjectAccessReview) -> Value {
    let spec = x.spec.unwrap_or_default();
    let resource = spec.resource_attributes.map(|r| {
        fields([
            ("namespace", s(r.namespace)),
            ("verb", s(r.verb)),
            ("group", s(r.group)),
            ("version", s(r.version)),
            ("resource", s(r.resource)),
            ("subresource", s(r.subresource)),
            ("name", s(r.name)),
            (
                "fieldSelector",
                r.field_selector
                    .map(|f| fields([("rawSelector", s(f.raw_selector))])),
            ),
            (
                "labelSelector",
                r.label_selector
                    .map(|l| fields([("rawSelector", s(l.raw_selector))])),
            ),
        ])
    });
    let non_resource = spec
        .non_resource_attributes
        .map(|n| fields([("path", s(n.path)), ("verb", s(n.verb))]));
    obj(
        x.metadata,
        [(
            "spec",
            Some(fields([
                ("resourceAttributes", resource),
                ("nonResourceAttributes", non_resource),
            ])),
        )],
    )
}

fn rules(rules: Vec<rbac::PolicyRule>) -> Option<Value> {
    let v: Vec<Value> = rules
        .into_iter()
        .map(|r| {
            fields([
                ("verbs", Some(json!(r.verbs))),
                ("apiGroups", strings(r.api_groups)),
                ("resources", strings(r.resources)),
                ("resourceNames", strings(r.resource_names)),
                ("nonResourceURLs", strings(r.non_resource_ur_ls)),
            ])
        })
        .collect();
    (!v.is_empty()).then(|| json!(v))
}

fn label_selector(l: meta::LabelSelector) -> Value {
    let exprs: Vec<Value> = l
        .match_expressions
        .into_iter()
        .map(|e| {
            fields([
                ("key", s(e.key)),
                ("operator", s(e.operator)),
                ("values", strings(e.values)),
            ])
        })
        .collect();
    fields([
        ("matchLabels", string_map(l.match_labels)),
        (
            "matchExpressions",
            (!exprs.is_empty()).then(|| json!(exprs)),
        ),
    ])
}

fn binding(
    m: Option<meta::ObjectMeta>,
    subjects: Vec<rbac::Subject>,
    role_ref: Option<rbac::RoleRef>,
) -> Value {
    let subjects: Vec<Value> = subjects
        .into_iter()
        .map(|x| {
            fields([
                ("kind", s(x.kind)),
                ("apiGroup", s(x.api_group)),
                ("name", s(x.name)),
                ("namespace", s(x.namespace)),
            ])
        })
        .collect();
    let role_ref = role_ref.map(|r| {
        fields([
            ("apiGroup", s(r.api_group)),
            ("kind", s(r.kind)),
            ("name", s(r.name)),
        ])
    });
    obj(
        m,
        [
            ("subjects", (!subjects.is_empty()).then(|| json!(subjects))),
            ("roleRef", role_ref),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let u = Unknown {
            type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut out = MAGIC.to_vec();
        out.extend(u.encode_to_vec());
        out
    }

    #[test]
    fn secret_as_kubectl_sends_it() {
        let secret = core::Secret {
            metadata: Some(meta::ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                labels: [("a".to_string(), "b".to_string())].into(),
                ..Default::default()
            }),
            data: [("pass".to_string(), b"p4ss".to_vec())].into(),
            r#type: Some("Opaque".into()),
            ..Default::default()
        };
        let v = decode(&envelope("v1", "Secret", secret.encode_to_vec())).expect("decodes");
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                   "metadata": {"name": "s", "namespace": "ns", "labels": {"a": "b"}},
                   "data": {"pass": "cDRzcw=="}})
        );
    }

    #[test]
    fn access_review() {
        let r = authz::SelfSubjectAccessReview {
            spec: Some(authz::SelfSubjectAccessReviewSpec {
                resource_attributes: Some(authz::ResourceAttributes {
                    namespace: Some("ns".into()),
                    verb: Some("create".into()),
                    resource: Some("secrets".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = decode(&envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            r.encode_to_vec(),
        ))
        .expect("decodes");
        assert_eq!(
            v["spec"],
            json!({"resourceAttributes": {"namespace": "ns", "verb": "create", "resource": "secrets"}})
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(decode(b"{}").unwrap_err().contains("magic"));
        let e = decode(&envelope("apps/v1", "Deployment", Vec::new())).unwrap_err();
        assert!(e.contains("apps/v1 Deployment"), "{e}");
    }
}
