//! The spec language of `catalogue.json` as Rust types: media kinds, value specs, fields, rules,
//! tags and models. Serde reads them; what serde cannot check is checked in `load`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cost::{Cost, PRICE_NOT_PUBLISHED};

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
    /// JSON null: a field Runway lets a caller clear (inside an `any_of`).
    Null,
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
/// (`Condition::holds` lives with the checks in `validate`.)
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

/// How many outputs one task makes: the value of `field` (a dotted path), else `default`. No
/// field: always `default` (a recipe that makes four images).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputCount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
    /// The endpoint's one model (set on load from the endpoint's `fixed_model`): its body names
    /// no model.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

impl Model {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// How many outputs `body` asks for (1 unless the model has an output-count field).
    pub fn output_count(&self, body: &Value) -> usize {
        let Some(oc) = &self.output_count else { return 1 };
        let given = match (&oc.field, body.as_object()) {
            (Some(f), Some(obj)) => super::body::lookup(obj, f).and_then(Value::as_u64),
            _ => None,
        };
        given.map_or(oc.default, |n| n as usize).max(1)
    }

    /// The price in words, or that Runway has not published one.
    pub fn cost_text(&self) -> String {
        self.cost.as_ref().map_or_else(|| PRICE_NOT_PUBLISHED.into(), Cost::text)
    }

    /// The most this request can cost, in credits, when the catalogue knows enough to say.
    pub fn estimate_cost(&self, body: &Value) -> Option<f64> {
        self.cost.as_ref()?.estimate(body)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub path: String,
    pub description: String,
    /// The SDK's name for this operation when it is not `<name>.create` (`recipes.product_ad`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The endpoint's one model, for bodies that carry no `model` field (recipes, routers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_model: Option<String>,
}

impl Endpoint {
    /// The operation's dotted name, as the SDK names its method (`text_to_video.create`).
    pub fn operation_name(&self) -> String {
        self.operation.clone().unwrap_or_else(|| format!("{}.create", self.name.replace('/', ".")))
    }
}
