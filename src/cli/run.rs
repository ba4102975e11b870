//! `sipcred-operator run`.

use std::time::Duration;

use sipcred_operator::controller::{Ctx, Settings, runner};

/// Flags of `run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Watch only this namespace (repeatable). Default: all namespaces.
    #[arg(long = "namespace")]
    pub namespaces: Vec<String>,
    /// Manage only objects matching this label selector.
    #[arg(long)]
    pub selector: Option<String>,
    /// Reconciles in flight per controller.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,
    /// Seconds between re-observations of Ready objects at the provider (drift detection).
    #[arg(long, default_value_t = 300)]
    pub resync_secs: u64,
    /// Address of /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: String,
    /// Address of /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_addr: String,
    /// Elect a leader through a Lease so only one replica writes.
    #[arg(long)]
    pub leader_elect: bool,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    pub log_format: String,
    /// Log filter (tracing env-filter syntax).
    #[arg(long, default_value = "info,kube=warn")]
    pub log_level: String,
}

/// Runs the controllers until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    init_logs(&args.log_format, &args.log_level);
    let client = kube::Client::try_default().await?;
    let settings = Settings {
        resync: Duration::from_secs(args.resync_secs),
        ..Settings::default()
    };
    let ctx = Ctx::new(client, settings, None);
    let scope = runner::Scope {
        namespaces: args.namespaces,
        selector: args.selector,
        concurrency: args.concurrency,
    };
    tracing::info!(namespaces = ?scope.namespaces, "starting controllers");
    runner::run(ctx, scope).await;
    Ok(())
}

/// Structured logs; never a secret (secrets are secrecy types without Display).
pub fn init_logs(format: &str, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}
