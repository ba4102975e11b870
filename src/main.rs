//! The `sipcred-operator` command line: run the operator, print CRDs, run the
//! simulators, or run everything together in a sandbox.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use sipcred_operator::leader::LeaderError;

use clap::{Parser, Subcommand};

/// jemalloc rather than glibc's malloc: at 10,000 objects (BENCHMARKS.md, 2026-12-03)
/// the operator needed 16 instead of 26 CPU seconds to converge and kept 127 instead
/// of 151 MiB resident afterwards; mimalloc was as fast but kept more (174 MiB).
/// `--no-default-features` builds with the system allocator, which heap profilers
/// such as heaptrack see.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "sipcred-operator",
    version,
    about = "Declare SIP credentials as Kubernetes objects; have them exist at Telnyx and Vobiz"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers against the cluster in KUBECONFIG or the in-cluster config.
    Run(cli::run::RunArgs),
    /// Print all CRDs as one multi-document YAML stream, or write one file per CRD.
    Crd {
        /// Write `<plural>.sipcred.io.yaml` files into this directory instead of printing.
        #[arg(long)]
        output_dir: Option<PathBuf>,
    },
    /// Run a simulator: `telnyx`, `vobiz` or `kube` (an in-memory Kubernetes API server).
    #[command(subcommand)]
    Sim(SimCommand),
    /// Start the in-memory API server and both provider simulators, install the CRDs and
    /// examples/, run the controllers and show every object becoming Ready.
    Sandbox(cli::sandbox::SandboxArgs),
    /// Size an installation: start the API server, both provider simulators (rate limit
    /// and latency) and the operator as separate processes, converge N objects, hold a
    /// steady state, delete them all, and print the costs.
    Bench(cli::bench::BenchArgs),
    /// Show an object's conditions, provider IDs, Secret keys (values masked), rotation
    /// and expiry times and recent Events, using the kubeconfig as kubectl does.
    Status(cli::status::StatusArgs),
    /// Ask the operator to rotate an object's credential now (sets the annotation
    /// sipcred.io/rotate-requested-at).
    Rotate(cli::rotate::RotateArgs),
    /// The kubectl plugin (`kubectl sipcred status|rotate ...`).
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Symlink `kubectl-sipcred` to this binary in a directory on PATH.
    Install(cli::plugin::InstallArgs),
}

/// The same binary run as `kubectl-sipcred`: kubectl passes the words after
/// `kubectl sipcred`.
#[derive(Parser)]
#[command(
    name = "kubectl sipcred",
    bin_name = "kubectl sipcred",
    version,
    about = "Inspect and rotate sipcred.io credentials (the sipcred-operator kubectl plugin)"
)]
struct PluginCli {
    #[command(subcommand)]
    command: PluginTopCommand,
}

#[derive(Subcommand)]
enum PluginTopCommand {
    /// Show an object's conditions, provider IDs, Secret keys (values masked), rotation
    /// and expiry times and recent Events.
    Status(cli::status::StatusArgs),
    /// Ask the operator to rotate an object's credential now.
    Rotate(cli::rotate::RotateArgs),
}

#[derive(Subcommand)]
enum SimCommand {
    /// The Telnyx v2 API simulator.
    Telnyx(sipcred_provider_sim::TelnyxArgs),
    /// The Vobiz API simulator.
    Vobiz(sipcred_provider_sim::VobizArgs),
    /// The in-memory Kubernetes API server.
    Kube(sipcred_kube_sim::KubeArgs),
}

fn main() -> ExitCode {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let cli = if cli::plugin::is_plugin(&argv0.to_string_lossy()) {
        match PluginCli::parse().command {
            PluginTopCommand::Status(a) => Cli {
                command: Command::Status(a),
            },
            PluginTopCommand::Rotate(a) => Cli {
                command: Command::Rotate(a),
            },
        }
    } else {
        Cli::parse()
    };
    if let Command::Plugin(PluginCommand::Install(args)) = cli.command {
        return report(cli::plugin::install(args).map_err(|e| e as _));
    }
    if let Command::Crd { output_dir } = cli.command {
        return report(print_crds(output_dir));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Err(e.into())),
    };
    rt.block_on(async move {
        match cli.command {
            Command::Run(args) => match cli::run::run(args).await {
                // A replica that lost the Lease stopped its work on purpose; a distinct
                // status tells that hand-over from a crash (the Deployment restarts
                // it as a standby either way).
                Err(e)
                    if e.downcast_ref::<LeaderError>()
                        .is_some_and(LeaderError::lost) =>
                {
                    eprintln!("error: {e}");
                    ExitCode::from(LOST_LEADERSHIP)
                }
                other => report(other),
            },
            Command::Sandbox(args) => cli::sandbox::run(args).await,
            Command::Bench(args) => report(cli::bench::run(args).await.map_err(|e| e as _)),
            Command::Status(args) => report(cli::status::run(args).await.map_err(|e| e as _)),
            Command::Rotate(args) => report(cli::rotate::run(args).await.map_err(|e| e as _)),
            Command::Sim(SimCommand::Telnyx(a)) => report(
                sipcred_provider_sim::run_telnyx(a)
                    .await
                    .map_err(Into::into),
            ),
            Command::Sim(SimCommand::Vobiz(a)) => {
                report(sipcred_provider_sim::run_vobiz(a).await.map_err(Into::into))
            }
            Command::Sim(SimCommand::Kube(a)) => {
                report(sipcred_kube_sim::run(a).await.map_err(Into::into))
            }
            Command::Crd { .. } | Command::Plugin(_) => ExitCode::SUCCESS,
        }
    })
}

/// `run`'s exit status when this replica lost (or could not prove) leadership.
const LOST_LEADERSHIP: u8 = 3;

fn report(r: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_crds(output_dir: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    use sipcred_operator::crd;
    match output_dir {
        None => print!("{}", crd::all_yaml()?),
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            for c in crd::all() {
                std::fs::write(dir.join(crd::file_name(&c)), crd::to_yaml(&c)?)?;
            }
        }
    }
    Ok(())
}
