"""The rendered manifests `kubectl apply` to an API server with strict field validation.

The API server is the project's in-memory one (`sipcred-operator sim kube`, which needs
SIPCRED_BIN to point at a built binary, for example `cargo build &&
SIPCRED_BIN=target/debug/sipcred-operator python3 -m pytest ...`), or, with
SIPCRED_TEST_APISERVER=real, the real control plane of testenv/ (SIPCRED_TESTENV_BIN, or
target/testenv/sipcred-testenv as built by scripts/testenv).
"""
import os
import pathlib
import re
import shutil
import subprocess
import threading
import time

import pytest
import yaml

from conftest import NON_DEFAULT_VALUES, ROOT, render

BIN = os.environ.get("SIPCRED_BIN", "")
REAL = os.environ.get("SIPCRED_TEST_APISERVER") == "real"
TESTENV_BIN = os.environ.get("SIPCRED_TESTENV_BIN") or str(ROOT / "target" / "testenv" / "sipcred-testenv")

pytestmark = [
    pytest.mark.skipif(
        not REAL and not (BIN and os.access(BIN, os.X_OK)),
        reason="SIPCRED_BIN is not set to a built sipcred-operator binary (needed for `sim kube`)",
    ),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed"),
]


def start_real(tmp_path):
    """The real control plane: its kubeconfig appears once /readyz answers."""
    assert os.access(TESTENV_BIN, os.X_OK), f"SIPCRED_TEST_APISERVER=real but {TESTENV_BIN} is not built (scripts/testenv)"
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [TESTENV_BIN, "--kubeconfig", str(kubeconfig), "--log-dir", str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("testenv: kubeconfig"):
            break
    if not kubeconfig.exists():
        proc.kill()
        pytest.fail("testenv did not start:\n" + "".join(lines))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, kubeconfig


@pytest.fixture
def sim(tmp_path):
    if REAL:
        proc, kubeconfig = start_real(tmp_path)
        try:
            yield kubeconfig, tmp_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        return
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [BIN, "sim", "kube", "--listen", "127.0.0.1:0", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    url: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"https?://127\.0\.0\.1:\d+", line)
            if m and not url:
                url.append(m.group(0))

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while not (url and kubeconfig.exists()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not (url and kubeconfig.exists()):
        proc.kill()
        pytest.fail("sim kube did not start:\n" + "".join(lines))
    try:
        yield kubeconfig, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def kubectl(kubeconfig, cache, *args, stdin=None):
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache / "kube-cache"), *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_apply_to_api_server(sim):
    kubeconfig, tmp = sim
    # The plain manifests, exactly as a user installs them; twice (the second is an update).
    kubectl(kubeconfig, tmp, "apply", "--validate=strict", "-k", str(ROOT / "deploy"))
    kubectl(kubeconfig, tmp, "apply", "--validate=strict", "-k", str(ROOT / "deploy"))
    deployment = yaml.safe_load(kubectl(kubeconfig, tmp, "-n", "sipcred-system", "get", "deployment", "sipcred-operator", "-o", "yaml"))
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    kubectl(kubeconfig, tmp, "get", "crd", "sipconnections.sipcred.io")

    # The chart with non-default values (Roles in watched namespaces), server-side.
    for ns in NON_DEFAULT_VALUES["watchNamespaces"]:
        if ns != "sipcred-system":
            # `kubectl create namespace` speaks protobuf, which the in-memory server does not.
            kubectl(kubeconfig, tmp, "apply", "-f", "-", stdin=yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
    docs = [d for d in render(NON_DEFAULT_VALUES) if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    kubectl(kubeconfig, tmp, "apply", "--server-side", "--validate=strict", "-f", "-", stdin=yaml.safe_dump_all(docs))
    kubectl(kubeconfig, tmp, "-n", "voice-a", "get", "role", "sipcred")
