//! Reading request bodies: the value at a dotted path, and JSON equality as Runway sees it.
//! Rules, checks and cost cases all look at bodies this way.

use serde_json::{json, Map, Value};

/// The value at a dotted path (`providerSettings.shotType`) of a body.
pub fn lookup<'a>(body: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = body.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// A dotted path as the path of an issue.
pub(super) fn path_of(dotted: &str) -> Vec<Value> {
    dotted.split('.').map(|p| json!(p)).collect()
}

/// JSON equality where 5 and 5.0 are the same number (JSON does not distinguish them; Runway's
/// validator runs on parsed JavaScript numbers).
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
