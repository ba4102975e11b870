//! SIP registration checks (`spec.registrationCheck`): the effective polling
//! interval, the mapping of Telnyx's two registration answers into
//! `status.registration`, and the `Registered` condition. Never affects Ready.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::status::{now_rfc3339, set_condition};
use crate::crd::RegistrationInfo;
use crate::crd::condition::REGISTERED;
use crate::provider::ProviderError;
use crate::provider::telnyx::{
    RegistrationCredentialType, RegistrationState, RegistrationStatus, SipRegistration,
    TelnyxClient,
};

/// Share of an account's request rate that registration checks may use.
pub const RATE_SHARE: f64 = 0.1;

/// Objects with `spec.registrationCheck`, per kind, as last counted from the
/// controllers' caches (see `runner::spawn_gauge`).
static CHECKED: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// Records how many objects of `kind` have checks on.
pub fn set_checked(kind: &str, n: usize) {
    if let Ok(mut m) = CHECKED.lock() {
        m.insert(kind.to_string(), n);
    }
}

/// Objects with checks on, across kinds (at least 1: the one being reconciled).
pub fn checked_total() -> usize {
    CHECKED
        .lock()
        .map(|m| m.values().sum::<usize>())
        .unwrap_or(0)
        .max(1)
}

/// Parses `spec.registrationCheck.interval` (`30s`, `5m`, `1h30m`); the schema
/// guarantees the shape and the 30 s minimum.
pub fn parse_interval(s: &str) -> Option<Duration> {
    let d: jiff::SignedDuration = s.parse().ok()?;
    Duration::try_from(d).ok().filter(|d| !d.is_zero())
}

/// The interval actually used: the configured one, stretched so that `checked`
/// objects polling one account of `rps` requests per second use at most
/// [`RATE_SHARE`] of it: `max(interval, checked / (RATE_SHARE × rps))`. Counting
/// every checked object against each account over-estimates, never under-estimates.
pub fn effective_interval(interval: Duration, checked: usize, rps: f64) -> Duration {
    let budget = RATE_SHARE * rps.max(0.001);
    let floor = Duration::from_secs_f64(checked as f64 / budget);
    interval.max(floor)
}

/// CamelCase of a registration state (condition reasons and metric labels take no
/// spaces); an undocumented value is `Unknown`.
pub fn camel(state: &RegistrationState) -> &'static str {
    match state {
        RegistrationState::NotApplicable => "NotApplicable",
        RegistrationState::NotRegistered => "NotRegistered",
        RegistrationState::Failed => "Failed",
        RegistrationState::Expired => "Expired",
        RegistrationState::Registered => "Registered",
        RegistrationState::Unregistered => "Unregistered",
        RegistrationState::Other(_) => "Unknown",
    }
}

/// The SIP login whose registration is checked; Telnyx answers for each kind of login
/// through its own endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registrant<'a> {
    /// A credential connection, by its Telnyx ID.
    Connection(&'a str),
    /// A telephony credential, by its `gencred…` SIP username.
    TelephonyCredential(&'a str),
}

/// Asks Telnyx for the live registration of `registrant`: the answer, and the account's
/// request rate, which stretches the polling interval ([`effective_interval`]).
pub async fn check(
    client: &TelnyxClient,
    registrant: Registrant<'_>,
) -> Result<(RegistrationInfo, f64), ProviderError> {
    let info = match registrant {
        Registrant::Connection(id) => from_connection(&client.check_registration_status(id).await?),
        Registrant::TelephonyCredential(username) => from_lookup(
            &client
                .sip_registration_status(RegistrationCredentialType::TelephonyCredential, username)
                .await?,
        ),
    };
    Ok((info, client.rate_limiter().rate()))
}

/// `status.registration` from `check_registration_status` (credential connections).
pub fn from_connection(r: &RegistrationStatus) -> RegistrationInfo {
    RegistrationInfo {
        status: Some(
            camel(&r.state().unwrap_or(RegistrationState::Other(String::new()))).to_string(),
        ),
        ip_address: r.ip_address.clone(),
        port: r.port.clone(),
        transport: r.transport.clone(),
        user_agent: r.user_agent.clone(),
        last_registration: r.last_registration.clone(),
        checked_at: Some(now_rfc3339()),
    }
}

/// `status.registration` from `GET /sip_registration_status` (telephony
/// credentials). That answer has its own vocabulary: `registered: true` is
/// Registered, `failed` Failed, `unregistering` Unregistered, `connection_disabled`
/// NotApplicable, anything else (`unknown`, `trying`, `standby`) NotRegistered.
pub fn from_lookup(r: &SipRegistration) -> RegistrationInfo {
    let state = match (r.registered, r.sip_registration_status.as_deref()) {
        (Some(true), _) | (_, Some("registered")) => "Registered",
        (_, Some("failed")) => "Failed",
        (_, Some("unregistering")) => "Unregistered",
        (_, Some("connection_disabled")) => "NotApplicable",
        _ => "NotRegistered",
    };
    let d = r.sip_registration_details.clone().unwrap_or_default();
    let registered = state == "Registered";
    RegistrationInfo {
        status: Some(state.to_string()),
        ip_address: d.ua_ip.filter(|_| registered),
        port: d.ua_port.filter(|_| registered),
        transport: d.transport.filter(|_| registered),
        user_agent: None,
        last_registration: d.last_modified,
        checked_at: Some(now_rfc3339()),
    }
}

/// Sets the `Registered` condition from `info` (True only when Registered).
pub fn mark(conds: &mut Vec<Condition>, info: &RegistrationInfo, generation: Option<i64>) {
    let status = info.status.as_deref().unwrap_or("Unknown");
    let ok = status == "Registered";
    let message = if ok {
        format!(
            "a SIP client is registered from {}",
            info.ip_address.as_deref().unwrap_or("an unknown address")
        )
    } else {
        "no SIP client is registered with this login".to_string()
    };
    set_condition(conds, REGISTERED, ok, status, &message, generation);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn intervals_parse_and_stretch_to_the_rate_share() {
        assert_eq!(parse_interval("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_interval("soon"), None);
        let s = Duration::from_secs;
        // (interval, checked objects, account rps) -> effective interval
        for (interval, n, rps, want) in [
            (s(30), 1, 10.0, s(30)),
            (s(30), 30, 10.0, s(30)),
            (s(30), 100, 10.0, s(100)),
            (s(60), 10_000, 10.0, s(10_000)),
            (s(60), 10_000, 100.0, s(1_000)),
        ] {
            assert_eq!(effective_interval(interval, n, rps), want, "{n} at {rps}");
        }
    }

    #[test]
    fn both_answers_map_to_camel_case_states() {
        let c = |s: &str| {
            from_connection(&RegistrationStatus {
                status: Some(s.into()),
                ..Default::default()
            })
            .status
            .unwrap()
        };
        assert_eq!(c("Not Registered"), "NotRegistered");
        assert_eq!(c("Registered"), "Registered");
        assert_eq!(c("Expired"), "Expired");
        assert_eq!(c("Not Applicable"), "NotApplicable");
        assert_eq!(c("Something New"), "Unknown");
        let l = |registered: bool, s: &str| {
            from_lookup(&SipRegistration {
                registered: Some(registered),
                sip_registration_status: Some(s.into()),
                ..Default::default()
            })
            .status
            .unwrap()
        };
        assert_eq!(l(true, "registered"), "Registered");
        assert_eq!(l(false, "unknown"), "NotRegistered");
        assert_eq!(l(false, "failed"), "Failed");
        assert_eq!(l(false, "connection_disabled"), "NotApplicable");
    }

    #[test]
    fn registered_condition_follows_the_status() {
        let mut conds = Vec::new();
        let mut info = RegistrationInfo {
            status: Some("NotRegistered".into()),
            ..Default::default()
        };
        mark(&mut conds, &info, Some(1));
        assert_eq!(
            (conds[0].status.as_str(), conds[0].reason.as_str()),
            ("False", "NotRegistered")
        );
        info.status = Some("Registered".into());
        mark(&mut conds, &info, Some(1));
        assert_eq!(
            (conds[0].status.as_str(), conds[0].reason.as_str()),
            ("True", "Registered")
        );
    }
}
