//! Load generator: starts a simulator on a single-threaded runtime (one core) and
//! drives it from another thread with keep-alive HTTP/1.1 clients.
//!
//! cargo run --release -p sipcred-provider-sim --example loadgen -- [telnyx|vobiz] [seconds] [concurrency] [get|list|create]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sipcred_provider_sim::{TelnyxConfig, VobizConfig, start_telnyx, start_vobiz};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let provider = args.get(1).cloned().unwrap_or_else(|| "telnyx".into());
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    let mode = args.get(4).cloned().unwrap_or_else(|| "get".into());

    // The simulator: one thread, current-thread runtime.
    let (tx, rx) = std::sync::mpsc::channel();
    let p2 = provider.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let sim = if p2 == "vobiz" {
                start_vobiz(VobizConfig::new("MA_LOAD", "tok"))
                    .await
                    .unwrap()
            } else {
                start_telnyx(TelnyxConfig::new("KEYLOAD")).await.unwrap()
            };
            tx.send(sim.base_url()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let base = rx.recv().unwrap();

    // The clients: another thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(conc)
            .build()
            .unwrap();
        let auth = |rb: reqwest::RequestBuilder| {
            if provider == "vobiz" {
                rb.header("X-Auth-ID", "MA_LOAD").header("X-Auth-Token", "tok")
            } else {
                rb.bearer_auth("KEYLOAD")
            }
        };
        // Seed one object to read.
        let (get_url, list_url, create_url) = if provider == "vobiz" {
            let acc = format!("{base}/Account/MA_LOAD");
            let r: serde_json::Value = auth(client.post(format!("{acc}/credentials")))
                .json(&json!({"username": "loaduser", "password": "password1"}))
                .send().await.unwrap().json().await.unwrap();
            (
                format!("{acc}/credentials/{}", r["id"].as_str().unwrap()),
                format!("{acc}/trunks/credentials"),
                format!("{acc}/credentials"),
            )
        } else {
            let r: serde_json::Value = auth(client.post(format!("{base}/credential_connections")))
                .json(&json!({"connection_name": "load", "user_name": "loaduser", "password": "password1"}))
                .send().await.unwrap().json().await.unwrap();
            (
                format!("{base}/credential_connections/{}", r["data"]["id"].as_str().unwrap()),
                format!("{base}/credential_connections?page[size]=10"),
                format!("{base}/credential_connections"),
            )
        };
        let done = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = vec![];
        for _ in 0..conc {
            let (client, done, errors, stop, counter) =
                (client.clone(), done.clone(), errors.clone(), stop.clone(), counter.clone());
            let (get_url, list_url, create_url, mode, provider) =
                (get_url.clone(), list_url.clone(), create_url.clone(), mode.clone(), provider.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let mut rb = match mode.as_str() {
                        "list" => client.get(&list_url),
                        "create" => {
                            let n = counter.fetch_add(1, Ordering::Relaxed);
                            let body = if provider == "vobiz" {
                                json!({"username": format!("u{n}"), "password": "password1"})
                            } else {
                                json!({"connection_name": "c", "user_name": format!("user{n}"), "password": "password1"})
                            };
                            client.post(&create_url).json(&body)
                        }
                        _ => client.get(&get_url),
                    };
                    rb = if provider == "vobiz" {
                        rb.header("X-Auth-ID", "MA_LOAD").header("X-Auth-Token", "tok")
                    } else {
                        rb.bearer_auth("KEYLOAD")
                    };
                    match rb.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let el = start.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed);
        println!(
            "{provider} {mode}: {n} ok, {} errors in {el:.1}s = {:.0} req/s (concurrency {conc})",
            errors.load(Ordering::Relaxed),
            n as f64 / el
        );
    });
}
