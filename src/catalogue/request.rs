//! Checking a request for any operation before it is sent: its path parameters, query and body,
//! every problem at once (a task operation's body by the endpoint's models).

use serde_json::{Map, Value};

use super::describe::kind_of;
use super::load::Catalogue;
use super::operations::{Operation, Returns};
use super::validate::{check_fields, issue};
use crate::errors::{Error, Result};

impl Catalogue {
    /// Checks a request for `op` before it is sent: path parameters, query and body, every problem
    /// at once. Returns the path with its parameters and query string filled in.
    pub fn check_request(
        &self,
        op: &Operation,
        params: &Map<String, Value>,
        query: &Map<String, Value>,
        body: Option<&Value>,
    ) -> Result<String> {
        let mut issues = Vec::new();
        let path = op.url_path(params).map_err(|i| issues.extend(i)).ok();
        issues.extend(check_fields(&op.query, &[], query));
        match (op.returns, &op.body, body) {
            (Returns::Task, _, Some(b)) => {
                let ep = op.endpoint.as_deref().unwrap_or_default();
                if let Err(Error::Validation { issues: found, message }) = self.validate(ep, b) {
                    if found.is_empty() {
                        issues.push(issue("custom", vec![], message));
                    }
                    issues.extend(found);
                }
            }
            (_, Some(fields), b) => match b.unwrap_or(&Value::Object(Map::new())) {
                Value::Object(obj) => issues.extend(check_fields(fields, &op.rules, obj)),
                other => issues.push(issue(
                    "invalid_type",
                    vec![],
                    format!("expected a JSON object, got {}", kind_of(other)),
                )),
            },
            (Returns::Task, None, None) => issues.push(issue("invalid_type", vec![], "a body is required".into())),
            (_, None, Some(b)) if b.as_object().is_none_or(|o| !o.is_empty()) => {
                issues.push(issue("unrecognized_keys", vec![], format!("{} takes no body", op.name)))
            }
            _ => {}
        }
        match path {
            Some(p) if issues.is_empty() => {
                let q = Operation::query_string(query);
                Ok(if q.is_empty() { p } else { format!("{p}?{q}") })
            }
            _ => Err(Error::validation(issues, &format!("invalid {} request", op.name))),
        }
    }
}
