//! TelephonyCredential: Telnyx generates the SIP username and password; a lost create
//! response is recovered by looking the credential up by its deterministic name
//! (Telnyx returns the password on GET too). Only its hooks live here.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::Controller;
use secrecy::{ExposeSecret, SecretString};

use super::error::Error;
use super::kind::{Connect, ManagedKind, managed_fields, managed_status, registration_fields};
use super::provider_calls::{deleted, from_provider, no_desired_state};
use super::registration::Registrant;
use super::runner::wake_on_ready;
use crate::crd::{SipConnection, TelephonyCredential, TelephonyCredentialStatus};
use crate::managed::{ExternalClient, ExternalError, ExternalErrorKind, Observation};
use crate::provider::Lookup;
use crate::provider::telnyx::{
    SIP_DOMAIN, TelephonyCredentialFilter, TelephonyCredentialObject as Cred,
    TelephonyCredentialRequest, TelnyxClient,
};
use crate::secrets::ConnectionDetails;

managed_status!(TelephonyCredentialStatus);

/// The credential's name at Telnyx: its deterministic identity. Each rotation
/// replaces the credential by a new one, named with the rotation's number, so a
/// successor is found (never created twice) exactly as a first credential is.
pub fn credential_name(obj: &TelephonyCredential, rotation: u32) -> String {
    let base =
        obj.spec.name.clone().unwrap_or_else(|| {
            format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
        });
    match rotation {
        0 => base,
        n => format!("{base} (rotation {n})"),
    }
}

/// How long Telnyx takes to activate a new credential (documented as about 5 s).
pub const ACTIVATION: Duration = Duration::from_secs(5);

/// How long until a credential created at `created_at` is active, seen at `now`.
/// A creation time far ahead of our clock cannot be measured: it counts as active
/// rather than waited for forever.
fn activation_left(created_at: Option<&str>, now: jiff::Timestamp) -> Option<Duration> {
    let created: jiff::Timestamp = created_at?.parse().ok()?;
    let age = created.duration_until(now);
    if age < -jiff::SignedDuration::from_secs(60) {
        return None;
    }
    let left =
        jiff::SignedDuration::try_from(ACTIVATION).ok()? - age.max(jiff::SignedDuration::ZERO);
    Duration::try_from(left).ok().filter(|d| !d.is_zero())
}

/// When a JWT expires (its `exp` claim), read without verifying: the operator only
/// schedules its refresh.
fn jwt_expiry(token: &str) -> Option<jiff::Timestamp> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    jiff::Timestamp::from_second(v.get("exp")?.as_i64()?).ok()
}

fn same_instant(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |s: &str| {
        s.parse::<jiff::Timestamp>().ok().or_else(|| {
            s.parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
    };
    match (a, b) {
        (Some(a), Some(b)) => a == b || (parse(a).is_some() && parse(a) == parse(b)),
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// The Telnyx telephony credential as the engine sees it. `desired` is absent while
/// deleting (deletion needs only the identity).
pub struct TelnyxCredential {
    client: TelnyxClient,
    /// How the provider object is found.
    lookup: Lookup,
    name: String,
    connection_id: String,
    desired: Option<TelephonyCredentialRequest>,
    /// The password the Secret holds, for a response that omits it.
    known_password: Option<SecretString>,
    /// The marks of the login this client publishes.
    marks: BTreeMap<String, String>,
    /// `spec.accessToken`: the Secret key and how long before expiry to refresh.
    token: Option<(String, Duration)>,
    /// The token the Secret holds (or a fresh one), for this credential.
    held_token: Mutex<Option<SecretString>>,
}

impl TelnyxCredential {
    /// Fields that differ. Telnyx does not echo `tag` in a credential (seed 003), so a
    /// tag absent from the response is no drift by itself: [`Self::tag_applied`]
    /// verifies it through the list filter instead.
    fn drift(&self, c: &Cred, tag_applied: bool) -> Vec<String> {
        let Some(want) = &self.desired else {
            return Vec::new();
        };
        let mut drift = Vec::new();
        if !tag_applied {
            drift.push("tag".to_string());
        }
        if !same_instant(want.expires_at.as_deref(), c.expires_at.as_deref()) {
            drift.push("expires_at".to_string());
        }
        let conn = format!("connection:{}", self.connection_id);
        if c.resource_id.as_deref().is_some_and(|r| r != conn) {
            drift.push("connection_id".to_string());
        }
        drift
    }

    /// Whether the credential carries the desired tag: compared when Telnyx echoes
    /// it, else verified with `filter[tag]` (one read, only for tagged objects).
    async fn tag_applied(&self, c: &Cred) -> Result<bool, ExternalError> {
        let Some(tag) = self.desired.as_ref().and_then(|d| d.tag.clone()) else {
            return Ok(true);
        };
        if let Some(seen) = &c.tag {
            return Ok(*seen == tag);
        }
        let filter = TelephonyCredentialFilter {
            tag: Some(tag),
            name: c.name.clone(),
            ..TelephonyCredentialFilter::for_connection(&self.connection_id)
        };
        let tagged = self
            .client
            .list_all_telephony_credentials(&filter)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok(tagged.iter().any(|t| t.id == c.id))
    }

    fn request(&self) -> Result<&TelephonyCredentialRequest, ExternalError> {
        self.desired.as_ref().ok_or_else(no_desired_state)
    }

    fn held_token(&self) -> Option<SecretString> {
        self.held_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ExternalClient for TelnyxCredential {
    type Resource = Cred;

    fn details(&self, id: &str, c: &Cred) -> Option<ConnectionDetails> {
        self.desired.as_ref()?;
        Some(ConnectionDetails {
            username: c.sip_username.clone().unwrap_or_default(),
            password: c
                .sip_password
                .clone()
                .or_else(|| self.known_password.clone())
                .unwrap_or_else(|| SecretString::from("")),
            domain: SIP_DOMAIN.into(),
            id: Some(id.into()),
            synced_digest: None,
            marks: self.marks.clone(),
            extra: match (&self.token, self.held_token()) {
                (Some((key, _)), Some(t)) => [(key.clone(), t)].into(),
                _ => BTreeMap::new(),
            },
        })
    }

    async fn refresh(&self, id: &str, _: &Cred) -> Result<(), ExternalError> {
        let Some((_, before)) = &self.token else {
            return Ok(());
        };
        let due = match self.held_token() {
            None => true,
            Some(t) => jwt_expiry(t.expose_secret()).is_none_or(|exp| {
                jiff::Timestamp::now()
                    .checked_add(*before)
                    .is_ok_and(|soon| exp <= soon)
            }),
        };
        if due {
            let t = self
                .client
                .create_access_token(id)
                .await
                .map_err(|e| from_provider(&e))?;
            *self.held_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        }
        Ok(())
    }

    async fn observe(&self, id: Option<&str>) -> Result<Option<Observation<Cred>>, ExternalError> {
        let (name, connection_id) = (&self.name, &self.connection_id);
        let found = self
            .client
            .locate_telephony_credential(id, name, connection_id, self.lookup)
            .await
            .map_err(|e| from_provider(&e))?;
        let Some(cred) = found else { return Ok(None) };
        let drift = self.drift(&cred, self.tag_applied(&cred).await?);
        Ok(Some(Observation::new(cred.id.clone(), cred, drift)))
    }

    async fn create(&self) -> Result<(String, Cred), ExternalError> {
        let c = self
            .client
            .create_telephony_credential(self.request()?)
            .await
            .map_err(|e| from_provider(&e))?;
        Ok((c.id.clone(), c))
    }

    async fn update(&self, o: &Observation<Cred>) -> Result<Cred, ExternalError> {
        if o.resource.expired == Some(true) {
            return Err(ExternalError::new(
                ExternalErrorKind::Terminal,
                "CredentialExpired",
                format!(
                    "credential {} has expired at Telnyx and cannot be updated; delete and recreate the TelephonyCredential",
                    o.external_name
                ),
            ));
        }
        self.client
            .update_telephony_credential(&o.external_name, self.request()?)
            .await
            .map_err(|e| from_provider(&e))
    }

    async fn delete(&self, id: &str) -> Result<(), ExternalError> {
        deleted(self.client.delete_telephony_credential(id).await)
    }
}

/// The Telnyx connection ID: given, or that of the referenced SipConnection once it
/// is Ready (waiting, woken by its watch, until then).
async fn connection_id(cx: &Connect<'_, TelephonyCredential>) -> Result<String, Error> {
    let spec = &cx.obj.spec;
    if let Some(id) = &spec.connection_id {
        return Ok(id.clone());
    }
    let r = spec.sip_connection_ref.as_ref().ok_or_else(|| {
        Error::InvalidSpec("spec: set exactly one of sipConnectionRef and connectionID".into())
    })?;
    let waiting = |message: String, soon: bool| Error::Waiting {
        reason: "WaitingForSipConnection",
        message,
        soon,
    };
    let conn = Api::<SipConnection>::namespaced(cx.ctx.client.clone(), cx.namespace)
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| {
            waiting(
                format!("SipConnection {:?} does not exist yet", r.name),
                false,
            )
        })?;
    match conn.status.as_ref().and_then(|s| s.connection_id.clone()) {
        Some(id) if conn.ready() == Some("True") => Ok(id),
        // A connection with no Ready yet is being created now.
        _ => Err(waiting(
            format!("SipConnection {:?} is not Ready yet", r.name),
            conn.ready().is_none(),
        )),
    }
}

/// The Telnyx connection ID the referenced SipConnection records, Ready or not.
async fn recorded_connection_id(
    cx: &Connect<'_, TelephonyCredential>,
) -> Result<Option<String>, Error> {
    let Some(r) = &cx.obj.spec.sip_connection_ref else {
        return Ok(None);
    };
    let conn = Api::<SipConnection>::namespaced(cx.ctx.client.clone(), cx.namespace)
        .get_opt(&r.name)
        .await?;
    Ok(conn.and_then(|c| c.status.and_then(|s| s.connection_id)))
}

impl ManagedKind for TelephonyCredential {
    type Client = TelnyxCredential;
    const WHAT: &'static str = "the telephony credential at Telnyx";

    managed_fields!();

    fn expires_at(&self) -> Option<&str> {
        self.spec.expires_at.as_deref()
    }

    fn rotation_schedule(&self) -> crate::managed::rotation::Schedule {
        let r = self.spec.rotation.as_ref();
        let parse =
            |d: Option<&String>| d.and_then(|d| crate::managed::rotation::parse_duration(d));
        crate::managed::rotation::Schedule {
            interval: parse(r.and_then(|r| r.interval.as_ref())),
            renew_before: parse(r.and_then(|r| r.renew_before.as_ref())),
        }
    }

    fn replaces_on_rotation(&self) -> Option<Duration> {
        let grace = self
            .spec
            .rotation
            .as_ref()
            .and_then(|r| r.grace_period.as_deref())
            .and_then(crate::managed::rotation::parse_duration);
        Some(grace.unwrap_or(Duration::from_secs(600)))
    }

    fn usable_in(c: &Cred) -> Result<Option<Duration>, String> {
        if c.expired == Some(true) {
            return Err(format!(
                "has expired at Telnyx{}",
                c.expires_at
                    .as_deref()
                    .map(|e| format!(" (at {e})"))
                    .unwrap_or_default()
            ));
        }
        Ok(activation_left(
            c.created_at.as_deref(),
            jiff::Timestamp::now(),
        ))
    }

    fn validate(&self) -> Result<(), Error> {
        match &self.spec.expires_at {
            Some(at) if at.parse::<jiff::Timestamp>().is_err() => Err(Error::InvalidSpec(format!(
                "spec.expiresAt: {at:?} is not an RFC 3339 timestamp such as 2027-01-01T00:00:00Z"
            ))),
            _ => Ok(()),
        }
    }

    async fn connect(cx: Connect<'_, Self>) -> Result<TelnyxCredential, Error> {
        let client = cx.account.clone().telnyx("TelephonyCredential")?;
        let name = credential_name(cx.obj, cx.issue.count);
        let Some(slot) = cx.secret else {
            // Deleting: the identity as recorded when it was created, or, when the
            // object is deleted before its create was recorded (the response lost, the
            // process killed), the connection that create used: the referenced
            // SipConnection's. Without it the lookup would miss a credential the
            // provider holds, and the finalizer would go with the credential left.
            let connection_id = match cx
                .status
                .connection_id
                .clone()
                .or_else(|| cx.obj.spec.connection_id.clone())
            {
                Some(id) => id,
                None => recorded_connection_id(&cx).await?.unwrap_or_default(),
            };
            return Ok(TelnyxCredential {
                client,
                lookup: cx.lookup,
                name,
                connection_id,
                desired: None,
                known_password: None,
                marks: BTreeMap::new(),
                token: None,
                held_token: Mutex::new(None),
            });
        };
        let connection_id = connection_id(&cx).await?;
        let spec = &cx.obj.spec;
        // The first credential expires when the spec says; a rotation's successor when
        // its renewal decided (recorded in the login's mark).
        let mut issue = cx.issue.clone();
        if issue.count == 0 {
            issue.expires_at = spec.expires_at.as_deref().and_then(|e| e.parse().ok());
        }
        let expires_at = issue.expires_at.map(crate::managed::rotation::rfc3339);
        let token = spec.access_token.as_ref().filter(|t| t.enabled).map(|t| {
            (
                t.key.clone().unwrap_or_else(|| "token".into()),
                t.refresh_before
                    .as_deref()
                    .and_then(crate::managed::rotation::parse_duration)
                    .unwrap_or(Duration::from_secs(3600)),
            )
        });
        // A rotation's successor starts with no token: the one held belongs to the
        // credential it replaces.
        let held = token
            .as_ref()
            .filter(|_| !cx.rotate)
            .and_then(|(key, _)| slot.key(key));
        Ok(TelnyxCredential {
            client,
            lookup: cx.lookup,
            desired: Some(TelephonyCredentialRequest {
                connection_id: Some(connection_id.clone()),
                name: Some(name.clone()),
                tag: spec.tag.clone(),
                expires_at,
            }),
            name,
            connection_id,
            // A successor's password is Telnyx's to generate; the held one is its
            // predecessor's.
            known_password: slot.password().filter(|_| !cx.rotate),
            marks: super::password_source::marks(&issue),
            token,
            held_token: Mutex::new(held),
        })
    }

    registration_fields!();

    fn registrant(status: &TelephonyCredentialStatus) -> Option<Registrant<'_>> {
        status
            .sip_username
            .as_deref()
            .map(Registrant::TelephonyCredential)
    }

    fn report_secret(
        &self,
        slot: &super::secret_target::SecretSlot,
        status: &mut TelephonyCredentialStatus,
    ) {
        let previous = slot.issue().and_then(|i| i.previous);
        status.previous_credential_id = previous.as_ref().map(|p| p.external_name.clone());
        status.previous_credential_delete_at = previous
            .as_ref()
            .map(|p| crate::managed::rotation::rfc3339(p.delete_at));
        let key = self
            .spec
            .access_token
            .as_ref()
            .filter(|t| t.enabled)
            .map(|t| t.key.clone().unwrap_or_else(|| "token".into()));
        status.access_token_expires_at = key
            .and_then(|k| slot.key(&k))
            .and_then(|t| jwt_expiry(t.expose_secret()))
            .map(crate::managed::rotation::rfc3339);
    }

    fn refresh_at(&self, status: &TelephonyCredentialStatus) -> Option<jiff::Timestamp> {
        let before = self
            .spec
            .access_token
            .as_ref()
            .filter(|t| t.enabled)?
            .refresh_before
            .as_deref()
            .and_then(crate::managed::rotation::parse_duration)
            .unwrap_or(Duration::from_secs(3600));
        let exp: jiff::Timestamp = status.access_token_expires_at.as_deref()?.parse().ok()?;
        exp.checked_sub(before).ok()
    }

    fn report(id: &str, c: &Cred, status: &mut TelephonyCredentialStatus) {
        status.credential_id = Some(id.to_string());
        if let Some(conn) = c.connection_id() {
            status.connection_id = Some(conn.to_string());
        }
        status.sip_username = c.sip_username.clone();
        status.expired = c.expired;
        status.expires_at = c.expires_at.clone();
        status.created_at = c.created_at.clone();
    }

    fn watch_dependencies(
        ctrl: Controller<DeserializeGuard<Self>>,
        client: &kube::Client,
        namespace: Option<&str>,
    ) -> Controller<DeserializeGuard<Self>> {
        wake_on_ready::<Self, SipConnection>(ctrl, client, namespace, |t, c| {
            t.namespace() == c.namespace()
                && t.spec
                    .sip_connection_ref
                    .as_ref()
                    .is_some_and(|r| r.name == c.name_any())
        })
    }
}
