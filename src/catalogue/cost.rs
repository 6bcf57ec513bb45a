//! What a task costs: the price of a model as `catalogue.json` states it, and the local estimate
//! of a request's credits from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::{lookup, values_equal};

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

impl Cost {
    /// The credits for `body` (`Model::estimate_cost`); None when the unit or the body does not
    /// say enough.
    pub(super) fn estimate(&self, body: &Value) -> Option<f64> {
        let obj = body.as_object()?;
        let mut rate = self.overrides.iter().find_map(|c| c.credits_for(obj)).unwrap_or(self.credits);
        rate += self.extras.iter().filter_map(|c| c.credits_for(obj)).sum::<f64>();
        let amount = match self.unit.as_str() {
            "second" => match obj.get("duration") {
                Some(Value::Number(n)) => n.as_f64()?,
                Some(Value::String(s)) if s == "auto" => self.auto_duration?,
                _ => self.default_duration?,
            },
            "image" => self.count_field.as_ref().and_then(|f| obj.get(f)).and_then(Value::as_f64).unwrap_or(1.0),
            "characters" => obj.get("promptText").and_then(Value::as_str)?.chars().count() as f64,
            "task" => 1.0,
            _ => return None,
        };
        Some((self.base + rate * amount / self.per).ceil())
    }
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
