//! Pagination, the same for every list: `limit` (default 50) items, then an opaque `cursor` the
//! simulator issued for the next page, as `{data, hasMore, nextCursor}`. A cursor names a place in
//! one list of one account; any other (made up, or another list's) is refused with a 400.
//! Also here: reading a query string by an operation's query fields.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::catalogue::{Field, Spec};
use crate::errors::Issue;
use crate::simulator::{invalid, Resp};

pub const DEFAULT_LIMIT: usize = 50;

/// Cursors issued: token → (list scope, offset of the next item).
#[derive(Default)]
pub struct Cursors {
    issued: Mutex<HashMap<String, (String, usize)>>,
}

impl Cursors {
    /// One page of `items` (already filtered and in list order) for `query`'s `limit` and
    /// `cursor`. `scope` names the list (`<key>/<operation>`), so a cursor serves only its list.
    pub fn page(&self, scope: &str, items: Vec<Value>, query: &Map<String, Value>) -> Result<Value, Resp> {
        let limit = query.get("limit").and_then(Value::as_u64).map_or(DEFAULT_LIMIT, |n| n.max(1) as usize);
        let start = match query.get("cursor").and_then(Value::as_str) {
            None => 0,
            Some(c) => match self.issued.lock().unwrap().get(c) {
                Some((s, offset)) if s == scope => *offset,
                _ => {
                    return Err(invalid(&[Issue {
                        code: "custom".into(),
                        path: vec![json!("cursor")],
                        message: "Invalid cursor: it was not issued for this list.".into(),
                    }]))
                }
            },
        };
        let end = (start + limit).min(items.len());
        let data: Vec<Value> = items.get(start.min(items.len())..end).map(<[Value]>::to_vec).unwrap_or_default();
        let has_more = end < items.len();
        let next = if has_more {
            let token = format!("c{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
            self.issued.lock().unwrap().insert(token.clone(), (scope.to_string(), end));
            Value::String(token)
        } else {
            Value::Null
        };
        Ok(json!({"data": data, "hasMore": has_more, "nextCursor": next}))
    }
}

/// A query string read by the operation's query fields: numbers for int and number fields, comma
/// lists for array fields, `true`/`false` for booleans, text otherwise (unknown names too, so the
/// check names them).
pub fn parse_query(fields: &std::collections::BTreeMap<String, Field>, raw: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = crate::util::percent_decode(&k.replace('+', " "));
        let v = crate::util::percent_decode(&v.replace('+', " "));
        let value = match fields.get(&k).map(|f| &f.spec) {
            Some(spec) => typed(spec, &v),
            None => Value::String(v),
        };
        out.insert(k, value);
    }
    out
}

fn typed(spec: &Spec, v: &str) -> Value {
    match spec {
        Spec::Int { .. } => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(v.into())),
        Spec::Number { .. } => v
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(v.into()), Value::Number),
        Spec::Bool => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(v.into()),
        },
        Spec::Array { items, .. } => {
            Value::Array(v.split(',').filter(|s| !s.is_empty()).map(|s| typed(items, s)).collect())
        }
        Spec::Enum { values } if values.iter().any(Value::is_number) => {
            v.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(v.into()))
        }
        _ => Value::String(v.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_cursors_and_refuse_strangers() {
        let c = Cursors::default();
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let q = |cursor: Option<&str>| {
            let mut m = Map::new();
            m.insert("limit".into(), json!(2));
            if let Some(c) = cursor {
                m.insert("cursor".into(), json!(c));
            }
            m
        };
        let p1 = c.page("k/l", items.clone(), &q(None)).ok().unwrap();
        assert_eq!(p1["data"], json!([0, 1]));
        let next = p1["nextCursor"].as_str().unwrap().to_string();
        let p2 = c.page("k/l", items.clone(), &q(Some(&next))).ok().unwrap();
        assert_eq!(p2["data"], json!([2, 3]));
        assert!(c.page("k/other", items.clone(), &q(Some(&next))).is_err());
        assert!(c.page("k/l", items, &q(Some("made-up"))).is_err());
    }
}
