//! Convergence benchmark: a thin wrapper around `sipcred-operator bench`, which starts
//! the API server, the provider simulators and the operator as separate processes and
//! prints one table per object count (see BENCHMARKS.md).
//!
//!     cargo bench --bench converge -- --objects 1000 --rps 100 --latency-ms 50
//!
//! Every argument after `--` is passed to `sipcred-operator bench`; without any, it
//! runs `--objects 100,1000 --rps 100`.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and a benchmark has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("converge: run with `cargo bench --bench converge -- --objects N --rps R`");
        return ExitCode::SUCCESS;
    }
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        args = ["--objects", "100,1000", "--rps", "100"]
            .map(String::from)
            .to_vec();
    }
    // Built with the bench (release) profile alongside this benchmark.
    let status = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .arg("bench")
        .args(&args)
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("converge: starting sipcred-operator bench: {e}");
            ExitCode::FAILURE
        }
    }
}
