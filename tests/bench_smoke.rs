//! `sipcred-operator bench` at a small N: it starts its processes, converges, deletes,
//! prints its table and the machine-readable summary, and leaves nothing at the
//! provider. Speed is printed by the benchmark, never asserted here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn bench_prints_its_table_and_summary_and_leaves_nothing_behind() {
    let out = Command::new(env!("CARGO_BIN_EXE_sipcred-operator"))
        .args([
            "bench",
            "--objects",
            "10",
            "--rps",
            "100",
            "--latency-ms",
            "5",
            "--resync-secs",
            "3",
            // Generous: the machine is shared; this is not a timing test.
            "--timeout-secs",
            "300",
        ])
        .output()
        .expect("run sipcred-operator bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    for figure in [
        "time to all Ready",
        "provider calls per object",
        "Kubernetes writes per object",
        "time to delete all",
        "| operator |",
        "| kube-sim |",
        "| telnyx-sim |",
        "| vobiz-sim |",
    ] {
        assert!(stdout.contains(figure), "no {figure:?} in:\n{stdout}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("bench: objects=10 rps=100 ratio="),
        "last line: {last}"
    );
    let field = |k: &str| -> String {
        last.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in {last}"))
            .to_string()
    };
    for k in [
        "ratio",
        "provider_calls_per_object",
        "kube_writes_per_object",
        "kube_conflicts_per_object",
        "steady_writes",
        "steady_reads_per_resync",
        "operator_rss_mib",
    ] {
        assert!(
            field(k).parse::<f64>().is_ok(),
            "{k} is not a number: {last}"
        );
    }
    // Every object created exactly once at the provider, and removed again.
    assert_eq!(field("creates_per_object"), "1.000", "{last}");
    assert_eq!(field("left"), "0", "{last}");
}
