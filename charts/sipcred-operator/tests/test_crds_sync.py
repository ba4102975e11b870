"""The chart's crds/ holds exactly the generated CRDs (scripts/sync-chart-crds)."""
import yaml

from conftest import CHART, ROOT, chart_crds


def files(d):
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.yaml"))}


def test_chart_crds_match_generated_crds():
    generated = files(ROOT / "crds")
    assert len(generated) == 5
    in_chart = files(CHART / "crds")
    assert sorted(in_chart) == sorted(generated), "run scripts/sync-chart-crds"
    for name in generated:
        assert in_chart[name] == generated[name], f"charts/sipcred-operator/crds/{name} differs: run scripts/sync-chart-crds"


def test_helm_sees_all_five_crds():
    kinds = sorted(c["spec"]["names"]["kind"] for c in chart_crds())
    assert kinds == ["ClusterSipProvider", "SipConnection", "SipProvider", "TelephonyCredential", "TrunkCredential"]
    for c in chart_crds():
        assert c["spec"]["group"] == "sipcred.io"
        assert [v["name"] for v in c["spec"]["versions"]] == ["v1alpha1"]


def test_crds_carry_no_helm_hooks_or_resource_policy_surprises():
    """Helm keeps crds/ on uninstall by itself; nothing marks them for deletion."""
    for c in chart_crds():
        annotations = c["metadata"].get("annotations") or {}
        assert not any(k.startswith("helm.sh/hook") for k in annotations)
