//! `sipcred-operator status` and `rotate`, and the same binary as the kubectl plugin
//! `kubectl sipcred`, run as processes against the world's API server through a
//! kubeconfig, as a user would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::json;
use sipcred_operator::crd::{SipConnection, TelephonyCredential};
use support::{NS, World};

const BIN: &str = env!("CARGO_BIN_EXE_sipcred-operator");
const ROTATE: &str = "sipcred.io/rotate-requested-at";

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `program args` with this kubeconfig in KUBECONFIG (and `path_dir` first on
/// PATH), without blocking the runtime that serves the in-memory API server.
async fn run_with(program: &str, args: &[&str], kubeconfig: &Path, path_dir: Option<&Path>) -> Out {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env("KUBECONFIG", kubeconfig);
    if let Some(dir) = path_dir {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    let out = cmd.output().await.unwrap();
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

async fn run(w: &World, args: &[&str]) -> Out {
    run_with(BIN, args, &w.kubeconfig, None).await
}

fn tc(name: &str) -> serde_json::Value {
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TelephonyCredential", "metadata": {"name": name, "namespace": NS},
           "spec": {"providerRef": {"name": "telnyx"}, "sipConnectionRef": {"name": "conn"}, "expiresAt": "2030-01-01T00:00:00Z"}})
}

/// The reasons of the Events about `name`, once there is at least one.
async fn event_reasons(w: &World, kind: &str, name: &str) -> Vec<String> {
    let api = Api::<Event>::namespaced(w.client.clone(), &w.ns);
    w.until(&format!("an Event about {name}"), 30, || async {
        let reasons: Vec<String> = api
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.name.as_deref() == Some(name) && r.kind.as_deref() == Some(kind)
                })
            })
            .filter_map(|e| e.reason)
            .collect();
        (!reasons.is_empty()).then_some(reasons)
    })
    .await
}

#[tokio::test]
async fn status_rotate_and_the_kubectl_plugin_against_a_ready_object() {
    let mut w = World::start().await;
    w.start_operator();
    w.apply(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "conn", "namespace": NS},
        "spec": {"providerRef": {"name": "telnyx"}, "userName": "conn0001"}})).await;
    w.apply(tc("alice")).await;
    let conn: SipConnection = w.wait_ready("conn").await;
    let alice: TelephonyCredential = w.wait_ready("alice").await;
    let st = alice.status.unwrap();
    let credential_id = st.credential_id.unwrap();
    let connection_id = st.connection_id.unwrap();
    let secret = w.secret("alice").await.unwrap();
    let password = secret["password"].clone();
    let reasons = event_reasons(&w, "TelephonyCredential", "alice").await;

    let out = run(&w, &["status", "tc/alice", "-n", &w.ns]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let text = out.stdout.clone();
    for want in [
        "Name:       alice".to_string(),
        format!("Namespace:  {}", w.ns),
        "Kind:       TelephonyCredential (sipcred.io/v1alpha1)".into(),
        "Ready".into(),
        "Synced".into(),
        format!("credentialID:  {credential_id}"),
        format!("connectionID:  {connection_id}"),
        "Secret alice:".into(),
        format!("password:  ******** ({} bytes)", password.len()),
        format!("username:  {}", secret["username"]),
        "Expires at:  2030-01-01T00:00:00".into(),
        "Events (newest last, at most 10):".into(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in\n{text}");
    }
    let ready = text
        .lines()
        .find(|l| l.trim_start().starts_with("Ready"))
        .unwrap();
    assert!(ready.contains("True"), "{ready}");
    for r in &reasons {
        assert!(
            text.contains(r.as_str()),
            "Event reason {r} missing in\n{text}"
        );
    }
    assert!(
        !text.contains(&password) && !out.stderr.contains(&password),
        "the password leaked:\n{text}"
    );

    // KIND NAME with a plural in another case; the operator chose this password.
    let out = run(
        &w,
        &["status", "SipConnections", "conn", "--namespace", &w.ns],
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let conn_secret = w.secret("conn").await.unwrap();
    let conn_password = &conn_secret["password"];
    assert!(
        out.stdout.contains("Kind:       SipConnection"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "connectionID:  {}",
            conn.status.unwrap().connection_id.unwrap()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "password:  ******** ({} bytes)",
            conn_password.len()
        )),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(conn_password.as_str()),
        "the password leaked:\n{}",
        out.stdout
    );

    // Without -n: the namespace of the chosen context (--context, else the current
    // one), as kubectl takes it; KUBECONFIG is then the file to read.
    let mut kc = kube::config::Kubeconfig::read_from(&w.kubeconfig).unwrap();
    let current = kc.current_context.clone().unwrap();
    let mut other = kc
        .contexts
        .iter()
        .find(|c| c.name == current)
        .unwrap()
        .clone();
    other.name = "in-world-namespace".into();
    other.context.as_mut().unwrap().namespace = Some(w.ns.clone());
    kc.contexts.push(other);
    let contexts = w.dir.path().join("kubeconfig-contexts");
    std::fs::write(&contexts, serde_yaml::to_string(&kc).unwrap()).unwrap();
    let out = run_with(
        BIN,
        &["status", "telcred/alice", "--context", "in-world-namespace"],
        &contexts,
        None,
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("credentialID:  {credential_id}")),
        "{}",
        out.stdout
    );
    kc.current_context = Some("in-world-namespace".into());
    let current_has_ns = w.dir.path().join("kubeconfig-current");
    std::fs::write(&current_has_ns, serde_yaml::to_string(&kc).unwrap()).unwrap();
    let args = [
        "status",
        "telcred/alice",
        "--kubeconfig",
        current_has_ns.to_str().unwrap(),
    ];
    let out = run_with(BIN, &args, Path::new("/nonexistent"), None).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("credentialID:  {credential_id}")),
        "{}",
        out.stdout
    );
    if w.is_real() {
        // The admin context has no namespace: `default`, where alice is not.
        let out = run_with(BIN, &["status", "telcred/alice"], &w.kubeconfig, None).await;
        assert!(!out.ok);
        assert!(
            out.stderr.contains("not found in namespace \"default\""),
            "{}",
            out.stderr
        );
    }

    // rotate: the annotation, an RFC 3339 time, and a new value each time.
    let out = run(&w, &["rotate", "tc/alice", "-n", &w.ns]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let first = annotation(&w, "alice").await;
    let t: jiff::Timestamp = first.parse().unwrap_or_else(|e| panic!("{first}: {e}"));
    assert!(t.as_second() > 1_700_000_000, "{first}");
    assert!(
        out.stdout.contains(&format!("{ROTATE}: {first}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "sipcred-operator status telephonycredential/alice -n {}",
            w.ns
        )),
        "how to follow it:\n{}",
        out.stdout
    );
    let out = run(&w, &["rotate", "telephonycredential", "alice", "-n", &w.ns]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let second = annotation(&w, "alice").await;
    assert_ne!(first, second, "a second request must be a new value");
    second.parse::<jiff::Timestamp>().unwrap();

    // The kubectl plugin: installed by `plugin install`, run by the real kubectl.
    let bin_dir = tempfile::tempdir().unwrap();
    let dir = bin_dir.path().to_str().unwrap();
    let out = run(&w, &["plugin", "install", "--dir", dir]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let link = bin_dir.path().join("kubectl-sipcred");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new(BIN).canonicalize().unwrap()
    );
    let out = run_with(
        "kubectl",
        &["sipcred", "status", "tc/alice", "-n", &w.ns],
        &w.kubeconfig,
        Some(bin_dir.path()),
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("credentialID:  {credential_id}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("password:  ********"), "{}", out.stdout);
    assert!(
        !out.stdout.contains(&password),
        "the password leaked:\n{}",
        out.stdout
    );
    let out = run_with(
        "kubectl",
        &["sipcred", "rotate", "tc/alice", "-n", &w.ns],
        &w.kubeconfig,
        Some(bin_dir.path()),
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "kubectl sipcred status telephonycredential/alice -n {}",
            w.ns
        )),
        "{}",
        out.stdout
    );
    assert_ne!(annotation(&w, "alice").await, second);
    // The plugin has only the plugin's commands.
    let out = run_with(
        "kubectl",
        &["sipcred", "sandbox"],
        &w.kubeconfig,
        Some(bin_dir.path()),
    )
    .await;
    assert!(!out.ok);
    assert!(out.stderr.contains("kubectl sipcred"), "{}", out.stderr);
}

async fn annotation(w: &World, name: &str) -> String {
    let o = w.api::<TelephonyCredential>().get(name).await.unwrap();
    o.metadata
        .annotations
        .unwrap_or_default()
        .get(ROTATE)
        .cloned()
        .unwrap_or_else(|| panic!("no {ROTATE} on {name}"))
}

#[tokio::test]
async fn missing_objects_and_unknown_kinds_fail_with_a_clear_message() {
    let w = World::start().await;
    let out = run(&w, &["status", "tc/nobody", "-n", &w.ns]).await;
    assert!(!out.ok);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let want = format!(
        "error: TelephonyCredential \"nobody\" not found in namespace \"{}\"",
        w.ns
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);

    let out = run(&w, &["rotate", "trunkcred/nobody", "-n", &w.ns]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("TrunkCredential \"nobody\" not found"),
        "{}",
        out.stderr
    );

    let out = run(&w, &["status", "pods/nobody", "-n", &w.ns]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("unknown kind \"pods\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("TelephonyCredential (") && out.stderr.contains("tc"),
        "{}",
        out.stderr
    );

    // A created object the operator has not seen: status says what is not there yet.
    w.apply(tc("fresh")).await;
    let out = run(&w, &["status", "tc/fresh", "-n", &w.ns]).await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("none yet (the operator has not reported on this object)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Secret fresh: not found"),
        "{}",
        out.stdout
    );
}

/// The acceptance step: `kubectl sipcred status` and `rotate` against the
/// sandbox's kubeconfig (the sandbox always runs its own in-memory API server).
#[tokio::test]
async fn kubectl_sipcred_against_the_sandbox() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("sandbox.kubeconfig");
    let mut sandbox = tokio::process::Command::new(BIN)
        .args(["sandbox", "--timeout-secs", "90", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let mut out = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("running;") {
            break;
        }
    }
    assert!(
        out.contains("running;"),
        "the sandbox never got Ready:\n{out}"
    );
    assert!(
        out.contains("sipcred-operator status tc/agent-alice --kubeconfig"),
        "{out}"
    );

    let bin_dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.path().join("kubectl-sipcred")).unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let plugin = |args: &'static [&'static str]| {
        let mut a = vec!["sipcred"];
        a.extend_from_slice(args);
        a.extend(["--kubeconfig", kc]);
        a
    };
    let out = run_with(
        "kubectl",
        &plugin(&["status", "tc/agent-alice"]),
        Path::new("/nonexistent"),
        Some(bin_dir.path()),
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Namespace:  default"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Secret agent-alice-sip:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("password:  ******** (32 bytes)"),
        "{}",
        out.stdout
    );

    let out = run_with(
        "kubectl",
        &plugin(&["rotate", "trunkcred/office-pbx"]),
        Path::new("/nonexistent"),
        Some(bin_dir.path()),
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    let value = out
        .stdout
        .split(&format!("{ROTATE}: "))
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no value in {}", out.stdout))
        .to_string();
    value.parse::<jiff::Timestamp>().unwrap();
    // Pending, or already honoured by an operator that rotates: either way, shown.
    let out = run_with(
        "kubectl",
        &plugin(&["status", "trunkcred/office-pbx"]),
        Path::new("/nonexistent"),
        Some(bin_dir.path()),
    )
    .await;
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&value),
        "the request {value} is not shown:\n{}",
        out.stdout
    );

    sandbox.start_kill().unwrap();
    let _ = sandbox.wait().await;
}
