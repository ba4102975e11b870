//! Object lifecycle on the store: create, update (main and /status),
//! delete with finalizers and propagation, CRD side effects.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::fields::{self, Scope};
use crate::resources::{self, ResourceInfo};
use crate::store::{Store, obj_rv};
use crate::validation::{self, FieldValidation, SchemaCtx};

/// Options of a write.
#[derive(Clone, Debug)]
pub struct WriteOpts {
    /// fieldManager (or derived from the user agent).
    pub manager: String,
    /// fieldValidation.
    pub validation: FieldValidation,
    /// dryRun=All.
    pub dry_run: bool,
    /// managedFields already computed (server-side apply).
    pub precomputed_fields: bool,
}

impl Default for WriteOpts {
    fn default() -> Self {
        Self {
            manager: "unknown".into(),
            validation: FieldValidation::Warn,
            dry_run: false,
            precomputed_fields: false,
        }
    }
}

/// Result of a write.
pub struct Written {
    /// Stored object (storage version).
    pub obj: Arc<Value>,
    /// Warnings for the `Warning` header.
    pub warnings: Vec<String>,
}

/// Propagation policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Default.
    Background,
    /// Owner waits for blocking dependents.
    Foreground,
    /// Dependents lose the owner reference.
    Orphan,
}

/// DeleteOptions that matter.
#[derive(Clone, Debug, Default)]
pub struct DeleteOpts {
    /// propagationPolicy.
    pub propagation: Option<Propagation>,
    /// preconditions.uid.
    pub uid: Option<String>,
    /// preconditions.resourceVersion.
    pub rv: Option<String>,
    /// dryRun=All.
    pub dry_run: bool,
}

impl DeleteOpts {
    /// Read a DeleteOptions body and query.
    pub fn parse(
        body: &[u8],
        query: &std::collections::HashMap<String, String>,
    ) -> ApiResult<Self> {
        let mut o = Self::default();
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
        };
        let policy = v
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| query.get("propagationPolicy").cloned());
        let orphan = v
            .get("orphanDependents")
            .and_then(Value::as_bool)
            .or_else(|| query.get("orphanDependents").map(|s| s == "true"));
        o.propagation = match policy.as_deref() {
            Some("Foreground") => Some(Propagation::Foreground),
            Some("Orphan") => Some(Propagation::Orphan),
            Some("Background") => Some(Propagation::Background),
            Some(other) => {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!(
                        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                    ),
                ));
            }
            None if orphan == Some(true) => Some(Propagation::Orphan),
            None => None,
        };
        o.uid = v
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from);
        o.rv = v
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from);
        let dry = v
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
            || query.get("dryRun").is_some_and(|s| s == "All");
        o.dry_run = dry;
        Ok(o)
    }
}

/// RFC 3339 "now" at second precision.
pub fn now_ts() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The object as seen through `version` of its resource.
pub fn at_version(obj: &Value, info: &ResourceInfo, version: &str) -> Value {
    let mut o = obj.clone();
    if info.custom {
        o["apiVersion"] = Value::String(info.api_version(version));
    }
    o
}

fn meta_str<'v>(o: &'v Value, k: &str) -> Option<&'v str> {
    o.get("metadata")?
        .get(k)?
        .as_str()
        .filter(|s| !s.is_empty())
}

fn finalizers(o: &Value) -> Vec<String> {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Is the object being deleted?
pub fn deleting(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

fn random_suffix() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    u.bytes()
        .take(5)
        .map(|b| alphabet[(b as usize) % alphabet.len()] as char)
        .collect()
}

fn validate_custom(
    info: &ResourceInfo,
    version: &str,
    obj: &Value,
    old: Option<&Value>,
    mode: FieldValidation,
) -> ApiResult<(Value, Vec<String>)> {
    let Some(schema) = info
        .schemas
        .get(version)
        .or_else(|| info.schemas.get(&info.storage_version))
    else {
        return Ok((obj.clone(), Vec::new()));
    };
    let ctx = SchemaCtx {
        kind: &info.kind,
        group: &info.group,
        schema: &schema.schema,
        compiled: &schema.compiled,
    };
    let v = validation::validate_compiled(&ctx, obj, old, mode)?;
    Ok((v.object, v.warnings))
}

fn strict_top_level(
    info: &ResourceInfo,
    obj: &mut Value,
    mode: FieldValidation,
) -> ApiResult<Vec<String>> {
    // Built-in kinds: only reject clearly unknown top-level fields.
    let known: &[&str] = match info.kind.as_str() {
        "Secret" => &[
            "apiVersion",
            "kind",
            "metadata",
            "data",
            "stringData",
            "type",
            "immutable",
        ],
        "ConfigMap" => &[
            "apiVersion",
            "kind",
            "metadata",
            "data",
            "binaryData",
            "immutable",
        ],
        "ServiceAccount" => &[
            "apiVersion",
            "kind",
            "metadata",
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        "Role" | "ClusterRole" => &["apiVersion", "kind", "metadata", "rules", "aggregationRule"],
        "RoleBinding" | "ClusterRoleBinding" => {
            &["apiVersion", "kind", "metadata", "subjects", "roleRef"]
        }
        _ => return Ok(Vec::new()),
    };
    let mut unknown = Vec::new();
    if let Some(m) = obj.as_object_mut() {
        let extra: Vec<String> = m
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in extra {
            m.remove(&k);
            unknown.push(k);
        }
    }
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => {
            let parts: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            Err(ApiError::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                parts.join(", "),
                kind = info.kind,
                version = info.versions.first().map(String::as_str).unwrap_or("v1"),
            )))
        }
        FieldValidation::Ignore => Ok(Vec::new()),
        _ => Ok(unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect()),
    }
}

fn normalize_kind(info: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
    use base64::Engine;
    if info.kind == "Secret" && info.group.is_empty() {
        if let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
            if let Some(sd) = sd.as_object() {
                for (k, v) in sd {
                    let enc = base64::engine::general_purpose::STANDARD
                        .encode(v.as_str().unwrap_or_default());
                    obj["data"][k] = Value::String(enc);
                }
            }
        }
        if obj.get("type").is_none_or(Value::is_null) {
            obj["type"] = json!("Opaque");
        }
        if let Some(data) = obj.get("data").and_then(Value::as_object) {
            for v in data.values() {
                let text = v.as_str().unwrap_or_default();
                if let Err(e) = base64::engine::general_purpose::STANDARD.decode(text) {
                    // Go's encoding/base64 names the offset, as the real server says
                    let at = match e {
                        base64::DecodeError::InvalidByte(at, _)
                        | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                        _ => text.len(),
                    };
                    return Err(ApiError::bad_request(format!(
                        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte {at}"
                    )));
                }
            }
        }
    }
    if info.kind == "Namespace" && info.group.is_empty() {
        // the label every namespace carries (NamespaceDefaultLabelName)
        if let Some(name) = meta_str(obj, "name").map(String::from) {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        }
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
        if !deleting(obj) {
            obj["status"] = json!({"phase": "Active"});
        }
    }
    Ok(())
}

fn crd_admit(obj: &mut Value) -> ApiResult<ResourceInfo> {
    let name = meta_str(obj, "name").unwrap_or_default().to_string();
    let causes = crate::crd::check(obj);
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            &name,
            causes,
        ));
    }
    let info = resources::from_crd(obj).ok_or_else(|| {
        ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            &name,
            vec![(
                "FieldValueRequired".into(),
                "Required value".into(),
                "spec".into(),
            )],
        )
    })?;
    let want = format!("{}.{}", info.plural, info.group);
    if name != want {
        return Err(ApiError::invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            &name,
            vec![(
                "FieldValueInvalid".into(),
                format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
                "metadata.name".into(),
            )],
        ));
    }
    let ts = now_ts();
    let mut accepted = obj["spec"]["names"].clone();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(info.singular);
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(info.list_kind);
    }
    obj["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": ts, "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": ts, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
        ],
        "storedVersions": [info.storage_version],
    });
    Ok(info)
}

/// Finalizer the API server puts on a deleted CRD until its instances are gone.
pub const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Store key of CustomResourceDefinitions.
pub const CRD_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// Side effects of an object leaving the store: a removed CRD stops serving.
pub fn on_removed(st: &mut Store, key: &str, gone: &Value) {
    if key == CRD_KEY {
        if let Some(ci) = resources::from_crd(gone) {
            st.drop_table(&ci.key());
            st.registry.remove(&ci.key());
        }
    }
}

fn is_crd(info: &ResourceInfo) -> bool {
    info.group == "apiextensions.k8s.io" && info.plural == "customresourcedefinitions"
}

/// `Kind` or `Kind.group`, as the real server names an object in delete
/// precondition failures.
fn kind_qualified(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        info.kind.clone()
    } else {
        format!("{}.{}", info.kind, info.group)
    }
}

/// Check the namespace of a namespaced create.
fn check_namespace(st: &Store, ns: &str, resource: &str, name: &str) -> ApiResult<()> {
    match st.get("/namespaces", "", ns) {
        None => Err(ApiError::not_found("namespaces", "", ns)),
        Some(n) if deleting(&n) => Err(ApiError::forbidden(format!(
            "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            if name.is_empty() {
                resource.to_string()
            } else {
                format!("{resource} \"{name}\"")
            }
        ))
        .with_details(json!({"name": ns, "kind": "namespaces", "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]}))),
        Some(_) => Ok(()),
    }
}

/// POST.
pub fn create(
    st: &mut Store,
    info: &ResourceInfo,
    version: &str,
    ns: &str,
    mut obj: Value,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was not a JSON object",
        ));
    }
    if info.custom {
        let crd_name = format!("{}.{}", info.plural, info.group);
        if st.get(CRD_KEY, "", &crd_name).is_some_and(|c| deleting(&c)) {
            return Err(ApiError::forbidden(
                "create not allowed while custom resource definition is terminating",
            ));
        }
    }
    obj["apiVersion"] = json!(info.api_version(&info.storage_version));
    obj["kind"] = json!(info.kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if info.namespaced {
        match meta_str(&obj, "namespace") {
            Some(n) if n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
        let resource = if info.group.is_empty() {
            info.plural.clone()
        } else {
            format!("{}.{}", info.plural, info.group)
        };
        check_namespace(
            st,
            ns,
            &resource,
            meta_str(&obj, "name").unwrap_or_default(),
        )?;
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    if meta_str(&obj, "name").is_none() {
        match meta_str(&obj, "generateName") {
            Some(g) => obj["metadata"]["name"] = json!(format!("{g}{}", random_suffix())),
            None => {
                return Err(ApiError::invalid(
                    &info.kind,
                    &info.group,
                    "",
                    vec![(
                        "FieldValueRequired".into(),
                        "Required value: name or generateName is required".into(),
                        "metadata.name".into(),
                    )],
                ));
            }
        }
    }
    let name = meta_str(&obj, "name").unwrap_or_default().to_string();
    let bad = crate::meta::validate(&obj, info.kind == "Namespace" && info.group.is_empty());
    if !bad.is_empty() {
        return Err(ApiError::invalid(&info.kind, &info.group, &name, bad));
    }
    if st
        .get(&info.key(), if info.namespaced { ns } else { "" }, &name)
        .is_some()
    {
        return Err(ApiError::already_exists(&info.plural, &info.group, &name));
    }
    if info.has_status {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    {
        let m = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(k);
        }
        if !opts.precomputed_fields {
            m.remove("managedFields");
        }
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now_ts()));
        if info.tracks_generation() {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
    }
    let mut warnings = strict_top_level(info, &mut obj, opts.validation)?;
    normalize_kind(info, &mut obj)?;
    if info.custom {
        let (v, w) = validate_custom(info, version, &obj, None, opts.validation)?;
        obj = v;
        warnings.extend(w);
        obj["apiVersion"] = json!(info.api_version(&info.storage_version));
    }
    let crd_info = if is_crd(info) {
        Some(crd_admit(&mut obj)?)
    } else {
        None
    };
    if !opts.precomputed_fields {
        fields::record_update(
            None,
            &mut obj,
            &opts.manager,
            &info.api_version(version),
            scope_for(info, false),
            &info.list_types(version),
        );
    }
    if opts.dry_run {
        return Ok(Written {
            obj: Arc::new(obj),
            warnings,
        });
    }
    let stored = st.put(&info.key(), obj);
    if let Some(ci) = crd_info {
        st.registry.insert(ci);
    }
    Ok(Written {
        obj: stored,
        warnings,
    })
}

/// Which part of the object a write touches.
pub fn scope_for(info: &ResourceInfo, status: bool) -> Scope {
    if status {
        Scope::Status
    } else if info.has_status {
        Scope::MainWithoutStatus
    } else {
        Scope::Main
    }
}

fn strip_for_compare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
            for e in mf {
                if let Some(e) = e.as_object_mut() {
                    e.remove("time");
                }
            }
        }
    }
    v
}

fn spec_part(v: &Value, info: &ResourceInfo) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        if info.has_status {
            m.remove("status");
        }
    }
    v
}

/// PUT (main resource or /status). `new` is the full requested object.
#[allow(clippy::too_many_arguments)]
pub fn update(
    st: &mut Store,
    info: &ResourceInfo,
    version: &str,
    ns: &str,
    name: &str,
    mut new: Value,
    status: bool,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    let ns = if info.namespaced { ns } else { "" };
    let old = st
        .get(&info.key(), ns, name)
        .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))?;
    if !new.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was not a JSON object",
        ));
    }
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    match meta_str(&new, "name") {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {}
    }
    if let Some(rv) = meta_str(&new, "resourceVersion") {
        if rv != obj_rv(&old).to_string() {
            return Err(ApiError::conflict(&info.plural, &info.group, name));
        }
    }
    let scope = scope_for(info, status);
    let mut obj = match scope {
        Scope::Status => {
            let mut o = (*old).clone();
            match new.get("status") {
                Some(s) => o["status"] = s.clone(),
                None => {
                    if let Some(m) = o.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            if opts.precomputed_fields {
                o["metadata"]["managedFields"] = new["metadata"]["managedFields"].clone();
            }
            o
        }
        Scope::MainWithoutStatus => {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            new
        }
        Scope::Main => new,
    };
    obj["apiVersion"] = json!(info.api_version(&info.storage_version));
    obj["kind"] = json!(info.kind);
    {
        let om = &old["metadata"];
        let m = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match om.get(k) {
                Some(v) => {
                    m.insert(k.into(), v.clone());
                }
                None => {
                    m.remove(k);
                }
            }
        }
        if !opts.precomputed_fields {
            match om.get("managedFields") {
                Some(v) => m.insert("managedFields".into(), v.clone()),
                None => m.remove("managedFields"),
            };
        }
    }
    if deleting(&old) {
        let before = finalizers(&old);
        let added: Vec<String> = finalizers(&obj)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list: Vec<String> = added.iter().map(|f| format!("\"{f}\"")).collect();
            return Err(ApiError::invalid(
                &info.kind,
                &info.group,
                name,
                vec![(
                    "FieldValueForbidden".into(),
                    format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        list.join(", ")
                    ),
                    "metadata.finalizers".into(),
                )],
            ));
        }
    }
    let bad = crate::meta::validate(&obj, info.kind == "Namespace" && info.group.is_empty());
    if !bad.is_empty() {
        return Err(ApiError::invalid(&info.kind, &info.group, name, bad));
    }
    let mut warnings = if status {
        Vec::new()
    } else {
        strict_top_level(info, &mut obj, opts.validation)?
    };
    normalize_kind(info, &mut obj)?;
    if info.custom {
        let (v, w) = validate_custom(info, version, &obj, Some(&old), opts.validation)?;
        obj = v;
        warnings.extend(w);
        obj["apiVersion"] = json!(info.api_version(&info.storage_version));
    }
    let crd_info = if is_crd(info) {
        let keep_status = obj.get("status").cloned();
        let ci = crd_admit(&mut obj)?;
        if status {
            if let Some(s) = keep_status {
                obj["status"] = s;
            }
        }
        Some(ci)
    } else {
        None
    };
    if info.tracks_generation() && spec_part(&obj, info) != spec_part(&old, info) {
        let g = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        obj["metadata"]["generation"] = json!(g + 1);
    }
    if !opts.precomputed_fields {
        fields::record_update(
            Some(&old),
            &mut obj,
            &opts.manager,
            &info.api_version(version),
            scope,
            &info.list_types(version),
        );
    }
    if strip_for_compare(&obj) == strip_for_compare(&old) {
        return Ok(Written { obj: old, warnings });
    }
    if opts.dry_run {
        return Ok(Written {
            obj: Arc::new(obj),
            warnings,
        });
    }
    if deleting(&obj) && finalizers(&obj).is_empty() {
        let key = info.key();
        st.put(&key, obj);
        let gone = st
            .remove(&key, ns, name)
            .ok_or_else(|| ApiError::internal("vanished"))?;
        on_removed(st, &key, &gone);
        return Ok(Written {
            obj: gone,
            warnings,
        });
    }
    let stored = st.put(&info.key(), obj);
    if let Some(ci) = crd_info {
        st.registry.insert(ci);
    }
    Ok(Written {
        obj: stored,
        warnings,
    })
}

/// DELETE of one object.
pub fn delete(
    st: &mut Store,
    info: &ResourceInfo,
    ns: &str,
    name: &str,
    opts: &DeleteOpts,
) -> ApiResult<Arc<Value>> {
    let ns = if info.namespaced { ns } else { "" };
    let key = info.key();
    let old = st
        .get(&key, ns, name)
        .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))?;
    if let Some(uid) = &opts.uid {
        let actual = meta_str(&old, "uid").unwrap_or_default();
        if uid != actual {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated",
                    kind_qualified(info)
                ),
            )
            .with_details(json!({"name": name, "group": info.group, "kind": info.kind})));
        }
    }
    if let Some(rv) = &opts.rv {
        let actual = obj_rv(&old).to_string();
        if *rv != actual {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified",
                    kind_qualified(info)
                ),
            )
            .with_details(json!({"name": name, "group": info.group, "kind": info.plural})));
        }
    }
    if opts.dry_run {
        return Ok(old);
    }
    if info.kind == "Namespace" && info.group.is_empty() {
        if deleting(&old) {
            return Ok(old);
        }
        let mut o = (*old).clone();
        o["metadata"]["deletionTimestamp"] = json!(now_ts());
        o["status"] = json!({"phase": "Terminating"});
        return Ok(st.put(&key, o));
    }
    let mut fins = finalizers(&old);
    if is_crd(info) && !fins.iter().any(|f| f == CRD_CLEANUP) {
        // instances are deleted first (their finalizers run), then the CRD
        fins.push(CRD_CLEANUP.into());
    }
    match opts.propagation {
        Some(Propagation::Foreground) if !fins.iter().any(|f| f == "foregroundDeletion") => {
            fins.push("foregroundDeletion".into());
        }
        Some(Propagation::Orphan) if !fins.iter().any(|f| f == "orphan") => {
            fins.push("orphan".into())
        }
        _ => {}
    }
    if fins.is_empty() {
        return st
            .remove(&key, ns, name)
            .ok_or_else(|| ApiError::internal("vanished"));
    }
    let mut o = (*old).clone();
    let changed_fins = fins != finalizers(&old);
    if deleting(&old) && !changed_fins {
        return Ok(old);
    }
    o["metadata"]["finalizers"] = json!(fins);
    if !deleting(&old) {
        o["metadata"]["deletionTimestamp"] = json!(now_ts());
        o["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    }
    Ok(st.put(&key, o))
}

/// Remove a finalizer (garbage collector); the object goes when none remain.
pub fn remove_finalizer(st: &mut Store, key: &str, obj: &Value, fin: &str) {
    let (ns, name) = crate::store::obj_key(obj);
    let mut o = obj.clone();
    let rest: Vec<String> = finalizers(obj).into_iter().filter(|f| f != fin).collect();
    if rest.is_empty() {
        if let Some(m) = o["metadata"].as_object_mut() {
            m.remove("finalizers");
        }
    } else {
        o["metadata"]["finalizers"] = json!(rest);
    }
    if deleting(&o) && rest.is_empty() {
        st.put(key, o);
        if let Some(gone) = st.remove(key, &ns, &name) {
            on_removed(st, key, &gone);
        }
    } else {
        st.put(key, o);
    }
}
