"""Rendered manifests pass `kubernetes-validate --strict` (unknown fields are errors) for
Kubernetes 1.33 and for the newest version kubernetes-validate knows."""
import shutil
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

from conftest import NON_DEFAULT_VALUES, ROOT, chart_crds, render

LATEST = kubernetes_validate.latest_version()
VERSIONS = sorted({"1.33.0", LATEST}, key=Version)
CASES = {
    "default": {},
    "non-default": NON_DEFAULT_VALUES,
    "no-leader-election": {"leaderElection": {"enabled": False}},
    "networkpolicy-any-apiserver": {"networkPolicy": {"enabled": True}},
    # The in-cluster simulators of .github/workflows/e2e-kind.yml.
    "simulators": {"simulators": {"enabled": True}},
    "grafana-dashboard": {"metrics": {"grafanaDashboard": {"enabled": True}}},
}

# Custom resources kubernetes-validate has no schema for: checked by hand below.
SERVICE_MONITOR_KEYS = {
    "spec": {"namespaceSelector", "selector", "endpoints"},
    "endpoint": {"port", "path", "scheme", "interval", "scrapeTimeout"},
}


def test_newest_version_is_found_programmatically():
    assert Version(LATEST) >= Version("1.33.0")
    assert LATEST == max(kubernetes_validate.utils.all_versions(), key=Version)


def check(doc, version):
    if doc["apiVersion"].startswith("monitoring.coreos.com/"):
        assert doc["kind"] == "ServiceMonitor"
        assert set(doc["spec"]) <= SERVICE_MONITOR_KEYS["spec"]
        for ep in doc["spec"]["endpoints"]:
            assert set(ep) <= SERVICE_MONITOR_KEYS["endpoint"]
        return
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_rendered_templates_validate(case, version):
    docs = render(CASES[case])
    assert docs
    for doc in docs:
        try:
            check(doc, version)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} ({case}, {version}): {e.message} at {list(e.path)}")


@pytest.mark.parametrize("version", VERSIONS)
def test_crds_validate(version):
    for crd in chart_crds():
        kubernetes_validate.validate(crd, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_on_deploy_and_renders(version, tmp_path):
    """The CLI itself, as a user would run it, over deploy/ and the non-default render."""
    files = [str(p) for p in sorted((ROOT / "deploy").rglob("*.yaml")) if p.name != "kustomization.yaml"]
    custom = tmp_path / "non-default.yaml"
    custom.write_text(yaml.safe_dump_all(
        [d for d in render(NON_DEFAULT_VALUES) if not d["apiVersion"].startswith("monitoring.coreos.com/")]
    ))
    exe = shutil.which("kubernetes-validate")
    cmd = [exe] if exe else [sys.executable, "-m", "kubernetes_validate"]
    result = subprocess.run(cmd + ["--strict", "-k", version, "--quiet", *files, str(custom)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_really_catches_misspelled_fields(version):
    """Guard: a misspelled field in a rendered Deployment must fail."""
    deployment = next(d for d in render({}) if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, version, strict=True)
