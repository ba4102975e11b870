//! A tiny scripted HTTP server for the provider client tests: every request is
//! recorded, and answered with the next canned response (the last one repeats).
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sipcred_operator::provider::{RateLimitConfig, RequestObserver, RetryConfig};

#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_string())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn query(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<Canned>>>,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

pub struct Server {
    pub base: String,
    shared: Shared,
}

impl Server {
    pub async fn start(script: Vec<Canned>) -> Self {
        let shared = Shared {
            script: Arc::new(Mutex::new(script.into())),
            seen: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            shared,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn handle(State(shared): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap()
        .to_vec();
    let query = parts
        .uri
        .query()
        .map(|q| {
            reqwest::Url::parse(&format!("http://x/?{q}"))
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    shared.seen.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers: parts.headers.clone(),
        body,
    });
    let canned = {
        let mut s = shared.script.lock().unwrap();
        if s.len() > 1 {
            s.pop_front()
        } else {
            s.front().cloned()
        }
    }
    .unwrap_or_else(|| Canned::empty(404));
    if !canned.delay.is_zero() {
        tokio::time::sleep(canned.delay).await;
    }
    let mut resp = Response::builder().status(StatusCode::from_u16(canned.status).unwrap());
    for (k, v) in &canned.headers {
        resp = resp.header(*k, v);
    }
    resp.body(Body::from(canned.body)).unwrap()
}

/// Records observer calls.
#[derive(Default)]
pub struct Recorder {
    pub requests: Mutex<Vec<(&'static str, &'static str, Option<u16>)>>,
    pub waits: Mutex<Vec<Duration>>,
}

impl RequestObserver for Recorder {
    fn request(
        &self,
        provider: &'static str,
        operation: &'static str,
        status: Option<u16>,
        _elapsed: Duration,
    ) {
        self.requests
            .lock()
            .unwrap()
            .push((provider, operation, status));
    }
    fn rate_limit_wait(&self, _provider: &'static str, waited: Duration) {
        self.waits.lock().unwrap().push(waited);
    }
}

/// Fast retries for tests.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 4,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A generous limiter so tests are not slowed by the client itself.
pub fn open_rate() -> RateLimitConfig {
    RateLimitConfig {
        requests_per_second: 1000.0,
        burst: 1000,
        max_in_flight: 16,
        max_server_pause: Duration::from_secs(10),
    }
}

/// A TCP server that reads one full HTTP request per connection and then
/// closes the connection without answering. Returns the base URL and the
/// number of requests read so far.
pub async fn dropping_server() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let l = l.to_ascii_lowercase();
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let first = text.lines().next().unwrap_or("").to_string();
                            seen.lock().unwrap().push(first);
                            break;
                        }
                    }
                }
                // Close without a response.
                drop(sock);
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// A base URL where nothing listens (connection refused).
pub async fn refused_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
