//! The other test world: a REAL control plane (etcd, kube-apiserver and
//! kube-controller-manager built from the official Kubernetes modules by `testenv/`),
//! started as a child process for tests that must hold against both API servers.
//!
//! Which world a test run uses is chosen by `SIPCRED_TEST_APISERVER=sim|real`
//! ([`ApiServerKind::from_env`], default `sim`, so `cargo test` alone needs no Go). The
//! binary comes from `SIPCRED_TESTENV_BIN`, else `target/testenv/sipcred-testenv`, else
//! `scripts/testenv` builds it. One control plane serves a whole test binary
//! ([`ControlPlane::shared`]); tests isolate by namespace.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// The API server a test run targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiServerKind {
    /// The in-memory API server of this crate.
    Sim,
    /// The real control plane of `testenv/`.
    Real,
}

impl ApiServerKind {
    /// `SIPCRED_TEST_APISERVER`: `real` selects the real control plane; anything else
    /// (or nothing) the in-memory server.
    pub fn from_env() -> Self {
        match std::env::var("SIPCRED_TEST_APISERVER").as_deref() {
            Ok("real") => ApiServerKind::Real,
            _ => ApiServerKind::Sim,
        }
    }
}

/// A running real control plane, stopped when this process exits (the child is started
/// with `--exit-with-parent`) or when dropped.
pub struct ControlPlane {
    child: Child,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    audit_log: PathBuf,
}

static SHARED: OnceLock<ControlPlane> = OnceLock::new();

impl ControlPlane {
    /// The control plane of this test binary, started on first use.
    ///
    /// # Panics
    /// When it cannot be built or started: a test that asked for the real server must
    /// not silently pass against nothing.
    pub fn shared() -> &'static ControlPlane {
        SHARED.get_or_init(|| match ControlPlane::start() {
            Ok(cp) => cp,
            Err(e) => panic!("the real control plane (testenv) did not start: {e}"),
        })
    }

    /// Starts a new control plane and waits until its kubeconfig is written (the API
    /// server answers /readyz).
    pub fn start() -> std::io::Result<ControlPlane> {
        let bin = binary()?;
        let dir = tempfile::Builder::new()
            .prefix("sipcred-testenv-run-")
            .tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        let audit_log = dir.path().join("audit.log");
        let logs = dir.path().join("logs");
        let stderr_path = dir.path().join("testenv.stderr");
        let stderr = std::fs::File::create(&stderr_path)?;
        let mut child = Command::new(&bin)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--log-dir")
            .arg(&logs)
            .arg("--audit-log")
            .arg(&audit_log)
            .arg("--exit-with-parent")
            // The shared instance lives in a static that is never dropped: its run
            // directory would outlive every test binary without this.
            .arg("--remove-on-exit")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| std::io::Error::other(format!("{}: {e}", bin.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if line.starts_with("testenv: kubeconfig") {
                ready = true;
                break;
            }
        }
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            return Err(std::io::Error::other(format!(
                "{} exited before it was ready:\n{err}",
                bin.display()
            )));
        }
        Ok(ControlPlane {
            child,
            dir,
            kubeconfig,
            audit_log,
        })
    }

    /// The admin kubeconfig (client certificate in `system:masters`). It also holds
    /// contexts `alice` and `bob`: token users that no binding grants anything.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Where the API server's audit log (JSON lines) is written.
    pub fn audit_log(&self) -> &Path {
        &self.audit_log
    }

    /// A scratch directory that lives as long as the control plane.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Client configuration for a context of the kubeconfig (`None`: the admin).
    pub async fn config(&self, context: Option<&str>) -> kube::Result<kube::Config> {
        let kc = Kubeconfig::read_from(&self.kubeconfig)?;
        let opts = KubeConfigOptions {
            context: context.map(String::from),
            ..Default::default()
        };
        Ok(kube::Config::from_custom_kubeconfig(kc, &opts).await?)
    }

    /// An admin client (call inside a Tokio runtime).
    pub async fn client(&self) -> kube::Client {
        let config = self
            .config(None)
            .await
            .expect("the testenv kubeconfig loads");
        kube::Client::try_from(config).expect("a client for the testenv API server")
    }

    /// A bearer token for `system:serviceaccount:NS:SA` from the TokenRequest API; the
    /// service account is created if missing (the namespace must exist).
    pub async fn service_account_token(
        &self,
        admin: &kube::Client,
        ns: &str,
        sa: &str,
    ) -> kube::Result<String> {
        let api: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
        let account = ServiceAccount {
            metadata: kube::api::ObjectMeta {
                name: Some(sa.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match api.create(&PostParams::default(), &account).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                expiration_seconds: Some(24 * 3600),
                ..Default::default()
            },
            ..Default::default()
        };
        let issued: TokenRequest = api
            .create_subresource("token", sa, &PostParams::default(), &request)
            .await?;
        Ok(issued.status.map(|s| s.token).unwrap_or_default())
    }

    /// Writes a kubeconfig for the same server authenticating with `token`.
    pub fn write_kubeconfig_for_token(&self, path: &Path, token: &str) -> std::io::Result<()> {
        let kc = Kubeconfig::read_from(&self.kubeconfig).map_err(std::io::Error::other)?;
        let cluster = kc
            .clusters
            .first()
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| std::io::Error::other("the testenv kubeconfig has no cluster"))?;
        let server = cluster.server.unwrap_or_default();
        let ca = cluster.certificate_authority_data.unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: testenv\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: testenv\n  context:\n    cluster: testenv\n    user: testenv\n    namespace: default\ncurrent-context: testenv\nusers:\n- name: testenv\n  user:\n    token: {token}\npreferences: {{}}\n"
        );
        std::fs::write(path, text)
    }

    /// Every audited request so far (see [`AuditRecord`]).
    pub fn audit(&self) -> Vec<AuditRecord> {
        let text = std::fs::read_to_string(&self.audit_log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| AuditRecord::from_event(&v))
            .collect()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // SIGKILL would leave the control plane's temporary files behind; `kill` sends
        // SIGTERM, on which testenv stops its components and cleans up.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// One request as the real API server's audit log recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The authenticated user name.
    pub user: String,
    /// The Kubernetes verb (`get`, `list`, `watch`, `create`, `patch`, ...).
    pub verb: String,
    /// API group (empty for the core group).
    pub group: String,
    /// Resource, with `/subresource` when there is one.
    pub resource: String,
    /// Namespace (empty for cluster-scoped requests).
    pub namespace: String,
    /// Object name (empty for collections).
    pub name: String,
    /// HTTP status code of the response.
    pub code: u16,
}

impl AuditRecord {
    fn from_event(v: &serde_json::Value) -> AuditRecord {
        let s = |p: &str| {
            v.pointer(p)
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string()
        };
        let sub = s("/objectRef/subresource");
        let resource = if sub.is_empty() {
            s("/objectRef/resource")
        } else {
            format!("{}/{sub}", s("/objectRef/resource"))
        };
        AuditRecord {
            user: s("/user/username"),
            verb: s("/verb"),
            group: s("/objectRef/apiGroup"),
            resource,
            namespace: s("/objectRef/namespace"),
            name: s("/objectRef/name"),
            code: v
                .pointer("/responseStatus/code")
                .and_then(|c| c.as_u64())
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(0),
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The testenv binary: `SIPCRED_TESTENV_BIN`, a previous build, or a build now.
fn binary() -> std::io::Result<PathBuf> {
    if let Some(p) = std::env::var_os("SIPCRED_TESTENV_BIN") {
        return Ok(PathBuf::from(p));
    }
    let built = workspace_root().join("target/testenv/sipcred-testenv");
    if built.exists() {
        return Ok(built);
    }
    let out = Command::new(workspace_root().join("scripts/testenv"))
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(
            "scripts/testenv failed to build the control plane",
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .last()
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("scripts/testenv printed no path"))
}
