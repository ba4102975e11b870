"""Runs every Argo CD health script on its fixtures (health_test.yaml, Argo CD's own
format) in a Lua 5.1 runtime (lupa), the Lua of Argo CD's gopher-lua, with no io, os or
require, as in Argo CD."""
from __future__ import annotations

import datetime
import importlib.machinery
import importlib.util
import pathlib

import pytest
import yaml
from lupa import lua51

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEALTH = ROOT / "argocd" / "health"
GROUP_DIR = HEALTH / "sipcred.io"
KINDS = ["SipConnection", "TelephonyCredential", "TrunkCredential", "SipProvider", "ClusterSipProvider"]
MANAGED = {"SipConnection", "TelephonyCredential", "TrunkCredential"}
STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def load_gen():
    path = ROOT / "scripts" / "gen-argocd"
    loader = importlib.machinery.SourceFileLoader("gen_argocd", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def to_lua(lua, value):
    if isinstance(value, dict):
        return lua.table_from({k: to_lua(lua, v) for k, v in value.items() if v is not None})
    if isinstance(value, list):
        return lua.table_from([to_lua(lua, v) for v in value])
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def run_health(script: str, obj: dict) -> dict:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
    g = lua.globals()
    for name in ("io", "os", "require", "dofile", "loadfile", "package", "debug", "module"):
        g[name] = None
    g.obj = to_lua(lua, obj)
    result = lua.execute(script)
    assert result is not None, "the script returned nothing"
    return {k: result[k] for k in ("status", "message") if result[k] is not None}


def cases():
    for kind in KINDS:
        spec = yaml.safe_load((GROUP_DIR / kind / "health_test.yaml").read_text())
        for test in spec["tests"]:
            yield pytest.param(kind, test, id=f"{kind}-{pathlib.Path(test['inputPath']).stem}")


def test_every_kind_has_a_script_and_tests():
    assert sorted(p.name for p in GROUP_DIR.iterdir() if p.is_dir()) == sorted(KINDS)
    for kind in KINDS:
        d = GROUP_DIR / kind
        assert (d / "health.lua").is_file()
        spec = yaml.safe_load((d / "health_test.yaml").read_text())
        listed = {t["inputPath"] for t in spec["tests"]}
        on_disk = {f"testdata/{p.name}" for p in (d / "testdata").glob("*.yaml")}
        assert listed == on_disk, f"{kind}: fixtures not listed or missing: {listed ^ on_disk}"
        # Only the managed kinds can be paused.
        paused = {"Suspended"} if kind in MANAGED else set()
        assert {t["healthStatus"]["status"] for t in spec["tests"]} == {"Healthy", "Progressing", "Degraded"} | paused


@pytest.mark.parametrize("kind,test", list(cases()))
def test_health_script_on_fixture(kind, test):
    d = GROUP_DIR / kind
    obj = yaml.safe_load((d / test["inputPath"]).read_text())
    assert obj["kind"] == kind and obj["apiVersion"] == "sipcred.io/v1alpha1"
    got = run_health((d / "health.lua").read_text(), obj)
    assert got["status"] in STATUSES
    assert got == test["healthStatus"]


def status_with(ready=None, synced=None, generation=5, observed=5):
    conditions = []
    if ready:
        conditions.append({"type": "Ready", "status": ready[0], "reason": ready[1], "message": "m"})
    if synced:
        conditions.append({"type": "Synced", "status": synced[0], "reason": synced[1], "message": "s"})
    return {
        "apiVersion": "sipcred.io/v1alpha1", "kind": "SipConnection",
        "metadata": {"name": "x", "namespace": "default", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


@pytest.mark.parametrize("ready,synced,generation,observed,expected", [
    (("True", "Available"), ("True", "ReconcileSuccess"), 5, 5, "Healthy"),
    (("True", "Available"), ("False", "ProviderUnavailable"), 5, 5, "Healthy"),
    (("True", "Available"), None, 5, 4, "Progressing"),
    (("True", "Available"), ("False", "ProviderUnavailable"), 5, 4, "Progressing"),  # change not at the provider yet
    (("True", "Available"), None, 5, 6, "Healthy"),  # observed ahead: never flap
    (("False", "InvalidSpec"), None, 5, 5, "Degraded"),
    (("False", "AuthenticationFailed"), ("True", "ReconcileSuccess"), 5, 5, "Degraded"),
    (("False", "SecretConflict"), None, 5, 5, "Degraded"),
    (("False", "InvalidSpec"), None, 6, 5, "Progressing"),  # the fix is not observed yet
    (("False", "Creating"), None, 5, 5, "Progressing"),
    (("False", "Creating"), ("False", "ProviderUnavailable"), 5, 5, "Degraded"),
    (("Unknown", "Reconciling"), ("False", "ProviderUnavailable"), 5, 5, "Progressing"),
    (None, ("False", "ProviderUnavailable"), 5, 5, "Progressing"),
])
def test_decision_table(ready, synced, generation, observed, expected):
    script = (HEALTH / "health.lua").read_text()
    got = run_health(script, status_with(ready, synced, generation, observed))
    assert got["status"] == expected, got
    assert got["message"]


def test_condition_without_reason_or_message():
    obj = status_with()
    obj["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert run_health((HEALTH / "health.lua").read_text(), obj) == {"status": "Healthy", "message": "Ready"}


def test_copies_and_docs_are_generated():
    gen = load_gen()
    assert gen.stale(gen.generate()) == [], "run scripts/gen-argocd"


def test_docs_snippet_is_valid_argocd_cm():
    doc = (ROOT / "docs" / "argocd.md").read_text()
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    cm = yaml.safe_load(block)
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "argocd-cm"
    assert sorted(cm["data"]) == sorted(f"resource.customizations.health.sipcred.io_{k}" for k in KINDS)
    for kind in KINDS:
        assert cm["data"][f"resource.customizations.health.sipcred.io_{kind}"] == (GROUP_DIR / kind / "health.lua").read_text()
