use reqwest::Method;
use serde_json::{Value, json};
use sipcred_provider_sim::{RateLimit, RunningSim, VobizConfig, start_vobiz};

use crate::common::{Resp, client, send};

pub const AID: &str = "MA_TEST0001";
pub const TOKEN: &str = "tok-secret";

pub struct Vx {
    pub sim: RunningSim,
    pub c: reqwest::Client,
}

impl Vx {
    pub async fn new() -> Vx {
        Vx::with(VobizConfig::new(AID, TOKEN)).await
    }
    pub async fn with(cfg: VobizConfig) -> Vx {
        Vx {
            sim: start_vobiz(cfg).await.unwrap(),
            c: client(),
        }
    }
    /// `path` is relative to `/api/v1/Account/{AID}`.
    pub async fn call(&self, m: Method, path: &str, body: Option<Value>) -> Resp {
        let url = format!("{}/Account/{AID}{path}", self.sim.base_url());
        send(
            &self.c,
            m,
            &url,
            &[("X-Auth-ID", AID), ("X-Auth-Token", TOKEN)],
            body.as_ref(),
        )
        .await
    }
    pub async fn create(&self, user: &str, pass: &str) -> Resp {
        self.call(
            Method::POST,
            "/credentials",
            Some(json!({"username": user, "password": pass})),
        )
        .await
    }
}

fn assert_envelope(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json["status"], "error", "{}", r.text);
    assert_eq!(r.json["error"]["code"], code, "{}", r.text);
    assert!(r.json["error"]["message"].is_string());
    assert!(r.json["error"].get("details").is_some());
    assert!(r.json["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(r.json["requestId"].as_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn credential_crud() {
    let v = Vx::new().await;
    assert!(v.sim.base_url().ends_with("/api/v1"));
    let r = v.create("sipuser_demo", "SecurePassword123!").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = r.json.clone();
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(d["account_id"], AID);
    assert_eq!(d["username"], "sipuser_demo");
    assert_eq!(d["password"], "<redacted>");
    assert_eq!(d["realm"], format!("{AID}.sip.vobiz.ai"));
    assert_eq!(d["enabled"], true);
    assert_eq!(d["description"], "");
    let ts = d["created_at"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 27, "{ts}");
    assert_eq!(d["created_at"], d["updated_at"]);
    assert!(
        v.sim
            .check_credentials("sipuser_demo", "SecurePassword123!")
    );
    assert!(!v.sim.check_credentials("sipuser_demo", "nope"));
    assert!(!v.sim.state().to_string().contains("SecurePassword123!"));

    // GET by id: the same object, password redacted.
    let g = v
        .call(Method::GET, &format!("/credentials/{id}"), None)
        .await;
    assert_eq!(g.status, 200);
    assert_eq!(g.json, d);

    // PUT password, enabled, description; username immutable.
    let p = v
        .call(
            Method::PUT,
            &format!("/credentials/{id}"),
            Some(json!({"password": "NewPassword456", "description": "front desk", "username": "sipuser_demo"})),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json["password"], "<redacted>");
    assert_eq!(p.json["description"], "front desk");
    assert!(v.sim.check_credentials("sipuser_demo", "NewPassword456"));
    assert!(
        !v.sim
            .check_credentials("sipuser_demo", "SecurePassword123!")
    );
    let p = v
        .call(
            Method::PUT,
            &format!("/credentials/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.json["enabled"], false);
    assert_eq!(p.json["description"], "front desk");
    assert!(!v.sim.check_credentials("sipuser_demo", "NewPassword456"));
    for (body, field) in [
        (json!({"username": "other"}), "username"),
        (json!({"password": "short"}), "password"),
        (json!({"password": 12345678}), "password"),
        (json!({"enabled": "yes"}), "enabled"),
        (json!({"description": 5}), "description"),
    ] {
        let p = v
            .call(
                Method::PUT,
                &format!("/credentials/{id}"),
                Some(body.clone()),
            )
            .await;
        assert_envelope(&p, 400, "VALIDATION_ERROR");
        assert_eq!(p.json["error"]["details"]["field"], field, "{body}");
    }
    let p = v
        .call(
            Method::PUT,
            "/credentials/00000000-0000-0000-0000-000000000000",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_envelope(&p, 404, "NOT_FOUND");

    // DELETE 204, then 404.
    let del = v
        .call(Method::DELETE, &format!("/credentials/{id}"), None)
        .await;
    assert_eq!(del.status, 204);
    assert!(del.text.is_empty());
    for m in [Method::GET, Method::DELETE] {
        let r = v.call(m, &format!("/credentials/{id}"), None).await;
        assert_envelope(&r, 404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn credential_create_validation_and_conflict() {
    let v = Vx::new().await;
    assert_eq!(
        v.create("office_phone_main", "Vbz!2025$SecureP@ss")
            .await
            .status,
        201
    );
    let r = v.create("office_phone_main", "another-password").await;
    assert_envelope(&r, 409, "CONFLICT");
    assert_eq!(r.json["error"]["message"], "Username already exists");
    // Case matters for SIP usernames.
    assert_eq!(
        v.create("OFFICE_PHONE_MAIN", "another-password")
            .await
            .status,
        201
    );
    for (body, field) in [
        (json!({"password": "longenough"}), "username"),
        (
            json!({"username": "", "password": "longenough"}),
            "username",
        ),
        (
            json!({"username": "has space", "password": "longenough"}),
            "username",
        ),
        (
            json!({"username": "a@b", "password": "longenough"}),
            "username",
        ),
        (
            json!({"username": "x".repeat(65), "password": "longenough"}),
            "username",
        ),
        (json!({"username": 5, "password": "longenough"}), "username"),
        (json!({"username": "user1"}), "password"),
        (
            json!({"username": "user1", "password": "1234567"}),
            "password",
        ),
        (json!({"username": "user1", "password": null}), "password"),
    ] {
        let r = v
            .call(Method::POST, "/credentials", Some(body.clone()))
            .await;
        assert_envelope(&r, 400, "VALIDATION_ERROR");
        assert_eq!(r.json["error"]["details"]["field"], field, "{body}");
    }
    // Exactly 8 characters is fine; extra keys (enabled/description) are ignored at creation.
    let r = v
        .call(
            Method::POST,
            "/credentials",
            Some(json!({"username": "user.1-a", "password": "12345678", "enabled": false, "description": "x"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["enabled"], true);
    assert_eq!(r.json["description"], "");
    // Malformed JSON.
    let url = format!("{}/Account/{AID}/credentials", v.sim.base_url());
    let r =
        v.c.post(&url)
            .header("X-Auth-ID", AID)
            .header("X-Auth-Token", TOKEN)
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 400);
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["error"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn credential_list_pagination() {
    let v = Vx::new().await;
    for i in 0..25 {
        assert_eq!(
            v.create(&format!("user{i:02}"), "password1").await.status,
            201
        );
    }
    let base = format!("/api/v1/Account/{AID}/trunks/credentials");
    let r = v.call(Method::GET, "/trunks/credentials", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["objects"].as_array().unwrap().len(), 20);
    assert_eq!(r.json["objects"][0]["username"], "user00");
    assert_eq!(r.json["objects"][0]["password"], "<redacted>");
    assert_eq!(
        r.json["meta"],
        json!({"limit": 20, "offset": 0, "total": 25, "next": format!("{base}?limit=20&offset=20"), "previous": null})
    );
    let r = v
        .call(Method::GET, "/trunks/credentials?limit=10&offset=20", None)
        .await;
    assert_eq!(r.json["objects"].as_array().unwrap().len(), 5);
    assert_eq!(r.json["objects"][0]["username"], "user20");
    assert_eq!(
        r.json["meta"],
        json!({"limit": 10, "offset": 20, "total": 25, "next": null, "previous": format!("{base}?limit=10&offset=10")})
    );
    let r = v
        .call(
            Method::GET,
            "/trunks/credentials?limit=100&offset=500",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["objects"], json!([]));
    assert_eq!(r.json["meta"]["total"], 25);
    for q in ["limit=0", "limit=101", "limit=x", "offset=-1", "offset=y"] {
        let r = v
            .call(Method::GET, &format!("/trunks/credentials?{q}"), None)
            .await;
        assert_envelope(&r, 400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn trunks_with_credential_attachment() {
    let v = Vx::new().await;
    let cred = v.create("trunk_user_001", "SecurePassword123!").await.json;
    let cid = cred["id"].as_str().unwrap();
    // Validation.
    let r = v.call(Method::POST, "/trunks", Some(json!({}))).await;
    assert_envelope(&r, 400, "VALIDATION_ERROR");
    assert_eq!(r.json["error"]["details"]["field"], "name");
    let r = v
        .call(
            Method::POST,
            "/trunks",
            Some(json!({"name": "t", "credential_uuid": "00000000-0000-0000-0000-000000000000"})),
        )
        .await;
    assert_envelope(&r, 400, "VALIDATION_ERROR");
    assert_eq!(r.json["error"]["details"]["field"], "credential_uuid");
    for (body, field) in [
        (
            json!({"name": "t", "trunk_direction": "sideways"}),
            "trunk_direction",
        ),
        (json!({"name": "t", "trunk_type": 1}), "trunk_type"),
        (
            json!({"name": "t", "max_concurrent_calls": 0}),
            "max_concurrent_calls",
        ),
        (
            json!({"name": "t", "concurrent_calls_limit": "5"}),
            "concurrent_calls_limit",
        ),
        (json!({"name": "t", "enabled": "yes"}), "enabled"),
        (json!({"name": "t", "ipacl_uuid": 5}), "ipacl_uuid"),
    ] {
        let r = v.call(Method::POST, "/trunks", Some(body.clone())).await;
        assert_envelope(&r, 400, "VALIDATION_ERROR");
        assert_eq!(r.json["error"]["details"]["field"], field, "{body}");
    }
    // Create with attachment.
    let r = v
        .call(
            Method::POST,
            "/trunks",
            Some(json!({"name": "main", "trunk_type": "OUTBOUND", "max_concurrent_calls": 5, "credential_uuid": cid})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.json.clone();
    let tid = t["trunk_id"].as_str().unwrap().to_string();
    assert_eq!(t["trunk_domain"], format!("{tid}.sip.vobiz.ai"));
    assert_eq!(t["credential_uuid"], cid);
    assert_eq!(t["trunk_direction"], "outbound");
    assert_eq!(t["concurrent_calls_limit"], 5);
    assert_eq!(t["trunk_status"], "active");
    assert_eq!(t["account_id"], AID);
    let g = v.call(Method::GET, &format!("/trunks/{tid}"), None).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.json, t);
    // Update: detach, re-attach, rename; partial.
    let p = v
        .call(
            Method::PUT,
            &format!("/trunks/{tid}"),
            Some(json!({"credential_uuid": null})),
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.json["credential_uuid"], Value::Null);
    assert_eq!(p.json["name"], "main");
    let p = v
        .call(
            Method::PUT,
            &format!("/trunks/{tid}"),
            Some(json!({"credential_uuid": cid, "name": "renamed", "enabled": false})),
        )
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.json["credential_uuid"], cid);
    assert_eq!(p.json["name"], "renamed");
    assert_eq!(p.json["trunk_status"], "inactive");
    let p = v
        .call(
            Method::PUT,
            &format!("/trunks/{tid}"),
            Some(json!({"credential_uuid": "nope"})),
        )
        .await;
    assert_envelope(&p, 400, "VALIDATION_ERROR");
    let p = v
        .call(
            Method::PUT,
            &format!("/trunks/{tid}"),
            Some(json!({"name": ""})),
        )
        .await;
    assert_envelope(&p, 400, "VALIDATION_ERROR");
    // List.
    v.call(Method::POST, "/trunks", Some(json!({"name": "second"})))
        .await;
    let l = v.call(Method::GET, "/trunks?limit=1", None).await;
    assert_eq!(l.status, 200);
    assert_eq!(l.json["meta"]["total"], 2);
    assert_eq!(l.json["objects"][0]["trunk_id"], tid.as_str());
    assert!(l.json["meta"]["next"].is_string());
    // Deleting the credential detaches it.
    let d = v
        .call(Method::DELETE, &format!("/credentials/{cid}"), None)
        .await;
    assert_eq!(d.status, 204);
    let g = v.call(Method::GET, &format!("/trunks/{tid}"), None).await;
    assert_eq!(g.json["credential_uuid"], Value::Null);
    // Delete trunk.
    let d = v
        .call(Method::DELETE, &format!("/trunks/{tid}"), None)
        .await;
    assert_eq!(d.status, 204);
    for m in [Method::GET, Method::DELETE, Method::PUT] {
        let r = v.call(m, &format!("/trunks/{tid}"), Some(json!({}))).await;
        assert_envelope(&r, 404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn auth_failures() {
    let v = Vx::new().await;
    let routes = [
        (Method::POST, format!("/Account/{AID}/credentials")),
        (Method::GET, format!("/Account/{AID}/trunks/credentials")),
        (Method::GET, format!("/Account/{AID}/credentials/x")),
        (Method::PUT, format!("/Account/{AID}/credentials/x")),
        (Method::DELETE, format!("/Account/{AID}/credentials/x")),
        (Method::POST, format!("/Account/{AID}/trunks")),
        (Method::GET, format!("/Account/{AID}/trunks")),
        (Method::GET, format!("/Account/{AID}/trunks/x")),
        (Method::PUT, format!("/Account/{AID}/trunks/x")),
        (Method::DELETE, format!("/Account/{AID}/trunks/x")),
        // Another account's path with our valid headers.
        (
            Method::GET,
            "/Account/MA_OTHER/trunks/credentials".to_string(),
        ),
    ];
    let bad_headers: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("X-Auth-ID", AID)],
        vec![("X-Auth-Token", TOKEN)],
        vec![("X-Auth-ID", AID), ("X-Auth-Token", "wrong")],
        vec![("X-Auth-ID", "MA_OTHER"), ("X-Auth-Token", TOKEN)],
    ];
    for (m, p) in &routes {
        let url = format!("{}{}", v.sim.base_url(), p);
        let sets: Vec<Vec<(&str, &str)>> = if p.contains("MA_OTHER") {
            vec![vec![("X-Auth-ID", AID), ("X-Auth-Token", TOKEN)]]
        } else {
            bad_headers.clone()
        };
        for hs in sets {
            let r = send(&v.c, m.clone(), &url, &hs, Some(&json!({}))).await;
            assert_envelope(&r, 401, "UNAUTHORIZED");
        }
    }
    // Unknown route (authenticated or not): 404 envelope.
    let r = v.call(Method::GET, "/nothing-here", None).await;
    assert_envelope(&r, 404, "NOT_FOUND");
}

#[tokio::test]
async fn rate_limit_429_with_retry_after() {
    let v = Vx::with(VobizConfig {
        rate_limit: RateLimit::per_second(1.0, 2),
        ..VobizConfig::new(AID, TOKEN)
    })
    .await;
    for _ in 0..2 {
        let r = v.call(Method::GET, "/trunks/credentials", None).await;
        assert_eq!(r.status, 200);
    }
    let r = v.call(Method::GET, "/trunks/credentials", None).await;
    assert_envelope(&r, 429, "RATE_LIMIT_EXCEEDED");
    let ra: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(ra >= 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = v.call(Method::GET, "/trunks/credentials", None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn admin_out_of_band_and_inspection() {
    let v = Vx::new().await;
    let cred = v.create("portal_user", "password1").await.json;
    let id = cred["id"].as_str().unwrap();
    let c = client();
    let admin = v.sim.admin_url();
    // A person changes the password and disables the credential in the console.
    let r = c
        .patch(format!("{admin}/vobiz/credentials/{id}"))
        .json(&json!({"password": "changed-in-console", "enabled": false, "description": "drift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let g = v
        .call(Method::GET, &format!("/credentials/{id}"), None)
        .await;
    assert_eq!(g.json["enabled"], false);
    assert_eq!(g.json["description"], "drift");
    assert!(!v.sim.check_credentials("portal_user", "changed-in-console"));
    v.sim
        .oob_patch("credentials", id, json!({"enabled": true}))
        .unwrap();
    let chk: Value = c
        .post(format!("{admin}/check"))
        .json(&json!({"username": "portal_user", "password": "changed-in-console"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(chk["valid"], true);
    let st: Value = c
        .get(format!("{admin}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["provider"], "vobiz");
    assert_eq!(st["credentials"][0]["id"], id);
    // Out-of-band create of a trunk and delete of the credential.
    let t = v
        .sim
        .oob_create(
            "trunks",
            json!({"name": "console trunk", "credential_uuid": id}),
        )
        .unwrap();
    assert_eq!(t["credential_uuid"], id);
    let r = c
        .delete(format!("{admin}/vobiz/credentials/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let g = v
        .call(Method::GET, &format!("/credentials/{id}"), None)
        .await;
    assert_eq!(g.status, 404);
    assert_eq!(
        v.sim.request_count(
            "GET",
            "/api/v1/Account/{auth_id}/credentials/{id}",
            Some(404)
        ),
        1
    );
    assert_eq!(
        v.sim
            .request_count("POST", "/api/v1/Account/{auth_id}/credentials", Some(201)),
        1
    );
    v.sim.shutdown().await;
}
