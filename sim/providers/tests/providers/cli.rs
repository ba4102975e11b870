//! The `sim` example runs `run_telnyx`/`run_vobiz` exactly as the operator binary does.
//! `cargo test` builds examples next to the test binaries, so find it from there.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn example_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?; // target/<profile>/deps -> target/<profile>
    let p = dir.join("examples").join("sim");
    p.exists().then_some(p)
}

fn run(args: &[&str], probe: impl Fn(&str)) {
    let Some(bin) = example_bin() else {
        eprintln!("examples/sim not built; skipping");
        return;
    };
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        line.starts_with(&format!(
            "{} simulator listening on http://127.0.0.1:",
            args[0]
        )),
        "{line}"
    );
    probe(&url);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "exit status {st:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get(url: &str, headers: &[(&str, &str)]) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rb = crate::common::client().get(url);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        rb.send().await.unwrap().status().as_u16()
    })
}

#[test]
fn sim_telnyx_prints_url_and_stops_on_sigterm() {
    run(
        &[
            "telnyx",
            "--api-key",
            "KEYcli",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit-rps",
            "100",
        ],
        |url| {
            assert!(url.ends_with("/v2"), "{url}");
            let list = format!("{url}/credential_connections");
            assert_eq!(get(&list, &[("authorization", "Bearer KEYcli")]), 200);
            assert_eq!(get(&list, &[("authorization", "Bearer nope")]), 401);
        },
    );
}

#[test]
fn sim_telnyx_activation_delay_flag() {
    run(
        &[
            "telnyx",
            "--api-key",
            "KEYcli",
            "--activation-delay",
            "250ms",
        ],
        |url| {
            let admin = format!("{}/_sim/activation", url.trim_end_matches("/v2"));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let v: serde_json::Value = rt.block_on(async {
                let r = crate::common::client().get(&admin).send().await.unwrap();
                r.json().await.unwrap()
            });
            assert_eq!(v, serde_json::json!({"delay_ms": 250}));
        },
    );
}

#[test]
fn sim_vobiz_prints_url_and_stops_on_sigterm() {
    run(
        &[
            "vobiz",
            "--auth-id",
            "MA_CLI",
            "--auth-token",
            "t",
            "--error-rate",
            "1",
            "--error-status",
            "502",
        ],
        |url| {
            assert!(url.ends_with("/api/v1"), "{url}");
            let list = format!("{url}/Account/MA_CLI/trunks/credentials");
            assert_eq!(
                get(&list, &[("X-Auth-ID", "MA_CLI"), ("X-Auth-Token", "t")]),
                502
            );
        },
    );
}

#[test]
fn sim_fault_flags_take_a_seed() {
    run(
        &[
            "telnyx",
            "--api-key",
            "KEYcli",
            "--error-rate",
            "0.5",
            "--fault-seed",
            "77",
        ],
        |url| {
            let admin = format!("{}/_sim/faults", url.trim_end_matches("/v2"));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let faults: serde_json::Value = rt.block_on(async {
                let r = crate::common::client().get(&admin).send().await.unwrap();
                r.json().await.unwrap()
            });
            assert_eq!(faults["seed"], 77, "{faults}");
            assert_eq!(faults["rules"][0]["probability"], 0.5, "{faults}");
        },
    );
}
