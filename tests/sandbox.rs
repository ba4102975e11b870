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
    assert!(stdout.contains("9/9 Ready"), "{stdout}");
    for row in [
        "SipConnection        default/myagent01",
        "TelephonyCredential  default/agent-alice",
        "TrunkCredential      default/office-pbx",
        "ClusterSipProvider   telnyx-shared",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in\n{stdout}");
    }
    assert!(
        stdout.contains("6 Secrets hold credentials the simulators accept"),
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
