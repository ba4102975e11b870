//! The binary's logs as a log collector or `kubectl logs` sees them: stderr is a pipe,
//! so no line may carry ANSI colour codes, in text or in JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `sipcred-operator run` with stderr piped until it logs that the controllers
/// start, and returns everything it wrote to stderr until then.
fn logs_until_start(kubeconfig: &std::path::Path, format: &str) -> String {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args([
            "run",
            "--metrics-addr",
            &addr,
            "--health-addr",
            &addr,
            "--log-level",
            "info",
            "--log-format",
            format,
        ])
        .env("KUBECONFIG", kubeconfig)
        // Colour must be off because stderr is not a terminal, not because of NO_COLOR.
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logs = String::new();
    let started = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                logs.push_str(&line);
                logs.push('\n');
                if line.contains("starting controllers") {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "no start-up line within 60 s; stderr:\n{logs}");
    logs
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_to_a_pipe_carry_no_colour_codes() {
    let sim = sipcred_kube_sim::start(Default::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();

    let text = tokio::task::spawn_blocking({
        let k = kubeconfig.clone();
        move || logs_until_start(&k, "text")
    })
    .await
    .unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "text logs to a pipe contain ANSI escapes:\n{text:?}"
    );
    assert!(text.contains("INFO"), "a plain level word: {text}");

    let json = tokio::task::spawn_blocking(move || logs_until_start(&kubeconfig, "json"))
        .await
        .unwrap();
    assert!(
        !json.contains('\u{1b}'),
        "JSON logs contain ANSI escapes:\n{json:?}"
    );
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    sim.shutdown().await;
}
