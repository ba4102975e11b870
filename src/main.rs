//! The `sipcred-operator` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// Print all CRDs as one multi-document YAML stream, or write one file per CRD.
    Crd {
        /// Write `<plural>.sipcred.io.yaml` files into this directory instead of printing.
        #[arg(long)]
        output_dir: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crd { output_dir } => print_crds(output_dir),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
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
