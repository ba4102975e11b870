//! Where a password comes from: a referenced Secret, the owned target Secret (a
//! password generated earlier), or a new one generated under the policy.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use super::secret_target::SecretSlot;
use crate::crd::{PasswordPolicy, SecretKeySelector};
use crate::provider::password::{self, PasswordPolicy as GenPolicy};

/// Provider limits on password length.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Minimum length.
    pub min: usize,
    /// Maximum length.
    pub max: usize,
}

/// Reads the referenced password, checking the provider's length rule.
pub async fn from_ref(
    api: &Api<Secret>,
    r: &SecretKeySelector,
    limits: Limits,
) -> Result<SecretString, Error> {
    let key = r.key.clone().unwrap_or_else(|| "password".into());
    let secret = api.get_opt(&r.name).await?;
    let Some(secret) = secret else {
        return Err(Error::PasswordSource(format!(
            "spec.passwordSecretRef: Secret {:?} not found",
            r.name
        )));
    };
    let pw = crate::secrets::read_key(Some(&secret), &key).ok_or_else(|| {
        Error::PasswordSource(format!(
            "spec.passwordSecretRef: Secret {:?} has no non-empty key {key:?}",
            r.name
        ))
    })?;
    let len = pw.expose_secret().chars().count();
    if len < limits.min || len > limits.max {
        return Err(Error::PasswordSource(format!(
            "spec.passwordSecretRef: the password in Secret {:?} key {key:?} must be {} to {} characters long (it has {len})",
            r.name, limits.min, limits.max
        )));
    }
    Ok(pw)
}

/// Generates a password under the policy (defaults: 32 characters, letters and digits).
pub fn generate(policy: Option<&PasswordPolicy>) -> Result<SecretString, Error> {
    let p = policy.cloned().unwrap_or_default();
    let length = p.length.and_then(|l| usize::try_from(l).ok()).unwrap_or(32);
    let gp = GenPolicy {
        length,
        lowercase: p.lowercase.unwrap_or(true),
        uppercase: p.uppercase.unwrap_or(true),
        digits: p.digits.unwrap_or(true),
        symbols: p.symbols.unwrap_or(false),
        ..GenPolicy::telnyx(length)
    };
    password::generate(&gp).map_err(|e| Error::InvalidSpec(format!("spec.passwordPolicy: {e}")))
}

/// The password of an object whose password this operator chooses: the referenced
/// one, else the one its Secret already holds (unless a rotation replaces it), else a
/// new one under the policy.
pub async fn choose(
    slot: &SecretSlot,
    reference: Option<&SecretKeySelector>,
    policy: Option<&PasswordPolicy>,
    limits: Limits,
    rotate: bool,
) -> Result<SecretString, Error> {
    match reference {
        Some(r) => from_ref(slot.api(), r, limits).await,
        None => match slot.password().filter(|_| !rotate) {
            Some(p) => Ok(p),
            None => generate(policy),
        },
    }
}

/// The rotation schedule of `spec.rotation.interval` (validated by the schema).
pub fn schedule(rotation: Option<&crate::crd::Rotation>) -> crate::managed::rotation::Schedule {
    crate::managed::rotation::Schedule {
        interval: rotation
            .and_then(|r| r.interval.as_deref())
            .and_then(crate::managed::rotation::parse_duration),
        renew_before: None,
    }
}

/// The marks of the login a step publishes (see [`crate::managed::rotation`]).
pub fn marks(
    issue: &crate::managed::rotation::Issue,
) -> std::collections::BTreeMap<String, String> {
    issue
        .annotations()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
