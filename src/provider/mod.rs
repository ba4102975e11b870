//! Typed HTTP clients for the SIP-credential providers (Telnyx, Vobiz), with
//! error classification, client-side rate limiting, safe retries and password
//! generation.
//!
//! This module knows nothing about Kubernetes: it never imports `kube` or
//! `k8s-openapi`. Secrets (API keys, auth tokens, passwords, JWTs) are
//! [`secrecy::SecretString`] everywhere and never appear in `Debug`, `Display`,
//! errors or logs.
//!
//! * [`error`]: [`ProviderError`] with a class (retryable / terminal /
//!   not found / conflict) and a CamelCase category for Events and metrics.
//! * [`ratelimit`]: a token bucket plus concurrency limit per provider account,
//!   shared by clones of a client, that also obeys the server's pause requests.
//! * [`fair`]: round-robin sharing between fairness keys (tenants), used by the
//!   rate limiter.
//! * [`retry`]: jittered exponential backoff; a create is never repeated after
//!   an ambiguous failure (it is returned with `outcome_unknown`).
//! * [`observer`]: the metrics hook.
//! * [`telnyx`], [`vobiz`]: the clients.
//! * [`password`]: policy-driven password generation from a CSPRNG.

pub mod error;
pub mod fair;
mod http;
pub mod listing;
pub mod observer;
pub mod page;
pub mod password;
pub mod ratelimit;
pub mod retry;
mod serde_util;
pub mod telnyx;
pub mod vobiz;

pub use error::{ErrorCategory, ErrorClass, FailureKind, OpKind, ProviderError};
pub use listing::Lookup;
pub use observer::{NoopObserver, RequestObserver};
pub use page::{Page, PageMeta, list_all};
pub use ratelimit::{RateLimitConfig, RateLimiter};
pub use retry::RetryConfig;
pub use serde_util::Nullable;
pub use telnyx::{TelnyxClient, TelnyxConfig};
pub use vobiz::{VobizClient, VobizConfig};
