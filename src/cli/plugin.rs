//! The kubectl plugin: kubectl runs `kubectl-sipcred` for `kubectl sipcred ...`, and
//! this binary under that name takes `status` and `rotate` as its commands.

use std::path::{Path, PathBuf};

use super::target::BoxError;

/// The file name kubectl looks for on PATH.
pub const PLUGIN_NAME: &str = "kubectl-sipcred";

/// Flags of `plugin install`.
#[derive(clap::Args, Debug, Clone)]
pub struct InstallArgs {
    /// Directory (on PATH) for the `kubectl-sipcred` symlink.
    #[arg(long, default_value = "~/.local/bin")]
    pub dir: String,
    /// Replace an existing `kubectl-sipcred` there.
    #[arg(long)]
    pub force: bool,
}

/// Whether `argv[0]` is the plugin's name (a symlink or copy named `kubectl-sipcred`).
pub fn is_plugin(argv0: &str) -> bool {
    Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == PLUGIN_NAME || n.strip_suffix(".exe") == Some(PLUGIN_NAME))
}

/// Creates `DIR/kubectl-sipcred` -> this binary.
pub fn install(args: InstallArgs) -> Result<(), BoxError> {
    let dir = expand_home(&args.dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let exe = std::env::current_exe()?.canonicalize()?;
    let link = dir.join(PLUGIN_NAME);
    if link.symlink_metadata().is_ok() {
        if std::fs::read_link(&link).ok().as_deref() == Some(exe.as_path()) {
            println!("{} already points at {}", link.display(), exe.display());
            return Ok(());
        }
        if !args.force {
            return Err(format!("{} exists; pass --force to replace it", link.display()).into());
        }
        std::fs::remove_file(&link)?;
    }
    std::os::unix::fs::symlink(&exe, &link)
        .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
    println!("{} -> {}", link.display(), exe.display());
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d == dir))
        .unwrap_or(false);
    if on_path {
        println!("Try: kubectl sipcred status KIND/NAME");
    } else {
        println!(
            "{} is not on PATH; add it so kubectl finds the plugin.",
            dir.display()
        );
    }
    Ok(())
}

fn expand_home(dir: &str) -> PathBuf {
    match (dir.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_recognised_by_file_name() {
        for (argv0, want) in [
            ("kubectl-sipcred", true),
            ("/home/me/.local/bin/kubectl-sipcred", true),
            ("sipcred-operator", false),
            ("/usr/bin/kubectl-sipcred-old", false),
        ] {
            assert_eq!(is_plugin(argv0), want, "{argv0}");
        }
    }
}
