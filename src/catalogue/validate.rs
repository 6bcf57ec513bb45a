//! Checking a request body against the catalogue, the way Runway's schema would: every problem at
//! once, each as an `Issue` naming the field, the value and what is allowed.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::body::{lookup, path_of, values_equal};
use super::describe::{describe_spec, hint, kind_of, list_values, range_text, show};
use super::load::{normalize_endpoint, Catalogue};
use super::types::{Condition, Field, MaxPerValue, MediaKind, Model, Rule, Spec, SumOf};
use crate::errors::{Error, Issue, Result};

impl Catalogue {
    /// Checks a request body for `endpoint`. Returns the model on success; every problem at once
    /// otherwise, each naming the field, the value and what is allowed.
    pub fn validate(&self, endpoint: &str, body: &Value) -> Result<&Model> {
        let ep_name = normalize_endpoint(endpoint);
        if self.endpoint(ep_name).is_none() {
            let known: Vec<&str> = self.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(Error::Validation {
                message: format!(
                    "endpoint: '{ep_name}' is not in the catalogue (known: {}); pass validate=False to send it anyway",
                    known.join(", ")
                ),
                issues: vec![],
            });
        }
        let Some(obj) = body.as_object() else {
            return Err(Error::validation(
                vec![issue("invalid_type", vec![], format!("expected a JSON object, got {}", kind_of(body)))],
                ep_name,
            ));
        };
        let model = match self.endpoint(ep_name).and_then(|e| e.fixed_model.as_deref()) {
            Some(fixed) => self.model(ep_name, fixed).expect("checked when the catalogue loads"),
            None => self.model_named_in(ep_name, obj)?,
        };
        let issues = model.check(obj);
        if issues.is_empty() {
            Ok(model)
        } else {
            Err(Error::validation(issues, &format!("invalid {} request for model {}", ep_name, model.model)))
        }
    }

    /// The model a body names in its `model` field, or the issue saying why none fits.
    fn model_named_in(&self, ep_name: &str, obj: &Map<String, Value>) -> Result<&Model> {
        let model_name = match obj.get("model") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(Error::validation(
                    vec![issue(
                        "invalid_type",
                        vec![json!("model")],
                        format!("expected a string, got {}", kind_of(other)),
                    )],
                    ep_name,
                ))
            }
            None => {
                return Err(Error::validation(
                    vec![issue(
                        "invalid_type",
                        vec![json!("model")],
                        format!("required; one of: {}", self.model_names(ep_name)),
                    )],
                    ep_name,
                ))
            }
        };
        if let Some(r) = self.removed(ep_name, model_name) {
            let note = r.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            return Err(Error::validation(
                vec![issue(
                    "invalid_union_discriminator",
                    vec![json!("model")],
                    format!("'{model_name}' was removed from Runway's API{note}; use '{}' instead", r.replacement),
                )],
                ep_name,
            ));
        }
        self.model(ep_name, model_name).ok_or_else(|| {
            Error::validation(
                vec![issue(
                    "invalid_union_discriminator",
                    vec![json!("model")],
                    format!(
                        "'{model_name}' is not a known {ep_name} model (known: {}); pass validate=False to send it anyway",
                        self.model_names(ep_name)
                    ),
                )],
                ep_name,
            )
        })
    }

    fn model_names(&self, endpoint: &str) -> String {
        self.models_for(endpoint).iter().map(|m| m.model.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl Model {
    /// All problems in `body` for this model; empty when the body is acceptable.
    pub fn check(&self, body: &Map<String, Value>) -> Vec<Issue> {
        let mut issues = Vec::new();
        // A fixed model's endpoint has no `model` field, so there it is refused like any other.
        check_object_fields(&self.fields, body, &mut vec![], &mut issues, if self.fixed { &[] } else { &["model"] });
        check_rules(&self.rules, body, &mut issues);
        issues
    }
}

/// All problems in `body` against `fields` and `rules` (an operation's body or query).
pub fn check_fields(fields: &BTreeMap<String, Field>, rules: &[Rule], body: &Map<String, Value>) -> Vec<Issue> {
    let mut issues = Vec::new();
    check_object_fields(fields, body, &mut vec![], &mut issues, &[]);
    check_rules(rules, body, &mut issues);
    issues
}

fn check_rules(rules: &[Rule], body: &Map<String, Value>, issues: &mut Vec<Issue>) {
    for rule in rules {
        if rule.when.holds(body) {
            rule_issues(rule, body, issues);
        }
    }
}

impl Condition {
    pub fn holds(&self, body: &Map<String, Value>) -> bool {
        let Some(field) = &self.field else { return true };
        let v = lookup(body, field);
        if let Some(eq) = &self.equals {
            return v.is_some_and(|v| values_equal(v, eq));
        }
        if let Some(list) = &self.one_of {
            return v.is_some_and(|v| list.iter().any(|x| values_equal(v, x)));
        }
        v.is_some() == self.present.unwrap_or(true)
    }
}

pub(super) fn issue(code: &str, path: Vec<Value>, message: String) -> Issue {
    Issue { code: code.into(), path, message }
}

fn rule_issues(rule: &Rule, body: &Map<String, Value>, issues: &mut Vec<Issue>) {
    let msg = &rule.message;
    for f in &rule.require {
        if lookup(body, f).is_none() {
            issues.push(issue("custom", path_of(f), format!("required: {msg}")));
        }
    }
    for f in &rule.forbid {
        if lookup(body, f).is_some() {
            issues.push(issue("custom", path_of(f), format!("not allowed: {msg}")));
        }
    }
    if !rule.require_one_of.is_empty() && !rule.require_one_of.iter().any(|f| lookup(body, f).is_some()) {
        issues.push(issue(
            "custom",
            path_of(&rule.require_one_of[0]),
            format!("one of {} is required: {msg}", rule.require_one_of.join(", ")),
        ));
    }
    for (f, allowed) in &rule.allow {
        if let Some(v) = lookup(body, f) {
            if !allowed.iter().any(|a| values_equal(a, v)) {
                issues.push(issue(
                    "custom",
                    path_of(f),
                    format!("{} is not allowed ({msg}); allowed: {}", show(v), list_values(allowed)),
                ));
            }
        }
    }
    let count = |f: &str| lookup(body, f).and_then(Value::as_array).map_or(0, Vec::len);
    for (f, n) in &rule.min_items {
        if count(f) < *n {
            issues.push(issue("custom", path_of(f), format!("{} items; at least {n} required: {msg}", count(f))));
        }
    }
    for (f, n) in &rule.max_items {
        if count(f) > *n {
            issues.push(issue("custom", path_of(f), format!("{} items; at most {n} allowed: {msg}", count(f))));
        }
    }
}

fn check_object_fields(
    fields: &BTreeMap<String, Field>,
    obj: &Map<String, Value>,
    path: &mut Vec<Value>,
    issues: &mut Vec<Issue>,
    ignore: &[&str],
) {
    for (name, field) in fields {
        path.push(json!(name));
        match obj.get(name) {
            None if field.required => {
                issues.push(issue("invalid_type", path.clone(), format!("required{}", hint(&field.spec))));
            }
            None => {}
            Some(v) => check_value(&field.spec, v, path, issues),
        }
        path.pop();
    }
    let mut unknown: Vec<&String> =
        obj.keys().filter(|k| !fields.contains_key(*k) && !ignore.contains(&k.as_str())).collect();
    unknown.sort();
    for k in unknown {
        let mut p = path.clone();
        p.push(json!(k));
        let accepted: Vec<&str> = fields.keys().map(String::as_str).collect();
        issues.push(issue(
            "unrecognized_keys",
            p,
            format!("not accepted here; accepted fields: {}", accepted.join(", ")),
        ));
    }
}

/// The problems of value `v` at `path` against `spec`, appended to `issues`. One function per
/// kind of spec below; `path` is scratch space that each returns as it found it.
pub(super) fn check_value(spec: &Spec, v: &Value, path: &mut Vec<Value>, issues: &mut Vec<Issue>) {
    match spec {
        Spec::Any => {}
        Spec::Null => {
            if !v.is_null() {
                issues.push(issue("invalid_type", path.clone(), format!("expected null, got {}", kind_of(v))));
            }
        }
        Spec::Ref { name } => issues.push(issue("custom", path.clone(), format!("unresolved definition {name}"))),
        Spec::Text { min, max } => check_text(*min, *max, v, path, issues),
        Spec::Enum { values } => check_enum(values, v, path, issues),
        Spec::Int { min, max } => match integral(v) {
            None => issues.push(issue("invalid_type", path.clone(), format!("expected an integer, got {}", show(v)))),
            Some(i) => range_check(i as f64, min.map(|x| x as f64), max.map(|x| x as f64), v, path, issues),
        },
        Spec::Number { min, max } => match v.as_f64() {
            None => issues.push(issue("invalid_type", path.clone(), format!("expected a number, got {}", show(v)))),
            Some(f) => range_check(f, *min, *max, v, path, issues),
        },
        Spec::Bool => {
            if !v.is_boolean() {
                issues.push(issue("invalid_type", path.clone(), format!("expected true or false, got {}", show(v))));
            }
        }
        Spec::Tag => check_tag(v, path, issues),
        Spec::Media { kind } => {
            if let Some(msg) = check_media(*kind, v) {
                // A non-string is a type mismatch, so that `any_of` reports the list form instead.
                let code = if v.is_string() { "invalid_string" } else { "invalid_type" };
                issues.push(issue(code, path.clone(), msg));
            }
        }
        Spec::Array { items, min_items, max_items, unique_by, require_item, all_or_none, sum_of, max_per_value } => {
            let Some(arr) = v.as_array() else {
                issues.push(issue("invalid_type", path.clone(), format!("expected a list, got {}", kind_of(v))));
                return;
            };
            // Issues are reported in the order of these checks.
            check_item_count(arr.len(), *min_items, *max_items, path, issues);
            for (i, item) in arr.iter().enumerate() {
                path.push(json!(i));
                check_value(items, item, path, issues);
                path.pop();
            }
            if let Some(key) = unique_by {
                check_unique_by(arr, key, path, issues);
            }
            if let Some(req) = require_item {
                check_require_item(arr, req, path, issues);
            }
            if let Some(key) = all_or_none {
                check_all_or_none(arr, key, path, issues);
            }
            if let Some(s) = sum_of {
                check_sum_of(arr, s, path, issues);
            }
            if let Some(mp) = max_per_value {
                check_max_per_value(arr, mp, path, issues);
            }
        }
        Spec::Object { fields, exactly_one_of } => check_object(fields, exactly_one_of, v, path, issues),
        Spec::AnyOf { options } => check_any_of(options, v, path, issues),
    }
}

fn check_text(min: Option<usize>, max: Option<usize>, v: &Value, path: &[Value], issues: &mut Vec<Issue>) {
    let Some(s) = v.as_str() else {
        issues.push(issue("invalid_type", path.to_vec(), format!("expected text, got {}", kind_of(v))));
        return;
    };
    let n = s.encode_utf16().count();
    if let Some(m) = max {
        if n > m {
            issues.push(issue("too_big", path.to_vec(), format!("{n} UTF-16 code units; at most {m} allowed")));
        }
    }
    if let Some(m) = min {
        if n < m {
            let what = if m == 1 {
                "must not be empty".to_string()
            } else {
                format!("{n} UTF-16 code units; at least {m} required")
            };
            issues.push(issue("too_small", path.to_vec(), what));
        }
    }
}

fn check_enum(values: &[Value], v: &Value, path: &[Value], issues: &mut Vec<Issue>) {
    if !values.iter().any(|a| values_equal(a, v)) {
        issues.push(issue(
            "invalid_enum_value",
            path.to_vec(),
            format!("{} is not allowed; allowed: {}", show(v), list_values(values)),
        ));
    }
}

/// An integer value as i64, accepting integral floats (`5.0`) as JSON does not tell them apart.
fn integral(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if let Some(u) = n.as_u64() {
        return i64::try_from(u).ok();
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

fn range_check(x: f64, min: Option<f64>, max: Option<f64>, v: &Value, path: &[Value], issues: &mut Vec<Issue>) {
    let lo = min.map_or(f64::NEG_INFINITY, |m| m);
    let hi = max.map_or(f64::INFINITY, |m| m);
    if x < lo || x > hi {
        let code = if x < lo { "too_small" } else { "too_big" };
        let range = range_text(min, max);
        issues.push(issue(code, path.to_vec(), format!("{} is out of range; allowed {range}", show(v))));
    }
}

fn check_tag(v: &Value, path: &[Value], issues: &mut Vec<Issue>) {
    match v.as_str() {
        Some(s) if valid_tag(s) => {}
        _ => issues.push(issue(
            "invalid_string",
            path.to_vec(),
            format!(
                "{} is not a valid tag: 3–16 characters, starting with a letter, then letters, digits or underscores",
                show(v)
            ),
        )),
    }
}

fn check_item_count(n: usize, min: Option<usize>, max: Option<usize>, path: &[Value], issues: &mut Vec<Issue>) {
    if let Some(m) = max {
        if n > m {
            issues.push(issue("too_big", path.to_vec(), format!("{n} items; at most {m} allowed")));
        }
    }
    if let Some(m) = min {
        if n < m {
            issues.push(issue("too_small", path.to_vec(), format!("{n} items; at least {m} required")));
        }
    }
}

fn check_unique_by(arr: &[Value], key: &str, path: &[Value], issues: &mut Vec<Issue>) {
    let mut seen: Vec<&Value> = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        if let Some(k) = item.get(key) {
            if seen.iter().any(|s| values_equal(s, k)) {
                let mut p = path.to_vec();
                p.extend([json!(i), json!(key)]);
                issues.push(issue("custom", p, format!("{} is used by more than one item", show(k))));
            }
            seen.push(k);
        }
    }
}

fn check_require_item(arr: &[Value], req: &Map<String, Value>, path: &[Value], issues: &mut Vec<Issue>) {
    let found = arr.iter().any(|item| req.iter().all(|(k, want)| item.get(k).is_some_and(|x| values_equal(x, want))));
    if !found && !arr.is_empty() {
        let desc: Vec<String> = req.iter().map(|(k, v)| format!("{k} {}", show(v))).collect();
        issues.push(issue("custom", path.to_vec(), format!("an item with {} is required", desc.join(" and "))));
    }
}

fn check_all_or_none(arr: &[Value], key: &str, path: &[Value], issues: &mut Vec<Issue>) {
    let with = arr.iter().filter(|i| i.get(key).is_some()).count();
    if with != 0 && with != arr.len() {
        issues.push(issue(
            "custom",
            path.to_vec(),
            format!("either every item has '{key}' or none has ({with} of {} do)", arr.len()),
        ));
    }
}

fn check_sum_of(arr: &[Value], s: &SumOf, path: &[Value], issues: &mut Vec<Issue>) {
    let total: f64 = arr.iter().filter_map(|i| i.get(&s.key).and_then(Value::as_f64)).sum();
    let lo = s.min.unwrap_or(f64::NEG_INFINITY);
    let hi = s.max.unwrap_or(f64::INFINITY);
    if total < lo || total > hi {
        let range = range_text(s.min, s.max);
        let code = if total < lo { "too_small" } else { "too_big" };
        issues.push(issue(code, path.to_vec(), format!("the items' {} add up to {total}; allowed {range}", s.key)));
    }
}

fn check_max_per_value(arr: &[Value], mp: &MaxPerValue, path: &[Value], issues: &mut Vec<Issue>) {
    for (value, max) in &mp.max {
        let n = arr.iter().filter(|i| i.get(&mp.key).and_then(Value::as_str) == Some(value.as_str())).count();
        if n > *max {
            issues.push(issue(
                "too_big",
                path.to_vec(),
                format!("{n} items with {} '{value}'; at most {max} allowed", mp.key),
            ));
        }
    }
}

fn check_object(
    fields: &BTreeMap<String, Field>,
    exactly_one_of: &[String],
    v: &Value,
    path: &mut Vec<Value>,
    issues: &mut Vec<Issue>,
) {
    let Some(obj) = v.as_object() else {
        issues.push(issue("invalid_type", path.clone(), format!("expected an object, got {}", kind_of(v))));
        return;
    };
    check_object_fields(fields, obj, path, issues, &[]);
    if !exactly_one_of.is_empty() {
        let n = exactly_one_of.iter().filter(|k| obj.contains_key(*k)).count();
        if n != 1 {
            issues.push(issue(
                "custom",
                path.clone(),
                format!("exactly one of {} is required ({n} given)", exactly_one_of.join(", ")),
            ));
        }
    }
}

/// Accepts when any option accepts; otherwise reports the option whose shape matches the value's
/// JSON type best (a string against the string option, a list against the list).
fn check_any_of(options: &[Spec], v: &Value, path: &mut Vec<Value>, issues: &mut Vec<Issue>) {
    // A tagged union (objects told apart by a one-value `type`): the tag picks the option, so a
    // wrong or missing tag is the one problem to name, and a right one gets that option's issues.
    if let (Some(tags), Some(obj)) = (union_tags(options), v.as_object()) {
        let given = obj.get("type");
        return match tags.iter().position(|t| Some(t) == given) {
            Some(i) => check_value(&options[i], v, path, issues),
            None => {
                path.push(json!("type"));
                let what = given.map_or_else(|| "nothing".to_string(), show);
                issues.push(issue(
                    "invalid_union_discriminator",
                    path.clone(),
                    format!("expected {}, got {what}", list_values(&tags).replace(", ", " or ")),
                ));
                path.pop();
            }
        };
    }
    let mut best: Option<Vec<Issue>> = None;
    for opt in options {
        let mut trial = Vec::new();
        check_value(opt, v, path, &mut trial);
        if trial.is_empty() {
            return;
        }
        let type_mismatch = trial.len() == 1 && trial[0].code == "invalid_type" && trial[0].path == *path;
        if !type_mismatch && best.is_none() {
            best = Some(trial);
        }
    }
    match best {
        Some(b) => issues.extend(b),
        None => {
            let kinds: Vec<String> = options.iter().map(describe_spec).collect();
            issues.push(issue(
                "invalid_union",
                path.clone(),
                format!("expected {}, got {}", kinds.join(" or "), show(v)),
            ));
        }
    }
}

/// The `type` value of each option when every option is an object whose `type` is a required
/// one-value enum, all different; else None.
fn union_tags(options: &[Spec]) -> Option<Vec<Value>> {
    let tags: Vec<Value> = options
        .iter()
        .map(|o| match o {
            Spec::Object { fields, .. } => match fields.get("type") {
                Some(Field { spec: Spec::Enum { values }, required: true, .. }) if values.len() == 1 => {
                    Some(values[0].clone())
                }
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<_>>()?;
    let distinct = tags.iter().enumerate().all(|(i, t)| !tags[..i].contains(t));
    (tags.len() > 1 && distinct).then_some(tags)
}

pub fn valid_tag(s: &str) -> bool {
    let n = s.chars().count();
    (3..=16).contains(&n)
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks one media URI the way Runway's schema does; None when acceptable.
pub fn check_media(kind: MediaKind, v: &Value) -> Option<String> {
    let forms = format!("an https URL, a runway:// upload URI or a data:{}/ URI", kind.as_str());
    let Some(s) = v.as_str() else {
        return Some(format!("expected {forms}, got {}", kind_of(v)));
    };
    if let Some(rest) = s.strip_prefix("https://") {
        if s.len() > 2048 {
            return Some(format!("URL is {} characters; at most 2048 allowed", s.len()));
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        let hostname = host.split(':').next().unwrap_or("");
        if hostname.is_empty() || s.len() < 13 {
            return Some(format!("{} is not a valid URL", show(v)));
        }
        if hostname.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
            return Some("URLs must be hosted on a domain, not an IP address".into());
        }
        return None;
    }
    if s.starts_with("runway://") {
        return if (13..=5000).contains(&s.len()) {
            None
        } else {
            Some(format!("{} is not a valid runway:// URI", show(v)))
        };
    }
    if let Some(rest) = s.strip_prefix("data:") {
        let prefix = format!("{}/", kind.as_str());
        if !rest.starts_with(&prefix) {
            let got = rest.split([';', ',']).next().unwrap_or("");
            return Some(format!("data URI has type '{got}'; a data:{prefix}… URI is required here"));
        }
        if !rest.split(',').next().unwrap_or("").ends_with(";base64") || !rest.contains(',') {
            return Some("data URI must be base64 (data:<type>;base64,<data>)".into());
        }
        let max = kind.data_uri_max();
        if s.len() > max {
            return Some(format!(
                "data URI is {} bytes; at most {max} bytes ({} MiB) allowed for a {} data URI (use an upload for larger files)",
                s.len(),
                max / (1024 * 1024),
                kind.as_str()
            ));
        }
        return None;
    }
    if s.starts_with("http://") {
        return Some("only HTTPS URLs are allowed".into());
    }
    Some(format!("expected {forms}, got {}", show(v)))
}
