//! Subcommands of the binary. The sandbox (in-process) and the benchmark (as child
//! processes) are the only code that starts simulators; they live here, outside the
//! library, so operator modules can never import them.

pub mod bench;
pub mod run;
pub mod sandbox;
