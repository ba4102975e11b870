//! `sipcred-operator run`: the controllers, /metrics, /healthz, /readyz and optional
//! leader election.

use std::net::SocketAddr;
use std::time::Duration;

use sipcred_operator::controller::{Ctx, Settings, runner};
use sipcred_operator::leader::{self, LeaderConfig};
use sipcred_operator::metrics::Metrics;
use sipcred_operator::server::{self, Health};
use sipcred_operator::telemetry::{self, LogFormat};

/// Flags of `run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Watch only this namespace (repeatable). Default: all namespaces.
    #[arg(long = "namespace")]
    pub namespaces: Vec<String>,
    /// Manage only objects matching this label selector.
    #[arg(long)]
    pub selector: Option<String>,
    /// Reconciles in flight per provider account, at least: an account's rate limit
    /// raises it to a quarter of its requests per second (up to 256), so the provider's
    /// rate, not this, is the limit. When several namespaces share an account, they
    /// take turns (round robin) for these slots and for the account's rate limit.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,
    /// A host a provider baseURL may point at (repeatable). Provider keys are never sent
    /// to any other host: a SipProvider or ClusterSipProvider whose baseURL names another
    /// host, and every object using it, get Ready=False, reason ProviderHostNotAllowed.
    /// Default: the official API hosts api.telnyx.com and api.vobiz.ai.
    #[arg(long = "allowed-provider-hosts", value_name = "HOST", default_values_t = sipcred_operator::controller::tenancy::default_allowed_hosts())]
    pub allowed_provider_hosts: Vec<String>,
    /// Seconds between re-observations of Ready objects at the provider (drift detection).
    #[arg(long, default_value_t = 300)]
    pub resync_secs: u64,
    /// Address of /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Address of /healthz and /readyz (may equal --metrics-addr).
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_addr: SocketAddr,
    /// Elect a leader through the Lease `sipcred-operator` in POD_NAMESPACE so only one
    /// replica writes; the others wait and take over within the lease duration.
    #[arg(long)]
    pub leader_elect: bool,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter (tracing env-filter syntax).
    #[arg(long, default_value = "info,kube=warn")]
    pub log_level: String,
}

/// Runs until SIGTERM/SIGINT; an error when leadership is lost (the process exits and
/// restarts, so two replicas never write at once).
pub async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    telemetry::init(args.log_format, &args.log_level)?;
    let client = kube::Client::try_default().await?;
    let resync = Duration::from_secs(args.resync_secs);
    let settings = Settings {
        resync,
        allowed_provider_hosts: args.allowed_provider_hosts,
        ..Settings::default()
    };
    let metrics = Metrics::new();
    // Live while reconciles keep happening; Ready objects are revisited every resync.
    let health = Health::new((resync * 3).max(Duration::from_secs(300)));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let (ma, ha) = (args.metrics_addr, args.health_addr);
    let (m2, h2) = (metrics.clone(), health.clone());
    tokio::spawn(async move {
        if let Err(e) = server::serve_all(ma, ha, m2, h2, shutdown).await {
            tracing::error!(error = %e, "metrics/health server failed");
        }
    });
    // A standby is ready too: rollouts must not stall on replicas waiting for the lease.
    health.set_ready(true);
    let ctx = Ctx::new(client.clone(), settings, metrics.clone(), health);
    let scope = runner::Scope {
        namespaces: args.namespaces,
        selector: args.selector,
        concurrency: args.concurrency,
    };
    tracing::info!(namespaces = ?scope.namespaces, allowed_provider_hosts = ?ctx.settings.allowed_provider_hosts, leader_elect = args.leader_elect, "starting controllers");
    let cfg = if args.leader_elect {
        LeaderConfig::new(leader::DEFAULT_LEASE_NAME, leader::default_namespace())
    } else {
        LeaderConfig::disabled()
    };
    leader::run_leader_elected(client, cfg, Some(metrics), || runner::run(ctx, scope)).await?;
    Ok(())
}

/// Structured logs for the sandbox; never a secret (secrets are secrecy types).
pub fn init_logs(level: &str) {
    let _ = telemetry::init(LogFormat::Text, level);
}
