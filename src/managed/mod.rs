//! The provider-agnostic lifecycle engine (the Crossplane managed-reconciler pattern).
//!
//! A kind plugs in a [`Connector`] that builds its [`ExternalClient`] (observe,
//! create, update, delete, and the connection details of the provider object) only
//! when a step needs the provider; an [`ObjectStore`] persists the engine's
//! bookkeeping (finalizer, external name, create-pending marker) on the Kubernetes
//! object, and a [`DetailsPublisher`] stores the connection details. [`drive`] decides
//! and executes ONE step of the lifecycle, including the publishing: details known
//! before the provider call (a chosen password) are stored first, the provider's IDs
//! after. [`decide`] holds the decisions as pure functions. Nothing here names a
//! vendor or a kind.
//!
//! Crash safety rests on two rules. The create-pending marker is persisted before any
//! provider create, and every provider object has a deterministic identity (a name the
//! external client can look up). So a crash or a lost response between the provider's
//! create and recording its ID is recovered by lookup, never by a second create.

pub mod decide;
pub mod driver;
pub mod external;
pub mod policy;
pub mod replace;
pub mod rotation;

pub use decide::{Action, Plan, PreObserve, Seen, plan, pre_observe};
pub use driver::{Change, DriveError, Outcome, drive};
pub use external::{Connector, ExternalClient, ExternalError, ExternalErrorKind, Observation};
pub use policy::{DetailsPublisher, ManagedState, ManagementPolicy, ObjectStore};

/// Finalizer that keeps the Kubernetes object until its provider object is handled.
pub const FINALIZER: &str = "sipcred.io/finalizer";
/// Annotation holding the provider's ID of the object (Crossplane's external-name).
/// Setting it on a new object imports an existing provider object.
pub const EXTERNAL_NAME: &str = "sipcred.io/external-name";
/// Annotation written before a provider create; cleared once the ID is recorded.
pub const CREATE_PENDING: &str = "sipcred.io/external-create-pending";
/// Annotation written before a replacement rotation creates its successor; cleared
/// once the successor's ID is recorded. Only an object that carries it may have a
/// successor nobody recorded, so only such an object is looked up for one when it is
/// deleted (one provider call per deletion saved for every other).
pub const SUCCESSOR_PENDING: &str = "sipcred.io/successor-create-pending";
/// Annotation that pauses reconciliation of an object (`"true"`).
pub const PAUSED: &str = "sipcred.io/paused";
/// Annotation selecting the management policy: `Full` (default) or `ObserveOnly`.
pub const MANAGEMENT_POLICY: &str = "sipcred.io/management-policy";
