//! The credential Secret: a pure builder of the desired object, the ownership rule,
//! and an apply that skips writes when nothing changed.
//!
//! Written with server-side apply using `data` (base64): `stringData` misbehaves under
//! SSA. Never rewritten when unchanged: a rewrite makes tools like Reloader restart
//! pods in a loop. A Secret this object does not own is never taken over.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::crd::SecretTarget;

/// Field manager of every write this operator makes.
pub const FIELD_MANAGER: &str = "sipcred-operator";
/// `app.kubernetes.io/managed-by` value on generated Secrets.
pub const MANAGED_BY: &str = "sipcred-operator";
/// Annotation on the Secret: digest of the password the provider is known to hold.
/// Vobiz never returns passwords, so this is how a changed password is detected. The
/// digest sits next to the password itself, so it reveals nothing new.
pub const PASSWORD_SYNCED: &str = "sipcred.io/password-synced-sha256";

/// The object that owns a Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `sipcred.io/v1alpha1`.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// Namespace of the owner (and the Secret).
    pub namespace: String,
    /// UID of the owner.
    pub uid: String,
}

/// Resolved key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Username key.
    pub username: String,
    /// Password key.
    pub password: String,
    /// Domain or realm key.
    pub domain: String,
    /// Provider ID key.
    pub id: String,
}

impl Keys {
    /// Key names from the target, with defaults.
    pub fn from_target(t: Option<&SecretTarget>) -> Self {
        let k = t.and_then(|t| t.keys.as_ref());
        let pick = |v: Option<&String>, d: &str| v.cloned().unwrap_or_else(|| d.to_string());
        Self {
            username: pick(k.and_then(|k| k.username.as_ref()), "username"),
            password: pick(k.and_then(|k| k.password.as_ref()), "password"),
            domain: pick(k.and_then(|k| k.domain.as_ref()), "domain"),
            id: pick(k.and_then(|k| k.id.as_ref()), "id"),
        }
    }

    /// Returns the first key name used twice, if any.
    pub fn duplicate(&self) -> Option<&str> {
        let all = [&self.username, &self.password, &self.domain, &self.id];
        all.iter()
            .enumerate()
            .find(|(i, k)| all[..*i].contains(k))
            .map(|(_, k)| k.as_str())
    }
}

/// The name of the Secret for an owner.
pub fn secret_name(target: Option<&SecretTarget>, owner_name: &str) -> String {
    target
        .and_then(|t| t.name.clone())
        .unwrap_or_else(|| owner_name.to_string())
}

/// The connection details to publish: the login and the provider's ID.
#[derive(Debug, Clone)]
pub struct ConnectionDetails {
    /// SIP username.
    pub username: String,
    /// SIP password.
    pub password: SecretString,
    /// SIP domain or realm.
    pub domain: String,
    /// Provider ID, once known.
    pub id: Option<String>,
    /// Digest of the password the provider holds, when known (see [`PASSWORD_SYNCED`]).
    pub synced_digest: Option<String>,
    /// Annotations that describe the login (which issue of it this is), written in the
    /// same write as the login so the two can never disagree.
    pub marks: BTreeMap<String, String>,
    /// Further keys published next to the login (e.g. a WebRTC access token).
    pub extra: BTreeMap<String, SecretString>,
}

/// A hex SHA-256 digest of a password, salted with the owner's UID so equal passwords
/// of different objects do not share a digest.
pub fn password_digest(owner_uid: &str, password: &SecretString) -> String {
    let mut h = Sha256::new();
    h.update(owner_uid.as_bytes());
    h.update([0u8]);
    h.update(password.expose_secret().as_bytes());
    hex::encode(h.finalize())
}

/// Builds the desired Secret (pure).
pub fn desired(owner: &Owner, target: Option<&SecretTarget>, creds: &ConnectionDetails) -> Secret {
    let keys = Keys::from_target(target);
    let mut data = BTreeMap::new();
    data.insert(
        keys.username.clone(),
        ByteString(creds.username.clone().into_bytes()),
    );
    data.insert(
        keys.password.clone(),
        ByteString(creds.password.expose_secret().as_bytes().to_vec()),
    );
    data.insert(
        keys.domain.clone(),
        ByteString(creds.domain.clone().into_bytes()),
    );
    if let Some(id) = &creds.id {
        data.insert(keys.id.clone(), ByteString(id.clone().into_bytes()));
    }
    for (k, v) in &creds.extra {
        data.entry(k.clone())
            .or_insert_with(|| ByteString(v.expose_secret().as_bytes().to_vec()));
    }
    // Client-ready renderings never displace the login's own keys.
    let login = crate::secret_formats::Login {
        name: &owner.name,
        username: &creds.username,
        password: creds.password.expose_secret(),
        domain: &creds.domain,
    };
    for f in target
        .and_then(|t| t.formats.as_deref())
        .unwrap_or_default()
    {
        if let Ok(v) = crate::secret_formats::render(*f, &login) {
            let k = crate::secret_formats::key(*f).to_string();
            data.entry(k).or_insert(ByteString(v.into_bytes()));
        }
    }
    let mut labels: BTreeMap<String, String> =
        target.and_then(|t| t.labels.clone()).unwrap_or_default();
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    labels.insert("sipcred.io/owner-kind".into(), owner.kind.clone());
    let mut annotations: BTreeMap<String, String> = target
        .and_then(|t| t.annotations.clone())
        .unwrap_or_default();
    if let Some(d) = &creds.synced_digest {
        annotations.insert(PASSWORD_SYNCED.into(), d.clone());
    }
    annotations.extend(creds.marks.clone());
    Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(target, &owner.name)),
            namespace: Some(owner.namespace.clone()),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: owner.api_version.clone(),
                kind: owner.kind.clone(),
                name: owner.name.clone(),
                uid: owner.uid.clone(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// Whether an existing Secret may be written by an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No Secret of that name exists.
    Absent,
    /// It is controlled by this owner.
    Owned,
    /// It exists and is not controlled by this owner; it names its controller, if any.
    Foreign(Option<String>),
}

/// Decides ownership of an existing Secret (pure).
pub fn ownership(existing: Option<&Secret>, owner_uid: &str) -> Ownership {
    let Some(s) = existing else {
        return Ownership::Absent;
    };
    let refs = s.metadata.owner_references.as_deref().unwrap_or_default();
    match refs.iter().find(|r| r.controller == Some(true)) {
        Some(r) if r.uid == owner_uid => Ownership::Owned,
        Some(r) => Ownership::Foreign(Some(format!("{} {}", r.kind, r.name))),
        None => Ownership::Foreign(None),
    }
}

/// Reads a key of an existing Secret as a secret string.
pub fn read_key(existing: Option<&Secret>, key: &str) -> Option<SecretString> {
    let bytes = existing?.data.as_ref()?.get(key)?;
    let s = String::from_utf8(bytes.0.clone()).ok()?;
    (!s.is_empty()).then(|| SecretString::from(s))
}

/// Whether writing `desired` would change `existing` (pure): data, type, our labels
/// and annotations, and the owner reference.
pub fn needs_write(existing: Option<&Secret>, desired: &Secret) -> bool {
    let Some(e) = existing else { return true };
    let subset = |want: &Option<BTreeMap<String, String>>,
                  have: &Option<BTreeMap<String, String>>| {
        want.iter()
            .flatten()
            .all(|(k, v)| have.as_ref().and_then(|h| h.get(k)) == Some(v))
    };
    // An annotation of ours that the login no longer carries (a rotation's
    // predecessor, once deleted) must go too.
    let dropped = e.metadata.annotations.iter().flatten().any(|(k, _)| {
        k.starts_with("sipcred.io/")
            && !desired
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|d| d.contains_key(k))
    });
    e.data != desired.data
        || dropped
        || !subset(&desired.metadata.labels, &e.metadata.labels)
        || !subset(&desired.metadata.annotations, &e.metadata.annotations)
        || e.metadata.owner_references != desired.metadata.owner_references
}

/// Applies the desired Secret unless nothing would change. Returns the written
/// Secret's resourceVersion, `None` when nothing was written.
pub async fn apply(
    api: &Api<Secret>,
    existing: Option<&Secret>,
    desired: &Secret,
) -> kube::Result<Option<String>> {
    if !needs_write(existing, desired) {
        return Ok(None);
    }
    let name = desired.metadata.name.clone().unwrap_or_default();
    let mut body = desired.clone();
    body.metadata.managed_fields = None;
    let obj = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": body.metadata,
        "type": body.type_,
        "data": body.data,
    });
    let written = api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await?;
    // An answer without a version still reports a write.
    Ok(Some(written.metadata.resource_version.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn owner() -> Owner {
        Owner {
            api_version: "sipcred.io/v1alpha1".into(),
            kind: "SipConnection".into(),
            name: "c1".into(),
            namespace: "ns".into(),
            uid: "uid-1".into(),
        }
    }

    fn creds() -> ConnectionDetails {
        ConnectionDetails {
            username: "user1".into(),
            password: SecretString::from("s3cret-pass"),
            domain: "sip.telnyx.com".into(),
            id: Some("123".into()),
            synced_digest: None,
            marks: Default::default(),
            extra: Default::default(),
        }
    }

    #[test]
    fn desired_secret_has_keys_owner_and_labels_but_no_tracking_labels() {
        let s = desired(&owner(), None, &creds());
        let data = s.data.as_ref().unwrap();
        assert_eq!(data["username"].0, b"user1");
        assert_eq!(data["password"].0, b"s3cret-pass");
        assert_eq!(data["domain"].0, b"sip.telnyx.com");
        assert_eq!(data["id"].0, b"123");
        let r = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((r.uid.as_str(), r.controller), ("uid-1", Some(true)));
        let labels = s.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["app.kubernetes.io/managed-by"], "sipcred-operator");
        assert!(!labels.contains_key("app.kubernetes.io/instance"));
        assert_eq!(s.metadata.name.as_deref(), Some("c1"));
    }

    #[test]
    fn formats_add_their_keys_unchanged_login_is_no_write_and_login_keys_win() {
        let t: SecretTarget = serde_json::from_value(serde_json::json!({
            "formats": ["sipURI", "env", "pjsip"], "keys": {"username": "sip-uri"}
        }))
        .unwrap();
        let s = desired(&owner(), Some(&t), &creds());
        let data = s.data.as_ref().unwrap();
        // The username key shadows the sipURI rendering: the login is never displaced.
        assert_eq!(data["sip-uri"].0, b"user1");
        assert!(data["sip.env"].0.starts_with(b"SIP_USERNAME='user1'\n"));
        assert!(data.contains_key("pjsip.conf"));
        assert!(!data.contains_key("webrtc.json"));
        assert!(!needs_write(
            Some(&s),
            &desired(&owner(), Some(&t), &creds())
        ));
        let mut other = creds();
        other.password = SecretString::from("rotated-pass");
        assert!(needs_write(Some(&s), &desired(&owner(), Some(&t), &other)));
    }

    #[test]
    fn custom_name_and_keys() {
        let t: SecretTarget = serde_json::from_value(serde_json::json!({
            "name": "out", "keys": {"username": "SIP_USER", "password": "SIP_PASS"}, "labels": {"team": "voice"}
        }))
        .unwrap();
        let s = desired(&owner(), Some(&t), &creds());
        assert_eq!(s.metadata.name.as_deref(), Some("out"));
        let data = s.data.as_ref().unwrap();
        assert!(
            data.contains_key("SIP_USER")
                && data.contains_key("SIP_PASS")
                && data.contains_key("domain")
        );
        assert_eq!(s.metadata.labels.as_ref().unwrap()["team"], "voice");
    }

    #[test]
    fn duplicate_keys_are_detected() {
        let t: SecretTarget =
            serde_json::from_value(serde_json::json!({"keys": {"username": "password"}})).unwrap();
        assert_eq!(Keys::from_target(Some(&t)).duplicate(), Some("password"));
        assert_eq!(Keys::from_target(None).duplicate(), None);
    }

    #[test]
    fn ownership_cases() {
        let mut s = desired(&owner(), None, &creds());
        assert_eq!(ownership(None, "uid-1"), Ownership::Absent);
        assert_eq!(ownership(Some(&s), "uid-1"), Ownership::Owned);
        assert_eq!(
            ownership(Some(&s), "uid-2"),
            Ownership::Foreign(Some("SipConnection c1".into()))
        );
        s.metadata.owner_references = None;
        assert_eq!(ownership(Some(&s), "uid-1"), Ownership::Foreign(None));
    }

    #[test]
    fn unchanged_secret_is_not_rewritten_and_changes_are() {
        let d = desired(&owner(), None, &creds());
        let mut existing = d.clone();
        existing.metadata.resource_version = Some("5".into());
        existing
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("extra".into(), "x".into());
        assert!(!needs_write(Some(&existing), &d));
        let mut c = creds();
        c.password = SecretString::from("other-pass");
        assert!(needs_write(Some(&existing), &desired(&owner(), None, &c)));
        assert!(needs_write(None, &d));
    }

    #[test]
    fn a_mark_the_login_no_longer_carries_is_removed_and_foreign_annotations_stay() {
        let d = desired(&owner(), None, &creds());
        let mut existing = d.clone();
        let ann = existing.metadata.annotations.get_or_insert_default();
        ann.insert("reloader.stakater.com/match".into(), "true".into());
        assert!(
            !needs_write(Some(&existing), &d),
            "not ours: kept, no write"
        );
        existing
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("sipcred.io/previous-external-name".into(), "old".into());
        assert!(needs_write(Some(&existing), &d), "ours and gone: written");
    }

    #[test]
    fn digest_depends_on_owner_and_password_and_hides_it() {
        let p = SecretString::from("s3cret-pass");
        let d = password_digest("uid-1", &p);
        assert_eq!(d.len(), 64);
        assert!(!d.contains("s3cret"));
        assert_ne!(d, password_digest("uid-2", &p));
        assert_eq!(
            d,
            password_digest("uid-1", &SecretString::from("s3cret-pass"))
        );
    }
}
