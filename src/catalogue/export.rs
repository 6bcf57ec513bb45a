//! What the catalogue gives other languages: its data as plain JSON, with the text made here
//! beside it (each model's price and each field's allowed values, in words), and the price range
//! over several models. Made once, so the Python packages never word these themselves.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cost::summary;
use super::describe::allowed;
use super::load::Catalogue;
use super::types::Field;

impl Catalogue {
    /// The catalogue as plain JSON (definitions resolved), for `runway_core.catalogue()`: each
    /// model gains `cost_text`, and each top-level field of a model or of an operation's query or
    /// body gains `allowed`.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(models) = v.get_mut("models").and_then(Value::as_array_mut) {
            for (json, m) in models.iter_mut().zip(&self.models) {
                json["cost_text"] = Value::String(m.cost_text());
                add_allowed(&mut json["fields"], &m.fields);
            }
        }
        if let Some(ops) = v.get_mut("operations").and_then(Value::as_array_mut) {
            for (json, op) in ops.iter_mut().zip(&self.operations) {
                if let Some(q) = json.get_mut("query") {
                    add_allowed(q, &op.query);
                }
                if let (Some(b), Some(body)) = (json.get_mut("body"), &op.body) {
                    add_allowed(b, body);
                }
            }
        }
        v
    }

    /// The price range over the models named by (endpoint, model) pairs, for a tool description
    /// ("Cost: 5-40 credits/s."); an unknown pair is an error naming it.
    pub fn cost_summary<E: AsRef<str>, M: AsRef<str>>(&self, models: &[(E, M)]) -> Result<String, String> {
        let found = models
            .iter()
            .map(|(e, m)| {
                self.model(e.as_ref(), m.as_ref())
                    .ok_or_else(|| format!("no model {} at endpoint {}", m.as_ref(), e.as_ref()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(summary(found.iter().map(|m| m.cost.as_ref())))
    }
}

fn add_allowed(json: &mut Value, fields: &BTreeMap<String, Field>) {
    for (name, f) in fields {
        if let Some(obj) = json.get_mut(name).and_then(Value::as_object_mut) {
            obj.insert("allowed".into(), Value::String(allowed(&f.spec)));
        }
    }
}
