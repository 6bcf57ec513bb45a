//! The catalogue as a whole: parsing `src/catalogue.json`, resolving its definitions, refusing
//! entries that are inconsistent, and finding endpoints and models in it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::operations::Operation;
use super::types::{field_at, Endpoint, Field, Model, Removed, Rule, Spec, TAGS};

pub(super) const CATALOGUE_JSON: &str = include_str!("../catalogue.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    pub api_version: String,
    pub endpoints: Vec<Endpoint>,
    /// Every operation: those listed in the JSON, then one per endpoint (added by `parse`).
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Named specs that `ref` entries point at; `parse` inlines them into the models.
    #[serde(default, skip_serializing)]
    definitions: BTreeMap<String, Spec>,
    pub models: Vec<Model>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
}

/// The compiled-in catalogue, parsed and resolved once.
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::parse(CATALOGUE_JSON).expect("src/catalogue.json is invalid"))
}

impl Catalogue {
    pub fn parse(text: &str) -> std::result::Result<Catalogue, String> {
        let mut cat: Catalogue = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let defs = std::mem::take(&mut cat.definitions);
        let mut seen = BTreeSet::new();
        for m in &mut cat.models {
            let at = format!("{} {}", m.endpoint, m.model);
            for f in m.fields.values_mut() {
                resolve(&mut f.spec, &defs).map_err(|e| format!("{at}: {e}"))?;
            }
            if !cat.endpoints.iter().any(|e| e.name == m.endpoint) {
                return Err(format!("model {} names unknown endpoint {}", m.model, m.endpoint));
            }
            if !seen.insert((m.endpoint.clone(), m.model.clone())) {
                return Err(format!("{at} is listed twice"));
            }
            check_model(m, &at)?;
        }
        for r in &cat.removed {
            if cat.model(&r.endpoint, &r.model).is_some() {
                return Err(format!("{} {} is both removed and listed", r.endpoint, r.model));
            }
        }
        for e in &cat.endpoints {
            let Some(fixed) = &e.fixed_model else { continue };
            let models = cat.models_for(&e.name);
            if models.len() != 1 || models[0].model != *fixed {
                return Err(format!(
                    "endpoint {} has fixed_model {fixed} but its models are not just that one",
                    e.name
                ));
            }
        }
        let fixed: Vec<(String, String)> =
            cat.endpoints.iter().filter_map(|e| Some((e.name.clone(), e.fixed_model.clone()?))).collect();
        for m in &mut cat.models {
            m.fixed = fixed.iter().any(|(e, f)| *e == m.endpoint && *f == m.model);
        }
        for op in &mut cat.operations {
            let at = format!("operation {}", op.name);
            for f in op.query.values_mut().chain(op.body.iter_mut().flat_map(|b| b.values_mut())) {
                resolve(&mut f.spec, &defs).map_err(|e| format!("{at}: {e}"))?;
            }
            check_operation(op, &at)?;
        }
        // Task operations come from the endpoints (also when reading `to_json`'s output back).
        cat.operations.retain(|o| o.endpoint.is_none());
        let derived: Vec<Operation> = cat.endpoints.iter().map(Operation::for_endpoint).collect();
        cat.operations.extend(derived);
        let mut names = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for op in &cat.operations {
            if !names.insert(op.name.as_str()) {
                return Err(format!("operation {} is listed twice", op.name));
            }
            if !routes.insert((op.method.as_str(), op.path.as_str())) {
                return Err(format!("{} {} is listed twice", op.method, op.path));
            }
        }
        cat.definitions = defs;
        Ok(cat)
    }

    /// A removed model and its replacement, if `model` is one.
    pub fn removed(&self, endpoint: &str, model: &str) -> Option<&Removed> {
        let ep = normalize_endpoint(endpoint);
        self.removed.iter().find(|r| r.endpoint == ep && r.model == model)
    }

    /// Accepts `text_to_video` or `/v1/text_to_video`.
    pub fn endpoint(&self, name_or_path: &str) -> Option<&Endpoint> {
        let name = normalize_endpoint(name_or_path);
        self.endpoints.iter().find(|e| e.name == name)
    }

    pub fn model(&self, endpoint: &str, model: &str) -> Option<&Model> {
        let ep = normalize_endpoint(endpoint);
        self.models.iter().find(|m| m.endpoint == ep && m.model == model)
    }

    pub fn models_for(&self, endpoint: &str) -> Vec<&Model> {
        let ep = normalize_endpoint(endpoint);
        self.models.iter().filter(|m| m.endpoint == ep).collect()
    }

    /// The model that checks `body` at `endpoint`: the endpoint's fixed model, or the one the
    /// body names.
    pub fn model_for(&self, endpoint: &str, body: &Value) -> Option<&Model> {
        match self.endpoint(endpoint)?.fixed_model.as_deref() {
            Some(fixed) => self.model(endpoint, fixed),
            None => self.model(endpoint, body.get("model")?.as_str()?),
        }
    }

    /// An operation by its dotted name (`routers.create`).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The operation a request is for, and its path parameters; a literal segment wins over a
    /// parameter (`/v1/voices/preview` is not voice `preview`).
    pub fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        self.operations
            .iter()
            .filter(|o| o.method == method)
            .filter_map(|o| Some((o, o.match_path(path)?)))
            .max_by_key(|(o, _)| o.specificity())
    }
}

pub fn normalize_endpoint(s: &str) -> &str {
    s.trim_start_matches('/').trim_start_matches("v1/").trim_end_matches('/')
}

/// The load-time checks of one (resolved) operation.
fn check_operation(op: &Operation, at: &str) -> std::result::Result<(), String> {
    if !["GET", "POST", "PATCH", "DELETE"].contains(&op.method.as_str()) {
        return Err(format!("{at}: unknown method {}", op.method));
    }
    if !op.path.starts_with("/v1/") {
        return Err(format!("{at}: path {} is not under /v1/", op.path));
    }
    if op.body.is_some() && op.method != "POST" && op.method != "PATCH" {
        return Err(format!("{at}: a {} has no body", op.method));
    }
    let empty = BTreeMap::new();
    let body = op.body.as_ref().unwrap_or(&empty);
    check_rules_name_fields(&op.rules, body, at)?;
    for (name, f) in op.query.iter().chain(body) {
        check_item_keys(&f.spec).map_err(|e| format!("{at}: {name}: {e}"))?;
    }
    Ok(())
}

/// A typo in a rule would silently disable it; refuse to load instead.
fn check_rules_name_fields(
    rules: &[Rule],
    fields: &BTreeMap<String, Field>,
    at: &str,
) -> std::result::Result<(), String> {
    match rules.iter().find_map(|r| Some((r, r.fields().find(|f| field_at(fields, f).is_none())?))) {
        Some((r, f)) => Err(format!("{at}: rule '{}' names unknown field {f}", r.message)),
        None => Ok(()),
    }
}

/// The load-time checks of one (resolved) model that serde cannot make; `at` names it in errors.
fn check_model(m: &Model, at: &str) -> std::result::Result<(), String> {
    if let Some(t) = m.tags.iter().find(|t| !TAGS.contains(&t.as_str())) {
        return Err(format!("{at}: unknown tag '{t}' (known: {})", TAGS.join(", ")));
    }
    check_rules_name_fields(&m.rules, &m.fields, at)?;
    // A typo in a cost would silently disable it too.
    let known = |path: &str| field_at(&m.fields, path).is_some();
    if let Some(c) = &m.cost {
        let cases = c.overrides.iter().chain(&c.extras);
        if let Some(f) = cases.flat_map(|k| std::iter::once(&k.field).chain(k.also.keys())).find(|f| !known(f)) {
            return Err(format!("{at}: cost names unknown field {f}"));
        }
        if !["second", "image", "task", "characters", "input_second"].contains(&c.unit.as_str()) {
            return Err(format!("{at}: unknown cost unit {}", c.unit));
        }
    }
    if let Some(f) = m.cost.as_ref().and_then(|c| c.count_field.as_ref()).filter(|f| !m.fields.contains_key(*f)) {
        return Err(format!("{at}: cost count_field names unknown field {f}"));
    }
    for (name, f) in &m.fields {
        check_item_keys(&f.spec).map_err(|e| format!("{at}: {name}: {e}"))?;
    }
    if let Some(f) = m.output_count.as_ref().and_then(|oc| oc.field.as_ref()).filter(|f| !known(f)) {
        return Err(format!("{at}: output_count names unknown field {f}"));
    }
    Ok(())
}

/// The item keys an array check names (`unique_by`, `all_or_none`, `sum_of`, `max_per_value`)
/// exist in its items' fields: a typo would switch the check off.
fn check_item_keys(spec: &Spec) -> std::result::Result<(), String> {
    match spec {
        Spec::Array { items, unique_by, require_item, all_or_none, sum_of, max_per_value, .. } => {
            let keys = unique_by
                .iter()
                .chain(all_or_none)
                .chain(sum_of.as_ref().map(|s| &s.key))
                .chain(max_per_value.as_ref().map(|m| &m.key))
                .chain(require_item.iter().flat_map(|r| r.keys()));
            for k in keys {
                let known = match items.as_ref() {
                    Spec::Object { fields, .. } => fields.contains_key(k),
                    Spec::AnyOf { options } => {
                        options.iter().any(|o| matches!(o, Spec::Object { fields, .. } if fields.contains_key(k)))
                    }
                    _ => false,
                };
                if !known {
                    return Err(format!("array check names '{k}', which its items do not have"));
                }
            }
            check_item_keys(items)
        }
        Spec::Object { fields, .. } => fields.values().try_for_each(|f| check_item_keys(&f.spec)),
        Spec::AnyOf { options } => options.iter().try_for_each(check_item_keys),
        _ => Ok(()),
    }
}

/// Replaces every `ref` in `spec` with its definition, recursively.
fn resolve(spec: &mut Spec, defs: &BTreeMap<String, Spec>) -> std::result::Result<(), String> {
    match spec {
        Spec::Ref { name } => {
            let mut target = defs.get(name).cloned().ok_or_else(|| format!("unknown definition '{name}'"))?;
            resolve(&mut target, defs)?;
            *spec = target;
        }
        Spec::Array { items, .. } => resolve(items, defs)?,
        Spec::Object { fields, .. } => {
            for f in fields.values_mut() {
                resolve(&mut f.spec, defs)?;
            }
        }
        Spec::AnyOf { options } => {
            for o in options {
                resolve(o, defs)?;
            }
        }
        _ => {}
    }
    Ok(())
}
