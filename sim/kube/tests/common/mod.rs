//! Shared test fixtures: a realistic CRD and a typed custom resource.
#![allow(dead_code)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::{Client, CustomResource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sipcred_kube_sim::{KubeSim, KubeSimConfig};

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, Default)]
#[kube(
    group = "sipcred.io",
    version = "v1alpha1",
    kind = "SipConnection",
    namespaced,
    status = "SipConnectionStatus",
    shortname = "sipc"
)]
#[serde(rename_all = "camelCase")]
pub struct SipConnectionSpec {
    pub provider: String,
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SipConnectionStatus {
    #[serde(default)]
    pub conditions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The test CRD: status subresource, printer columns, shortNames,
/// categories, enums, ranges, patterns, CEL rules incl. a transition rule.
pub fn crd_json() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sipconnections.sipcred.io"},
        "spec": {
            "group": "sipcred.io",
            "scope": "Namespaced",
            "names": {"plural": "sipconnections", "singular": "sipconnection", "kind": "SipConnection", "listKind": "SipConnectionList", "shortNames": ["sipc"], "categories": ["sipcred", "all"]},
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Provider", "type": "string", "jsonPath": ".spec.provider"},
                    {"name": "User", "type": "string", "jsonPath": ".spec.userName", "priority": 1},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["provider", "userName"],
                            "x-kubernetes-validations": [
                                {"rule": "self.userName == oldSelf.userName", "message": "userName is immutable"},
                                {"rule": "!has(self.codec) || self.provider == 'telnyx'", "message": "codec is only supported by telnyx", "fieldPath": ".codec"}
                            ],
                            "properties": {
                                "provider": {"type": "string", "enum": ["telnyx", "vobiz"]},
                                "userName": {"type": "string", "minLength": 4, "maxLength": 32, "pattern": "^[a-z0-9]+$"},
                                "channels": {"type": "integer", "minimum": 1, "maximum": 30},
                                "codec": {"type": "string"}
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "observedGeneration": {"type": "integer"},
                                "conditions": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

pub async fn sim() -> KubeSim {
    sim_with(KubeSimConfig::default()).await
}

pub async fn sim_with(cfg: KubeSimConfig) -> KubeSim {
    sipcred_kube_sim::start(cfg).await.expect("start sim")
}

pub async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(crd_json()).expect("crd");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("create crd");
}

pub fn sipc(name: &str, user: &str) -> SipConnection {
    let mut s = SipConnection::new(
        name,
        SipConnectionSpec {
            provider: "telnyx".into(),
            user_name: user.into(),
            channels: Some(5),
            codec: None,
        },
    );
    s.metadata.namespace = Some("default".into());
    s
}

/// Status code of a kube error.
pub fn code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("not an API error: {other:?}"),
    }
}

pub fn status(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("not an API error: {other:?}"),
    }
}
