//! Vobiz client: SIP trunk credentials and the trunk fields that attach them.

mod models;

use super::listing::{Items, Listing, Lookup, add_page};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use models::*;

use super::error::{ErrorCategory, OpKind, ProviderError};
use super::http::{Call, CoreConfig, HttpCore, Reply};
use super::observer::{NoopObserver, RequestObserver};
use super::ratelimit::{RateLimitConfig, RateLimiter};
use super::retry::RetryConfig;
use super::serde_util::Nullable;

/// Provider name used in errors, metrics and observer calls.
pub const PROVIDER: &str = "vobiz";

/// Page size for credential lists (the MCP tool documents a maximum of 100).
pub const PAGE_LIMIT: u32 = 100;

const MAX_PAGES: u32 = 10_000;

/// Settings for [`VobizClient`].
#[derive(Clone)]
pub struct VobizConfig {
    /// API base, e.g. `https://api.vobiz.ai/api/v1`.
    pub base_url: String,
    /// Account Auth ID (sent as `X-Auth-ID` and used in paths).
    pub auth_id: String,
    /// Account Auth Token (sent as `X-Auth-Token`).
    pub auth_token: SecretString,
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

impl VobizConfig {
    /// Production API base.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.vobiz.ai/api/v1";

    /// Defaults: production URL, default rate limit and retries, 30 s timeout,
    /// 10 s connect timeout, no-op observer.
    pub fn new(auth_id: impl Into<String>, auth_token: SecretString) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            auth_id: auth_id.into(),
            auth_token,
            rate: RateLimitConfig::default(),
            retry: RetryConfig::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            observer: Arc::new(NoopObserver),
        }
    }
}

impl fmt::Debug for VobizConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VobizConfig")
            .field("base_url", &self.base_url)
            .field("auth_id", &self.auth_id)
            .field("auth_token", &"[REDACTED]")
            .field("rate", &self.rate)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Vobiz API client. Cheap to clone; clones share the pool and rate limiter.
#[derive(Clone, Debug)]
pub struct VobizClient {
    core: HttpCore,
    auth_id: String,
    /// Set once GET `/credentials/{id}` answered 405: use list-and-match.
    get_unsupported: Arc<AtomicBool>,
    credentials: Listing<Credential>,
}

/// Accepts a bare object or `{"data": {...}}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOf<T> {
    Wrapped { data: T },
    Bare(T),
}

impl VobizClient {
    /// Builds the client. Fails on an invalid base URL or header characters.
    pub fn new(cfg: VobizConfig) -> Result<Self, ProviderError> {
        let bad_header = |what: &str| {
            ProviderError::client(
                PROVIDER,
                "new_client",
                ErrorCategory::InvalidRequest,
                format!("{what} contains characters not allowed in a header"),
            )
        };
        if cfg.auth_id.is_empty() {
            return Err(ProviderError::client(
                PROVIDER,
                "new_client",
                ErrorCategory::InvalidRequest,
                "auth_id is empty",
            ));
        }
        let mut id = HeaderValue::from_str(&cfg.auth_id).map_err(|_| bad_header("auth_id"))?;
        id.set_sensitive(true);
        let mut token = HeaderValue::from_str(cfg.auth_token.expose_secret())
            .map_err(|_| bad_header("auth_token"))?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("x-auth-id"), id);
        headers.insert(HeaderName::from_static("x-auth-token"), token);
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
                auth_secrets: vec![cfg.auth_token.clone()],
            },
        )?;
        Ok(Self {
            core,
            auth_id: cfg.auth_id,
            get_unsupported: Arc::new(AtomicBool::new(false)),
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

    /// The account Auth ID.
    pub fn auth_id(&self) -> &str {
        &self.auth_id
    }

    fn decode_obj<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        reply: &Reply,
    ) -> Result<T, ProviderError> {
        match self.core.decode::<OneOf<T>>(operation, reply)? {
            OneOf::Wrapped { data } | OneOf::Bare(data) => Ok(data),
        }
    }

    // ----- credentials ------------------------------------------------------------

    /// POST `/Account/{auth_id}/credentials` (201). A duplicate username is a
    /// `Conflict` error (adopt by username). Not retried after an ambiguous
    /// failure: see [`ProviderError::outcome_unknown`].
    pub async fn create_credential(
        &self,
        req: &CredentialCreate,
    ) -> Result<Credential, ProviderError> {
        const OP: &str = "create_credential";
        let mut call = Call::new(
            OP,
            OpKind::Create,
            Method::POST,
            vec!["Account", &self.auth_id, "credentials"],
        );
        call.body = Some(self.core.encode(OP, req)?);
        call.secrets.push(&req.password);
        let reply = self.core.execute(&call).await?;
        let c: Credential = self.decode_obj(OP, &reply)?;
        self.credentials.wrote(&c.id, Some(c.clone()));
        Ok(c)
    }

    /// Every credential of the account, by ID (a listing's refresh).
    async fn every_credential(&self) -> Result<Items<Credential>, ProviderError> {
        let mut items = Items::new();
        self.for_each_credentials_page(|page| add_page(&mut items, page))
            .await?;
        Ok(items)
    }

    /// The credential named `username` in the account's shared listing when it is no
    /// older than `max_age`. Only for an object that never attempted a create: after
    /// one, a listing from before it could miss what that create made.
    pub async fn find_listed_credential(
        &self,
        username: &str,
        max_age: std::time::Duration,
    ) -> Result<Option<Credential>, ProviderError> {
        let found = self
            .credentials
            .find(
                |c| c.username == username,
                max_age,
                || self.every_credential(),
            )
            .await?;
        Ok(found.into_iter().next())
    }

    /// The credential `id`, or else the one named `username` (see [`Lookup`]).
    pub async fn locate_credential(
        &self,
        id: Option<&str>,
        username: &str,
        lookup: Lookup,
    ) -> Result<Option<Credential>, ProviderError> {
        lookup
            .locate(
                id,
                async |id| self.observe_credential(id, lookup.max_age).await,
                async || self.find_credential_by_username(username).await,
                async || self.find_listed_credential(username, lookup.max_age).await,
            )
            .await
    }

    /// The credential `id` from the account's shared listing when it is no older
    /// than `max_age` (one paged LIST serves every object of the account); a
    /// credential absent from it is confirmed with a GET (`NotFound` when gone).
    pub async fn observe_credential(
        &self,
        id: &str,
        max_age: std::time::Duration,
    ) -> Result<Credential, ProviderError> {
        self.credentials
            .observe(
                id,
                max_age,
                || self.every_credential(),
                || self.get_credential(id),
            )
            .await
    }

    /// GET `/Account/{auth_id}/trunks/credentials?limit=&offset=` (one page).
    pub async fn list_credentials_page(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<ListPage<Credential>, ProviderError> {
        const OP: &str = "list_credentials";
        let mut call = Call::new(
            OP,
            OpKind::Read,
            Method::GET,
            vec!["Account", &self.auth_id, "trunks", "credentials"],
        );
        call.query = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        let reply = self.core.execute(&call).await?;
        self.core.decode(OP, &reply)
    }

    /// Every credential of the account, paging by offset ([`PAGE_LIMIT`] per
    /// request).
    pub async fn list_all_credentials(&self) -> Result<Vec<Credential>, ProviderError> {
        let mut out = Vec::new();
        self.for_each_credentials_page(|page| out.extend(page))
            .await?;
        Ok(out)
    }

    /// [`Self::list_all_credentials`], handing each page to `each` as it arrives.
    async fn for_each_credentials_page(
        &self,
        mut each: impl FnMut(Vec<Credential>),
    ) -> Result<(), ProviderError> {
        let mut offset = 0u32;
        for _ in 0..MAX_PAGES {
            let page = self.list_credentials_page(PAGE_LIMIT, offset).await?;
            let n = page.objects.len() as u32;
            let limit = if page.meta.limit > 0 {
                page.meta.limit
            } else {
                PAGE_LIMIT
            };
            let total = page.meta.total();
            each(page.objects);
            offset += n;
            let done = match total {
                Some(total) => u64::from(offset) >= total,
                None => n < limit,
            };
            if n == 0 || done {
                break;
            }
        }
        Ok(())
    }

    /// The credential with this username, if any (pages through the list).
    pub async fn find_credential_by_username(
        &self,
        username: &str,
    ) -> Result<Option<Credential>, ProviderError> {
        const OP: &str = "find_credential_by_username";
        let mut found: Vec<Credential> = self
            .list_all_credentials()
            .await
            .map_err(|e| e.with_operation(OP))?
            .into_iter()
            .filter(|c| c.username == username)
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(ProviderError::client(
                PROVIDER,
                OP,
                ErrorCategory::AmbiguousMatch,
                format!("{n} credentials have this username"),
            )),
        }
    }

    /// GET `/Account/{auth_id}/credentials/{id}`. This route is undocumented
    /// upstream (only the Go SDK has it): on 404 or 405 it falls back to
    /// listing and matching the id; a credential absent from the list is a
    /// `NotFound` error. After a 405 the client lists directly.
    pub async fn get_credential(&self, id: &str) -> Result<Credential, ProviderError> {
        const OP: &str = "get_credential";
        if !self.get_unsupported.load(Ordering::Relaxed) {
            let call = Call::new(
                OP,
                OpKind::Read,
                Method::GET,
                vec!["Account", &self.auth_id, "credentials", id],
            );
            match self.core.execute(&call).await {
                Ok(reply) => return self.decode_obj(OP, &reply),
                Err(e) if e.status() == Some(405) => {
                    self.get_unsupported.store(true, Ordering::Relaxed);
                }
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        self.list_all_credentials()
            .await
            .map_err(|e| e.with_operation(OP))?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| {
                ProviderError::client(
                    PROVIDER,
                    OP,
                    ErrorCategory::NotFound,
                    "credential not found (not in the account's credential list)",
                )
            })
    }

    /// PUT `/Account/{auth_id}/credentials/{id}` with the set fields.
    pub async fn update_credential(
        &self,
        id: &str,
        req: &CredentialUpdate,
    ) -> Result<Credential, ProviderError> {
        const OP: &str = "update_credential";
        let mut call = Call::new(
            OP,
            OpKind::Update,
            Method::PUT,
            vec!["Account", &self.auth_id, "credentials", id],
        );
        call.body = Some(self.core.encode(OP, req)?);
        call.secrets.extend(req.password.as_ref());
        let reply = self.core.execute(&call).await?;
        let c: Credential = self.decode_obj(OP, &reply)?;
        self.credentials.wrote(id, Some(c.clone()));
        Ok(c)
    }

    /// DELETE `/Account/{auth_id}/credentials/{id}` (204). 404 is `NotFound`
    /// (treat as gone); 409 while calls are active is `ResourceInUse`.
    pub async fn delete_credential(&self, id: &str) -> Result<(), ProviderError> {
        let call = Call::new(
            "delete_credential",
            OpKind::Delete,
            Method::DELETE,
            vec!["Account", &self.auth_id, "credentials", id],
        );
        let r = self.core.execute(&call).await.map(|_| ());
        if r.as_ref().is_ok() || r.as_ref().is_err_and(ProviderError::is_not_found) {
            self.credentials.wrote(id, None);
        }
        r
    }

    // ----- trunks -----------------------------------------------------------------

    /// GET `/Account/{auth_id}/trunks/{trunk_id}`.
    pub async fn get_trunk(&self, trunk_id: &str) -> Result<Trunk, ProviderError> {
        const OP: &str = "get_trunk";
        let call = Call::new(
            OP,
            OpKind::Read,
            Method::GET,
            vec!["Account", &self.auth_id, "trunks", trunk_id],
        );
        let reply = self.core.execute(&call).await?;
        self.decode_obj(OP, &reply)
    }

    /// PUT `/Account/{auth_id}/trunks/{trunk_id}`.
    pub async fn update_trunk(
        &self,
        trunk_id: &str,
        req: &TrunkUpdate,
    ) -> Result<Trunk, ProviderError> {
        const OP: &str = "update_trunk";
        let mut call = Call::new(
            OP,
            OpKind::Update,
            Method::PUT,
            vec!["Account", &self.auth_id, "trunks", trunk_id],
        );
        call.body = Some(self.core.encode(OP, req)?);
        let reply = self.core.execute(&call).await?;
        self.decode_obj(OP, &reply)
    }

    /// Attaches (`Value(id)`) or detaches (`Null`) a credential: reads the
    /// trunk, then PUTs its name, call limit and enabled flag unchanged with
    /// the new `credential_uuid`.
    pub async fn set_trunk_credential(
        &self,
        trunk_id: &str,
        credential_uuid: Nullable<String>,
    ) -> Result<Trunk, ProviderError> {
        let trunk = self.get_trunk(trunk_id).await?;
        self.update_trunk(trunk_id, &TrunkUpdate::keeping(&trunk, credential_uuid))
            .await
    }

    /// POST `/Account/{auth_id}/trunks` (minimal).
    pub async fn create_trunk(&self, req: &TrunkCreate) -> Result<Trunk, ProviderError> {
        const OP: &str = "create_trunk";
        let mut call = Call::new(
            OP,
            OpKind::Create,
            Method::POST,
            vec!["Account", &self.auth_id, "trunks"],
        );
        call.body = Some(self.core.encode(OP, req)?);
        let reply = self.core.execute(&call).await?;
        self.decode_obj(OP, &reply)
    }

    /// DELETE `/Account/{auth_id}/trunks/{trunk_id}` (204).
    pub async fn delete_trunk(&self, trunk_id: &str) -> Result<(), ProviderError> {
        let call = Call::new(
            "delete_trunk",
            OpKind::Delete,
            Method::DELETE,
            vec!["Account", &self.auth_id, "trunks", trunk_id],
        );
        self.core.execute(&call).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let cfg = VobizConfig::new("MA_1", SecretString::from("tok_supersecret_9"));
        assert!(!format!("{cfg:?}").contains("supersecret"));
        let client = VobizClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("supersecret"));
    }

    #[test]
    fn rejects_empty_auth_id() {
        let e = VobizClient::new(VobizConfig::new("", SecretString::from("t"))).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::InvalidRequest);
    }
}
