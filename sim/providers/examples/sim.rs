//! Stand-alone runner with the same flags as `sipcred-operator sim telnyx|vobiz`,
//! on a single-threaded runtime (one core), e.g. for `wrk`:
//!
//! cargo run --release -p sipcred-provider-sim --example sim -- telnyx --api-key KEY --listen 127.0.0.1:8080
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::{Parser, Subcommand};
use sipcred_provider_sim::{TelnyxArgs, VobizArgs, run_telnyx, run_vobiz};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Telnyx(TelnyxArgs),
    Vobiz(VobizArgs),
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.cmd {
            Cmd::Telnyx(a) => run_telnyx(a).await,
            Cmd::Vobiz(a) => run_vobiz(a).await,
        }
    })
}
