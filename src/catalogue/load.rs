//! The catalogue as a whole: parsing `src/catalogue.json`, resolving its definitions, refusing
//! entries that are inconsistent, and finding endpoints and models in it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::{field_at, Endpoint, Model, Removed, Spec, TAGS};

pub(super) const CATALOGUE_JSON: &str = include_str!("../catalogue.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    pub api_version: String,
    pub endpoints: Vec<Endpoint>,
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

    /// The catalogue as plain JSON (definitions resolved), for `runway_core.models()`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

pub fn normalize_endpoint(s: &str) -> &str {
    s.trim_start_matches('/').trim_start_matches("v1/").trim_end_matches('/')
}

/// The load-time checks of one (resolved) model that serde cannot make; `at` names it in errors.
fn check_model(m: &Model, at: &str) -> std::result::Result<(), String> {
    if let Some(t) = m.tags.iter().find(|t| !TAGS.contains(&t.as_str())) {
        return Err(format!("{at}: unknown tag '{t}' (known: {})", TAGS.join(", ")));
    }
    // A typo in a rule or cost would silently disable it; refuse to load instead.
    let known = |path: &str| field_at(&m.fields, path).is_some();
    for r in &m.rules {
        if let Some(f) = r.fields().find(|f| !known(f)) {
            return Err(format!("{at}: rule '{}' names unknown field {f}", r.message));
        }
    }
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
    if let Some(oc) = &m.output_count {
        if !m.fields.contains_key(&oc.field) {
            return Err(format!("{at}: output_count names unknown field {}", oc.field));
        }
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
