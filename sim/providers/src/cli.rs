//! `sipcred-operator sim telnyx|vobiz`: clap argument structs and run functions.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;

use crate::faults::{FaultConfig, FaultKind, FaultRule, Latency};
use crate::ratelimit::RateLimit;
use crate::{RunningSim, TelnyxConfig, VobizConfig, start_telnyx_on, start_vobiz_on};

/// Flags shared by both simulators.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Token-bucket refill rate per account (requests/second). Unset = no rate limit.
    #[arg(long)]
    pub rate_limit_rps: Option<f64>,
    /// Token-bucket size (default: max(1, rps)).
    #[arg(long)]
    pub rate_limit_burst: Option<u32>,
    /// Fixed latency added to every API request, in ms.
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Latency uniformly distributed up to this many ms above --latency-ms.
    #[arg(long)]
    pub latency_jitter_ms: Option<u64>,
    /// Share (0..1) of API requests answered with --error-status.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Status for --error-rate: 500, 502 or 503.
    #[arg(long, default_value_t = 503)]
    pub error_status: u16,
    /// Share (0..1) of API requests held without an answer (see --timeout-hold-ms).
    #[arg(long, default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// Hold time for --timeout-rate before a 504; unset = never answer.
    #[arg(long)]
    pub timeout_hold_ms: Option<u64>,
    /// Share (0..1) of API requests answered 429 regardless of the bucket.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_fault_rate: f64,
    /// Share (0..1) of write requests (POST/PATCH/PUT/DELETE) applied and then
    /// dropped without a response.
    #[arg(long, default_value_t = 0.0)]
    pub commit_drop_rate: f64,
    /// Seed of the fault flags' random choices: the same seed and the same requests
    /// give the same faults. Default: a random seed, shown by `GET /_sim/faults`.
    #[arg(long)]
    pub fault_seed: Option<u64>,
    /// Full fault configuration as JSON (inline, or @path to a file); replaces the
    /// individual fault flags. Same format as `PUT /_sim/faults`.
    #[arg(long)]
    pub faults: Option<String>,
}

impl CommonArgs {
    fn rate_limit(&self) -> RateLimit {
        match self.rate_limit_rps {
            Some(rps) if rps > 0.0 => RateLimit::TokenBucket {
                rps,
                burst: self.rate_limit_burst.unwrap_or((rps.ceil() as u32).max(1)),
            },
            _ => RateLimit::Disabled,
        }
    }

    fn fault_config(&self) -> std::io::Result<FaultConfig> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        if let Some(f) = &self.faults {
            let text = match f.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)?,
                None => f.clone(),
            };
            let cfg: FaultConfig =
                serde_json::from_str(&text).map_err(|e| invalid(format!("--faults: {e}")))?;
            cfg.validate().map_err(invalid)?;
            return Ok(cfg);
        }
        let latency = match (self.latency_ms, self.latency_jitter_ms) {
            (None, None) => None,
            (ms, None) => Some(Latency::Fixed {
                ms: ms.unwrap_or(0),
            }),
            (ms, Some(j)) => Some(Latency::Uniform {
                min_ms: ms.unwrap_or(0),
                max_ms: ms.unwrap_or(0) + j,
            }),
        };
        let mut cfg = FaultConfig {
            seed: self.fault_seed,
            latency,
            rules: Vec::new(),
        };
        if self.error_rate > 0.0 {
            cfg.rules.push(
                FaultRule::new(FaultKind::Error {
                    status: self.error_status,
                })
                .probability(self.error_rate),
            );
        }
        if self.timeout_rate > 0.0 {
            cfg.rules.push(
                FaultRule::new(FaultKind::Timeout {
                    hold_ms: self.timeout_hold_ms,
                })
                .probability(self.timeout_rate),
            );
        }
        if self.rate_limit_fault_rate > 0.0 {
            cfg.rules
                .push(FaultRule::new(FaultKind::RateLimit).probability(self.rate_limit_fault_rate));
        }
        if self.commit_drop_rate > 0.0 {
            for m in ["POST", "PATCH", "PUT", "DELETE"] {
                cfg.rules.push(
                    FaultRule::new(FaultKind::CommitThenDrop)
                        .method(m)
                        .probability(self.commit_drop_rate),
                );
            }
        }
        cfg.validate().map_err(invalid)?;
        Ok(cfg)
    }
}

/// `sipcred-operator sim telnyx` (`Debug` redacts the key)
#[derive(Args, Clone)]
pub struct TelnyxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The API key clients must send as `Authorization: Bearer KEY`.
    #[arg(long, env = "SIM_TELNYX_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Account connection limit.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Telephony credentials per tag.
    #[arg(long, default_value_t = 1_000)]
    pub max_credentials_per_tag: usize,
    /// How long a new telephony credential (and a token minted from it) cannot log in,
    /// on the simulator's clock, e.g. `5s`, `500ms`, `0s` (Telnyx documents about 5 s).
    #[arg(long, default_value = "5s", value_parser = parse_delay)]
    pub activation_delay: std::time::Duration,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sipcred-operator sim vobiz` (`Debug` redacts the token)
#[derive(Args, Clone)]
pub struct VobizArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The account's Auth ID (X-Auth-ID and the `{auth_id}` path segment).
    #[arg(long, env = "SIM_VOBIZ_AUTH_ID")]
    pub auth_id: String,
    /// The account's Auth Token (X-Auth-Token).
    #[arg(long, env = "SIM_VOBIZ_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl std::fmt::Debug for TelnyxArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxArgs")
            .field("listen", &self.listen)
            .field("api_key", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .field("max_credentials_per_tag", &self.max_credentials_per_tag)
            .field("activation_delay", &self.activation_delay)
            .field("common", &self.common)
            .finish()
    }
}

impl std::fmt::Debug for VobizArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VobizArgs")
            .field("listen", &self.listen)
            .field("auth_id", &self.auth_id)
            .field("auth_token", &"<redacted>")
            .field("common", &self.common)
            .finish()
    }
}

/// A non-negative duration with a unit (`5s`, `500ms`, `1m`; ISO 8601 `PT5S` too), or `0`.
fn parse_delay(s: &str) -> Result<std::time::Duration, String> {
    if s.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let d: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 5s, 500ms or 0s"))?;
    std::time::Duration::try_from(d).map_err(|_| format!("`{s}` is negative"))
}

/// Runs a Telnyx simulator until SIGTERM/SIGINT. Prints one line with the base URL
/// on stdout once listening.
pub async fn run_telnyx(args: TelnyxArgs) -> std::io::Result<()> {
    let cfg = TelnyxConfig {
        api_key: args.api_key,
        rate_limit: args.common.rate_limit(),
        max_connections: args.max_connections,
        max_credentials_per_tag: args.max_credentials_per_tag,
        faults: args.common.fault_config()?,
        activation_delay: args.activation_delay,
    };
    let sim = start_telnyx_on(args.listen, cfg).await?;
    announce("telnyx", &sim)?;
    wait_for_signal().await;
    sim.shutdown().await;
    Ok(())
}

/// Runs a Vobiz simulator until SIGTERM/SIGINT. Prints one line with the base URL
/// on stdout once listening.
pub async fn run_vobiz(args: VobizArgs) -> std::io::Result<()> {
    let cfg = VobizConfig {
        auth_id: args.auth_id,
        auth_token: args.auth_token,
        rate_limit: args.common.rate_limit(),
        faults: args.common.fault_config()?,
    };
    let sim = start_vobiz_on(args.listen, cfg).await?;
    announce("vobiz", &sim)?;
    wait_for_signal().await;
    sim.shutdown().await;
    Ok(())
}

fn announce(name: &str, sim: &RunningSim) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{name} simulator listening on {}", sim.base_url())?;
    out.flush()?;
    tracing::info!(admin = %sim.admin_url(), "{name} simulator ready");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: TelnyxArgs,
    }

    #[test]
    fn parses_flags() {
        let t = T::try_parse_from([
            "x",
            "--api-key",
            "k",
            "--rate-limit-rps",
            "5",
            "--error-rate",
            "0.5",
            "--error-status",
            "500",
            "--latency-ms",
            "3",
        ]);
        let t = match t {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            t.a.common.rate_limit(),
            RateLimit::TokenBucket { rps: 5.0, burst: 5 }
        );
        let f = t.a.common.fault_config().unwrap_or_default();
        assert_eq!(f.rules.len(), 1);
        assert_eq!(f.latency, Some(Latency::Fixed { ms: 3 }));
        assert!(!format!("{:?}", t.a).contains("\"k\""));
        assert_eq!(t.a.activation_delay, std::time::Duration::from_secs(5));
    }

    #[test]
    fn activation_delay_flag() {
        let cases = [
            ("seconds", "5s", Some(5_000)),
            ("milliseconds", "250ms", Some(250)),
            ("zero without a unit", "0", Some(0)),
            ("zero seconds", "0s", Some(0)),
            ("minutes", "1m", Some(60_000)),
            ("ISO 8601", "PT2S", Some(2_000)),
            ("no unit is ambiguous", "5", None),
            ("negative", "-1s", None),
            ("not a duration", "soon", None),
        ];
        for (name, arg, want) in cases {
            let got = T::try_parse_from(["x", "--api-key", "k", "--activation-delay", arg])
                .ok()
                .map(|t| t.a.activation_delay.as_millis());
            assert_eq!(got, want, "{name}: {arg}");
        }
    }
}
