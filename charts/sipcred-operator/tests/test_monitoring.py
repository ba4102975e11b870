"""The chart's alerts and Grafana dashboard (metrics.prometheusRule, metrics.grafanaDashboard).

- promtool checks the rules and runs the unit tests in tests/promtool (one per alert);
- the rendered PrometheusRule and dashboard ConfigMap carry exactly files/;
- a real Prometheus (Debian's `prometheus`, on loopback) scrapes a running operator (the
  sandbox, `--metrics-addr`) and every metric and every PromQL expression of the alerts
  and the dashboard returns data.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import CHART, one, render

RULES = CHART / "files" / "prometheus-rules.yaml"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
PROMTOOL_TESTS = CHART / "tests" / "promtool" / "alerts_test.yaml"
BIN = os.environ.get("SIPCRED_BIN", "")

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")


def alerts():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def dashboard_exprs():
    return [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]


def metric_names(expr):
    return set(re.findall(r"\bsipcred_[a-z_]+\b", expr))


@needs_promtool
def test_promtool_check_rules():
    r = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in r.stdout


@needs_promtool
def test_promtool_unit_tests_cover_every_alert():
    tested = {t["alertname"] for case in yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"] for t in case["alert_rule_test"]}
    assert tested == {a["alert"] for a in alerts()}
    r = subprocess.run(["promtool", "test", "rules", PROMTOOL_TESTS.name], cwd=PROMTOOL_TESTS.parent, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_off_by_default(default_docs):
    kinds = {d["kind"] for d in default_docs}
    assert "PrometheusRule" not in kinds
    assert not [d for d in default_docs if d["kind"] == "ConfigMap"]


def test_rendered_rule_and_dashboard_are_the_files():
    docs = render({"metrics": {"prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
                               "grafanaDashboard": {"enabled": True, "namespace": "monitoring"}}})
    rule = one(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    assert rule["metadata"]["labels"]["release"] == "prom"
    cm = one(docs, "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == "monitoring"
    assert json.loads(cm["data"]["sipcred-operator.json"]) == json.loads(DASHBOARD.read_text())


def test_values_schema_rejects_unknown_monitoring_keys():
    import helm_python  # noqa: F401  (the render below goes through the Helm engine)
    with pytest.raises(Exception, match="additional|not allowed|additionalProperties"):
        render({"metrics": {"prometheusRule": {"enabled": True, "severity": "page"}}})


# ---------- a real Prometheus scraping a running operator ----------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as r:
        return r.read().decode()


def with_bool(expr):
    """An alert's expression returning its value for every series, firing or not."""
    return re.sub(r"\s([<>])\s+(?=\d)", r" \1 bool ", expr)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    if not (BIN and os.access(BIN, os.X_OK)):
        pytest.skip("SIPCRED_BIN is not set to a built sipcred-operator binary")
    if shutil.which("prometheus") is None or shutil.which("kubectl") is None:
        pytest.skip("prometheus (Debian package) or kubectl not installed")
    tmp = tmp_path_factory.mktemp("prom")
    metrics_port, prom_port = free_port(), free_port()
    kubeconfig = tmp / "kubeconfig"
    sandbox_log = open(tmp / "sandbox.log", "w+")
    sandbox = subprocess.Popen(
        [BIN, "sandbox", "--metrics-addr", f"127.0.0.1:{metrics_port}", "--kubeconfig", str(kubeconfig), "--timeout-secs", "240"],
        stdout=sandbox_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    procs = [sandbox]
    try:
        def log():
            sandbox_log.seek(0)
            return sandbox_log.read()
        wait_for("the sandbox to be Ready", lambda: "Secrets hold credentials" in log() or sandbox.poll() is not None, 240)
        assert sandbox.poll() is None, log()
        telnyx_admin = re.search(r"Telnyx simulator\s+(http://\S+)/v2", log()).group(1) + "/_sim"

        (tmp / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "sipcred-operator",
                                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
        }))
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=open(tmp / "prometheus.log", "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        procs.append(prom)
        base = f"http://127.0.0.1:{prom_port}"

        def query(expr):
            out = json.loads(http("GET", f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
            assert out["status"] == "success", out
            return out["data"]["result"]

        def ready():
            try:
                return query('up{job="sipcred-operator"} == 1')
            except OSError:
                return None
        wait_for("Prometheus to scrape the operator", ready, 60)

        # Drive the paths a quiet sandbox never takes: a Telnyx account that is out of
        # budget (429 answers, the client's rate limiter waiting) and a Telnyx outage
        # for one operation (reconcile errors). A mere re-reconcile makes no provider
        # call (objects are checked against the shared listing), so every object is
        # asked to rotate: SipConnections push new passwords at once, in a burst the
        # budget cannot take, and TelephonyCredentials must create their successors.
        http("PUT", f"{telnyx_admin}/ratelimit", {"mode": "token_bucket", "rps": 0.5, "burst": 1})
        http("PUT", f"{telnyx_admin}/faults", {"rules": [
            {"kind": "error", "status": 503, "route": "/v2/telephony_credentials/{id}"},
            {"kind": "error", "status": 503, "route": "/v2/telephony_credentials"}]})
        for kind in ("sipconnections", "telephonycredentials"):
            subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "annotate", kind, "--all", "-n", "default",
                            "sipcred.io/rotate-requested-at=" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "--overwrite"], check=True, capture_output=True, timeout=60)
        wait_for("rate-limit waits and reconcile errors",
                 lambda: query("sipcred_provider_rate_limit_waits_total") and query('sipcred_reconcile_total{result!="success"}'), 180)
        time.sleep(3)  # two scrapes after the last new series, for rate()
        yield query
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


ALERT_IDS = [a["alert"] for a in alerts()]


@pytest.mark.parametrize("alert", ALERT_IDS)
def test_alert_expression_returns_data_from_a_live_operator(prometheus, alert):
    expr = next(a["expr"] for a in alerts() if a["alert"] == alert)
    assert prometheus(with_bool(expr)), f"{alert}: no data for {with_bool(expr)}"


@pytest.mark.parametrize("expr", dashboard_exprs())
def test_dashboard_expression_returns_data_from_a_live_operator(prometheus, expr):
    assert prometheus(expr), f"no data for {expr}"


def test_every_metric_used_is_scraped(prometheus):
    names = set()
    for e in [a["expr"] for a in alerts()] + dashboard_exprs():
        names |= metric_names(e)
    assert len(names) >= 9
    missing = [n for n in sorted(names) if not prometheus(n)]
    assert not missing, f"no data for {missing}"
