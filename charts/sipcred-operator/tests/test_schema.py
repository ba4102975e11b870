"""values.schema.json covers every value and rejects bad ones."""
import json

import helm_python
import pytest
import yaml

from conftest import CHART, NON_DEFAULT_VALUES, deep_merge, render_raw

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def resolve(node):
    while "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def validate(values):
    chart = helm_python.Chart.load(str(CHART))
    try:
        chart.validate_schema(values)
    finally:
        chart.close()


def test_schema_covers_every_default_value():
    """Each key in values.yaml (at every depth) is declared by the schema with a type."""
    def walk(values, node, path):
        node = resolve(node)
        assert "type" in node or "oneOf" in node, f"{path}: no type"
        if isinstance(values, dict) and node.get("properties") is not None:
            for key, value in values.items():
                assert key in node["properties"], f"{path}.{key} is not in values.schema.json"
                walk(value, node["properties"][key], f"{path}.{key}")
    walk(DEFAULTS, SCHEMA, "")


def test_every_schema_object_is_closed():
    """additionalProperties is false at every level, except free-form string maps."""
    def walk(node, path):
        node = resolve(node)
        if node.get("type") == "object":
            extra = node.get("additionalProperties")
            assert extra is False or extra == {"type": "string"}, f"{path}: additionalProperties {extra!r}"
            if extra is False:
                assert node.get("properties"), f"{path}: closed object without properties"
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}")
        if "items" in node:
            walk(node["items"], f"{path}[]")
        for alt in node.get("oneOf", []):
            walk(alt, path)
    walk(SCHEMA, "")


# Kubernetes resource names the schema allows but values.yaml need not set.
OPTIONAL = {".resources.requests.ephemeral-storage", ".resources.limits.ephemeral-storage"}


def test_every_schema_property_is_in_values_yaml():
    """values.yaml spells out every value the schema declares (nothing hidden)."""
    def walk(values, node, path):
        node = resolve(node)
        if node.get("type") == "object" and node.get("additionalProperties") is False:
            for key, child in node["properties"].items():
                if f"{path}.{key}" in OPTIONAL:
                    continue
                assert key in values, f"{path}.{key} is in the schema but not in values.yaml"
                walk(values[key], child, f"{path}.{key}")
    walk(DEFAULTS, SCHEMA, "")


@pytest.mark.parametrize("values", [{}, DEFAULTS, NON_DEFAULT_VALUES], ids=["empty", "defaults", "non-default"])
def test_good_values_pass(values):
    validate(values)


BAD = {
    "unknown top-level key": ({"replica": 2}, "replica"),
    "unknown nested key": ({"image": {"name": "x"}}, "name"),
    "unknown key deep": ({"metrics": {"serviceMonitor": {"enable": True}}}, "enable"),
    "replicas wrong type": ({"replicas": "3"}, "replicas"),
    "replicas zero": ({"replicas": 0}, "replicas"),
    "replicas too many": ({"replicas": 11}, "replicas"),
    "replicas fraction": ({"replicas": 1.5}, "replicas"),
    "pull policy enum": ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    "bad digest": ({"image": {"digest": "sha256:xyz"}}, "digest"),
    "log format enum": ({"operator": {"logFormat": "yaml"}}, "logFormat"),
    "log level enum": ({"operator": {"logLevel": "verbose"}}, "logLevel"),
    "concurrency zero": ({"operator": {"concurrency": 0}}, "concurrency"),
    "concurrency huge": ({"operator": {"concurrency": 1000}}, "concurrency"),
    "watchNamespaces not a list": ({"watchNamespaces": "a,b"}, "watchNamespaces"),
    "watchNamespaces bad name": ({"watchNamespaces": ["Voice_A"]}, "watchNamespaces"),
    "watchNamespaces duplicate": ({"watchNamespaces": ["a", "a"]}, "watchNamespaces"),
    "leaderElection not bool": ({"leaderElection": {"enabled": "yes"}}, "enabled"),
    "port out of range": ({"metrics": {"port": 70000}}, "port"),
    "health port zero": ({"health": {"port": 0}}, "port"),
    "resources unknown": ({"resources": {"requests": {"gpu": 1}}}, "gpu"),
    "resources bad quantity": ({"resources": {"limits": {"memory": "lots"}}}, "memory"),
    "service type enum": ({"metrics": {"service": {"type": "ExternalName"}}}, "type"),
    "interval format": ({"metrics": {"serviceMonitor": {"interval": "often"}}}, "interval"),
    "labels not strings": ({"podLabels": {"a": 1}}, "podLabels"),
    "toleration unknown key": ({"tolerations": [{"keyy": "x"}]}, "keyy"),
    "toleration effect": ({"tolerations": [{"effect": "Maybe"}]}, "effect"),
    "pdb zero": ({"podDisruptionBudget": {"maxUnavailable": 0}}, "maxUnavailable"),
    "networkPolicy cidr": ({"networkPolicy": {"apiServer": {"cidrs": ["10.0.0.1"]}}}, "cidrs"),
    "networkPolicy no ports": ({"networkPolicy": {"apiServer": {"ports": []}}}, "ports"),
    "provider hosts empty": ({"operator": {"allowedProviderHosts": []}}, "allowedProviderHosts"),
    "provider host with scheme": ({"operator": {"allowedProviderHosts": ["https://api.telnyx.com"]}}, "allowedProviderHosts"),
    "provider host with port": ({"operator": {"allowedProviderHosts": ["api.telnyx.com:443"]}}, "allowedProviderHosts"),
    "provider ports empty": ({"networkPolicy": {"providerPorts": []}}, "providerPorts"),
    "grace period negative": ({"terminationGracePeriodSeconds": -1}, "terminationGracePeriodSeconds"),
    "pull secret shape": ({"imagePullSecrets": ["regcred"]}, "imagePullSecrets"),
    "rbac not bool": ({"rbac": {"create": "true"}}, "create"),
}


@pytest.mark.parametrize("values,where", list(BAD.values()), ids=list(BAD))
def test_bad_values_rejected(values, where):
    with pytest.raises(helm_python.HelmError) as err:
        validate(deep_merge(DEFAULTS, values))
    assert where in str(err.value)
    # render enforces the schema too, so `helm install` refuses the same values.
    with pytest.raises(helm_python.HelmError):
        render_raw(values)
