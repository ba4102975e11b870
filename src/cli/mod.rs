//! Subcommands of the binary. The sandbox is the only code that starts simulators;
//! it lives here, outside the library, so operator modules can never import them.

pub mod run;
pub mod sandbox;
