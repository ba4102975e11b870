//! `sipcred-operator sandbox`: the whole product on one machine. An in-memory
//! Kubernetes API server, the Telnyx and Vobiz simulators, the CRDs, every manifest of
//! examples/ (embedded at build time) with provider URLs and keys pointed at the
//! simulators, and the controllers; then a live view until everything is Ready.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use sipcred_operator::controller::kind::ManagedStatus;
use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::controller::{KindVisitor, ManagedKind};
use sipcred_operator::crd::{self, ClusterSipProvider, SipProvider};
use sipcred_operator::metrics::Metrics;
use sipcred_operator::server::Health;

const EXAMPLES: &[(&str, &str)] = &[
    (
        "sipprovider-telnyx.yaml",
        include_str!("../../examples/sipprovider-telnyx.yaml"),
    ),
    (
        "sipprovider-vobiz.yaml",
        include_str!("../../examples/sipprovider-vobiz.yaml"),
    ),
    (
        "clustersipprovider-telnyx.yaml",
        include_str!("../../examples/clustersipprovider-telnyx.yaml"),
    ),
    (
        "sipconnection-basic.yaml",
        include_str!("../../examples/sipconnection-basic.yaml"),
    ),
    (
        "sipconnection-pattern1.yaml",
        include_str!("../../examples/sipconnection-pattern1.yaml"),
    ),
    (
        "sipconnection-pattern2.yaml",
        include_str!("../../examples/sipconnection-pattern2.yaml"),
    ),
    (
        "telephonycredential.yaml",
        include_str!("../../examples/telephonycredential.yaml"),
    ),
    (
        "trunkcredential.yaml",
        include_str!("../../examples/trunkcredential.yaml"),
    ),
    (
        "rotation.yaml",
        include_str!("../../examples/rotation.yaml"),
    ),
];

const TELNYX_KEY: &str = "KEYSANDBOX0123456789";
const VOBIZ_ID: &str = "MA_SANDBOX";
const VOBIZ_TOKEN: &str = "sandbox-auth-token";

/// Flags of `sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Exit 0 once every example is Ready (non-zero with the reasons on timeout).
    #[arg(long)]
    pub exit_when_ready: bool,
    /// Seconds to wait for Ready.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Where to write the kubeconfig of the in-memory API server.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Log filter for the controllers.
    #[arg(long, default_value = "error")]
    pub log_level: String,
    /// Serve the operator's /metrics on this address (e.g. 127.0.0.1:9090).
    #[arg(long)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How often every object is checked against its provider, in seconds.
    #[arg(long, default_value_t = 60)]
    pub resync_secs: u64,
}

/// Runs the sandbox until it is done (`--exit-when-ready`), fails, or is told to stop
/// by Ctrl-C or SIGTERM (process managers and `timeout` send SIGTERM).
pub async fn run(args: SandboxArgs) -> ExitCode {
    super::run::init_logs(&args.log_level);
    // Installed before anything starts, so a signal during start-up is a clean stop
    // rather than the default action of SIGTERM (killed with the kubeconfig left behind).
    let stop = match stop_signal() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("sandbox failed: cannot listen for SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (kubeconfig, ours) = match args.kubeconfig.clone() {
        Some(path) => (path, false),
        None => (
            std::env::temp_dir().join(format!("sipcred-sandbox-{}.kubeconfig", std::process::id())),
            true,
        ),
    };
    let code = match sandbox(args, &kubeconfig, stop).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sandbox failed: {e}");
            ExitCode::FAILURE
        }
    };
    // A kubeconfig the user did not ask for points at a server that is gone now.
    if ours {
        let _ = std::fs::remove_file(&kubeconfig);
    }
    code
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
}

async fn sandbox(
    args: SandboxArgs,
    kubeconfig: &std::path::Path,
    stop: impl std::future::Future<Output = ()>,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut stop = std::pin::pin!(stop);
    let kube = sipcred_kube_sim::start(sipcred_kube_sim::KubeSimConfig::default()).await?;
    // Telnyx's documented activation delay: the operator waits for it.
    let telnyx =
        sipcred_provider_sim::start_telnyx(sipcred_provider_sim::TelnyxConfig::new(TELNYX_KEY))
            .await?;
    let vobiz = sipcred_provider_sim::start_vobiz(sipcred_provider_sim::VobizConfig::new(
        VOBIZ_ID,
        VOBIZ_TOKEN,
    ))
    .await?;
    kube.write_kubeconfig(kubeconfig)?;
    println!("in-memory Kubernetes API server  {}", kube.url());
    println!("Telnyx simulator                 {}", telnyx.base_url());
    println!("Vobiz simulator                  {}", vobiz.base_url());
    println!("kubeconfig                       {}", kubeconfig.display());
    let client = kube.client();

    install_crds(&client).await?;
    let objects = install_examples(&client, &telnyx.base_url(), &vobiz.base_url()).await?;
    println!("installed 5 CRDs and {} objects from examples/", objects);

    let metrics = Metrics::new();
    // The sandbox's controllers are the only replica, so they lead.
    metrics.set_leader(true);
    if let Some(addr) = args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "operator metrics                 http://{}/metrics",
            listener.local_addr()?
        );
        let router = sipcred_operator::server::metrics_router(metrics.clone());
        tokio::spawn(sipcred_operator::server::serve_router(
            listener,
            router,
            std::future::pending(),
        ));
    }
    let ctx = Ctx::new(
        client.clone(),
        Settings {
            resync: Duration::from_secs(args.resync_secs.max(1)),
            // The simulators listen on loopback; nothing else may receive a key.
            allowed_provider_hosts: vec!["127.0.0.1".into()],
            ..Settings::default()
        },
        metrics,
        Health::default(),
    );
    let scope = runner::Scope {
        concurrency: 4,
        ..runner::Scope::default()
    };
    let controllers = tokio::spawn(runner::run(ctx, scope));

    let code = tokio::select! {
        done = until_ready(&client, &telnyx, &vobiz, args.timeout_secs) => match done? {
            false => ExitCode::FAILURE,
            true if args.exit_when_ready => ExitCode::SUCCESS,
            true => {
                println!(
                    "\nkubectl --kubeconfig {} get sipcred",
                    kubeconfig.display()
                );
                println!(
                    "sipcred-operator status tc/agent-alice --kubeconfig {}   (or kubectl sipcred ..., see README)",
                    kubeconfig.display()
                );
                println!("running; Ctrl-C or SIGTERM to stop");
                (&mut stop).await;
                println!("stopping");
                ExitCode::SUCCESS
            }
        },
        () = &mut stop => {
            println!("stopping");
            ExitCode::SUCCESS
        }
    };
    controllers.abort();
    let _ = controllers.await;
    kube.shutdown().await;
    telnyx.shutdown().await;
    vobiz.shutdown().await;
    Ok(code)
}

/// Shows progress until every object is Ready, then the table, the Secrets and the
/// login check; `false` (with the reasons printed) when `timeout_secs` passes first.
async fn until_ready(
    client: &Client,
    telnyx: &sipcred_provider_sim::RunningSim,
    vobiz: &sipcred_provider_sim::RunningSim,
    timeout_secs: u64,
) -> Result<bool, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    let mut last = String::new();
    let rows = loop {
        let rows = collect(client).await?;
        let ready = rows.iter().filter(|r| r.ready == "True").count();
        let line = format!("{ready}/{} Ready", rows.len());
        if line != last {
            println!("{line}");
            last = line;
        }
        if ready == rows.len() && !rows.is_empty() {
            break rows;
        }
        if Instant::now() > deadline {
            print_table(&rows);
            eprintln!("timed out after {timeout_secs}s; not Ready:");
            for r in rows.iter().filter(|r| r.ready != "True") {
                eprintln!("  {} {}: {}", r.kind, r.name, r.message);
            }
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    print_table(&rows);
    print_secrets(client).await?;
    let valid = check_sip_logins(client, telnyx, vobiz).await?;
    println!("{valid} Secrets hold credentials the simulators accept");
    Ok(true)
}

async fn install_crds(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for c in crd::all() {
        api.create(&PostParams::default(), &c).await?;
    }
    // Served once Established.
    let deadline = Instant::now() + Duration::from_secs(10);
    for c in crd::all() {
        let name = c.name_any();
        loop {
            let got = api.get(&name).await?;
            let est = got
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if est || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Points provider objects and their key Secrets at the simulators (pure).
fn retarget(mut obj: Value, telnyx_url: &str, vobiz_url: &str) -> Value {
    match obj["kind"].as_str() {
        Some("Secret") => {
            if let Some(sd) = obj.get_mut("stringData").and_then(Value::as_object_mut) {
                if sd.contains_key("apiKey") {
                    sd.insert("apiKey".into(), json!(TELNYX_KEY));
                }
                if sd.contains_key("authID") {
                    sd.insert("authID".into(), json!(VOBIZ_ID));
                    sd.insert("authToken".into(), json!(VOBIZ_TOKEN));
                }
            }
        }
        Some("SipProvider" | "ClusterSipProvider") => {
            if let Some(t) = obj["spec"].get_mut("telnyx").and_then(Value::as_object_mut) {
                t.insert("baseURL".into(), json!(telnyx_url));
            }
            if let Some(v) = obj["spec"].get_mut("vobiz").and_then(Value::as_object_mut) {
                v.insert("baseURL".into(), json!(vobiz_url));
            }
        }
        _ => {}
    }
    obj
}

async fn install_examples(
    client: &Client,
    telnyx_url: &str,
    vobiz_url: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut count = 0;
    for (file, text) in EXAMPLES {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let obj: Value = serde::Deserialize::deserialize(doc)?;
            if obj.is_null() {
                continue;
            }
            let obj = retarget(obj, telnyx_url, vobiz_url);
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            let pp = PostParams::default();
            let res = match obj["kind"].as_str().unwrap_or_default() {
                "Namespace" => Api::<Namespace>::all(client.clone())
                    .create(&pp, &serde_json::from_value(obj)?)
                    .await
                    .map(|_| ()),
                "Secret" => Api::<Secret>::namespaced(client.clone(), &ns)
                    .create(&pp, &serde_json::from_value(obj)?)
                    .await
                    .map(|_| ()),
                "SipProvider" => Api::<SipProvider>::namespaced(client.clone(), &ns)
                    .create(&pp, &serde_json::from_value(obj)?)
                    .await
                    .map(|_| ()),
                "ClusterSipProvider" => Api::<ClusterSipProvider>::all(client.clone())
                    .create(&pp, &serde_json::from_value(obj)?)
                    .await
                    .map(|_| ()),
                kind => match sipcred_operator::controller::kind::api_resource(kind) {
                    Some(ar) => Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &ar)
                        .create(&pp, &serde_json::from_value(obj)?)
                        .await
                        .map(|_| ()),
                    None => return Err(format!("{file}: unsupported kind {kind}").into()),
                },
            };
            res.map_err(|e| format!("{file}: {e}"))?;
            count += 1;
        }
    }
    Ok(count)
}

struct Row {
    kind: String,
    name: String,
    ready: String,
    message: String,
    id: String,
    secret: String,
}

fn ready_row(
    conds: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> (String, String) {
    conds
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.message.clone()))
        .unwrap_or_else(|| ("Unknown".into(), "not reconciled yet".into()))
}

async fn collect(client: &Client) -> Result<Vec<Row>, kube::Error> {
    let mut rows = Vec::new();
    for p in Api::<SipProvider>::all(client.clone())
        .list(&Default::default())
        .await?
    {
        let (ready, message) = ready_row(&p.status.clone().unwrap_or_default().conditions);
        rows.push(Row {
            kind: "SipProvider".into(),
            name: format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()),
            ready,
            message,
            id: "-".into(),
            secret: "-".into(),
        });
    }
    for p in Api::<ClusterSipProvider>::all(client.clone())
        .list(&Default::default())
        .await?
    {
        let (ready, message) = ready_row(&p.status.clone().unwrap_or_default().conditions);
        rows.push(Row {
            kind: "ClusterSipProvider".into(),
            name: p.name_any(),
            ready,
            message,
            id: "-".into(),
            secret: "-".into(),
        });
    }
    let mut managed = ManagedRows {
        client,
        lists: Vec::new(),
    };
    sipcred_operator::controller::for_each_kind(&mut managed);
    for list in managed.lists {
        rows.extend(list.await?);
    }
    Ok(rows)
}

type RowList = futures::future::BoxFuture<'static, Result<Vec<Row>, kube::Error>>;

/// Lists the objects of every managed kind as rows.
struct ManagedRows<'a> {
    client: &'a Client,
    lists: Vec<RowList>,
}

impl KindVisitor for ManagedRows<'_> {
    fn visit<K: ManagedKind>(&mut self) {
        let api = Api::<K>::all(self.client.clone());
        self.lists.push(Box::pin(async move {
            let kind = K::kind(&()).into_owned();
            let mut rows = Vec::new();
            for o in api.list(&Default::default()).await? {
                let s = o.status().cloned().unwrap_or_default();
                let (ready, message) = ready_row(s.conditions());
                rows.push(Row {
                    kind: kind.clone(),
                    name: format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any()),
                    ready,
                    message,
                    id: o
                        .annotations()
                        .get(sipcred_operator::managed::EXTERNAL_NAME)
                        .cloned()
                        .unwrap_or_default(),
                    secret: s.secret_name().unwrap_or_default().to_string(),
                });
            }
            Ok(rows)
        }));
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<20} {:<32} {:<6} {:<38} SECRET",
        "KIND", "NAME", "READY", "PROVIDER ID"
    );
    for r in rows {
        println!(
            "{:<20} {:<32} {:<6} {:<38} {}",
            r.kind, r.name, r.ready, r.id, r.secret
        );
    }
}

fn mask(s: &str) -> String {
    format!("•••••• ({} chars)", s.chars().count())
}

async fn print_secrets(client: &Client) -> Result<(), kube::Error> {
    println!(
        "\n{:<32} {:<34} {:<22} {:<24}",
        "SECRET", "USERNAME", "PASSWORD (masked)", "DOMAIN"
    );
    let lp =
        kube::api::ListParams::default().labels("app.kubernetes.io/managed-by=sipcred-operator");
    for s in Api::<Secret>::all(client.clone()).list(&lp).await? {
        let get = |k: &str| {
            s.data
                .as_ref()
                .and_then(|d| d.get(k))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .unwrap_or_default()
        };
        println!(
            "{:<32} {:<34} {:<22} {:<24}",
            format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()),
            get("username"),
            mask(&get("password")),
            get("domain")
        );
    }
    Ok(())
}

/// Checks every generated Secret's username/password against the simulators, as a SIP
/// REGISTER would.
async fn check_sip_logins(
    client: &Client,
    telnyx: &sipcred_provider_sim::RunningSim,
    vobiz: &sipcred_provider_sim::RunningSim,
) -> Result<usize, Box<dyn std::error::Error>> {
    let lp =
        kube::api::ListParams::default().labels("app.kubernetes.io/managed-by=sipcred-operator");
    let mut ok = 0;
    for s in Api::<Secret>::all(client.clone()).list(&lp).await? {
        let get = |k: &str| {
            s.data
                .as_ref()
                .and_then(|d| d.get(k))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .unwrap_or_default()
        };
        let (u, p) = (get("username"), get("password"));
        if telnyx.check_credentials(&u, &p) || vobiz.check_credentials(&u, &p) {
            ok += 1;
        } else {
            return Err(format!(
                "Secret {}/{} holds credentials the provider rejects",
                s.namespace().unwrap_or_default(),
                s.name_any()
            )
            .into());
        }
    }
    Ok(ok)
}
