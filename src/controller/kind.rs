//! The one trait every managed kind implements: what the shell, the runner, the
//! metrics and the sandbox know about a kind, and the hooks the engine calls. See the
//! module docs of [`crate::controller`] for how to add a kind.

use std::future::Future;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Resource;
use kube::core::DeserializeGuard;
use kube::core::object::HasStatus;
use kube::runtime::Controller;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Account, Ctx};
use super::error::Error;
use super::registration::Registrant;
use super::secret_target::SecretSlot;
use crate::crd::condition::READY;
use crate::crd::{DeletionPolicy, ProviderRef, RegistrationInfo, RotationStatus, SecretTarget};
use crate::managed::ExternalClient;
use crate::managed::rotation::{Issue, Schedule};
use crate::provider::Lookup;

/// The status fields every managed kind shares.
pub trait ManagedStatus: Clone + PartialEq + Default + Serialize + Send + Sync {
    /// The conditions.
    fn conditions(&self) -> &[Condition];
    /// The conditions, to change.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// `observedGeneration`, to change.
    fn observed_generation_mut(&mut self) -> &mut Option<i64>;
    /// `lastSyncedAt`.
    fn last_synced_at_mut(&mut self) -> &mut Option<String>;
    /// `secretName`.
    fn secret_name(&self) -> Option<&str>;
    /// `secretName`, to change.
    fn secret_name_mut(&mut self) -> &mut Option<String>;
    /// `passwordUpdatedAt`, for kinds whose password this operator chooses.
    fn password_updated_at_mut(&mut self) -> Option<&mut Option<String>>;
    /// The rotation fields.
    fn rotation(&self) -> &RotationStatus;
    /// The rotation fields, to change.
    fn rotation_mut(&mut self) -> &mut RotationStatus;
}

/// Implements [`ManagedStatus`] for a status struct with the usual field names; add
/// `password_updated_at` when the kind records password pushes.
macro_rules! managed_status {
    ($status:ty) => {
        $crate::controller::kind::managed_status!(@base $status);
        impl $crate::controller::kind::PasswordField for $status {}
    };
    ($status:ty, password_updated_at) => {
        $crate::controller::kind::managed_status!(@base $status);
        impl $crate::controller::kind::PasswordField for $status {
            fn field(&mut self) -> Option<&mut Option<String>> {
                Some(&mut self.password_updated_at)
            }
        }
    };
    (@base $status:ty) => {
        impl $crate::controller::kind::ManagedStatus for $status {
            fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                &self.conditions
            }
            fn conditions_mut(
                &mut self,
            ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
                &mut self.conditions
            }
            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }
            fn observed_generation_mut(&mut self) -> &mut Option<i64> {
                &mut self.observed_generation
            }
            fn last_synced_at_mut(&mut self) -> &mut Option<String> {
                &mut self.last_synced_at
            }
            fn secret_name(&self) -> Option<&str> {
                self.secret_name.as_deref()
            }
            fn secret_name_mut(&mut self) -> &mut Option<String> {
                &mut self.secret_name
            }
            fn password_updated_at_mut(&mut self) -> Option<&mut Option<String>> {
                $crate::controller::kind::PasswordField::field(self)
            }
            fn rotation(&self) -> &$crate::crd::RotationStatus {
                &self.rotation
            }
            fn rotation_mut(&mut self) -> &mut $crate::crd::RotationStatus {
                &mut self.rotation
            }
        }
    };
}
pub(crate) use managed_status;

/// The field access of [`ManagedKind`] for a kind whose spec and status use the usual
/// names (`spec.providerRef`, `spec.deletionPolicy`, `spec.secret`, `status`); expands
/// inside the `impl ManagedKind` block.
macro_rules! managed_fields {
    () => {
        fn provider_ref(&self) -> &$crate::crd::ProviderRef {
            &self.spec.provider_ref
        }
        fn deletion_policy(&self) -> Option<$crate::crd::DeletionPolicy> {
            self.spec.deletion_policy
        }
        fn secret_target(&self) -> Option<&$crate::crd::SecretTarget> {
            self.spec.secret.as_ref()
        }
    };
}
pub(crate) use managed_fields;

/// The registration-check hooks of [`ManagedKind`] for a kind with
/// `spec.registrationCheck` and `status.registration`; expands inside the
/// `impl ManagedKind` block.
macro_rules! registration_fields {
    () => {
        fn registration_interval(&self) -> Option<&str> {
            self.spec
                .registration_check
                .as_ref()
                .map(|r| r.interval.as_str())
        }

        fn registration_mut(
            status: &mut Self::Status,
        ) -> Option<&mut Option<$crate::crd::RegistrationInfo>> {
            Some(&mut status.registration)
        }

        fn registration_status(&self) -> Option<&str> {
            self.status
                .as_ref()?
                .registration
                .as_ref()?
                .status
                .as_deref()
        }
    };
}
pub(crate) use registration_fields;

/// The rotation hooks of [`ManagedKind`] for a kind whose password this operator
/// chooses (`spec.rotation`, `spec.passwordSecretRef`); expands inside the
/// `impl ManagedKind` block.
macro_rules! chosen_password_rotation {
    () => {
        fn rotation_schedule(&self) -> $crate::managed::rotation::Schedule {
            $crate::controller::password_source::schedule(self.spec.rotation.as_ref())
        }

        fn can_rotate(&self) -> bool {
            self.spec.password_secret_ref.is_none()
        }
    };
}
pub(crate) use chosen_password_rotation;

/// Whether a status records password pushes (see [`managed_status!`]).
#[doc(hidden)]
pub trait PasswordField {
    /// `passwordUpdatedAt`, if the status has it.
    fn field(&mut self) -> Option<&mut Option<String>> {
        None
    }
}

/// What a kind's connect hook gets: the resolved account and, unless the object is
/// being deleted, its Secret (existing password, annotations, owner).
pub struct Connect<'a, K: ManagedKind> {
    /// Shared controller state (Kubernetes client, settings).
    pub ctx: &'a Ctx,
    /// The object.
    pub obj: &'a K,
    /// Its namespace.
    pub namespace: &'a str,
    /// The provider account `spec.providerRef` resolves to.
    pub account: Account,
    /// The object's status as last written (IDs recorded earlier).
    pub status: &'a K::Status,
    /// The object's Secret; `None` while deleting (only identity is needed then).
    pub secret: Option<&'a SecretSlot>,
    /// Which login this step publishes: the mark it carries in the Secret (see
    /// [`crate::managed::rotation`]). Its `count` is the rotation the provider object
    /// belongs to, for kinds whose identity changes with each rotation.
    pub issue: &'a Issue,
    /// A new secret must replace the current one (a rotation is due).
    pub rotate: bool,
    /// How the client finds the provider object: through the account's shared listing
    /// no older than the resync interval; by asking the provider for its identity once
    /// a create may have happened (a create-pending marker, or a recorded ID), since a
    /// listing may predate that create.
    pub lookup: Lookup,
}

/// A managed kind: a namespaced custom resource whose objects each own one provider
/// object and one Secret. The engine calls the hooks; everything else (finalizer,
/// external name, create-pending marker, Secret publishing, conditions, Events,
/// requeues) is shared.
pub trait ManagedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + HasStatus<Status: ManagedStatus>
    + Send
    + Sync
    + 'static
{
    /// The external client of one object.
    type Client: ExternalClient + 'static;
    /// How Events and Ready messages name the provider object, e.g. "the credential
    /// connection at Telnyx".
    const WHAT: &'static str;

    /// `spec.providerRef`.
    fn provider_ref(&self) -> &ProviderRef;
    /// `spec.deletionPolicy`.
    fn deletion_policy(&self) -> Option<DeletionPolicy>;
    /// `spec.secret`.
    fn secret_target(&self) -> Option<&SecretTarget>;

    /// Rules of the spec the schema cannot express (pure); not checked on deletion.
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Builds the external client: the desired provider object and its identity.
    /// Called only when a step talks to the provider.
    fn connect(cx: Connect<'_, Self>) -> impl Future<Output = Result<Self::Client, Error>> + Send;

    /// Maps the observed provider object into the kind's own status fields (after a
    /// synced step, and after an observe-only step that found drift).
    fn report(
        external_name: &str,
        resource: &<Self::Client as ExternalClient>::Resource,
        status: &mut Self::Status,
    );

    /// Maps what the Secret now holds into the kind's own status fields (a rotation's
    /// predecessor, a token's expiry), after a synced step.
    fn report_secret(&self, _slot: &SecretSlot, _status: &mut Self::Status) {}

    /// When connection details that expire on their own (a token) must be renewed.
    fn refresh_at(&self, _status: &Self::Status) -> Option<jiff::Timestamp> {
        None
    }

    /// Adds watches of objects this kind waits for (see
    /// [`super::runner::wake_on_ready`]); the default waits for nothing else.
    fn watch_dependencies(
        ctrl: Controller<DeserializeGuard<Self>>,
        _client: &kube::Client,
        _namespace: Option<&str>,
    ) -> Controller<DeserializeGuard<Self>> {
        ctrl
    }

    /// When the provider object expires (RFC 3339), for kinds whose logins expire.
    fn expires_at(&self) -> Option<&str> {
        None
    }

    /// When the login is replaced without being asked (`spec.rotation`).
    fn rotation_schedule(&self) -> Schedule {
        Schedule::default()
    }

    /// Whether a rotation can replace the login; `false` when the user supplies the
    /// password (rotating is then changing the referenced Secret).
    fn can_rotate(&self) -> bool {
        true
    }

    /// A rotation creates a NEW provider object (the provider generates the login) and
    /// deletes the previous one after `grace_period`, instead of pushing a new password.
    fn replaces_on_rotation(&self) -> Option<std::time::Duration> {
        None
    }

    /// How long until a provider object just created can be used (a provider that
    /// activates new logins after a delay); the object is not Ready, and a rotation
    /// does not switch the Secret, until then.
    /// `Err` says why it can never be used again (it expired).
    fn usable_in(
        _resource: &<Self::Client as ExternalClient>::Resource,
    ) -> Result<Option<std::time::Duration>, String> {
        Ok(None)
    }

    /// `spec.registrationCheck.interval`, for kinds whose logins SIP clients register
    /// with; `None` leaves checking off.
    fn registration_interval(&self) -> Option<&str> {
        None
    }

    /// `status.registration`, for kinds that check registrations.
    fn registration_mut(_status: &mut Self::Status) -> Option<&mut Option<RegistrationInfo>> {
        None
    }

    /// `status.registration.status` as last written.
    fn registration_status(&self) -> Option<&str> {
        None
    }

    /// The login whose live registration is checked, for kinds whose logins SIP
    /// clients register with, once `status` records it (`None` until then).
    fn registrant(_status: &Self::Status) -> Option<Registrant<'_>> {
        None
    }

    /// The Ready condition's status (`True`, `False`), if set.
    fn ready(&self) -> Option<&str> {
        ready_of(self.status().map(|s| s.conditions()).unwrap_or_default())
    }
}

/// The status of the Ready condition among `conditions`.
pub fn ready_of(conditions: &[Condition]) -> Option<&str> {
    conditions
        .iter()
        .find(|c| c.type_ == READY)
        .map(|c| c.status.as_str())
}

/// Visits every registered kind (see [`super::for_each_kind`]).
pub trait KindVisitor {
    /// Called once per kind.
    fn visit<K: ManagedKind>(&mut self);
}

/// The API resource of the registered kind named `kind` (e.g. `TrunkCredential`).
pub fn api_resource(kind: &str) -> Option<kube::api::ApiResource> {
    struct Find<'a>(&'a str, Option<kube::api::ApiResource>);
    impl KindVisitor for Find<'_> {
        fn visit<K: ManagedKind>(&mut self) {
            if K::kind(&()) == self.0 {
                self.1 = Some(kube::api::ApiResource::erase::<K>(&()));
            }
        }
    }
    let mut f = Find(kind, None);
    super::for_each_kind(&mut f);
    f.1
}
