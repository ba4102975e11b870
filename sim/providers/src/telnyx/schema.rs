//! The CredentialConnection schema of seed 001: types, enums, ranges and defaults.

use serde_json::{Map, Value, json};

#[derive(Clone, Copy)]
pub enum Ty {
    Bool,
    /// boolean or null
    NBool,
    Str,
    /// string or null
    NStr,
    /// a URL with a scheme, or "" (unset)
    Url,
    /// a URL with a scheme, "" or null
    NUrl,
    Int {
        min: Option<i64>,
        max: Option<i64>,
        multiple_of: Option<i64>,
        nullable: bool,
    },
    Enum(&'static [&'static str]),
    /// enum value or null
    NEnum(&'static [&'static str]),
    /// enum value, "" (blank) or null
    BlankEnum(&'static [&'static str]),
    StrArray,
    UserName,
    Password,
    /// an int64 as a decimal string, or null
    NInt64Str,
    Obj(&'static [(&'static str, Ty)]),
}

const fn int(min: i64, max: i64) -> Ty {
    Ty::Int {
        min: Some(min),
        max: Some(max),
        multiple_of: None,
        nullable: false,
    }
}

const NINT: Ty = Ty::Int {
    min: None,
    max: None,
    multiple_of: None,
    nullable: true,
};

pub const ANCHORSITES: &[&str] = &[
    "Latency",
    "Chicago, IL",
    "Ashburn, VA",
    "San Jose, CA",
    "Sydney, Australia",
    "Amsterdam, Netherlands",
    "London, UK",
    "Toronto, Canada",
    "Vancouver, Canada",
    "Frankfurt, Germany",
];
pub const SIP_URI_PREF: &[&str] = &["disabled", "unrestricted", "internal"];
pub const DTMF: &[&str] = &["RFC 2833", "Inband", "SIP INFO"];
pub const ENCRYPTED_MEDIA: &[&str] = &["SRTP"];
// Seed 001 lists '1' and '2'. providers.md says create also allows "texml"; we follow
// the seed (both create and update accept only "1" and "2").
pub const WEBHOOK_API_VERSION: &[&str] = &["1", "2"];
pub const RTCP_PORT: &[&str] = &["rtcp-mux", "rtp+1"];
pub const ANI_FORMAT: &[&str] = &["+E.164", "E.164", "+E.164-national", "E.164-national"];
pub const DNIS_FORMAT: &[&str] = &["+e164", "e164", "national", "sip_username"];
pub const ROUTING: &[&str] = &["sequential", "round-robin"];
pub const SIMRING: &[&str] = &["disabled", "enabled"];
pub const ANI_OVERRIDE_TYPE: &[&str] = &["always", "normal", "emergency"];
pub const T38: &[&str] = &[
    "telnyx",
    "customer",
    "disabled",
    "passthru",
    "caller-passthru",
    "callee-passthru",
];
pub const NOISE: &[&str] = &["inbound", "outbound", "both", "disabled"];
pub const ENGINES: &[&str] = &[
    "denoiser",
    "deep_filter_net",
    "deep_filter_net_large",
    "krisp_viva_tel",
    "krisp_viva_tel_lite",
    "krisp_viva_promodel",
    "krisp_viva_ss",
    "quail_voice_focus",
];

const RTCP: &[(&str, Ty)] = &[
    ("port", Ty::Enum(RTCP_PORT)),
    ("capture_enabled", Ty::Bool),
    ("report_frequency_secs", int(5, 3000)),
];

const INBOUND: &[(&str, Ty)] = &[
    ("ani_number_format", Ty::Enum(ANI_FORMAT)),
    ("dnis_number_format", Ty::Enum(DNIS_FORMAT)),
    ("codecs", Ty::StrArray),
    ("default_routing_method", Ty::BlankEnum(ROUTING)),
    ("channel_limit", NINT),
    ("generate_ringback_tone", Ty::Bool),
    ("isup_headers_enabled", Ty::Bool),
    ("prack_enabled", Ty::Bool),
    ("sip_compact_headers_enabled", Ty::Bool),
    ("timeout_1xx_secs", int(1, 120)),
    ("timeout_2xx_secs", int(1, 600)),
    ("shaken_stir_enabled", Ty::Bool),
    ("simultaneous_ringing", Ty::Enum(SIMRING)),
];

const OUTBOUND: &[(&str, Ty)] = &[
    ("call_parking_enabled", Ty::NBool),
    ("ani_override", Ty::Str),
    ("ani_override_type", Ty::Enum(ANI_OVERRIDE_TYPE)),
    ("channel_limit", NINT),
    ("instant_ringback_enabled", Ty::Bool),
    ("generate_ringback_tone", Ty::Bool),
    // "A 2-character country code" is descriptive (the seed's own example is
    // "string"), so any string is accepted.
    ("localization", Ty::Str),
    ("t38_reinvite_source", Ty::Enum(T38)),
    ("outbound_voice_profile_id", Ty::NInt64Str),
];

const NOISE_DETAILS: &[(&str, Ty)] = &[
    ("engine", Ty::Enum(ENGINES)),
    (
        "attenuation_limit",
        Ty::Int {
            min: Some(0),
            max: Some(100),
            multiple_of: Some(10),
            nullable: false,
        },
    ),
];

const JITTER: &[(&str, Ty)] = &[
    ("enable_jitter_buffer", Ty::Bool),
    ("jitterbuffer_msec_min", int(40, 400)),
    ("jitterbuffer_msec_max", int(40, 400)),
];

/// Writable top-level fields. Anything else in a request body (including the
/// read-only `id`, `record_type`, `created_at`, `updated_at`) is ignored.
pub const CONNECTION: &[(&str, Ty)] = &[
    ("active", Ty::Bool),
    ("user_name", Ty::UserName),
    ("password", Ty::Password),
    ("anchorsite_override", Ty::Enum(ANCHORSITES)),
    ("connection_name", Ty::Str),
    ("sip_uri_calling_preference", Ty::Enum(SIP_URI_PREF)),
    ("default_on_hold_comfort_noise_enabled", Ty::Bool),
    ("dtmf_type", Ty::Enum(DTMF)),
    ("encode_contact_header_enabled", Ty::Bool),
    ("encrypted_media", Ty::NEnum(ENCRYPTED_MEDIA)),
    ("onnet_t38_passthrough_enabled", Ty::Bool),
    ("ios_push_credential_id", Ty::NStr),
    ("android_push_credential_id", Ty::NStr),
    ("webhook_event_url", Ty::Url),
    ("webhook_event_failover_url", Ty::NUrl),
    ("webhook_api_version", Ty::Enum(WEBHOOK_API_VERSION)),
    (
        "webhook_timeout_secs",
        Ty::Int {
            min: Some(0),
            max: Some(30),
            multiple_of: None,
            nullable: true,
        },
    ),
    ("call_cost_in_webhooks", Ty::Bool),
    ("tags", Ty::StrArray),
    ("rtcp_settings", Ty::Obj(RTCP)),
    ("inbound", Ty::Obj(INBOUND)),
    ("outbound", Ty::Obj(OUTBOUND)),
    ("noise_suppression", Ty::Enum(NOISE)),
    ("noise_suppression_details", Ty::Obj(NOISE_DETAILS)),
    ("jitter_buffer", Ty::Obj(JITTER)),
];

/// The stored defaults (seed 001 `default:` values; where the seed has none we use
/// the first/"off" value: sip_uri_calling_preference "disabled", noise_suppression
/// "disabled", default_routing_method null, webhook_event_url "").
pub fn connection_defaults() -> Value {
    json!({
        "active": true,
        "anchorsite_override": "Latency",
        "sip_uri_calling_preference": "disabled",
        "default_on_hold_comfort_noise_enabled": true,
        "dtmf_type": "RFC 2833",
        "encode_contact_header_enabled": false,
        "encrypted_media": null,
        "onnet_t38_passthrough_enabled": false,
        "ios_push_credential_id": null,
        "android_push_credential_id": null,
        "webhook_event_url": "",
        "webhook_event_failover_url": "",
        "webhook_api_version": "1",
        "webhook_timeout_secs": null,
        "call_cost_in_webhooks": false,
        "tags": [],
        "rtcp_settings": {"port": "rtp+1", "capture_enabled": false, "report_frequency_secs": 5},
        "inbound": {
            "ani_number_format": "E.164-national",
            "dnis_number_format": "e164",
            "codecs": ["G722", "G711U", "G711A", "G729", "OPUS", "H.264"],
            "default_routing_method": null,
            "channel_limit": null,
            "generate_ringback_tone": false,
            "isup_headers_enabled": false,
            "prack_enabled": false,
            "sip_compact_headers_enabled": true,
            "timeout_1xx_secs": 3,
            "timeout_2xx_secs": 90,
            "shaken_stir_enabled": false,
            "simultaneous_ringing": "disabled"
        },
        "outbound": {
            "call_parking_enabled": false,
            "ani_override": "",
            "ani_override_type": "always",
            "channel_limit": null,
            "instant_ringback_enabled": true,
            "generate_ringback_tone": false,
            "localization": "US",
            "t38_reinvite_source": "telnyx",
            "outbound_voice_profile_id": null
        },
        "noise_suppression": "disabled",
        "noise_suppression_details": {"engine": "denoiser", "attenuation_limit": 0},
        "jitter_buffer": {
            "enable_jitter_buffer": false,
            "jitterbuffer_msec_min": 60,
            "jitterbuffer_msec_max": 200
        }
    })
}

/// Default attenuation limit per engine (seed 001).
pub fn engine_default_attenuation(engine: &str) -> i64 {
    match engine {
        "denoiser" => 0,
        "quail_voice_focus" => 100,
        _ => 80,
    }
}

/// One validation failure.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldErr {
    pub pointer: String,
    pub detail: String,
}

fn err(errs: &mut Vec<FieldErr>, pointer: &str, detail: impl Into<String>) {
    errs.push(FieldErr {
        pointer: pointer.to_string(),
        detail: detail.into(),
    });
}

pub fn valid_user_name(s: &str) -> bool {
    let n = s.chars().count();
    (4..=32).contains(&n)
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().take(5).any(|c| c.is_ascii_alphabetic())
}

pub fn valid_url(s: &str) -> bool {
    // scheme ":" "//" something, RFC 3986 scheme syntax.
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let mut cs = scheme.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
}

fn enum_list(vals: &[&str]) -> String {
    vals.iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validates `body` against `fields`, collecting errors with JSON pointers under
/// `prefix`, and returns only the known fields.
pub fn validate(
    fields: &[(&str, Ty)],
    body: &Map<String, Value>,
    prefix: &str,
    errs: &mut Vec<FieldErr>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, ty) in fields {
        let Some(v) = body.get(*name) else { continue };
        let ptr = format!("{prefix}/{name}");
        let before = errs.len();
        let value = check(*ty, v, &ptr, errs);
        if errs.len() == before
            && let Some(value) = value
        {
            out.insert((*name).to_string(), value);
        }
    }
    out
}

fn check(ty: Ty, v: &Value, ptr: &str, errs: &mut Vec<FieldErr>) -> Option<Value> {
    match ty {
        Ty::Bool | Ty::NBool => match v {
            Value::Bool(_) => Some(v.clone()),
            Value::Null if matches!(ty, Ty::NBool) => Some(v.clone()),
            _ => {
                err(errs, ptr, "must be a boolean");
                None
            }
        },
        Ty::Str | Ty::NStr => match v {
            Value::String(_) => Some(v.clone()),
            Value::Null if matches!(ty, Ty::NStr) => Some(v.clone()),
            _ => {
                err(errs, ptr, "must be a string");
                None
            }
        },
        Ty::Url | Ty::NUrl => match v {
            Value::String(s) if s.is_empty() || valid_url(s) => Some(v.clone()),
            Value::Null if matches!(ty, Ty::NUrl) => Some(v.clone()),
            _ => {
                err(
                    errs,
                    ptr,
                    "must be a valid URL including a scheme, such as 'https'",
                );
                None
            }
        },
        Ty::Int {
            min,
            max,
            multiple_of,
            nullable,
        } => {
            if v.is_null() && nullable {
                return Some(Value::Null);
            }
            let range = match (min, max) {
                (Some(a), Some(b)) => format!(" between {a} and {b}"),
                _ => String::new(),
            };
            let Some(n) = v.as_i64() else {
                err(errs, ptr, format!("must be an integer{range}"));
                return None;
            };
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                err(errs, ptr, format!("must be an integer{range}"));
                return None;
            }
            if let Some(m) = multiple_of
                && n % m != 0
            {
                err(errs, ptr, format!("must be a multiple of {m}"));
                return None;
            }
            Some(v.clone())
        }
        Ty::Enum(vals) | Ty::NEnum(vals) | Ty::BlankEnum(vals) => {
            let nullable = matches!(ty, Ty::NEnum(_) | Ty::BlankEnum(_));
            let blank = matches!(ty, Ty::BlankEnum(_));
            match v {
                Value::Null if nullable => Some(Value::Null),
                Value::String(s) if vals.contains(&s.as_str()) => Some(v.clone()),
                Value::String(s) if blank && s.is_empty() => Some(v.clone()),
                _ => {
                    err(errs, ptr, format!("must be one of {}", enum_list(vals)));
                    None
                }
            }
        }
        Ty::StrArray => match v {
            Value::Array(a) if a.iter().all(Value::is_string) => Some(v.clone()),
            _ => {
                err(errs, ptr, "must be an array of strings");
                None
            }
        },
        Ty::UserName => match v {
            Value::String(s) if valid_user_name(s) => Some(v.clone()),
            _ => {
                err(
                    errs,
                    ptr,
                    "must be 4-32 characters long, alphanumeric only, with at least one letter among the first 5 characters",
                );
                None
            }
        },
        Ty::Password => match v {
            Value::String(s) if (8..=128).contains(&s.chars().count()) => Some(v.clone()),
            _ => {
                err(errs, ptr, "must be 8 to 128 characters long");
                None
            }
        },
        Ty::NInt64Str => match v {
            Value::Null => Some(Value::Null),
            Value::String(s) if s.parse::<i64>().is_ok() => Some(v.clone()),
            _ => {
                err(errs, ptr, "must be an int64 id as a string");
                None
            }
        },
        Ty::Obj(fields) => match v {
            Value::Object(m) => Some(Value::Object(validate(fields, m, ptr, errs))),
            _ => {
                err(errs, ptr, "must be an object");
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(valid_user_name("myusername123"));
        assert!(valid_user_name("1234a"));
        assert!(!valid_user_name("12345a"));
        assert!(!valid_user_name("abc"));
        assert!(!valid_user_name("abcd_e"));
        assert!(valid_user_name(&"a".repeat(32)));
        assert!(!valid_user_name(&"a".repeat(33)));
    }

    #[test]
    fn urls() {
        assert!(valid_url("https://example.com"));
        assert!(valid_url("http://x"));
        assert!(!valid_url("example.com"));
        assert!(!valid_url("://example.com"));
        assert!(!valid_url("https://"));
    }
}
