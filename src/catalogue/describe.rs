//! How values and specs read in messages: a value quoted and cut short, a list of allowed values,
//! what a spec accepts. Every issue text is built from these, so they read the same everywhere.

use serde_json::Value;

use super::types::Spec;

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
