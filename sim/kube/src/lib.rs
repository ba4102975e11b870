//! In-memory Kubernetes API server for tests and local sandboxes.
//!
//! The unmodified kube-rs runtime (Controller, watcher, reflector, `.owns()`,
//! server-side apply, finalizers) and the real `kubectl` accept it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = sipcred_kube_sim::start(Default::default()).await?;
//! let client = sim.client();
//! sim.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
//! # drop(client); sim.shutdown().await; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![allow(clippy::collapsible_if)]

pub mod crd;
pub mod discovery;
pub mod errors;
pub mod events;
pub mod faults;
pub mod fields;
pub mod gc;
pub mod meta;
pub mod ops;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod requests;
pub mod resources;
pub mod selectors;
pub mod server;
pub mod store;
pub mod table;
pub mod testenv;
pub mod tls;
pub mod validation;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use faults::{ErrorRule, FaultConfig, FaultHandle, FaultKind, FaultRule, Latency, Target};

/// Server configuration.
#[derive(Clone, Debug)]
pub struct KubeSimConfig {
    /// Listen address (default 127.0.0.1:0, a random port).
    pub listen: SocketAddr,
    /// Watch events kept for resumption (older resourceVersions get 410).
    pub watch_history: usize,
    /// Interval of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Enforce authentication and RBAC.
    pub rbac: bool,
    /// Serve HTTPS with a fresh CA (kubectl sends bearer tokens only over TLS).
    pub tls: bool,
}

impl Default for KubeSimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            watch_history: 100_000,
            bookmark_interval: Duration::from_secs(10),
            rbac: false,
            tls: false,
        }
    }
}

/// A running server.
pub struct KubeSim {
    app: Arc<server::App>,
    addr: SocketAddr,
    ca: Option<(String, Vec<u8>)>,
    stop: tokio::sync::oneshot::Sender<()>,
    join: tokio::task::JoinHandle<()>,
    gc: tokio::task::JoinHandle<()>,
}

/// Start the server on `cfg.listen`.
pub async fn start(cfg: KubeSimConfig) -> std::io::Result<KubeSim> {
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let tls = if cfg.tls {
        Some(tls::generate()?)
    } else {
        None
    };
    let app = server::App::new(cfg, addr);
    let router = axum::Router::new()
        .fallback(server::handle)
        .with_state(app.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let ca = tls.as_ref().map(|t| (t.ca_pem.clone(), t.ca_der.clone()));
    let join = match tls {
        None => tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await;
        }),
        Some(t) => {
            let listener = tls::TlsListener {
                tcp: listener,
                acceptor: t.acceptor,
            };
            tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await;
            })
        }
    };
    let gc = tokio::spawn(server::gc_loop(app.clone()));
    Ok(KubeSim {
        app,
        addr,
        ca,
        stop,
        join,
        gc,
    })
}

impl KubeSim {
    /// `http://127.0.0.1:PORT` (`https://` with `tls`).
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(p, _)| p.as_str())
    }

    /// Client configuration with a bearer token (tweak it, e.g. `default_retry`).
    pub fn config_with_token(&self, token: &str) -> kube::Config {
        let uri: axum::http::Uri = self.url().parse().expect("server URL is a valid URI");
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.auth_info.token = Some(secrecy::SecretString::from(token.to_string()));
        if let Some((_, der)) = &self.ca {
            config.root_cert = Some(vec![der.clone()]);
        }
        config
    }

    /// Admin client configuration.
    pub fn config(&self) -> kube::Config {
        self.config_with_token(rbac::ADMIN_TOKEN)
    }

    fn client_with_token(&self, token: &str) -> kube::Client {
        kube::Client::try_from(self.config_with_token(token))
            .expect("client for the loopback simulator")
    }

    /// An admin client (call inside a Tokio runtime).
    pub fn client(&self) -> kube::Client {
        self.client_with_token(rbac::ADMIN_TOKEN)
    }

    /// A client authenticated as a service account (meaningful with `rbac`).
    pub fn client_for_service_account(&self, ns: &str, sa: &str) -> kube::Client {
        let token = self.mint_token(ns, sa);
        self.client_with_token(&token)
    }

    /// Mint a bearer token for `system:serviceaccount:NS:SA`.
    pub fn mint_token(&self, ns: &str, sa: &str) -> String {
        self.app.tokens.mint_service_account(ns, sa)
    }

    /// Mint a bearer token for a user with groups.
    pub fn mint_user_token(&self, user: &str, groups: &[&str]) -> String {
        self.app.tokens.mint_user(user, groups)
    }

    /// Write an admin kubeconfig (context `sipcred-sim`).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        write_kubeconfig_with_ca(path, &self.url(), rbac::ADMIN_TOKEN, self.ca_pem())
    }

    /// Write a kubeconfig for a service account (context `sipcred-sim`).
    pub fn write_kubeconfig_for_service_account(
        &self,
        path: &Path,
        ns: &str,
        sa: &str,
    ) -> std::io::Result<()> {
        let token = self.mint_token(ns, sa);
        write_kubeconfig_with_ca(path, &self.url(), &token, self.ca_pem())
    }

    /// Every authorization decision so far, in order (empty unless `rbac`).
    pub fn audit(&self) -> Vec<rbac::AuditEntry> {
        self.app.audit.entries()
    }

    /// The requests RBAC denied (403), as `USER VERB GROUP/RESOURCE NAMESPACE/NAME`.
    pub fn denials(&self) -> Vec<String> {
        self.audit()
            .into_iter()
            .filter(|e| !e.allowed)
            .map(|e| {
                format!(
                    "{} {} {}/{} {}/{}",
                    e.user, e.verb, e.group, e.resource, e.namespace, e.name
                )
            })
            .collect()
    }

    /// Fault injection.
    pub fn faults(&self) -> FaultHandle {
        self.app.faults.clone()
    }

    /// Change the watch history bound at run time.
    pub fn set_watch_history(&self, n: usize) {
        self.app.write().set_history(n);
    }

    /// Resource requests answered so far, by verb, resource and code.
    pub fn requests(&self) -> serde_json::Value {
        self.app.requests.to_json()
    }

    /// Current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.read().rv
    }

    /// Stop serving.
    pub async fn shutdown(self) {
        self.app.faults.cut_watches();
        let _ = self.stop.send(());
        self.gc.abort();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.join).await;
    }
}

/// Write a kubeconfig for `url` with a bearer token, context `sipcred-sim`.
pub fn write_kubeconfig_file(path: &Path, url: &str, token: &str) -> std::io::Result<()> {
    write_kubeconfig_with_ca(path, url, token, None)
}

/// Like [`write_kubeconfig_file`], trusting `ca_pem` for an HTTPS server.
pub fn write_kubeconfig_with_ca(
    path: &Path,
    url: &str,
    token: &str,
    ca_pem: Option<&str>,
) -> std::io::Result<()> {
    use base64::Engine;
    let ca = ca_pem
        .map(|p| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(p)
            )
        })
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sipcred-sim\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: sipcred-sim\n  context:\n    cluster: sipcred-sim\n    user: sipcred-sim\n    namespace: default\ncurrent-context: sipcred-sim\nusers:\n- name: sipcred-sim\n  user:\n    token: {token}\npreferences: {{}}\n"
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// Command-line arguments of `sipcred-operator sim kube`.
#[derive(clap::Args, Clone, Debug)]
pub struct KubeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Where to write the admin kubeconfig.
    #[arg(long, default_value = "kubeconfig.sim.yaml")]
    pub kubeconfig: PathBuf,
    /// Enforce bearer-token authentication and RBAC.
    #[arg(long)]
    pub rbac: bool,
    /// Serve HTTPS with a fresh CA written into the kubeconfig.
    #[arg(long)]
    pub tls: bool,
    /// Watch events kept for resumption.
    #[arg(long, default_value_t = 100_000)]
    pub watch_history: usize,
    /// Seconds between watch bookmarks.
    #[arg(long, default_value_t = 10)]
    pub bookmark_interval_secs: u64,
}

/// Run until SIGTERM/SIGINT; writes the kubeconfig and prints one line once ready.
pub async fn run(args: KubeArgs) -> std::io::Result<()> {
    let sim = start(KubeSimConfig {
        listen: args.listen,
        watch_history: args.watch_history,
        bookmark_interval: Duration::from_secs(args.bookmark_interval_secs.max(1)),
        rbac: args.rbac,
        tls: args.tls,
    })
    .await?;
    sim.write_kubeconfig(&args.kubeconfig)?;
    println!(
        "kube API server listening on {}; kubeconfig at {}",
        sim.url(),
        args.kubeconfig.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
