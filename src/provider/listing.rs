//! One shared listing per account and collection, so that drift checks cost one paged
//! LIST per resync instead of one GET per object.
//!
//! Every object of an account reads its provider object from the listing while the
//! listing is younger than the age the caller accepts (its resync interval); the first
//! caller after that refreshes it with one paged LIST, and the others wait for that
//! one LIST instead of starting their own. What this process wrote itself (a create,
//! an update, a delete) replaces the listed entry at once, also when it lands while a
//! LIST is in flight, so an object never sees its own write undone by an older page.
//! An object absent from the listing is not taken as deleted: the caller confirms with
//! a GET before anything is recreated.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ProviderError;

/// A refreshed listing: every object of the collection by its ID, filled page by page
/// (see [`super::page::for_each_page`]).
pub type Items<T> = HashMap<String, Arc<T>>;

/// A provider object kept in a listing, by its provider ID.
pub trait ById {
    /// The provider's ID of the object.
    fn listed_id(&self) -> &str;
}

/// Adds one page of a refresh to its items.
pub fn add_page<T: ById>(items: &mut Items<T>, page: Vec<T>) {
    items.extend(
        page.into_iter()
            .map(|o| (o.listed_id().to_owned(), Arc::new(o))),
    );
}

/// Entries are shared between `items` and `written` (and are large: a provider
/// object with every field): a listing holds each object once.
struct State<T> {
    fetched_at: Option<Instant>,
    items: HashMap<String, Arc<T>>,
    /// Entries this process wrote, and when: newer than a LIST that started before.
    written: HashMap<String, (Instant, Option<Arc<T>>)>,
}

/// A listing of one collection of one account. Clones share it.
pub struct Listing<T> {
    state: Arc<Mutex<State<T>>>,
    /// Held while a LIST runs: one refresh at a time, the others wait for it.
    refresh: Arc<tokio::sync::Mutex<()>>,
}

impl<T> Clone for Listing<T> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            refresh: self.refresh.clone(),
        }
    }
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                fetched_at: None,
                items: HashMap::new(),
                written: HashMap::new(),
            })),
            refresh: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl<T> std::fmt::Debug for Listing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Listing")
            .field("items", &st.items.len())
            .field("fetched_at", &st.fetched_at)
            .finish()
    }
}

/// How a controller finds its provider object: by its recorded ID through the
/// account's shared listing, else by its identity (the object of a recorded ID may be
/// gone and recreated under the same identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// How old the shared listing may be (the resync interval).
    pub max_age: Duration,
    /// Identity lookups ask the provider: after a create was attempted, a listing
    /// read before it could miss what that create made.
    pub ask: bool,
}

impl Lookup {
    /// The object `id` from `get`, or, with no ID or one not found, what the identity
    /// lookup finds: `ask` (the provider) or `listed` (the shared listing).
    pub async fn locate<T>(
        self,
        id: Option<&str>,
        get: impl AsyncFnOnce(&str) -> Result<T, ProviderError>,
        ask: impl AsyncFnOnce() -> Result<Option<T>, ProviderError>,
        listed: impl AsyncFnOnce() -> Result<Option<T>, ProviderError>,
    ) -> Result<Option<T>, ProviderError> {
        if let Some(id) = id {
            match get(id).await {
                Ok(t) => return Ok(Some(t)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        if self.ask {
            ask().await
        } else {
            listed().await
        }
    }
}

/// What the listing says of one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed<T> {
    /// Listed (or written by this process since).
    Present(T),
    /// Not in a listing younger than the accepted age: confirm before believing it.
    Absent,
}

impl<T: Clone> Listing<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, max_age: Duration) -> bool {
        self.lock()
            .fetched_at
            .is_some_and(|t| t.elapsed() <= max_age)
    }

    /// The object `id` as listed no longer than `max_age` ago, refreshing the listing
    /// with `fetch` (every object of the collection, with its ID) when it is older.
    pub async fn lookup<F, Fut>(
        &self,
        id: &str,
        max_age: Duration,
        fetch: F,
    ) -> Result<Listed<T>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Items<T>, ProviderError>>,
    {
        self.refresh(max_age, fetch).await?;
        Ok(match self.lock().items.get(id) {
            Some(t) => Listed::Present(T::clone(t)),
            None => Listed::Absent,
        })
    }

    /// The object `id` from a listing no older than `max_age` (see [`Self::lookup`]);
    /// one absent from it is confirmed with `get` (whose not-found error is the
    /// caller's answer) and recorded for the next readers.
    pub async fn observe<F, Fut, G, GFut>(
        &self,
        id: &str,
        max_age: Duration,
        fetch: F,
        get: G,
    ) -> Result<T, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Items<T>, ProviderError>>,
        G: FnOnce() -> GFut,
        GFut: Future<Output = Result<T, ProviderError>>,
    {
        match self.lookup(id, max_age, fetch).await? {
            Listed::Present(t) => Ok(t),
            Listed::Absent => {
                let t = get().await?;
                self.wrote(id, Some(t.clone()));
                Ok(t)
            }
        }
    }

    /// Every listed object that `matches`, from a listing no older than `max_age`.
    pub async fn find<F, Fut>(
        &self,
        matches: impl Fn(&T) -> bool,
        max_age: Duration,
        fetch: F,
    ) -> Result<Vec<T>, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Items<T>, ProviderError>>,
    {
        self.refresh(max_age, fetch).await?;
        Ok(self
            .lock()
            .items
            .values()
            .filter(|t| matches(t))
            .map(|t| T::clone(t))
            .collect())
    }

    async fn refresh<F, Fut>(&self, max_age: Duration, fetch: F) -> Result<(), ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Items<T>, ProviderError>>,
    {
        if !self.fresh(max_age) {
            let _one = self.refresh.lock().await;
            // Another caller may have refreshed it while this one waited.
            if !self.fresh(max_age) {
                let started = Instant::now();
                let items = fetch().await?;
                let mut st = self.lock();
                st.items = items;
                // Writes that landed while the LIST ran are newer than its pages.
                let newer: Vec<(String, Option<Arc<T>>)> = st
                    .written
                    .iter()
                    .filter(|(_, (at, _))| *at >= started)
                    .map(|(k, (_, v))| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in newer {
                    match v {
                        Some(v) => st.items.insert(k, v),
                        None => st.items.remove(&k),
                    };
                }
                st.written.retain(|_, (at, _)| *at >= started);
                st.fetched_at = Some(started);
            }
        }
        Ok(())
    }

    /// Records what this process wrote (`None`: deleted), so readers see it at once.
    pub fn wrote(&self, id: &str, item: Option<T>) {
        let item = item.map(Arc::new);
        let mut st = self.lock();
        match &item {
            Some(v) => st.items.insert(id.to_string(), v.clone()),
            None => st.items.remove(id),
        };
        st.written.insert(id.to_string(), (Instant::now(), item));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn rows(v: &[(&str, u32)]) -> Items<u32> {
        v.iter()
            .map(|(k, n)| (k.to_string(), Arc::new(*n)))
            .collect()
    }

    #[tokio::test]
    async fn locate_reads_the_id_then_the_identity_where_the_lookup_says() {
        use super::super::ErrorCategory;
        let err = |c| Err(ProviderError::client("test", "get", c, "x"));
        let age = Duration::from_secs(60);
        let (listed, asked) = (
            Lookup {
                max_age: age,
                ask: false,
            },
            Lookup {
                max_age: age,
                ask: true,
            },
        );
        let found = |l: Lookup, id, get: Result<u32, ProviderError>| async move {
            l.locate(
                id,
                async |_| get,
                async || Ok(Some(2)),
                async || Ok(Some(3)),
            )
            .await
        };
        let gone = || err(ErrorCategory::NotFound);
        let cases = [
            ("the recorded ID", listed, Some("a"), Ok(1), Some(1)),
            (
                "a gone ID: the identity, in the listing",
                listed,
                Some("a"),
                gone(),
                Some(3),
            ),
            (
                "a gone ID after a create attempt: the provider",
                asked,
                Some("a"),
                gone(),
                Some(2),
            ),
            (
                "no ID after a create attempt: the provider",
                asked,
                None,
                Ok(1),
                Some(2),
            ),
        ];
        for (why, lookup, id, get, want) in cases {
            assert_eq!(found(lookup, id, get).await.unwrap(), want, "{why}");
        }
        assert!(
            found(listed, Some("a"), err(ErrorCategory::ProviderUnavailable))
                .await
                .is_err(),
            "only not-found falls back"
        );
    }

    #[tokio::test]
    async fn one_list_serves_every_object_until_it_is_older_than_the_accepted_age() {
        let l = Listing::default();
        let lists = AtomicU32::new(0);
        let fetch = || async {
            lists.fetch_add(1, Ordering::SeqCst);
            Ok(rows(&[("a", 1), ("b", 2)]))
        };
        let age = Duration::from_secs(60);
        assert_eq!(l.lookup("a", age, fetch).await.unwrap(), Listed::Present(1));
        assert_eq!(l.lookup("b", age, fetch).await.unwrap(), Listed::Present(2));
        assert_eq!(l.lookup("c", age, fetch).await.unwrap(), Listed::Absent);
        assert_eq!(
            lists.load(Ordering::SeqCst),
            1,
            "one LIST for three objects"
        );
        assert_eq!(
            l.lookup("a", Duration::ZERO, fetch).await.unwrap(),
            Listed::Present(1)
        );
        assert_eq!(
            lists.load(Ordering::SeqCst),
            2,
            "older than accepted: listed again"
        );
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_list() {
        let l = Listing::default();
        let lists = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (l, lists) = (l.clone(), lists.clone());
            tasks.push(tokio::spawn(async move {
                l.lookup(&format!("o{i}"), Duration::from_secs(60), || async {
                    lists.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok((0..20).map(|i| (format!("o{i}"), Arc::new(i))).collect())
                })
                .await
                .unwrap()
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), Listed::Present(i as u32));
        }
        assert_eq!(lists.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn own_writes_win_over_a_listing_that_started_before_them() {
        let l = Listing::default();
        let age = Duration::from_secs(60);
        l.lookup("a", age, || async { Ok(rows(&[("a", 1), ("b", 1)])) })
            .await
            .unwrap();
        l.wrote("a", Some(5));
        assert_eq!(
            l.lookup("a", age, || async { unreachable!() })
                .await
                .unwrap(),
            Listed::Present(5)
        );
        // A LIST in flight while this process updates "b" and deletes "a": its older
        // pages must not undo either.
        let l2 = l.clone();
        let got = l
            .lookup("b", Duration::ZERO, || async move {
                l2.wrote("b", Some(9));
                l2.wrote("a", None);
                Ok(rows(&[("a", 1), ("b", 1)]))
            })
            .await
            .unwrap();
        assert_eq!(got, Listed::Present(9));
        assert_eq!(
            l.lookup("a", age, || async { unreachable!() })
                .await
                .unwrap(),
            Listed::Absent
        );
        // A later LIST is the truth again.
        let got = l
            .lookup("b", Duration::ZERO, || async { Ok(rows(&[("b", 3)])) })
            .await
            .unwrap();
        assert_eq!(got, Listed::Present(3));
    }

    #[tokio::test]
    async fn a_failed_list_is_an_error_and_the_next_reader_tries_again() {
        let l: Listing<u32> = Listing::default();
        let err = l
            .lookup("a", Duration::from_secs(60), || async {
                Err(ProviderError::client(
                    "test",
                    "list",
                    super::super::ErrorCategory::ProviderUnavailable,
                    "down",
                ))
            })
            .await;
        assert!(err.is_err());
        let ok = l
            .lookup("a", Duration::from_secs(60), || async {
                Ok(rows(&[("a", 1)]))
            })
            .await
            .unwrap();
        assert_eq!(ok, Listed::Present(1));
    }
}
