//! Creating a task, or running a workflow (an invocation, journaled as a task is): the endpoint and
//! body checked, the journal asked first (reattach, or claim the request), media inputs resolved,
//! one POST that is never blindly repeated, and its outcome journaled. Identical creates in this process go one at a time (`CreateGate`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Map, Value};

use super::claims::{Admit, CreateMeta};
use super::http::Kind;
use super::RunwayClient;
use crate::catalogue::{catalogue, normalize_endpoint, Operation};
use crate::errors::{Error, Issue, Result};
use crate::tasks::{Task, TaskKind};

/// What a journaled create sends: where, and how its body is made ready.
pub(crate) struct Target<'a> {
    /// As journaled and fingerprinted, the POST's path under /v1/: `text_to_video`, or
    /// `workflows/<id>` for a workflow run (what it makes follows: `TaskKind::of_endpoint`).
    pub endpoint: &'a str,
    pub resolve: Resolve<'a>,
}

/// How a body's media inputs become URIs Runway takes, and the body is checked as sent.
pub(crate) enum Resolve<'a> {
    /// Sent as given (the caller asked for no validation).
    AsGiven,
    /// By the endpoint's models (a task endpoint).
    Endpoint,
    /// By an operation's body fields, then the whole request checked again.
    Operation { op: &'a Operation, params: &'a Map<String, Value>, query: &'a Map<String, Value> },
}

pub(super) type Gates = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Held while one request fingerprint is being checked and created; forgotten when nobody waits.
struct CreateGate<'a> {
    gates: &'a Gates,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<'a> CreateGate<'a> {
    async fn enter(gates: &'a Gates, key: &str) -> CreateGate<'a> {
        let lock = gates.lock().unwrap().entry(key.to_string()).or_default().clone();
        CreateGate { gates, key: key.to_string(), guard: Some(lock.lock_owned().await) }
    }
}

impl Drop for CreateGate<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut gates = self.gates.lock().unwrap();
        if gates.get(&self.key).is_some_and(|g| Arc::strong_count(g) == 1) {
            gates.remove(&self.key);
        }
    }
}

impl RunwayClient {
    /// Validates (unless told not to) and submits a task. Never retried once Runway may have
    /// received it; see `send`.
    pub async fn create_task(&self, endpoint: &str, body: Value, validate: bool) -> Result<Task> {
        self.create_task_with(endpoint, body, validate, &CreateMeta::default()).await
    }

    /// `create_task`, journaled under `meta.tool`. With a journal, an identical request whose task
    /// is still queued or running returns that task (`reattached`) unless `meta.force_new`.
    pub async fn create_task_with(
        &self,
        endpoint: &str,
        body: Value,
        validate: bool,
        meta: &CreateMeta,
    ) -> Result<Task> {
        let ep = normalize_endpoint(endpoint);
        if ep.is_empty() || !ep.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/') {
            return Err(Error::validation(
                vec![Issue {
                    code: "custom".into(),
                    path: vec!["endpoint".into()],
                    message: format!("'{endpoint}' is not an endpoint name"),
                }],
                "",
            ));
        }
        if validate {
            // Local files and earlier tasks' outputs become URIs Runway can take, then the
            // final body is checked once more.
            if let Some(model) = catalogue().model_for(ep, &body) {
                // The whole body first, with stand-ins for local files and task outputs: a bad
                // field is refused before any file is read, uploaded or fetched.
                catalogue().validate(ep, &crate::media::with_placeholders(&model.fields, &body)?)?;
            }
        } else if !body.is_object() {
            return Err(Error::validation(
                vec![Issue {
                    code: "invalid_type".into(),
                    path: vec![],
                    message: "the body must be a JSON object".into(),
                }],
                "",
            ));
        }
        let resolve = if validate { Resolve::Endpoint } else { Resolve::AsGiven };
        self.create_journaled(&Target { endpoint: ep, resolve }, body, meta).await
    }

    /// The create itself, for a task or a workflow run: the journal asked first (reattach, or
    /// claim the request), media inputs resolved, one POST to `/v1/{endpoint}` that is never
    /// blindly repeated, and its outcome journaled. `body` is the request as the user gave it,
    /// already checked with stand-ins for its local files.
    pub(crate) async fn create_journaled(&self, target: &Target<'_>, body: Value, meta: &CreateMeta) -> Result<Task> {
        let ep = target.endpoint;
        let kind = TaskKind::of_endpoint(ep);
        // The request as the user gave it (local paths, task ids): what the journal keeps and
        // what an identical request is recognised by.
        let original = body.clone();
        let request_fp = self.request_fp(ep, &original).await?;
        let _gate = match &request_fp {
            Some(fp) => Some(CreateGate::enter(&self.creating, fp).await),
            None => None,
        };
        let mut claim = match self.admit(ep, &original, &request_fp, meta).await? {
            Admit::Reattach(task) => return Ok(task),
            Admit::Create(claim) => claim,
        };
        if meta.reattach_only {
            self.journal_no_task(claim).await;
            return Err(Error::refused(
                "not sent, nothing spent: no identical request's task is still running to reattach to (it may have \
                 finished a moment ago); call again to make a new task",
            ));
        }
        let body = match self.resolve_for(target, body).await {
            Ok(b) => b,
            Err(e) => {
                self.journal_no_task(claim).await;
                return Err(e);
            }
        };
        let path = format!("/v1/{ep}");
        if let Some(c) = claim.as_mut() {
            c.mark_sent();
        }
        let json = match self.send(Method::POST, &path, Some(&body), Kind::Create).await {
            Ok(j) => j,
            Err(e) => {
                if e.may_have_created() {
                    self.journal_ambiguous(ep, &original, request_fp, meta, &e, claim).await;
                } else {
                    self.journal_no_task(claim).await;
                }
                return Err(e);
            }
        };
        let answer = match kind {
            TaskKind::Task => Task::from_json(json.clone()),
            TaskKind::Invocation => Task::from_invocation_json(json.clone()),
        };
        let Some(task) = answer else {
            let what = match kind {
                TaskKind::Task => "A task",
                TaskKind::Invocation => "A workflow invocation",
            };
            let e = Error::Protocol(format!(
                "Runway accepted POST {path} but the answer has no {} id: {json}. {what} may exist; check the \
                 Runway dashboard before resubmitting",
                kind.as_str()
            ));
            self.journal_ambiguous(ep, &original, request_fp, meta, &e, claim).await;
            return Err(e);
        };
        self.remember_kind(&task.id, kind);
        self.journal_created(ep, &original, request_fp, meta, &task, claim).await;
        let now = self.now();
        let mut created = self.created.lock().unwrap();
        if created.len() > 10_000 {
            // Only the first poll's timing depends on this; old entries are worthless.
            created.retain(|_, t| now - *t < 3600.0);
        }
        created.insert(task.id.clone(), now);
        Ok(task)
    }

    /// The body as it is sent: media inputs made URIs Runway can take, checked once more.
    async fn resolve_for(&self, target: &Target<'_>, body: Value) -> Result<Value> {
        match &target.resolve {
            Resolve::AsGiven => Ok(body),
            Resolve::Endpoint => self.resolve_body(target.endpoint, body).await,
            Resolve::Operation { op, params, query } => {
                let body = match &op.body {
                    Some(fields) => self.resolve_media(fields, body).await?,
                    None => body,
                };
                catalogue().check_request(op, params, query, Some(&body))?;
                Ok(body)
            }
        }
    }

    /// Local files and earlier tasks' outputs made URIs Runway can take, then the final body checked.
    async fn resolve_body(&self, ep: &str, mut body: Value) -> Result<Value> {
        if let Some(model) = catalogue().model_for(ep, &body) {
            body = self.resolve_media(&model.fields, body).await?;
        }
        catalogue().validate(ep, &body)?;
        Ok(body)
    }
}
