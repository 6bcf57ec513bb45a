//! Any operation of Runway's API by its name in the catalogue (`routers.create`): the request
//! checked whole before anything is sent, media inputs made URIs Runway can take, then one call.
//! Reads, updates and deletes are retried like reads; a POST that creates something is never sent
//! twice. Task-creating operations go through `create_task_with`, and workflow runs through the same
//! journaled create, so both are journaled and answer a `Task`.

use reqwest::Method;
use serde_json::{Map, Value};

use super::claims::CreateMeta;
use super::create::{Resolve, Target};
use super::http::Kind;
use super::RunwayClient;
use crate::catalogue::{catalogue, Operation, Returns};
use crate::errors::{Error, Issue, Result};
use crate::tasks::Task;

/// What an operation answered.
#[derive(Debug)]
pub enum Answer {
    Json(Value),
    Task(Task),
}

impl RunwayClient {
    /// Calls operation `name` with its path parameters, query and body (each a JSON object).
    pub async fn call(
        &self,
        name: &str,
        params: &Map<String, Value>,
        query: &Map<String, Value>,
        body: Option<Value>,
        meta: &CreateMeta,
    ) -> Result<Answer> {
        let op = find(name)?;
        if op.returns == Returns::Task {
            let ep = op.endpoint.as_deref().unwrap_or_default();
            // The request path is the endpoint's; a task operation takes no parameters or query.
            catalogue().check_request(op, params, query, Some(body.as_ref().unwrap_or(&Value::Null)))?;
            let body = body.unwrap_or(Value::Null);
            return Ok(Answer::Task(self.create_task_with(ep, body, true, meta).await?));
        }
        if op.returns == Returns::Invocation {
            return Ok(Answer::Task(self.run_workflow(op, params, query, body, meta).await?));
        }
        let fields = op.body.as_ref();
        // Stand-ins for local files first, so a bad field is refused before any file is read.
        let probe = match (fields, &body) {
            (Some(f), Some(b)) => Some(crate::media::with_placeholders(f, b)?),
            _ => body.clone(),
        };
        catalogue().check_request(op, params, query, probe.as_ref())?;
        let body = match (fields, body) {
            (Some(f), Some(b)) => Some(self.resolve_media(f, b).await?),
            (Some(_), None) => Some(Value::Object(Map::new())),
            (None, _) => None,
        };
        // Checked again as sent: the URIs that replaced local files must fit too.
        let path = catalogue().check_request(op, params, query, body.as_ref())?;
        let kind = if op.repeatable() { Kind::Read } else { Kind::Create };
        let method = Method::from_bytes(op.method.as_bytes()).map_err(|e| Error::Protocol(e.to_string()))?;
        let answer =
            self.send(method, &path, body.as_ref(), kind).await.map_err(|e| with_resource_id(e, op, params))?;
        // A look at a task or an invocation by its retrieve operation is journaled like `get_task`'s.
        let seen = match op.name.as_str() {
            "tasks.retrieve" => Task::from_json(answer.clone()),
            "workflow_invocations.retrieve" => Task::from_invocation_json(answer.clone()),
            _ => None,
        };
        if let Some(task) = seen {
            self.journal_seen(&task).await;
        }
        Ok(Answer::Json(answer))
    }

    /// A workflow run, journaled like a task's create (`workflows/<id>`, its body): an identical
    /// run still going is reattached to, a run is never sent twice. Answers the invocation.
    async fn run_workflow(
        &self,
        op: &Operation,
        params: &Map<String, Value>,
        query: &Map<String, Value>,
        body: Option<Value>,
        meta: &CreateMeta,
    ) -> Result<Task> {
        let body = body.unwrap_or_else(|| Value::Object(Map::new()));
        let probe = match &op.body {
            Some(f) => crate::media::with_placeholders(f, &body)?,
            None => body.clone(),
        };
        let path = catalogue().check_request(op, params, query, Some(&probe))?;
        let endpoint = path.strip_prefix("/v1/").unwrap_or(&path);
        let target = Target { endpoint, resolve: Resolve::Operation { op, params, query } };
        self.create_journaled(&target, body, meta).await
    }
}

/// The operation called `name`, or a validation error naming the known ones.
fn find(name: &str) -> Result<&'static Operation> {
    catalogue().operation(name).ok_or_else(|| {
        let known: Vec<&str> = catalogue().operations.iter().map(|o| o.name.as_str()).collect();
        Error::validation(
            vec![Issue {
                code: "custom".into(),
                path: vec!["operation".into()],
                message: format!("'{name}' is not an operation of Runway's API (known: {})", known.join(", ")),
            }],
            "",
        )
    })
}

/// A task's (or invocation's) id goes with every error about it (`tasks.retrieve`, `tasks.delete`,
/// `workflow_invocations.retrieve`).
fn with_resource_id(e: Error, op: &Operation, params: &Map<String, Value>) -> Error {
    match (op.resource.as_deref(), params.get("id").and_then(Value::as_str)) {
        (Some("task" | "workflow_invocation"), Some(id)) => e.with_task_id(id),
        _ => e,
    }
}
