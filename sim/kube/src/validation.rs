//! Structural-schema and CEL validation of custom objects, as the API server
//! applies it on create and update: unknown-field pruning (or strict
//! rejection), nullable pruning, defaulting, OpenAPI value validation and
//! `x-kubernetes-validations` (through `kube-cel`).
//!
//! Pure: no server state. [`validate`] is the entry point the operator's
//! admission tests call; [`validate_with`] adds the field-validation mode and
//! returns warnings.

use std::collections::BTreeSet;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value, json};

/// One cause of an invalid object, as carried in `Status.details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueRequired`, ...
    pub reason: String,
    /// The cause message (what follows `field: ` in the Status message).
    pub message: String,
    /// The field path, e.g. `spec.userName`.
    pub field: String,
}

impl Cause {
    /// `field: message`, as joined into the Status message.
    pub fn render(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

/// A rejected object: either 422 Invalid (schema/CEL) or 400 BadRequest
/// (strict decoding of unknown fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// HTTP code: 422 or 400.
    pub code: u16,
    /// Kind, e.g. `SipConnection`.
    pub kind: String,
    /// API group, e.g. `sipcred.io`.
    pub group: String,
    /// Object name (may be empty on generateName).
    pub name: String,
    /// API version of the object, e.g. `v1alpha1` (boxed: keeps the error small).
    pub version: Box<str>,
    /// Causes in the order found.
    pub causes: Vec<Cause>,
}

impl Invalid {
    /// The Status message, e.g.
    /// `SipConnection.sipcred.io "x" is invalid: [a: ..., b: ...]`.
    pub fn message(&self) -> String {
        if self.code == 400 {
            let parts: Vec<String> = self.causes.iter().map(|c| c.message.clone()).collect();
            return format!(
                "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                self.kind,
                self.version,
                self.kind,
                parts.join(", ")
            );
        }
        let qualified = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        let body = if self.causes.len() == 1 {
            self.causes[0].render()
        } else {
            let parts: Vec<String> = self.causes.iter().map(Cause::render).collect();
            format!("[{}]", parts.join(", "))
        };
        format!("{qualified} \"{}\" is invalid: {body}", self.name)
    }

    /// The full `Status` object a real API server answers.
    pub fn status(&self) -> Value {
        if self.code == 400 {
            return json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": self.message(),
                "reason": "BadRequest", "code": 400,
            });
        }
        let causes: Vec<Value> = self
            .causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message(), "reason": "Invalid",
            "details": {"name": self.name, "group": self.group, "kind": self.kind, "causes": causes},
            "code": 422,
        })
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Invalid {}

/// `fieldValidation` query parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown fields are an error (400).
    Strict,
    /// Unknown fields are dropped with a warning (default).
    #[default]
    Warn,
    /// Unknown fields are dropped silently.
    Ignore,
}

impl FieldValidation {
    /// Parse the query value (`Strict`, `Warn`, `Ignore`; anything else is Warn).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Strict") => Self::Strict,
            Some("Ignore") => Self::Ignore,
            _ => Self::Warn,
        }
    }
}

/// The accepted object plus the warnings (`unknown field "spec.foo"`).
#[derive(Clone, Debug)]
pub struct Validated {
    /// Pruned and defaulted object.
    pub object: Value,
    /// Warning texts (without the `299 - ` prefix).
    pub warnings: Vec<String>,
}

/// Validate `obj` against `crd` version `version` (Warn mode: unknown fields
/// are pruned). Returns the object after pruning and defaulting.
pub fn validate(
    crd: &CustomResourceDefinition,
    version: &str,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Value, Invalid> {
    validate_with(crd, version, obj, old, FieldValidation::Warn).map(|v| v.object)
}

/// The schema of `version` in `crd`, as JSON (None if the version has none).
pub fn version_schema(crd: &CustomResourceDefinition, version: &str) -> Option<Value> {
    let v = crd.spec.versions.iter().find(|v| v.name == version)?;
    let s = v.schema.as_ref()?.open_api_v3_schema.as_ref()?;
    serde_json::to_value(s).ok()
}

/// Validate with an explicit field-validation mode; also returns warnings.
pub fn validate_with(
    crd: &CustomResourceDefinition,
    version: &str,
    obj: &Value,
    old: Option<&Value>,
    mode: FieldValidation,
) -> Result<Validated, Invalid> {
    let schema = version_schema(crd, version)
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    let compiled = kube_cel::compile_schema(&schema);
    validate_compiled(
        &SchemaCtx {
            kind: &crd.spec.names.kind,
            group: &crd.spec.group,
            schema: &schema,
            compiled: &compiled,
        },
        obj,
        old,
        mode,
    )
}

/// A schema prepared once per CRD version (used by the server to avoid
/// recompiling CEL for every write).
pub struct SchemaCtx<'a> {
    /// Kind.
    pub kind: &'a str,
    /// Group.
    pub group: &'a str,
    /// openAPIV3Schema as JSON.
    pub schema: &'a Value,
    /// CEL rules compiled from `schema`.
    pub compiled: &'a kube_cel::CompiledSchema,
}

thread_local! {
    static CEL: kube_cel::Validator = kube_cel::Validator::new();
}

const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Validate against a prepared schema.
pub fn validate_compiled(
    ctx: &SchemaCtx<'_>,
    obj: &Value,
    old: Option<&Value>,
    mode: FieldValidation,
) -> Result<Validated, Invalid> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let invalid = |code: u16, causes: Vec<Cause>| Invalid {
        code,
        kind: ctx.kind.to_string(),
        group: ctx.group.to_string(),
        name: name.clone(),
        version: obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(|v| v.rsplit('/').next().unwrap_or(v).into())
            .unwrap_or_default(),
        causes,
    };
    let mut object = obj.clone();
    // 1. prune unknown fields
    let mut unknown = Vec::new();
    if let Some(map) = object.as_object_mut() {
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            let extra: Vec<String> = meta
                .keys()
                .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
                .cloned()
                .collect();
            for k in extra {
                meta.remove(&k);
                unknown.push(format!("metadata.{k}"));
            }
        }
    }
    prune(ctx.schema, &mut object, "", true, &mut unknown);
    let warnings: Vec<String> = match mode {
        FieldValidation::Strict if !unknown.is_empty() => {
            let causes = unknown
                .iter()
                .map(|f| Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!("unknown field \"{f}\""),
                    field: f.clone(),
                })
                .collect();
            return Err(invalid(400, causes));
        }
        FieldValidation::Ignore => Vec::new(),
        _ => unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect(),
    };
    // 2. defaults
    let mut object = kube_cel::apply_defaults(ctx.schema, &object);
    // restore metadata untouched by defaulting
    if let (Some(m), Some(orig)) = (object.as_object_mut(), obj.get("metadata")) {
        if let Some(Value::Object(pruned_meta)) = m.get("metadata").cloned() {
            let mut meta = pruned_meta;
            if let Some(o) = orig.as_object() {
                for k in OBJECT_META_FIELDS {
                    if let Some(v) = o.get(*k) {
                        meta.insert((*k).to_string(), v.clone());
                    }
                }
            }
            m.insert("metadata".into(), Value::Object(meta));
        }
    }
    // 3. OpenAPI value validation
    let mut causes = Vec::new();
    check(ctx.schema, &object, "", true, &mut causes);
    // 4. CEL
    let old_pruned = old.map(|o| {
        let mut o = o.clone();
        prune(ctx.schema, &mut o, "", true, &mut Vec::new());
        o
    });
    let structural_ok = causes.is_empty();
    // As the apiextensions-apiserver's hasBlockingErr: these schema errors skip
    // every CEL rule, and say so.
    let blocking = causes.iter().any(|c| {
        matches!(
            c.reason.as_str(),
            "FieldValueNotSupported"
                | "FieldValueRequired"
                | "FieldValueTooLong"
                | "FieldValueTooMany"
                | "FieldValueTypeInvalid"
        )
    });
    let has_rules = has_cel_rules(ctx.schema);
    let root = kube_cel::RootContext {
        api_version: object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        api_group: ctx.group.to_string(),
        kind: ctx.kind.to_string(),
    };
    let cel_result = if blocking {
        Ok(())
    } else {
        CEL.with(|v| {
            v.validate_compiled_with_context(
                ctx.compiled,
                &object,
                old_pruned.as_ref(),
                Some(&root),
            )
        })
    };
    if let Err(errs) = cel_result {
        for e in errs.into_vec() {
            if !structural_ok && e.kind != kube_cel::ErrorKind::ValidationFailure {
                continue;
            }
            let holder = rule_holder_path(ctx.schema, &e.field_path, &e.rule);
            let value = lookup(&object, &holder);
            let type_name = value.map(type_name).unwrap_or("object");
            let reason = e
                .reason
                .clone()
                .unwrap_or_else(|| "FieldValueInvalid".into());
            let message = match reason.as_str() {
                "FieldValueForbidden" => format!("Forbidden: {}", e.message),
                "FieldValueRequired" => format!("Required value: {}", e.message),
                "FieldValueDuplicate" => format!("Duplicate value: \"{type_name}\""),
                // Kubernetes 1.37 shows a scalar value and omits a compound one
                _ => match value {
                    Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                        format!("Invalid value: {}: {}", render(v), e.message)
                    }
                    _ => format!("Invalid value: {}", e.message),
                },
            };
            causes.push(Cause {
                reason,
                message,
                field: e.field_path,
            });
        }
    }
    // Validation ratcheting (on by default since Kubernetes 1.30): on update, a value
    // that is unchanged from the stored object is not rejected again, so an object
    // stored under an older schema can still get status and metadata writes.
    if let Some(old) = old_pruned.as_ref() {
        causes.retain(|c| lookup(&object, &c.field) != lookup(old, &c.field));
    }
    if blocking && !causes.is_empty() && has_rules {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
            field: "<nil>".into(),
        });
    }
    if !causes.is_empty() {
        return Err(invalid(422, causes));
    }
    Ok(Validated { object, warnings })
}

/// Whether any node of `schema` carries `x-kubernetes-validations`.
fn has_cel_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => {
            m.get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty())
                || m.values().any(has_cel_rules)
        }
        Value::Array(a) => a.iter().any(has_cel_rules),
        _ => false,
    }
}

/// Split `a.b[0].c` into segments (`[0]` kept as its own segment).
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        match seg.find('[') {
            Some(i) => {
                if i > 0 {
                    out.push(seg[..i].to_string());
                }
                for idx in seg[i..].split(['[', ']']).filter(|s| !s.is_empty()) {
                    out.push(format!("[{idx}]"));
                }
            }
            None => out.push(seg.to_string()),
        }
    }
    out
}

/// The longest prefix of `path` whose schema node declares `rule`
/// (a rule with `fieldPath` reports below the node that holds it).
fn rule_holder_path(schema: &Value, path: &str, rule: &str) -> String {
    let segs = segments(path);
    for n in (0..=segs.len()).rev() {
        let mut node = Some(schema);
        for s in &segs[..n] {
            node = node.and_then(|nd| {
                if s.starts_with('[') {
                    nd.get("items")
                } else {
                    nd.get("properties")
                        .and_then(|p| p.get(s))
                        .or_else(|| nd.get("additionalProperties"))
                }
            });
        }
        let holds = node
            .and_then(|nd| nd.get("x-kubernetes-validations"))
            .and_then(Value::as_array)
            .is_some_and(|rs| rs.iter().any(|r| r["rule"].as_str() == Some(rule)));
        if holds {
            let mut p = String::new();
            for s in &segs[..n] {
                if s.starts_with('[') {
                    p.push_str(s);
                } else {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(s);
                }
            }
            return p;
        }
    }
    path.to_string()
}

fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = root;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (key, idxs) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in idxs.split(['[', ']']).filter(|s| !s.is_empty()) {
            cur = match idx.parse::<usize>() {
                Ok(i) => cur.get(i)?,
                Err(_) => cur.get(idx.trim_matches('\''))?,
            };
        }
    }
    Some(cur)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn bool_of(s: &Value, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Remove fields the schema does not know (recording their paths) and
/// nulls in non-nullable object fields.
fn prune(schema: &Value, v: &mut Value, path: &str, root: bool, unknown: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let addl = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = bool_of(schema, "x-kubernetes-preserve-unknown-fields");
            let embedded = bool_of(schema, "x-kubernetes-embedded-resource");
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if (root || embedded) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = props.and_then(|p| p.get(&k)).or(addl);
                match child_schema {
                    Some(cs) => {
                        let is_null = map.get(&k).is_some_and(Value::is_null);
                        if is_null && !bool_of(cs, "nullable") {
                            map.remove(&k);
                            continue;
                        }
                        if let Some(child) = map.get_mut(&k) {
                            prune(cs, child, &join(path, &k), false, unknown);
                        }
                    }
                    None if preserve
                        || (props.is_none() && addl.is_none() && schema.get("type").is_none()) => {}
                    None => {
                        map.remove(&k);
                        unknown.push(join(path, &k));
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(is, item, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

/// JSON-schema type name of a value, as the API server prints it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Render a value as Go's field errors do (`"ab"`, `5`, `true`, `"object"`).
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => format!("\"{}\"", type_name(other)),
    }
}

fn invalid_cause(path: &str, v: &Value, detail: &str) -> Cause {
    let p = if path.is_empty() { "body" } else { path };
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {}: {p} in body {detail}", render(v)),
        field: path.to_string(),
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => v.is_number(),
        _ => true,
    }
}

/// Validate `v` against `schema`, appending causes; returns whether `v` is valid.
fn check(schema: &Value, v: &Value, path: &str, root: bool, causes: &mut Vec<Cause>) -> bool {
    let before = causes.len();
    if v.is_null() {
        if bool_of(schema, "nullable") || schema.get("type").is_none() {
            return true;
        }
    }
    let int_or_string = bool_of(schema, "x-kubernetes-int-or-string");
    if int_or_string {
        if !(v.is_string() || type_matches("integer", v)) {
            causes.push(Cause {
                reason: "FieldValueTypeInvalid".into(),
                message: format!(
                    "Invalid value: \"{t}\": {p} in body must be of type integer,string: \"{t}\"",
                    t = type_name(v),
                    p = path
                ),
                field: path.into(),
            });
            return false;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        if !type_matches(ty, v) {
            causes.push(Cause {
                reason: "FieldValueTypeInvalid".into(),
                message: format!(
                    "Invalid value: \"{t}\": {p} in body must be of type {ty}: \"{t}\"",
                    t = type_name(v),
                    p = path
                ),
                field: path.into(),
            });
            return false;
        }
    }
    // enum
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            let list: Vec<String> = options.iter().map(render).collect();
            causes.push(Cause {
                reason: "FieldValueNotSupported".into(),
                message: format!(
                    "Unsupported value: {}: supported values: {}",
                    render(v),
                    list.join(", ")
                ),
                field: path.into(),
            });
        }
    }
    match v {
        Value::Number(n) => check_number(schema, v, n.as_f64().unwrap_or(0.0), path, causes),
        Value::String(s) => check_string(schema, v, s, path, causes),
        Value::Array(items) => check_array(schema, v, items, path, causes),
        Value::Object(map) => check_object(schema, map, path, root, causes),
        _ => {}
    }
    check_combinators(schema, v, path, causes);
    causes.len() == before
}

fn check_number(schema: &Value, v: &Value, n: f64, path: &str, causes: &mut Vec<Cause>) {
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if bool_of(schema, "exclusiveMinimum") {
            if n <= min {
                causes.push(invalid_cause(
                    path,
                    v,
                    &format!("should be greater than {}", num(schema, "minimum")),
                ));
            }
        } else if n < min {
            causes.push(invalid_cause(
                path,
                v,
                &format!(
                    "should be greater than or equal to {}",
                    num(schema, "minimum")
                ),
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if bool_of(schema, "exclusiveMaximum") {
            if n >= max {
                causes.push(invalid_cause(
                    path,
                    v,
                    &format!("should be less than {}", num(schema, "maximum")),
                ));
            }
        } else if n > max {
            causes.push(invalid_cause(
                path,
                v,
                &format!("should be less than or equal to {}", num(schema, "maximum")),
            ));
        }
    }
    if let Some(m) = schema.get("multipleOf").and_then(Value::as_f64) {
        if m > 0.0 && ((n / m).round() * m - n).abs() > 1e-9 {
            causes.push(invalid_cause(
                path,
                v,
                &format!("should be a multiple of {}", num(schema, "multipleOf")),
            ));
        }
    }
}

/// A schema number as Go's `%v` prints a float64: `10`, not `10.0`.
fn num(schema: &Value, key: &str) -> String {
    match schema.get(key) {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

fn check_string(schema: &Value, v: &Value, s: &str, path: &str, causes: &mut Vec<Cause>) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if len < min {
            causes.push(invalid_cause(
                path,
                v,
                &format!("should be at least {min} chars long"),
            ));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if len > max {
            causes.push(Cause {
                reason: "FieldValueTooLong".into(),
                message: format!("Too long: may not be more than {max} bytes"),
                field: if path.is_empty() {
                    "body".into()
                } else {
                    path.to_string()
                },
            });
        }
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        match cached_regex(p) {
            Some(re) if !re.is_match(s) => {
                causes.push(invalid_cause(path, v, &format!("should match '{p}'")));
            }
            _ => {}
        }
    }
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        if !format_ok(f, s) {
            causes.push(invalid_cause(
                path,
                v,
                &format!("must be of type {f}: {}", render(v)),
            ));
        }
    }
}

fn cached_regex(p: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .entry(p.to_string())
        .or_insert_with(|| regex::Regex::new(p).ok())
        .clone()
}

fn format_ok(format: &str, s: &str) -> bool {
    match format {
        "date-time" => s.parse::<jiff::Timestamp>().is_ok(),
        "date" => s.parse::<jiff::civil::Date>().is_ok(),
        "uri" => {
            if s.starts_with('/') {
                return true;
            }
            match s.split_once(':') {
                Some((scheme, rest)) => {
                    !scheme.is_empty()
                        && scheme
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic())
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                        && !rest.is_empty()
                        && !s.contains(' ')
                }
                None => false,
            }
        }
        "email" => s.contains('@') && !s.starts_with('@') && !s.ends_with('@'),
        "hostname" => {
            !s.is_empty()
                && s.len() <= 253
                && s.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                })
        }
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        _ => true,
    }
}

fn check_array(schema: &Value, v: &Value, items: &[Value], path: &str, causes: &mut Vec<Cause>) {
    let n = items.len() as u64;
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
        if n < min {
            causes.push(invalid_cause(
                path,
                v,
                &format!("should have at least {min} items"),
            ));
        }
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
        if n > max {
            causes.push(Cause {
                reason: "FieldValueTooMany".into(),
                message: format!("Too many: {n}: must have at most {max} items"),
                field: path.into(),
            });
        }
    }
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    if bool_of(schema, "uniqueItems") || list_type == Some("set") {
        for (i, it) in items.iter().enumerate() {
            if items[..i].contains(it) {
                causes.push(Cause {
                    reason: "FieldValueDuplicate".into(),
                    message: format!("Duplicate value: {}", render(it)),
                    field: format!("{path}[{i}]"),
                });
            }
        }
    }
    if list_type == Some("map") {
        if let Some(keys) = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
        {
            let mut seen = BTreeSet::new();
            for (i, it) in items.iter().enumerate() {
                let key: Vec<String> = keys
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|k| it.get(k).map(|x| x.to_string()).unwrap_or_default())
                    .collect();
                if !seen.insert(key) {
                    let shown: Map<String, Value> = keys
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|k| it.get(k).map(|x| (k.to_string(), x.clone())))
                        .collect();
                    causes.push(Cause {
                        reason: "FieldValueDuplicate".into(),
                        message: format!("Duplicate value: {}", Value::Object(shown)),
                        field: format!("{path}[{i}]"),
                    });
                }
            }
        }
    }
    if let Some(is) = schema.get("items") {
        for (i, it) in items.iter().enumerate() {
            check(is, it, &format!("{path}[{i}]"), false, causes);
        }
    }
}

fn check_object(
    schema: &Value,
    map: &Map<String, Value>,
    path: &str,
    root: bool,
    causes: &mut Vec<Cause>,
) {
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if root && matches!(r, "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if map.get(r).is_none_or(Value::is_null) {
                causes.push(Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: join(path, r),
                });
            }
        }
    }
    let n = map.len() as u64;
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64) {
        if n < min {
            causes.push(invalid_cause(
                path,
                &Value::Object(map.clone()),
                &format!("should have at least {min} properties"),
            ));
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64) {
        if n > max {
            causes.push(Cause {
                reason: "FieldValueTooMany".into(),
                message: format!("Too many: {n}: must have at most {max} items"),
                field: path.into(),
            });
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let addl = schema.get("additionalProperties").filter(|a| a.is_object());
    for (k, child) in map {
        if root && matches!(k.as_str(), "apiVersion" | "kind") {
            continue;
        }
        if root && k == "metadata" {
            // only name / generateName constraints from the schema apply
            if let Some(ms) = props.and_then(|p| p.get("metadata")) {
                if let Some(mp) = ms.get("properties").and_then(Value::as_object) {
                    for key in ["name", "generateName"] {
                        if let (Some(s), Some(val)) = (mp.get(key), child.get(key)) {
                            check(s, val, &format!("metadata.{key}"), false, causes);
                        }
                    }
                }
            }
            continue;
        }
        if let Some(cs) = props.and_then(|p| p.get(k)).or(addl) {
            check(cs, child, &join(path, k), false, causes);
        }
    }
}

fn check_combinators(schema: &Value, v: &Value, path: &str, causes: &mut Vec<Cause>) {
    let p = if path.is_empty() { "body" } else { path };
    let sub_ok = |s: &Value| {
        let mut scratch = Vec::new();
        check(s, v, path, false, &mut scratch)
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(s, v, path, false, causes);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        if !any.iter().any(sub_ok) {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {}: {p} in body must validate at least one schema (anyOf)",
                    render(v)
                ),
                field: path.into(),
            });
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let n = one.iter().filter(|s| sub_ok(s)).count();
        if n != 1 {
            let why = if n == 0 {
                "Found none valid"
            } else {
                "Found more than one valid"
            };
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {}: {p} in body must validate one and only one schema (oneOf). {why}",
                    render(v)
                ),
                field: path.into(),
            });
        }
    }
    if let Some(not) = schema.get("not") {
        if sub_ok(not) {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {}: {p} in body must not validate the schema (not)",
                    render(v)
                ),
                field: path.into(),
            });
        }
    }
}

#[cfg(test)]
mod tests;
