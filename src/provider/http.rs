//! The request loop shared by both providers: rate limit, send, observe,
//! classify, retry.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::error::{ErrorCategory, FailureKind, OpKind, ProviderError};
use super::observer::RequestObserver;
use super::ratelimit::{self, RateLimitConfig, RateLimiter};
use super::retry::{self, Failure, RetryConfig, RetryDecision, StopReason};

/// Transport settings common to both clients.
pub(crate) struct CoreConfig {
    pub base_url: String,
    pub headers: HeaderMap,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub rate: RateLimitConfig,
    pub retry: RetryConfig,
    pub observer: Arc<dyn RequestObserver>,
    /// Credentials sent in headers, scrubbed from error text just in case a
    /// provider echoes them.
    pub auth_secrets: Vec<SecretString>,
}

/// One logical request (possibly several attempts).
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub op: OpKind,
    pub method: Method,
    pub segments: Vec<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub accept: &'static str,
    /// Secrets present in the body, scrubbed from any error text.
    pub secrets: Vec<&'a SecretString>,
}

impl<'a> Call<'a> {
    pub fn new(
        operation: &'static str,
        op: OpKind,
        method: Method,
        segments: Vec<&'a str>,
    ) -> Self {
        Self {
            operation,
            op,
            method,
            segments,
            query: Vec::new(),
            body: None,
            accept: "application/json",
            secrets: Vec::new(),
        }
    }
}

/// A 2xx answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// The kind of call this answers (a create whose answer cannot be read
    /// still created something).
    pub op: OpKind,
}

#[derive(Clone)]
pub(crate) struct HttpCore {
    pub provider: &'static str,
    client: reqwest::Client,
    base: Url,
    limiter: RateLimiter,
    retry: RetryConfig,
    observer: Arc<dyn RequestObserver>,
    auth_secrets: Arc<[SecretString]>,
}

impl fmt::Debug for HttpCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCore")
            .field("provider", &self.provider)
            .field("base", &self.base.as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpCore {
    pub fn new(provider: &'static str, cfg: CoreConfig) -> Result<Self, ProviderError> {
        let invalid = |msg: String| {
            ProviderError::client(provider, "new_client", ErrorCategory::InvalidRequest, msg)
        };
        let base = Url::parse(cfg.base_url.trim())
            .map_err(|e| invalid(format!("invalid base URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("base URL must be http(s)".into()));
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .default_headers(cfg.headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            // Never follow redirects: they could carry the auth headers elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sipcred-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            provider,
            client,
            base,
            limiter: RateLimiter::new(&cfg.rate),
            retry: cfg.retry,
            observer: cfg.observer,
            auth_secrets: cfg.auth_secrets.into(),
        })
    }

    /// The shared limiter (exposed for tests and diagnostics).
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Replaces the limiter (to share one between clients of one account).
    pub fn set_limiter(&mut self, limiter: RateLimiter) {
        self.limiter = limiter;
    }

    fn url(&self, call: &Call<'_>) -> Result<Url, ProviderError> {
        let mut url = self.base.clone();
        {
            let mut segs = url.path_segments_mut().map_err(|_| {
                ProviderError::client(
                    self.provider,
                    call.operation,
                    ErrorCategory::InvalidRequest,
                    "base URL cannot have path segments",
                )
            })?;
            segs.pop_if_empty();
            for s in &call.segments {
                if s.is_empty() || *s == "." || *s == ".." {
                    return Err(ProviderError::client(
                        self.provider,
                        call.operation,
                        ErrorCategory::InvalidRequest,
                        "empty or relative path segment (missing id?)",
                    ));
                }
                segs.push(s);
            }
        }
        if !call.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Runs the call with rate limiting and retries.
    pub async fn execute(&self, call: &Call<'_>) -> Result<Reply, ProviderError> {
        let url = self.url(call)?;
        let mut attempt: u32 = 1;
        loop {
            let permit = self.limiter.acquire().await;
            if !permit.waited.is_zero() {
                self.observer.rate_limit_wait(self.provider, permit.waited);
            }
            let start = Instant::now();
            let outcome = self.attempt(call, &url).await;
            drop(permit);
            let elapsed = start.elapsed();
            tracing::debug!(
                provider = self.provider,
                operation = call.operation,
                attempt,
                status = outcome.as_ref().ok().map(|(s, _, _)| *s),
                elapsed_ms = elapsed.as_millis() as u64,
                "provider request"
            );

            let mut err = match outcome {
                Ok((status, headers, body)) => {
                    self.observer
                        .request(self.provider, call.operation, Some(status), elapsed);
                    self.limiter.observe(status, &headers);
                    if (200..300).contains(&status) {
                        return Ok(Reply {
                            status,
                            body,
                            op: call.op,
                        });
                    }
                    // The uncapped server hint (the limiter caps its own pause).
                    let hint = if status == 429 || status == 503 {
                        ratelimit::server_pause(status, &headers)
                    } else {
                        ratelimit::retry_after(&headers)
                    };
                    ProviderError::from_response(
                        self.provider,
                        call.operation,
                        call.op,
                        status,
                        &body,
                        hint,
                    )
                }
                Err(e) => {
                    self.observer
                        .request(self.provider, call.operation, None, elapsed);
                    e
                }
            };
            for s in call.secrets.iter().copied().chain(self.auth_secrets.iter()) {
                err.scrub(s.expose_secret());
            }
            let failure = Failure::from(&err);
            match retry::decide(call.op, &failure, attempt, &self.retry) {
                RetryDecision::Retry => {
                    let wait = {
                        let mut rng = rand::rng();
                        retry::delay(attempt, &failure, &self.retry, &mut rng)
                    };
                    tracing::debug!(
                        provider = self.provider,
                        operation = call.operation,
                        attempt,
                        category = err.metric_label(),
                        status = err.status(),
                        wait_ms = wait.as_millis() as u64,
                        "provider request failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                RetryDecision::Stop(reason) => {
                    err.set_attempts(attempt);
                    if reason == StopReason::AmbiguousCreate {
                        err.set_outcome_unknown();
                    }
                    return Err(err);
                }
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        url: &Url,
    ) -> Result<(u16, HeaderMap, Vec<u8>), ProviderError> {
        let mut req = self
            .client
            .request(call.method.clone(), url.clone())
            .header(ACCEPT, call.accept);
        if let Some(body) = &call.body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(call.operation, &e, None))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(call.operation, &e, Some(status)))?;
        Ok((status, headers, body.to_vec()))
    }

    fn transport_error(
        &self,
        operation: &'static str,
        e: &reqwest::Error,
        status: Option<u16>,
    ) -> ProviderError {
        let kind = if status.is_some() {
            // The server answered; the body broke off. Whatever happened, it
            // happened: never "provably not sent".
            if e.is_timeout() {
                FailureKind::Timeout
            } else {
                FailureKind::Transport
            }
        } else if e.is_connect() {
            FailureKind::Connect
        } else if e.is_timeout() {
            FailureKind::Timeout
        } else if e.is_builder() {
            FailureKind::Client
        } else {
            FailureKind::Transport
        };
        let mut msg = String::new();
        if let Some(s) = status {
            msg.push_str(&format!("reading HTTP {s} response body: "));
        }
        msg.push_str(&e.to_string());
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        ProviderError::transport(self.provider, operation, kind, msg)
    }

    /// Decodes a JSON body.
    pub fn decode<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        reply: &Reply,
    ) -> Result<T, ProviderError> {
        serde_json::from_slice(&reply.body).map_err(|e| {
            let mut err = ProviderError::decode(self.provider, operation, reply.status, &e);
            if reply.op == OpKind::Create {
                // The provider said it created the object; we cannot read its
                // id. Same recovery as an ambiguous create: look it up.
                err.set_outcome_unknown();
            }
            err
        })
    }

    /// Serializes a request body.
    pub fn encode<T: serde::Serialize>(
        &self,
        operation: &'static str,
        body: &T,
    ) -> Result<Vec<u8>, ProviderError> {
        serde_json::to_vec(body).map_err(|e| {
            ProviderError::client(
                self.provider,
                operation,
                ErrorCategory::InvalidRequest,
                format!("cannot encode request: {e}"),
            )
        })
    }
}
