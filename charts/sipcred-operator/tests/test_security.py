"""The Deployment meets every field of the restricted Pod Security Standard."""
import pytest

from conftest import NON_DEFAULT_VALUES, one, render

CASES = [{}, NON_DEFAULT_VALUES, {"leaderElection": {"enabled": False}}]


def pods(values):
    deployment = one(render(values), "Deployment")
    return deployment["spec"]["template"]["spec"]


@pytest.mark.parametrize("values", CASES, ids=["default", "non-default", "no-leader-election"])
def test_restricted_profile(values):
    pod = pods(values)
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] == 65532
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    # Restricted: no host namespaces, no host paths, no hostPort, no privileged, no sysctls.
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostUsers", "volumes"):
        assert key not in pod, key
    assert "sysctls" not in psc
    containers = pod["containers"] + pod.get("initContainers", [])
    assert len(containers) == 1
    for c in containers:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["runAsUser"] == 65532
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["privileged"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "procMount" not in sc and "windowsOptions" not in sc and "appArmorProfile" not in sc
        assert all("hostPort" not in p for p in c["ports"])
        assert "volumeMounts" not in c
        # Resources and probes are always set.
        assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
