use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use sipcred_provider_sim::{RateLimit, RunningSim, TelnyxConfig, start_telnyx};

use crate::common::{Resp, client, send};

const KEY: &str = "KEYtest123";

pub struct Tx {
    pub sim: RunningSim,
    pub c: reqwest::Client,
}

impl Tx {
    pub async fn new() -> Tx {
        Tx::with(TelnyxConfig::new(KEY)).await
    }
    pub async fn with(cfg: TelnyxConfig) -> Tx {
        Tx {
            sim: start_telnyx(cfg).await.unwrap(),
            c: client(),
        }
    }
    pub async fn call(&self, m: Method, path: &str, body: Option<Value>) -> Resp {
        let url = format!("{}{}", self.sim.base_url(), path);
        let auth = format!("Bearer {KEY}");
        send(&self.c, m, &url, &[("authorization", &auth)], body.as_ref()).await
    }
    pub async fn create_conn(&self, name: &str, user: &str) -> Value {
        let r = self
            .call(
                Method::POST,
                "/credential_connections",
                Some(json!({"connection_name": name, "user_name": user, "password": "secret123"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["data"].clone()
    }
    /// Moves the simulator's clock past the documented activation delay of new
    /// telephony credentials.
    pub async fn pass_activation(&self) {
        let r = self
            .c
            .post(format!("{}/clock/advance", self.sim.admin_url()))
            .json(&json!({"seconds": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    pub async fn create_cred(&self, body: Value) -> Resp {
        self.call(Method::POST, "/telephony_credentials", Some(body))
            .await
    }
}

fn base() -> Value {
    json!({"connection_name": "conn", "user_name": "user0001", "password": "secret123"})
}

fn with(field_path: &str, v: Value) -> Value {
    let mut b = base();
    let parts: Vec<&str> = field_path.split('/').filter(|s| !s.is_empty()).collect();
    let mut cur = &mut b;
    for p in &parts[..parts.len() - 1] {
        if cur.get(*p).is_none() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur[parts[parts.len() - 1]] = v;
    b
}

fn is_ts_millis(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && s.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn connection_crud_and_defaults() {
    let t = Tx::new().await;
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(json!({
                "active": true, "password": "xxxxxxxx", "user_name": "myagent01",
                "anchorsite_override": "Latency", "connection_name": "parent-sip-connection",
                "unknown_field": 1
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.header("x-ratelimit-limit").is_some());
    let d = &r.json["data"];
    let id = d["id"].as_str().unwrap().to_string();
    assert!(
        id.len() >= 15 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(d["record_type"], "credential_connection");
    assert_eq!(d["password"], "xxxxxxxx");
    assert_eq!(d["user_name"], "myagent01");
    assert!(is_ts_millis(d["created_at"].as_str().unwrap()));
    assert!(is_ts_millis(d["updated_at"].as_str().unwrap()));
    assert!(d.get("unknown_field").is_none());
    // Defaults from seed 001.
    assert_eq!(d["dtmf_type"], "RFC 2833");
    assert_eq!(d["webhook_api_version"], "1");
    assert_eq!(d["default_on_hold_comfort_noise_enabled"], true);
    assert_eq!(d["webhook_timeout_secs"], Value::Null);
    assert_eq!(d["encrypted_media"], Value::Null);
    assert_eq!(d["webhook_event_failover_url"], "");
    assert_eq!(d["rtcp_settings"]["port"], "rtp+1");
    assert_eq!(d["rtcp_settings"]["report_frequency_secs"], 5);
    assert_eq!(d["inbound"]["ani_number_format"], "E.164-national");
    assert_eq!(d["inbound"]["dnis_number_format"], "e164");
    assert_eq!(d["inbound"]["timeout_1xx_secs"], 3);
    assert_eq!(d["inbound"]["timeout_2xx_secs"], 90);
    assert_eq!(d["inbound"]["sip_compact_headers_enabled"], true);
    assert_eq!(d["inbound"]["codecs"].as_array().unwrap().len(), 6);
    assert_eq!(d["outbound"]["ani_override_type"], "always");
    assert_eq!(d["outbound"]["t38_reinvite_source"], "telnyx");
    assert_eq!(d["outbound"]["localization"], "US");
    assert_eq!(d["outbound"]["instant_ringback_enabled"], true);
    assert_eq!(d["outbound"]["call_parking_enabled"], false);
    assert_eq!(d["noise_suppression_details"]["engine"], "denoiser");
    assert_eq!(d["noise_suppression_details"]["attenuation_limit"], 0);
    assert_eq!(d["jitter_buffer"]["jitterbuffer_msec_min"], 60);
    assert_eq!(d["jitter_buffer"]["jitterbuffer_msec_max"], 200);

    // Retrieve.
    let g = t
        .call(Method::GET, &format!("/credential_connections/{id}"), None)
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.json["data"], *d);

    // PATCH: partial merge into nested objects (seed 000 pattern 1).
    let p = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{id}"),
            Some(json!({
                "webhook_event_url": "https://mywebhook.com/primary",
                "webhook_event_failover_url": "https://mywebhook.com/backup",
                "webhook_api_version": "2",
                "webhook_timeout_secs": 25,
                "outbound": {"call_parking_enabled": true, "outbound_voice_profile_id": "123412415234124"},
                "inbound": {"timeout_1xx_secs": 10},
                "noise_suppression_details": {"engine": "quail_voice_focus"},
                "id": "999", "created_at": "nope"
            })),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let pd = &p.json["data"];
    assert_eq!(pd["id"], id.as_str());
    assert_eq!(pd["created_at"], d["created_at"]);
    assert_eq!(pd["webhook_api_version"], "2");
    assert_eq!(pd["webhook_timeout_secs"], 25);
    assert_eq!(pd["outbound"]["call_parking_enabled"], true);
    assert_eq!(pd["outbound"]["localization"], "US");
    assert_eq!(
        pd["outbound"]["outbound_voice_profile_id"],
        "123412415234124"
    );
    assert_eq!(pd["inbound"]["timeout_1xx_secs"], 10);
    assert_eq!(pd["inbound"]["timeout_2xx_secs"], 90);
    assert_eq!(pd["noise_suppression_details"]["attenuation_limit"], 100);
    // Pattern 2; user_name and password may change; nulls clear nullable fields.
    let p2 = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{id}"),
            Some(
                json!({"sip_uri_calling_preference": "internal", "user_name": "newname1",
                        "password": "newpassword", "webhook_timeout_secs": null}),
            ),
        )
        .await;
    assert_eq!(p2.status, 200, "{}", p2.text);
    assert_eq!(p2.json["data"]["sip_uri_calling_preference"], "internal");
    assert_eq!(p2.json["data"]["webhook_timeout_secs"], Value::Null);
    assert!(t.sim.check_credentials("newname1", "newpassword"));
    assert!(!t.sim.check_credentials("myagent01", "xxxxxxxx"));

    // DELETE returns the object; then 404.
    let del = t
        .call(
            Method::DELETE,
            &format!("/credential_connections/{id}"),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(del.json["data"]["id"], id.as_str());
    assert_eq!(del.json["data"]["user_name"], "newname1");
    for m in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (m == Method::PATCH).then(|| json!({"active": false}));
        let nf = t
            .call(m.clone(), &format!("/credential_connections/{id}"), body)
            .await;
        assert_eq!(nf.status, 404, "{m}");
        assert_eq!(nf.code(), "10005");
        assert_eq!(nf.pointer(), "/");
        assert_eq!(nf.json["errors"][0]["title"], "Resource not found");
        assert_eq!(
            nf.json["errors"][0]["meta"]["url"],
            "https://developers.telnyx.com/docs/overview/errors/10005"
        );
    }
    assert!(!t.sim.check_credentials("newname1", "newpassword"));
}

/// Every constraint of seed 001: (pointer, invalid value).
fn invalid_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("/user_name", json!("abc")),
        ("/user_name", json!("a".repeat(33))),
        ("/user_name", json!("user_name")),
        ("/user_name", json!("user name")),
        ("/user_name", json!("12345abc")),
        ("/user_name", json!(12345)),
        ("/password", json!("short7c")),
        ("/password", json!("p".repeat(129))),
        ("/password", json!(12345678)),
        ("/password", json!(null)),
        ("/user_name", json!(null)),
        ("/connection_name", json!(null)),
        ("/connection_name", json!("")),
        ("/connection_name", json!(5)),
        ("/active", json!("yes")),
        ("/anchorsite_override", json!("Mars")),
        ("/anchorsite_override", json!("latency")),
        ("/sip_uri_calling_preference", json!("all")),
        ("/default_on_hold_comfort_noise_enabled", json!(1)),
        ("/dtmf_type", json!("rfc2833")),
        ("/encode_contact_header_enabled", json!("true")),
        ("/encrypted_media", json!("ZRTP")),
        ("/onnet_t38_passthrough_enabled", json!(null)),
        ("/ios_push_credential_id", json!(5)),
        ("/android_push_credential_id", json!(true)),
        ("/webhook_event_url", json!("example.com")),
        ("/webhook_event_url", json!("https://")),
        ("/webhook_event_failover_url", json!("failover.example.com")),
        ("/webhook_api_version", json!("3")),
        ("/webhook_api_version", json!(2)),
        ("/webhook_timeout_secs", json!(-1)),
        ("/webhook_timeout_secs", json!(31)),
        ("/webhook_timeout_secs", json!("25")),
        ("/webhook_timeout_secs", json!(2.5)),
        ("/call_cost_in_webhooks", json!("no")),
        ("/tags", json!("tag1")),
        ("/tags", json!([1, 2])),
        ("/rtcp_settings", json!("x")),
        ("/rtcp_settings/port", json!("rtp+2")),
        ("/rtcp_settings/capture_enabled", json!("x")),
        ("/rtcp_settings/report_frequency_secs", json!(4)),
        ("/rtcp_settings/report_frequency_secs", json!(3001)),
        ("/inbound", json!([])),
        ("/inbound/ani_number_format", json!("E164")),
        ("/inbound/dnis_number_format", json!("E164")),
        ("/inbound/codecs", json!("G722")),
        ("/inbound/default_routing_method", json!("random")),
        ("/inbound/channel_limit", json!("10")),
        ("/inbound/generate_ringback_tone", json!(0)),
        ("/inbound/isup_headers_enabled", json!(0)),
        ("/inbound/prack_enabled", json!(0)),
        ("/inbound/sip_compact_headers_enabled", json!(0)),
        ("/inbound/timeout_1xx_secs", json!(0)),
        ("/inbound/timeout_1xx_secs", json!(121)),
        ("/inbound/timeout_2xx_secs", json!(0)),
        ("/inbound/timeout_2xx_secs", json!(601)),
        ("/inbound/shaken_stir_enabled", json!("yes")),
        ("/inbound/simultaneous_ringing", json!("on")),
        ("/outbound", json!(1)),
        ("/outbound/call_parking_enabled", json!("yes")),
        ("/outbound/ani_override", json!(123)),
        ("/outbound/ani_override_type", json!("sometimes")),
        ("/outbound/channel_limit", json!(true)),
        ("/outbound/instant_ringback_enabled", json!("x")),
        ("/outbound/generate_ringback_tone", json!("x")),
        ("/outbound/localization", json!(1)),
        ("/outbound/t38_reinvite_source", json!("fax")),
        ("/outbound/outbound_voice_profile_id", json!("abc")),
        ("/noise_suppression", json!("all")),
        ("/noise_suppression_details/engine", json!("krisp")),
        ("/noise_suppression_details/attenuation_limit", json!(15)),
        ("/noise_suppression_details/attenuation_limit", json!(110)),
        ("/noise_suppression_details/attenuation_limit", json!(-10)),
        ("/jitter_buffer/enable_jitter_buffer", json!("on")),
        ("/jitter_buffer/jitterbuffer_msec_min", json!(39)),
        ("/jitter_buffer/jitterbuffer_msec_min", json!(401)),
        ("/jitter_buffer/jitterbuffer_msec_max", json!(39)),
        ("/jitter_buffer/jitterbuffer_msec_max", json!(401)),
    ]
}

fn assert_422(r: &Resp, pointer: &str, ctx: &str) {
    assert_eq!(r.status, 422, "{ctx}: {}", r.text);
    assert_eq!(r.pointers(), vec![pointer.to_string()], "{ctx}: {}", r.text);
    let e = &r.json["errors"][0];
    assert_eq!(e["code"], "10015", "{ctx}");
    assert_eq!(e["title"], "Bad Request", "{ctx}");
    assert!(e["detail"].as_str().unwrap().len() > 5, "{ctx}");
    assert_eq!(
        e["meta"]["url"],
        "https://developers.telnyx.com/docs/overview/errors/10015"
    );
}

#[tokio::test]
async fn connection_validation_every_rule_on_create_and_patch() {
    let t = Tx::new().await;
    let existing = t.create_conn("existing", "existing01").await;
    let eid = existing["id"].as_str().unwrap();
    for (ptr, v) in invalid_cases() {
        let ctx = format!("create {ptr} = {v}");
        let r = t
            .call(
                Method::POST,
                "/credential_connections",
                Some(with(ptr, v.clone())),
            )
            .await;
        assert_422(&r, ptr, &ctx);
        let ctx = format!("patch {ptr} = {v}");
        let body = with(ptr, v);
        // PATCH only the field under test.
        let top = ptr.split('/').nth(1).unwrap();
        let r = t
            .call(
                Method::PATCH,
                &format!("/credential_connections/{eid}"),
                Some(json!({ top: body[top].clone() })),
            )
            .await;
        assert_422(&r, ptr, &ctx);
    }
    // Nothing changed and nothing was created.
    assert_eq!(
        t.sim.state()["credential_connections"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let g = t
        .call(Method::GET, &format!("/credential_connections/{eid}"), None)
        .await;
    assert_eq!(g.json["data"], existing);

    // Cross-field: min > max.
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with(
                "/jitter_buffer",
                json!({"jitterbuffer_msec_min": 300, "jitterbuffer_msec_max": 200}),
            )),
        )
        .await;
    assert_422(&r, "/jitter_buffer/jitterbuffer_msec_min", "jitter min>max");
    let r = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{eid}"),
            Some(json!({"jitter_buffer": {"jitterbuffer_msec_min": 250}})),
        )
        .await;
    assert_422(
        &r,
        "/jitter_buffer/jitterbuffer_msec_min",
        "patch jitter min>stored max",
    );

    // Required fields, all reported at once.
    let r = t
        .call(Method::POST, "/credential_connections", Some(json!({})))
        .await;
    assert_eq!(r.status, 422);
    let mut ps = r.pointers();
    ps.sort();
    assert_eq!(ps, vec!["/connection_name", "/password", "/user_name"]);
    for e in r.json["errors"].as_array().unwrap() {
        assert_eq!(e["code"], "10015");
    }
    // Several errors at once.
    let mut b = with("/webhook_timeout_secs", json!(99));
    b["dtmf_type"] = json!("x");
    let r = t
        .call(Method::POST, "/credential_connections", Some(b))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.pointers().len(), 2);
}

#[tokio::test]
async fn connection_boundaries_and_all_enums_accepted() {
    let t = Tx::new().await;
    let mut n = 0;
    let mut ok = |b: Value| {
        n += 1;
        let mut b = b;
        b["user_name"] = json!(format!("user{n:04}"));
        b
    };
    let cases = vec![
        json!({"user_name": "abcd"}),
        json!({"webhook_timeout_secs": 0}),
        json!({"webhook_timeout_secs": 30}),
        json!({"password": "p".repeat(128)}),
        json!({"password": "12345678"}),
        json!({"rtcp_settings": {"report_frequency_secs": 5, "port": "rtcp-mux", "capture_enabled": true}}),
        json!({"rtcp_settings": {"report_frequency_secs": 3000}}),
        json!({"jitter_buffer": {"enable_jitter_buffer": true, "jitterbuffer_msec_min": 40, "jitterbuffer_msec_max": 400}}),
        json!({"jitter_buffer": {"jitterbuffer_msec_min": 200, "jitterbuffer_msec_max": 200}}),
        json!({"inbound": {"timeout_1xx_secs": 1, "timeout_2xx_secs": 1, "default_routing_method": ""}}),
        json!({"inbound": {"timeout_1xx_secs": 120, "timeout_2xx_secs": 600, "default_routing_method": null, "channel_limit": 10}}),
        json!({"noise_suppression_details": {"attenuation_limit": 0}}),
        json!({"noise_suppression_details": {"attenuation_limit": 100, "engine": "denoiser"}}),
        json!({"encrypted_media": null, "webhook_event_failover_url": null, "outbound": {"call_parking_enabled": null}}),
        json!({"webhook_event_url": "https://example.com", "webhook_event_failover_url": "http://failover.example.com"}),
        json!({"tags": ["tag1", "tag2"], "ios_push_credential_id": "ec0c8e5d-439e-4620-a0c1-9d9c8d02a836"}),
    ];
    for c in cases {
        let mut b = base();
        let user = c.get("user_name").cloned();
        for (k, v) in c.as_object().unwrap() {
            b[k] = v.clone();
        }
        let b = if user.is_some() { b } else { ok(b) };
        let r = t
            .call(Method::POST, "/credential_connections", Some(b.clone()))
            .await;
        assert_eq!(r.status, 201, "{b}: {}", r.text);
    }
    // User names: exactly 32 chars, letter at position 5.
    for u in ["a".repeat(32), "1234z".to_string()] {
        let r = t
            .call(
                Method::POST,
                "/credential_connections",
                Some(with("/user_name", json!(u))),
            )
            .await;
        assert_eq!(r.status, 201, "{u}: {}", r.text);
    }
    let enums: Vec<(&str, Vec<&str>)> = vec![
        (
            "/anchorsite_override",
            vec![
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
            ],
        ),
        (
            "/sip_uri_calling_preference",
            vec!["disabled", "unrestricted", "internal"],
        ),
        ("/dtmf_type", vec!["RFC 2833", "Inband", "SIP INFO"]),
        ("/encrypted_media", vec!["SRTP"]),
        ("/webhook_api_version", vec!["1", "2"]),
        ("/rtcp_settings/port", vec!["rtcp-mux", "rtp+1"]),
        (
            "/inbound/ani_number_format",
            vec!["+E.164", "E.164", "+E.164-national", "E.164-national"],
        ),
        (
            "/inbound/dnis_number_format",
            vec!["+e164", "e164", "national", "sip_username"],
        ),
        (
            "/inbound/default_routing_method",
            vec!["sequential", "round-robin"],
        ),
        ("/inbound/simultaneous_ringing", vec!["disabled", "enabled"]),
        (
            "/outbound/ani_override_type",
            vec!["always", "normal", "emergency"],
        ),
        (
            "/outbound/t38_reinvite_source",
            vec![
                "telnyx",
                "customer",
                "disabled",
                "passthru",
                "caller-passthru",
                "callee-passthru",
            ],
        ),
        (
            "/noise_suppression",
            vec!["inbound", "outbound", "both", "disabled"],
        ),
        (
            "/noise_suppression_details/engine",
            vec![
                "denoiser",
                "deep_filter_net",
                "deep_filter_net_large",
                "krisp_viva_tel",
                "krisp_viva_tel_lite",
                "krisp_viva_promodel",
                "krisp_viva_ss",
                "quail_voice_focus",
            ],
        ),
    ];
    let c = t.create_conn("enums", "enums001").await;
    let id = c["id"].as_str().unwrap();
    for (ptr, vals) in enums {
        for v in vals {
            let body = with(ptr, json!(v));
            let top = ptr.split('/').nth(1).unwrap();
            let r = t
                .call(
                    Method::PATCH,
                    &format!("/credential_connections/{id}"),
                    Some(json!({ top: body[top].clone() })),
                )
                .await;
            assert_eq!(r.status, 200, "{ptr}={v}: {}", r.text);
            let got = r.json["data"].pointer(ptr).cloned();
            assert_eq!(got, Some(json!(v)), "{ptr}");
        }
    }
    // Engine default attenuation on create.
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some({
                let mut b = with(
                    "/noise_suppression_details",
                    json!({"engine": "deep_filter_net"}),
                );
                b["user_name"] = json!("engine01");
                b
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json["data"]["noise_suppression_details"]["attenuation_limit"],
        80
    );
}

#[tokio::test]
async fn user_name_unique_across_account() {
    let t = Tx::new().await;
    let a = t.create_conn("a", "alice001").await;
    t.create_conn("b", "bob00001").await;
    // Same name, different case: 422 /user_name.
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with("/user_name", json!("ALICE001"))),
        )
        .await;
    assert_422(&r, "/user_name", "duplicate");
    // PATCH another connection to a taken name.
    let aid = a["id"].as_str().unwrap();
    let r = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{aid}"),
            Some(json!({"user_name": "bob00001"})),
        )
        .await;
    assert_422(&r, "/user_name", "patch duplicate");
    // Re-sending its own name is fine.
    let r = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{aid}"),
            Some(json!({"user_name": "alice001"})),
        )
        .await;
    assert_eq!(r.status, 200);
    // Renaming frees the old name; deleting frees the name.
    let r = t
        .call(
            Method::PATCH,
            &format!("/credential_connections/{aid}"),
            Some(json!({"user_name": "alice002"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let c = t.create_conn("c", "ALICE001").await;
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with("/user_name", json!("alice002"))),
        )
        .await;
    assert_422(&r, "/user_name", "renamed duplicate");
    t.call(
        Method::DELETE,
        &format!("/credential_connections/{aid}"),
        None,
    )
    .await;
    t.create_conn("d", "alice002").await;
    // Out-of-band rename is seen by the uniqueness check too.
    let cid = c["id"].as_str().unwrap();
    t.sim
        .oob_patch(
            "credential_connections",
            cid,
            json!({"user_name": "portal01"}),
        )
        .unwrap();
    t.create_conn("e", "alice001").await;
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with("/user_name", json!("PORTAL01"))),
        )
        .await;
    assert_422(&r, "/user_name", "oob duplicate");
}

#[tokio::test]
async fn malformed_json_and_auth() {
    let t = Tx::new().await;
    let url = format!("{}/credential_connections", t.sim.base_url());
    for body in ["{not json", "[1,2]", "\"str\""] {
        let r =
            t.c.post(&url)
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["code"], "10015");
        assert_eq!(v["errors"][0]["source"]["pointer"], "/");
        assert_eq!(v["errors"][0]["title"], "Bad Request");
    }
    let paths = [
        (Method::GET, "/credential_connections"),
        (Method::POST, "/credential_connections"),
        (Method::GET, "/credential_connections/1"),
        (Method::PATCH, "/credential_connections/1"),
        (Method::DELETE, "/credential_connections/1"),
        (Method::GET, "/telephony_credentials"),
        (Method::POST, "/telephony_credentials"),
        (Method::GET, "/telephony_credentials/x"),
        (Method::PATCH, "/telephony_credentials/x"),
        (Method::DELETE, "/telephony_credentials/x"),
        (Method::POST, "/telephony_credentials/x/token"),
    ];
    for (m, p) in paths {
        for auth in [None, Some("Bearer wrong"), Some("Basic abc"), Some(KEY)] {
            let url = format!("{}{}", t.sim.base_url(), p);
            let hs: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
            let r = send(&t.c, m.clone(), &url, &hs, Some(&json!({}))).await;
            assert_eq!(r.status, 401, "{m} {p} {auth:?}");
            assert_eq!(r.code(), "10009");
            assert_eq!(r.json["errors"][0]["title"], "Authentication failed");
            assert!(r.header("x-ratelimit-remaining").is_some());
        }
    }
    // Lower-case scheme is fine.
    let r = send(
        &t.c,
        Method::GET,
        &url,
        &[("authorization", &format!("bearer {KEY}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    // Unknown route: 404 10005.
    let r = t.call(Method::GET, "/nope", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "10005");
    assert_eq!(t.sim.request_count("GET", "<unmatched>", Some(404)), 1);
}

#[tokio::test]
async fn connection_list_filter_sort_paginate() {
    let t = Tx::new().await;
    for (i, name) in ["Bravo-one", "alpha-two", "Charlie", "ALPHA-three", "delta"]
        .iter()
        .enumerate()
    {
        let c = t.create_conn(name, &format!("user{i:04}")).await;
        if *name == "Charlie" {
            let id = c["id"].as_str().unwrap();
            t.call(
                Method::PATCH,
                &format!("/credential_connections/{id}"),
                Some(json!({"active": false})),
            )
            .await;
        }
    }
    let names = |r: &Resp| -> Vec<String> {
        r.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["connection_name"].as_str().unwrap().to_string())
            .collect()
    };
    // Default: -created_at, page size 250.
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        names(&r),
        vec!["delta", "ALPHA-three", "Charlie", "alpha-two", "Bravo-one"]
    );
    assert_eq!(
        r.json["meta"],
        json!({"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 5})
    );
    let r = t
        .call(Method::GET, "/credential_connections?sort=created_at", None)
        .await;
    assert_eq!(names(&r)[0], "Bravo-one");
    let r = t
        .call(
            Method::GET,
            "/credential_connections?sort=connection_name",
            None,
        )
        .await;
    assert_eq!(
        names(&r),
        vec!["ALPHA-three", "Bravo-one", "Charlie", "alpha-two", "delta"]
    );
    let r = t
        .call(
            Method::GET,
            "/credential_connections?sort=-connection_name",
            None,
        )
        .await;
    assert_eq!(names(&r)[0], "delta");
    let r = t
        .call(Method::GET, "/credential_connections?sort=active", None)
        .await;
    assert_eq!(names(&r)[0], "Charlie");
    let r = t
        .call(Method::GET, "/credential_connections?sort=-active", None)
        .await;
    assert_eq!(names(&r)[4], "Charlie");
    // Case-insensitive contains filter (brackets percent-encoded too).
    let r = t
        .call(
            Method::GET,
            "/credential_connections?filter[connection_name][contains]=ALPHA",
            None,
        )
        .await;
    assert_eq!(names(&r), vec!["ALPHA-three", "alpha-two"]);
    assert_eq!(r.json["meta"]["total_results"], 2);
    let r = t
        .call(
            Method::GET,
            "/credential_connections?filter%5Bconnection_name%5D%5Bcontains%5D=harl",
            None,
        )
        .await;
    assert_eq!(names(&r), vec!["Charlie"]);
    // Pagination.
    let r = t
        .call(
            Method::GET,
            "/credential_connections?page[size]=2&page[number]=3&sort=created_at",
            None,
        )
        .await;
    assert_eq!(names(&r), vec!["delta"]);
    assert_eq!(
        r.json["meta"],
        json!({"page_number": 3, "page_size": 2, "total_pages": 3, "total_results": 5})
    );
    let r = t
        .call(
            Method::GET,
            "/credential_connections?page[size]=2&page[number]=4",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(names(&r), Vec::<String>::new());
    assert_eq!(r.json["meta"]["page_number"], 4);
    assert_eq!(r.json["meta"]["total_pages"], 3);
    let r = t
        .call(Method::GET, "/credential_connections?page[size]=250", None)
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .call(Method::GET, "/credential_connections?page[size]=1", None)
        .await;
    assert_eq!(r.json["meta"]["total_pages"], 5);
    // Bad parameters: 400 10015 naming the parameter.
    for (q, param) in [
        ("page[size]=0", "page[size]"),
        ("page[size]=251", "page[size]"),
        ("page[size]=abc", "page[size]"),
        ("page[size]=-1", "page[size]"),
        ("page[number]=0", "page[number]"),
        ("page[number]=x", "page[number]"),
        ("sort=name", "sort"),
        ("sort=--active", "sort"),
        (
            "filter[connection_name][contains]=ab",
            "filter[connection_name][contains]",
        ),
    ] {
        let r = t
            .call(Method::GET, &format!("/credential_connections?{q}"), None)
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.code(), "10015", "{q}");
        assert_eq!(r.json["errors"][0]["source"]["parameter"], param, "{q}");
    }
    // Empty account: total_pages 1, no data.
    let e = Tx::new().await;
    let r = e.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(
        r.json["meta"],
        json!({"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 0})
    );
}

#[tokio::test]
async fn connection_account_limit() {
    let t = Tx::with(TelnyxConfig {
        max_connections: 2,
        ..TelnyxConfig::new(KEY)
    })
    .await;
    t.create_conn("a", "usera001").await;
    let b = t.create_conn("b", "userb001").await;
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with("/user_name", json!("userc001"))),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "10015");
    assert_eq!(r.pointer(), "/");
    // Deleting frees a slot.
    let bid = b["id"].as_str().unwrap();
    t.call(
        Method::DELETE,
        &format!("/credential_connections/{bid}"),
        None,
    )
    .await;
    let r = t
        .call(
            Method::POST,
            "/credential_connections",
            Some(with("/user_name", json!("userc001"))),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn telephony_credential_crud() {
    let t = Tx::new().await;
    let conn = t.create_conn("parent", "parent01").await;
    let cid = conn["id"].as_str().unwrap();
    // Validation.
    let r = t.create_cred(json!({})).await;
    assert_422(&r, "/connection_id", "missing connection_id");
    let r = t.create_cred(json!({"connection_id": "1234567890"})).await;
    assert_422(&r, "/connection_id", "unknown connection_id");
    let r = t.create_cred(json!({"connection_id": true})).await;
    assert_422(&r, "/connection_id", "bad type");
    let r = t
        .create_cred(json!({"connection_id": cid, "expires_at": "next tuesday"}))
        .await;
    assert_422(&r, "/expires_at", "bad expires_at");
    let r = t
        .create_cred(json!({"connection_id": cid, "name": 5}))
        .await;
    assert_422(&r, "/name", "bad name");
    let r = t
        .create_cred(json!({"connection_id": cid, "tag": []}))
        .await;
    assert_422(&r, "/tag", "bad tag");

    // Unnamed: named after the creation time.
    let r = t.create_cred(json!({"connection_id": cid})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = r.json["data"].clone();
    assert!(d["name"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["expires_at"], Value::Null);

    let r = t
        .create_cred(
            json!({"connection_id": cid, "name": "My-new-credential", "tag": "some_tag",
                            "expires_at": "2042-06-18T21:32:38Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = r.json["data"].clone();
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(d["record_type"], "credential");
    assert_eq!(d["name"], "My-new-credential");
    assert_eq!(d["resource_id"], format!("connection:{cid}"));
    assert_eq!(d["expired"], false);
    assert_eq!(d["expires_at"], "2042-06-18T21:32:38.000Z");
    let su = d["sip_username"].as_str().unwrap();
    assert!(su.starts_with("gencred") && su.len() == 29, "{su}");
    assert!(su[7..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let sp = d["sip_password"].as_str().unwrap();
    assert!(
        sp.len() == 32 && sp.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sp}"
    );
    assert!(d["user_id"].is_string());
    assert!(is_ts_millis(d["created_at"].as_str().unwrap()));
    assert!(is_ts_millis(d["updated_at"].as_str().unwrap()));
    assert!(!t.sim.check_credentials(su, sp), "not active yet");
    t.pass_activation().await;
    assert!(t.sim.check_credentials(su, sp));
    assert!(!t.sim.check_credentials(su, "wrong"));

    // Retrieve includes the password.
    let g = t
        .call(Method::GET, &format!("/telephony_credentials/{id}"), None)
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.json["data"], d);

    // PATCH name/tag/expires_at/connection_id.
    let conn2 = t.create_conn("other", "other001").await;
    let cid2 = conn2["id"].as_str().unwrap();
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(
                json!({"name": "renamed", "tag": "t2", "expires_at": "2043-01-01T00:00:00.123Z",
                        "connection_id": cid2, "sip_password": "ignored"}),
            ),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json["data"]["name"], "renamed");
    assert_eq!(p.json["data"]["resource_id"], format!("connection:{cid2}"));
    assert_eq!(p.json["data"]["expires_at"], "2043-01-01T00:00:00.123Z");
    assert_eq!(p.json["data"]["sip_password"], sp);
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"connection_id": "42"})),
        )
        .await;
    assert_422(&p, "/connection_id", "patch unknown connection");
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"expires_at": "garbage"})),
        )
        .await;
    assert_422(&p, "/expires_at", "patch bad expires_at");

    // DELETE returns the object; then 404 everywhere.
    let del = t
        .call(
            Method::DELETE,
            &format!("/telephony_credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(del.json["data"]["id"], id.as_str());
    assert!(!t.sim.check_credentials(su, sp));
    for (m, p) in [
        (Method::GET, format!("/telephony_credentials/{id}")),
        (Method::PATCH, format!("/telephony_credentials/{id}")),
        (Method::DELETE, format!("/telephony_credentials/{id}")),
        (Method::POST, format!("/telephony_credentials/{id}/token")),
    ] {
        let r = t.call(m.clone(), &p, Some(json!({}))).await;
        assert_eq!(r.status, 404, "{m} {p}");
        assert_eq!(r.code(), "10005");
    }
}

#[tokio::test]
async fn telephony_credential_expired_is_terminal() {
    let t = Tx::new().await;
    let conn = t.create_conn("parent", "parent01").await;
    let cid = conn["id"].as_str().unwrap();
    let r = t
        .create_cred(json!({"connection_id": cid, "expires_at": "2020-01-01T00:00:00Z"}))
        .await;
    assert_eq!(r.status, 201);
    let d = r.json["data"].clone();
    assert_eq!(d["expired"], true);
    let id = d["id"].as_str().unwrap();
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"expires_at": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(p.status, 422);
    assert_eq!(
        p.json,
        json!({"errors": {"status": "can't update credentials in expired status"}})
    );
    assert!(!t.sim.check_credentials(
        d["sip_username"].as_str().unwrap(),
        d["sip_password"].as_str().unwrap()
    ));
    // A token cannot be minted either; delete still works.
    let tk = t
        .call(
            Method::POST,
            &format!("/telephony_credentials/{id}/token"),
            None,
        )
        .await;
    assert_eq!(tk.status, 422);
    // Expiry happening later (out-of-band clock move).
    let r = t
        .create_cred(json!({"connection_id": cid, "expires_at": "2099-01-01T00:00:00Z"}))
        .await;
    let id2 = r.json["data"]["id"].as_str().unwrap().to_string();
    t.sim
        .oob_patch(
            "telephony_credentials",
            &id2,
            json!({"expires_at": "2021-01-01T00:00:00Z"}),
        )
        .unwrap();
    let g = t
        .call(Method::GET, &format!("/telephony_credentials/{id2}"), None)
        .await;
    assert_eq!(g.json["data"]["expired"], true);
    let del = t
        .call(
            Method::DELETE,
            &format!("/telephony_credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
}

#[tokio::test]
async fn telephony_credential_list_filters_and_pages() {
    let t = Tx::new().await;
    let c1 = t.create_conn("one", "one00001").await;
    let c2 = t.create_conn("two", "two00001").await;
    let id1 = c1["id"].as_str().unwrap();
    let id2 = c2["id"].as_str().unwrap();
    let mut users = vec![];
    for i in 0..60 {
        let cid = if i % 2 == 0 { id1 } else { id2 };
        let tag = if i < 10 { "ten" } else { "rest" };
        let mut b = json!({"connection_id": cid, "name": format!("cred{i}"), "tag": tag});
        if i == 59 {
            b["expires_at"] = json!("2001-01-01T00:00:00Z");
        }
        let r = t.create_cred(b).await;
        assert_eq!(r.status, 201);
        users.push(r.json["data"]["sip_username"].as_str().unwrap().to_string());
    }
    let list = |q: String| {
        let t = &t;
        async move {
            t.call(Method::GET, &format!("/telephony_credentials{q}"), None)
                .await
        }
    };
    let r = list(String::new()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 50);
    assert_eq!(
        r.json["meta"],
        json!({"page_number": 1, "page_size": 50, "total_pages": 2, "total_results": 60})
    );
    assert!(r.json["data"][0]["sip_password"].is_string());
    let r = list("?page[number]=2".into()).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 10);
    let r = list("?page[number]=3".into()).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 0);
    let r = list("?page[size]=250".into()).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 60);
    for q in [
        "?page[size]=0",
        "?page[size]=251",
        "?page[number]=0",
        "?filter[status]=inactive",
    ] {
        let r = list(q.into()).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.code(), "10015");
    }
    let r = list("?filter[tag]=ten".into()).await;
    assert_eq!(r.json["meta"]["total_results"], 10);
    let r = list("?filter[name]=cred7".into()).await;
    assert_eq!(r.json["meta"]["total_results"], 1);
    assert_eq!(r.json["data"][0]["name"], "cred7");
    let r = list(format!("?filter[resource_id]=connection:{id1}")).await;
    assert_eq!(r.json["meta"]["total_results"], 30);
    // Without the "connection:" prefix nothing matches.
    let r = list(format!("?filter[resource_id]={id1}")).await;
    assert_eq!(r.json["meta"]["total_results"], 0);
    let r = list(format!("?filter[sip_username]={}", users[3])).await;
    assert_eq!(r.json["meta"]["total_results"], 1);
    let r = list("?filter[status]=expired".into()).await;
    assert_eq!(r.json["meta"]["total_results"], 1);
    assert_eq!(r.json["data"][0]["name"], "cred59");
    let r = list("?filter[status]=active&filter[tag]=rest".into()).await;
    assert_eq!(r.json["meta"]["total_results"], 49);
}

#[tokio::test]
async fn telephony_credential_tag_limit() {
    let t = Tx::with(TelnyxConfig {
        max_credentials_per_tag: 2,
        ..TelnyxConfig::new(KEY)
    })
    .await;
    let conn = t.create_conn("parent", "parent01").await;
    let cid = conn["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = t
            .create_cred(json!({"connection_id": cid, "tag": "full"}))
            .await;
        assert_eq!(r.status, 201);
    }
    let r = t
        .create_cred(json!({"connection_id": cid, "tag": "full"}))
        .await;
    assert_422(&r, "/tag", "tag full");
    let r = t
        .create_cred(json!({"connection_id": cid, "tag": "other"}))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json["data"]["id"].as_str().unwrap();
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"tag": "full"})),
        )
        .await;
    assert_422(&p, "/tag", "patch into full tag");
    // Deleting one frees a slot; re-tagging moves the count.
    let l = t
        .call(Method::GET, "/telephony_credentials?filter[tag]=full", None)
        .await;
    let first = l.json["data"][0]["id"].as_str().unwrap().to_string();
    let d = t
        .call(
            Method::DELETE,
            &format!("/telephony_credentials/{first}"),
            None,
        )
        .await;
    assert_eq!(d.status, 200);
    let p = t
        .call(
            Method::PATCH,
            &format!("/telephony_credentials/{id}"),
            Some(json!({"tag": "full"})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let r = t
        .create_cred(json!({"connection_id": cid, "tag": "full"}))
        .await;
    assert_422(&r, "/tag", "full again");
    let r = t
        .create_cred(json!({"connection_id": cid, "tag": "other"}))
        .await;
    assert_eq!(r.status, 201);
}

fn b64json(s: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn token_is_a_jwt() {
    let t = Tx::new().await;
    let conn = t.create_conn("parent", "parent01").await;
    let cid = conn["id"].as_str().unwrap();
    let r = t.create_cred(json!({"connection_id": cid})).await;
    let id = r.json["data"]["id"].as_str().unwrap().to_string();
    let url = format!("{}/telephony_credentials/{id}/token", t.sim.base_url());
    let resp =
        t.c.post(&url)
            .bearer_auth(KEY)
            .header("accept", "text/plain")
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 201);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let jwt = resp.text().await.unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let h = b64json(parts[0]);
    assert_eq!(h["typ"], "JWT");
    let c = b64json(parts[1]);
    assert_eq!(c["aud"], "telnyx_telephony");
    assert_eq!(c["iss"], "telnyx_telephony");
    assert_eq!(c["typ"], "access");
    assert_eq!(c["sub"], id.as_str());
    assert!(c["tel_token"].is_string());
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86_400
    );
    assert!(!parts[2].is_empty());

    // Credential expiring in an hour: exp = expires_at.
    let exp = jiff::Timestamp::now().as_second() + 3600;
    let expires = jiff::Timestamp::from_second(exp).unwrap().to_string();
    let r = t
        .create_cred(json!({"connection_id": cid, "expires_at": expires}))
        .await;
    let id = r.json["data"]["id"].as_str().unwrap();
    let r = t
        .call(
            Method::POST,
            &format!("/telephony_credentials/{id}/token"),
            None,
        )
        .await;
    assert_eq!(r.status, 201);
    let c = b64json(r.text.split('.').nth(1).unwrap());
    assert_eq!(c["exp"].as_i64().unwrap(), exp);
}

#[tokio::test]
async fn deleting_connection_cascades_and_check() {
    let t = Tx::new().await;
    let conn = t.create_conn("parent", "parent01").await;
    let cid = conn["id"].as_str().unwrap();
    assert!(t.sim.check_credentials("parent01", "secret123"));
    assert!(!t.sim.check_credentials("parent01", "secret124"));
    let r = t.create_cred(json!({"connection_id": cid})).await;
    let d = r.json["data"].clone();
    let (u, p) = (
        d["sip_username"].as_str().unwrap(),
        d["sip_password"].as_str().unwrap(),
    );
    t.pass_activation().await;
    assert!(t.sim.check_credentials(u, p));
    // Inactive connection: its own credentials stop working.
    t.call(
        Method::PATCH,
        &format!("/credential_connections/{cid}"),
        Some(json!({"active": false})),
    )
    .await;
    assert!(!t.sim.check_credentials("parent01", "secret123"));
    t.call(
        Method::DELETE,
        &format!("/credential_connections/{cid}"),
        None,
    )
    .await;
    assert!(!t.sim.check_credentials(u, p));
    assert_eq!(t.sim.state()["telephony_credentials"], json!([]));
}

#[tokio::test]
async fn rate_limit_429_and_headers() {
    let t = Tx::with(TelnyxConfig {
        rate_limit: RateLimit::per_second(0.5, 3),
        ..TelnyxConfig::new(KEY)
    })
    .await;
    let mut remaining = vec![];
    for _ in 0..3 {
        let r = t.call(Method::GET, "/credential_connections", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        remaining.push(r.header("x-ratelimit-remaining").unwrap().to_string());
        let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset <= 6);
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "10011");
    assert_eq!(r.json["errors"][0]["title"], "Too many requests");
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=2).contains(&reset), "{reset}");
    assert_eq!(
        t.sim
            .request_count("GET", "/v2/credential_connections", Some(429)),
        1
    );
    // Changing the limit at run time refills the bucket.
    let c = client();
    let r = c
        .put(format!("{}/ratelimit", t.sim.admin_url()))
        .json(&json!({"mode": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t.call(Method::GET, "/credential_connections", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("1000000"));
}

#[tokio::test]
async fn admin_api_inspection_and_out_of_band_edits() {
    let t = Tx::new().await;
    let admin = t.sim.admin_url();
    assert!(admin.ends_with("/_sim"));
    assert!(t.sim.base_url().ends_with("/v2"));
    let conn = t.create_conn("parent", "parent01").await;
    let id = conn["id"].as_str().unwrap();
    t.call(Method::GET, &format!("/credential_connections/{id}"), None)
        .await;
    t.call(Method::GET, "/credential_connections/123", None)
        .await;
    let c = client();
    // Requests by method, route template and status.
    assert_eq!(
        t.sim
            .request_count("POST", "/v2/credential_connections", Some(201)),
        1
    );
    assert_eq!(
        t.sim
            .request_count("GET", "/v2/credential_connections/{id}", None),
        2
    );
    assert_eq!(
        t.sim
            .request_count("GET", "/v2/credential_connections/{id}", Some(404)),
        1
    );
    let reqs: Value = c
        .get(format!("{admin}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reqs["total"], 3);
    let filtered: Value = c
        .get(format!("{admin}/requests"))
        .query(&[
            ("method", "get"),
            ("route", "/v2/credential_connections/{id}"),
            ("status", "200"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["requests"].as_array().unwrap().len(), 1);
    assert!(reqs["requests"].as_array().unwrap().iter().any(|r| r
        == &json!({"method": "GET", "route": "/v2/credential_connections/{id}", "status": 404, "count": 1})));
    // State dump.
    let st: Value = c
        .get(format!("{admin}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["provider"], "telnyx");
    assert_eq!(st["credential_connections"][0]["id"], id);
    assert_eq!(st, t.sim.state());
    // Check.
    let v: Value = c
        .post(format!("{admin}/check"))
        .json(&json!({"username": "parent01", "password": "secret123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"valid": true}));
    // Out-of-band edit (no auth, no validation, not counted).
    let r = c
        .patch(format!("{admin}/telnyx/credential_connections/{id}"))
        .json(&json!({"connection_name": "renamed in portal", "inbound": {"channel_limit": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let g = t
        .call(Method::GET, &format!("/credential_connections/{id}"), None)
        .await;
    assert_eq!(g.json["data"]["connection_name"], "renamed in portal");
    assert_eq!(g.json["data"]["inbound"]["channel_limit"], 3);
    assert_eq!(g.json["data"]["inbound"]["timeout_2xx_secs"], 90);
    assert_ne!(g.json["data"]["updated_at"], conn["updated_at"]);
    // Out-of-band create and delete.
    let r = c
        .post(format!("{admin}/telnyx/credential_connections"))
        .json(&json!({"connection_name": "portal", "user_name": "portal01", "password": "portalpass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let pid = created["id"].as_str().unwrap();
    let r = c
        .post(format!("{admin}/telnyx/telephony_credentials"))
        .json(&json!({"connection_id": pid}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cred: Value = r.json().await.unwrap();
    let r = c
        .delete(format!(
            "{admin}/telnyx/telephony_credentials/{}",
            cred["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .delete(format!("{admin}/telnyx/credential_connections/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .delete(format!("{admin}/telnyx/credential_connections/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let g = t
        .call(Method::GET, &format!("/credential_connections/{id}"), None)
        .await;
    assert_eq!(g.status, 404);
    // Wrong provider name in the path.
    let r = c
        .delete(format!("{admin}/vobiz/credentials/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Reset counters.
    let r = c
        .post(format!("{admin}/requests/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(t.sim.requests()["total"], 0);
    t.sim.shutdown().await;
}

#[tokio::test]
async fn registration_routes_shapes_and_parameter_errors() {
    let t = Tx::new().await;
    let conn = t.create_conn("reg-conn", "reguser01").await;
    let id = conn["id"].as_str().unwrap();
    let path = format!("/credential_connections/{id}/actions/check_registration_status");
    let r = t.call(Method::POST, &path, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["status"], "Not Registered");
    assert_eq!(r.json["data"]["record_type"], "registration_status");
    assert_eq!(r.json["data"]["sip_username"], "reguser01");

    let admin = format!("{}/telnyx/register", t.sim.admin_url());
    let reg =
        t.c.post(&admin)
            .json(&json!({"username": "reguser01", "password": "secret123", "port": 5070}))
            .send()
            .await
            .unwrap();
    assert_eq!(reg.status(), 200);
    let r = t.call(Method::POST, &path, None).await;
    assert_eq!(r.json["data"]["status"], "Registered");
    assert_eq!(r.json["data"]["port"], 5070);
    assert_eq!(
        t.sim.request_count(
            "POST",
            "/v2/credential_connections/{id}/actions/check_registration_status",
            Some(200)
        ),
        2,
        "provider routes go through the counted pipeline; admin routes do not"
    );

    let r = t.call(Method::GET, "/sip_registration_status", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json["errors"][0]["source"]["parameter"],
        "credential_type"
    );
    let r = t
        .call(
            Method::GET,
            "/sip_registration_status?credential_type=telephony_credential",
            None,
        )
        .await;
    assert_eq!(r.json["errors"][0]["source"]["parameter"], "username");
    let r = t
        .call(
            Method::GET,
            "/sip_registration_status?credential_type=sip_credential_connection&username=reguser01",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json.get("data").is_none(),
        "the SDKs model a top-level object"
    );
    assert_eq!(r.json["registered"], true);
    assert_eq!(r.json["sip_registration_details"]["ua_port"], 5070);
    let r = t
        .call(
            Method::POST,
            "/credential_connections/1/actions/check_registration_status",
            None,
        )
        .await;
    assert_eq!(r.status, 404);
}
