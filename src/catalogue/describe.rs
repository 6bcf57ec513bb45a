//! How values and specs read in messages: a value quoted and cut short, a list of allowed values,
//! what a spec accepts. Every issue text is built from these, so they read the same everywhere;
//! `allowed` is the short form the catalogue exports for each field.

use serde_json::Value;

use super::types::Spec;
use super::words::{num, plain};

pub(super) fn kind_of(v: &Value) -> &'static str {
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
pub(super) fn show(v: &Value) -> String {
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

pub(super) fn list_values(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short "what is allowed" hint for a missing required field.
pub(super) fn hint(spec: &Spec) -> String {
    match spec {
        Spec::Enum { values } => format!("; one of: {}", list_values(values)),
        Spec::Media { kind } => format!("; {} (https URL, runway:// URI or data URI)", kind.with_article()),
        Spec::Int { min: Some(a), max: Some(b) } => format!("; an integer from {a} to {b}"),
        Spec::Text { max: Some(m), .. } => format!("; text of at most {m} UTF-16 code units"),
        _ => String::new(),
    }
}

/// What a spec accepts, as a noun phrase (for a union none of whose options fit).
pub(super) fn describe_spec(s: &Spec) -> String {
    match s {
        Spec::Text { .. } => "text".into(),
        Spec::Enum { values } => format!("one of {}", list_values(values)),
        Spec::Int { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("an integer from {a} to {b}"),
            _ => "an integer".into(),
        },
        Spec::Number { .. } => "a number".into(),
        Spec::Bool => "true or false".into(),
        Spec::Null => "null".into(),
        Spec::Media { kind } => format!("{} URI", kind.with_article()),
        Spec::Tag => "a tag".into(),
        Spec::Array { .. } => "a list".into(),
        Spec::Object { .. } => "an object".into(),
        Spec::AnyOf { .. } | Spec::Any | Spec::Ref { .. } => "a value".into(),
    }
}

/// "from 1 to 5", "at least 1", "at most 5": the allowed range in a too-small/too-big message.
pub(super) fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("from {a} to {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        _ => String::new(),
    }
}

/// What a field accepts, in a few words for a listing ("integer 1-5", "text, at most 1000 chars",
/// "list of {uri: image (media input)} (at most 3)"); objects list their keys, `?` when optional.
pub fn allowed(spec: &Spec) -> String {
    match spec {
        Spec::Enum { values } => values.iter().map(plain).collect::<Vec<_>>().join(", "),
        Spec::Int { min, max } => bounded("integer", min.map(|x| x.to_string()), max.map(|x| x.to_string())),
        Spec::Number { min, max } => bounded("number", min.map(|x| num(x, 6)), max.map(|x| num(x, 6))),
        Spec::Text { max: Some(m), .. } if *m > 0 => format!("text, at most {m} chars"),
        Spec::Text { .. } => "text".into(),
        Spec::AnyOf { options } => options.iter().map(allowed).collect::<Vec<_>>().join(" or "),
        Spec::Media { kind } => format!("{} (media input)", kind.as_str()),
        Spec::Array { items, max_items, .. } => match max_items {
            Some(n) if *n > 0 => format!("list of {} (at most {n})", allowed(items)),
            _ => format!("list of {}", allowed(items)),
        },
        Spec::Object { fields, .. } => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, f)| format!("{k}{}: {}", if f.required { "" } else { "?" }, allowed(&f.spec)))
                .collect();
            format!("{{{}}}", parts.join("; "))
        }
        Spec::Bool => "bool".into(),
        Spec::Null => "null".into(),
        Spec::Tag => "tag".into(),
        Spec::Any => "any".into(),
        Spec::Ref { .. } => "ref".into(),
    }
}

/// "integer 1-5", "number >= 0", "integer <= 10", or the bare kind.
fn bounded(kind: &str, min: Option<String>, max: Option<String>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{kind} {a}-{b}"),
        (Some(a), None) => format!("{kind} >= {a}"),
        (None, Some(b)) => format!("{kind} <= {b}"),
        (None, None) => kind.into(),
    }
}
