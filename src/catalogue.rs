//! Model knowledge as data. `catalogue.json` (compiled in) describes every endpoint and model we know:
//! fields, allowed values, cross-field rules and cost. This file only interprets it, so adding a
//! model is an edit to the JSON, not to code. The simulator validates with the same data.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::errors::{Error, Issue, Result};

const CATALOGUE_JSON: &str = include_str!("catalogue.json");

/// Runway's limits for data URIs, by media kind (length of the encoded string).
pub const DATA_URI_MAX_IMAGE: usize = 5 * 1024 * 1024;
pub const DATA_URI_MAX_AV: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }
    /// "an image", "a video", "an audio" — for messages.
    pub fn with_article(self) -> &'static str {
        match self {
            MediaKind::Image => "an image",
            MediaKind::Video => "a video",
            MediaKind::Audio => "an audio",
        }
    }
    pub fn data_uri_max(self) -> usize {
        match self {
            MediaKind::Image => DATA_URI_MAX_IMAGE,
            _ => DATA_URI_MAX_AV,
        }
    }
}

/// The shape and limits of one JSON value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Spec {
    /// A string measured in UTF-16 code units, as Runway counts prompt length.
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    Enum {
        values: Vec<Value>,
    },
    Int {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Bool,
    /// A media URI: https URL, `runway://` upload or `data:<kind>/...` URI.
    Media {
        kind: MediaKind,
    },
    /// A reference-image tag: 3–16 characters, a letter first, then letters, digits, underscores.
    Tag,
    Array {
        items: Box<Spec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_items: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_items: Option<usize>,
        /// No two items may share this key's value (e.g. `position`, `tag`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unique_by: Option<String>,
        /// Some item must carry these key/value pairs (e.g. `{"position": "first"}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        require_item: Option<Map<String, Value>>,
        /// Either every item has this key or none has.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        all_or_none: Option<String>,
        /// The items' values of a numeric key add up to within a range (e.g. multi-prompt seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sum_of: Option<SumOf>,
        /// At most so many items may carry each value of a key (e.g. 5 `subject: human`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_per_value: Option<MaxPerValue>,
    },
    Object {
        fields: BTreeMap<String, Field>,
        /// Exactly one of these keys must be present.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exactly_one_of: Vec<String>,
    },
    AnyOf {
        options: Vec<Spec>,
    },
    /// Shapes Runway accepts that we do not check (sent as given).
    Any,
    /// A named entry of `definitions`, resolved when the catalogue loads.
    Ref {
        name: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SumOf {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaxPerValue {
    pub key: String,
    pub max: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    #[serde(flatten)]
    pub spec: Spec,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A cross-field rule: when `when` holds, `require` must be present, `forbid` absent, at least
/// one of `require_one_of` present, each key of `allow` (if present) one of the listed values, and
/// each list of `min_items`/`max_items` within its count. Field names may be dotted paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default)]
    pub when: Condition,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_one_of: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allow: BTreeMap<String, Vec<Value>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min_items: BTreeMap<String, usize>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_items: BTreeMap<String, usize>,
    pub message: String,
}

impl Rule {
    /// Every field name the rule mentions (for load-time checks).
    pub fn fields(&self) -> impl Iterator<Item = &String> {
        self.when
            .field
            .iter()
            .chain(&self.require)
            .chain(&self.forbid)
            .chain(&self.require_one_of)
            .chain(self.allow.keys())
            .chain(self.min_items.keys())
            .chain(self.max_items.keys())
    }
}

/// When a rule applies. No field: always. A field alone: when it is present.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// `false`: the rule applies when the field is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

impl Condition {
    pub fn holds(&self, body: &Map<String, Value>) -> bool {
        let Some(field) = &self.field else { return true };
        let v = lookup(body, field);
        if let Some(eq) = &self.equals {
            return v.is_some_and(|v| values_equal(v, eq));
        }
        if let Some(list) = &self.one_of {
            return v.is_some_and(|v| list.iter().any(|x| values_equal(v, x)));
        }
        v.is_some() == self.present.unwrap_or(true)
    }
}

/// The value at a dotted path (`providerSettings.shotType`) of a body.
pub fn lookup<'a>(body: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = body.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

fn path_of(dotted: &str) -> Vec<Value> {
    dotted.split('.').map(|p| json!(p)).collect()
}

/// How a model is billed: `credits` per `per` units; the first matching `overrides` entry
/// replaces the rate and every matching `extras` entry adds to it; `base` is added once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cost {
    /// `second` (of output), `image`, `task`, `characters` (of `promptText`), or `input_second`
    /// (of the input media: not known until Runway reads it, so no local estimate).
    pub unit: String,
    pub credits: f64,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub per: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub base: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<CostCase>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<CostCase>,
    /// Output seconds when the body gives no duration (or `"auto"`, billed at the maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_duration: Option<f64>,
    /// Field giving the number of images (e.g. `outputCount`); 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_field: Option<String>,
    /// Where the figure comes from, and how sure it is.
    pub source: String,
}

fn one() -> f64 {
    1.0
}
fn is_one(x: &f64) -> bool {
    *x == 1.0
}
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CostCase {
    pub field: String,
    /// Matches when the field equals one of these (absent field: matches `absent_matches`).
    /// With `per_item`, matches when the field is a non-empty list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent_matches: bool,
    /// Further fields that must match too (all of them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub also: BTreeMap<String, Vec<Value>>,
    /// Credits times the number of items in the list `field`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_item: bool,
    pub credits: f64,
}

impl CostCase {
    /// The credits this case contributes to `body`, or None when it does not match.
    fn credits_for(&self, body: &Map<String, Value>) -> Option<f64> {
        let field_matches = |f: &str, values: &[Value], absent: bool| match lookup(body, f) {
            Some(v) => values.iter().any(|x| values_equal(x, v)),
            None => absent,
        };
        if !self.also.iter().all(|(f, vs)| field_matches(f, vs, false)) {
            return None;
        }
        if self.per_item {
            let n = lookup(body, &self.field).and_then(Value::as_array).map_or(0, Vec::len);
            return (n > 0).then_some(self.credits * n as f64);
        }
        field_matches(&self.field, &self.values, self.absent_matches).then_some(self.credits)
    }
}

/// What a model can do; the tools pick their models by these.
pub const TAGS: &[&str] = &[
    "first_frame",
    "last_frame",
    "middle_frames",
    "image_references",
    "video_references",
    "audio_references",
    "keyframes",
    "edit",
    "restyle",
    "extend",
    "audio_output",
    "multi_prompt",
    "draft",
    "seed",
    "negative_prompt",
    "multiple_outputs",
    "hdr",
    "prores",
    "transparent_background",
    "vector",
    "mask_edit",
    "voice",
    "lip_sync",
];

/// The field that sets how many outputs one task makes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputCount {
    pub field: String,
    #[serde(default = "one_usize")]
    pub default: usize,
}

fn one_usize() -> usize {
    1
}

/// A model Runway has taken out of its API, and what to use instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Removed {
    pub endpoint: String,
    pub model: String,
    pub replacement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub endpoint: String,
    pub model: String,
    pub title: String,
    pub output: MediaKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_count: Option<OutputCount>,
    pub fields: BTreeMap<String, Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// None when Runway has not published a price.
    pub cost: Option<Cost>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub path: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    pub api_version: String,
    pub endpoints: Vec<Endpoint>,
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
        let mut seen = std::collections::BTreeSet::new();
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
                if let Some(f) = cases.flat_map(|k| std::iter::once(&k.field).chain(k.also.keys())).find(|f| !known(f))
                {
                    return Err(format!("{at}: cost names unknown field {f}"));
                }
                if !["second", "image", "task", "characters", "input_second"].contains(&c.unit.as_str()) {
                    return Err(format!("{at}: unknown cost unit {}", c.unit));
                }
            }
            if let Some(f) = m.cost.as_ref().and_then(|c| c.count_field.as_ref()).filter(|f| !m.fields.contains_key(*f))
            {
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

    /// Checks a request body for `endpoint`. Returns the model on success; every problem at once
    /// otherwise, each naming the field, the value and what is allowed.
    pub fn validate(&self, endpoint: &str, body: &Value) -> Result<&Model> {
        let ep_name = normalize_endpoint(endpoint);
        if self.endpoint(ep_name).is_none() {
            let known: Vec<&str> = self.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(Error::Validation {
                message: format!(
                    "endpoint: '{ep_name}' is not in the catalogue (known: {}); pass validate=False to send it anyway",
                    known.join(", ")
                ),
                issues: vec![],
            });
        }
        let Some(obj) = body.as_object() else {
            return Err(Error::validation(
                vec![issue("invalid_type", vec![], format!("expected a JSON object, got {}", kind_of(body)))],
                ep_name,
            ));
        };
        let model_name = match obj.get("model") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(Error::validation(
                    vec![issue(
                        "invalid_type",
                        vec![json!("model")],
                        format!("expected a string, got {}", kind_of(other)),
                    )],
                    ep_name,
                ))
            }
            None => {
                return Err(Error::validation(
                    vec![issue(
                        "invalid_type",
                        vec![json!("model")],
                        format!("required; one of: {}", self.model_names(ep_name)),
                    )],
                    ep_name,
                ))
            }
        };
        if let Some(r) = self.removed(ep_name, model_name) {
            let note = r.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            return Err(Error::validation(
                vec![issue(
                    "invalid_union_discriminator",
                    vec![json!("model")],
                    format!("'{model_name}' was removed from Runway's API{note}; use '{}' instead", r.replacement),
                )],
                ep_name,
            ));
        }
        let Some(model) = self.model(ep_name, model_name) else {
            return Err(Error::validation(
                vec![issue(
                    "invalid_union_discriminator",
                    vec![json!("model")],
                    format!(
                        "'{model_name}' is not a known {ep_name} model (known: {}); pass validate=False to send it anyway",
                        self.model_names(ep_name)
                    ),
                )],
                ep_name,
            ));
        };
        let issues = model.check(obj);
        if issues.is_empty() {
            Ok(model)
        } else {
            Err(Error::validation(issues, &format!("invalid {} request for model {}", ep_name, model.model)))
        }
    }

    fn model_names(&self, endpoint: &str) -> String {
        self.models_for(endpoint).iter().map(|m| m.model.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The catalogue as plain JSON (definitions resolved), for `runway_core.models()`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

pub fn normalize_endpoint(s: &str) -> &str {
    s.trim_start_matches('/').trim_start_matches("v1/")
}

impl Model {
    /// All problems in `body` for this model; empty when the body is acceptable.
    pub fn check(&self, body: &Map<String, Value>) -> Vec<Issue> {
        let mut issues = Vec::new();
        check_object_fields(&self.fields, body, &mut vec![], &mut issues, &["model"]);
        for rule in &self.rules {
            if rule.when.holds(body) {
                rule_issues(rule, body, &mut issues);
            }
        }
        issues
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// How many outputs `body` asks for (1 unless the model has an output-count field).
    pub fn output_count(&self, body: &Value) -> usize {
        let Some(oc) = &self.output_count else { return 1 };
        body.get(&oc.field).and_then(Value::as_u64).map_or(oc.default, |n| n as usize).max(1)
    }

    /// The most this request can cost, in credits, when the catalogue knows enough to say.
    pub fn estimate_cost(&self, body: &Value) -> Option<f64> {
        let cost = self.cost.as_ref()?;
        let obj = body.as_object()?;
        let mut rate = cost.overrides.iter().find_map(|c| c.credits_for(obj)).unwrap_or(cost.credits);
        rate += cost.extras.iter().filter_map(|c| c.credits_for(obj)).sum::<f64>();
        let amount = match cost.unit.as_str() {
            "second" => match obj.get("duration") {
                Some(Value::Number(n)) => n.as_f64()?,
                Some(Value::String(s)) if s == "auto" => cost.auto_duration?,
                _ => cost.default_duration?,
            },
            "image" => cost.count_field.as_ref().and_then(|f| obj.get(f)).and_then(Value::as_f64).unwrap_or(1.0),
            "characters" => obj.get("promptText").and_then(Value::as_str)?.chars().count() as f64,
            "task" => 1.0,
            _ => return None,
        };
        Some((cost.base + rate * amount / cost.per).ceil())
    }
}

/// The spec of a field at a dotted path (`providerSettings.multiPrompt`), through objects.
pub fn field_at<'a>(fields: &'a BTreeMap<String, Field>, path: &str) -> Option<&'a Field> {
    let mut parts = path.split('.');
    let mut f = fields.get(parts.next()?)?;
    for p in parts {
        f = object_fields(&f.spec)?.get(p)?;
    }
    Some(f)
}

/// The fields of an object spec, or of the object option of a union.
fn object_fields(spec: &Spec) -> Option<&BTreeMap<String, Field>> {
    match spec {
        Spec::Object { fields, .. } => Some(fields),
        Spec::AnyOf { options } => options.iter().find_map(object_fields),
        _ => None,
    }
}

fn rule_issues(rule: &Rule, body: &Map<String, Value>, issues: &mut Vec<Issue>) {
    let msg = &rule.message;
    for f in &rule.require {
        if lookup(body, f).is_none() {
            issues.push(issue("custom", path_of(f), format!("required: {msg}")));
        }
    }
    for f in &rule.forbid {
        if lookup(body, f).is_some() {
            issues.push(issue("custom", path_of(f), format!("not allowed: {msg}")));
        }
    }
    if !rule.require_one_of.is_empty() && !rule.require_one_of.iter().any(|f| lookup(body, f).is_some()) {
        issues.push(issue(
            "custom",
            path_of(&rule.require_one_of[0]),
            format!("one of {} is required: {msg}", rule.require_one_of.join(", ")),
        ));
    }
    for (f, allowed) in &rule.allow {
        if let Some(v) = lookup(body, f) {
            if !allowed.iter().any(|a| values_equal(a, v)) {
                issues.push(issue(
                    "custom",
                    path_of(f),
                    format!("{} is not allowed ({msg}); allowed: {}", show(v), list_values(allowed)),
                ));
            }
        }
    }
    let count = |f: &str| lookup(body, f).and_then(Value::as_array).map_or(0, Vec::len);
    for (f, n) in &rule.min_items {
        if count(f) < *n {
            issues.push(issue("custom", path_of(f), format!("{} items; at least {n} required: {msg}", count(f))));
        }
    }
    for (f, n) in &rule.max_items {
        if count(f) > *n {
            issues.push(issue("custom", path_of(f), format!("{} items; at most {n} allowed: {msg}", count(f))));
        }
    }
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

fn issue(code: &str, path: Vec<Value>, message: String) -> Issue {
    Issue { code: code.into(), path, message }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as it appears in messages: strings quoted and cut short, others as JSON.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let cut: String = s.chars().take(60).collect();
            if cut.len() < s.len() {
                format!("'{cut}…'")
            } else {
                format!("'{s}'")
            }
        }
        other => {
            let s = other.to_string();
            if s.len() > 60 {
                format!("{}…", &s[..s.char_indices().nth(60).map_or(s.len(), |(i, _)| i)])
            } else {
                s
            }
        }
    }
}

fn list_values(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// JSON equality where 5 and 5.0 are the same number (JSON does not distinguish them; Runway's
/// validator runs on parsed JavaScript numbers).
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn integral(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if let Some(u) = n.as_u64() {
        return i64::try_from(u).ok();
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

fn check_object_fields(
    fields: &BTreeMap<String, Field>,
    obj: &Map<String, Value>,
    path: &mut Vec<Value>,
    issues: &mut Vec<Issue>,
    ignore: &[&str],
) {
    for (name, field) in fields {
        path.push(json!(name));
        match obj.get(name) {
            None if field.required => {
                issues.push(issue("invalid_type", path.clone(), format!("required{}", hint(&field.spec))));
            }
            None => {}
            Some(v) => check_value(&field.spec, v, path, issues),
        }
        path.pop();
    }
    let mut unknown: Vec<&String> =
        obj.keys().filter(|k| !fields.contains_key(*k) && !ignore.contains(&k.as_str())).collect();
    unknown.sort();
    for k in unknown {
        let mut p = path.clone();
        p.push(json!(k));
        let accepted: Vec<&str> = fields.keys().map(String::as_str).collect();
        issues.push(issue(
            "unrecognized_keys",
            p,
            format!("not accepted here; accepted fields: {}", accepted.join(", ")),
        ));
    }
}

/// A short "what is allowed" hint for a missing required field.
fn hint(spec: &Spec) -> String {
    match spec {
        Spec::Enum { values } => format!("; one of: {}", list_values(values)),
        Spec::Media { kind } => format!("; {} (https URL, runway:// URI or data URI)", kind.with_article()),
        Spec::Int { min: Some(a), max: Some(b) } => format!("; an integer from {a} to {b}"),
        Spec::Text { max: Some(m), .. } => format!("; text of at most {m} UTF-16 code units"),
        _ => String::new(),
    }
}

fn check_value(spec: &Spec, v: &Value, path: &mut Vec<Value>, issues: &mut Vec<Issue>) {
    let before = issues.len();
    match spec {
        Spec::Any => {}
        Spec::Ref { name } => issues.push(issue("custom", path.clone(), format!("unresolved definition {name}"))),
        Spec::Text { min, max } => match v.as_str() {
            None => issues.push(issue("invalid_type", path.clone(), format!("expected text, got {}", kind_of(v)))),
            Some(s) => {
                let n = s.encode_utf16().count();
                if let Some(m) = max {
                    if n > *m {
                        issues.push(issue(
                            "too_big",
                            path.clone(),
                            format!("{n} UTF-16 code units; at most {m} allowed"),
                        ));
                    }
                }
                if let Some(m) = min {
                    if n < *m {
                        let what = if *m == 1 { "must not be empty".to_string() } else { format!("{n} UTF-16 code units; at least {m} required") };
                        issues.push(issue("too_small", path.clone(), what));
                    }
                }
            }
        },
        Spec::Enum { values } => {
            if !values.iter().any(|a| values_equal(a, v)) {
                issues.push(issue(
                    "invalid_enum_value",
                    path.clone(),
                    format!("{} is not allowed; allowed: {}", show(v), list_values(values)),
                ));
            }
        }
        Spec::Int { min, max } => match integral(v) {
            None => issues.push(issue("invalid_type", path.clone(), format!("expected an integer, got {}", show(v)))),
            Some(i) => range_check(i as f64, min.map(|x| x as f64), max.map(|x| x as f64), v, path, issues),
        },
        Spec::Number { min, max } => match v.as_f64() {
            None => issues.push(issue("invalid_type", path.clone(), format!("expected a number, got {}", show(v)))),
            Some(f) => range_check(f, *min, *max, v, path, issues),
        },
        Spec::Bool => {
            if !v.is_boolean() {
                issues.push(issue("invalid_type", path.clone(), format!("expected true or false, got {}", show(v))));
            }
        }
        Spec::Tag => match v.as_str() {
            Some(s) if valid_tag(s) => {}
            _ => issues.push(issue(
                "invalid_string",
                path.clone(),
                format!("{} is not a valid tag: 3–16 characters, starting with a letter, then letters, digits or underscores", show(v)),
            )),
        },
        Spec::Media { kind } => {
            if let Some(msg) = check_media(*kind, v) {
                // A non-string is a type mismatch, so that `any_of` reports the list form instead.
                let code = if v.is_string() { "invalid_string" } else { "invalid_type" };
                issues.push(issue(code, path.clone(), msg));
            }
        }
        Spec::Array { items, min_items, max_items, unique_by, require_item, all_or_none, sum_of, max_per_value } => {
            let Some(arr) = v.as_array() else {
                issues.push(issue("invalid_type", path.clone(), format!("expected a list, got {}", kind_of(v))));
                return;
            };
            if let Some(m) = max_items {
                if arr.len() > *m {
                    issues.push(issue("too_big", path.clone(), format!("{} items; at most {m} allowed", arr.len())));
                }
            }
            if let Some(m) = min_items {
                if arr.len() < *m {
                    issues.push(issue("too_small", path.clone(), format!("{} items; at least {m} required", arr.len())));
                }
            }
            for (i, item) in arr.iter().enumerate() {
                path.push(json!(i));
                check_value(items, item, path, issues);
                path.pop();
            }
            if let Some(key) = unique_by {
                let mut seen: Vec<&Value> = Vec::new();
                for (i, item) in arr.iter().enumerate() {
                    if let Some(k) = item.get(key) {
                        if seen.iter().any(|s| values_equal(s, k)) {
                            let mut p = path.clone();
                            p.extend([json!(i), json!(key)]);
                            issues.push(issue("custom", p, format!("{} is used by more than one item", show(k))));
                        }
                        seen.push(k);
                    }
                }
            }
            if let Some(req) = require_item {
                let found = arr.iter().any(|item| req.iter().all(|(k, want)| item.get(k).is_some_and(|x| values_equal(x, want))));
                if !found && !arr.is_empty() {
                    let desc: Vec<String> = req.iter().map(|(k, v)| format!("{k} {}", show(v))).collect();
                    issues.push(issue("custom", path.clone(), format!("an item with {} is required", desc.join(" and "))));
                }
            }
            if let Some(key) = all_or_none {
                let with = arr.iter().filter(|i| i.get(key).is_some()).count();
                if with != 0 && with != arr.len() {
                    issues.push(issue("custom", path.clone(), format!("either every item has '{key}' or none has ({with} of {} do)", arr.len())));
                }
            }
            if let Some(s) = sum_of {
                let total: f64 = arr.iter().filter_map(|i| i.get(&s.key).and_then(Value::as_f64)).sum();
                let lo = s.min.unwrap_or(f64::NEG_INFINITY);
                let hi = s.max.unwrap_or(f64::INFINITY);
                if total < lo || total > hi {
                    let range = match (s.min, s.max) {
                        (Some(a), Some(b)) => format!("from {a} to {b}"),
                        (Some(a), None) => format!("at least {a}"),
                        (None, Some(b)) => format!("at most {b}"),
                        _ => String::new(),
                    };
                    let code = if total < lo { "too_small" } else { "too_big" };
                    issues.push(issue(code, path.clone(), format!("the items' {} add up to {total}; allowed {range}", s.key)));
                }
            }
            if let Some(mp) = max_per_value {
                for (value, max) in &mp.max {
                    let n = arr.iter().filter(|i| i.get(&mp.key).and_then(Value::as_str) == Some(value.as_str())).count();
                    if n > *max {
                        issues.push(issue(
                            "too_big",
                            path.clone(),
                            format!("{n} items with {} '{value}'; at most {max} allowed", mp.key),
                        ));
                    }
                }
            }
        }
        Spec::Object { fields, exactly_one_of } => {
            let Some(obj) = v.as_object() else {
                issues.push(issue("invalid_type", path.clone(), format!("expected an object, got {}", kind_of(v))));
                return;
            };
            check_object_fields(fields, obj, path, issues, &[]);
            if !exactly_one_of.is_empty() {
                let n = exactly_one_of.iter().filter(|k| obj.contains_key(*k)).count();
                if n != 1 {
                    issues.push(issue("custom", path.clone(), format!("exactly one of {} is required ({n} given)", exactly_one_of.join(", "))));
                }
            }
        }
        Spec::AnyOf { options } => {
            // Accept when any option accepts; otherwise report the option whose shape matches the
            // value's JSON type best (a string against the string option, a list against the list).
            let mut best: Option<Vec<Issue>> = None;
            for opt in options {
                let mut trial = Vec::new();
                check_value(opt, v, path, &mut trial);
                if trial.is_empty() {
                    return;
                }
                let type_mismatch = trial.len() == 1 && trial[0].code == "invalid_type" && trial[0].path == *path;
                if !type_mismatch && best.is_none() {
                    best = Some(trial);
                }
            }
            match best {
                Some(b) => issues.extend(b),
                None => {
                    let kinds: Vec<String> = options.iter().map(describe_spec).collect();
                    issues.push(issue("invalid_union", path.clone(), format!("expected {}, got {}", kinds.join(" or "), show(v))));
                }
            }
        }
    }
    debug_assert!(issues.len() >= before);
}

fn range_check(x: f64, min: Option<f64>, max: Option<f64>, v: &Value, path: &[Value], issues: &mut Vec<Issue>) {
    let lo = min.map_or(f64::NEG_INFINITY, |m| m);
    let hi = max.map_or(f64::INFINITY, |m| m);
    if x < lo || x > hi {
        let range = match (min, max) {
            (Some(a), Some(b)) => format!("from {a} to {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            _ => String::new(),
        };
        let code = if x < lo { "too_small" } else { "too_big" };
        issues.push(issue(code, path.to_vec(), format!("{} is out of range; allowed {range}", show(v))));
    }
}

fn describe_spec(s: &Spec) -> String {
    match s {
        Spec::Text { .. } => "text".into(),
        Spec::Enum { values } => format!("one of {}", list_values(values)),
        Spec::Int { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("an integer from {a} to {b}"),
            _ => "an integer".into(),
        },
        Spec::Number { .. } => "a number".into(),
        Spec::Bool => "true or false".into(),
        Spec::Media { kind } => format!("{} URI", kind.with_article()),
        Spec::Tag => "a tag".into(),
        Spec::Array { .. } => "a list".into(),
        Spec::Object { .. } => "an object".into(),
        Spec::AnyOf { .. } | Spec::Any | Spec::Ref { .. } => "a value".into(),
    }
}

pub fn valid_tag(s: &str) -> bool {
    let n = s.chars().count();
    (3..=16).contains(&n)
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks one media URI the way Runway's schema does; None when acceptable.
pub fn check_media(kind: MediaKind, v: &Value) -> Option<String> {
    let forms = format!("an https URL, a runway:// upload URI or a data:{}/ URI", kind.as_str());
    let Some(s) = v.as_str() else {
        return Some(format!("expected {forms}, got {}", kind_of(v)));
    };
    if let Some(rest) = s.strip_prefix("https://") {
        if s.len() > 2048 {
            return Some(format!("URL is {} characters; at most 2048 allowed", s.len()));
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        let hostname = host.split(':').next().unwrap_or("");
        if hostname.is_empty() || s.len() < 13 {
            return Some(format!("{} is not a valid URL", show(v)));
        }
        if hostname.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
            return Some("URLs must be hosted on a domain, not an IP address".into());
        }
        return None;
    }
    if s.starts_with("runway://") {
        return if (13..=5000).contains(&s.len()) {
            None
        } else {
            Some(format!("{} is not a valid runway:// URI", show(v)))
        };
    }
    if let Some(rest) = s.strip_prefix("data:") {
        let prefix = format!("{}/", kind.as_str());
        if !rest.starts_with(&prefix) {
            let got = rest.split([';', ',']).next().unwrap_or("");
            return Some(format!("data URI has type '{got}'; a data:{prefix}… URI is required here"));
        }
        if !rest.split(',').next().unwrap_or("").ends_with(";base64") || !rest.contains(',') {
            return Some("data URI must be base64 (data:<type>;base64,<data>)".into());
        }
        let max = kind.data_uri_max();
        if s.len() > max {
            return Some(format!(
                "data URI is {} bytes; at most {max} bytes ({} MiB) allowed for a {} data URI (use an upload for larger files)",
                s.len(),
                max / (1024 * 1024),
                kind.as_str()
            ));
        }
        return None;
    }
    if s.starts_with("http://") {
        return Some("only HTTPS URLs are allowed".into());
    }
    Some(format!("expected {forms}, got {}", show(v)))
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
