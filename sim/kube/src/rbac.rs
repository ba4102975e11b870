//! Bearer-token authentication and RBAC authorization (off by default).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::store::Store;

/// An authenticated user.
#[derive(Clone, Debug)]
pub struct User {
    /// User name (`system:serviceaccount:NS:SA` for service accounts).
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// Token table.
#[derive(Debug, Default)]
pub struct Tokens(Mutex<HashMap<String, User>>);

/// The admin token written into the default kubeconfig.
pub const ADMIN_TOKEN: &str = "sipcred-sim-admin";

impl Tokens {
    /// Table holding the admin token.
    pub fn new() -> Self {
        let t = Self::default();
        t.insert(
            ADMIN_TOKEN,
            User {
                name: "sim-admin".into(),
                groups: vec!["system:masters".into(), "system:authenticated".into()],
            },
        );
        t
    }

    /// Register a token.
    pub fn insert(&self, token: &str, user: User) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.into(), user);
    }

    /// Resolve a token.
    pub fn user(&self, token: &str) -> Option<User> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    /// Mint a token for a service account.
    pub fn mint_service_account(&self, ns: &str, sa: &str) -> String {
        let token = format!("sa.{ns}.{sa}.{}", uuid::Uuid::new_v4().simple());
        self.insert(
            &token,
            User {
                name: format!("system:serviceaccount:{ns}:{sa}"),
                groups: vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                    "system:authenticated".into(),
                ],
            },
        );
        token
    }

    /// Mint a token for a plain user.
    pub fn mint_user(&self, name: &str, groups: &[&str]) -> String {
        let token = format!("user.{}", uuid::Uuid::new_v4().simple());
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        g.push("system:authenticated".into());
        self.insert(
            &token,
            User {
                name: name.into(),
                groups: g,
            },
        );
        token
    }
}

/// One request of an authenticated user, as the authorizer saw it (only with `rbac`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// User name (`system:serviceaccount:NS:SA` for service accounts).
    pub user: String,
    /// Verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...).
    pub verb: String,
    /// API group ("" for the core group).
    pub group: String,
    /// Resource plural, with `/subresource` when one was addressed.
    pub resource: String,
    /// Namespace ("" = cluster scope).
    pub namespace: String,
    /// Object name ("" for collections).
    pub name: String,
    /// Whether RBAC allowed it (false: the request got a 403).
    pub allowed: bool,
}

/// The audit log: every authorization decision, in order.
#[derive(Debug, Default)]
pub struct Audit(Mutex<Vec<AuditEntry>>);

impl Audit {
    /// Record one decision.
    pub fn record(&self, user: &User, a: &Attributes<'_>, allowed: bool) {
        let resource = match a.subresource {
            Some(s) => format!("{}/{s}", a.resource),
            None => a.resource.to_string(),
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(AuditEntry {
                user: user.name.clone(),
                verb: a.verb.into(),
                group: a.group.into(),
                resource,
                namespace: a.namespace.into(),
                name: a.name.into(),
                allowed,
            });
    }

    /// A copy of the log.
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The 401.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// What a request asks for.
pub struct Attributes<'a> {
    /// Verb.
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Resource plural.
    pub resource: &'a str,
    /// Subresource.
    pub subresource: Option<&'a str>,
    /// Namespace ("" = cluster scope).
    pub namespace: &'a str,
    /// Object name ("" for collections).
    pub name: &'a str,
}

fn strs(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn rule_allows(rule: &Value, a: &Attributes<'_>) -> bool {
    let groups = strs(rule, "apiGroups");
    let resources = strs(rule, "resources");
    let verbs = strs(rule, "verbs");
    let names = strs(rule, "resourceNames");
    let full = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_string(),
    };
    let group_ok = groups.iter().any(|g| g == "*" || g == a.group);
    let res_ok = resources.iter().any(|r| {
        r == "*"
            || *r == full
            || (a.subresource.is_some() && *r == format!("*/{}", a.subresource.unwrap_or_default()))
            || (r.ends_with("/*")
                && a.subresource.is_some()
                && r.trim_end_matches("/*") == a.resource)
    });
    let verb_ok = verbs.iter().any(|v| v == "*" || v == a.verb);
    let name_ok = names.is_empty() || (!a.name.is_empty() && names.iter().any(|n| n == a.name));
    group_ok && res_ok && verb_ok && name_ok
}

fn subject_matches(s: &Value, user: &User, binding_ns: &str) -> bool {
    let kind = s["kind"].as_str().unwrap_or_default();
    let name = s["name"].as_str().unwrap_or_default();
    match kind {
        "User" => name == user.name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = s["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn role_rules(st: &Store, role_ref: &Value, binding_ns: &str) -> Vec<Value> {
    let name = role_ref["name"].as_str().unwrap_or_default();
    let role = match role_ref["kind"].as_str() {
        Some("ClusterRole") => st.get("rbac.authorization.k8s.io/clusterroles", "", name),
        Some("Role") => st.get("rbac.authorization.k8s.io/roles", binding_ns, name),
        _ => None,
    };
    role.and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

/// Is the request allowed?
pub fn authorize(st: &Store, user: &User, a: &Attributes<'_>) -> bool {
    if user.groups.iter().any(|g| g == "system:masters") {
        return true;
    }
    // the bootstrap ClusterRole system:basic-user, bound to every authenticated user
    let basic_user = matches!(
        (a.verb, a.group, a.resource),
        (
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        ) | ("create", "authentication.k8s.io", "selfsubjectreviews")
    );
    if basic_user && user.groups.iter().any(|g| g == "system:authenticated") {
        return true;
    }
    for crb in st.list("rbac.authorization.k8s.io/clusterrolebindings", None) {
        let subjects = crb
            .get("subjects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if subjects.iter().any(|s| subject_matches(s, user, "")) {
            if role_rules(st, &crb["roleRef"], "")
                .iter()
                .any(|r| rule_allows(r, a))
            {
                return true;
            }
        }
    }
    if !a.namespace.is_empty() {
        for rb in st.list("rbac.authorization.k8s.io/rolebindings", Some(a.namespace)) {
            let subjects = rb
                .get("subjects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if subjects
                .iter()
                .any(|s| subject_matches(s, user, a.namespace))
            {
                if role_rules(st, &rb["roleRef"], a.namespace)
                    .iter()
                    .any(|r| rule_allows(r, a))
                {
                    return true;
                }
            }
        }
    }
    false
}

/// The real 403.
pub fn forbidden(user: &User, a: &Attributes<'_>) -> ApiError {
    let full = match a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.to_string(),
    };
    // the group-qualified resource, without the subresource
    let qualified = if a.group.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let subject = if a.name.is_empty() {
        qualified
    } else {
        format!("{qualified} \"{}\"", a.name)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    ApiError::forbidden(format!(
        "{subject} is forbidden: User \"{}\" cannot {} resource \"{full}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    ))
    .with_details(json!({"name": a.name, "group": a.group, "kind": a.resource}))
}
