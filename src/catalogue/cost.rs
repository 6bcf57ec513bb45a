//! What a task costs: the price of a model as `catalogue.json` states it, the local estimate
//! of a request's credits from it, and the price in words (one model's, and a range over several).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::{lookup, values_equal};
use super::words::{num, plain};

/// What a model without a published price says instead of one.
pub const PRICE_NOT_PUBLISHED: &str = "price not published; Runway's estimate comes back when the task is created";

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

/// The unit after a rate of credits per one unit ("12 credits/s").
fn unit_text(unit: &str) -> &str {
    match unit {
        "second" => "credits/s",
        "image" => "credits/image",
        "task" => "credits/task",
        "characters" => "credits/char",
        "input_second" => "credits/s of input",
        other => other,
    }
}

/// The unit after "per N" ("1 per 50 characters").
fn unit_noun(unit: &str) -> &str {
    match unit {
        "second" => "s",
        "input_second" => "s of input",
        "image" => "images",
        other => other,
    }
}

fn joined(values: &[Value]) -> String {
    values.iter().map(plain).collect::<Vec<_>>().join("/")
}

impl Cost {
    /// The price in words: base, rate, then each override and extra ("40 credits/s; 20 when
    /// audio is False").
    pub fn text(&self) -> String {
        let rate = if self.per != 1.0 {
            format!("{} per {} {}", num(self.credits, 6), num(self.per, 6), unit_noun(&self.unit))
        } else {
            format!("{} {}", num(self.credits, 6), unit_text(&self.unit))
        };
        let mut text = if self.base != 0.0 { format!("{} + {rate}", num(self.base, 6)) } else { rate };
        for o in &self.overrides {
            // Long value lists (ratios) are cut: the rate matters, describe_model lists the values.
            let values: String = joined(&o.values).chars().take(60).collect();
            text += &format!("; {} when {} is {values}", num(o.credits, 6), o.field);
        }
        for x in &self.extras {
            let what = if x.per_item {
                format!("per item of {}", x.field)
            } else {
                format!("for {} {}", x.field, joined(&x.values[..x.values.len().min(3)]))
            };
            let sign = if x.credits >= 0.0 { "+" } else { "" };
            text += &format!("; {sign}{} {what}", num(x.credits, 6));
        }
        text
    }

    /// The lowest and highest rate per unit: the cheapest case, and the dearest case with every
    /// flat extra that can add to it.
    fn range(&self) -> (f64, f64) {
        let rates = std::iter::once(self.credits).chain(self.overrides.iter().map(|o| o.credits));
        let (lo, hi) = rates.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), r| (l.min(r), h.max(r)));
        let extra: f64 = self.extras.iter().filter(|x| !x.per_item).map(|x| x.credits.max(0.0)).sum();
        (lo / self.per, (hi + extra) / self.per)
    }
}

/// One line over several models' prices (None: not published), for a tool description: the range
/// per unit over those with a price ("Cost: 5-40 credits/s."); unpublished ones are left out, and
/// with none published it is empty (the server's instructions say a price range covers only the
/// published prices, and every description is context an agent pays for).
pub fn summary<'a>(costs: impl IntoIterator<Item = Option<&'a Cost>>) -> String {
    // Units in the order they first appear, each with every bound seen.
    let mut by_unit: Vec<(&str, Vec<f64>)> = Vec::new();
    for c in costs.into_iter().flatten() {
        let (lo, hi) = c.range();
        match by_unit.iter_mut().find(|(u, _)| *u == c.unit) {
            Some((_, bounds)) => bounds.extend([lo, hi]),
            None => by_unit.push((&c.unit, vec![lo, hi])),
        }
    }
    if by_unit.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by_unit
        .iter()
        .map(|(unit, bounds)| {
            let lo = bounds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // Fractions of a credit read better rounded (0.33, not 0.333333).
            let digits = if lo < 1.0 { 2 } else { 6 };
            let close = (hi - lo).abs() <= 1e-9 * lo.abs().max(hi.abs());
            let range = if close { num(lo, digits) } else { format!("{}-{}", num(lo, digits), num(hi, digits)) };
            format!("{range} {}", unit_text(unit))
        })
        .collect();
    format!("Cost: {}.", parts.join(", "))
}
