//! Vobiz JSON models (seeds 002/004 and the public SDKs, see
//! `reference/providers.md` section b).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::provider::serde_util::{Nullable, opt_string_or_number, serialize_secret};

fn default_true() -> bool {
    true
}

/// A SIP trunk credential. Vobiz answers `"password": "<redacted>"`; that
/// field is deliberately not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// UUID.
    #[serde(alias = "credential_id", alias = "uuid")]
    pub id: String,
    /// Account, e.g. "MA_XXXXXXXX".
    #[serde(default)]
    pub account_id: String,
    /// SIP username (unique per account, immutable).
    #[serde(default)]
    pub username: String,
    /// SIP realm, "{account_id}.sip.vobiz.ai" (empty if the answer omitted it).
    #[serde(default)]
    pub realm: String,
    /// Whether the credential may authenticate (true when omitted; Vobiz
    /// creates credentials enabled).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Description (set through update; absent from current responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: String,
    /// RFC 3339.
    #[serde(default)]
    pub updated_at: String,
}

/// Body of POST `/Account/{auth_id}/credentials`: only these two fields are
/// accepted on create.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialCreate {
    /// SIP username.
    pub username: String,
    /// SIP password, at least 8 characters. Write-only at Vobiz.
    #[serde(serialize_with = "serialize_secret")]
    pub password: SecretString,
}

/// Body of PUT `/Account/{auth_id}/credentials/{id}`; unset fields are not
/// sent. The username cannot change.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CredentialUpdate {
    /// New password.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::provider::serde_util::serialize_opt_secret"
    )]
    pub password: Option<SecretString>,
    /// Enable / disable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `meta` of a Vobiz list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMeta {
    /// Page size used.
    #[serde(default)]
    pub limit: u32,
    /// Offset of the first object.
    #[serde(default)]
    pub offset: u32,
    /// Total objects (current docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Total objects (older docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

impl ListMeta {
    /// `total`, else `total_count`.
    pub fn total(&self) -> Option<u64> {
        self.total.or(self.total_count)
    }
}

/// One page of a Vobiz list: `{meta:{limit,offset,total}, objects:[...]}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListPage<T> {
    /// Pagination metadata.
    #[serde(default)]
    pub meta: ListMeta,
    /// The objects.
    #[serde(default = "Vec::new", alias = "data")]
    pub objects: Vec<T>,
}

/// A SIP trunk (only the fields the operator needs; others are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trunk {
    /// Trunk id.
    #[serde(
        alias = "id",
        deserialize_with = "crate::provider::serde_util::string_or_number"
    )]
    pub trunk_id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// "{id}.sip.vobiz.ai".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk_domain: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk_status: Option<String>,
    /// "INBOUND" | "OUTBOUND" (also sent as `trunk_type` by older APIs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk_direction: Option<String>,
    /// The attached credential (a single one per trunk).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string_or_number"
    )]
    pub credential_uuid: Option<String>,
    /// Enabled flag (docs: part of the full-replace PUT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Concurrent call limit (docs name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_calls: Option<i64>,
    /// Concurrent call limit (SDK name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_calls_limit: Option<i64>,
}

/// Body of POST `/Account/{auth_id}/trunks` (minimal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrunkCreate {
    /// Name.
    pub name: String,
    /// "INBOUND" | "OUTBOUND" (SDK name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk_direction: Option<String>,
    /// "INBOUND" | "OUTBOUND" (docs name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk_type: Option<String>,
    /// Concurrent call limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_calls: Option<i64>,
    /// Credential to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_uuid: Option<String>,
}

/// Body of PUT `/Account/{auth_id}/trunks/{trunk_id}`; unset fields are not
/// sent, `credential_uuid: Null` detaches the credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrunkUpdate {
    /// Name (required by the documented full-replace PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Concurrent call limit (required by the documented full-replace PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_calls: Option<i64>,
    /// Enabled (required by the documented full-replace PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Credential to attach, or `Null` to detach.
    #[serde(skip_serializing_if = "Nullable::is_absent")]
    pub credential_uuid: Nullable<String>,
}

impl TrunkUpdate {
    /// A PUT that keeps `trunk`'s name, call limit and enabled flag (so it is
    /// valid both as the documented full replace and as the SDK's partial
    /// update) and sets `credential_uuid`.
    pub fn keeping(trunk: &Trunk, credential_uuid: Nullable<String>) -> Self {
        Self {
            name: Some(trunk.name.clone()),
            max_concurrent_calls: trunk.max_concurrent_calls.or(trunk.concurrent_calls_limit),
            enabled: trunk.enabled,
            credential_uuid,
        }
    }
}

impl crate::provider::listing::ById for Credential {
    fn listed_id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_002_create_response_drops_password() {
        let v = json!({
            "id": "aabbccdd-1234-5678-90ab-cdef12345678",
            "account_id": "MA_XXXXXXXX",
            "username": "sipuser_demo",
            "password": "<redacted>",
            "realm": "MA_XXXXXXXX.sip.vobiz.ai",
            "enabled": true,
            "created_at": "2026-05-12T05:11:51.635106Z",
            "updated_at": "2026-05-12T05:11:51.635106Z"
        });
        let c: Credential = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(c.username, "sipuser_demo");
        assert_eq!(c.realm, "MA_XXXXXXXX.sip.vobiz.ai");
        assert!(c.enabled);
        assert_eq!(c.description, None);
        let mut expected = v;
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(serde_json::to_value(&c).unwrap(), expected);
    }

    #[test]
    fn seed_002_create_body() {
        let body = CredentialCreate {
            username: "trunk_user_001".into(),
            password: SecretString::from("SecurePassword123!"),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"username": "trunk_user_001", "password": "SecurePassword123!"})
        );
        assert!(!format!("{body:?}").contains("SecurePassword123!"));
        let upd = CredentialUpdate {
            enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&upd).unwrap(),
            json!({"enabled": false})
        );
    }

    #[test]
    fn list_meta_total_or_total_count() {
        let p: ListPage<Credential> = serde_json::from_value(json!({
            "meta": {"limit": 20, "offset": 0, "total": 1},
            "objects": [{"id": "x", "username": "u", "enabled": false}]
        }))
        .unwrap();
        assert_eq!(p.meta.total(), Some(1));
        assert!(!p.objects[0].enabled);
        let p: ListPage<Credential> = serde_json::from_value(json!({
            "meta": {"limit": 20, "offset": 0, "total_count": 7},
            "objects": []
        }))
        .unwrap();
        assert_eq!(p.meta.total(), Some(7));
    }

    #[test]
    fn trunk_update_keeps_fields() {
        let t: Trunk = serde_json::from_value(json!({
            "trunk_id": "t1", "name": "main", "trunk_domain": "t1.sip.vobiz.ai",
            "trunk_status": "active", "trunk_direction": "OUTBOUND",
            "credential_uuid": null, "enabled": true, "max_concurrent_calls": 5
        }))
        .unwrap();
        let u = TrunkUpdate::keeping(&t, Nullable::Value("c1".into()));
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"name": "main", "max_concurrent_calls": 5, "enabled": true, "credential_uuid": "c1"})
        );
        let u = TrunkUpdate::keeping(&t, Nullable::Null);
        assert_eq!(
            serde_json::to_value(&u).unwrap()["credential_uuid"],
            json!(null)
        );
    }
}
