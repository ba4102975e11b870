//! Subcommands of the binary. The sandbox (in-process) and the benchmark (as child
//! processes) are the only code that starts simulators; they live here, outside the
//! library, so operator modules can never import them.

pub mod bench;
pub mod plugin;
pub mod rotate;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod target;

/// How the user ran this binary, for the commands it suggests: `kubectl sipcred` when
/// run as the kubectl plugin.
pub fn invoked_as() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if plugin::is_plugin(&argv0.to_string_lossy()) {
        "kubectl sipcred"
    } else {
        "sipcred-operator"
    }
}
