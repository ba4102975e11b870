//! Differential fidelity: the same request sequences against `sim/kube` and a
//! real kube-apiserver (the `testenv` control plane), comparing status codes,
//! Status texts, warnings and object shapes after normalising what a server
//! makes up (uids, timestamps, resourceVersions, generateName suffixes).
//!
//! Runs only when `SIPCRED_TEST_APISERVER=real` or `SIPCRED_TESTENV_BIN` is
//! set; otherwise every test prints one line that it skipped and passes. One
//! real control plane serves the whole test binary; every scenario works in
//! its own namespace. A difference fails the test unless `KNOWN` lists it
//! with the reason it cannot matter to the operator (see the README).
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use sipcred_kube_sim::{KubeSim, KubeSimConfig};

/// Differences that remain, by step label (`*` = any) and a fragment of the
/// JSON path, with why they cannot matter to the operator. Each is also
/// listed in sim/kube/README.md.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "*",
        ".metadata.managedFields",
        "managedFields bookkeeping (entry order, times, FieldsV1 \".\" entries, owners of server-set fields): the operator never reads managedFields; apply ownership is compared through object contents and conflicts",
    ),
    (
        "*",
        ".columnDefinitions[",
        "Table column descriptions and the type of built-in Age columns: kubectl prints the same; the operator never asks for Tables",
    ),
    (
        "unknown fields Strict",
        "",
        "unknown fields inside metadata of built-in kinds are neither pruned nor reported: the operator writes typed ObjectMeta, which has none",
    ),
    ("unknown fields Warn", "", "as for Strict"),
    ("unknown fields Ignore", "", "as for Strict"),
    ("unknown fields ", "", "as for Strict"),
    (
        "duplicate field Strict",
        "",
        "duplicate JSON keys are not detected (last wins): serde never writes one",
    ),
    ("duplicate field Warn", "", "as for Strict"),
    ("duplicate field ", "", "as for Strict"),
    (
        "patch unknown Strict",
        "",
        "unknown fields in a Strict merge patch of a built-in kind answer 400 BadRequest (real: 422 with the whole patched object in the message): the operator's patches are typed",
    ),
    (
        "apply unknown Strict",
        "",
        "an apply of a built-in kind with an unknown field answers 400 BadRequest (real: 500 \"failed to create typed patch object\"): the operator applies typed objects",
    ),
    (
        "get node",
        "",
        "nodes are not served, and a request for a resource that is not served is 404 before RBAC (real: 403 first): the operator touches no nodes",
    ),
    (
        "schema several",
        "",
        "the order of several schema causes differs (the real server's follows its own walk of the schema); every cause and its text are the same, and the operator's users read them whole",
    ),
    (
        "alice ssrr",
        "",
        "SelfSubjectReview is not served: the operator never asks who it is",
    ),
];

/// A difference the simulator is allowed: an empty map or list that Go's
/// `omitempty` drops (`{}`/`[]` against absent); both decode to the same
/// typed object.
fn empty_vs_absent(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| {
        v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|l| l.is_empty())
    };
    (empty(a) && b.is_null()) || (a.is_null() && empty(b))
}

// ---------------------------------------------------------------------------
// The real control plane: one per test binary.

struct RealEnv {
    kubeconfig: PathBuf,
    _child: std::process::Child,
}

static REAL: OnceLock<Option<RealEnv>> = OnceLock::new();

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The testenv binary, if this run asks for the real server.
fn testenv_binary() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("SIPCRED_TESTENV_BIN") {
        return Some(PathBuf::from(b));
    }
    if std::env::var("SIPCRED_TEST_APISERVER").ok().as_deref() != Some("real") {
        return None;
    }
    let built = workspace_root().join("target/testenv/sipcred-testenv");
    if built.exists() {
        return Some(built);
    }
    let script = workspace_root().join("scripts/testenv");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("SIPCRED_TEST_APISERVER=real: scripts/testenv runs");
    assert!(
        out.status.success(),
        "scripts/testenv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .last()
        .expect("scripts/testenv prints a path");
    Some(PathBuf::from(last.trim()))
}

fn start_real() -> Option<RealEnv> {
    let bin = testenv_binary()?;
    // testenv writes the kubeconfig once the server is ready and removes it
    // when it stops (with this process, by --exit-with-parent). Its output goes
    // to a log file, not a pipe: a pipe whose reader is gone would kill it
    // with SIGPIPE before it cleans up.
    let tmp = std::env::temp_dir();
    let kubeconfig = tmp.join(format!(
        "sipcred-fidelity-{}.kubeconfig",
        std::process::id()
    ));
    let log_path = tmp.join(format!("sipcred-fidelity-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = std::process::Command::new(&bin)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--exit-with-parent")
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !kubeconfig.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("testenv exited ({status}); log at {}", log_path.display());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "testenv not ready within 300 s; log at {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // the open file keeps receiving the log; the name is not needed any more
    let _ = std::fs::remove_file(&log_path);
    eprintln!(
        "differential: real control plane up ({})",
        kubeconfig.display()
    );
    Some(RealEnv {
        kubeconfig,
        _child: child,
    })
}

fn real_env() -> Option<&'static RealEnv> {
    REAL.get_or_init(start_real).as_ref()
}

// ---------------------------------------------------------------------------
// Targets: the same identities on both servers.

struct Target {
    name: &'static str,
    admin: Client,
    alice: Client,
    kubeconfig: PathBuf,
    _sim: Option<KubeSim>,
    _dir: Option<tempfile::TempDir>,
}

async fn client_for(kubeconfig: &Path, context: Option<&str>) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let opts = KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("client config");
    cfg.read_timeout = Some(Duration::from_secs(90));
    Client::try_from(cfg).expect("client")
}

async fn real_target(env: &RealEnv) -> Target {
    Target {
        name: "real",
        admin: client_for(&env.kubeconfig, None).await,
        alice: client_for(&env.kubeconfig, Some("alice")).await,
        kubeconfig: env.kubeconfig.clone(),
        _sim: None,
        _dir: None,
    }
}

/// The simulator as a cluster is configured: RBAC, TLS (kubectl sends
/// tokens only over TLS), an admin and an unprivileged `alice`.
async fn sim_target() -> Target {
    let sim = sipcred_kube_sim::start(KubeSimConfig {
        rbac: true,
        tls: true,
        bookmark_interval: Duration::from_secs(30),
        ..Default::default()
    })
    .await
    .expect("start sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let alice_token = sim.mint_user_token("alice", &[]);
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(sim.ca_pem().expect("tls"));
    let admin_token = sim
        .config()
        .auth_info
        .token
        .map(|t| secrecy::ExposeSecret::expose_secret(&t).to_string())
        .expect("admin token");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\ncontexts:\n- name: admin\n  context: {{cluster: sim, user: admin}}\n- name: alice\n  context: {{cluster: sim, user: alice}}\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: {admin_token}}}\n- name: alice\n  user: {{token: {alice_token}}}\n",
        url = sim.url()
    );
    std::fs::write(&kubeconfig, text).expect("write kubeconfig");
    Target {
        name: "sim",
        admin: client_for(&kubeconfig, None).await,
        alice: client_for(&kubeconfig, Some("alice")).await,
        kubeconfig,
        _sim: Some(sim),
        _dir: Some(dir),
    }
}

// ---------------------------------------------------------------------------
// Requests and observations.

#[derive(Clone, Copy)]
enum Who {
    Admin,
    Alice,
}

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

struct Resp {
    code: u16,
    body: Value,
    warnings: Vec<String>,
}

struct Run<'t> {
    t: &'t Target,
    ns: String,
    obs: Vec<(String, Value)>,
}

impl<'t> Run<'t> {
    fn new(t: &'t Target, ns: &str) -> Self {
        Self {
            t,
            ns: ns.to_string(),
            obs: Vec::new(),
        }
    }

    fn path(&self, p: &str) -> String {
        p.replace("{ns}", &self.ns)
    }

    /// Send a request and return the response without recording it.
    async fn send(
        &self,
        who: Who,
        method: &str,
        path: &str,
        ctype: &str,
        accept: &str,
        body: Vec<u8>,
    ) -> Resp {
        let client = match who {
            Who::Admin => &self.t.admin,
            Who::Alice => &self.t.alice,
        };
        let req = http::Request::builder()
            .method(method)
            .uri(self.path(path))
            .header("content-type", ctype)
            .header("accept", accept)
            .body(kube::client::Body::from(body))
            .expect("request");
        let resp = tokio::time::timeout(Duration::from_secs(120), client.send(req))
            .await
            .unwrap_or_else(|_| panic!("{} {method} {path}: no answer in 120 s", self.t.name))
            .unwrap_or_else(|e| panic!("{} {method} {path}: {e}", self.t.name));
        let code = resp.status().as_u16();
        let warnings = resp
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let bytes = resp.into_body().collect_bytes().await.expect("body");
        let whole = if path.contains("watch=1") {
            Err(())
        } else {
            serde_json::from_slice(&bytes).map_err(|_| ())
        };
        let body = whole.unwrap_or_else(|_| {
            // watch streams: one JSON document per line
            let lines: Option<Vec<Value>> = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).ok())
                .collect();
            match lines {
                Some(l) => Value::Array(l),
                None => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            }
        });
        Resp {
            code,
            body,
            warnings,
        }
    }

    fn record(&mut self, label: &str, r: &Resp) {
        let mut v = json!({"code": r.code, "body": r.body.clone()});
        if !r.warnings.is_empty() {
            v["warnings"] = json!(r.warnings);
        }
        self.note(label, v);
    }

    fn note(&mut self, label: &str, v: Value) {
        let mut v = v;
        normalise(&mut v);
        self.obs.push((label.to_string(), v));
    }

    /// Send a JSON (or patch) request and record the answer under `label`.
    async fn req(
        &mut self,
        label: &str,
        who: Who,
        method: &str,
        path: &str,
        ctype: &str,
        body: Option<Value>,
    ) -> Resp {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).expect("json"))
            .unwrap_or_default();
        let r = self.send(who, method, path, ctype, JSON, bytes).await;
        self.record(label, &r);
        r
    }

    async fn admin(&mut self, label: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        let ctype = if method == "PATCH" { MERGE } else { JSON };
        self.req(label, Who::Admin, method, path, ctype, body).await
    }

    /// Poll `path` until `done` holds (GC and namespace deletion are
    /// asynchronous on a real cluster); records whether it did.
    async fn until(&mut self, label: &str, path: &str, done: impl Fn(&Resp) -> bool) -> Resp {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let r = self
                .send(Who::Admin, "GET", path, JSON, JSON, Vec::new())
                .await;
            if done(&r) {
                self.note(label, json!({"reached": true}));
                return r;
            }
            if tokio::time::Instant::now() > deadline {
                self.note(label, json!({"reached": false, "last": r.body}));
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn namespace(&mut self) {
        let ns = self.ns.clone();
        self.admin(
            "create namespace",
            "POST",
            "/api/v1/namespaces",
            Some(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})),
        )
        .await;
    }

    /// Install the project's generated CRDs (crds/) and wait until served.
    async fn crds(&mut self) {
        let dir = workspace_root().join("crds");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("crds/ directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(&f).expect("read crd"))
                .expect("yaml");
            let name = crd["metadata"]["name"].as_str().expect("name").to_string();
            let plural = crd["spec"]["names"]["plural"]
                .as_str()
                .expect("plural")
                .to_string();
            let r = self
                .send(
                    Who::Admin,
                    "PATCH",
                    &format!(
                        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}?fieldManager=fidelity&force=true"
                    ),
                    APPLY,
                    JSON,
                    serde_json::to_vec(&crd).expect("json"),
                )
                .await;
            assert!(
                r.code < 300,
                "{}: the server refuses CRD {name}: {}",
                self.t.name,
                r.body
            );
            let list = format!("/apis/sipcred.io/v1alpha1/{plural}");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while self
                .send(Who::Admin, "GET", &list, JSON, JSON, Vec::new())
                .await
                .code
                != 200
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name} served in 60 s"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Replace what a server makes up, so two servers' answers compare.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(gn)), Some(Value::String(name))) =
                (m.get("generateName").cloned(), m.get_mut("name"))
                && !gn.is_empty()
                && name.starts_with(gn.as_str())
            {
                *name = format!("{gn}<suffix>");
            }
            // Table: the Age column is relative to now
            if m.get("kind").and_then(Value::as_str) == Some("Table") {
                let ages: Vec<usize> = m
                    .get("columnDefinitions")
                    .and_then(Value::as_array)
                    .map(|cols| {
                        cols.iter()
                            .enumerate()
                            .filter(|(_, c)| c["name"] == "Age")
                            .map(|(i, _)| i)
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(rows) = m.get_mut("rows").and_then(Value::as_array_mut) {
                    for row in rows {
                        for i in &ages {
                            if let Some(c) = row.get_mut("cells").and_then(|c| c.get_mut(*i)) {
                                *c = json!("<age>");
                            }
                        }
                    }
                }
            }
            if m.keys().any(|k| uuid_re().is_match(k)) {
                *m = std::mem::take(m)
                    .into_iter()
                    .map(|(k, x)| (uuid_re().replace_all(&k, "<uid>").into_owned(), x))
                    .collect();
            }
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "uid" | "resourceVersion" | "creationTimestamp" | "deletionTimestamp"
                    | "time" | "continue" | "selfLink"
                        if x.is_string() =>
                    {
                        *x = json!(format!("<{k}>"));
                    }
                    _ => normalise(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        Value::String(s) => {
            if uuid_re().is_match(s) {
                *s = uuid_re().replace_all(s, "<uid>").into_owned();
            }
            static RV: OnceLock<regex::Regex> = OnceLock::new();
            let re = RV.get_or_init(|| regex::Regex::new(r"\b\d{2,}\b").expect("regex"));
            if s.contains("resource version") || s.contains("resourceVersion") {
                *s = re.replace_all(s, "N").into_owned();
            }
        }
        _ => {}
    }
}

fn uuid_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .expect("regex")
    })
}

/// Leaf paths where `a` and `b` differ.
fn diff_paths(a: &Value, b: &Value, path: String, out: &mut Vec<(String, Value, Value)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff_paths(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff_paths(p, q, format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push((path, a.clone(), b.clone())),
        _ => {}
    }
}

fn known(label: &str, path: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(l, p, _)| (*l == "*" || *l == label) && path.contains(p))
        .map(|(_, _, why)| *why)
}

/// Compare the two runs; print every difference; fail on unlisted ones.
fn compare(scenario: &str, sim: &[(String, Value)], real: &[(String, Value)]) {
    let mut unexpected = Vec::new();
    let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
    assert_eq!(
        sim.iter().map(|o| &o.0).collect::<Vec<_>>(),
        real.iter().map(|o| &o.0).collect::<Vec<_>>(),
        "{scenario}: both runs take the same steps"
    );
    for ((label, s), (_, r)) in sim.iter().zip(real) {
        *by_label.entry(label).or_default() += 1;
        let mut d = Vec::new();
        diff_paths(s, r, String::new(), &mut d);
        for (path, a, b) in d {
            if empty_vs_absent(&a, &b) {
                continue;
            }
            match known(label, &path) {
                Some(why) => eprintln!("{scenario} / {label}: known difference at {path}: {why}"),
                None => {
                    eprintln!(
                        "{scenario} / {label}: DIFFERENCE at {path}\n   sim:  {a}\n   real: {b}"
                    );
                    unexpected.push(format!("{label} {path}"));
                }
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "{scenario}: sim/kube differs from kube-apiserver at: {unexpected:#?}"
    );
}

/// One line, once per test binary, written past the harness's output capture.
fn skipped() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "differential fidelity: skipped (set SIPCRED_TEST_APISERVER=real or SIPCRED_TESTENV_BIN to compare with a real kube-apiserver)"
        );
    });
}

/// Run `scenario` against the simulator and the real server and compare.
macro_rules! differential {
    ($test:ident, $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let Some(env) = tokio::task::spawn_blocking(real_env).await.expect("join") else {
                skipped();
                return;
            };
            let ns = format!("fid-{}", stringify!($scenario).replace('_', "-"));
            let sim = sim_target().await;
            let real = real_target(env).await;
            let mut a = Run::new(&sim, &ns);
            $scenario(&mut a).await;
            let mut b = Run::new(&real, &ns);
            $scenario(&mut b).await;
            compare(stringify!($scenario), &a.obs, &b.obs);
        }
    };
}

// ---------------------------------------------------------------------------
// Scenarios.

fn cm(name: &str, data: Value) -> Value {
    // labelled: a real cluster also has kube-root-ca.crt in every namespace
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"fid": "yes"}}, "data": data})
}

const CMS: &str = "/api/v1/namespaces/{ns}/configmaps";

async fn crud(r: &mut Run<'_>) {
    r.namespace().await;
    let created = r
        .admin("create", "POST", CMS, Some(cm("a", json!({"k": "v"}))))
        .await;
    r.admin(
        "create again",
        "POST",
        CMS,
        Some(cm("a", json!({"k": "v"}))),
    )
    .await;
    r.admin("get", "GET", &format!("{CMS}/a"), None).await;
    let mut stale = created.body.clone();
    stale["data"]["k"] = json!("first");
    r.admin("update", "PUT", &format!("{CMS}/a"), Some(stale.clone()))
        .await;
    stale["data"]["k"] = json!("second");
    r.admin("update stale", "PUT", &format!("{CMS}/a"), Some(stale))
        .await;
    r.admin(
        "update without resourceVersion",
        "PUT",
        &format!("{CMS}/a"),
        Some(cm("a", json!({"k": "third"}))),
    )
    .await;
    r.admin(
        "update missing",
        "PUT",
        &format!("{CMS}/nope"),
        Some(cm("nope", json!({}))),
    )
    .await;
    r.admin(
        "update name mismatch",
        "PUT",
        &format!("{CMS}/a"),
        Some(cm("b", json!({}))),
    )
    .await;
    r.admin(
        "merge patch",
        "PATCH",
        &format!("{CMS}/a"),
        Some(json!({"data": {"x": "y"}})),
    )
    .await;
    r.admin(
        "patch missing",
        "PATCH",
        &format!("{CMS}/nope"),
        Some(json!({"data": {}})),
    )
    .await;
    r.admin(
        "generateName",
        "POST",
        CMS,
        Some(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
        ),
    )
    .await;
    r.admin(
        "invalid name",
        "POST",
        CMS,
        Some(cm("Not_Valid", json!({}))),
    )
    .await;
    r.admin(
        "invalid label",
        "POST",
        CMS,
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "l", "labels": {"bad key!": "v"}}})),
    )
    .await;
    r.admin(
        "secret bad base64",
        "POST",
        "/api/v1/namespaces/{ns}/secrets",
        Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "not base64!"}})),
    )
    .await;
    r.admin(
        "secret",
        "POST",
        "/api/v1/namespaces/{ns}/secrets",
        Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}})),
    )
    .await;
    r.admin(
        "list",
        "GET",
        &format!("{CMS}?labelSelector=missing%3Dx"),
        None,
    )
    .await;
    r.admin("delete", "DELETE", &format!("{CMS}/a"), None).await;
    r.admin("get deleted", "GET", &format!("{CMS}/a"), None)
        .await;
    r.admin("delete again", "DELETE", &format!("{CMS}/a"), None)
        .await;
    r.admin(
        "delete secret",
        "DELETE",
        "/api/v1/namespaces/{ns}/secrets/s",
        None,
    )
    .await;
    r.admin("wrong namespace in body", "POST", CMS, Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "namespace": "elsewhere"}})))
        .await;
}

differential!(crud_and_conflicts, crud);

fn sipc(name: &str, spec: Value) -> Value {
    let mut base = json!({"providerRef": {"name": "telnyx"}, "userName": "myagent01"});
    if let (Some(b), Some(s)) = (base.as_object_mut(), spec.as_object()) {
        for (k, v) in s {
            b.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": name}, "spec": base})
}

const SIPCS: &str = "/apis/sipcred.io/v1alpha1/namespaces/{ns}/sipconnections";

async fn admission(r: &mut Run<'_>) {
    r.namespace().await;
    r.crds().await;
    r.admin("valid", "POST", SIPCS, Some(sipc("ok", json!({}))))
        .await;
    let cases = [
        ("cel username digits", json!({"userName": "12345abc"})),
        ("cel username chars", json!({"userName": "my_agent"})),
        (
            "cel both password sources",
            json!({"passwordSecretRef": {"name": "s", "key": "p"}, "passwordPolicy": {}}),
        ),
        (
            "cel password classes",
            json!({"passwordPolicy": {"lowercase": false, "uppercase": false, "digits": false}}),
        ),
        ("cel url", json!({"webhookEventURL": "example.com/hook"})),
        (
            "cel jitter",
            json!({"jitterBuffer": {"jitterbufferMsecMin": 300, "jitterbufferMsecMax": 100}}),
        ),
        (
            "cel localization",
            json!({"outbound": {"localization": "us"}}),
        ),
        ("schema minLength", json!({"userName": "ab1"})),
        ("schema maxLength", json!({"userName": "a".repeat(33)})),
        ("schema maximum", json!({"webhookTimeoutSecs": 31})),
        ("schema minimum", json!({"webhookTimeoutSecs": -1})),
        ("schema enum", json!({"anchorsiteOverride": "Mars"})),
        ("schema type", json!({"webhookTimeoutSecs": "ten"})),
        (
            "schema several",
            json!({"webhookTimeoutSecs": 31, "anchorsiteOverride": "Mars", "userName": "ab1"}),
        ),
        ("schema required", json!({"providerRef": {}})),
    ];
    for (i, (label, spec)) in cases.into_iter().enumerate() {
        r.admin(label, "POST", SIPCS, Some(sipc(&format!("bad{i}"), spec)))
            .await;
    }
    r.admin(
        "missing spec field",
        "POST",
        SIPCS,
        Some(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "nouser"}, "spec": {"providerRef": {"name": "p"}}})),
    )
    .await;
    // a transition rule (immutable username) on update
    let trunks = "/apis/sipcred.io/v1alpha1/namespaces/{ns}/trunkcredentials";
    r.admin(
        "trunk",
        "POST",
        trunks,
        Some(json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "TrunkCredential", "metadata": {"name": "t"}, "spec": {"providerRef": {"name": "v"}, "username": "trunk01"}})),
    )
    .await;
    r.admin(
        "trunk username change",
        "PATCH",
        &format!("{trunks}/t"),
        Some(json!({"spec": {"username": "trunk02"}})),
    )
    .await;
    r.admin(
        "status ignored on main resource",
        "PATCH",
        &format!("{SIPCS}/ok"),
        Some(json!({"status": {"observedGeneration": 5}})),
    )
    .await;
    r.admin(
        "status subresource",
        "PATCH",
        &format!("{SIPCS}/ok/status"),
        Some(json!({"status": {"observedGeneration": 5}})),
    )
    .await;
}

differential!(schema_and_cel_422, admission);

async fn server_side_apply(r: &mut Run<'_>) {
    r.namespace().await;
    let apply = |mgr: &str, force: bool| {
        format!(
            "{CMS}/s?fieldManager={mgr}{}",
            if force { "&force=true" } else { "" }
        )
    };
    let a = cm("s", json!({"a": "1", "b": "2"}));
    r.req(
        "a applies",
        Who::Admin,
        "PATCH",
        &apply("mgr-a", false),
        APPLY,
        Some(a),
    )
    .await;
    let b = cm("s", json!({"a": "x"}));
    r.req(
        "b conflicts",
        Who::Admin,
        "PATCH",
        &apply("mgr-b", false),
        APPLY,
        Some(b.clone()),
    )
    .await;
    r.req(
        "b forces",
        Who::Admin,
        "PATCH",
        &apply("mgr-b", true),
        APPLY,
        Some(b),
    )
    .await;
    r.req(
        "a re-applies without the forced field",
        Who::Admin,
        "PATCH",
        &apply("mgr-a", false),
        APPLY,
        Some(cm("s", json!({"b": "2"}))),
    )
    .await;
    r.req(
        "b drops its field",
        Who::Admin,
        "PATCH",
        &apply("mgr-b", false),
        APPLY,
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}})),
    )
    .await;
    r.req(
        "same value, no conflict",
        Who::Admin,
        "PATCH",
        &apply("mgr-c", false),
        APPLY,
        Some(cm("s", json!({"b": "2"}))),
    )
    .await;
    r.req(
        "update takes ownership",
        Who::Admin,
        "PATCH",
        &format!("{CMS}/s?fieldManager=editor"),
        MERGE,
        Some(json!({"data": {"b": "3"}})),
    )
    .await;
    r.req(
        "apply conflicts with update",
        Who::Admin,
        "PATCH",
        &apply("mgr-a", false),
        APPLY,
        Some(cm("s", json!({"b": "2"}))),
    )
    .await;
    r.req(
        "apply without fieldManager",
        Who::Admin,
        "PATCH",
        &format!("{CMS}/s"),
        APPLY,
        Some(cm("s", json!({"z": "1"}))),
    )
    .await;
    // status conditions: a list map keyed by type in the project's CRDs
    r.crds().await;
    r.admin("sipc", "POST", SIPCS, Some(sipc("c", json!({}))))
        .await;
    let cond = |t: &str, s: &str| json!({"type": t, "status": s, "reason": "R", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"});
    let status = |conds: Vec<Value>| json!({"apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection", "metadata": {"name": "c"}, "status": {"conditions": conds}});
    let st = |mgr: &str| format!("{SIPCS}/c/status?fieldManager={mgr}");
    r.req(
        "ctl-a applies Ready",
        Who::Admin,
        "PATCH",
        &st("ctl-a"),
        APPLY,
        Some(status(vec![cond("Ready", "True")])),
    )
    .await;
    r.req(
        "ctl-b applies Synced",
        Who::Admin,
        "PATCH",
        &st("ctl-b"),
        APPLY,
        Some(status(vec![cond("Synced", "False")])),
    )
    .await;
    r.req(
        "ctl-b conflicts on Ready",
        Who::Admin,
        "PATCH",
        &st("ctl-b"),
        APPLY,
        Some(status(vec![
            cond("Synced", "False"),
            cond("Ready", "False"),
        ])),
    )
    .await;
    r.req(
        "ctl-a drops Ready",
        Who::Admin,
        "PATCH",
        &st("ctl-a"),
        APPLY,
        Some(status(vec![])),
    )
    .await;
}

differential!(ssa_conflicts_force_and_list_maps, server_side_apply);

/// Watch events without the periodic bookmarks (their timing is the server's).
fn events(r: &Resp) -> Value {
    let Some(list) = r.body.as_array() else {
        return json!({"code": r.code, "body": r.body});
    };
    let kept: Vec<Value> = list
        .iter()
        .filter(|e| {
            e["type"] != "BOOKMARK"
                || e.pointer("/object/metadata/annotations/k8s.io~1initial-events-end")
                    .is_some()
        })
        .cloned()
        .collect();
    json!({"code": r.code, "events": kept})
}

async fn watches(r: &mut Run<'_>) {
    r.namespace().await;
    let start = r.send(Who::Admin, "GET", CMS, JSON, JSON, Vec::new()).await;
    let rv = start.body["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    r.admin("create", "POST", CMS, Some(cm("w", json!({"k": "1"}))))
        .await;
    r.admin(
        "update",
        "PATCH",
        &format!("{CMS}/w"),
        Some(json!({"data": {"k": "2"}})),
    )
    .await;
    r.admin("create other", "POST", CMS, Some(cm("v", json!({}))))
        .await;
    r.admin("delete", "DELETE", &format!("{CMS}/w"), None).await;
    let w = r
        .send(
            Who::Admin,
            "GET",
            &format!("{CMS}?watch=1&resourceVersion={rv}&timeoutSeconds=2&labelSelector=fid%3Dyes"),
            JSON,
            JSON,
            Vec::new(),
        )
        .await;
    r.note("resume from rv", events(&w));
    let w = r
        .send(
            Who::Admin,
            "GET",
            &format!("{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=2&labelSelector=fid%3Dyes"),
            JSON,
            JSON,
            Vec::new(),
        )
        .await;
    r.note("initial events and bookmark", events(&w));
    let w = r
        .send(
            Who::Admin,
            "GET",
            &format!("{CMS}?watch=1&resourceVersion=1&timeoutSeconds=2&labelSelector=fid%3Dyes"),
            JSON,
            JSON,
            Vec::new(),
        )
        .await;
    r.note("resume from expired rv", events(&w));
    let w = r
        .send(
            Who::Admin,
            "GET",
            &format!(
                "{CMS}?watch=1&sendInitialEvents=true&timeoutSeconds=2&labelSelector=fid%3Dyes"
            ),
            JSON,
            JSON,
            Vec::new(),
        )
        .await;
    r.note("sendInitialEvents without NotOlderThan", events(&w));
    let w = r
        .send(Who::Admin, "GET", &format!("{CMS}?watch=1&fieldSelector=metadata.name%3Dv&resourceVersion={rv}&timeoutSeconds=2"), JSON, JSON, Vec::new())
        .await;
    r.note("field selector", events(&w));
}

differential!(watch_resume_bookmarks_410, watches);

fn owned(name: &str, owner: &Resp, block: bool, finalizers: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name,
        "finalizers": finalizers,
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner.body["metadata"]["name"], "uid": owner.body["metadata"]["uid"], "blockOwnerDeletion": block}]
    }})
}

async fn deletion(r: &mut Run<'_>) {
    r.namespace().await;
    let gone = |x: &Resp| x.code == 404;
    // background
    let o = r
        .admin("owner bg", "POST", CMS, Some(cm("owner-bg", json!({}))))
        .await;
    r.admin("dep bg", "POST", CMS, Some(owned("dep-bg", &o, false, &[])))
        .await;
    r.admin(
        "delete bg",
        "DELETE",
        &format!("{CMS}/owner-bg?propagationPolicy=Background"),
        None,
    )
    .await;
    r.until("dependent collected", &format!("{CMS}/dep-bg"), gone)
        .await;
    // foreground: a dependent with its own finalizer holds the owner
    let o = r
        .admin("owner fg", "POST", CMS, Some(cm("owner-fg", json!({}))))
        .await;
    r.admin(
        "dep fg",
        "POST",
        CMS,
        Some(owned("dep-fg", &o, true, &["example.com/hold"])),
    )
    .await;
    r.admin(
        "delete fg",
        "DELETE",
        &format!("{CMS}/owner-fg?propagationPolicy=Foreground"),
        None,
    )
    .await;
    r.until("dependent deleting", &format!("{CMS}/dep-fg"), |x| {
        x.body["metadata"]["deletionTimestamp"].is_string()
    })
    .await;
    r.admin("owner waits", "GET", &format!("{CMS}/owner-fg"), None)
        .await;
    r.admin(
        "release dependent",
        "PATCH",
        &format!("{CMS}/dep-fg"),
        Some(json!({"metadata": {"finalizers": null}})),
    )
    .await;
    r.until("owner collected", &format!("{CMS}/owner-fg"), gone)
        .await;
    // orphan
    let o = r
        .admin("owner orphan", "POST", CMS, Some(cm("owner-or", json!({}))))
        .await;
    r.admin(
        "dep orphan",
        "POST",
        CMS,
        Some(owned("dep-or", &o, false, &[])),
    )
    .await;
    r.admin(
        "delete orphan",
        "DELETE",
        &format!("{CMS}/owner-or?propagationPolicy=Orphan"),
        None,
    )
    .await;
    r.until("orphaning owner gone", &format!("{CMS}/owner-or"), gone)
        .await;
    r.admin("orphan kept", "GET", &format!("{CMS}/dep-or"), None)
        .await;
    // finalizers
    r.admin("finalized", "POST", CMS, Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fin", "finalizers": ["example.com/x"]}})))
        .await;
    r.admin("delete finalized", "DELETE", &format!("{CMS}/fin"), None)
        .await;
    r.admin("finalized stays", "GET", &format!("{CMS}/fin"), None)
        .await;
    r.admin(
        "add finalizer while deleting",
        "PATCH",
        &format!("{CMS}/fin"),
        Some(json!({"metadata": {"finalizers": ["example.com/x", "example.com/y"]}})),
    )
    .await;
    r.admin(
        "remove finalizers",
        "PATCH",
        &format!("{CMS}/fin"),
        Some(json!({"metadata": {"finalizers": null}})),
    )
    .await;
    r.admin("finalized gone", "GET", &format!("{CMS}/fin"), None)
        .await;
    // preconditions
    r.admin("precondition", "POST", CMS, Some(cm("pre", json!({}))))
        .await;
    r.admin(
        "delete with wrong uid",
        "DELETE",
        &format!("{CMS}/pre"),
        Some(json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})),
    )
    .await;
    // custom resource deletion returns the object
    r.crds().await;
    r.admin("sipc", "POST", SIPCS, Some(sipc("d", json!({}))))
        .await;
    r.admin("delete sipc", "DELETE", &format!("{SIPCS}/d"), None)
        .await;
    // namespace deletion
    r.admin(
        "delete namespace",
        "DELETE",
        "/api/v1/namespaces/{ns}",
        None,
    )
    .await;
    r.until("namespace gone", "/api/v1/namespaces/{ns}", gone)
        .await;
}

differential!(deletion_gc_and_finalizers, deletion);

async fn tables(r: &mut Run<'_>) {
    r.namespace().await;
    r.crds().await;
    r.admin(
        "cm",
        "POST",
        CMS,
        Some(cm("t", json!({"a": "1", "b": "2"}))),
    )
    .await;
    r.admin("sipc", "POST", SIPCS, Some(sipc("t", json!({}))))
        .await;
    r.admin(
        "sipc status",
        "PATCH",
        &format!("{SIPCS}/t/status"),
        Some(json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned", "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})),
    )
    .await;
    for (label, path) in [
        ("configmap table", format!("{CMS}?labelSelector=fid%3Dyes")),
        ("configmap table one", format!("{CMS}/t")),
        ("sipc table", SIPCS.to_string()),
        ("sipc table one", format!("{SIPCS}/t")),
        (
            "sipc table with object",
            format!("{SIPCS}?includeObject=Object"),
        ),
        ("namespace table", "/api/v1/namespaces/{ns}".to_string()),
    ] {
        let t = r
            .send(Who::Admin, "GET", &path, JSON, TABLE, Vec::new())
            .await;
        r.record(label, &t);
    }
}

differential!(table_printer_columns, tables);

async fn rbac(r: &mut Run<'_>) {
    r.namespace().await;
    r.crds().await;
    for (label, method, path, body) in [
        (
            "get secret",
            "GET",
            "/api/v1/namespaces/{ns}/secrets/s".to_string(),
            None,
        ),
        (
            "list secrets",
            "GET",
            "/api/v1/namespaces/{ns}/secrets".to_string(),
            None,
        ),
        (
            "list namespaces",
            "GET",
            "/api/v1/namespaces".to_string(),
            None,
        ),
        (
            "list all configmaps",
            "GET",
            "/api/v1/configmaps".to_string(),
            None,
        ),
        (
            "create configmap",
            "POST",
            CMS.to_string(),
            Some(cm("x", json!({}))),
        ),
        ("delete configmap", "DELETE", format!("{CMS}/x"), None),
        ("watch sipcs", "GET", format!("{SIPCS}?watch=1"), None),
        ("get sipc status", "GET", format!("{SIPCS}/x/status"), None),
        (
            "list crds",
            "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions".to_string(),
            None,
        ),
        ("get node", "GET", "/api/v1/nodes/n1".to_string(), None),
    ] {
        let ctype = if method == "PATCH" { MERGE } else { JSON };
        r.req(label, Who::Alice, method, &path, ctype, body).await;
    }
    let ssar = |verb: &str, resource: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
               "spec": {"resourceAttributes": {"namespace": "NS", "verb": verb, "resource": resource}}})
    };
    let ns = r.ns.clone();
    let fix = |mut v: Value| {
        v["spec"]["resourceAttributes"]["namespace"] = json!(ns);
        v
    };
    r.req(
        "alice ssar",
        Who::Alice,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        JSON,
        Some(fix(ssar("create", "secrets"))),
    )
    .await;
    r.req(
        "admin ssar",
        Who::Admin,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        JSON,
        Some(fix(ssar("create", "secrets"))),
    )
    .await;
    r.req(
        "alice ssrr",
        Who::Alice,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectreviews",
        JSON,
        Some(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})),
    )
    .await;
}

differential!(rbac_403, rbac);

fn mode_name(mode: &str) -> String {
    if mode.is_empty() {
        "default".into()
    } else {
        mode.to_lowercase()
    }
}

async fn field_validation(r: &mut Run<'_>) {
    r.namespace().await;
    r.crds().await;
    let unknown = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "bogus": 1}, "data": {}, "extra": {"x": 1}});
    for mode in ["Strict", "Warn", "Ignore", ""] {
        let q = if mode.is_empty() {
            String::new()
        } else {
            format!("?fieldValidation={mode}")
        };
        let name = format!("u-{}", mode_name(mode));
        r.admin(
            &format!("unknown fields {mode}"),
            "POST",
            &format!("{CMS}{q}"),
            Some(unknown(&name)),
        )
        .await;
        let mut bad = sipc(&format!("u-{}", mode_name(mode)), json!({"bogus": true}));
        bad["spec"]["providerRef"]["extra"] = json!("x");
        r.admin(
            &format!("cr unknown fields {mode}"),
            "POST",
            &format!("{SIPCS}{q}"),
            Some(bad),
        )
        .await;
        let dup = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"d-{}"}},"data":{{"a":"1","a":"2"}}}}"#,
            mode_name(mode)
        );
        let resp = r
            .send(
                Who::Admin,
                "POST",
                &format!("{CMS}{q}"),
                JSON,
                JSON,
                dup.into_bytes(),
            )
            .await;
        r.record(&format!("duplicate field {mode}"), &resp);
    }
    r.admin(
        "patch unknown Strict",
        "PATCH",
        &format!("{CMS}/u-warn?fieldValidation=Strict"),
        Some(json!({"nope": 1})),
    )
    .await;
    r.req(
        "apply unknown Strict",
        Who::Admin,
        "PATCH",
        &format!("{CMS}/u-warn?fieldManager=f&fieldValidation=Strict"),
        APPLY,
        Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u-warn"}, "nope": 1})),
    )
    .await;
}

differential!(field_validation_strict_warn, field_validation);

/// Run kubectl against a target's kubeconfig.
async fn kubectl(r: &mut Run<'_>, label: &str, args: &[&str]) {
    let dir = tempfile::tempdir().expect("cache dir");
    let args: Vec<String> = args.iter().map(|a| a.replace("{ns}", &r.ns)).collect();
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&r.t.kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path())
            .args(&args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl in time")
    .expect("kubectl runs");
    r.note(
        label,
        json!({
            "exit": out.status.code(),
            "stdout": String::from_utf8_lossy(&out.stdout),
            "stderr": String::from_utf8_lossy(&out.stderr),
        }),
    );
}

async fn kubectl_typed(r: &mut Run<'_>) {
    kubectl(r, "create namespace", &["create", "namespace", "{ns}"]).await;
    r.admin("namespace", "GET", "/api/v1/namespaces/{ns}", None)
        .await;
    kubectl(
        r,
        "create secret",
        &[
            "-n",
            "{ns}",
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=user=alice",
            "--from-literal=pass=p4ss",
        ],
    )
    .await;
    r.admin("secret", "GET", "/api/v1/namespaces/{ns}/secrets/s", None)
        .await;
    kubectl(
        r,
        "create secret again",
        &[
            "-n",
            "{ns}",
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=user=alice",
        ],
    )
    .await;
    kubectl(
        r,
        "create configmap",
        &[
            "-n",
            "{ns}",
            "create",
            "configmap",
            "c",
            "--from-literal=a=b",
        ],
    )
    .await;
    r.admin(
        "configmap",
        "GET",
        "/api/v1/namespaces/{ns}/configmaps/c",
        None,
    )
    .await;
    kubectl(
        r,
        "create tls-less docker secret",
        &[
            "-n",
            "{ns}",
            "create",
            "secret",
            "docker-registry",
            "d",
            "--docker-server=r.example",
            "--docker-username=u",
            "--docker-password=p",
        ],
    )
    .await;
    kubectl(
        r,
        "create serviceaccount",
        &["-n", "{ns}", "create", "serviceaccount", "sa"],
    )
    .await;
    kubectl(
        r,
        "create role",
        &[
            "-n",
            "{ns}",
            "create",
            "role",
            "r",
            "--verb=get",
            "--resource=secrets",
        ],
    )
    .await;
    kubectl(
        r,
        "create rolebinding",
        &[
            "-n",
            "{ns}",
            "create",
            "rolebinding",
            "rb",
            "--role=r",
            "--user=alice",
        ],
    )
    .await;
    kubectl(
        r,
        "admin can-i",
        &["auth", "can-i", "create", "secrets", "-n", "{ns}"],
    )
    .await;
    kubectl(
        r,
        "alice can-i create",
        &[
            "--context",
            "alice",
            "auth",
            "can-i",
            "create",
            "secrets",
            "-n",
            "{ns}",
        ],
    )
    .await;
    kubectl(
        r,
        "alice can-i get (bound)",
        &[
            "--context",
            "alice",
            "auth",
            "can-i",
            "get",
            "secrets",
            "-n",
            "{ns}",
        ],
    )
    .await;
    kubectl(
        r,
        "alice get secret",
        &[
            "--context",
            "alice",
            "-n",
            "{ns}",
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.data.user}",
        ],
    )
    .await;
    kubectl(
        r,
        "alice get configmaps",
        &["--context", "alice", "-n", "{ns}", "get", "configmaps"],
    )
    .await;
    kubectl(
        r,
        "get secret yaml",
        &[
            "-n",
            "{ns}",
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.type} {.data.pass}",
        ],
    )
    .await;
    // server-side apply through kubectl: force moves ownership
    let dir = tempfile::tempdir().expect("manifests");
    let manifest = |file: &str, data: &str| {
        let p = dir.path().join(file);
        std::fs::write(
            &p,
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n{data}"),
        )
        .expect("write manifest");
        p.to_string_lossy().into_owned()
    };
    let a1 = manifest("a1.yaml", "  a: \"1\"\n  b: \"2\"\n");
    let b1 = manifest("b1.yaml", "  a: x\n");
    let a2 = manifest("a2.yaml", "  b: \"2\"\n");
    let ssa = ["-n", "{ns}", "apply", "--server-side"];
    kubectl(
        r,
        "ssa a",
        &[&ssa[..], &["--field-manager=a", "-f", &a1]].concat(),
    )
    .await;
    kubectl(
        r,
        "ssa b conflicts",
        &[&ssa[..], &["--field-manager=b", "-f", &b1]].concat(),
    )
    .await;
    kubectl(
        r,
        "ssa b forces",
        &[
            &ssa[..],
            &["--field-manager=b", "--force-conflicts", "-f", &b1],
        ]
        .concat(),
    )
    .await;
    kubectl(
        r,
        "ssa a again",
        &[&ssa[..], &["--field-manager=a", "-f", &a2]].concat(),
    )
    .await;
    r.admin(
        "applied",
        "GET",
        "/api/v1/namespaces/{ns}/configmaps/applied",
        None,
    )
    .await;
    kubectl(
        r,
        "delete namespace",
        &["delete", "namespace", "{ns}", "--wait=false"],
    )
    .await;
}

differential!(kubectl_protobuf_generators, kubectl_typed);
