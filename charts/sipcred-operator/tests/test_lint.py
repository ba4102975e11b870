"""helm lint (Helm v4 engine) finds nothing of severity warning or worse."""
import helm_python
import pytest

from conftest import CHART, NON_DEFAULT_VALUES

WARNING = 2


@pytest.mark.parametrize("values", [{}, NON_DEFAULT_VALUES], ids=["default", "non-default"])
@pytest.mark.parametrize("kube_version", [None, "v1.33.0"])
def test_lint_clean(values, kube_version):
    report = helm_python.lint(str(CHART), values, strict=True, namespace="sipcred-system", kube_version=kube_version)
    assert report["total_charts_linted"] == 1
    findings = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert findings == [], findings
    assert report["errors"] == []


def test_lint_reports_a_broken_value():
    """Guard that lint really checks: a schema violation is an error finding."""
    report = helm_python.lint(str(CHART), {"replicas": "three"}, namespace="sipcred-system")
    assert any(m["severity"] >= WARNING for m in report["messages"]) or report["errors"], report
