"""Shared helpers for the chart tests: render the chart with the real Helm engine
(helm-python-sdk, Helm v4 as a library) and return the manifests as dicts."""
from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import pathlib

import helm_python
import pytest
import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent
ROOT = CHART.parent.parent
RELEASE = "sipcred-operator"
NAMESPACE = "sipcred-system"

# Every non-default knob at once (replicas 3, watched namespaces, ServiceMonitor,
# NetworkPolicy, custom resources and image, ...).
NON_DEFAULT_VALUES = {
    "image": {
        "repository": "registry.example.com:5000/mirror/sipcred-operator",
        "tag": "0.1.0-rc.1",
        "pullPolicy": "Always",
    },
    "imagePullSecrets": [{"name": "regcred"}],
    "fullnameOverride": "sipcred",
    "replicas": 3,
    "leaderElection": {"enabled": False},  # forced on by replicas > 1
    "operator": {
        "concurrency": 8,
        "logFormat": "text",
        "logLevel": "debug",
        "selector": "sipcred.io/tenant in (a,b)",
        "allowedProviderHosts": ["telnyx-proxy.example.com", "10.1.2.3"],
    },
    "watchNamespaces": ["voice-a", "voice-b", "sipcred-system"],
    "serviceAccount": {"create": True, "name": "sipcred-sa", "annotations": {"example.com/owner": "voice"}},
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": 1, "memory": "512Mi", "ephemeral-storage": "64Mi"},
    },
    "podAnnotations": {"example.com/scrape": "true"},
    "podLabels": {"team": "voice"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
    "priorityClassName": "system-cluster-critical",
    "terminationGracePeriodSeconds": 45,
    "health": {"port": 9091},
    "metrics": {
        "port": 9090,
        "service": {"enabled": True, "type": "ClusterIP", "annotations": {"example.com/a": "b"}},
        "serviceMonitor": {"enabled": True, "interval": "15s", "scrapeTimeout": "5s", "labels": {"release": "prom"}},
    },
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
    "networkPolicy": {
        "enabled": True,
        "metricsNamespaceLabels": {"kubernetes.io/metadata.name": "monitoring"},
        "apiServer": {"ports": [443, 6443], "cidrs": ["10.0.0.1/32", "fd00::1/128"]},
    },
}


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def render_raw(values: dict | None = None, *, namespace: str = NAMESPACE, name: str = RELEASE) -> dict[str, str]:
    chart = helm_python.Chart.load(str(CHART))
    try:
        return chart.render(values or {}, name=name, namespace=namespace, is_install=True)
    finally:
        chart.close()


def render(values: dict | None = None, **kw) -> list[dict]:
    """The rendered objects (templates only; CRDs are in chart_crds())."""
    docs = []
    for path, text in sorted(render_raw(values, **kw).items()):
        if not path.endswith(".yaml"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def chart_crds() -> list[dict]:
    chart = helm_python.Chart.load(str(CHART))
    try:
        return [yaml.safe_load(c["data"]) for c in chart.crds]
    finally:
        chart.close()


def objects(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    found = objects(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def load_script(name: str):
    """Imports an extension-less Python script from scripts/ as a module."""
    path = ROOT / "scripts" / name
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def default_docs() -> list[dict]:
    return render({})


@pytest.fixture(scope="session")
def custom_docs() -> list[dict]:
    return render(NON_DEFAULT_VALUES)
