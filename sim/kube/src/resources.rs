//! The resource registry: built-in kinds and the resources CRDs serve.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

/// A printer column (`additionalPrinterColumns`).
#[derive(Clone, Debug)]
pub struct PrinterColumn {
    /// Column name.
    pub name: String,
    /// OpenAPI type (string, integer, date, ...).
    pub type_: String,
    /// Format (name, ...).
    pub format: String,
    /// Description.
    pub description: String,
    /// JSONPath (`.status.x`).
    pub json_path: String,
    /// Priority (0 shown by default).
    pub priority: i64,
}

/// Prepared CRD schema for one version.
pub struct CrdSchema {
    /// openAPIV3Schema.
    pub schema: Value,
    /// CEL rules compiled once.
    pub compiled: kube_cel::CompiledSchema,
    /// Lists that server-side apply merges per item.
    pub list_types: crate::fields::ListTypes,
}

/// Everything the server knows about one resource.
#[derive(Clone)]
pub struct ResourceInfo {
    /// API group ("" for core).
    pub group: String,
    /// Served versions (first is the preferred one).
    pub versions: Vec<String>,
    /// Storage version.
    pub storage_version: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// List kind.
    pub list_kind: String,
    /// Namespaced?
    pub namespaced: bool,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Has a /status subresource.
    pub has_status: bool,
    /// True for custom resources.
    pub custom: bool,
    /// Printer columns per version (custom resources).
    pub columns: HashMap<String, Vec<PrinterColumn>>,
    /// Schemas per version (custom resources).
    pub schemas: HashMap<String, Arc<CrdSchema>>,
}

impl ResourceInfo {
    /// The per-item merged lists of a version's schema (none for built-in kinds
    /// beyond ownerReferences and finalizers, which `fields` knows itself).
    pub fn list_types(&self, version: &str) -> crate::fields::ListTypes {
        self.schemas
            .get(version)
            .map(|s| s.list_types.clone())
            .unwrap_or_default()
    }

    /// Store key: `group/plural`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// `group/version` or `version` for core.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Does this kind bump metadata.generation?
    pub fn tracks_generation(&self) -> bool {
        // namespaces have a status but no generation
        self.custom || (self.has_status && !(self.kind == "Namespace" && self.group.is_empty()))
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    plural: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
    categories: &[&str],
    has_status: bool,
) -> ResourceInfo {
    ResourceInfo {
        group: group.into(),
        versions: vec![version.into()],
        storage_version: version.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        has_status,
        custom: false,
        columns: HashMap::new(),
        schemas: HashMap::new(),
    }
}

/// The built-in resources.
pub fn builtins() -> Vec<ResourceInfo> {
    vec![
        builtin(
            "",
            "v1",
            "namespaces",
            "Namespace",
            false,
            &["ns"],
            &[],
            true,
        ),
        builtin("", "v1", "secrets", "Secret", true, &[], &[], false),
        builtin(
            "",
            "v1",
            "configmaps",
            "ConfigMap",
            true,
            &["cm"],
            &[],
            false,
        ),
        builtin(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            true,
            &["sa"],
            &[],
            false,
        ),
        builtin("", "v1", "events", "Event", true, &["ev"], &[], false),
        builtin(
            "",
            "v1",
            "services",
            "Service",
            true,
            &["svc"],
            &["all"],
            true,
        ),
        builtin(
            "events.k8s.io",
            "v1",
            "events",
            "Event",
            true,
            &["ev"],
            &[],
            false,
        ),
        builtin(
            "coordination.k8s.io",
            "v1",
            "leases",
            "Lease",
            true,
            &[],
            &[],
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            true,
            &[],
            &[],
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
            &[],
            &[],
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
            &[],
            &[],
            false,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            &[],
            &[],
            false,
        ),
        builtin(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            true,
            &["deploy"],
            &["all"],
            true,
        ),
        builtin(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            &["pdb"],
            &[],
            true,
        ),
        builtin(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
            &["netpol"],
            &[],
            false,
        ),
        builtin(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            false,
            &[],
            &[],
            false,
        ),
        builtin(
            "authorization.k8s.io",
            "v1",
            "subjectaccessreviews",
            "SubjectAccessReview",
            false,
            &[],
            &[],
            false,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            &["api-extensions"],
            true,
        ),
    ]
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The resource a CRD object serves (None if malformed).
pub fn from_crd(crd: &Value) -> Option<ResourceInfo> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let mut versions = Vec::new();
    let mut storage = String::new();
    let mut columns = HashMap::new();
    let mut schemas = HashMap::new();
    let mut has_status = false;
    for v in spec.get("versions")?.as_array()? {
        let name = v.get("name")?.as_str()?.to_string();
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage = name.clone();
        }
        if v.get("served").and_then(Value::as_bool) != Some(false) {
            versions.push(name.clone());
        }
        if v.pointer("/subresources/status").is_some() {
            has_status = true;
        }
        let cols = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| PrinterColumn {
                        name: c["name"].as_str().unwrap_or_default().into(),
                        type_: c["type"].as_str().unwrap_or("string").into(),
                        format: c["format"].as_str().unwrap_or_default().into(),
                        description: c["description"].as_str().unwrap_or_default().into(),
                        json_path: c["jsonPath"].as_str().unwrap_or_default().into(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        columns.insert(name.clone(), cols);
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        let compiled = kube_cel::compile_schema(&schema);
        let list_types = crate::fields::ListTypes::from_schema(&schema);
        schemas.insert(
            name,
            Arc::new(CrdSchema {
                schema,
                compiled,
                list_types,
            }),
        );
    }
    if storage.is_empty() {
        storage = versions.first()?.clone();
    }
    // Kubernetes orders versions by priority; keep declaration order but put
    // the storage version first when nothing else decides.
    Some(ResourceInfo {
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        list_kind: names
            .get("listKind")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| format!("{kind}List")),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        short_names: strings(names.get("shortNames")),
        categories: strings(names.get("categories")),
        group,
        versions,
        storage_version: storage,
        plural,
        kind,
        has_status,
        custom: true,
        columns,
        schemas,
    })
}

/// Lookup table of served resources.
#[derive(Clone, Default)]
pub struct Registry {
    by_key: HashMap<String, Arc<ResourceInfo>>,
}

impl Registry {
    /// Registry with the built-ins.
    pub fn with_builtins() -> Self {
        let mut r = Self::default();
        for b in builtins() {
            r.insert(b);
        }
        r
    }

    /// Add or replace a resource.
    pub fn insert(&mut self, info: ResourceInfo) {
        self.by_key.insert(info.key(), Arc::new(info));
    }

    /// Remove a resource.
    pub fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
    }

    /// Resource by `group/plural` key.
    pub fn get(&self, key: &str) -> Option<Arc<ResourceInfo>> {
        self.by_key.get(key).cloned()
    }

    /// Resource served at group/version/plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.by_key
            .get(&format!("{group}/{plural}"))
            .filter(|r| r.versions.iter().any(|v| v == version))
            .cloned()
    }

    /// All resources.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        self.by_key.values()
    }

    /// Resource by kind in group.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.by_key
            .values()
            .find(|r| r.group == group && r.kind == kind)
            .cloned()
    }
}
