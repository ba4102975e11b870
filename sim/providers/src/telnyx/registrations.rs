//! SIP registrations: what a registrar would know after SIP clients sent REGISTER with
//! a connection's or a telephony credential's login. The admin API plays the client
//! (`POST /_sim/telnyx/register`); the provider API reports the outcome
//! (`check_registration_status` and `GET /v2/sip_registration_status`).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::util::ts_millis;

/// Default REGISTER `Expires` (seconds), as most SIP clients send.
pub(crate) const DEFAULT_EXPIRES: u64 = 3600;
/// Upper bound of `expires` accepted by the admin API (one day).
pub(crate) const MAX_EXPIRES: u64 = 86_400;

/// A REGISTER as the admin API receives it. `expires: 0` un-registers (RFC 3261 §10.2.2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    pub username: String,
    pub password: String,
    #[serde(default = "default_ip")]
    pub ip_address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_transport")]
    pub transport: String,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub expires: Option<u64>,
}

fn default_ip() -> String {
    "192.0.2.10".to_string()
}
fn default_port() -> u16 {
    5060
}
fn default_transport() -> String {
    "UDP".to_string()
}

/// The last REGISTER outcome seen for one username.
#[derive(Clone, Debug)]
pub(crate) enum Last {
    /// A binding that lives until `expires_at`.
    Bound {
        contact: Contact,
        at: Timestamp,
        expires_at: Timestamp,
    },
    /// `expires: 0` removed the binding.
    Unregistered { contact: Contact, at: Timestamp },
    /// The REGISTER was refused (wrong password). An older binding, if any, is kept
    /// until it expires, as a registrar does.
    Failed {
        at: Timestamp,
        previous: Option<Box<Last>>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Contact {
    pub ip_address: String,
    pub port: u16,
    pub transport: String,
    pub user_agent: Option<String>,
}

/// Registrar state, keyed by the exact SIP username (SIP digest usernames are compared
/// byte for byte).
#[derive(Default)]
pub(crate) struct Registrar {
    by_user: HashMap<String, Last>,
}

/// The six statuses of `check_registration_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    NotApplicable,
    NotRegistered,
    Failed,
    Expired,
    Registered,
    Unregistered,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotApplicable => "Not Applicable",
            Status::NotRegistered => "Not Registered",
            Status::Failed => "Failed",
            Status::Expired => "Expired",
            Status::Registered => "Registered",
            Status::Unregistered => "Unregistered",
        }
    }
}

/// What the registrar reports for one username at `now`.
pub(crate) struct View<'a> {
    pub status: Status,
    /// The contact of the live, expired or removed binding.
    pub contact: Option<&'a Contact>,
    /// When the last REGISTER (accepted or refused) arrived.
    pub last: Option<Timestamp>,
    /// When the live binding expires.
    pub expires_at: Option<Timestamp>,
    /// The SIP final response to the last REGISTER.
    pub last_response: Option<&'static str>,
}

impl Registrar {
    pub fn record_ok(&mut self, req: &RegisterRequest, now: Timestamp) {
        let contact = Contact {
            ip_address: req.ip_address.clone(),
            port: req.port,
            transport: req.transport.to_ascii_uppercase(),
            user_agent: req.user_agent.clone(),
        };
        let expires = req.expires.unwrap_or(DEFAULT_EXPIRES);
        let last = if expires == 0 {
            Last::Unregistered { contact, at: now }
        } else {
            let secs = i64::try_from(expires).unwrap_or(i64::MAX);
            Last::Bound {
                contact,
                at: now,
                expires_at: now
                    .checked_add(SignedDuration::from_secs(secs))
                    .unwrap_or(now),
            }
        };
        self.by_user.insert(req.username.clone(), last);
    }

    pub fn record_failure(&mut self, username: &str, now: Timestamp) {
        let previous = self.by_user.remove(username).map(|p| match p {
            // Only the binding matters after a refusal; a chain of refusals keeps one.
            Last::Failed { previous, .. } => previous,
            other => Some(Box::new(other)),
        });
        self.by_user.insert(
            username.to_string(),
            Last::Failed {
                at: now,
                previous: previous.flatten(),
            },
        );
    }

    pub fn view(&self, username: &str, now: Timestamp) -> View<'_> {
        let none = View {
            status: Status::NotRegistered,
            contact: None,
            last: None,
            expires_at: None,
            last_response: None,
        };
        match self.by_user.get(username) {
            None => none,
            Some(Last::Bound {
                contact,
                at,
                expires_at,
            }) => View {
                status: if *expires_at > now {
                    Status::Registered
                } else {
                    Status::Expired
                },
                contact: Some(contact),
                last: Some(*at),
                expires_at: (*expires_at > now).then_some(*expires_at),
                last_response: Some("200 OK"),
            },
            Some(Last::Unregistered { contact, at }) => View {
                status: Status::Unregistered,
                contact: Some(contact),
                last: Some(*at),
                expires_at: None,
                last_response: Some("200 OK"),
            },
            Some(Last::Failed { at, previous }) => {
                let live = previous.as_deref().and_then(|p| match p {
                    Last::Bound {
                        contact,
                        expires_at,
                        ..
                    } if *expires_at > now => Some((contact, *expires_at)),
                    _ => None,
                });
                View {
                    status: if live.is_some() {
                        Status::Registered
                    } else {
                        Status::Failed
                    },
                    contact: live.map(|(c, _)| c),
                    last: Some(*at),
                    expires_at: live.map(|(_, e)| e),
                    last_response: Some("403 Forbidden"),
                }
            }
        }
    }

    /// Every username's view, sorted by username (for `GET /_sim/telnyx/registrations`).
    pub fn dump(&self, now: Timestamp) -> Value {
        let mut users: Vec<&String> = self.by_user.keys().collect();
        users.sort();
        Value::Array(
            users
                .into_iter()
                .map(|u| {
                    let v = self.view(u, now);
                    let mut o = contact_json(&v);
                    o["username"] = json!(u);
                    o["status"] = json!(v.status.as_str());
                    o["expires_at"] = json!(v.expires_at.map(ts_millis));
                    o
                })
                .collect(),
        )
    }
}

fn contact_json(v: &View<'_>) -> Value {
    json!({
        "ip_address": v.contact.map(|c| c.ip_address.clone()),
        "port": v.contact.map(|c| c.port),
        "transport": v.contact.map(|c| c.transport.clone()),
        "user_agent": v.contact.and_then(|c| c.user_agent.clone()),
        "last_registration": v.last.map(ts_millis),
    })
}

/// The `data` of `check_registration_status` for a connection whose login is
/// `username`. An inactive connection cannot register: `Not Applicable`.
pub(crate) fn connection_status(v: &View<'_>, username: &str, active: bool) -> Value {
    let mut o = contact_json(v);
    o["record_type"] = json!("registration_status");
    o["sip_username"] = json!(username);
    o["status"] = json!(if active {
        v.status.as_str()
    } else {
        Status::NotApplicable.as_str()
    });
    o
}

/// The body of `GET /v2/sip_registration_status` (not wrapped in `data`: the SDK
/// models it as the top-level object).
pub(crate) fn lookup_body(
    v: &View<'_>,
    credential_type: &str,
    username: &str,
    connection_id: &str,
    connection_name: Option<&str>,
    active: bool,
) -> Value {
    let status = if !active {
        "connection_disabled"
    } else {
        match v.status {
            Status::Registered => "registered",
            Status::Failed => "failed",
            _ => "unknown",
        }
    };
    let registered = active && v.status == Status::Registered;
    json!({
        "credential_type": credential_type,
        "credential_username": username,
        "connection_id": connection_id,
        "connection_name": connection_name,
        "registered": registered,
        "sip_registration_status": status,
        "last_registration_response": v.last_response,
        "sip_registration_details": {
            "ua_ip": v.contact.map(|c| c.ip_address.clone()),
            "ua_port": v.contact.map(|c| c.port),
            "transport": v.contact.map(|c| c.transport.clone()),
            "last_modified": v.last.map(ts_millis),
            "expires": v.expires_at.map(|t| t.as_second()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(user: &str, expires: Option<u64>) -> RegisterRequest {
        RegisterRequest {
            username: user.into(),
            password: "x".into(),
            ip_address: "198.51.100.7".into(),
            port: 5062,
            transport: "tls".into(),
            user_agent: Some("Zoiper".into()),
            expires,
        }
    }

    #[test]
    fn lifecycle_of_one_username() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap_or_default();
        let at = |s: i64| t0 + SignedDuration::from_secs(s);
        let mut r = Registrar::default();
        assert_eq!(r.view("u", t0).status, Status::NotRegistered);
        r.record_ok(&req("u", Some(60)), t0);
        let v = r.view("u", at(59));
        assert_eq!(v.status, Status::Registered);
        assert_eq!(v.contact.map(|c| c.transport.as_str()), Some("TLS"));
        assert_eq!(r.view("u", at(60)).status, Status::Expired);
        // A refused re-REGISTER keeps the live binding until it expires.
        r.record_ok(&req("u", Some(60)), at(100));
        r.record_failure("u", at(110));
        r.record_failure("u", at(111));
        assert_eq!(r.view("u", at(120)).status, Status::Registered);
        assert_eq!(r.view("u", at(120)).last_response, Some("403 Forbidden"));
        assert_eq!(r.view("u", at(160)).status, Status::Failed);
        r.record_ok(&req("u", Some(0)), at(200));
        assert_eq!(r.view("u", at(200)).status, Status::Unregistered);
        assert_eq!(r.view("other", at(200)).status, Status::NotRegistered);
    }
}
