//! Every operation of Runway's API as data: method, path (with `{param}`s), query and body fields
//! in the spec language, and what it answers. Task-creating POSTs are derived from `endpoints`
//! (their bodies are described by the models); the rest are listed under `operations` in
//! `catalogue.json`. The client builds and checks requests from this, and the simulator routes by it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::types::{Endpoint, Field, Rule};
use crate::errors::Issue;

/// What an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Returns {
    /// One JSON object.
    Object,
    /// One page of a list: `{data, hasMore, nextCursor}`, followed with `cursor`.
    Page,
    /// 204, no body.
    Empty,
    /// `{id, ...}` of a task, polled at `/v1/tasks/{id}`.
    Task,
    /// `{id}` of a workflow invocation, polled at `/v1/workflow_invocations/{id}`.
    Invocation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    /// The SDK's dotted method name: `routers.create`, `organization.webapp.audit_logs.list`.
    pub name: String,
    pub method: String,
    /// `/v1/routers/{id}`: each `{name}` is a path parameter.
    pub path: String,
    pub summary: String,
    pub returns: Returns,
    /// The kind of object it reads or writes (`router`, `avatar`, `task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Field>,
    /// The JSON body's fields; `None` when the operation takes no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BTreeMap<String, Field>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// A POST that only reads, so repeating it after a lost answer is harmless.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub safe_to_repeat: bool,
    /// For task-creating operations: the endpoint whose models describe the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl Operation {
    /// The operation that creates tasks at `ep`; its body is described by the endpoint's models.
    pub fn for_endpoint(ep: &Endpoint) -> Operation {
        Operation {
            name: ep.operation_name(),
            method: "POST".into(),
            path: ep.path.clone(),
            summary: ep.description.clone(),
            returns: Returns::Task,
            resource: Some("task".into()),
            query: BTreeMap::new(),
            body: None,
            rules: Vec::new(),
            safe_to_repeat: false,
            endpoint: Some(ep.name.clone()),
        }
    }

    /// The names of the path parameters, in order.
    pub fn path_params(&self) -> Vec<&str> {
        self.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect()
    }

    /// Whether a request that may have reached Runway can be sent again: reads, updates and
    /// deletes can; a POST that creates something never is.
    pub fn repeatable(&self) -> bool {
        self.method != "POST" || self.safe_to_repeat
    }

    /// Whether the operation sends a JSON body.
    pub fn takes_body(&self) -> bool {
        self.body.is_some() || self.returns == Returns::Task
    }

    /// The path parameters of `path` when it matches this operation's template, else `None`.
    pub fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let want: Vec<&str> = self.path.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        if want.len() != got.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (w, g) in want.iter().zip(&got) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => {
                    params.insert(name.to_string(), crate::util::percent_decode(g));
                }
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            }
        }
        Some(params)
    }

    /// How many literal segments the path has: a literal match wins over a parameter.
    pub fn specificity(&self) -> usize {
        self.path.split('/').filter(|s| !s.starts_with('{')).count()
    }

    /// The request path with the parameters filled in (escaped), or the issues naming the missing
    /// or unknown parameters.
    pub fn url_path(&self, params: &Map<String, Value>) -> Result<String, Vec<Issue>> {
        let mut issues = Vec::new();
        let names = self.path_params();
        for k in params.keys().filter(|k| !names.contains(&k.as_str())) {
            issues.push(issue("unrecognized_keys", k, format!("{} takes no path parameter {k}", self.name)));
        }
        let mut out = Vec::new();
        for seg in self.path.split('/') {
            let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                out.push(seg.to_string());
                continue;
            };
            match params.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => out.push(crate::util::percent_encode(s)),
                Some(Value::String(_)) => issues.push(issue("too_small", name, "must not be empty".into())),
                Some(other) => issues.push(issue("invalid_type", name, format!("expected a string id, got {other}"))),
                None => issues.push(issue("invalid_type", name, "required".into())),
            }
        }
        if issues.is_empty() {
            Ok(out.join("/"))
        } else {
            Err(issues)
        }
    }

    /// The query string (without `?`) for checked `query` values: lists comma-joined, as Runway
    /// reads them.
    pub fn query_string(query: &Map<String, Value>) -> String {
        let mut parts = Vec::new();
        for (k, v) in query {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                other => scalar_text(other),
            };
            parts.push(format!("{}={}", crate::util::percent_encode(k), crate::util::percent_encode(&text)));
        }
        parts.join("&")
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn issue(code: &str, field: &str, message: String) -> Issue {
    Issue { code: code.into(), path: vec![json!(field)], message }
}
