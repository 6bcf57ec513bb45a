//! Which path an id is read at: a task at `/v1/tasks/{id}`, a workflow invocation at
//! `/v1/workflow_invocations/{id}`. Known from this client's own creates, else from the id's journal
//! row (its endpoint), else found out: the task path first, the invocation path after a 404.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Method;

use super::attached::blocking;
use super::http::Kind;
use super::RunwayClient;
use crate::errors::{Error, Result};
use crate::tasks::{Task, TaskKind};

/// The kind of every id this client has created, reattached to or read.
pub(super) type Kinds = Mutex<HashMap<String, TaskKind>>;

/// Past this many ids the memory starts over: a forgotten id is looked up again, nothing is lost.
const KINDS_CAP: usize = 10_000;

impl RunwayClient {
    pub(crate) fn remember_kind(&self, id: &str, kind: TaskKind) {
        let mut kinds = self.kinds.lock().unwrap();
        if kinds.len() >= KINDS_CAP && !kinds.contains_key(id) {
            kinds.clear();
        }
        kinds.insert(id.to_string(), kind);
    }

    /// What `id` is, when this client or its journal knows; None when it has to be found out.
    pub(crate) async fn known_kind(&self, id: &str) -> Option<TaskKind> {
        if let Some(k) = self.kinds.lock().unwrap().get(id) {
            return Some(*k);
        }
        let a = self.journal()?.clone();
        let task_id = id.to_string();
        // A journal that cannot be read now leaves the kind to be found out over HTTP.
        let row = blocking(move || a.journal.get(&a.key_fp, &task_id)).await.ok()??;
        let kind = TaskKind::of_endpoint(&row.endpoint);
        self.remember_kind(id, kind);
        Some(kind)
    }

    /// GET of a task or an invocation, as the kind of `id` says (a checked id). Not journaled.
    pub(super) async fn read_task(&self, id: &str) -> Result<Task> {
        let known = self.known_kind(id).await;
        let kind = known.unwrap_or_default();
        let first = self.read_as(kind, id).await;
        let (kind, answer) = match first {
            // Not a task: maybe a workflow invocation this client has no record of.
            Err(Error::Api { status: 404, .. }) if known.is_none() => {
                match self.read_as(TaskKind::Invocation, id).await {
                    Ok(t) => (TaskKind::Invocation, Ok(t)),
                    Err(_) => return first,
                }
            }
            other => (kind, other),
        };
        if answer.is_ok() && known.is_none() {
            self.remember_kind(id, kind);
        }
        answer
    }

    async fn read_as(&self, kind: TaskKind, id: &str) -> Result<Task> {
        let json = self.send(Method::GET, &kind.path(id), None, Kind::Read).await.map_err(|e| e.with_task_id(id))?;
        let task = match kind {
            TaskKind::Task => Task::from_json(json),
            TaskKind::Invocation => Task::from_invocation_json(json),
        };
        task.ok_or_else(|| Error::Protocol(format!("Runway's answer for {} {id} has no id", kind.as_str())))
    }
}
