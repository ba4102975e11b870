//! The README's first command, through the real binary: every example Ready, the
//! table printed with masked passwords, every Secret's login accepted by a simulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn sandbox_brings_every_example_to_ready_and_masks_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let out = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args([
            "sandbox",
            "--exit-when-ready",
            "--timeout-secs",
            "90",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sandbox failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("11/11 Ready"), "{stdout}");
    for row in [
        "SipConnection        default/myagent01",
        "TelephonyCredential  default/agent-alice",
        "TrunkCredential      default/office-pbx",
        "TelephonyCredential  default/agent-bob",
        "ClusterSipProvider   telnyx-shared",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in\n{stdout}");
    }
    assert!(
        stdout.contains("8 Secrets hold credentials the simulators accept"),
        "{stdout}"
    );
    assert!(
        stdout.contains("•••••• (32 chars)"),
        "passwords are masked: {stdout}"
    );
    assert!(
        !stdout.contains("Chang3-Me-Str0ng-Passw0rd"),
        "the example's referenced password never appears"
    );
    assert!(kubeconfig.exists(), "a kubeconfig for kubectl is written");
}

/// `timeout`, systemd and container runtimes stop a process with SIGTERM: the sandbox
/// must stop as it does on Ctrl-C, exit 0, release its ports and remove the kubeconfig
/// it wrote on its own.
#[test]
fn sandbox_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args(["sandbox", "--timeout-secs", "90"])
        // Where the sandbox puts the kubeconfig nobody asked a path for.
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    let mut api_url = None;
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) else {
            let _ = child.kill();
            panic!("sandbox never reached its running state:\n{out}");
        };
        out.push_str(&line);
        out.push('\n');
        if let Some(url) = line.strip_prefix("in-memory Kubernetes API server") {
            api_url = Some(url.trim().to_string());
        }
        if line.starts_with("running;") {
            break;
        }
    }
    let kubeconfigs = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".kubeconfig"))
            .count()
    };
    assert_eq!(kubeconfigs(), 1, "the sandbox wrote its kubeconfig:\n{out}");
    let api_addr = api_url
        .and_then(|u| u.strip_prefix("http://").map(String::from))
        .unwrap_or_else(|| panic!("no API server address in\n{out}"));
    assert!(std::net::TcpStream::connect(&api_addr).is_ok());

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sandbox still running 20 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        out.push_str(&line);
        out.push('\n');
    }
    assert!(
        status.success(),
        "exit status {status:?} after SIGTERM:\n{out}"
    );
    assert!(out.contains("stopping"), "{out}");
    assert_eq!(kubeconfigs(), 0, "its own kubeconfig is removed");
    assert!(
        std::net::TcpStream::connect(&api_addr).is_err(),
        "the API server's port is released"
    );
}

/// The sandbox left running, as a new user leaves it: once every example is Ready,
/// resyncs observe the providers and write nothing (no provider write, no Event).
#[test]
fn the_sandbox_left_running_is_quiet() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args(["sandbox", "--timeout-secs", "90", "--resync-secs", "2"])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _child = Kill(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut telnyx, mut vobiz, mut out) = (None, None, String::new());
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("sandbox never reached its running state:\n{out}"));
        out.push_str(&line);
        out.push('\n');
        let admin = |l: &str| {
            let url = l.trim();
            let host = url.trim_start_matches("http://").split('/').next().unwrap();
            format!("http://{host}/_sim")
        };
        if let Some(u) = line.strip_prefix("Telnyx simulator") {
            telnyx = Some(admin(u));
        }
        if let Some(u) = line.strip_prefix("Vobiz simulator") {
            vobiz = Some(admin(u));
        }
        if line.starts_with("running;") {
            break;
        }
    }
    let (telnyx, vobiz) = (telnyx.unwrap(), vobiz.unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let writes = |admin: &str| -> (u64, u64) {
        let v: serde_json::Value = rt
            .block_on(async {
                reqwest::get(format!("{admin}/requests"))
                    .await?
                    .json()
                    .await
            })
            .unwrap();
        let mut w = 0;
        let mut r = 0;
        for row in v["requests"].as_array().unwrap() {
            let n = row["count"].as_u64().unwrap();
            match row["method"].as_str().unwrap() {
                "GET" => r += n,
                _ => w += n,
            }
        }
        (w, r)
    };
    let events = || -> usize {
        let o = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "events", "-A", "-o", "json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["count"].as_u64().unwrap_or(1) as usize)
            .sum()
    };
    // Settle: the writes that made everything Ready have landed.
    std::thread::sleep(Duration::from_secs(5));
    let (t0, v0, e0) = (writes(&telnyx), writes(&vobiz), events());
    std::thread::sleep(Duration::from_secs(8));
    let (t1, v1, e1) = (writes(&telnyx), writes(&vobiz), events());
    assert!(
        t1.1 > t0.1 && v1.1 > v0.1,
        "the resyncs observed both providers"
    );
    assert_eq!(t1.0, t0.0, "Telnyx writes while left running");
    assert_eq!(v1.0, v0.0, "Vobiz writes while left running");
    assert_eq!(e1, e0, "Events while left running");
}
