//! `sipcred-operator status KIND/NAME` (`kubectl sipcred status`): what an object's
//! status says, its Secret's keys with every secret value masked, rotation and expiry
//! times, and its recent Events. The object is read as a `DynamicObject`, so fields a
//! newer operator adds show up without this command knowing their types.

use std::fmt::Write as _;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::target::{BoxError, KubeArgs, Target};

/// The `spec.secret.keys` fields whose values identify a login without granting it;
/// every other value is masked.
const SHOWN_FIELDS: &[&str] = &["username", "domain", "id"];
/// The annotation `rotate` sets.
pub const ROTATE_ANNOTATION: &str = "sipcred.io/rotate-requested-at";
/// Events shown.
const EVENTS: usize = 10;

/// Flags of `status`.
#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    /// The object: KIND/NAME (e.g. tc/agent-alice, sipconnection/office) or KIND NAME.
    /// KIND is a kind, plural or short name, any case.
    #[arg(value_name = "KIND/NAME")]
    pub object: String,
    /// The name, when the object is given as KIND NAME.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

pub async fn run(args: StatusArgs) -> Result<(), BoxError> {
    let target = Target::parse(&args.object, args.name.as_deref())?;
    let (client, namespace) = args.kube.connect().await?;
    let obj = target.get(&client, &namespace).await?;
    let now = Timestamp::now();
    let secret = read_secret(&client, &namespace, &obj).await;
    let events = read_events(&client, &namespace, &target.resource, &obj).await;
    print!(
        "{}",
        render(&target, &namespace, &obj, &secret, &events, now)
    );
    Ok(())
}

/// The Secret the object publishes to, as found (or why it was not).
pub enum SecretView {
    Found {
        name: String,
        data: Vec<(String, usize, Option<String>)>,
    },
    Missing {
        name: String,
    },
    Unreadable {
        name: String,
        error: String,
    },
}

/// `status.secretName`, else `spec.secret.name`, else the object's name (the
/// operator's default).
fn secret_name(obj: &DynamicObject) -> String {
    let d = &obj.data;
    d["status"]["secretName"]
        .as_str()
        .or_else(|| d["spec"]["secret"]["name"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| obj.name_any())
}

/// The Secret keys whose values may be printed: `username`, `domain` and `id` under
/// the names `spec.secret.keys` gives them, unless another field (the password, a
/// token) is given the same name.
fn shown_keys(obj: &DynamicObject) -> Vec<String> {
    let keys = obj.data["spec"]["secret"]["keys"].as_object();
    let named = |field: &str| {
        keys.and_then(|k| k.get(field))
            .and_then(Value::as_str)
            .unwrap_or(field)
            .to_string()
    };
    let hidden: Vec<&str> = keys
        .map(|k| {
            k.iter()
                .filter(|(f, _)| !SHOWN_FIELDS.contains(&f.as_str()))
                .filter_map(|(_, v)| v.as_str())
                .collect()
        })
        .unwrap_or_default();
    SHOWN_FIELDS
        .iter()
        .map(|f| named(f))
        .filter(|k| !hidden.contains(&k.as_str()) && k != "password" && k != "token")
        .collect()
}

async fn read_secret(client: &Client, namespace: &str, obj: &DynamicObject) -> SecretView {
    let name = secret_name(obj);
    let shown_keys = shown_keys(obj);
    match Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&name)
        .await
    {
        Ok(Some(s)) => SecretView::Found {
            name,
            data: s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let shown = shown_keys
                        .contains(&k)
                        .then(|| printable(&String::from_utf8_lossy(&v.0)));
                    let len = v.0.len();
                    (k, len, shown)
                })
                .collect(),
        },
        Ok(None) => SecretView::Missing { name },
        Err(e) => SecretView::Unreadable {
            name,
            error: short_error(&e),
        },
    }
}

/// One Event about the object.
pub struct EventView {
    pub at: Option<Timestamp>,
    pub type_: String,
    pub reason: String,
    pub count: i64,
    pub note: String,
}

/// The object's Events, newest last: events.k8s.io/v1 (what the operator's recorder
/// writes), or core/v1 where that API is not served. Filtered by the server where it
/// can and always here, by the object's UID when both sides have one.
async fn read_events(
    client: &Client,
    namespace: &str,
    resource: &ApiResource,
    obj: &DynamicObject,
) -> Result<Vec<EventView>, String> {
    let name = obj.name_any();
    let uid = obj.uid();
    let sources = [
        (
            ApiResource {
                group: "events.k8s.io".into(),
                version: "v1".into(),
                api_version: "events.k8s.io/v1".into(),
                kind: "Event".into(),
                plural: "events".into(),
            },
            "regarding",
        ),
        (
            ApiResource {
                group: String::new(),
                version: "v1".into(),
                api_version: "v1".into(),
                kind: "Event".into(),
                plural: "events".into(),
            },
            "involvedObject",
        ),
    ];
    let mut last_error = String::new();
    for (ar, field) in sources {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let selector = format!("{field}.name={name},{field}.kind={}", resource.kind);
        let list = match api.list(&ListParams::default().fields(&selector)).await {
            Ok(l) => Ok(l),
            // A server that cannot select on these fields still lists.
            Err(kube::Error::Api(e)) if e.code == 400 => api.list(&ListParams::default()).await,
            Err(e) => Err(e),
        };
        let list = match list {
            Ok(l) => l,
            Err(e) => {
                last_error = short_error(&e);
                continue;
            }
        };
        let mut out: Vec<EventView> = list
            .items
            .iter()
            .map(|e| &e.data)
            .filter(|e| {
                let r = &e[field];
                r["kind"] == resource.kind.as_str()
                    && r["name"] == name.as_str()
                    && match (r["uid"].as_str(), uid.as_deref()) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
            .map(event_view)
            .collect();
        out.sort_by_key(|e| e.at);
        let skip = out.len().saturating_sub(EVENTS);
        return Ok(out.into_iter().skip(skip).collect());
    }
    Err(last_error)
}

/// Either API version's Event, by the fields each has.
fn event_view(e: &Value) -> EventView {
    let time = |ptrs: &[&str]| {
        ptrs.iter()
            .filter_map(|p| e.pointer(p).and_then(Value::as_str))
            .find_map(|s| s.parse::<Timestamp>().ok())
    };
    let text = |ptrs: &[&str]| {
        ptrs.iter()
            .filter_map(|p| e.pointer(p).and_then(Value::as_str))
            .next()
            .map(printable)
            .unwrap_or_default()
    };
    EventView {
        at: time(&[
            "/series/lastObservedTime",
            "/deprecatedLastTimestamp",
            "/lastTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]),
        type_: text(&["/type"]),
        reason: text(&["/reason"]),
        count: ["/series/count", "/deprecatedCount", "/count"]
            .iter()
            .find_map(|p| e.pointer(p).and_then(Value::as_i64))
            .unwrap_or(1),
        note: text(&["/note", "/message"]),
    }
}

/// The report. Pure, so tests can check that no secret value reaches it.
pub fn render(
    target: &Target,
    namespace: &str,
    obj: &DynamicObject,
    secret: &SecretView,
    events: &Result<Vec<EventView>, String>,
    now: Timestamp,
) -> String {
    let mut out = String::new();
    let status = &obj.data["status"];
    let spec = &obj.data["spec"];
    let _ = writeln!(out, "Name:       {}", obj.name_any());
    let _ = writeln!(out, "Namespace:  {namespace}");
    let _ = writeln!(
        out,
        "Kind:       {} ({})",
        target.resource.kind, target.resource.api_version
    );
    if let Some(p) = spec["providerRef"]["name"].as_str() {
        let kind = spec["providerRef"]["kind"]
            .as_str()
            .unwrap_or("SipProvider");
        let _ = writeln!(out, "Provider:   {kind} {}", printable(p));
    }
    let annotations = obj.annotations();
    if annotations.get("sipcred.io/paused").map(String::as_str) == Some("true") {
        let _ = writeln!(
            out,
            "Paused:     yes (annotation sipcred.io/paused: the operator leaves it alone)"
        );
    }
    if let Some(p) = annotations.get("sipcred.io/management-policy") {
        let _ = writeln!(out, "Management: {}", printable(p));
    }
    if obj.metadata.deletion_timestamp.is_some() {
        let _ = writeln!(
            out,
            "Deleting:   yes (waiting for the operator's finalizer)"
        );
    }

    out.push_str("\nConditions:\n");
    let conditions = conditions(status, now);
    if conditions.is_empty() {
        out.push_str("  none yet (the operator has not reported on this object)\n");
    } else {
        let mut rows = vec![vec![
            "TYPE".to_string(),
            "STATUS".into(),
            "REASON".into(),
            "AGE".into(),
            "MESSAGE".into(),
        ]];
        rows.extend(conditions);
        table(&mut out, &rows);
    }
    if let (Some(seen), Some(generation)) = (
        status["observedGeneration"].as_i64(),
        obj.metadata.generation,
    ) && seen < generation
    {
        let _ = writeln!(
            out,
            "  (these describe generation {seen}; the object is at generation {generation})"
        );
    }

    let ids = provider_ids(status);
    out.push_str("\nProvider IDs:\n");
    if ids.is_empty() {
        out.push_str("  none yet\n");
    }
    fields(&mut out, &ids);

    match secret {
        SecretView::Found { name, data } => {
            let _ = writeln!(out, "\nSecret {name}:");
            if data.is_empty() {
                out.push_str("  no keys\n");
            }
            let rows: Vec<(String, String)> = data
                .iter()
                .map(|(k, len, shown)| {
                    let v = match shown {
                        Some(v) => v.clone(),
                        None => format!("******** ({len} bytes)"),
                    };
                    (k.clone(), v)
                })
                .collect();
            fields(&mut out, &rows);
        }
        SecretView::Missing { name } => {
            let _ = writeln!(out, "\nSecret {name}: not found (not written yet)");
        }
        SecretView::Unreadable { name, error } => {
            let _ = writeln!(out, "\nSecret {name}: cannot read it: {error}");
        }
    }

    let rotation = rotation(obj, now);
    if !rotation.is_empty() {
        out.push_str("\nRotation:\n");
        fields(&mut out, &rotation);
    }

    let mut expiry = Vec::new();
    if let Some(at) = status["expiresAt"].as_str().or(spec["expiresAt"].as_str()) {
        let expired = if status["expired"] == true {
            " EXPIRED"
        } else {
            ""
        };
        expiry.push((
            "Expires at".to_string(),
            format!("{}{expired}", when(at, now)),
        ));
    }
    if let Some(at) = status["accessTokenExpiresAt"].as_str() {
        expiry.push(("Access token expires at".to_string(), when(at, now)));
    }
    if !expiry.is_empty() {
        out.push_str("\nExpiry:\n");
        fields(&mut out, &expiry);
    }

    let _ = writeln!(out, "\nEvents (newest last, at most {EVENTS}):");
    match events {
        Err(e) => {
            let _ = writeln!(out, "  cannot list Events: {e}");
        }
        Ok(list) if list.is_empty() => out.push_str("  none\n"),
        Ok(list) => {
            let mut rows = vec![vec![
                "AGE".to_string(),
                "TYPE".into(),
                "REASON".into(),
                "COUNT".into(),
                "MESSAGE".into(),
            ]];
            for e in list {
                rows.push(vec![
                    e.at.map(|t| age(t, now)).unwrap_or_else(|| "?".into()),
                    e.type_.clone(),
                    e.reason.clone(),
                    e.count.to_string(),
                    e.note.clone(),
                ]);
            }
            table(&mut out, &rows);
        }
    }
    out
}

/// Ready, Synced and Registered first, then any other condition, as table rows.
fn conditions(status: &Value, now: Timestamp) -> Vec<Vec<String>> {
    let mut list: Vec<&Value> = status["conditions"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let rank = |t: &str| {
        ["Ready", "Synced", "Registered"]
            .iter()
            .position(|x| *x == t)
            .unwrap_or(3)
    };
    list.sort_by_key(|c| rank(c["type"].as_str().unwrap_or_default()));
    list.iter()
        .map(|c| {
            let s = |k: &str| printable(c[k].as_str().unwrap_or_default());
            let age = c["lastTransitionTime"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map(|t| age(t, now))
                .unwrap_or_default();
            vec![s("type"), s("status"), s("reason"), age, s("message")]
        })
        .collect()
}

/// Every status field whose name ends in `ID` (`connectionID`, `credentialID`,
/// `previousCredentialID`, ...), in the status's order.
fn provider_ids(status: &Value) -> Vec<(String, String)> {
    status
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.ends_with("ID") || k.ends_with("Id"))
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => printable(s),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The rotation fields present, and a requested rotation the status has not echoed yet.
fn rotation(obj: &DynamicObject, now: Timestamp) -> Vec<(String, String)> {
    let status = &obj.data["status"];
    let mut out = Vec::new();
    for (field, label) in [
        ("lastRotatedAt", "Last rotated at"),
        ("nextRotationAt", "Next rotation at"),
        ("lastRotationRequest", "Last request honoured"),
        ("previousCredentialID", "Previous credential"),
        ("previousCredentialDeleteAt", "Previous deleted at"),
    ] {
        if let Some(v) = status[field].as_str() {
            let shown = if field.ends_with("At") {
                when(v, now)
            } else {
                printable(v)
            };
            out.push((label.to_string(), shown));
        }
    }
    if let Some(asked) = obj.annotations().get(ROTATE_ANNOTATION)
        && status["lastRotationRequest"].as_str() != Some(asked.as_str())
    {
        out.push((
            "Requested".to_string(),
            format!("{} (pending)", printable(asked)),
        ));
    }
    out
}

/// `2030-01-01T00:00:00Z (in 3y)`; the text as given when it is no timestamp.
fn when(at: &str, now: Timestamp) -> String {
    match at.parse::<Timestamp>() {
        Ok(t) if t >= now => format!("{} (in {})", printable(at), span(t.duration_since(now))),
        Ok(t) => format!("{} ({} ago)", printable(at), span(now.duration_since(t))),
        Err(_) => printable(at),
    }
}

fn age(t: Timestamp, now: Timestamp) -> String {
    if t > now {
        return "0s".into();
    }
    span(now.duration_since(t))
}

/// kubectl's short ages: `45s`, `12m`, `5h`, `3d`, `2y`.
fn span(d: jiff::SignedDuration) -> String {
    let s = d.as_secs().max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        172_800..63_072_000 => format!("{}d", s / 86_400),
        _ => format!("{}y", s / 31_536_000),
    }
}

/// Terminal control characters out of anything the cluster sent.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A kube error in one line, without the client's debug structure.
fn short_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

fn fields(out: &mut String, rows: &[(String, String)]) {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "  {:<w$}  {v}", format!("{k}:"), w = w + 1);
    }
}

fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.first().map(Vec::len).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from("  ");
        for (i, c) in r.iter().enumerate() {
            if i + 1 == cols {
                line.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                line.push_str(c);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn renders_everything_and_masks_secret_values() {
        let now: Timestamp = "2026-12-02T10:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let target = Target::parse("tc/alice", None).unwrap_or_else(|e| panic!("{e}"));
        let o = obj(json!({
            "apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential",
            "metadata": {"name": "alice", "namespace": "ns", "generation": 2,
                         "annotations": {ROTATE_ANNOTATION: "2026-12-02T09:59:00Z"}},
            "spec": {"providerRef": {"name": "telnyx"}},
            "status": {
                "observedGeneration": 2,
                "conditions": [
                    {"type": "Synced", "status": "True", "reason": "Synced", "message": "ok", "lastTransitionTime": "2026-12-02T09:55:00Z"},
                    {"type": "Ready", "status": "True", "reason": "Available", "message": "The credential exists.", "lastTransitionTime": "2026-12-02T09:59:30Z"}
                ],
                "credentialID": "c-1", "connectionID": "123", "previousCredentialID": "c-0",
                "lastRotationRequest": "2026-12-01T00:00:00Z",
                "nextRotationAt": "2026-12-31T10:00:00Z",
                "expiresAt": "2030-01-01T00:00:00Z",
                "accessTokenExpiresAt": "2026-12-03T10:00:00Z",
                "secretName": "alice-sip"
            }
        }));
        let secret = SecretView::Found {
            name: "alice-sip".into(),
            data: vec![
                ("id".into(), 3, Some("c-1".into())),
                ("password".into(), 32, None),
                ("token".into(), 300, None),
                ("username".into(), 12, Some("gencredabcde".into())),
            ],
        };
        let events = Ok(vec![EventView {
            at: Some(
                "2026-12-02T09:58:00Z"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            type_: "Normal".into(),
            reason: "Created".into(),
            count: 1,
            note: "Created the credential.".into(),
        }]);
        let text = render(&target, "ns", &o, &secret, &events, now);
        for want in [
            "Kind:       TelephonyCredential (sipcred.io/v1alpha1)",
            "Provider:   SipProvider telnyx",
            "Ready   True    Available  30s  The credential exists.",
            "Synced  True    Synced     5m   ok",
            "credentialID:          c-1",
            "previousCredentialID:  c-0",
            "Secret alice-sip:",
            "password:  ******** (32 bytes)",
            "token:     ******** (300 bytes)",
            "username:  gencredabcde",
            "Next rotation at:       2026-12-31T10:00:00Z (in 29d)",
            "Requested:              2026-12-02T09:59:00Z (pending)",
            "Expires at:               2030-01-01T00:00:00Z (in 3y)",
            "Access token expires at:  2026-12-03T10:00:00Z (in 24h)",
            "2m   Normal  Created  1      Created the credential.",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(
            text.find("Ready").unwrap_or(0) < text.find("Synced").unwrap_or(0),
            "Ready first:\n{text}"
        );
    }

    #[test]
    fn a_fresh_object_says_what_is_missing() {
        let now = Timestamp::now();
        let target = Target::parse("trunkcred", Some("bob")).unwrap_or_else(|e| panic!("{e}"));
        let o = obj(
            json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential",
                           "metadata": {"name": "bob"}, "spec": {}}),
        );
        let text = render(
            &target,
            "default",
            &o,
            &SecretView::Missing { name: "bob".into() },
            &Err("forbidden (403)".into()),
            now,
        );
        for want in [
            "none yet (the operator has not reported on this object)",
            "Secret bob: not found",
            "cannot list Events: forbidden (403)",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("Rotation:"), "{text}");
    }

    #[test]
    fn only_identifying_keys_are_shown_under_their_configured_names() {
        let cases = [
            ("defaults", json!(null), vec!["username", "domain", "id"]),
            (
                "renamed username",
                json!({"username": "user"}),
                vec!["user", "domain", "id"],
            ),
            (
                "the password under a shown name stays masked",
                json!({"password": "id"}),
                vec!["username", "domain"],
            ),
            (
                "a shown field renamed to the password's default name",
                json!({"username": "password", "password": "pw"}),
                vec!["domain", "id"],
            ),
        ];
        for (why, keys, want) in cases {
            let o = obj(
                json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
                               "metadata": {"name": "x"}, "spec": {"secret": {"keys": keys}}}),
            );
            assert_eq!(shown_keys(&o), want, "{why}");
        }
    }

    #[test]
    fn ages_are_short() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (7_199, "119m"),
            (7_200, "2h"),
            (172_800, "2d"),
            (63_072_000, "2y"),
        ];
        for (secs, want) in cases {
            assert_eq!(span(jiff::SignedDuration::from_secs(secs)), want, "{secs}");
        }
    }
}
