//! Conformance through the real `kubectl` (skipped when it is not installed).
mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

struct Kubectl {
    kubeconfig: PathBuf,
    ns: String,
    cache: PathBuf,
    dir: tempfile::TempDir,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn new(srv: &Server) -> Option<Self> {
        if std::process::Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_err()
        {
            eprintln!("kubectl not installed; skipping");
            return None;
        }
        let dir = tempfile::tempdir().expect("tmp");
        let kubeconfig = dir.path().join("kubeconfig");
        srv.write_kubeconfig(&kubeconfig);
        let cache = dir.path().join("cache");
        Some(Self {
            kubeconfig,
            ns: srv.ns().to_string(),
            cache,
            dir,
        })
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .arg("--namespace")
            .arg(&self.ns)
            .args(args);
        c.kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Out {
        let o = tokio::time::timeout(Duration::from_secs(60), self.cmd(args).output())
            .await
            .expect("kubectl in time")
            .expect("kubectl runs");
        Out {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(o.ok, "kubectl {args:?} failed: {}\n{}", o.stderr, o.stdout);
        o.stdout
    }

    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }
}

const EXAMPLES: &str = "apiVersion: sipcred.io/v1alpha1
kind: SipConnection
metadata:
  name: demo
spec:
  provider: telnyx
  userName: demouser
  channels: 5
---
apiVersion: v1
kind: Secret
metadata:
  name: demo-provider-key
  labels:
    app: sipcred
stringData:
  apiKey: not-a-real-key
";

async fn setup(srv: &Server, k: &Kubectl) {
    k.write(
        "crds/sipconnection.yaml",
        &serde_yaml::to_string(&crd_json()).expect("yaml"),
    );
    k.write("examples/demo.yaml", EXAMPLES);
    if srv.is_real() {
        // The shared real server: an earlier test may have installed the CRD, and two
        // tests applying it at once would race to create it.
        install_crd(&srv.client()).await;
        let out = k
            .ok(&["apply", "-f", &k.path("crds"), "-f", &k.path("examples")])
            .await;
        assert!(
            out.contains("sipconnection.sipcred.io/demo created"),
            "{out}"
        );
        return;
    }
    // As against a real cluster, a CR in the same invocation as its new CRD
    // fails to map (kubectl's discovery is fresh); the second run applies it.
    let first = k
        .run(&["apply", "-f", &k.path("crds"), "-f", &k.path("examples")])
        .await;
    assert!(
        first.stdout.contains(
            "customresourcedefinition.apiextensions.k8s.io/sipconnections.sipcred.io created"
        ),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("secret/demo-provider-key created"),
        "{}",
        first.stdout
    );
    let out = k
        .ok(&["apply", "-f", &k.path("crds"), "-f", &k.path("examples")])
        .await;
    assert!(
        out.contains("sipconnection.sipcred.io/demo created"),
        "{out}"
    );
}

#[tokio::test]
async fn apply_get_table_yaml_and_validation() {
    let srv = Server::start().await;
    let Some(k) = Kubectl::new(&srv) else { return };
    setup(&srv, &k).await;
    let out = k.ok(&["get", "sipconnections"]).await;
    let header: Vec<&str> = out
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(header, vec!["NAME", "PROVIDER", "READY", "AGE"], "{out}");
    assert!(
        out.lines().nth(1).expect("row").starts_with("demo"),
        "{out}"
    );
    let wide = k.ok(&["get", "sipc", "-o", "wide"]).await;
    assert!(
        wide.lines().next().expect("header").contains("USER"),
        "priority column in wide: {wide}"
    );
    assert!(
        k.ok(&["get", "sipcred"]).await.contains("demo"),
        "category lookup"
    );
    let secrets = k.ok(&["get", "secrets"]).await;
    let header: Vec<&str> = secrets
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(header, vec!["NAME", "TYPE", "DATA", "AGE"], "{secrets}");
    assert!(secrets.contains("Opaque"), "{secrets}");
    let y = k.ok(&["get", "sipconnection", "demo", "-o", "yaml"]).await;
    let v: serde_json::Value = serde_yaml::from_str(&y).expect("yaml");
    assert_eq!(v["spec"]["userName"], "demouser");
    assert_eq!(v["metadata"]["generation"], 1);
    assert!(v["metadata"]["uid"].is_string());

    // kubectl explain reads the CRD schema from /openapi/v3
    let ex = k.ok(&["explain", "sipconnections.spec"]).await;
    assert!(ex.contains("KIND:       SipConnection"), "{ex}");
    assert!(ex.contains("userName"), "{ex}");

    // re-apply is a no-op
    let out = k.ok(&["apply", "-f", &k.path("examples")]).await;
    assert!(
        out.contains("sipconnection.sipcred.io/demo unchanged"),
        "{out}"
    );

    // schema violations come back as the API server's 422 text
    let bad = k.write(
        "bad.yaml",
        "apiVersion: sipcred.io/v1alpha1\nkind: SipConnection\nmetadata:\n  name: bad\nspec:\n  provider: mars\n  userName: ab\n",
    );
    let o = k.run(&["apply", "-f", &bad]).await;
    assert!(!o.ok);
    assert!(
        o.stderr.contains("The SipConnection \"bad\" is invalid"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(
            "spec.provider: Unsupported value: \"mars\": supported values: \"telnyx\", \"vobiz\""
        ),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("spec.userName: Invalid value: \"ab\": spec.userName in body should be at least 4 chars long"), "{}", o.stderr);
    // unknown fields: kubectl sends fieldValidation=Strict
    let unknown = k.write(
        "unknown.yaml",
        "apiVersion: sipcred.io/v1alpha1\nkind: SipConnection\nmetadata:\n  name: unk\nspec:\n  provider: telnyx\n  userName: demouser\n  colour: red\n",
    );
    let o = k.run(&["apply", "-f", &unknown]).await;
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("strict decoding error: unknown field \"spec.colour\""),
        "{}",
        o.stderr
    );
    // CEL transition rule
    let o = k
        .run(&[
            "patch",
            "sipc",
            "demo",
            "--type=merge",
            "-p",
            r#"{"spec":{"userName":"someoneelse"}}"#,
        ])
        .await;
    assert!(!o.ok);
    assert!(o.stderr.contains("userName is immutable"), "{}", o.stderr);
    srv.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_patch_label_annotate_delete() {
    let srv = Server::start().await;
    let Some(k) = Kubectl::new(&srv) else { return };
    setup(&srv, &k).await;
    let out = k
        .ok(&["apply", "--server-side", "-f", &k.path("examples")])
        .await;
    assert!(
        out.contains("sipconnection.sipcred.io/demo serverside-applied"),
        "{out}"
    );
    let mf = k
        .ok(&[
            "get",
            "sipc",
            "demo",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
            "--show-managed-fields",
        ])
        .await;
    assert!(mf.split_whitespace().any(|m| m == "kubectl"), "{mf}");
    // a second server-side applier with a different value conflicts
    let other = k.write("other.yaml", "apiVersion: sipcred.io/v1alpha1\nkind: SipConnection\nmetadata:\n  name: demo\nspec:\n  provider: telnyx\n  userName: demouser\n  channels: 9\n");
    let o = k
        .run(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            &other,
        ])
        .await;
    assert!(!o.ok);
    assert!(o.stderr.contains("conflict"), "{}", o.stderr);
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        &other,
    ])
    .await;
    assert_eq!(
        k.ok(&["get", "sipc", "demo", "-o", "jsonpath={.spec.channels}"])
            .await,
        "9"
    );

    k.ok(&[
        "patch",
        "sipc",
        "demo",
        "--type=merge",
        "-p",
        r#"{"spec":{"channels":7}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "sipc",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/channels","value":8}]"#,
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "get",
            "sipc",
            "demo",
            "-o",
            "jsonpath={.spec.channels} {.metadata.generation}"
        ])
        .await,
        "8 4"
    );
    let o = k
        .run(&["patch", "sipc", "demo", "-p", r#"{"spec":{"channels":6}}"#])
        .await;
    assert!(!o.ok);
    assert!(o.stderr.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"), "{}", o.stderr);
    k.ok(&[
        "patch",
        "secret",
        "demo-provider-key",
        "-p",
        r#"{"metadata":{"labels":{"tier":"gold"}}}"#,
    ])
    .await;
    assert_eq!(
        k.ok(&["get", "secret", "-l", "tier=gold", "-o", "name"])
            .await
            .trim(),
        "secret/demo-provider-key"
    );

    k.ok(&["label", "sipc", "demo", "team=voice"]).await;
    k.ok(&["annotate", "sipc", "demo", "note=hello"]).await;
    let out = k
        .ok(&[
            "get",
            "sipc",
            "-l",
            "team=voice",
            "-o",
            "jsonpath={.items[0].metadata.annotations.note}",
        ])
        .await;
    assert_eq!(out, "hello");
    k.ok(&["label", "sipc", "demo", "team-"]).await;
    assert!(k.ok(&["get", "sipc", "-l", "team=voice"]).await.is_empty());

    let out = k.ok(&["delete", "sipc", "demo"]).await;
    assert!(
        out.contains("sipconnection.sipcred.io \"demo\" deleted"),
        "{out}"
    );
    let o = k.run(&["get", "sipc", "demo"]).await;
    assert!(
        o.stderr
            .contains("sipconnections.sipcred.io \"demo\" not found"),
        "{}",
        o.stderr
    );
    k.ok(&["delete", "-f", &k.path("examples"), "--ignore-not-found"])
        .await;
    srv.shutdown().await;
}

async fn set_ready(client: kube::Client, ns: &str) {
    let api: Api<SipConnection> = Api::namespaced(client, ns);
    api.patch_status(
        "demo",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned", "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})),
    )
    .await
    .expect("status");
}

#[tokio::test]
async fn wait_for_condition_and_watch() {
    let srv = Server::start().await;
    let Some(k) = Kubectl::new(&srv) else { return };
    setup(&srv, &k).await;
    let mut watch = k
        .cmd(&["get", "sipc", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("header in time")
        .expect("read")
        .expect("line");
    assert!(first.starts_with("NAME"), "{first}");
    let row = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("row")
        .expect("read")
        .expect("line");
    assert!(row.starts_with("demo"), "{row}");

    let wait = k
        .cmd(&[
            "wait",
            "--for=condition=Ready",
            "sipc/demo",
            "--timeout=30s",
        ])
        .output();
    let client = srv.client();
    let ns = srv.ns().to_string();
    let setter = async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        set_ready(client, &ns).await;
    };
    let (out, ()) = tokio::join!(wait, setter);
    let out = out.expect("wait runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("sipconnection.sipcred.io/demo condition met")
    );

    // the watch shows the row turning Ready
    let changed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let l = lines.next_line().await.expect("read").expect("line");
            if l.starts_with("demo") && l.contains("True") {
                return l;
            }
        }
    })
    .await
    .expect("watch update");
    assert!(changed.contains("telnyx"), "{changed}");
    let _ = watch.kill().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn kubectl_with_rbac_is_anonymous_over_plain_http() {
    // client-go sends credentials only over TLS, so kubectl talks to the
    // plain-HTTP simulator as system:anonymous and gets the real 403 text. The real
    // server has no plain-HTTP port: there an unprivileged token user gets it.
    let srv = Server::start_with(sipcred_kube_sim::KubeSimConfig {
        rbac: true,
        ..Default::default()
    })
    .await;
    let Some(k) = Kubectl::new(&srv) else { return };
    let (user, args): (&str, &[&str]) = match srv.unprivileged_context() {
        Some(ctx) => (ctx, &["--context", ctx, "get", "secrets"]),
        None => ("system:anonymous", &["get", "secrets"]),
    };
    let o = k.run(args).await;
    assert!(!o.ok);
    assert!(
        o.stderr.contains(&format!("secrets is forbidden: User \"{user}\" cannot list resource \"secrets\" in API group \"\" in the namespace \"{}\"", srv.ns())),
        "{}",
        o.stderr
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn kubectl_with_service_account_token_over_tls() {
    let srv = Server::start_with(sipcred_kube_sim::KubeSimConfig {
        rbac: true,
        tls: true,
        ..Default::default()
    })
    .await;
    if let Some(sim) = srv.sim() {
        assert!(sim.url().starts_with("https://"));
    }
    let ns = srv.ns().to_string();
    let Some(k) = Kubectl::new(&srv) else { return };
    k.ok(&["get", "secrets"]).await;
    let sa_kc = k.dir.path().join("sa-kubeconfig");
    srv.write_kubeconfig_for_service_account(&sa_kc, &ns, "reader")
        .await;
    let run_sa = |args: &'static [&'static str]| {
        let mut c = Command::new("kubectl");
        c.arg("--kubeconfig")
            .arg(&sa_kc)
            .arg("--cache-dir")
            .arg(k.dir.path().join("sa-cache"))
            .arg("--namespace")
            .arg(&ns)
            .args(args);
        c.output()
    };
    let o = run_sa(&["get", "secrets"]).await.expect("kubectl");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("secrets is forbidden: User \"system:serviceaccount:{ns}:reader\" cannot list resource \"secrets\" in API group \"\" in the namespace \"{ns}\"")),
        "{err}"
    );
    k.write(
        "rbac.yaml",
        &
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\nrules:\n- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: [\"get\", \"list\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: reader\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: reader\nsubjects:\n- kind: ServiceAccount\n  name: reader\n  namespace: NS\n".replace("NS", &ns),
    );
    k.ok(&["apply", "-f", &k.path("rbac.yaml")]).await;
    // RBAC caches on a real server refresh from watches: allow a moment.
    let mut o = run_sa(&["get", "secrets"]).await.expect("kubectl");
    for _ in 0..50 {
        if o.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        o = run_sa(&["get", "secrets"]).await.expect("kubectl");
    }
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_sa(&["auth", "whoami"]).await.expect("kubectl");
    let _ = o; // SelfSubjectReview is not served; not asserted
    // kube-rs over TLS as the same service account
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(srv.client_for_service_account(&ns, "reader").await, &ns);
    secrets
        .list(&Default::default())
        .await
        .expect("kube-rs over TLS");
    srv.shutdown().await;
}
