//! Telnyx-style pagination (`meta.page_number` / `meta.total_pages`).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::error::ProviderError;
use super::listing::{ById, Items, add_page};

/// Largest page Telnyx serves (`page[size]` 1..=250).
pub const MAX_PAGE_SIZE: u32 = 250;

/// Safety stop for a provider whose `meta` never ends.
const MAX_PAGES: u32 = 10_000;

/// Telnyx list metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// 1-based page number of this page.
    #[serde(default)]
    pub page_number: u32,
    /// Page size used.
    #[serde(default)]
    pub page_size: u32,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: u32,
    /// Number of objects in all pages.
    #[serde(default)]
    pub total_results: u64,
}

/// One page of a Telnyx list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Page<T> {
    /// The objects.
    pub data: Vec<T>,
    /// Pagination metadata.
    #[serde(default)]
    pub meta: PageMeta,
}

impl<T> Page<T> {
    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        !self.data.is_empty() && self.meta.page_number < self.meta.total_pages
    }
}

/// Fetches every page: calls `fetch(1)`, then `fetch(n + 1)` while
/// `meta.page_number < meta.total_pages`. One request per page; use page size
/// [`MAX_PAGE_SIZE`] in `fetch` to make that one request per 250 objects.
/// Stops on an empty page, on missing metadata, and after 10 000 pages.
pub async fn list_all<T, F, Fut>(fetch: F) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, ProviderError>>,
{
    let mut out = Vec::new();
    for_each_page(fetch, |items| out.extend(items)).await?;
    Ok(out)
}

/// Every object of a paged collection, by ID, for a listing's refresh: each page goes
/// into the map as it arrives.
pub async fn every_by_id<T, F, Fut>(fetch: F) -> Result<Items<T>, ProviderError>
where
    T: ById,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, ProviderError>>,
{
    let mut items = Items::new();
    for_each_page(fetch, |page| add_page(&mut items, page)).await?;
    Ok(items)
}

/// [`list_all`], handing each page's objects to `each` as it arrives: a caller that
/// keeps them in another form never holds every decoded page at once.
pub async fn for_each_page<T, F, Fut>(
    mut fetch: F,
    mut each: impl FnMut(Vec<T>),
) -> Result<(), ProviderError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, ProviderError>>,
{
    let mut page_number = 1u32;
    loop {
        let page = fetch(page_number).await?;
        let more = page.has_next();
        // Follow the server's page number when it sends one, so a server that
        // clamps an out-of-range page cannot loop us forever.
        let current = if page.meta.page_number == 0 {
            page_number
        } else {
            page.meta.page_number
        };
        each(page.data);
        if !more || current < page_number || page_number >= MAX_PAGES {
            break;
        }
        page_number = current + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn page(n: u32, total: u32, items: Vec<u32>) -> Page<u32> {
        Page {
            data: items,
            meta: PageMeta {
                page_number: n,
                page_size: 2,
                total_pages: total,
                total_results: 0,
            },
        }
    }

    #[tokio::test]
    async fn follows_total_pages() {
        let mut calls = Vec::new();
        let all = list_all(|n| {
            calls.push(n);
            async move {
                Ok(match n {
                    1 => page(1, 3, vec![1, 2]),
                    2 => page(2, 3, vec![3, 4]),
                    _ => page(3, 3, vec![5]),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(all, vec![1, 2, 3, 4, 5]);
        assert_eq!(calls, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn stops_on_missing_meta_and_empty_and_clamped_pages() {
        let all = list_all(|_| async {
            Ok(Page {
                data: vec![1u32],
                meta: PageMeta::default(),
            })
        })
        .await
        .unwrap();
        assert_eq!(all, vec![1]);
        let all = list_all(|n| async move { Ok(page(n, 5, vec![])) })
            .await
            .unwrap();
        assert!(all.is_empty());
        // A server that always answers page 1 of 5.
        let mut count = 0;
        let all = list_all(|_| {
            count += 1;
            async { Ok(page(1, 5, vec![9])) }
        })
        .await
        .unwrap();
        assert_eq!(all, vec![9, 9]);
        assert_eq!(count, 2);
    }
}
