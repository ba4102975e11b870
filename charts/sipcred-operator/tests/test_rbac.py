"""Least privilege: the rendered RBAC grants exactly what the operator needs.

The expected permissions below are written out independently of the chart's helper
templates (templates/_helpers.tpl, sipcred-operator.rules.*), which every Role and
ClusterRole includes.
"""
import json

import pytest

from conftest import NAMESPACE, NON_DEFAULT_VALUES, objects, render

NAMESPACED_KINDS = ["sipconnections", "telephonycredentials", "trunkcredentials", "sipproviders"]
CLUSTER_KINDS = ["clustersipproviders"]


def perms(group, resources, verbs, names=("",)):
    return {(group, r, v, n) for r in resources for v in verbs for n in names}


# Each verb is used by the operator (tests/e2e_rbac.rs proves it against the in-memory
# API server with RBAC on): a managed object is read with a GET when the watch cache
# shows neither the version nor the status this process last wrote, a SipConnection
# also by its TelephonyCredentials; they are patched for finalizers and annotations;
# status is only patched; Secrets are server-side applied (patch, and create when the
# apply creates them, as the real API server authorizes it); Events go through
# events.k8s.io.
NAMESPACED = (
    perms("sipcred.io", ["sipconnections", "telephonycredentials", "trunkcredentials"], ["get", "list", "watch", "patch"])
    | perms("sipcred.io", ["sipproviders"], ["get", "list", "watch"])
    | perms("sipcred.io", [k + "/status" for k in NAMESPACED_KINDS], ["patch"])
    | perms("", ["secrets"], ["get", "list", "watch", "create", "patch"])
    | perms("events.k8s.io", ["events"], ["create", "patch"])
)
# Namespaces: their labels decide which namespaces may use a ClusterSipProvider
# (spec.conditions); read with GET, followed with a metadata-only watch.
CLUSTER = (
    perms("sipcred.io", CLUSTER_KINDS, ["get", "list", "watch"])
    | perms("sipcred.io", [k + "/status" for k in CLUSTER_KINDS], ["patch"])
    | perms("", ["namespaces"], ["get", "list", "watch"])
)
PROVIDER_SECRETS = perms("", ["secrets"], ["get"])
# Events about ClusterSipProviders live in namespace "default" (API server rule for
# events about cluster-scoped objects).
LEASE = perms("coordination.k8s.io", ["leases"], ["create"]) | perms(
    "coordination.k8s.io", ["leases"], ["get", "patch"], names=("sipcred-operator",)
)


def granted(docs):
    """{(kind, namespace or None, name): set of (group, resource, verb, resourceName)}."""
    out = {}
    for role in objects(docs, "Role") + objects(docs, "ClusterRole"):
        key = (role["kind"], role["metadata"].get("namespace"), role["metadata"]["name"])
        s = set()
        for rule in role["rules"]:
            assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
            for g in rule["apiGroups"]:
                s |= perms(g, rule["resources"], rule["verbs"], rule.get("resourceNames") or ("",))
        out[key] = s
    return out


def bindings(docs, sa_name):
    """{(roleRef kind, binding namespace, roleRef name)} bound to the operator's ServiceAccount."""
    out = set()
    for b in objects(docs, "RoleBinding") + objects(docs, "ClusterRoleBinding"):
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": sa_name, "namespace": NAMESPACE}]
        assert b["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
        out.add((b["roleRef"]["kind"], b["metadata"].get("namespace"), b["roleRef"]["name"]))
    return out


@pytest.mark.parametrize("values", [{}, NON_DEFAULT_VALUES, {"leaderElection": {"enabled": False}}],
                         ids=["default", "non-default", "no-leader-election"])
def test_no_wildcards(values):
    for d in render(values):
        if "Role" in d["kind"]:
            assert "*" not in json.dumps(d), d
            for rule in d.get("rules", []):
                assert "nonResourceURLs" not in rule


def test_all_namespaces_uses_one_cluster_role():
    docs = render({})
    assert granted(docs) == {
        ("ClusterRole", None, "sipcred-operator"): NAMESPACED | CLUSTER,
        ("Role", NAMESPACE, "sipcred-operator-leader-election"): LEASE,
    }
    assert bindings(docs, "sipcred-operator") == {
        ("ClusterRole", None, "sipcred-operator"),
        ("Role", NAMESPACE, "sipcred-operator-leader-election"),
    }


def test_watched_namespaces_use_roles():
    docs = render(NON_DEFAULT_VALUES)
    expected = {("Role", ns, "sipcred"): NAMESPACED for ns in NON_DEFAULT_VALUES["watchNamespaces"]}
    expected |= {
        ("ClusterRole", None, "sipcred"): CLUSTER,
        ("Role", NAMESPACE, "sipcred-provider-secrets"): PROVIDER_SECRETS,
        ("Role", NAMESPACE, "sipcred-leader-election"): LEASE,
    }
    assert granted(docs) == expected
    assert bindings(docs, "sipcred-sa") == set(expected)
    for rb in objects(docs, "RoleBinding"):
        assert rb["roleRef"]["kind"] == "Role"


def test_watching_default_needs_no_extra_events_role():
    docs = render({"watchNamespaces": ["default"], "leaderElection": {"enabled": False}})
    assert granted(docs) == {
        ("Role", "default", "sipcred-operator"): NAMESPACED,
        ("ClusterRole", None, "sipcred-operator"): CLUSTER,
        ("Role", NAMESPACE, "sipcred-operator-provider-secrets"): PROVIDER_SECRETS,
    }


def test_leases_only_with_leader_election():
    docs = render({"leaderElection": {"enabled": False}})
    assert granted(docs) == {("ClusterRole", None, "sipcred-operator"): NAMESPACED | CLUSTER}


def test_union_is_exactly_what_the_operator_needs():
    """Over every mode, no verb or resource beyond the operator's documented needs."""
    allowed = NAMESPACED | CLUSTER | LEASE
    for values in ({}, NON_DEFAULT_VALUES):
        for perm_set in granted(render(values)).values():
            assert perm_set <= allowed, perm_set - allowed
    assert set().union(*granted(render({})).values()) == allowed
