"""Renders with default and non-default values and checks what comes out."""
import pytest

from conftest import NAMESPACE, NON_DEFAULT_VALUES, objects, one, render, render_raw


def container(docs):
    deployment = one(docs, "Deployment")
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


def test_default_objects(default_docs):
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in default_docs)
    assert kinds == [
        ("ClusterRole", "sipcred-operator"),
        ("ClusterRoleBinding", "sipcred-operator"),
        ("Deployment", "sipcred-operator"),
        ("Role", "sipcred-operator-leader-election"),
        ("RoleBinding", "sipcred-operator-leader-election"),
        ("Service", "sipcred-operator-metrics"),
        ("ServiceAccount", "sipcred-operator"),
    ]
    for d in default_docs:
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert d["metadata"]["namespace"] == NAMESPACE


def test_default_deployment(default_docs):
    deployment = one(default_docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "RollingUpdate"
    c = container(default_docs)
    assert c["image"] == "ghcr.io/sipcred/sipcred-operator:0.1.0"
    assert c["command"] == ["/sipcred-operator"]
    assert c["args"] == [
        "run",
        "--concurrency=4",
        "--allowed-provider-hosts=api.telnyx.com",
        "--allowed-provider-hosts=api.vobiz.ai",
        "--metrics-addr=0.0.0.0:8080",
        "--health-addr=0.0.0.0:8081",
        "--leader-elect",
        "--log-format=json",
        "--log-level=info",
    ]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]}
    assert env == {"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "sipcred-operator"
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


def test_standard_labels_everywhere(default_docs, custom_docs):
    for d in default_docs + custom_docs:
        labels = d["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert key in labels, (d["kind"], d["metadata"]["name"], key)


def test_metrics_service_targets_operator_pods(default_docs):
    svc = one(default_docs, "Service")
    deployment = one(default_docs, "Deployment")
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]


def test_non_default_deployment(custom_docs):
    deployment = one(custom_docs, "Deployment")
    assert deployment["metadata"]["name"] == "sipcred"
    assert deployment["spec"]["replicas"] == 3
    c = container(custom_docs)
    assert c["image"] == "registry.example.com:5000/mirror/sipcred-operator:0.1.0-rc.1"
    assert c["imagePullPolicy"] == "Always"
    assert c["args"] == [
        "run",
        "--namespace=voice-a",
        "--namespace=voice-b",
        "--namespace=sipcred-system",
        "--selector=sipcred.io/tenant in (a,b)",
        "--concurrency=8",
        "--allowed-provider-hosts=telnyx-proxy.example.com",
        "--allowed-provider-hosts=10.1.2.3",
        "--metrics-addr=0.0.0.0:9090",
        "--health-addr=0.0.0.0:9091",
        "--leader-elect",
        "--log-format=text",
        "--log-level=debug",
    ]
    assert c["resources"] == NON_DEFAULT_VALUES["resources"]
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "voice"
    assert pod["metadata"]["annotations"]["example.com/scrape"] == "true"
    assert pod["spec"]["serviceAccountName"] == "sipcred-sa"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"] == NON_DEFAULT_VALUES["tolerations"]
    assert pod["spec"]["priorityClassName"] == "system-cluster-critical"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 45
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": 9090, "health": 9091}
    assert one(custom_docs, "ServiceAccount")["metadata"]["annotations"] == {"example.com/owner": "voice"}


def test_replicas_turn_on_leader_election_and_pdb(custom_docs):
    assert "--leader-elect" in container(custom_docs)["args"]
    pdb = one(custom_docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == one(custom_docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert any(r["metadata"]["name"] == "sipcred-leader-election" for r in objects(custom_docs, "Role"))


def test_single_replica_without_leader_election_uses_recreate():
    docs = render({"leaderElection": {"enabled": False}})
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "--leader-elect" not in container(docs)["args"]
    assert not any("leader" in d["metadata"]["name"] for d in docs)
    assert objects(docs, "PodDisruptionBudget") == []


def test_no_pdb_for_one_replica(default_docs):
    assert objects(default_docs, "PodDisruptionBudget") == []


def test_service_monitor(custom_docs):
    sm = one(custom_docs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert sm["spec"]["selector"]["matchLabels"].items() <= one(custom_docs, "Service")["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert sm["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "scheme": "http", "interval": "15s", "scrapeTimeout": "5s"}
    ]


def test_service_monitor_needs_the_service():
    with pytest.raises(Exception, match="metrics.service.enabled"):
        render_raw({"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}})


def test_network_policy(custom_docs):
    np = one(custom_docs, "NetworkPolicy")
    spec = np["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"] == one(custom_docs, "Deployment")["spec"]["selector"]["matchLabels"]
    ingress_ports = sorted(p["port"] for rule in spec["ingress"] for p in rule["ports"])
    assert ingress_ports == ["health", "metrics"]
    metrics_rule = next(r for r in spec["ingress"] if r["ports"][0]["port"] == "metrics")
    assert metrics_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    egress = [(p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"]]
    assert egress == [(53, "UDP"), (53, "TCP"), (443, "TCP"), (443, "TCP"), (6443, "TCP")]
    api_rule = spec["egress"][2]
    assert api_rule["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}, {"ipBlock": {"cidr": "fd00::1/128"}}]
    # One allowed provider host is a host name: a NetworkPolicy cannot follow it, so
    # the provider ports stay open to every destination.
    assert "to" not in spec["egress"][1]


def test_network_policy_follows_allowed_provider_hosts_given_as_addresses():
    docs = render({
        "operator": {"allowedProviderHosts": ["203.0.113.7", "2001:db8::5"]},
        "networkPolicy": {"enabled": True, "providerPorts": [443, 8443]},
    })
    c = container(docs)
    assert [a for a in c["args"] if a.startswith("--allowed-provider-hosts")] == [
        "--allowed-provider-hosts=203.0.113.7",
        "--allowed-provider-hosts=2001:db8::5",
    ]
    provider_rule = one(docs, "NetworkPolicy")["spec"]["egress"][1]
    assert provider_rule == {
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}, {"ipBlock": {"cidr": "2001:db8::5/128"}}],
    }


def test_optional_objects_off_by_default(default_docs):
    for kind in ("ServiceMonitor", "NetworkPolicy", "PodDisruptionBudget", "Namespace"):
        assert objects(default_docs, kind) == []


def test_no_secret_templates(default_docs, custom_docs):
    """The chart renders no Secret (and so copies no tracking labels onto one)."""
    assert objects(default_docs + custom_docs, "Secret") == []


def test_serviceaccount_can_be_external():
    docs = render({"serviceAccount": {"create": False, "name": "existing"}})
    assert objects(docs, "ServiceAccount") == []
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing"
    for b in objects(docs, "ClusterRoleBinding") + objects(docs, "RoleBinding"):
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "existing", "namespace": NAMESPACE}]


def test_rbac_can_be_left_out():
    docs = render({"rbac": {"create": False}})
    assert [d["kind"] for d in docs if "Role" in d["kind"]] == []


def test_image_digest_wins_over_tag():
    digest = "sha256:" + "a" * 64
    docs = render({"image": {"tag": "9.9.9", "digest": digest}})
    assert container(docs)["image"] == f"ghcr.io/sipcred/sipcred-operator@{digest}"


def test_other_release_namespace():
    docs = render({}, namespace="ops", name="sip")
    for d in docs:
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert d["metadata"]["namespace"] == "ops"
    assert one(docs, "Deployment")["metadata"]["name"] == "sip-sipcred-operator"


def test_notes_render():
    notes = render_raw(NON_DEFAULT_VALUES)["sipcred-operator/templates/NOTES.txt"]
    assert "voice-a, voice-b, sipcred-system" in notes
    assert "Leader election is on" in notes
