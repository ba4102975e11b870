//! Every `spec.secret.formats` rendering, parsed back by its consumer's rules
//! (tests/formats/parse_back.py: configparser with Asterisk's `;` rule, an XML parser,
//! JSON, python-dotenv, an RFC 3261 URI grammar), carries exactly the login.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sipcred_operator::crd::SecretFormat;
use sipcred_operator::secret_formats::{ALL, Login, key, render};

fn name(f: SecretFormat) -> &'static str {
    match f {
        SecretFormat::SipUri => "sipURI",
        SecretFormat::Webrtc => "webrtc",
        SecretFormat::Pjsip => "pjsip",
        SecretFormat::Freeswitch => "freeswitch",
        SecretFormat::Env => "env",
    }
}

#[test]
fn each_format_parses_back_to_the_login() {
    let logins = [
        (
            "gencredAbCdEf0123456789",
            "Xy7pQ2mN9vB4kL8s",
            "sip.telnyx.com",
        ),
        (
            "team_a-user.01",
            "p;a's\"s\\w$o{r}d#=%!@<>&",
            "ma123.sip.vobiz.ai",
        ),
        (
            "user@name with space",
            "==start=with;semicolon",
            "sip.telnyx.com",
        ),
        ("ünïcode", "pässwörd€", "sip.telnyx.com"),
    ];
    let mut cases = Vec::new();
    let mut want = Vec::new();
    for (u, p, d) in logins {
        let l = Login {
            name: "team-a",
            username: u,
            password: p,
            domain: d,
        };
        for f in ALL {
            cases.push(json!({"format": name(f), "text": render(f, &l).unwrap()}));
            let mut w = json!({"username": u, "password": p, "domain": d});
            if f == SecretFormat::SipUri {
                w.as_object_mut().unwrap().remove("password");
            }
            if f == SecretFormat::Webrtc {
                w.as_object_mut().unwrap().remove("domain");
            }
            want.push((format!("{} of {u:?}", key(f)), w));
        }
    }
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/formats/parse_back.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(cases).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "parse_back.py failed");
    let got: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, (what, w)) in got.iter().zip(want) {
        assert_eq!(g, &w, "{what}");
    }
}
