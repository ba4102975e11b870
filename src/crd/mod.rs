//! The custom resource types of API group `sipcred.io`, version `v1alpha1`.
//! Types only: no I/O, no behaviour beyond defaults the operator applies and the
//! provider's spelling of the fields a kind sends ([`provider_value`]).

// kube-derive's repeated `printcolumn(type_ = ...)` attributes trip this lint by design.
#![allow(clippy::duplicated_attributes)]

pub mod common;
pub mod provider_value;
pub mod sip_connection;
pub mod sip_provider;
pub mod telephony_credential;
pub mod trunk_credential;

pub use common::*;
pub use sip_connection::{SipConnection, SipConnectionSpec, SipConnectionStatus};
pub use sip_provider::{
    ClusterSipProvider, ClusterSipProviderCondition, ClusterSipProviderSpec, SipProvider,
    SipProviderSpec, SipProviderStatus,
};
pub use telephony_credential::{
    TelephonyCredential, TelephonyCredentialSpec, TelephonyCredentialStatus,
};
pub use trunk_credential::{TrunkCredential, TrunkCredentialSpec, TrunkCredentialStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of every kind.
pub const GROUP: &str = "sipcred.io";

/// Every CRD this operator serves, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        SipProvider::crd(),
        ClusterSipProvider::crd(),
        SipConnection::crd(),
        TelephonyCredential::crd(),
        TrunkCredential::crd(),
    ]
}

/// File name of a CRD under `crds/`: `<plural>.<group>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.clone().unwrap_or_default())
}

/// Renders one CRD as YAML.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(crd)
}

/// Renders all CRDs as one multi-document YAML stream.
pub fn all_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in all() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}
