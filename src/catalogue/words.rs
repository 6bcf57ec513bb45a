//! How numbers and plain values print in the catalogue's text for people (allowed values,
//! prices), so a field's limits and a model's cost read alike.

use serde_json::Value;

/// `x` with at most `digits` significant digits, without an exponent; whole numbers print in
/// full (4294967295, not 4.29497e+09), fractions lose trailing zeros (0.02, not 0.020000).
pub(super) fn num(x: f64, digits: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let magnitude = x.abs().log10().floor() as i64;
    let decimals = (digits as i64 - 1 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A value as a word: strings bare, numbers as written; true/false/null read `True`, `False`,
/// `None`, the wording the server's tools have always shown.
pub(super) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}
