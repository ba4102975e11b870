//! `cargo run -p sipcred-kube-sim --example serve -- --listen 127.0.0.1:6443 --kubeconfig /tmp/kc`
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    kube: sipcred_kube_sim::KubeArgs,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    sipcred_kube_sim::run(Cli::parse().kube).await
}
