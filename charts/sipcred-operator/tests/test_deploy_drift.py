"""deploy/ (plain manifests, a kustomize base) is a fresh render of the chart."""
import shutil
import subprocess

import pytest
import yaml

from conftest import NAMESPACE, ROOT, load_script

gen_deploy = load_script("gen-deploy")


def test_deploy_matches_a_fresh_render():
    problems = gen_deploy.diff(gen_deploy.render_deploy())
    assert problems == [], "deploy/ drifted from the chart; run scripts/gen-deploy:\n" + "\n".join(problems)


def test_deploy_has_namespace_and_crds():
    fresh = gen_deploy.render_deploy()
    ns = yaml.safe_load(fresh["namespace.yaml"])
    assert ns["kind"] == "Namespace" and ns["metadata"]["name"] == NAMESPACE
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert len([f for f in fresh if f.startswith("crds/")]) == 5
    kustomization = yaml.safe_load(fresh["kustomization.yaml"])
    assert sorted(kustomization["resources"]) == sorted(f for f in fresh if f != "kustomization.yaml")


def test_deploy_has_no_helm_labels():
    for name, text in gen_deploy.render_deploy().items():
        assert "helm.sh/chart" not in text, name
        assert "managed-by: Helm" not in text, name


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_kustomize_builds_the_base():
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy")], check=True, capture_output=True, text=True).stdout
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(out) if d)
    assert kinds == sorted(
        ["Namespace"] + ["CustomResourceDefinition"] * 5
        + ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment"]
    )
