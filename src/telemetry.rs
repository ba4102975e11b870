//! Logging set-up: `tracing` events to stderr as text or one JSON object per line.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Filter used when none is given: the operator at `info`, kube-rs only when it warns.
pub const DEFAULT_FILTER: &str = "info,kube=warn";

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = TelemetryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(TelemetryError::UnknownFormat(s.to_owned())),
        }
    }
}

/// Errors of [`init`] and of parsing a [`LogFormat`].
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The filter is not valid `EnvFilter` syntax.
    #[error("invalid log filter {filter:?}: {source}")]
    InvalidFilter {
        /// The rejected filter.
        filter: String,
        /// Why it was rejected.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Not `text` or `json`.
    #[error("unknown log format {0:?} (expected text or json)")]
    UnknownFormat(String),
}

/// Builds the filter: `filter` if non-empty, else `RUST_LOG` if set and non-empty,
/// else [`DEFAULT_FILTER`].
pub fn env_filter(filter: &str) -> Result<EnvFilter, TelemetryError> {
    let chosen = if filter.trim().is_empty() {
        std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_FILTER.to_owned())
    } else {
        filter.to_owned()
    };
    EnvFilter::try_new(&chosen).map_err(|source| TelemetryError::InvalidFilter {
        filter: chosen,
        source,
    })
}

/// Whether log lines carry ANSI colour codes: only text read by a person at a terminal.
/// A file, a pipe or `kubectl logs` would show the escape bytes as noise, and a JSON
/// line must stay plain JSON for the collector that parses it.
pub fn use_colour(format: LogFormat, stderr_is_terminal: bool) -> bool {
    format == LogFormat::Text && stderr_is_terminal
}

/// Installs the global `tracing` subscriber (see [`env_filter`] for `filter`).
///
/// Safe to call more than once (tests, or a library user that installed its own):
/// when a global subscriber already exists the call leaves it in place and returns
/// `Ok(false)`; `Ok(true)` means this call installed it. Only an invalid filter is
/// an error.
pub fn init(format: LogFormat, filter: &str) -> Result<bool, TelemetryError> {
    let filter = env_filter(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(use_colour(format, std::io::stderr().is_terminal()));
    let installed = match format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
            .is_ok(),
    };
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parses_case_insensitively() {
        assert_eq!("JSON".parse::<LogFormat>().ok(), Some(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>().ok(), Some(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }

    #[test]
    fn explicit_filter_wins_and_bad_filters_are_errors() {
        assert!(env_filter("debug,hyper=warn").is_ok());
        assert!(env_filter(DEFAULT_FILTER).is_ok());
        assert!(matches!(
            env_filter("info,sipcred=notalevel"),
            Err(TelemetryError::InvalidFilter { .. })
        ));
    }

    #[test]
    fn colour_only_for_text_on_a_terminal() {
        for (format, tty, want, why) in [
            (LogFormat::Text, true, true, "a person at a terminal"),
            (
                LogFormat::Text,
                false,
                false,
                "a file, a pipe or kubectl logs",
            ),
            (
                LogFormat::Json,
                true,
                false,
                "JSON is parsed, never coloured",
            ),
            (
                LogFormat::Json,
                false,
                false,
                "JSON is parsed, never coloured",
            ),
        ] {
            assert_eq!(use_colour(format, tty), want, "{format:?} tty={tty}: {why}");
        }
    }

    #[test]
    fn init_is_idempotent() {
        let first = init(LogFormat::Json, "warn");
        assert!(first.is_ok());
        // Whoever installed first, a second call must not fail or panic.
        assert_eq!(init(LogFormat::Text, "info").ok(), Some(false));
    }
}
