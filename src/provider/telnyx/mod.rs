//! Telnyx v2 client: credential connections and on-demand telephony
//! credentials.

mod models;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use models::*;

use super::error::{ErrorCategory, OpKind, ProviderError};
use super::http::{Call, CoreConfig, HttpCore};
use super::listing::{Items, Listing, Lookup};
use super::observer::{NoopObserver, RequestObserver};
use super::page::{self, MAX_PAGE_SIZE, Page};
use super::ratelimit::{RateLimitConfig, RateLimiter};
use super::retry::RetryConfig;

/// Provider name used in errors, metrics and observer calls.
pub const PROVIDER: &str = "telnyx";
/// The SIP domain of every Telnyx credential connection and telephony credential.
pub const SIP_DOMAIN: &str = "sip.telnyx.com";

/// Settings for [`TelnyxClient`].
#[derive(Clone)]
pub struct TelnyxConfig {
    /// API base, e.g. `https://api.telnyx.com/v2` (a trailing slash is fine).
    pub base_url: String,
    /// V2 API key, sent as `Authorization: Bearer`.
    pub api_key: SecretString,
    /// Client-side rate limit for this account.
    pub rate: RateLimitConfig,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Whole-request timeout (default 30 s).
    pub timeout: Duration,
    /// TCP/TLS connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Metrics hook.
    pub observer: Arc<dyn RequestObserver>,
}

impl TelnyxConfig {
    /// Production API base.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.telnyx.com/v2";

    /// Defaults: production URL, default rate limit and retries, 30 s timeout,
    /// 10 s connect timeout, no-op observer.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            api_key,
            rate: RateLimitConfig::default(),
            retry: RetryConfig::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            observer: Arc::new(NoopObserver),
        }
    }
}

impl fmt::Debug for TelnyxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"[REDACTED]")
            .field("rate", &self.rate)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Telnyx API client. Cheap to clone; clones share the connection pool and
/// the rate limiter.
#[derive(Clone, Debug)]
pub struct TelnyxClient {
    core: HttpCore,
    connections: Listing<CredentialConnection>,
    credentials: Listing<TelephonyCredentialObject>,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

impl TelnyxClient {
    /// Builds the client. Fails on an invalid base URL or API key characters.
    pub fn new(cfg: TelnyxConfig) -> Result<Self, ProviderError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.api_key.expose_secret()))
            .map_err(|_| {
                ProviderError::client(
                    PROVIDER,
                    "new_client",
                    ErrorCategory::InvalidRequest,
                    "API key contains characters not allowed in a header",
                )
            })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let core = HttpCore::new(
            PROVIDER,
            CoreConfig {
                base_url: cfg.base_url,
                headers,
                timeout: cfg.timeout,
                connect_timeout: cfg.connect_timeout,
                rate: cfg.rate,
                retry: cfg.retry,
                observer: cfg.observer,
                auth_secrets: vec![cfg.api_key.clone()],
            },
        )?;
        Ok(Self {
            core,
            connections: Listing::default(),
            credentials: Listing::default(),
        })
    }

    /// The account's shared rate limiter.
    pub fn rate_limiter(&self) -> &RateLimiter {
        self.core.limiter()
    }

    /// Uses `limiter` instead of this client's own, so that several clients
    /// for the same provider account share one budget. (Clones of a client
    /// already share it.)
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.core.set_limiter(limiter);
        self
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<T, ProviderError> {
        let reply = self.core.execute(&call).await?;
        self.core.decode(call.operation, &reply)
    }

    // ----- credential connections -------------------------------------------------

    /// GET `/credential_connections` (one page).
    pub async fn list_credential_connections(
        &self,
        filter: &ConnectionFilter,
    ) -> Result<Page<CredentialConnection>, ProviderError> {
        let mut call = Call::new(
            "list_credential_connections",
            OpKind::Read,
            Method::GET,
            vec!["credential_connections"],
        );
        call.query = filter.query();
        self.get_json(call).await
    }

    /// Every credential connection matching `filter` (its page fields are
    /// ignored): one request per 250 objects.
    pub async fn list_all_credential_connections(
        &self,
        filter: &ConnectionFilter,
    ) -> Result<Vec<CredentialConnection>, ProviderError> {
        page::list_all(|n| {
            let f = ConnectionFilter {
                page_number: Some(n),
                page_size: Some(MAX_PAGE_SIZE),
                ..filter.clone()
            };
            async move { self.list_credential_connections(&f).await }
        })
        .await
    }

    /// Every connection whose `connection_name` equals `exact_name`
    /// (case-sensitive), using `filter[connection_name][contains]` when the
    /// name has at least 3 characters.
    pub async fn find_connections_by_name(
        &self,
        exact_name: &str,
    ) -> Result<Vec<CredentialConnection>, ProviderError> {
        let filter = ConnectionFilter {
            name_contains: (exact_name.chars().count() >= 3).then(|| exact_name.to_string()),
            ..ConnectionFilter::default()
        };
        let all = self
            .list_all_credential_connections(&filter)
            .await
            .map_err(|e| e.with_operation("find_connection_by_name"))?;
        Ok(all
            .into_iter()
            .filter(|c| c.connection_name.as_deref() == Some(exact_name))
            .collect())
    }

    /// The connection named exactly `exact_name`, if any. Several matches is an
    /// `AmbiguousMatch` error (the operator's names are meant to be unique).
    pub async fn find_connection_by_name(
        &self,
        exact_name: &str,
    ) -> Result<Option<CredentialConnection>, ProviderError> {
        let found = self.find_connections_by_name(exact_name).await?;
        at_most_one("find_connection_by_name", found, |c| c.id.as_str())
    }

    /// The credential connection `id` from the account's shared listing when it is
    /// no older than `max_age` (one paged LIST serves every object of the account); a
    /// connection absent from it is confirmed with a GET (404: `NotFound`).
    pub async fn observe_credential_connection(
        &self,
        id: &str,
        max_age: Duration,
    ) -> Result<CredentialConnection, ProviderError> {
        self.connections
            .observe(
                id,
                max_age,
                || self.every_connection(),
                || self.get_credential_connection(id),
            )
            .await
    }

    /// The credential connection `id`, or else the one named `name` (see [`Lookup`]).
    pub async fn locate_connection(
        &self,
        id: Option<&str>,
        name: &str,
        lookup: Lookup,
    ) -> Result<Option<CredentialConnection>, ProviderError> {
        lookup
            .locate(
                id,
                async |id| self.observe_credential_connection(id, lookup.max_age).await,
                async || self.find_connection_by_name(name).await,
                async || self.find_listed_connection(name, lookup.max_age).await,
            )
            .await
    }

    /// Every credential connection of the account, by ID (a listing's refresh).
    async fn every_connection(&self) -> Result<Items<CredentialConnection>, ProviderError> {
        page::every_by_id(|n| {
            let f = ConnectionFilter {
                page_number: Some(n),
                page_size: Some(MAX_PAGE_SIZE),
                ..ConnectionFilter::default()
            };
            async move { self.list_credential_connections(&f).await }
        })
        .await
    }

    /// Every telephony credential of the account, by ID (a listing's refresh).
    async fn every_credential(&self) -> Result<Items<TelephonyCredentialObject>, ProviderError> {
        page::every_by_id(|n| {
            let f = TelephonyCredentialFilter {
                page_number: Some(n),
                page_size: Some(MAX_PAGE_SIZE),
                ..TelephonyCredentialFilter::default()
            };
            async move { self.list_telephony_credentials(&f).await }
        })
        .await
    }

    /// The connection named exactly `exact_name` in the account's shared listing when
    /// it is no older than `max_age`. Only for an object that never attempted a create:
    /// after one, a listing from before it could miss what that create made.
    pub async fn find_listed_connection(
        &self,
        exact_name: &str,
        max_age: Duration,
    ) -> Result<Option<CredentialConnection>, ProviderError> {
        let found = self
            .connections
            .find(
                |c| c.connection_name.as_deref() == Some(exact_name),
                max_age,
                || self.every_connection(),
            )
            .await?;
        at_most_one("find_connection_by_name", found, |c| c.id.as_str())
    }

    /// The telephony credential named exactly `name` on `connection_id` in the
    /// account's shared listing (see [`Self::find_listed_connection`]).
    pub async fn find_listed_credential(
        &self,
        name: &str,
        connection_id: &str,
        max_age: Duration,
    ) -> Result<Option<TelephonyCredentialObject>, ProviderError> {
        let found = self
            .credentials
            .find(
                |c| {
                    c.name.as_deref() == Some(name)
                        && c.connection_id().is_none_or(|id| id == connection_id)
                },
                max_age,
                || self.every_credential(),
            )
            .await?;
        at_most_one("find_credential_by_name", found, |c| c.id.as_str())
    }

    /// The telephony credential `id`, or else the one named `name` on
    /// `connection_id` (see [`Lookup`]).
    pub async fn locate_telephony_credential(
        &self,
        id: Option<&str>,
        name: &str,
        connection_id: &str,
        lookup: Lookup,
    ) -> Result<Option<TelephonyCredentialObject>, ProviderError> {
        let max_age = lookup.max_age;
        lookup
            .locate(
                id,
                async |id| self.observe_telephony_credential(id, max_age).await,
                async || self.find_credential_by_name(name, connection_id).await,
                async || {
                    self.find_listed_credential(name, connection_id, max_age)
                        .await
                },
            )
            .await
    }

    /// The telephony credential `id` from the account's shared listing (see
    /// [`Self::observe_credential_connection`]).
    pub async fn observe_telephony_credential(
        &self,
        id: &str,
        max_age: Duration,
    ) -> Result<TelephonyCredentialObject, ProviderError> {
        self.credentials
            .observe(
                id,
                max_age,
                || self.every_credential(),
                || self.get_telephony_credential(id),
            )
            .await
    }

    /// GET `/credential_connections/{id}`.
    pub async fn get_credential_connection(
        &self,
        id: &str,
    ) -> Result<CredentialConnection, ProviderError> {
        let call = Call::new(
            "get_credential_connection",
            OpKind::Read,
            Method::GET,
            vec!["credential_connections", id],
        );
        Ok(self.get_json::<Data<_>>(call).await?.data)
    }

    /// POST `/credential_connections` (201). Not retried after an ambiguous
    /// failure: see [`ProviderError::outcome_unknown`].
    pub async fn create_credential_connection(
        &self,
        req: &CredentialConnectionRequest,
    ) -> Result<CredentialConnection, ProviderError> {
        const OP: &str = "create_credential_connection";
        let mut call = Call::new(
            OP,
            OpKind::Create,
            Method::POST,
            vec!["credential_connections"],
        );
        call.body = Some(self.core.encode(OP, req)?);
        call.secrets.extend(req.password.as_ref());
        let c: CredentialConnection = self.get_json::<Data<_>>(call).await?.data;
        self.connections.wrote(&c.id, Some(c.clone()));
        Ok(c)
    }

    /// PATCH `/credential_connections/{id}`: sends only the fields set in `req`.
    pub async fn update_credential_connection(
        &self,
        id: &str,
        req: &CredentialConnectionRequest,
    ) -> Result<CredentialConnection, ProviderError> {
        const OP: &str = "update_credential_connection";
        let mut call = Call::new(
            OP,
            OpKind::Update,
            Method::PATCH,
            vec!["credential_connections", id],
        );
        call.body = Some(self.core.encode(OP, req)?);
        call.secrets.extend(req.password.as_ref());
        let c: CredentialConnection = self.get_json::<Data<_>>(call).await?.data;
        self.connections.wrote(id, Some(c.clone()));
        Ok(c)
    }

    /// DELETE `/credential_connections/{id}` (200 with the deleted object,
    /// which is not decoded). 404 is a `NotFound` error: treat it as gone.
    pub async fn delete_credential_connection(&self, id: &str) -> Result<(), ProviderError> {
        let call = Call::new(
            "delete_credential_connection",
            OpKind::Delete,
            Method::DELETE,
            vec!["credential_connections", id],
        );
        let r = self.core.execute(&call).await.map(|_| ());
        if r.as_ref().is_ok() || r.as_ref().is_err_and(ProviderError::is_not_found) {
            self.connections.wrote(id, None);
        }
        r
    }

    /// POST `/credential_connections/{id}/actions/check_registration_status`
    /// (read-only in effect, retried like a read).
    pub async fn check_registration_status(
        &self,
        id: &str,
    ) -> Result<RegistrationStatus, ProviderError> {
        let call = Call::new(
            "check_registration_status",
            OpKind::Action,
            Method::POST,
            vec![
                "credential_connections",
                id,
                "actions",
                "check_registration_status",
            ],
        );
        Ok(self.get_json::<Data<_>>(call).await?.data)
    }

    /// GET `/sip_registration_status?credential_type=…&username=…`: the live
    /// registration of a telephony credential (by its `gencred…` username) or of a
    /// credential connection (by its `user_name`). The SDKs model the answer as the
    /// top-level object; a `data`-wrapped answer is accepted too.
    pub async fn sip_registration_status(
        &self,
        credential_type: RegistrationCredentialType,
        username: &str,
    ) -> Result<SipRegistration, ProviderError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Body {
            Wrapped { data: SipRegistration },
            Flat(SipRegistration),
        }
        let mut call = Call::new(
            "sip_registration_status",
            OpKind::Read,
            Method::GET,
            vec!["sip_registration_status"],
        );
        call.query = vec![
            ("credential_type", credential_type.as_str().to_string()),
            ("username", username.to_string()),
        ];
        Ok(match self.get_json::<Body>(call).await? {
            Body::Wrapped { data } | Body::Flat(data) => data,
        })
    }

    // ----- telephony credentials --------------------------------------------------

    /// GET `/telephony_credentials` (one page).
    pub async fn list_telephony_credentials(
        &self,
        filter: &TelephonyCredentialFilter,
    ) -> Result<Page<TelephonyCredentialObject>, ProviderError> {
        let mut call = Call::new(
            "list_telephony_credentials",
            OpKind::Read,
            Method::GET,
            vec!["telephony_credentials"],
        );
        call.query = filter.query();
        self.get_json(call).await
    }

    /// Every telephony credential matching `filter` (page fields ignored):
    /// one request per 250 objects.
    pub async fn list_all_telephony_credentials(
        &self,
        filter: &TelephonyCredentialFilter,
    ) -> Result<Vec<TelephonyCredentialObject>, ProviderError> {
        page::list_all(|n| {
            let f = TelephonyCredentialFilter {
                page_number: Some(n),
                page_size: Some(MAX_PAGE_SIZE),
                ..filter.clone()
            };
            async move { self.list_telephony_credentials(&f).await }
        })
        .await
    }

    /// The credential named exactly `name` on connection `connection_id`, if
    /// any (filters on `filter[name]` and `filter[resource_id]`, matches
    /// exactly client-side). Several matches is an `AmbiguousMatch` error.
    pub async fn find_credential_by_name(
        &self,
        name: &str,
        connection_id: &str,
    ) -> Result<Option<TelephonyCredentialObject>, ProviderError> {
        const OP: &str = "find_credential_by_name";
        let filter = TelephonyCredentialFilter {
            name: Some(name.to_string()),
            ..TelephonyCredentialFilter::for_connection(connection_id)
        };
        let found: Vec<TelephonyCredentialObject> = self
            .list_all_telephony_credentials(&filter)
            .await
            .map_err(|e| e.with_operation(OP))?
            .into_iter()
            .filter(|c| {
                c.name.as_deref() == Some(name)
                    && c.connection_id().is_none_or(|id| id == connection_id)
            })
            .collect();
        at_most_one(OP, found, |c| c.id.as_str())
    }

    /// GET `/telephony_credentials/{id}`.
    pub async fn get_telephony_credential(
        &self,
        id: &str,
    ) -> Result<TelephonyCredentialObject, ProviderError> {
        let call = Call::new(
            "get_telephony_credential",
            OpKind::Read,
            Method::GET,
            vec!["telephony_credentials", id],
        );
        Ok(self.get_json::<Data<_>>(call).await?.data)
    }

    /// POST `/telephony_credentials` (201). `connection_id` is required. Not
    /// retried after an ambiguous failure (Telnyx documents no idempotency key
    /// here): see [`ProviderError::outcome_unknown`].
    pub async fn create_telephony_credential(
        &self,
        req: &TelephonyCredentialRequest,
    ) -> Result<TelephonyCredentialObject, ProviderError> {
        const OP: &str = "create_telephony_credential";
        if req.connection_id.as_deref().is_none_or(str::is_empty) {
            return Err(ProviderError::client(
                PROVIDER,
                OP,
                ErrorCategory::InvalidRequest,
                "connection_id is required",
            ));
        }
        let mut call = Call::new(
            OP,
            OpKind::Create,
            Method::POST,
            vec!["telephony_credentials"],
        );
        call.body = Some(self.core.encode(OP, req)?);
        let c: TelephonyCredentialObject = self.get_json::<Data<_>>(call).await?.data;
        self.credentials.wrote(&c.id, Some(c.clone()));
        Ok(c)
    }

    /// PATCH `/telephony_credentials/{id}`. An expired credential cannot be
    /// updated (`CredentialExpired`).
    pub async fn update_telephony_credential(
        &self,
        id: &str,
        req: &TelephonyCredentialRequest,
    ) -> Result<TelephonyCredentialObject, ProviderError> {
        const OP: &str = "update_telephony_credential";
        let mut call = Call::new(
            OP,
            OpKind::Update,
            Method::PATCH,
            vec!["telephony_credentials", id],
        );
        call.body = Some(self.core.encode(OP, req)?);
        let c: TelephonyCredentialObject = self.get_json::<Data<_>>(call).await?.data;
        self.credentials.wrote(id, Some(c.clone()));
        Ok(c)
    }

    /// DELETE `/telephony_credentials/{id}` (200). 404 is `NotFound`.
    pub async fn delete_telephony_credential(&self, id: &str) -> Result<(), ProviderError> {
        let call = Call::new(
            "delete_telephony_credential",
            OpKind::Delete,
            Method::DELETE,
            vec!["telephony_credentials", id],
        );
        let r = self.core.execute(&call).await.map(|_| ());
        if r.as_ref().is_ok() || r.as_ref().is_err_and(ProviderError::is_not_found) {
            self.credentials.wrote(id, None);
        }
        r
    }

    /// POST `/telephony_credentials/{id}/token` with `Accept: text/plain`:
    /// 201 with a raw JWT body. Retried like an idempotent call (tokens are
    /// unlimited, a duplicate is harmless).
    pub async fn create_access_token(&self, id: &str) -> Result<SecretString, ProviderError> {
        const OP: &str = "create_access_token";
        let mut call = Call::new(
            OP,
            OpKind::Action,
            Method::POST,
            vec!["telephony_credentials", id, "token"],
        );
        call.accept = "text/plain";
        let reply = self.core.execute(&call).await?;
        let text = String::from_utf8(reply.body).map_err(|_| {
            ProviderError::transport(
                PROVIDER,
                OP,
                super::error::FailureKind::Decode,
                "token body is not UTF-8",
            )
        })?;
        let trimmed = text.trim();
        // Tolerate a JSON answer ({"data":"<jwt>"} or "<jwt>") from a proxy or
        // a future API version.
        let token = if trimmed.starts_with('{') || trimmed.starts_with('"') {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Tok {
                Wrapped { data: String },
                Bare(String),
            }
            match serde_json::from_str::<Tok>(trimmed) {
                Ok(Tok::Wrapped { data }) | Ok(Tok::Bare(data)) => data,
                Err(e) => return Err(ProviderError::decode(PROVIDER, OP, reply.status, &e)),
            }
        } else {
            trimmed.to_string()
        };
        if token.is_empty() {
            return Err(ProviderError::transport(
                PROVIDER,
                OP,
                super::error::FailureKind::Decode,
                "empty token body",
            ));
        }
        Ok(SecretString::from(token))
    }
}

/// The one object of `found`, none, or an `AmbiguousMatch` error naming up to five IDs.
fn at_most_one<T>(
    operation: &'static str,
    mut found: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> Result<Option<T>, ProviderError> {
    match found.len() {
        0 | 1 => Ok(found.pop()),
        n => Err(ambiguous(operation, n, found.iter().map(id))),
    }
}

fn ambiguous<'a>(
    operation: &'static str,
    n: usize,
    ids: impl Iterator<Item = &'a str>,
) -> ProviderError {
    let ids: Vec<&str> = ids.take(5).collect();
    ProviderError::client(
        PROVIDER,
        operation,
        ErrorCategory::AmbiguousMatch,
        format!("{n} objects have this name (ids {})", ids.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_and_client_debug_hide_the_key() {
        let cfg = TelnyxConfig::new(SecretString::from("KEY_supersecret_123"));
        assert!(!format!("{cfg:?}").contains("supersecret"));
        let client = TelnyxClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("supersecret"));
    }

    #[test]
    fn rejects_bad_base_url_and_key() {
        let mut cfg = TelnyxConfig::new(SecretString::from("k"));
        cfg.base_url = "not a url".into();
        let e = TelnyxClient::new(cfg).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::InvalidRequest);
        let cfg = TelnyxConfig::new(SecretString::from("bad\nkey_secretvalue"));
        let e = TelnyxClient::new(cfg).unwrap_err();
        assert!(!format!("{e:?} {e}").contains("secretvalue"));
    }
}
