//! The controllers. Every managed kind (SipConnection, TelephonyCredential,
//! TrunkCredential) runs the same lifecycle: [`shell`] reads the object's Secret and
//! hands the managed engine ([`crate::managed::drive`]) a connector, the object store
//! ([`kube_store`]) and the Secret publisher ([`secret_target`]); the engine decides
//! and executes one step; the shell reports status, Events and the requeue.
//!
//! # Adding a managed kind
//! 1. Its CRD type in `src/crd/` (and in [`crate::crd::all`]).
//! 2. Its provider client in `src/provider/` if the vendor call is new: create, update,
//!    delete, and a `locate_*` lookup through the account's shared listing
//!    ([`crate::provider::Lookup`]).
//! 3. One file here implementing [`kind::ManagedKind`]: `status`, `provider_ref`,
//!    `deletion_policy`, `secret_target` (field access), `validate` (spec rules the
//!    schema cannot express), `connect` (the desired provider object, its identity and
//!    the [`crate::managed::ExternalClient`] that observes, creates, updates, deletes
//!    and returns connection details), `report` (observation into status) and,
//!    if it waits for another kind, `watch_dependencies`; `registrant` if SIP clients
//!    register with its logins. Its status struct gets
//!    [`kind::ManagedStatus`] through `managed_status!`.
//! 4. One line in [`for_each_kind`].
//! 5. Outside `src/`: its resources in the chart's RBAC
//!    (`charts/sipcred-operator/templates/_helpers.tpl`) and its kind in
//!    `scripts/gen-argocd`; `scripts/generate` then writes its CRD into `crds/`, the
//!    chart and `deploy/`, and its Argo CD health check.
//!
//! The runner, the metrics gauge and the sandbox reach every kind through
//! [`for_each_kind`], never through a list of their own. The provider accounts
//! (SipProvider, ClusterSipProvider) are not managed kinds: [`provider_account`].

pub mod account_inputs;
pub mod context;
pub mod error;
pub mod kind;
pub mod kube_store;
pub mod own_writes;
pub mod password_source;
pub mod provider_account;
pub mod provider_calls;
pub mod registration;
pub mod request_timeout;
pub mod runner;
pub mod secret_target;
pub mod shell;
pub mod sip_connection;
pub mod status;
pub mod telephony_credential;
pub mod tenancy;
pub mod trunk_credential;

pub use context::{Ctx, Settings};
pub use error::Error;
pub use kind::{KindVisitor, ManagedKind};

/// Visits every managed kind: the one place kinds are registered.
pub fn for_each_kind(v: &mut impl KindVisitor) {
    v.visit::<crate::crd::SipConnection>();
    v.visit::<crate::crd::TelephonyCredential>();
    v.visit::<crate::crd::TrunkCredential>();
}
