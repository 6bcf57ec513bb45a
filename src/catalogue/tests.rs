// The private helpers the tests call by name; the rest comes through the module's re-exports.
use super::body::{path_of, values_equal};
use super::describe::{list_values, show};
use super::validate::check_value;
use super::*;

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::errors::{Error, Issue};

#[test]
fn compiled_catalogue_loads() {
    let cat = catalogue();
    assert!(!cat.models.is_empty());
    assert!(cat.model("text_to_video", "gen4.5").is_some());
    assert!(cat.model("/v1/image_to_video", "veo3.1").is_some());
}

#[test]
fn valid_body_passes_and_bad_ratio_names_field() {
    let cat = catalogue();
    let ok = json!({"model": "gen4.5", "promptText": "a cat", "ratio": "1280:720", "duration": 5});
    assert!(cat.validate("text_to_video", &ok).is_ok());
    let bad = json!({"model": "gen4.5", "promptText": "a cat", "ratio": "1920:1080", "duration": 5});
    let e = cat.validate("text_to_video", &bad).unwrap_err().to_string();
    assert!(e.contains("ratio") && e.contains("'1920:1080'") && e.contains("1280:720, 720:1280"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A valid value for `spec`. `full` picks the "largest" valid value (every optional object field,
/// the most items, the upper bounds, the array form of a union); otherwise the smallest one.
/// `i` is the item index inside an array, used to keep `unique_by` keys distinct.
fn sample(spec: &Spec, full: bool, i: usize) -> Value {
    match spec {
        Spec::Text { min, max } => {
            let lo = min.unwrap_or(0);
            let n = if full { max.unwrap_or(lo.max(5)) } else { lo.max(5).min(max.unwrap_or(usize::MAX)) };
            json!("a".repeat(n))
        }
        Spec::Enum { values } => values[i % values.len()].clone(),
        Spec::Int { min, max } => {
            let v = if full { max.or(*min).unwrap_or(7) } else { min.or(*max).unwrap_or(7) };
            json!(v)
        }
        Spec::Number { min, max } => {
            let v = if full { max.or(*min).unwrap_or(0.5) } else { min.or(*max).unwrap_or(0.5) };
            json!(v)
        }
        Spec::Bool => json!(true),
        Spec::Null => Value::Null,
        Spec::Media { kind } => {
            if full {
                json!(format!("data:{}/mp4;base64,AAAA", kind.as_str()))
            } else {
                json!(format!("https://example.com/{}/{i}", kind.as_str()))
            }
        }
        Spec::Tag => json!(format!("tag_{i}")),
        Spec::Array { min_items, max_items, .. } => {
            let n = if full {
                max_items.unwrap_or(2)
            } else {
                min_items.unwrap_or(0).max(1).min(max_items.unwrap_or(usize::MAX))
            };
            Value::Array(sample_items(spec, full, n))
        }
        Spec::Object { fields, exactly_one_of } => {
            let mut obj = Map::new();
            for (name, f) in fields {
                let in_one_of = exactly_one_of.contains(name);
                let take = if in_one_of { exactly_one_of[0] == *name } else { f.required || full };
                if take {
                    obj.insert(name.clone(), sample(&f.spec, full, i));
                }
            }
            Value::Object(obj)
        }
        Spec::AnyOf { options } => {
            let opt = if full { options.last().unwrap() } else { &options[0] };
            sample(opt, full, i)
        }
        Spec::Any => json!("anything"),
        Spec::Ref { name } => panic!("unresolved ref {name} in the compiled catalogue"),
    }
}

/// `n` valid items for the list spec `spec`, honouring its item checks: distinct `unique_by` keys
/// (dropped from every item when there are more items than distinct values, which also keeps
/// `all_or_none`), `require_item` on the first item, `sum_of` (the key values add up to the lower
/// bound, or the upper one when `full`) and `max_per_value` (items past a value's cap move to a
/// value with room, or lose the key).
fn sample_items(spec: &Spec, full: bool, n: usize) -> Vec<Value> {
    let Spec::Array { items, unique_by, require_item, sum_of, max_per_value, .. } = spec else {
        panic!("not a list spec: {spec:?}")
    };
    let mut arr: Vec<Value> = (0..n).map(|k| sample(items, full, k)).collect();
    if let Some(key) = unique_by {
        let keys: Vec<&Value> = arr.iter().filter_map(|item| item.get(key)).collect();
        let dup = keys.iter().enumerate().any(|(a, x)| keys[..a].iter().any(|y| values_equal(x, y)));
        if dup {
            for item in arr.iter_mut().filter_map(Value::as_object_mut) {
                item.remove(key);
            }
        }
    }
    if let (Some(req), Some(Value::Object(first))) = (require_item, arr.first_mut()) {
        for (k, v) in req {
            first.insert(k.clone(), v.clone());
        }
    }
    if let Some(s) = sum_of {
        let target = if full { s.max.or(s.min) } else { s.min.or(s.max) };
        if let (Some(t), false) = (target, arr.is_empty()) {
            let count = arr.len() as f64;
            let each = (t / count).floor();
            for (k, item) in arr.iter_mut().filter_map(Value::as_object_mut).enumerate() {
                let v = if k == 0 { t - each * (count - 1.0) } else { each };
                let v = if v.fract() == 0.0 { json!(v as i64) } else { json!(v) };
                item.insert(s.key.clone(), v);
            }
        }
    }
    if let Some(mp) = max_per_value {
        let cap = |v: &str| mp.max.get(v).copied().unwrap_or(usize::MAX);
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        for item in arr.iter_mut().filter_map(Value::as_object_mut) {
            let Some(v) = item.get(&mp.key).and_then(Value::as_str).map(str::to_string) else { continue };
            let room = |w: &str, used: &BTreeMap<String, usize>| used.get(w).copied().unwrap_or(0) < cap(w);
            let pick = if room(&v, &used) { Some(v) } else { mp.max.keys().find(|w| room(w, &used)).cloned() };
            match pick {
                Some(w) => {
                    *used.entry(w.clone()).or_default() += 1;
                    item.insert(mp.key.clone(), json!(w));
                }
                None => {
                    item.remove(&mp.key);
                }
            }
        }
    }
    arr
}

/// The list spec of a list field (or the list form of a union such as `promptImage`).
fn array_spec(spec: &Spec) -> Option<&Spec> {
    match spec {
        Spec::Array { .. } => Some(spec),
        Spec::AnyOf { options } => options.iter().find_map(array_spec),
        _ => None,
    }
}

/// The spec of a (dotted) field of a model.
fn spec_at<'a>(m: &'a Model, path: &str) -> &'a Spec {
    &field_at(&m.fields, path).unwrap_or_else(|| panic!("{} {} has no field {path}", m.endpoint, m.model)).spec
}

/// Valid values of `spec` to choose from: every enum value (also inside unions), both booleans,
/// and the small and the large sample.
fn candidates(spec: &Spec) -> Vec<Value> {
    let mut out = match spec {
        Spec::Enum { values } => values.clone(),
        Spec::Bool => vec![json!(true), json!(false)],
        Spec::AnyOf { options } => options.iter().flat_map(candidates).collect(),
        _ => vec![],
    };
    out.push(sample(spec, false, 0));
    out.push(sample(spec, true, 0));
    out
}

fn set_path(body: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            body.insert(path.to_string(), v);
        }
        Some((head, rest)) => {
            let o = body.entry(head.to_string()).or_insert_with(|| json!({}));
            set_path(o.as_object_mut().expect("dotted path through a non-object"), rest, v);
        }
    }
}

fn remove_path(body: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            body.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(o)) = body.get_mut(head) {
                remove_path(o, rest);
            }
        }
    }
}

/// Sets a (dotted) field of a model's body, first giving a missing parent object its smallest
/// valid value, so that the parent's other required keys are there.
fn set_field(m: &Model, body: &mut Map<String, Value>, path: &str, v: Value) {
    if let Some((parent, _)) = path.rsplit_once('.') {
        if lookup(body, parent).is_none() {
            set_field(m, body, parent, sample(spec_at(m, parent), false, 0));
        }
    }
    set_path(body, path, v);
}

/// Items in the list at `path` (0 when absent or not a list, as the engine counts).
fn list_len(body: &Map<String, Value>, path: &str) -> usize {
    lookup(body, path).and_then(Value::as_array).map_or(0, Vec::len)
}

/// Makes a rule's condition hold in `body`.
fn make_hold(m: &Model, cond: &Condition, body: &mut Map<String, Value>) {
    let Some(f) = &cond.field else { return };
    if let Some(v) = &cond.equals {
        set_field(m, body, f, v.clone());
    } else if let Some(list) = &cond.one_of {
        set_field(m, body, f, list[0].clone());
    } else if cond.present == Some(false) {
        assert!(!field_at(&m.fields, f).unwrap().required, "{}: condition on absent required {f}", m.model);
        remove_path(body, f);
    } else if lookup(body, f).is_none() {
        set_field(m, body, f, sample(spec_at(m, f), false, 0));
    }
}

/// Makes a rule's condition fail in `body`, switching the rule off.
fn make_fail(m: &Model, cond: &Condition, body: &mut Map<String, Value>) {
    let f = cond.field.as_ref().unwrap_or_else(|| panic!("{}: a rule that always applies cannot be avoided", m.model));
    if cond.present == Some(false) {
        set_field(m, body, f, sample(spec_at(m, f), false, 0));
    } else if !field_at(&m.fields, f).unwrap().required {
        remove_path(body, f);
    } else {
        let other = candidates(spec_at(m, f))
            .into_iter()
            .find(|v| {
                let mut b = body.clone();
                set_field(m, &mut b, f, v.clone());
                !cond.holds(&b)
            })
            .unwrap_or_else(|| panic!("{}: no value of required {f} avoids the rule", m.model));
        set_field(m, body, f, other);
    }
}

/// Adjusts `body` until every rule of the model holds: forbidden fields go, required ones come,
/// disallowed values and item counts are corrected. A field in `pinned` keeps its value: a rule
/// that would change it is switched off (its condition made false) instead.
fn satisfy_rules(m: &Model, body: &mut Map<String, Value>, pinned: &[&str]) {
    for _ in 0..8 {
        let mut changed = false;
        for rule in &m.rules {
            if !rule.when.holds(body) {
                continue;
            }
            let is_pinned = |f: &String| pinned.contains(&f.as_str()) && lookup(body, f).is_some();
            let clash = rule.forbid.iter().any(is_pinned)
                || rule.allow.iter().any(|(f, allowed)| {
                    is_pinned(f) && !allowed.iter().any(|a| values_equal(a, lookup(body, f).unwrap()))
                });
            if clash {
                make_fail(m, &rule.when, body);
                changed = true;
                continue;
            }
            for f in &rule.forbid {
                if lookup(body, f).is_some() {
                    remove_path(body, f);
                    changed = true;
                }
            }
            let first_of =
                rule.require_one_of.iter().all(|f| lookup(body, f).is_none()).then(|| rule.require_one_of.first());
            for f in rule.require.iter().chain(first_of.flatten()) {
                if lookup(body, f).is_none() {
                    set_field(m, body, f, sample(spec_at(m, f), false, 0));
                    changed = true;
                }
            }
            for (f, allowed) in &rule.allow {
                if lookup(body, f).is_some_and(|v| !allowed.iter().any(|a| values_equal(a, v))) {
                    set_field(m, body, f, allowed[0].clone());
                    changed = true;
                }
            }
            for (f, n) in &rule.min_items {
                if list_len(body, f) < *n {
                    let list = array_spec(spec_at(m, f)).unwrap_or_else(|| panic!("{}: {f} is not a list", m.model));
                    set_field(m, body, f, Value::Array(sample_items(list, false, *n)));
                    changed = true;
                }
            }
            for (f, n) in &rule.max_items {
                if list_len(body, f) > *n {
                    let mut items = lookup(body, f).and_then(Value::as_array).unwrap().clone();
                    items.truncate(*n);
                    set_field(m, body, f, Value::Array(items));
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
    panic!("{} {}: the rules do not settle: {}", m.endpoint, m.model, Value::Object(body.clone()));
}

/// A body's start: the model's name, unless its endpoint has only this one (recipes).
fn named_model(m: &Model) -> Map<String, Value> {
    let mut body = Map::new();
    if !m.fixed {
        body.insert("model".into(), json!(m.model));
    }
    body
}

fn minimal_body(m: &Model) -> Value {
    let mut body = named_model(m);
    for (name, f) in &m.fields {
        if f.required {
            body.insert(name.clone(), sample(&f.spec, false, 0));
        }
    }
    // A required field's first value may call for another (multi-shot's auto mode, a prompt).
    satisfy_rules(m, &mut body, &[]);
    Value::Object(body)
}

/// Every field at its largest, then adjusted so that the rules hold (which may remove a field a
/// rule forbids, e.g. everything next to seedance2_5's draftTaskId).
fn maximal_body(m: &Model) -> Value {
    let mut body = named_model(m);
    for (name, f) in &m.fields {
        body.insert(name.clone(), sample(&f.spec, true, 0));
    }
    satisfy_rules(m, &mut body, &[]);
    Value::Object(body)
}

/// Enum fields of a model by dotted path, through nested objects (not lists or unions).
fn enum_fields<'a>(fields: &'a BTreeMap<String, Field>, prefix: &str, out: &mut Vec<(String, &'a Vec<Value>)>) {
    for (name, f) in fields {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match &f.spec {
            Spec::Enum { values } => out.push((path, values)),
            Spec::Object { fields, .. } => enum_fields(fields, &path, out),
            _ => {}
        }
    }
}

fn model(endpoint: &str, name: &str) -> &'static Model {
    catalogue().model(endpoint, name).unwrap_or_else(|| panic!("{endpoint} {name} missing"))
}

/// The minimal body for a model with some fields replaced (null removes the field).
fn body_with(endpoint: &str, name: &str, changes: Value) -> Value {
    let mut body = minimal_body(model(endpoint, name));
    let obj = body.as_object_mut().unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    body
}

fn ok(endpoint: &str, body: &Value) {
    if let Err(e) = catalogue().validate(endpoint, body) {
        panic!("expected {endpoint} to accept {body}, got: {e}");
    }
}

/// Validates and expects a refusal; returns (message, issues).
fn refused(endpoint: &str, body: &Value) -> (String, Vec<Issue>) {
    match catalogue().validate(endpoint, body) {
        Ok(m) => panic!("expected {endpoint} {} to refuse {body}", m.model),
        Err(Error::Validation { message, issues }) => (message, issues),
        Err(other) => panic!("expected a validation error, got {other:?}"),
    }
}

fn has_issue(issues: &[Issue], path: &[Value], needle: &str) -> bool {
    issues.iter().any(|i| i.path == path && i.message.contains(needle))
}

fn assert_issue(endpoint: &str, body: &Value, path: Value, needle: &str) -> String {
    let (msg, issues) = refused(endpoint, body);
    let path = path.as_array().unwrap().clone();
    assert!(has_issue(&issues, &path, needle), "no issue at {path:?} containing {needle:?}; got: {msg}");
    msg
}

// Which models and fields Runway's API has is checked against the official SDK's own request
// types, by tests/core/test_catalogue_sdk.py; these tests take the model and endpoint lists from the
// catalogue, so adding a model is one data edit.

/// The catalogue's endpoints, in its order.
fn endpoints() -> Vec<&'static str> {
    catalogue().endpoints.iter().map(|e| e.name.as_str()).collect()
}

/// The endpoints whose bodies name their model (all but recipes and router generation).
fn endpoints_naming_models() -> Vec<&'static str> {
    catalogue().endpoints.iter().filter(|e| e.fixed_model.is_none()).map(|e| e.name.as_str()).collect()
}

/// The catalogue's models of an endpoint, sorted.
fn expected_models(endpoint: &str) -> Vec<&'static str> {
    let mut v: Vec<&str> =
        catalogue().models.iter().filter(|m| m.endpoint == endpoint).map(|m| m.model.as_str()).collect();
    v.sort();
    v
}

/// The model names a "one of: a, b, c" / "(known: a, b, c)" message lists, sorted.
fn listed_after<'a>(msg: &'a str, marker: &str) -> Vec<&'a str> {
    let start = msg.find(marker).unwrap_or_else(|| panic!("no {marker:?} in {msg}")) + marker.len();
    let rest = &msg[start..];
    let end = rest.find([')', ';']).unwrap_or(rest.len());
    let mut v: Vec<&str> = rest[..end].split(", ").collect();
    v.sort();
    v
}

const URL: &str = "https://example.com/a.png";
const VIDEO_URL: &str = "https://example.com/a.mp4";

// ---------------------------------------------------------------------------------------------
// Catalogue shape
// ---------------------------------------------------------------------------------------------

#[test]
fn every_endpoint_is_a_task_endpoint_with_models() {
    let cat = catalogue();
    let mut pairs: Vec<(&str, &str)> = cat.models.iter().map(|m| (m.endpoint.as_str(), m.model.as_str())).collect();
    let n = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), n, "a model listed twice for one endpoint");
    for e in &cat.endpoints {
        assert_eq!(e.path, format!("/v1/{}", e.name));
        assert!(!e.description.is_empty(), "{}", e.name);
        assert!(!cat.models_for(&e.name).is_empty(), "{} has no model", e.name);
    }
    assert!(cat.models.iter().all(|m| cat.endpoint(&m.endpoint).is_some()));
    assert_eq!(cat.api_version, "2024-11-06");
}

#[test]
fn no_unresolved_refs_after_loading() {
    fn walk(s: &Spec) {
        match s {
            Spec::Ref { name } => panic!("unresolved ref {name}"),
            Spec::Array { items, .. } => walk(items),
            Spec::Object { fields, .. } => fields.values().for_each(|f| walk(&f.spec)),
            Spec::AnyOf { options } => options.iter().for_each(walk),
            _ => {}
        }
    }
    for m in &catalogue().models {
        for f in m.fields.values() {
            walk(&f.spec);
        }
    }
}

#[test]
fn rules_and_costs_name_real_fields() {
    for m in &catalogue().models {
        for r in &m.rules {
            for f in r.fields() {
                assert!(field_at(&m.fields, f).is_some(), "{} rule names {f}", m.model);
            }
            assert!(!r.message.is_empty());
        }
        if let Some(c) = &m.cost {
            for case in c.overrides.iter().chain(&c.extras) {
                assert!(field_at(&m.fields, &case.field).is_some(), "{} cost names {}", m.model, case.field);
            }
            assert!(!c.source.is_empty());
        }
    }
}

/// The catalogue refuses to load with a typo that would silently switch a check off.
#[test]
fn load_time_checks_catch_typos() {
    let base = |model: &str| {
        format!(
            r#"{{"api_version": "x", "endpoints": [{{"name": "e", "path": "/v1/e", "description": ""}}],
               "models": [{model}], "removed": []}}"#
        )
    };
    let m = |extra: &str| {
        base(&format!(
            r#"{{"endpoint": "e", "model": "m", "title": "M", "output": "video",
                "fields": {{"a": {{"type": "bool"}}, "o": {{"type": "object", "fields": {{"b": {{"type": "bool"}}}}}}}}{extra}}}"#
        ))
    };
    assert!(Catalogue::parse(&m("")).is_ok());
    assert!(
        Catalogue::parse(&m(r#", "rules": [{"when": {"field": "o.b"}, "require": ["a"], "message": "x"}]"#)).is_ok()
    );
    let err = Catalogue::parse(&m(r#", "rules": [{"when": {"field": "o.c"}, "message": "x"}]"#)).unwrap_err();
    assert!(err.contains("unknown field o.c"), "{err}");
    let err = Catalogue::parse(&m(r#", "rules": [{"forbid": ["zz"], "message": "x"}]"#)).unwrap_err();
    assert!(err.contains("unknown field zz"), "{err}");
    let err = Catalogue::parse(&m(r#", "tags": ["teleport"]"#)).unwrap_err();
    assert!(err.contains("unknown tag 'teleport'"), "{err}");
    let err = Catalogue::parse(&m(r#", "cost": {"unit": "parsec", "credits": 1, "source": "s"}"#)).unwrap_err();
    assert!(err.contains("unknown cost unit"), "{err}");
    let err = Catalogue::parse(&m(
        r#", "cost": {"unit": "task", "credits": 1, "extras": [{"field": "q", "values": [1], "credits": 1}], "source": "s"}"#,
    ))
    .unwrap_err();
    assert!(err.contains("cost names unknown field q"), "{err}");
    let twice = base(
        r#"{"endpoint": "e", "model": "m", "title": "M", "output": "video", "fields": {}},
           {"endpoint": "e", "model": "m", "title": "M", "output": "video", "fields": {}}"#,
    );
    assert!(Catalogue::parse(&twice).unwrap_err().contains("listed twice"));
    let err = Catalogue::parse(&base(
        r#"{"endpoint": "e", "model": "m", "title": "M", "output": "image", "fields": {"outputCount": {"type": "int"}},
            "cost": {"unit": "image", "credits": 2, "count_field": "outputCont", "source": "s"}}"#,
    ))
    .unwrap_err();
    assert!(err.contains("count_field names unknown field outputCont"), "{err}");
    let err = Catalogue::parse(&base(
        r#"{"endpoint": "e", "model": "m", "title": "M", "output": "image", "fields": {"refs": {"type": "array",
            "unique_by": "tga", "items": {"type": "object", "fields": {"tag": {"type": "tag"}}}}}}"#,
    ))
    .unwrap_err();
    assert!(err.contains("refs: array check names 'tga'"), "{err}");
}

#[test]
fn field_defaults_are_valid_values() {
    for m in &catalogue().models {
        for (name, f) in &m.fields {
            if let Some(d) = &f.default {
                let mut issues = Vec::new();
                check_value(&f.spec, d, &mut vec![json!(name)], &mut issues);
                assert!(issues.is_empty(), "{} {}.default {d} invalid: {issues:?}", m.model, name);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every model: minimal and maximal bodies, each required field, unknown fields
// ---------------------------------------------------------------------------------------------

#[test]
fn minimal_body_of_every_model_is_accepted() {
    for m in &catalogue().models {
        let body = minimal_body(m);
        let got = catalogue().validate(&m.endpoint, &body);
        assert!(got.is_ok(), "{} {} minimal {body}: {}", m.endpoint, m.model, got.unwrap_err());
        assert_eq!(got.unwrap().model, m.model);
        // Also through the /v1/ path form.
        ok(&format!("/v1/{}", m.endpoint), &body);
    }
}

#[test]
fn maximal_body_of_every_model_is_accepted() {
    for m in &catalogue().models {
        let body = maximal_body(m);
        let obj = body.as_object().unwrap();
        // Every optional field is really there, unless a rule that applies to this very body
        // forbids it (seedance2_5's draftTaskId forbids every other generation field).
        let forbidden: Vec<&String> = m.rules.iter().filter(|r| r.when.holds(obj)).flat_map(|r| &r.forbid).collect();
        for name in m.fields.keys() {
            assert!(
                obj.contains_key(name) || forbidden.contains(&name),
                "{} {}: the maximal body lacks {name}, which no applying rule forbids: {body}",
                m.endpoint,
                m.model
            );
        }
        let got = catalogue().validate(&m.endpoint, &body);
        assert!(got.is_ok(), "{} {} maximal {body}: {}", m.endpoint, m.model, got.unwrap_err());
    }
}

#[test]
fn every_required_field_missing_is_named() {
    for m in &catalogue().models {
        for (name, f) in m.fields.iter().filter(|(_, f)| f.required) {
            let mut body = minimal_body(m);
            body.as_object_mut().unwrap().remove(name);
            let (msg, issues) = refused(&m.endpoint, &body);
            assert_eq!(issues.len(), 1, "{msg}");
            assert_eq!(issues[0].path, vec![json!(name)]);
            assert_eq!(issues[0].code, "invalid_type");
            assert!(issues[0].message.starts_with("required"), "{msg}");
            assert!(msg.contains(&format!("{name}: required")), "{msg}");
            if let Spec::Enum { values } = &f.spec {
                assert!(msg.contains(&list_values(values)), "hint lists allowed values: {msg}");
            }
        }
    }
}

#[test]
fn every_required_nested_field_missing_is_named() {
    // Required keys inside the objects of a minimal body (voice.presetId, reference.uri, ...).
    let mut checked = 0;
    for m in &catalogue().models {
        let base = minimal_body(m);
        for (name, f) in m.fields.iter().filter(|(_, f)| f.required) {
            let Spec::Object { fields, .. } = &f.spec else { continue };
            for (key, _) in fields.iter().filter(|(_, g)| g.required) {
                let mut body = base.clone();
                body[name].as_object_mut().unwrap().remove(key);
                let (msg, issues) = refused(&m.endpoint, &body);
                assert_eq!(issues.len(), 1, "{msg}");
                assert_eq!(issues[0].path, vec![json!(name), json!(key)], "{msg}");
                assert!(msg.contains(&format!("{name}.{key}: required")), "{msg}");
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}

/// For every rule: a body that satisfies all rules with the rule's condition holding is accepted;
/// breaking just that rule (drop a required field, add a forbidden one, drop every one of
/// `require_one_of`, give a value outside `allow`, one item too few or too many) is refused with
/// the rule's message at the field it names, and nothing else.
#[test]
fn every_rule_is_enforced() {
    let mut broken = 0;
    for m in &catalogue().models {
        for (ri, rule) in m.rules.iter().enumerate() {
            let at = format!("{} {} rule {ri} ({})", m.endpoint, m.model, rule.message);
            let mut base = minimal_body(m).as_object().unwrap().clone();
            make_hold(m, &rule.when, &mut base);
            let pinned: Vec<&str> = rule.when.field.iter().map(String::as_str).collect();
            satisfy_rules(m, &mut base, &pinned);
            assert!(rule.when.holds(&base), "{at}: the condition does not hold in {base:?}");
            if let Err(e) = catalogue().validate(&m.endpoint, &Value::Object(base.clone())) {
                panic!("{at}: a body satisfying the rules is refused: {e}");
            }

            let mut breaks: Vec<(&String, &str, Map<String, Value>)> = Vec::new();
            for f in &rule.require {
                let mut b = base.clone();
                remove_path(&mut b, f);
                breaks.push((f, "require", b));
            }
            for f in &rule.forbid {
                let mut b = base.clone();
                set_field(m, &mut b, f, sample(spec_at(m, f), false, 0));
                breaks.push((f, "forbid", b));
            }
            if let Some(first) = rule.require_one_of.first() {
                let mut b = base.clone();
                for f in &rule.require_one_of {
                    remove_path(&mut b, f);
                }
                breaks.push((first, "require_one_of", b));
            }
            for (f, allowed) in &rule.allow {
                let bad = candidates(spec_at(m, f))
                    .into_iter()
                    .find(|v| !allowed.iter().any(|a| values_equal(a, v)))
                    .unwrap_or_else(|| panic!("{at}: allow on {f} admits every value, so it checks nothing"));
                let mut b = base.clone();
                set_field(m, &mut b, f, bad);
                breaks.push((f, "allow", b));
            }
            for (f, n) in &rule.min_items {
                assert!(*n > 0, "{at}: min_items 0 checks nothing");
                let mut b = base.clone();
                if *n == 1 && !field_at(&m.fields, f).unwrap().required {
                    remove_path(&mut b, f); // absent counts as 0 items
                } else {
                    set_field(
                        m,
                        &mut b,
                        f,
                        Value::Array(sample_items(array_spec(spec_at(m, f)).unwrap(), false, n - 1)),
                    );
                }
                breaks.push((f, "min_items", b));
            }
            for (f, n) in &rule.max_items {
                let mut b = base.clone();
                set_field(m, &mut b, f, Value::Array(sample_items(array_spec(spec_at(m, f)).unwrap(), false, n + 1)));
                breaks.push((f, "max_items", b));
            }
            assert!(!breaks.is_empty(), "{at}: the rule checks nothing");

            for (f, how, b) in breaks {
                let body = Value::Object(b);
                let (msg, issues) = refused(&m.endpoint, &body);
                assert!(
                    has_issue(&issues, &path_of(f), &rule.message),
                    "{at}: breaking {how} {f} gave no issue at {f} with the rule's message: {msg}"
                );
                assert!(
                    issues.iter().all(|i| i.message.contains(&rule.message)),
                    "{at}: breaking {how} {f} broke something else too: {msg}"
                );
                broken += 1;
            }
        }
    }
    let rules: usize = catalogue().models.iter().map(|m| m.rules.len()).sum();
    assert!(rules > 0 && broken >= rules, "{broken} breaks for {rules} rules");
}

#[test]
fn missing_required_hints() {
    let m = assert_issue(
        "image_to_video",
        &body_with("image_to_video", "gen4.5", json!({"duration": null})),
        json!(["duration"]),
        "an integer from 2 to 10",
    );
    assert!(m.contains("duration: required; an integer from 2 to 10"), "{m}");
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "veo3.1", json!({"promptText": null})),
        json!(["promptText"]),
        "text of at most 1000 UTF-16 code units",
    );
    assert_issue(
        "video_to_video",
        &body_with("video_to_video", "aleph2", json!({"videoUri": null})),
        json!(["videoUri"]),
        "video (https URL, runway:// URI or data URI)",
    );
}

#[test]
fn unknown_field_is_rejected_and_accepted_fields_listed() {
    for m in &catalogue().models {
        let mut body = minimal_body(m);
        body.as_object_mut().unwrap().insert("bogusField".into(), json!(1));
        let (msg, issues) = refused(&m.endpoint, &body);
        assert_eq!(issues.len(), 1, "{msg}");
        assert_eq!(issues[0].code, "unrecognized_keys");
        assert_eq!(issues[0].path, vec![json!("bogusField")]);
        let accepted: Vec<&str> = m.fields.keys().map(String::as_str).collect();
        assert!(issues[0].message.contains(&format!("accepted fields: {}", accepted.join(", "))), "{msg}");
        assert!(msg.contains("bogusField: not accepted here"), "{msg}");
    }
}

#[test]
fn field_of_another_model_is_unknown() {
    // veo3.1 text_to_video has no promptImage; gen4_turbo has no audio; gen4.5 t2v has no negativePrompt.
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "veo3.1", json!({"promptImage": URL})),
        json!(["promptImage"]),
        "not accepted here",
    );
    assert_issue(
        "image_to_video",
        &body_with("image_to_video", "gen4_turbo", json!({"audio": false})),
        json!(["audio"]),
        "not accepted here",
    );
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"negativePrompt": "blur"})),
        json!(["negativePrompt"]),
        "not accepted here",
    );
    // snake_case spelling is not the wire format
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"prompt_text": "x"})),
        json!(["prompt_text"]),
        "promptText",
    );
}

#[test]
fn unknown_nested_field_is_rejected_with_full_path() {
    let body =
        body_with("image_to_video", "veo3.1", json!({"promptImage": [{"uri": URL, "position": "first", "weight": 1}]}));
    let (msg, issues) = refused("image_to_video", &body);
    assert!(
        has_issue(&issues, &[json!("promptImage"), json!(0), json!("weight")], "accepted fields: position, uri"),
        "{msg}"
    );
    assert!(msg.contains("promptImage[0].weight"), "{msg}");

    let body = body_with("text_to_video", "gen4.5", json!({"contentModeration": {"level": "lenient"}}));
    assert_issue("text_to_video", &body, json!(["contentModeration", "level"]), "publicFigureThreshold");
}

// ---------------------------------------------------------------------------------------------
// Types, enums, ranges
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_enum_value_lists_allowed_values() {
    let m = assert_issue(
        "text_to_video",
        &body_with("text_to_video", "veo3.1", json!({"duration": 5})),
        json!(["duration"]),
        "5 is not allowed; allowed: 4, 6, 8",
    );
    assert!(m.contains("invalid text_to_video request for model veo3.1"), "{m}");
    assert_issue(
        "video_upscale",
        &body_with("video_upscale", "magnific_video_upscaler_creative", json!({"resolution": "8k"})),
        json!(["resolution"]),
        "'8k' is not allowed; allowed: 720p, 1k, 2k, 4k",
    );
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"contentModeration": {"publicFigureThreshold": "high"}})),
        json!(["contentModeration", "publicFigureThreshold"]),
        "allowed: auto, low",
    );
    assert_issue(
        "video_to_video",
        &body_with("video_to_video", "seedance2_5", json!({"mode": "remix"})),
        json!(["mode"]),
        "allowed: reference, extend, edit",
    );
    assert_issue(
        "video_to_video",
        &body_with("video_to_video", "aleph2", json!({"targetAspectRatio": "5:4"})),
        json!(["targetAspectRatio"]),
        "16:9, 4:3, 3:2, 1:1, 2:3, 3:4, 9:16, 21:9",
    );
    // Enums are exact: the string "8" is not the number 8, case matters.
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "veo3.1", json!({"duration": "8"})),
        json!(["duration"]),
        "'8' is not allowed",
    );
    assert_issue(
        "video_upscale",
        &body_with("video_upscale", "magnific_video_upscaler_creative", json!({"resolution": "4K"})),
        json!(["resolution"]),
        "'4K'",
    );
}

#[test]
fn every_enum_value_is_accepted() {
    // Every value of every enum field (nested ones too) is accepted in some valid body: the rules
    // are satisfied around it, switching off a rule that would refuse the value (e.g. ideogram_4_5's
    // 1024:576 needs reference images; bria_fibo_edit_1_5's ratios need two of them).
    let mut checked = 0;
    for m in &catalogue().models {
        let mut enums = Vec::new();
        enum_fields(&m.fields, "", &mut enums);
        for (path, values) in enums {
            for v in values {
                let mut body = minimal_body(m).as_object().unwrap().clone();
                set_field(m, &mut body, &path, v.clone());
                satisfy_rules(m, &mut body, &[path.as_str()]);
                assert_eq!(lookup(&body, &path), Some(v), "{} {}: {path} lost {v}", m.endpoint, m.model);
                ok(&m.endpoint, &Value::Object(body));
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn every_enum_field_refuses_a_value_outside_it() {
    for m in &catalogue().models {
        let mut enums = Vec::new();
        enum_fields(&m.fields, "", &mut enums);
        for (path, values) in enums {
            let bad = if values.iter().all(Value::is_number) { json!(12345) } else { json!("not_a_value") };
            assert!(!values.contains(&bad));
            let mut body = minimal_body(m).as_object().unwrap().clone();
            set_field(m, &mut body, &path, bad.clone());
            let body = Value::Object(body);
            let (msg, issues) = refused(&m.endpoint, &body);
            let want = format!("{} is not allowed; allowed: {}", show(&bad), list_values(values));
            assert!(
                has_issue(&issues, &path_of(&path), &want),
                "{} {}: no issue at {path} saying {want:?}: {msg}",
                m.endpoint,
                m.model
            );
            assert!(msg.contains(&format!("{path}: {want}")), "{msg}");
        }
    }
}

#[test]
fn int_out_of_range_is_refused() {
    for ep in ["text_to_video", "image_to_video"] {
        for d in [1, 11, 0, -5] {
            let code = if d < 2 { "too_small" } else { "too_big" };
            let (msg, issues) = refused(ep, &body_with(ep, "gen4.5", json!({"duration": d})));
            assert_eq!(issues.len(), 1, "{msg}");
            assert_eq!(issues[0].code, code);
            assert!(issues[0].message.contains("out of range; allowed from 2 to 10"), "{msg}");
        }
        for d in [2, 10] {
            ok(ep, &body_with(ep, "gen4.5", json!({"duration": d})));
        }
    }
    assert_issue(
        "image_to_video",
        &body_with("image_to_video", "gen4_turbo", json!({"duration": 11})),
        json!(["duration"]),
        "from 2 to 10",
    );
    ok("image_to_video", &body_with("image_to_video", "gen4_turbo", json!({"duration": 5})));
}

#[test]
fn integral_float_counts_as_int_but_fraction_does_not() {
    ok("text_to_video", &body_with("text_to_video", "gen4.5", json!({"duration": 5.0})));
    ok("text_to_video", &body_with("text_to_video", "veo3.1", json!({"duration": 8.0})));
    ok("text_to_video", &body_with("text_to_video", "gen4.5", json!({"seed": 42.0})));
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"duration": 5.5})),
        json!(["duration"]),
        "expected an integer, got 5.5",
    );
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"duration": "5"})),
        json!(["duration"]),
        "expected an integer",
    );
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "gen4.5", json!({"duration": true})),
        json!(["duration"]),
        "expected an integer",
    );
}

#[test]
fn seed_bounds() {
    for ep in ["text_to_video", "image_to_video"] {
        ok(ep, &body_with(ep, "gen4.5", json!({"seed": 0})));
        ok(ep, &body_with(ep, "gen4.5", json!({"seed": 4294967295u64})));
        assert_issue(
            ep,
            &body_with(ep, "gen4.5", json!({"seed": 4294967296u64})),
            json!(["seed"]),
            "allowed from 0 to 4294967295",
        );
        assert_issue(ep, &body_with(ep, "gen4.5", json!({"seed": -1})), json!(["seed"]), "out of range");
        assert_issue(ep, &body_with(ep, "gen4.5", json!({"seed": 1.5})), json!(["seed"]), "expected an integer");
        assert_issue(ep, &body_with(ep, "gen4.5", json!({"seed": "7"})), json!(["seed"]), "expected an integer");
    }
    // Every model that takes a seed shares the bounds.
    for m in catalogue().models.iter().filter(|m| m.fields.contains_key("seed")) {
        let mut body = minimal_body(m);
        body["seed"] = json!(4294967295u64);
        ok(&m.endpoint, &body);
        body["seed"] = json!(4294967296u64);
        refused(&m.endpoint, &body);
    }
}

#[test]
fn number_and_bool_fields() {
    let ep = "video_upscale";
    let name = "magnific_video_upscaler_creative";
    ok(ep, &body_with(ep, name, json!({"creativity": 0, "sharpen": 100, "smartGrain": 50.5, "fpsBoost": false})));
    assert_issue(ep, &body_with(ep, name, json!({"creativity": 101})), json!(["creativity"]), "allowed from 0 to 100");
    assert_issue(ep, &body_with(ep, name, json!({"sharpen": -1})), json!(["sharpen"]), "out of range");
    assert_issue(ep, &body_with(ep, name, json!({"smartGrain": "high"})), json!(["smartGrain"]), "expected a number");
    assert_issue(ep, &body_with(ep, name, json!({"fpsBoost": "yes"})), json!(["fpsBoost"]), "expected true or false");
    assert_issue(
        "text_to_video",
        &body_with("text_to_video", "veo3.1", json!({"audio": 1})),
        json!(["audio"]),
        "expected true or false",
    );
}

// ---------------------------------------------------------------------------------------------
// Text length in UTF-16 code units
// ---------------------------------------------------------------------------------------------

#[test]
fn prompt_length_is_counted_in_utf16_units() {
    let ep = "text_to_video";
    // 1000 emoji = 2000 UTF-16 units: too long.
    let (msg, issues) = refused(ep, &body_with(ep, "gen4.5", json!({"promptText": "😀".repeat(1000)})));
    assert_eq!(issues.len(), 1, "{msg}");
    assert_eq!(issues[0].code, "too_big");
    assert!(issues[0].message.contains("2000 UTF-16 code units; at most 1000 allowed"), "{msg}");
    // 500 emoji = 1000 units: fine. 1000 'é' (2 bytes each in UTF-8, 1 unit in UTF-16): fine.
    ok(ep, &body_with(ep, "gen4.5", json!({"promptText": "😀".repeat(500)})));
    ok(ep, &body_with(ep, "gen4.5", json!({"promptText": "é".repeat(1000)})));
    ok(ep, &body_with(ep, "gen4.5", json!({"promptText": "a".repeat(1000)})));
    // 501 emoji = 1002 units.
    assert_issue(
        ep,
        &body_with(ep, "gen4.5", json!({"promptText": "😀".repeat(501)})),
        json!(["promptText"]),
        "1002 UTF-16",
    );
    assert_issue(
        ep,
        &body_with(ep, "gen4.5", json!({"promptText": "a".repeat(1001)})),
        json!(["promptText"]),
        "1001 UTF-16",
    );
    assert_issue(ep, &body_with(ep, "gen4.5", json!({"promptText": ""})), json!(["promptText"]), "must not be empty");
    assert_issue(ep, &body_with(ep, "gen4.5", json!({"promptText": 5})), json!(["promptText"]), "expected text");
    // negativePrompt has the same 1000-unit limit.
    assert_issue(
        ep,
        &body_with(ep, "veo3.1", json!({"negativePrompt": "😀".repeat(501)})),
        json!(["negativePrompt"]),
        "at most 1000",
    );
    // Model-specific limits.
    ok("text_to_image", &body_with("text_to_image", "gemini_2.5_flash", json!({"promptText": "a".repeat(5500)})));
    assert_issue(
        "text_to_image",
        &body_with("text_to_image", "gemini_2.5_flash", json!({"promptText": "a".repeat(5501)})),
        json!(["promptText"]),
        "at most 5500",
    );
    ok("video_to_video", &body_with("video_to_video", "seedance2_5", json!({"promptText": "a".repeat(15000)})));
    assert_issue(
        "video_to_video",
        &body_with("video_to_video", "seedance2_5", json!({"promptText": "😀".repeat(7501)})),
        json!(["promptText"]),
        "15002 UTF-16",
    );
}

// ---------------------------------------------------------------------------------------------
// promptImage
// ---------------------------------------------------------------------------------------------

#[test]
fn prompt_image_first_only_models() {
    for name in ["gen4_turbo", "gen4.5"] {
        let ep = "image_to_video";
        ok(ep, &body_with(ep, name, json!({"promptImage": URL})));
        ok(ep, &body_with(ep, name, json!({"promptImage": [{"uri": URL, "position": "first"}]})));
        ok(ep, &body_with(ep, name, json!({"promptImage": "runway://abcdef1234"})));
        ok(ep, &body_with(ep, name, json!({"promptImage": "data:image/png;base64,iVBORw0KGgo="})));
        // Two items, even first + last, are too many.
        assert_issue(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [{"uri": URL, "position": "first"}, {"uri": URL, "position": "last"}]}),
            ),
            json!(["promptImage"]),
            "2 items; at most 1 allowed",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"uri": URL, "position": "last"}]})),
            json!(["promptImage", 0, "position"]),
            "'last' is not allowed; allowed: first",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": []})),
            json!(["promptImage"]),
            "at least 1 required",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"uri": URL}]})),
            json!(["promptImage", 0, "position"]),
            "required",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"position": "first"}]})),
            json!(["promptImage", 0, "uri"]),
            "required",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"uri": "http://example.com/a.png", "position": "first"}]})),
            json!(["promptImage", 0, "uri"]),
            "only HTTPS",
        );
        // Neither a string nor a list.
        let m = assert_issue(ep, &body_with(ep, name, json!({"promptImage": 42})), json!(["promptImage"]), "got 42");
        assert!(m.contains("list"), "{m}");
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": {"uri": URL, "position": "first"}})),
            json!(["promptImage"]),
            "expected",
        );
    }
}

#[test]
fn prompt_image_first_last_models() {
    for name in ["veo3.1", "veo3.1_fast"] {
        let ep = "image_to_video";
        ok(ep, &body_with(ep, name, json!({"promptImage": URL})));
        ok(ep, &body_with(ep, name, json!({"promptImage": [{"uri": URL, "position": "first"}]})));
        ok(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [{"uri": URL, "position": "first"}, {"uri": URL, "position": "last"}]}),
            ),
        );
        ok(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [{"uri": URL, "position": "last"}, {"uri": URL, "position": "first"}]}),
            ),
        );
        // last only
        let m = assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"uri": URL, "position": "last"}]})),
            json!(["promptImage"]),
            "an item with position 'first' is required",
        );
        assert!(!m.contains("got an array"), "message should be about the list, not the string form: {m}");
        // duplicate position
        assert_issue(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [{"uri": URL, "position": "first"}, {"uri": URL, "position": "first"}]}),
            ),
            json!(["promptImage", 1, "position"]),
            "'first' is used by more than one item",
        );
        assert_issue(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [{"uri": URL, "position": "last"}, {"uri": URL, "position": "last"}]}),
            ),
            json!(["promptImage", 1, "position"]),
            "more than one item",
        );
        // three items
        assert_issue(
            ep,
            &body_with(
                ep,
                name,
                json!({"promptImage": [
                    {"uri": URL, "position": "first"},
                    {"uri": URL, "position": "last"},
                    {"uri": URL, "position": "middle"}
                ]}),
            ),
            json!(["promptImage"]),
            "3 items; at most 2 allowed",
        );
        assert_issue(ep, &body_with(ep, name, json!({"promptImage": []})), json!(["promptImage"]), "at least 1");
        assert_issue(
            ep,
            &body_with(ep, name, json!({"promptImage": [{"uri": URL, "position": "middle"}]})),
            json!(["promptImage", 0, "position"]),
            "allowed: first, last",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// referenceImages and tags
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_tag_rules() {
    for good in ["abc", "Abc", "a_1", "abcdefghijklmnop", "x12", "tag_with_9"] {
        assert!(valid_tag(good), "{good}");
    }
    for bad in ["ab", "1abc", "a-b-c", "_abc", "abcdefghijklmnopq", "ab c", "", "émile", "abc!"] {
        assert!(!valid_tag(bad), "{bad}");
    }
}

#[test]
fn reference_images_for_gen4_image_turbo() {
    let ep = "text_to_image";
    let name = "gen4_image_turbo";
    let r = |n: usize| -> Value {
        (0..n).map(|i| json!({"uri": URL, "tag": format!("ref_{i}")})).collect::<Vec<_>>().into()
    };
    for n in 1..=3 {
        ok(ep, &body_with(ep, name, json!({"referenceImages": r(n)})));
    }
    ok(ep, &body_with(ep, name, json!({"referenceImages": [{"uri": URL}]})));
    assert_issue(ep, &body_with(ep, name, json!({"referenceImages": null})), json!(["referenceImages"]), "required");
    assert_issue(
        ep,
        &body_with(ep, name, json!({"referenceImages": []})),
        json!(["referenceImages"]),
        "0 items; at least 1 required",
    );
    assert_issue(
        ep,
        &body_with(ep, name, json!({"referenceImages": r(4)})),
        json!(["referenceImages"]),
        "4 items; at most 3 allowed",
    );
    assert_issue(
        ep,
        &body_with(ep, name, json!({"referenceImages": URL})),
        json!(["referenceImages"]),
        "expected a list",
    );
}

#[test]
fn reference_image_tags_are_checked() {
    for (ep, name) in
        [("text_to_image", "gen4_image"), ("text_to_image", "gen4_image_turbo"), ("text_to_image", "gemini_2.5_flash")]
    {
        for tag in ["abc", "Person_1", "abcdefghijklmnop"] {
            ok(ep, &body_with(ep, name, json!({"referenceImages": [{"uri": URL, "tag": tag}]})));
        }
        for tag in ["ab", "1abc", "a-b-c", "abcdefghijklmnopq", "_abc"] {
            assert_issue(
                ep,
                &body_with(ep, name, json!({"referenceImages": [{"uri": URL, "tag": tag}]})),
                json!(["referenceImages", 0, "tag"]),
                &format!("'{tag}' is not a valid tag: 3–16 characters"),
            );
        }
        assert_issue(
            ep,
            &body_with(ep, name, json!({"referenceImages": [{"uri": URL, "tag": 5}]})),
            json!(["referenceImages", 0, "tag"]),
            "not a valid tag",
        );
        // duplicates
        assert_issue(
            ep,
            &body_with(
                ep,
                name,
                json!({"referenceImages": [{"uri": URL, "tag": "cat"}, {"uri": URL, "tag": "dog"}, {"uri": URL, "tag": "cat"}]}),
            ),
            json!(["referenceImages", 2, "tag"]),
            "'cat' is used by more than one item",
        );
        // untagged images do not clash with each other
        ok(
            ep,
            &body_with(ep, name, json!({"referenceImages": [{"uri": URL}, {"uri": URL}, {"uri": URL, "tag": "cat"}]})),
        );
        // item shape
        assert_issue(
            ep,
            &body_with(ep, name, json!({"referenceImages": [{"tag": "cat"}]})),
            json!(["referenceImages", 0, "uri"]),
            "required",
        );
        assert_issue(
            ep,
            &body_with(ep, name, json!({"referenceImages": [{"uri": "data:video/mp4;base64,AAAA"}]})),
            json!(["referenceImages", 0, "uri"]),
            "data:image/",
        );
    }
    // gen4_image: optional, at most 3; an empty list is not refused.
    ok("text_to_image", &body_with("text_to_image", "gen4_image", json!({"referenceImages": []})));
    assert_issue(
        "text_to_image",
        &body_with(
            "text_to_image",
            "gen4_image",
            json!({"referenceImages": [{"uri": URL}, {"uri": URL}, {"uri": URL}, {"uri": URL}]}),
        ),
        json!(["referenceImages"]),
        "at most 3",
    );
}

// ---------------------------------------------------------------------------------------------
// aleph2 keyframes
// ---------------------------------------------------------------------------------------------

#[test]
fn keyframes() {
    let ep = "video_to_video";
    let kf = |v: Value| body_with(ep, "aleph2", json!({"keyframes": v}));
    ok(ep, &kf(json!([{"uri": URL, "seconds": 0}])));
    ok(ep, &kf(json!([{"uri": URL, "seconds": 2.5}, {"uri": URL, "at": 0.5}, {"uri": URL, "at": 1}])));
    ok(ep, &kf(json!([{"uri": URL, "seconds": 30}])));
    ok(
        ep,
        &kf(json!([
            {"uri": URL, "seconds": 1, "range": {"start_seconds": 0, "end_seconds": 2}},
            {"uri": URL, "at": 0.9, "range": {"start_seconds": 3, "end_seconds": 8}}
        ])),
    );
    ok(ep, &kf(json!([])));
    // exactly one of seconds / at
    assert_issue(
        ep,
        &kf(json!([{"uri": URL, "seconds": 1, "at": 0.5}])),
        json!(["keyframes", 0]),
        "exactly one of seconds, at is required (2 given)",
    );
    assert_issue(
        ep,
        &kf(json!([{"uri": URL}])),
        json!(["keyframes", 0]),
        "exactly one of seconds, at is required (0 given)",
    );
    // ranges: all or none
    assert_issue(
        ep,
        &kf(json!([
            {"uri": URL, "seconds": 1, "range": {"start_seconds": 0, "end_seconds": 2}},
            {"uri": URL, "seconds": 5}
        ])),
        json!(["keyframes"]),
        "either every item has 'range' or none has (1 of 2 do)",
    );
    // at most 5
    let six: Vec<Value> = (0..6).map(|i| json!({"uri": URL, "seconds": i})).collect();
    assert_issue(ep, &kf(json!(six)), json!(["keyframes"]), "6 items; at most 5 allowed");
    let five: Vec<Value> = (0..5).map(|i| json!({"uri": URL, "seconds": i})).collect();
    ok(ep, &kf(json!(five)));
    // value ranges
    assert_issue(ep, &kf(json!([{"uri": URL, "seconds": 31}])), json!(["keyframes", 0, "seconds"]), "from 0 to 30");
    assert_issue(ep, &kf(json!([{"uri": URL, "seconds": -1}])), json!(["keyframes", 0, "seconds"]), "out of range");
    assert_issue(ep, &kf(json!([{"uri": URL, "at": 1.5}])), json!(["keyframes", 0, "at"]), "from 0 to 1");
    assert_issue(
        ep,
        &kf(json!([{"uri": URL, "seconds": 1, "range": {"start_seconds": 0, "end_seconds": 0}}])),
        json!(["keyframes", 0, "range", "end_seconds"]),
        "out of range",
    );
    assert_issue(
        ep,
        &kf(json!([{"uri": URL, "seconds": 1, "range": {"end_seconds": 2}}])),
        json!(["keyframes", 0, "range", "start_seconds"]),
        "required",
    );
    assert_issue(
        ep,
        &kf(json!([{"uri": URL, "seconds": 1, "range": {"start": 0, "end_seconds": 2, "start_seconds": 0}}])),
        json!(["keyframes", 0, "range", "start"]),
        "accepted fields: end_seconds, start_seconds",
    );
    assert_issue(ep, &kf(json!([{"seconds": 1}])), json!(["keyframes", 0, "uri"]), "required");
    assert_issue(
        ep,
        &kf(json!([{"uri": VIDEO_URL.replace("https", "http"), "seconds": 1}])),
        json!(["keyframes", 0, "uri"]),
        "only HTTPS",
    );
}

#[test]
fn aleph2_ratio_is_free_text() {
    let ep = "video_to_video";
    for r in ["1280:720", "848:480", "anything the SDK allows"] {
        ok(ep, &body_with(ep, "aleph2", json!({"ratio": r})));
    }
    assert_issue(ep, &body_with(ep, "aleph2", json!({"ratio": 16})), json!(["ratio"]), "expected text");
}

// ---------------------------------------------------------------------------------------------
// seedance2_5 modes, draft, duration
// ---------------------------------------------------------------------------------------------

#[test]
fn seedance2_5_modes() {
    let ep = "video_to_video";
    let b = |v: Value| body_with(ep, "seedance2_5", v);
    // reference (default) accepts duration and ratio
    ok(ep, &b(json!({"ratio": "1280:720", "duration": 10})));
    ok(ep, &b(json!({"mode": "reference", "ratio": "1920:1080", "duration": "auto"})));
    // extend
    ok(ep, &b(json!({"mode": "extend", "promptText": "keep going"})));
    ok(ep, &b(json!({"mode": "extend", "promptText": "keep going", "duration": 8})));
    let m = assert_issue(ep, &b(json!({"mode": "extend"})), json!(["promptText"]), "required: mode 'extend'");
    assert!(m.contains("promptText"), "{m}");
    assert_issue(
        ep,
        &b(json!({"mode": "extend", "promptText": "go", "ratio": "1280:720"})),
        json!(["ratio"]),
        "not allowed: mode 'extend'",
    );
    // edit
    ok(ep, &b(json!({"mode": "edit", "promptText": "make it night", "duration": "auto"})));
    ok(ep, &b(json!({"mode": "edit", "promptText": "make it night"})));
    assert_issue(
        ep,
        &b(json!({"mode": "edit", "promptText": "make it night", "duration": 5})),
        json!(["duration"]),
        "5 is not allowed (mode 'edit'",
    );
    let (msg, issues) = refused(ep, &b(json!({"mode": "edit", "duration": 5, "ratio": "1280:720"})));
    assert_eq!(issues.len(), 3, "{msg}");
    assert!(has_issue(&issues, &[json!("promptText")], "required"), "{msg}");
    assert!(has_issue(&issues, &[json!("ratio")], "not allowed"), "{msg}");
    assert!(has_issue(&issues, &[json!("duration")], "allowed: auto"), "{msg}");
}

#[test]
fn seedance2_5_draft_duration_and_references() {
    let ep = "video_to_video";
    let b = |v: Value| body_with(ep, "seedance2_5", v);
    ok(ep, &b(json!({"draft": true})));
    ok(ep, &b(json!({"draft": true, "outputFormat": "mp4"})));
    ok(ep, &b(json!({"draft": false, "outputFormat": "mov"})));
    ok(ep, &b(json!({"outputFormat": "mov"})));
    assert_issue(
        ep,
        &b(json!({"draft": true, "outputFormat": "mov"})),
        json!(["outputFormat"]),
        "'mov' is not allowed (a draft is mp4 only)",
    );
    // duration: 4..30 or "auto"
    for d in [json!(4), json!(30), json!("auto"), json!(12.0)] {
        ok(ep, &b(json!({"duration": d})));
    }
    assert_issue(ep, &b(json!({"duration": 3})), json!(["duration"]), "from 4 to 30");
    assert_issue(ep, &b(json!({"duration": 31})), json!(["duration"]), "from 4 to 30");
    assert_issue(ep, &b(json!({"duration": "long"})), json!(["duration"]), "allowed: auto");
    // ratio enum
    ok(ep, &b(json!({"ratio": "854:480"})));
    assert_issue(ep, &b(json!({"ratio": "864:496"})), json!(["ratio"]), "not allowed");
    // references
    let refs: Vec<Value> = (0..30).map(|_| json!({"uri": URL})).collect();
    ok(ep, &b(json!({"references": refs})));
    let refs: Vec<Value> = (0..31).map(|_| json!({"uri": URL})).collect();
    assert_issue(ep, &b(json!({"references": refs})), json!(["references"]), "at most 30");
    ok(ep, &b(json!({"referenceAudio": [{"type": "audio", "uri": "https://example.com/a.mp3"}]})));
    assert_issue(
        ep,
        &b(json!({"referenceAudio": [{"type": "video", "uri": "https://example.com/a.mp3"}]})),
        json!(["referenceAudio", 0, "type"]),
        "allowed: audio",
    );
    assert_issue(
        ep,
        &b(json!({"referenceAudio": [{"uri": "https://example.com/a.mp3"}]})),
        json!(["referenceAudio", 0, "type"]),
        "required",
    );
    ok(ep, &b(json!({"referenceVideos": [{"type": "video", "uri": VIDEO_URL}]})));
    assert_issue(
        ep,
        &b(json!({"referenceVideos": [{"type": "video", "uri": "data:image/png;base64,AAAA"}]})),
        json!(["referenceVideos", 0, "uri"]),
        "data:video/",
    );
}

// ---------------------------------------------------------------------------------------------
// proresProfile / outputFormat
// ---------------------------------------------------------------------------------------------

#[test]
fn prores_profile_needs_a_prores_output_format() {
    for ep in ["text_to_video", "image_to_video"] {
        let b = |v: Value| body_with(ep, "gen4.5", v);
        let m = assert_issue(
            ep,
            &b(json!({"proresProfile": "4444"})),
            json!(["outputFormat"]),
            "required: proresProfile goes with outputFormat prores",
        );
        assert!(m.contains(&format!("invalid {ep} request for model gen4.5")), "{m}");
        assert_issue(
            ep,
            &b(json!({"proresProfile": "4444", "outputFormat": "mp4"})),
            json!(["outputFormat"]),
            "'mp4' is not allowed (proresProfile goes with outputFormat prores or hdr_prores); allowed: prores, hdr_prores",
        );
        ok(ep, &b(json!({"proresProfile": "4444 XQ", "outputFormat": "prores"})));
        ok(ep, &b(json!({"outputFormat": "prores"})));
        ok(ep, &b(json!({"outputFormat": "hdr_exr_acescg_sequence_2_0"})));
        // hdr_prores only takes 422, 422 HQ, 4444
        for p in ["422", "422 HQ", "4444"] {
            ok(ep, &b(json!({"proresProfile": p, "outputFormat": "hdr_prores"})));
        }
        for p in ["422 LT", "422 Proxy", "4444 XQ"] {
            assert_issue(
                ep,
                &b(json!({"proresProfile": p, "outputFormat": "hdr_prores"})),
                json!(["proresProfile"]),
                "allowed: 422, 422 HQ, 4444",
            );
        }
        assert_issue(
            ep,
            &b(json!({"proresProfile": "422 XQ", "outputFormat": "prores"})),
            json!(["proresProfile"]),
            "allowed: 422, 4444",
        );
    }
    let ep = "video_to_video";
    let b = |v: Value| body_with(ep, "aleph2", v);
    ok(ep, &b(json!({"proresProfile": "422 LT", "outputFormat": "prores"})));
    ok(ep, &b(json!({"outputFormat": "sdr_rec709_10bit"})));
    assert_issue(ep, &b(json!({"proresProfile": "422"})), json!(["outputFormat"]), "required");
    assert_issue(
        ep,
        &b(json!({"proresProfile": "422", "outputFormat": "png_sequence"})),
        json!(["outputFormat"]),
        "allowed: prores",
    );
    assert_issue(
        ep,
        &b(json!({"outputFormat": "hdr10"})),
        json!(["outputFormat"]),
        "allowed: mp4, prores, png_sequence, sdr_rec709_10bit",
    );
}

// ---------------------------------------------------------------------------------------------
// Media URIs
// ---------------------------------------------------------------------------------------------

fn data_uri(kind: &str, total_len: usize) -> String {
    let prefix = format!("data:{kind}/png;base64,");
    assert!(total_len >= prefix.len());
    format!("{prefix}{}", "A".repeat(total_len - prefix.len()))
}

#[test]
fn media_https_urls() {
    let img = MediaKind::Image;
    assert_eq!(check_media(img, &json!(URL)), None);
    assert_eq!(check_media(img, &json!("https://cdn.example.com:8443/x/y.png?sig=1#frag")), None);
    assert_eq!(check_media(img, &json!("https://user:pw@example.com/a.png")), None);
    let m = check_media(img, &json!("http://example.com/a.png")).unwrap();
    assert!(m.contains("only HTTPS"), "{m}");
    for ip in [
        "https://127.0.0.1/a.png",
        "https://10.0.0.1:8080/a.png",
        "https://user@192.168.1.2/a.png",
        "https://[::1]/a.png",
        "https://[2001:db8::1]:443/x",
    ] {
        let m = check_media(img, &json!(ip)).unwrap_or_else(|| panic!("{ip} accepted"));
        assert!(m.contains("not an IP address"), "{ip}: {m}");
    }
    // length limits 13..=2048
    let long = format!("https://example.com/{}", "a".repeat(2048 - 20));
    assert_eq!(long.len(), 2048);
    assert_eq!(check_media(img, &json!(long)), None);
    let m = check_media(img, &json!(format!("{long}a"))).unwrap();
    assert!(m.contains("2049 characters; at most 2048"), "{m}");
    assert!(check_media(img, &json!("https://a.b")).is_some());
    assert!(check_media(img, &json!("https:///a.png")).is_some());
    // other schemes and shapes
    assert!(check_media(img, &json!("ftp://example.com/a.png")).unwrap().contains("expected an https URL"));
    assert!(check_media(img, &json!("example.com/a.png")).is_some());
    assert!(check_media(img, &json!("HTTPS://example.com/a.png")).is_some());
    assert!(check_media(img, &json!(42)).unwrap().contains("got a number"));
    assert!(check_media(img, &json!(null)).is_some());
}

#[test]
fn media_runway_uris() {
    for kind in [MediaKind::Image, MediaKind::Video, MediaKind::Audio] {
        assert_eq!(check_media(kind, &json!("runway://abcdef1234")), None);
        assert_eq!(check_media(kind, &json!(format!("runway://{}", "a".repeat(5000 - 9)))), None);
        assert!(check_media(kind, &json!(format!("runway://{}", "a".repeat(5000 - 8)))).is_some());
        assert!(check_media(kind, &json!("runway://ab")).is_some());
    }
}

#[test]
fn media_data_uris() {
    let img = MediaKind::Image;
    assert_eq!(check_media(img, &json!("data:image/png;base64,iVBORw0KGgo=")), None);
    assert_eq!(check_media(MediaKind::Video, &json!("data:video/mp4;base64,AAAA")), None);
    assert_eq!(check_media(MediaKind::Audio, &json!("data:audio/mpeg;base64,AAAA")), None);
    // wrong kind
    let m = check_media(img, &json!("data:video/mp4;base64,AAAA")).unwrap();
    assert!(m.contains("'video/mp4'") && m.contains("data:image/"), "{m}");
    assert!(check_media(MediaKind::Video, &json!("data:image/png;base64,AAAA")).is_some());
    assert!(check_media(MediaKind::Audio, &json!("data:video/mp4;base64,AAAA")).is_some());
    // not base64
    for bad in ["data:image/png,rawbytes", "data:image/png;base64", "data:image/svg+xml;utf8,<svg/>"] {
        let m = check_media(img, &json!(bad)).unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(m.contains("must be base64"), "{bad}: {m}");
    }
    // size: the encoded string's length, 5 MiB for images, 16 MiB for video and audio
    assert_eq!(check_media(img, &json!(data_uri("image", DATA_URI_MAX_IMAGE))), None);
    let m = check_media(img, &json!(data_uri("image", DATA_URI_MAX_IMAGE + 1))).unwrap();
    assert!(m.contains(&format!("{} bytes", DATA_URI_MAX_IMAGE + 1)) && m.contains("5 MiB"), "{m}");
    assert_eq!(DATA_URI_MAX_IMAGE, 5_242_880);
    assert_eq!(DATA_URI_MAX_AV, 16_777_216);
    for kind in ["video", "audio"] {
        let k = if kind == "video" { MediaKind::Video } else { MediaKind::Audio };
        assert_eq!(check_media(k, &json!(data_uri(kind, DATA_URI_MAX_IMAGE + 1))), None);
        assert_eq!(check_media(k, &json!(data_uri(kind, DATA_URI_MAX_AV))), None);
        let m = check_media(k, &json!(data_uri(kind, DATA_URI_MAX_AV + 1))).unwrap();
        assert!(m.contains("16 MiB"), "{m}");
    }
}

#[test]
fn media_checks_apply_through_validate() {
    let ep = "image_to_video";
    let b = |uri: Value| body_with(ep, "gen4_turbo", json!({"promptImage": uri}));
    let m =
        assert_issue(ep, &b(json!("http://example.com/a.png")), json!(["promptImage"]), "only HTTPS URLs are allowed");
    assert!(!m.contains("expected a list"), "{m}");
    assert_issue(
        ep,
        &b(json!("https://8.8.8.8/a.png")),
        json!(["promptImage"]),
        "hosted on a domain, not an IP address",
    );
    assert_issue(ep, &b(json!("data:video/mp4;base64,AAAA")), json!(["promptImage"]), "data:image/");
    assert_issue(ep, &b(json!("data:image/png,notbase64")), json!(["promptImage"]), "must be base64");
    assert_issue(
        ep,
        &b(json!(data_uri("image", DATA_URI_MAX_IMAGE + 1))),
        json!(["promptImage"]),
        "at most 5242880 bytes",
    );
    ok(ep, &b(json!(data_uri("image", DATA_URI_MAX_IMAGE))));
    ok(ep, &b(json!("runway://upload-123456")));
    // a video field takes a 16 MiB data URI but not an image
    let v = |uri: Value| body_with("video_to_video", "aleph2", json!({"videoUri": uri}));
    ok("video_to_video", &v(json!(data_uri("video", DATA_URI_MAX_AV))));
    assert_issue("video_to_video", &v(json!(data_uri("video", DATA_URI_MAX_AV + 1))), json!(["videoUri"]), "16 MiB");
    assert_issue("video_to_video", &v(json!("data:image/png;base64,AAAA")), json!(["videoUri"]), "data:video/");
    assert_issue("video_to_video", &v(json!(["https://example.com/a.mp4"])), json!(["videoUri"]), "got an array");
}

// ---------------------------------------------------------------------------------------------
// Error reporting
// ---------------------------------------------------------------------------------------------

#[test]
fn several_errors_are_reported_at_once() {
    let body = json!({
        "model": "gen4.5",
        "promptText": "",
        "ratio": "1920:1080",
        "duration": 20,
        "seed": -3,
        "colour": "red"
    });
    let (msg, issues) = refused("text_to_video", &body);
    assert_eq!(issues.len(), 5, "{msg}");
    assert!(msg.starts_with("invalid text_to_video request for model gen4.5: "), "{msg}");
    for part in [
        "promptText: must not be empty",
        "ratio: '1920:1080' is not allowed",
        "duration: 20 is out of range",
        "seed: -3 is out of range",
        "colour: not accepted here",
    ] {
        assert!(msg.contains(part), "missing {part:?} in {msg}");
    }
    assert!(msg.matches("; ").count() >= 4, "{msg}");
    let codes: Vec<&str> = issues.iter().map(|i| i.code.as_str()).collect();
    for c in ["too_small", "invalid_enum_value", "too_big", "unrecognized_keys"] {
        assert!(codes.contains(&c), "{codes:?}");
    }
}

#[test]
fn message_names_endpoint_and_model() {
    let (msg, _) = refused("/v1/image_to_video", &body_with("image_to_video", "veo3.1_fast", json!({"ratio": "1:1"})));
    assert!(
        msg.starts_with("invalid image_to_video request for model veo3.1_fast: ratio: '1:1' is not allowed"),
        "{msg}"
    );
}

#[test]
fn unknown_endpoint_and_model() {
    let cat = catalogue();
    for ep in ["/v1/generate/mesh", "recipes/poster", "text_to_3d"] {
        let (msg, issues) = refused(ep, &json!({"model": "gen4.5"}));
        assert!(issues.is_empty());
        let name = normalize_endpoint(ep);
        assert!(msg.contains(&format!("'{name}' is not in the catalogue")), "{msg}");
        assert!(msg.contains("validate=False"), "{msg}");
        assert!(msg.contains(&format!("(known: {})", endpoints().join(", "))), "{msg}");
    }

    for ep in endpoints_naming_models() {
        let (msg, issues) = refused(ep, &json!({"model": "gen5", "promptText": "x"}));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].code, "invalid_union_discriminator");
        assert_eq!(issues[0].path, vec![json!("model")]);
        assert!(msg.contains(&format!("'gen5' is not a known {ep} model")), "{msg}");
        assert_eq!(listed_after(&msg, "(known: "), expected_models(ep), "{msg}");
        assert!(msg.contains("validate=False"), "{msg}");
    }

    // A model of another endpoint is unknown here.
    let (msg, _) = refused("text_to_video", &json!({"model": "gen4_turbo", "promptImage": URL, "ratio": "1280:720"}));
    assert!(msg.contains("'gen4_turbo' is not a known text_to_video model") && msg.contains("validate=False"), "{msg}");
    let (msg, _) = refused("sound_effect", &json!({"model": "eleven_v3", "promptText": "x"}));
    assert!(msg.contains("'eleven_v3' is not a known sound_effect model"), "{msg}");
    assert!(cat.validate("text_to_video", &json!({"model": "gen4.5"})).is_err());
}

#[test]
fn missing_or_bad_model_and_non_object_body() {
    for ep in endpoints_naming_models() {
        let (msg, issues) = refused(ep, &json!({"promptText": "x", "ratio": "1024:1024"}));
        assert_eq!(issues.len(), 1, "{msg}");
        assert_eq!(issues[0].path, vec![json!("model")]);
        assert_eq!(listed_after(&msg, "model: required; one of: "), expected_models(ep), "{msg}");
    }
    let (msg, _) = refused("text_to_image", &json!({"model": 4}));
    assert!(msg.contains("model: expected a string, got a number"), "{msg}");
    let (msg, issues) = refused("text_to_image", &json!(["gen4_image"]));
    assert!(issues[0].path.is_empty());
    assert!(msg.contains("body: expected a JSON object, got an array"), "{msg}");
    refused("text_to_image", &json!(null));
}

#[test]
fn removed_models_name_their_replacement() {
    let cat = catalogue();
    // §5.1–§5.3, §5.6, §10: gen3a_turbo and gen4_aleph left in 5.0, veo3 by 5.23, upscale_v1 in 4.10.
    let mut have: Vec<(&str, &str, &str)> =
        cat.removed.iter().map(|r| (r.endpoint.as_str(), r.model.as_str(), r.replacement.as_str())).collect();
    have.sort();
    assert_eq!(
        have,
        [
            ("image_to_video", "gen3a_turbo", "gen4_turbo"),
            ("image_to_video", "veo3", "veo3.1"),
            ("text_to_video", "veo3", "veo3.1"),
            ("video_to_video", "gen4_aleph", "aleph2"),
            ("video_upscale", "upscale_v1", "magnific_video_upscaler_creative"),
        ]
    );
    for r in &cat.removed {
        assert!(cat.model(&r.endpoint, &r.model).is_none(), "{} {} is removed and listed", r.endpoint, r.model);
        let replacement = cat.model(&r.endpoint, &r.replacement).unwrap_or_else(|| {
            panic!("{} {}: replacement {} is not on the endpoint", r.endpoint, r.model, r.replacement)
        });
        // A body valid for the replacement, naming the removed model, through both endpoint forms.
        let mut body = minimal_body(replacement);
        body["model"] = json!(r.model);
        for ep in [r.endpoint.clone(), format!("/v1/{}", r.endpoint)] {
            let (msg, issues) = refused(&ep, &body);
            assert_eq!(issues.len(), 1, "{msg}");
            assert_eq!(issues[0].code, "invalid_union_discriminator");
            assert_eq!(issues[0].path, vec![json!("model")]);
            let m = &issues[0].message;
            assert!(m.contains(&format!("'{}' was removed from Runway's API", r.model)), "{m}");
            assert!(m.ends_with(&format!("use '{}' instead", r.replacement)), "{m}");
            if let Some(note) = &r.note {
                assert!(m.contains(note.as_str()), "{m}");
            }
        }
    }
}

#[test]
fn endpoint_names_are_normalized() {
    assert_eq!(normalize_endpoint("/v1/text_to_video"), "text_to_video");
    assert_eq!(normalize_endpoint("v1/text_to_video"), "text_to_video");
    assert_eq!(normalize_endpoint("text_to_video"), "text_to_video");
    assert_eq!(normalize_endpoint("/text_to_video"), "text_to_video");
    let cat = catalogue();
    for form in ["/v1/video_upscale", "v1/video_upscale", "video_upscale"] {
        assert_eq!(cat.endpoint(form).unwrap().name, "video_upscale");
        assert!(cat.model(form, "magnific_video_upscaler_creative").is_some());
        ok(form, &json!({"model": "magnific_video_upscaler_creative", "videoUri": VIDEO_URL}));
        ok(form, &json!({"model": "enhance_frame_rate", "videoUri": VIDEO_URL, "targetFramerate": "23_98"}));
    }
    for ep in endpoints() {
        for form in [ep.to_string(), format!("/v1/{ep}"), format!("v1/{ep}")] {
            let mut names: Vec<&str> = cat.models_for(&form).iter().map(|m| m.model.as_str()).collect();
            names.sort();
            assert_eq!(names, expected_models(ep), "{form}");
        }
    }
    assert!(cat.endpoint("/v2/text_to_video").is_none());
    assert!(cat.model("text_to_video", "gen4_turbo").is_none());
}

#[test]
fn issue_paths_render_readably() {
    let (_, issues) = refused(
        "image_to_video",
        &body_with(
            "image_to_video",
            "veo3.1",
            json!({"promptImage": [{"uri": URL, "position": "first"}, {"uri": URL, "position": "side"}]}),
        ),
    );
    assert!(issues.iter().any(|i| i.path_string() == "promptImage[1].position"), "{issues:?}");
}

// ---------------------------------------------------------------------------------------------
// Cost estimates
// ---------------------------------------------------------------------------------------------

fn cost(endpoint: &str, name: &str, changes: Value) -> Option<f64> {
    let body = body_with(endpoint, name, changes);
    ok(endpoint, &body);
    model(endpoint, name).estimate_cost(&body)
}

#[test]
fn cost_estimates() {
    // gen4.5: 12/s, +5/s prores or png_sequence, +20/s 10-bit/HDR
    for ep in ["text_to_video", "image_to_video"] {
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 5})), Some(60.0));
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 5, "outputFormat": "prores"})), Some(85.0));
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 10, "outputFormat": "png_sequence"})), Some(170.0));
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 10, "outputFormat": "hdr10"})), Some(320.0));
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 2, "outputFormat": "mp4"})), Some(24.0));
        assert_eq!(cost(ep, "gen4.5", json!({"duration": 5.0})), Some(60.0));
    }
    // veo3.1: 40/s with audio (default), 20/s without; default 8 s
    for ep in ["text_to_video", "image_to_video"] {
        assert_eq!(cost(ep, "veo3.1", json!({})), Some(320.0));
        assert_eq!(cost(ep, "veo3.1", json!({"audio": true})), Some(320.0));
        assert_eq!(cost(ep, "veo3.1", json!({"audio": false})), Some(160.0));
        assert_eq!(cost(ep, "veo3.1", json!({"audio": false, "duration": 4})), Some(80.0));
        assert_eq!(cost(ep, "veo3.1_fast", json!({})), Some(120.0));
        assert_eq!(cost(ep, "veo3.1_fast", json!({"audio": false, "duration": 6})), Some(60.0));
    }
    // gen4_turbo: 5/s, default 10 s
    assert_eq!(cost("image_to_video", "gen4_turbo", json!({})), Some(50.0));
    assert_eq!(cost("image_to_video", "gen4_turbo", json!({"duration": 5})), Some(25.0));
    // images
    assert_eq!(cost("text_to_image", "gen4_image", json!({"ratio": "1280:720"})), Some(5.0));
    assert_eq!(cost("text_to_image", "gen4_image", json!({"ratio": "720:720"})), Some(5.0));
    assert_eq!(cost("text_to_image", "gen4_image", json!({"ratio": "1920:1080"})), Some(8.0));
    assert_eq!(cost("text_to_image", "gen4_image", json!({"ratio": "1080:1440"})), Some(8.0));
    assert_eq!(cost("text_to_image", "gen4_image_turbo", json!({})), Some(2.0));
    assert_eq!(cost("text_to_image", "gemini_2.5_flash", json!({})), Some(5.0));
    // no published price
    assert_eq!(cost("video_to_video", "aleph2", json!({})), None);
    assert_eq!(cost("video_to_video", "seedance2_5", json!({})), None);
    assert_eq!(cost("video_upscale", "magnific_video_upscaler_creative", json!({})), None);
    // not an object
    assert_eq!(model("text_to_video", "gen4.5").estimate_cost(&json!("x")), None);
}

#[test]
fn every_priced_model_estimates_its_minimal_and_maximal_body() {
    let mut priced = 0;
    for m in catalogue().models.iter().filter(|m| m.cost.is_some()) {
        let unit = m.cost.as_ref().unwrap().unit.as_str();
        for body in [minimal_body(m), maximal_body(m)] {
            let c = m.estimate_cost(&body);
            if unit == "input_second" {
                // Billed by the length of the input media, which is not known locally.
                assert_eq!(c, None, "{} {} {body}", m.endpoint, m.model);
            } else {
                assert!(c.is_some_and(|c| c > 0.0 && c.fract() == 0.0), "{} {} {body}: {c:?}", m.endpoint, m.model);
                priced += 1;
            }
        }
    }
    assert!(priced > 0);
}

#[test]
fn cost_estimates_for_the_newer_models() {
    // §9 figures.
    let img = "text_to_image";
    // gpt_image_2: low 1/2, medium 5/11, high 20/41 (1K-2K / 4K); high is the default quality.
    assert_eq!(cost(img, "gpt_image_2", json!({"ratio": "1920:1088", "quality": "low"})), Some(1.0));
    assert_eq!(cost(img, "gpt_image_2", json!({"ratio": "3840:2160", "quality": "low"})), Some(2.0));
    assert_eq!(
        cost(img, "gpt_image_2", json!({"ratio": "1920:1088", "quality": "medium", "outputCount": 3})),
        Some(15.0)
    );
    assert_eq!(cost(img, "gpt_image_2", json!({"ratio": "3840:2160", "quality": "medium"})), Some(11.0));
    assert_eq!(cost(img, "gpt_image_2", json!({"ratio": "1920:1088"})), Some(20.0));
    assert_eq!(cost(img, "gpt_image_2", json!({"ratio": "3840:2160"})), Some(41.0));
    assert_eq!(
        cost(img, "gpt_image_2", json!({"ratio": "3840:2160", "quality": "high", "outputCount": 2})),
        Some(82.0)
    );
    // gemini_image3_pro: 20 (1K-2K) / 40 (4K) per image.
    assert_eq!(cost(img, "gemini_image3_pro", json!({"ratio": "1024:1024", "outputCount": 4})), Some(80.0));
    assert_eq!(cost(img, "gemini_image3_pro", json!({"ratio": "4096:4096"})), Some(40.0));
    // muse_image 1 per image; bria_fibo_1_5 5 (1 MP) / 10 (4 MP).
    assert_eq!(cost(img, "muse_image", json!({"outputCount": 3})), Some(3.0));
    assert_eq!(cost(img, "bria_fibo_1_5", json!({"ratio": "1024:1024"})), Some(5.0));
    assert_eq!(cost(img, "bria_fibo_1_5", json!({"ratio": "2048:2048"})), Some(10.0));
    // ideogram: 4.0 low 4, medium 7, high 11; 4.5 very_low 1, low 4, medium 8, high 25.
    for (q, c) in [("low", 4.0), ("medium", 7.0), ("high", 11.0)] {
        assert_eq!(cost(img, "ideogram_4_0", json!({"quality": q})), Some(c), "{q}");
    }
    for (q, c) in [("low", 4.0), ("medium", 8.0), ("high", 25.0)] {
        assert_eq!(cost(img, "ideogram_4_5", json!({"quality": q, "outputCount": 2})), Some(2.0 * c), "{q}");
    }
    assert_eq!(cost(img, "ideogram_4_5", json!({"quality": "very_low", "referenceImages": [{"uri": URL}]})), Some(1.0));
    // seedance2: 36/s; "auto" and an absent duration are billed at the 15 s maximum.
    for ep in ["text_to_video", "image_to_video", "video_to_video"] {
        assert_eq!(cost(ep, "seedance2", json!({"duration": 5})), Some(180.0));
        assert_eq!(cost(ep, "seedance2", json!({"duration": "auto"})), Some(540.0));
        assert_eq!(cost(ep, "seedance2", json!({})), Some(540.0));
    }
    // eleven_multilingual_v2: 1 credit per 50 characters, rounded up.
    let tts = |n: usize| cost("text_to_speech", "eleven_multilingual_v2", json!({"promptText": "a".repeat(n)}));
    assert_eq!(tts(50), Some(1.0));
    assert_eq!(tts(51), Some(2.0));
    assert_eq!(tts(1000), Some(20.0));
    // Billed by input length: no local estimate.
    for (ep, name) in [
        ("character_performance", "act_two"),
        ("video_to_hdr", "ruby"),
        ("speech_to_speech", "eleven_multilingual_sts_v2"),
        ("voice_dubbing", "eleven_voice_dubbing"),
        ("voice_isolation", "eleven_voice_isolation"),
        ("avatar_videos", "gwm1_avatars"),
    ] {
        assert_eq!(model(ep, name).cost.as_ref().unwrap().unit, "input_second", "{ep} {name}");
        assert_eq!(cost(ep, name, json!({})), None, "{ep} {name}");
    }
}

/// The cost engine's newer features, on a small catalogue: `per`, `base`, `per_item`, `also`,
/// `absent_matches` and the `characters` unit.
#[test]
fn cost_features() {
    let cat = Catalogue::parse(
        &json!({
            "api_version": "2024-11-06",
            "endpoints": [{"name": "e", "path": "/v1/e", "description": "d"}],
            "models": [{
                "endpoint": "e", "model": "m", "title": "M", "output": "image",
                "fields": {
                    "promptText": {"type": "text"},
                    "quality": {"type": "enum", "values": ["low", "high"]},
                    "size": {"type": "enum", "values": ["1k", "4k"]},
                    "refs": {"type": "array", "items": {"type": "media", "kind": "image"}}
                },
                "cost": {
                    "unit": "task", "credits": 10, "base": 3,
                    "overrides": [
                        {"field": "quality", "values": ["high"], "absent_matches": true, "also": {"size": ["4k"]}, "credits": 40},
                        {"field": "quality", "values": ["low"], "credits": 2}
                    ],
                    "extras": [{"field": "refs", "per_item": true, "credits": 1.5}],
                    "source": "test"
                }
            }, {
                "endpoint": "e", "model": "tts", "title": "T", "output": "audio",
                "fields": {"promptText": {"type": "text"}},
                "cost": {"unit": "characters", "credits": 1, "per": 50, "base": 2, "source": "test"}
            }]
        })
        .to_string(),
    )
    .unwrap();
    let m = cat.model("e", "m").unwrap();
    let est = |b: Value| m.estimate_cost(&b);
    assert_eq!(est(json!({})), Some(13.0)); // base + rate; "also" size absent: no override
    assert_eq!(est(json!({"size": "4k"})), Some(43.0)); // absent quality matches, size matches
    assert_eq!(est(json!({"quality": "high", "size": "1k"})), Some(13.0));
    assert_eq!(est(json!({"quality": "low", "size": "4k"})), Some(5.0));
    assert_eq!(est(json!({"quality": "low", "refs": [URL, URL, URL]})), Some(10.0)); // 3 + 2 + 4.5, rounded up
    assert_eq!(est(json!({"refs": []})), Some(13.0));
    let t = cat.model("e", "tts").unwrap();
    assert_eq!(t.estimate_cost(&json!({"promptText": "a".repeat(100)})), Some(4.0));
    assert_eq!(t.estimate_cost(&json!({"promptText": "a".repeat(101)})), Some(5.0));
    assert_eq!(t.estimate_cost(&json!({})), None);
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

#[test]
fn tag_picked_tool_sets_are_not_empty() {
    let cat = catalogue();
    let with = |ep: &str, tag: &str| -> Vec<&str> {
        cat.models_for(ep).into_iter().filter(|m| m.has_tag(tag)).map(|m| m.model.as_str()).collect()
    };
    for tag in ["first_frame", "last_frame"] {
        assert!(!with("image_to_video", tag).is_empty(), "no image_to_video model with {tag}");
    }
    for tag in ["edit", "restyle", "extend"] {
        assert!(!with("video_to_video", tag).is_empty(), "no video_to_video model with {tag}");
    }
    assert!(model("video_to_video", "aleph2").has_tag("keyframes"));
    // Every image_to_video model starts from a first frame.
    assert_eq!(with("image_to_video", "first_frame").len(), cat.models_for("image_to_video").len());
}

#[test]
fn tags_agree_with_fields() {
    let has_field = |m: &Model, path: &str| field_at(&m.fields, path).is_some();
    let enum_has = |m: &Model, field: &str, needle: &str| {
        m.fields
            .get(field)
            .is_some_and(|f| candidates(&f.spec).iter().any(|v| v.as_str().is_some_and(|s| s.contains(needle))))
    };
    for m in &catalogue().models {
        let at = format!("{} {}", m.endpoint, m.model);
        // Both ways: a tag exactly when the field that provides it is there.
        for (tag, present) in [
            ("seed", has_field(m, "seed")),
            ("negative_prompt", has_field(m, "negativePrompt")),
            ("draft", has_field(m, "draft")),
            ("keyframes", has_field(m, "keyframes")),
            ("mask_edit", has_field(m, "maskUri")),
            ("multi_prompt", has_field(m, "providerSettings.multiPrompt")),
            ("multiple_outputs", m.output_count.is_some()),
            ("prores", enum_has(m, "outputFormat", "prores")),
            ("transparent_background", enum_has(m, "background", "transparent")),
        ] {
            assert_eq!(m.has_tag(tag), present, "{at}: tag {tag}");
        }
        // One way: the field means the tag (prompt frames can be references, and a model may make sound
        // without an `audio` switch, hence not both ways).
        for (tag, fields) in [
            ("image_references", &["referenceImages", "references"][..]),
            ("video_references", &["referenceVideos"][..]),
            ("audio_references", &["referenceAudio", "referenceAudios"][..]),
            ("audio_output", &["audio"][..]),
        ] {
            if fields.iter().any(|f| has_field(m, f)) {
                assert!(m.has_tag(tag), "{at}: has {fields:?} but not tag {tag}");
            }
        }
        // last_frame exactly when promptImage's list form takes a 'last' position (or any position).
        if m.endpoint == "image_to_video" {
            let Some(Spec::Array { items, .. }) = array_spec(spec_at(m, "promptImage")) else { panic!("{at}") };
            let Spec::Object { fields, .. } = &**items else { panic!("{at}") };
            let last = fields.get("position").is_some_and(|p| match &p.spec {
                Spec::Enum { values } => values.contains(&json!("last")),
                Spec::Any => true,
                _ => false,
            });
            assert_eq!(m.has_tag("last_frame"), last, "{at}: tag last_frame");
        }
        if let Some(f) = m.output_count.as_ref().and_then(|oc| oc.field.as_ref()) {
            assert!(field_at(&m.fields, f).is_some(), "{at}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and export
// ---------------------------------------------------------------------------------------------

fn tiny_catalogue(endpoint_of_model: &str, field: Value) -> String {
    json!({
        "api_version": "2024-11-06",
        "endpoints": [{"name": "text_to_video", "path": "/v1/text_to_video", "description": "t"}],
        "definitions": {
            "seed": {"type": "int", "min": 0, "max": 4294967295u64},
            "wrapper": {"type": "array", "items": {"type": "ref", "name": "seed"}}
        },
        "models": [{
            "endpoint": endpoint_of_model,
            "model": "m1",
            "title": "M1",
            "output": "video",
            "fields": {"x": field},
            "cost": null
        }]
    })
    .to_string()
}

#[test]
fn parse_resolves_nested_refs() {
    let cat =
        Catalogue::parse(&tiny_catalogue("text_to_video", json!({"type": "ref", "name": "wrapper", "required": true})))
            .unwrap();
    let m = cat.model("text_to_video", "m1").unwrap();
    match &m.fields["x"].spec {
        Spec::Array { items, .. } => assert!(matches!(**items, Spec::Int { min: Some(0), max: Some(4294967295) })),
        other => panic!("not resolved: {other:?}"),
    }
    assert!(m.fields["x"].required);
    assert!(cat.validate("text_to_video", &json!({"model": "m1", "x": [1, 2]})).is_ok());
    assert!(cat.validate("text_to_video", &json!({"model": "m1", "x": [-1]})).is_err());
}

#[test]
fn parse_rejects_unknown_endpoint_and_unknown_ref() {
    let e = Catalogue::parse(&tiny_catalogue("text_to_audio", json!({"type": "bool"}))).unwrap_err();
    assert!(e.contains("unknown endpoint text_to_audio") && e.contains("m1"), "{e}");
    let e = Catalogue::parse(&tiny_catalogue("text_to_video", json!({"type": "ref", "name": "nope"}))).unwrap_err();
    assert!(e.contains("unknown definition 'nope'") && e.contains("m1"), "{e}");
    let e = Catalogue::parse(&tiny_catalogue(
        "text_to_video",
        json!({"type": "array", "items": {"type": "object", "fields": {"y": {"type": "ref", "name": "missing"}}}}),
    ))
    .unwrap_err();
    assert!(e.contains("unknown definition 'missing'"), "{e}");
    assert!(Catalogue::parse("{").is_err());
    assert!(Catalogue::parse(&tiny_catalogue("text_to_video", json!({"type": "colour"}))).is_err());
}

#[test]
fn to_json_is_resolved_and_has_no_definitions() {
    let v = catalogue().to_json();
    let obj = v.as_object().unwrap();
    assert!(!obj.contains_key("definitions"));
    assert_eq!(obj["api_version"], "2024-11-06");
    assert_eq!(obj["models"].as_array().unwrap().len(), catalogue().models.len());
    assert_eq!(obj["endpoints"].as_array().unwrap().len(), endpoints().len());

    fn walk(v: &Value, path: &str, types: &mut usize) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(t)) = o.get("type") {
                    assert_ne!(t, "ref", "unresolved ref at {path}: {v}");
                    *types += 1;
                }
                for (k, x) in o {
                    walk(x, &format!("{path}.{k}"), types);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), types);
                }
            }
            _ => {}
        }
    }
    let mut types = 0;
    walk(&v, "", &mut types);
    assert!(types > 50, "{types}");

    // Resolved specs are inlined: gen4_turbo's promptImage is the any_of, seed is an int.
    let gen4t = obj["models"].as_array().unwrap().iter().find(|m| m["model"] == "gen4_turbo").unwrap();
    assert_eq!(gen4t["fields"]["promptImage"]["type"], "any_of");
    assert_eq!(gen4t["fields"]["promptImage"]["required"], true);
    assert_eq!(gen4t["fields"]["seed"]["type"], "int");
    assert_eq!(gen4t["fields"]["seed"]["max"], 4294967295u64);
    // And the export parses back into an equivalent catalogue.
    let back = Catalogue::parse(&v.to_string()).unwrap();
    assert_eq!(back.models.len(), catalogue().models.len());
    for m in &back.models {
        assert!(back.validate(&m.endpoint, &minimal_body(m)).is_ok(), "{}", m.model);
    }
}

/// Adding a model is one edit to the data: a model added to catalogue.json's text alone is
/// validated, priced, described and exported like the others (the tools' side is shown by
/// tests/server/test_tool_schemas.py).
#[test]
fn a_model_added_to_the_data_alone_is_served() {
    let mut data: Value = serde_json::from_str(super::load::CATALOGUE_JSON).unwrap();
    let models = data["models"].as_array_mut().unwrap();
    let mut new = models.iter().find(|m| m["model"] == "gen4.5" && m["endpoint"] == "text_to_video").unwrap().clone();
    new["model"] = json!("gen9_preview");
    new["title"] = json!("Gen-9 Preview");
    new["fields"]["duration"] = json!({"type": "int", "min": 4, "max": 20, "required": true});
    new["cost"] = json!({"unit": "second", "credits": 50, "source": "this test"});
    models.push(new);
    let cat = Catalogue::parse(&data.to_string()).unwrap();

    let body = json!({"model": "gen9_preview", "promptText": "a cat", "ratio": "1280:720", "duration": 20});
    let m = cat.validate("text_to_video", &body).unwrap();
    assert_eq!(m.estimate_cost(&body), Some(1000.0));
    let e = cat
        .validate(
            "text_to_video",
            &json!({"model": "gen9_preview", "promptText": "a cat", "ratio": "1280:720", "duration": 2}),
        )
        .unwrap_err();
    assert!(e.to_string().contains("duration"), "{e}");
    let e = cat.validate("text_to_video", &json!({"model": "gen10"})).unwrap_err().to_string();
    assert!(e.contains("gen9_preview"), "the known models are listed: {e}");
    let exported = cat.to_json();
    let row = exported["models"].as_array().unwrap().iter().find(|m| m["model"] == "gen9_preview").unwrap();
    // Its price and limits in words come with it, and reach the summary of its endpoint's models.
    assert_eq!(row["cost_text"], "50 credits/s");
    assert_eq!(row["fields"]["duration"]["allowed"], "integer 4-20");
    let pairs: Vec<(&str, &str)> =
        cat.models_for("text_to_video").iter().map(|m| ("text_to_video", m.model.as_str())).collect();
    assert_eq!(cat.cost_summary(&pairs).unwrap(), "Cost: 10-50 credits/s.", "the tool description's price");
}

// ---------------------------------------------------------------------------------------------
// Text for people, made here and exported: a model's price, a field's allowed values, and the
// price range over several models
// ---------------------------------------------------------------------------------------------

#[test]
fn cost_text_reads_as_the_tools_have_always_shown_it() {
    let text = |e: &str, m: &str| model(e, m).cost_text();
    assert_eq!(text("text_to_video", "veo3.1"), "40 credits/s; 20 when audio is False");
    assert_eq!(text("avatar_videos", "gwm1_avatars"), "2 + 2 per 6 s of input");
    assert_eq!(text("text_to_speech", "eleven_multilingual_v2"), "1 per 50 characters");
    assert_eq!(
        text("text_to_video", "gen4.5"),
        "12 credits/s; +5 for outputFormat prores/png_sequence; +20 for outputFormat hdr10/hlg/sdr_rec709_10bit"
    );
    assert_eq!(
        text("text_to_image", "gen4_image"),
        "8 credits/image; 5 when ratio is 1280:720/720:1280/720:720/960:720/720:960/1680:720"
    );
    // A long list of values is cut at 60 characters.
    let long = text("text_to_image", "bria_fibo_1_5");
    assert!(long.ends_with("when ratio is 2048:2048/1536:2304/2304:1536/1536:2048/2048:1536/1536:1920/"), "{long}");
    let unpriced = catalogue().models.iter().find(|m| m.cost.is_none()).unwrap();
    assert_eq!(unpriced.cost_text(), PRICE_NOT_PUBLISHED);
}

#[test]
fn cost_text_of_cases_the_data_does_not_have_yet() {
    let cost: Cost = serde_json::from_value(json!({
        "unit": "task", "credits": 0.125, "source": "test",
        "extras": [{"field": "refs", "per_item": true, "credits": 2}, {"field": "hd", "values": [true], "credits": -1}],
    }))
    .unwrap();
    assert_eq!(cost.text(), "0.125 credits/task; +2 per item of refs; -1 for hd True");
}

#[test]
fn every_model_has_a_cost_text_and_every_field_an_allowed_text() {
    let v = catalogue().to_json();
    for m in v["models"].as_array().unwrap() {
        let at = format!("{} {}", m["endpoint"], m["model"]);
        assert!(m["cost_text"].as_str().is_some_and(|t| !t.is_empty()), "{at}");
        for (name, f) in m["fields"].as_object().unwrap() {
            assert!(f["allowed"].as_str().is_some_and(|t| !t.is_empty()), "{at} {name}");
        }
    }
    let mut fields = 0;
    for op in v["operations"].as_array().unwrap() {
        for part in ["query", "body"] {
            for (name, f) in op.get(part).and_then(Value::as_object).into_iter().flatten() {
                assert!(f["allowed"].as_str().is_some_and(|t| !t.is_empty()), "{} {part} {name}", op["name"]);
                fields += 1;
            }
        }
    }
    assert!(fields > 0, "operations have query or body fields");
}

#[test]
fn allowed_says_what_a_field_accepts() {
    let fields = &model("character_performance", "act_two").fields;
    let said = |name: &str| allowed(&fields[name].spec);
    assert_eq!(said("seed"), "integer 0-4294967295", "whole numbers print in full");
    assert_eq!(said("expressionIntensity"), "integer 1-5");
    assert_eq!(said("bodyControl"), "bool");
    assert_eq!(said("contentModeration"), "{publicFigureThreshold?: auto, low}");
    assert_eq!(said("character"), "{type: image; uri: image (media input)} or {type: video; uri: video (media input)}");
    let spec: Spec = serde_json::from_value(json!({"type": "array", "max_items": 3,
        "items": {"type": "number", "min": 0.5}}))
    .unwrap();
    assert_eq!(allowed(&spec), "list of number >= 0.5 (at most 3)");
    let spec: Spec = serde_json::from_value(json!({"type": "text", "max": 1000})).unwrap();
    assert_eq!(allowed(&spec), "text, at most 1000 chars");
    let spec: Spec = serde_json::from_value(json!({"type": "enum", "values": [5, 10, "auto"]})).unwrap();
    assert_eq!(allowed(&spec), "5, 10, auto");
}

#[test]
fn cost_summary_gives_the_range_per_unit() {
    let of = |endpoint: &str| {
        let pairs: Vec<(&str, &str)> =
            catalogue().models_for(endpoint).iter().map(|m| (endpoint, m.model.as_str())).collect();
        catalogue().cost_summary(&pairs).unwrap()
    };
    assert_eq!(of("text_to_video"), "Cost: 10-40 credits/s.");
    assert_eq!(of("text_to_image"), "Cost: 1-41 credits/image.");
    assert_eq!(of("video_to_hdr"), "Cost: 20 credits/s of input.");
    assert_eq!(of("text_to_speech"), "Cost: 0.02 credits/char.");
    assert_eq!(of("sound_effect"), "");
    let mixed = [("voice_dubbing", "eleven_voice_dubbing"), ("voice_isolation", "eleven_voice_isolation")];
    assert_eq!(catalogue().cost_summary(&mixed).unwrap(), "Cost: 0.17-0.5 credits/s of input.");
    let two = [("text_to_speech", "eleven_multilingual_v2"), ("video_to_hdr", "ruby")];
    assert_eq!(catalogue().cost_summary(&two).unwrap(), "Cost: 0.02 credits/char, 20 credits/s of input.");
    assert_eq!(catalogue().cost_summary::<&str, &str>(&[]).unwrap(), "");
    let e = catalogue().cost_summary(&[("text_to_video", "gen10")]).unwrap_err();
    assert!(e.contains("gen10") && e.contains("text_to_video"), "{e}");
}

#[test]
fn numbers_print_without_exponents() {
    use super::words::num;
    assert_eq!(num(4294967295.0, 6), "4294967295");
    assert_eq!(num(0.02, 6), "0.02");
    assert_eq!(num(1.0 / 6.0, 2), "0.17");
    assert_eq!(num(1.0 / 60.0, 6), "0.0166667");
    assert_eq!(num(150.0, 2), "150");
    assert_eq!(num(-2.0, 6), "-2");
    assert_eq!(num(0.0, 2), "0");
}

// ---------------------------------------------------------------------------------------------
// Operations: every one routed back to itself, its smallest and largest requests accepted, each
// required field missing named, unknown fields and stray bodies refused
// ---------------------------------------------------------------------------------------------

/// The operation's path parameters, each given a value that needs escaping.
fn op_params(op: &Operation) -> Map<String, Value> {
    op.path_params().into_iter().map(|p| (p.to_string(), json!(format!("{p} 1/é")))).collect()
}

/// A request's fields (query or body) at their smallest (`full`: largest), with the rules made to
/// hold by giving the first field of each `require_one_of`.
fn op_fields(fields: &BTreeMap<String, Field>, rules: &[Rule], full: bool) -> Map<String, Value> {
    let mut obj: Map<String, Value> =
        fields.iter().filter(|(_, f)| f.required || full).map(|(k, f)| (k.clone(), sample(&f.spec, full, 0))).collect();
    for r in rules {
        let unmet = r.when.holds(&obj) && !r.require_one_of.iter().any(|f| obj.contains_key(f));
        if let Some(first) = r.require_one_of.first().filter(|_| unmet) {
            obj.insert(first.clone(), sample(&fields[first].spec, full, 0));
        }
    }
    obj
}

fn op_request(op: &Operation, full: bool) -> (Map<String, Value>, Option<Value>) {
    let query = op_fields(&op.query, &[], full);
    let body = op.body.as_ref().map(|b| Value::Object(op_fields(b, &op.rules, full)));
    (query, body)
}

#[test]
fn every_operation_routes_back_to_itself_with_its_parameters() {
    let cat = catalogue();
    for op in cat.operations.iter() {
        let params = op_params(op);
        let path = op.url_path(&params).unwrap();
        let (found, got) = cat.route(&op.method, &path).unwrap_or_else(|| panic!("{} {path}: no route", op.name));
        assert_eq!(found.name, op.name, "{path}");
        for (k, v) in &params {
            assert_eq!(got[k], v.as_str().unwrap(), "{}: {k} decoded", op.name);
        }
    }
    // A literal segment wins over a parameter, and a path with nothing after it is not matched.
    assert_eq!(cat.route("POST", "/v1/voices/preview").unwrap().0.name, "voices.preview");
    assert!(cat.route("GET", "/v1/routers/").is_none());
    assert!(cat.route("PUT", "/v1/routers").is_none() && cat.route("GET", "/v1/nothing").is_none());
}

#[test]
fn every_operations_smallest_and_largest_requests_are_accepted() {
    let cat = catalogue();
    for op in cat.operations.iter().filter(|o| o.returns != Returns::Task) {
        for full in [false, true] {
            let (query, body) = op_request(op, full);
            let got = cat.check_request(op, &op_params(op), &query, body.as_ref());
            assert!(got.is_ok(), "{} full={full} query={query:?} body={body:?}: {}", op.name, got.unwrap_err());
            let url = got.unwrap();
            assert!(url.starts_with(op.path.split('{').next().unwrap()), "{url}");
            assert!(!url.contains(' ') && !url.contains('é'), "{}: escaped: {url}", op.name);
        }
    }
}

#[test]
fn every_required_field_of_an_operation_is_named_when_missing() {
    let cat = catalogue();
    for op in cat.operations.iter().filter(|o| o.returns != Returns::Task) {
        let (query, body) = op_request(op, false);
        for (name, _) in op.query.iter().filter(|(_, f)| f.required) {
            let mut q = query.clone();
            q.remove(name);
            let Err(Error::Validation { issues, .. }) = cat.check_request(op, &op_params(op), &q, body.as_ref()) else {
                panic!("{}: query {name} missing was accepted", op.name)
            };
            assert_eq!(issues.len(), 1, "{}: {issues:?}", op.name);
            assert_eq!(issues[0].path, vec![json!(name)]);
        }
        let fields = op.body.clone().unwrap_or_default();
        for (name, _) in fields.iter().filter(|(_, f)| f.required) {
            let mut b = body.clone().unwrap();
            b.as_object_mut().unwrap().remove(name);
            let Err(Error::Validation { issues, .. }) = cat.check_request(op, &op_params(op), &query, Some(&b)) else {
                panic!("{}: body {name} missing was accepted", op.name)
            };
            assert!(issues.iter().any(|i| i.path == vec![json!(name)]), "{}: {issues:?}", op.name);
        }
        for p in op.path_params() {
            let mut params = op_params(op);
            params.remove(p);
            let Err(Error::Validation { issues, .. }) = cat.check_request(op, &params, &query, body.as_ref()) else {
                panic!("{}: path parameter {p} missing was accepted", op.name)
            };
            assert_eq!(issues[0].path, vec![json!(p)]);
        }
    }
}

#[test]
fn operations_refuse_unknown_fields_and_stray_bodies() {
    let cat = catalogue();
    let create = cat.operation("routers.create").unwrap();
    let Err(Error::Validation { issues, message }) =
        cat.check_request(create, &Map::new(), &Map::new(), Some(&json!({"slug": "drafts", "colour": "red"})))
    else {
        panic!("an unknown field was accepted")
    };
    assert_eq!(issues[0].path, vec![json!("colour")], "{message}");
    assert!(message.contains("routers.create"), "{message}");
    let retrieve = cat.operation("routers.retrieve").unwrap();
    let params = json!({"id": "r1"}).as_object().unwrap().clone();
    assert!(cat.check_request(retrieve, &params, &Map::new(), Some(&json!({"slug": "x"}))).is_err());
    assert!(cat.check_request(retrieve, &params, &Map::new(), Some(&json!({}))).is_ok());
    let extra = json!({"id": "r1", "other": "x"}).as_object().unwrap().clone();
    assert!(cat.check_request(retrieve, &extra, &Map::new(), None).is_err());
    // A query list goes comma-joined, each value escaped.
    let q = json!({"actions": ["a b", "c,d"], "limit": 5}).as_object().unwrap().clone();
    assert_eq!(Operation::query_string(&q), "actions=a%20b%2Cc%2Cd&limit=5");
}

#[test]
fn task_operations_come_from_the_endpoints_once_each() {
    let cat = catalogue();
    let tasks: Vec<&Operation> = cat.operations.iter().filter(|o| o.returns == Returns::Task).collect();
    assert_eq!(tasks.len(), cat.endpoints.len());
    for e in &cat.endpoints {
        let op = cat.operation(&e.operation_name()).unwrap();
        assert_eq!(
            (op.method.as_str(), op.path.as_str(), op.endpoint.as_deref()),
            ("POST", e.path.as_str(), Some(e.name.as_str()))
        );
    }
    // A task operation's body is checked by the endpoint's models.
    let op = cat.operation("text_to_video.create").unwrap();
    assert!(cat.check_request(op, &Map::new(), &Map::new(), Some(&json!({"model": "gen5"}))).is_err());
    let recipe = cat.operation("recipes.product_ad").unwrap();
    let Err(Error::Validation { issues, .. }) =
        cat.check_request(recipe, &Map::new(), &Map::new(), Some(&json!({"model": "product_ad"})))
    else {
        panic!("a recipe body with a model was accepted")
    };
    assert!(issues.iter().any(|i| i.path == vec![json!("model")] && i.code == "unrecognized_keys"), "{issues:?}");
}

#[test]
fn a_tagged_union_is_checked_by_its_tag() {
    let cat = catalogue();
    let op = cat.operation("voices.create").unwrap();
    let check = |body: Value| match cat.check_request(op, &Map::new(), &Map::new(), Some(&body)) {
        Err(Error::Validation { issues, .. }) => issues,
        Ok(_) => vec![],
        Err(e) => panic!("{e}"),
    };
    // A tag no option has: that is the one problem, and the tags are named.
    let issues = check(json!({"name": "n", "from": {"type": "video", "video": "https://example.com/v.mp4"}}));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, vec![json!("from"), json!("type")]);
    assert_eq!(issues[0].code, "invalid_union_discriminator");
    assert!(issues[0].message.contains("text or audio") && issues[0].message.contains("'video'"), "{issues:?}");
    let issues = check(json!({"name": "n", "from": {"audio": "https://example.com/a.mp3"}}));
    assert!(issues.len() == 1 && issues[0].message.contains("got nothing"), "{issues:?}");
    // A known tag: only that option's problems.
    let issues = check(json!({"name": "n", "from": {"type": "audio"}}));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, vec![json!("from"), json!("audio")]);
    assert!(check(json!({"name": "n", "from": {"type": "audio", "audio": "https://example.com/a.mp3"}})).is_empty());
}
