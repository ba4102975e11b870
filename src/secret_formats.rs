//! Client-ready renderings of a SIP login (`spec.secret.formats`), pure and
//! deterministic: the same login always renders the same bytes, so an unchanged login
//! never causes a Secret write.
//!
//! | format | Secret key | consumer and syntax |
//! |---|---|---|
//! | `sipURI` | `sip-uri` | `sip:user@domain` (RFC 3261; the user part percent-escaped) |
//! | `webrtc` | `webrtc.json` | `{"login": …, "password": …}`, the options of `new TelnyxRTC(…)` |
//! | `pjsip` | `pjsip.conf` | Asterisk `pjsip.conf`: registration, auth, aor and endpoint sections |
//! | `freeswitch` | `freeswitch-gateway.xml` | a Sofia `<gateway>` inside `<include>` |
//! | `env` | `sip.env` | dotenv: `SIP_USERNAME`, `SIP_PASSWORD`, `SIP_DOMAIN`, `SIP_URI` |
//!
//! A login a format cannot carry faithfully (see [`Unrepresentable`]) gets no key for
//! that format rather than a key a client would misread.

use std::fmt::Write as _;

use crate::crd::SecretFormat;

/// Every format, in the order their keys are documented.
pub const ALL: [SecretFormat; 5] = [
    SecretFormat::SipUri,
    SecretFormat::Webrtc,
    SecretFormat::Pjsip,
    SecretFormat::Freeswitch,
    SecretFormat::Env,
];

/// The login to render. `name` names the pjsip sections and the FreeSWITCH gateway
/// (the owning object's name: a DNS label, so safe in both).
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub name: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub domain: &'a str,
}

impl std::fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("name", &self.name)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("domain", &self.domain)
            .finish()
    }
}

/// Why a login cannot be rendered in a format. Names the field and the rule, never the
/// value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} cannot be written in the {format} format: {rule}")]
pub struct Unrepresentable {
    pub format: &'static str,
    pub field: &'static str,
    pub rule: &'static str,
}

/// The Secret key of a format.
pub fn key(format: SecretFormat) -> &'static str {
    match format {
        SecretFormat::SipUri => "sip-uri",
        SecretFormat::Webrtc => "webrtc.json",
        SecretFormat::Pjsip => "pjsip.conf",
        SecretFormat::Freeswitch => "freeswitch-gateway.xml",
        SecretFormat::Env => "sip.env",
    }
}

fn format_name(format: SecretFormat) -> &'static str {
    match format {
        SecretFormat::SipUri => "sipURI",
        SecretFormat::Webrtc => "webrtc",
        SecretFormat::Pjsip => "pjsip",
        SecretFormat::Freeswitch => "freeswitch",
        SecretFormat::Env => "env",
    }
}

/// Renders `login` in `format`.
pub fn render(format: SecretFormat, login: &Login<'_>) -> Result<String, Unrepresentable> {
    let fname = format_name(format);
    let err = |field, rule| Unrepresentable {
        format: fname,
        field,
        rule,
    };
    // No consumer below has a way to carry control characters (a line break ends an
    // INI or dotenv value, XML 1.0 forbids most of them).
    for (field, v) in [
        ("username", login.username),
        ("password", login.password),
        ("domain", login.domain),
    ] {
        if v.chars().any(char::is_control) {
            return Err(err(field, "control characters are not allowed"));
        }
    }
    match format {
        SecretFormat::SipUri => Ok(sip_uri(login.username, login.domain)),
        SecretFormat::Webrtc => Ok(webrtc(login)),
        SecretFormat::Pjsip => pjsip(login).map_err(|(f, r)| err(f, r)),
        SecretFormat::Freeswitch => freeswitch(login).map_err(|(f, r)| err(f, r)),
        SecretFormat::Env => Ok(env(login)),
    }
}

/// `sip:user@domain`. RFC 3261 §25.1 allows unreserved characters and
/// `&=+$,;?/` in the user part; everything else is percent-escaped.
pub fn sip_uri(username: &str, domain: &str) -> String {
    let mut out = String::from("sip:");
    for b in username.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out.push('@');
    out.push_str(domain);
    out
}

fn webrtc(login: &Login<'_>) -> String {
    #[derive(serde::Serialize)]
    struct WebRtcLogin<'a> {
        login: &'a str,
        password: &'a str,
    }
    let v = WebRtcLogin {
        login: login.username,
        password: login.password,
    };
    // Serializing two string fields cannot fail.
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// An Asterisk config value: `;` starts a comment unless escaped as `\;`, surrounding
/// blanks are trimmed, and `=>` after a key is the object operator, so a value cannot
/// start with `>`.
fn asterisk_value(field: &'static str, v: &str) -> Result<String, (&'static str, &'static str)> {
    if v.trim() != v {
        return Err((field, "leading or trailing blanks are trimmed by Asterisk"));
    }
    if v.starts_with('>') {
        return Err((
            field,
            "a value starting with '>' reads as the '=>' operator",
        ));
    }
    Ok(v.replace(';', "\\;"))
}

fn pjsip(login: &Login<'_>) -> Result<String, (&'static str, &'static str)> {
    let n = login.name;
    let user = asterisk_value("username", login.username)?;
    let pass = asterisk_value("password", login.password)?;
    let domain = asterisk_value("domain", login.domain)?;
    let client_uri = asterisk_value("username", &sip_uri(login.username, login.domain))?;
    Ok(format!(
        "; Generated by sipcred-operator for {n}. Include it from pjsip.conf.\n\
         [{n}]\n\
         type=registration\n\
         outbound_auth={n}-auth\n\
         server_uri=sip:{domain}\n\
         client_uri={client_uri}\n\
         contact_user={user}\n\
         retry_interval=60\n\
         expiration=3600\n\
         line=yes\n\
         endpoint={n}-endpoint\n\
         \n\
         [{n}-auth]\n\
         type=auth\n\
         auth_type=userpass\n\
         username={user}\n\
         password={pass}\n\
         \n\
         [{n}-aor]\n\
         type=aor\n\
         contact=sip:{domain}\n\
         qualify_frequency=60\n\
         \n\
         [{n}-endpoint]\n\
         type=endpoint\n\
         context=from-sipcred\n\
         disallow=all\n\
         allow=ulaw,alaw\n\
         outbound_auth={n}-auth\n\
         aors={n}-aor\n\
         from_user={user}\n\
         from_domain={domain}\n"
    ))
}

/// XML attribute value escaping.
fn xml_attr(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn freeswitch(login: &Login<'_>) -> Result<String, (&'static str, &'static str)> {
    // FreeSWITCH expands `$${var}` when it loads XML and `${var}` in channel
    // variables; neither has an escape.
    for (field, v) in [
        ("username", login.username),
        ("password", login.password),
        ("domain", login.domain),
    ] {
        if v.contains("${") {
            return Err((field, "'${' is expanded by FreeSWITCH as a variable"));
        }
    }
    let params = [
        ("username", login.username),
        ("password", login.password),
        ("realm", login.domain),
        ("proxy", login.domain),
        ("from-user", login.username),
        ("from-domain", login.domain),
        ("register", "true"),
        ("expire-seconds", "3600"),
        ("retry-seconds", "30"),
    ];
    let mut out = format!(
        "<include>\n  <!-- Generated by sipcred-operator for {} -->\n  <gateway name=\"{}\">\n",
        xml_attr(login.name),
        xml_attr(login.name)
    );
    for (k, v) in params {
        let _ = writeln!(out, "    <param name=\"{k}\" value=\"{}\"/>", xml_attr(v));
    }
    out.push_str("  </gateway>\n</include>\n");
    Ok(out)
}

/// A dotenv value: single-quoted (no `${}` interpolation), with `\` and `'` escaped
/// by a backslash, as python-dotenv, Node dotenv and Docker Compose read them.
fn dotenv_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn env(login: &Login<'_>) -> String {
    format!(
        "SIP_USERNAME={}\nSIP_PASSWORD={}\nSIP_DOMAIN={}\nSIP_URI={}\n",
        dotenv_value(login.username),
        dotenv_value(login.password),
        dotenv_value(login.domain),
        dotenv_value(&sip_uri(login.username, login.domain)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login<'a>(user: &'a str, pass: &'a str) -> Login<'a> {
        Login {
            name: "team-a",
            username: user,
            password: pass,
            domain: "sip.telnyx.com",
        }
    }

    #[test]
    fn sip_uri_escapes_what_rfc3261_does_not_allow_in_the_user_part() {
        let cases = [
            ("gencredAbC123", "sip:gencredAbC123@sip.telnyx.com"),
            ("a_b-c.d", "sip:a_b-c.d@sip.telnyx.com"),
            ("user@x", "sip:user%40x@sip.telnyx.com"),
            ("sp ace:colon", "sip:sp%20ace%3Acolon@sip.telnyx.com"),
            ("é", "sip:%C3%A9@sip.telnyx.com"),
        ];
        for (user, want) in cases {
            assert_eq!(sip_uri(user, "sip.telnyx.com"), want, "{user}");
        }
    }

    #[test]
    fn unrepresentable_logins_name_field_and_rule_never_the_value() {
        let cases = [
            (SecretFormat::Pjsip, login("u", "line\nbreak"), "password"),
            (SecretFormat::Env, login("u\r", "p"), "username"),
            (SecretFormat::Pjsip, login("u", " padded"), "password"),
            (SecretFormat::Pjsip, login("u", ">arrow"), "password"),
            (SecretFormat::Freeswitch, login("u", "a${x}"), "password"),
        ];
        for (f, l, field) in cases {
            let e = render(f, &l).unwrap_err();
            assert_eq!(e.field, field);
            assert!(!e.to_string().contains(l.password) || l.password.len() < 2);
        }
        // Escapable characters render.
        for f in ALL {
            assert!(render(f, &login("u", "a;b'c\"d\\e$f<g>&")).is_ok(), "{f:?}");
        }
    }

    #[test]
    fn rendering_is_deterministic_and_keys_are_distinct() {
        let l = login("gencredX", "pw;1'2");
        for f in ALL {
            assert_eq!(render(f, &l), render(f, &l));
        }
        let mut keys: Vec<_> = ALL.iter().map(|f| key(*f)).collect();
        keys.dedup();
        assert_eq!(keys.len(), ALL.len());
    }

    #[test]
    fn pjsip_escapes_comment_character() {
        let s = render(SecretFormat::Pjsip, &login("u", "a;b")).unwrap();
        assert!(s.contains("password=a\\;b\n"));
    }
}
