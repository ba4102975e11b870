//! In-memory simulators of the Telnyx v2 and Vobiz SIP-credential APIs.
//!
//! Each simulator is an axum app served on its own loopback port, with a provider API
//! (`/v2` or `/api/v1`), per-account token-bucket rate limiting, fault injection and an
//! admin API under `/_sim` (inspection, fault control, out-of-band edits).
//! See `sim/providers/README.md` for the contract decisions.

mod cli;
mod core;
pub mod faults;
pub mod ratelimit;
mod telnyx;
mod util;
mod vobiz;

use std::net::SocketAddr;
use std::sync::Arc;

pub use cli::{CommonArgs, TelnyxArgs, VobizArgs, run_telnyx, run_vobiz};
pub use faults::{FaultConfig, FaultKind, FaultRule, Latency};
pub use ratelimit::RateLimit;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Configuration of a Telnyx simulator (one account). `Debug` redacts the key.
#[derive(Clone)]
pub struct TelnyxConfig {
    /// The only accepted `Authorization: Bearer` key.
    pub api_key: String,
    pub rate_limit: RateLimit,
    /// The account-wide connection limit (seed 000: 10,000).
    pub max_connections: usize,
    /// Telephony credentials per tag (seed 003: 1,000).
    pub max_credentials_per_tag: usize,
    pub faults: FaultConfig,
    /// How long a new telephony credential cannot log in (SIP or a token minted from
    /// it), on the simulator's clock. Telnyx documents about 5 s; the default.
    pub activation_delay: std::time::Duration,
}

impl std::fmt::Debug for TelnyxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxConfig")
            .field("api_key", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("max_connections", &self.max_connections)
            .field("max_credentials_per_tag", &self.max_credentials_per_tag)
            .field("faults", &self.faults)
            .field("activation_delay", &self.activation_delay)
            .finish()
    }
}

impl Default for TelnyxConfig {
    fn default() -> Self {
        TelnyxConfig {
            api_key: "KEYSIMULATOR".to_string(),
            rate_limit: RateLimit::Disabled,
            max_connections: 10_000,
            max_credentials_per_tag: 1_000,
            faults: FaultConfig::default(),
            activation_delay: TELNYX_ACTIVATION_DELAY,
        }
    }
}

/// Telnyx: "newly created telephony credentials (and JWTs minted from them) may fail to
/// authenticate for about 5 s".
pub const TELNYX_ACTIVATION_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

impl TelnyxConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        TelnyxConfig {
            api_key: api_key.into(),
            ..Default::default()
        }
    }

    /// The same configuration with another activation delay (`Duration::ZERO`: a new
    /// telephony credential logs in at once).
    pub fn with_activation_delay(mut self, delay: std::time::Duration) -> Self {
        self.activation_delay = delay;
        self
    }
}

/// What a WebRTC login would conclude from an access token
/// (`POST /_sim/tokens/verify`, [`RunningSim::verify_token`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenCheck {
    /// Whether a login with this token succeeds now (simulator clock).
    pub valid: bool,
    /// The credential the token was minted from (`sub`), once the signature checks.
    pub credential_id: Option<String>,
    /// The token's `exp`, once the signature checks.
    pub expires_at: Option<jiff::Timestamp>,
    /// Why it is refused: `malformed`, `bad_signature`, `not_yet_valid`, `expired`,
    /// `credential_not_found`, `credential_expired`, `credential_not_active`,
    /// `unsupported` (not a Telnyx simulator); `None` when valid.
    pub reason: Option<String>,
}

/// Configuration of a Vobiz simulator (one account). `Debug` redacts the token.
#[derive(Clone)]
pub struct VobizConfig {
    pub auth_id: String,
    pub auth_token: String,
    pub rate_limit: RateLimit,
    pub faults: FaultConfig,
}

impl std::fmt::Debug for VobizConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VobizConfig")
            .field("auth_id", &self.auth_id)
            .field("auth_token", &"<redacted>")
            .field("rate_limit", &self.rate_limit)
            .field("faults", &self.faults)
            .finish()
    }
}

impl Default for VobizConfig {
    fn default() -> Self {
        VobizConfig {
            auth_id: "MA_SIMULATOR".to_string(),
            auth_token: "sim-auth-token".to_string(),
            rate_limit: RateLimit::Disabled,
            faults: FaultConfig::default(),
        }
    }
}

impl VobizConfig {
    pub fn new(auth_id: impl Into<String>, auth_token: impl Into<String>) -> Self {
        VobizConfig {
            auth_id: auth_id.into(),
            auth_token: auth_token.into(),
            ..Default::default()
        }
    }
}

/// Starts a Telnyx simulator on `127.0.0.1:0`.
pub async fn start_telnyx(cfg: TelnyxConfig) -> std::io::Result<RunningSim> {
    start_telnyx_on(SocketAddr::from(([127, 0, 0, 1], 0)), cfg).await
}

/// Starts a Telnyx simulator on the given address.
pub async fn start_telnyx_on(addr: SocketAddr, cfg: TelnyxConfig) -> std::io::Result<RunningSim> {
    let app = telnyx::TelnyxApp::new(cfg);
    let router = telnyx::router(app.clone());
    RunningSim::start(addr, router, app, "/v2").await
}

/// Starts a Vobiz simulator on `127.0.0.1:0`.
pub async fn start_vobiz(cfg: VobizConfig) -> std::io::Result<RunningSim> {
    start_vobiz_on(SocketAddr::from(([127, 0, 0, 1], 0)), cfg).await
}

/// Starts a Vobiz simulator on the given address.
pub async fn start_vobiz_on(addr: SocketAddr, cfg: VobizConfig) -> std::io::Result<RunningSim> {
    let app = vobiz::VobizApp::new(cfg);
    let router = vobiz::router(app.clone());
    RunningSim::start(addr, router, app, "/api/v1").await
}

/// A running simulator. Dropping it stops the server too; `shutdown` also waits.
pub struct RunningSim {
    addr: SocketAddr,
    api_prefix: &'static str,
    sim: Arc<dyn core::Sim>,
    cancel: CancellationToken,
    join: Option<tokio::task::JoinHandle<()>>,
    open: Arc<std::sync::atomic::AtomicUsize>,
}

impl RunningSim {
    async fn start<S: core::Sim>(
        addr: SocketAddr,
        router: axum::Router,
        sim: Arc<S>,
        api_prefix: &'static str,
    ) -> std::io::Result<RunningSim> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let join = tokio::spawn(core::serve(listener, router, cancel.clone(), open.clone()));
        Ok(RunningSim {
            addr,
            api_prefix,
            sim,
            cancel,
            join: Some(join),
            open,
        })
    }

    /// The socket address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Client TCP connections currently open (kept-alive ones included).
    pub fn open_connections(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Telnyx: `http://127.0.0.1:PORT/v2`; Vobiz: `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.api_prefix)
    }

    /// `http://127.0.0.1:PORT/_sim`.
    pub fn admin_url(&self) -> String {
        format!("http://{}/_sim", self.addr)
    }

    /// Requests answered (or dropped, status 0) for a method and route template,
    /// e.g. `("POST", "/v2/credential_connections", Some(201))`. `status: None` sums
    /// all statuses. Admin (`/_sim`) requests are not counted. Unknown routes are
    /// counted under the route `"<unmatched>"`.
    pub fn request_count(&self, method: &str, route: &str, status: Option<u16>) -> u64 {
        self.sim.common().request_count(method, route, status)
    }

    /// Commit-then-drop requests (counted under status 0 by
    /// [`RunningSim::request_count`]) by the status their dropped response carried:
    /// `dropped_count("POST", route, Some(201))` counts creates that committed although
    /// the client never heard so.
    pub fn dropped_count(&self, method: &str, route: &str, status: Option<u16>) -> u64 {
        self.sim.common().dropped_count(method, route, status)
    }

    /// Every create so far (through the API or out-of-band) in `collection`, by the
    /// identity clients look objects up by: Telnyx `credential_connections` by
    /// `connection_name`, `telephony_credentials` by `name`; Vobiz `credentials` by
    /// `username`. A count above 1 is a duplicate, even if a copy was deleted since.
    pub fn creates(&self, collection: &str) -> std::collections::BTreeMap<String, u64> {
        self.sim.common().creates(collection)
    }

    /// Forgets all request counts.
    pub fn reset_request_counts(&self) {
        self.sim.common().reset_counts();
    }

    /// Counts as JSON (same as `GET /_sim/requests`).
    pub fn requests(&self) -> serde_json::Value {
        self.sim.common().counts_json()
    }

    /// Full state dump (same as `GET /_sim/state`).
    pub fn state(&self) -> serde_json::Value {
        self.sim.state_json()
    }

    /// Replaces the fault configuration and restarts its random sequence from its
    /// seed (a fresh one, reported by [`RunningSim::faults`], when it has none).
    pub fn set_faults(&self, f: FaultConfig) {
        self.sim.common().set_faults(f);
    }

    /// The current fault configuration (with rule counters as they are now).
    pub fn faults(&self) -> FaultConfig {
        self.sim.common().faults()
    }

    /// Replaces the rate limit (the bucket starts full).
    pub fn set_rate_limit(&self, r: RateLimit) {
        self.sim.common().set_rate_limit(r);
    }

    /// Would a SIP REGISTER with this username/password succeed?
    pub fn check_credentials(&self, username: &str, password: &str) -> bool {
        self.sim.check(username, password)
    }

    /// Would a WebRTC login with this access token succeed now? (Telnyx; other
    /// simulators answer `unsupported`.) Same as `POST /_sim/tokens/verify`.
    pub fn verify_token(&self, token: &str) -> TokenCheck {
        self.sim.verify_token(token)
    }

    /// Telnyx: sets how long a new telephony credential cannot log in; it applies to
    /// existing credentials too (their age is compared with the delay at each login).
    /// Same as `PUT /_sim/activation`. No effect on other simulators.
    pub fn set_activation_delay(&self, delay: std::time::Duration) {
        self.sim.set_activation_delay(delay);
    }

    /// Telnyx: the activation delay now (`Duration::ZERO` elsewhere).
    pub fn activation_delay(&self) -> std::time::Duration {
        self.sim.activation_delay()
    }

    /// Out-of-band create (as in the provider's portal), bypassing auth, rate limits
    /// and faults. Collections: Telnyx `credential_connections`, `telephony_credentials`;
    /// Vobiz `credentials`, `trunks`. The body is validated like the API's.
    /// Returns the stored object or the provider's error body.
    pub fn oob_create(
        &self,
        collection: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        self.sim.oob_create(collection, body)
    }

    /// Out-of-band edit: deep-merges `patch` into the stored object without validation
    /// (as a person in the portal, or a broken backend, would). Returns the new
    /// object, or `None` if the object does not exist.
    pub fn oob_patch(
        &self,
        collection: &str,
        id: &str,
        patch: serde_json::Value,
    ) -> Option<serde_json::Value> {
        self.sim.oob_patch(collection, id, patch)
    }

    /// Out-of-band delete. Returns whether the object existed.
    pub fn oob_delete(&self, collection: &str, id: &str) -> bool {
        self.sim.oob_delete(collection, id)
    }

    /// Stops accepting, closes all connections and waits for the accept loop.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(j) = self.join.take() {
            let _ = j.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
