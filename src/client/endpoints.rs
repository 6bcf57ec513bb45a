//! The calls on one task or workflow invocation (look, cancel) and on the account (organization,
//! voices).

use reqwest::Method;
use serde_json::Value;

use super::http::Kind;
use super::RunwayClient;
use crate::errors::{Error, Issue, Result};
use crate::tasks::{is_task_id, Task, TaskKind};

/// What a DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// 204: a running task was cancelled, or a finished one deleted with its outputs.
    Done,
    /// 404: already cancelled or deleted (or never existed) — nothing left to do.
    AlreadyGone,
}

impl RunwayClient {
    /// A task, or a workflow invocation (read at its own path, see `kinds`), as Runway shows it
    /// now; journaled.
    pub async fn get_task(&self, id: &str) -> Result<Task> {
        check_task_id(id)?;
        let task = self.read_task(id).await?;
        self.journal_seen(&task).await;
        Ok(task)
    }

    /// Cancels a running task, or deletes a finished one. A workflow invocation cannot be
    /// cancelled through Runway's API: refused, nothing sent.
    pub async fn cancel_task(&self, id: &str) -> Result<CancelOutcome> {
        check_task_id(id)?;
        if self.known_kind(id).await == Some(TaskKind::Invocation) {
            return Err(Error::refused(format!(
                "{id} is a workflow invocation, which Runway's API cannot cancel or delete; it runs to its end"
            )));
        }
        match self.send(Method::DELETE, &format!("/v1/tasks/{id}"), None, Kind::Read).await {
            Ok(_) => Ok(CancelOutcome::Done),
            Err(Error::Api { status: 404, .. }) => Ok(CancelOutcome::AlreadyGone),
            Err(e) => Err(e.with_task_id(id)),
        }
    }

    pub async fn organization(&self) -> Result<Value> {
        self.send(Method::GET, "/v1/organization", None, Kind::Read).await
    }

    /// The account's custom voices (GET /v1/voices, every page), newest first as Runway lists them.
    pub async fn list_voices(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        // Bounded: 50 pages of 100 is far beyond any account's voices.
        for _ in 0..50 {
            let path = match &cursor {
                Some(c) => format!("/v1/voices?limit=100&cursor={}", crate::util::percent_encode(c)),
                None => "/v1/voices?limit=100".to_string(),
            };
            let page = self.send(Method::GET, &path, None, Kind::Read).await?;
            out.extend(page.get("data").and_then(Value::as_array).cloned().unwrap_or_default());
            cursor = page.get("nextCursor").and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// A task id checked before it goes into a URL path: a validation error naming `task_id` if it is
/// not a UUID.
pub fn check_task_id(id: &str) -> Result<()> {
    if is_task_id(id) {
        Ok(())
    } else {
        Err(Error::validation(
            vec![Issue {
                code: "invalid_string".into(),
                path: vec!["task_id".into()],
                message: format!(
                    "'{}' is not a Runway task id (a UUID such as 17f20503-6c24-4c16-946b-35dbbce2af2f)",
                    id.chars().take(80).collect::<String>()
                ),
            }],
            "",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_checked() {
        assert!(check_task_id("17f20503-6c24-4c16-946b-35dbbce2af2f").is_ok());
        let e = check_task_id("../organization").unwrap_err().to_string();
        assert!(e.contains("task_id") && e.contains("not a Runway task id"), "{e}");
    }
}
