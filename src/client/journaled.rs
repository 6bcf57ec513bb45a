//! What the client shows of the journal: what GETs saw and where outputs went (written behind),
//! reads of this key's rows (with what is pending written first), and rows as text and JSON.

use std::time::Duration;

use serde_json::{json, Value};

use super::attached::{blocking, Attached};
use super::RunwayClient;
use crate::errors::{Error, Result};
use crate::journal::{Entry, Filter, Observed, CLAIM_STALE_MS};
use crate::tasks::Task;

/// The body as journaled: media as the user gave them, but never file contents (a data URI is
/// replaced by its type and size).
pub fn journal_params(body: &Value) -> Value {
    match body {
        Value::String(s) if s.starts_with("data:") => {
            let head = s.split([';', ',']).next().unwrap_or("data:");
            Value::String(format!("{head};… ({} bytes)", s.len()))
        }
        Value::Array(a) => Value::Array(a.iter().map(journal_params).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), journal_params(v))).collect()),
        other => other.clone(),
    }
}

/// The prompt a person would search for: `promptText`, else a speech text, else a workflow run's
/// first text input.
pub(super) fn prompt_of(body: &Value) -> Option<String> {
    // Model endpoints say promptText; recipes prompt; routers put the request under input.
    body.get("promptText")
        .or_else(|| body.get("prompt"))
        .or_else(|| body.pointer("/input/promptText"))
        .or_else(|| body.pointer("/speech/text"))
        .or_else(|| first_primitive_input(body))
        .and_then(Value::as_str)
        .map(|s| s.chars().take(4000).collect())
}

/// A workflow run's first text value (`nodeOutputs: {node: {key: {type: primitive, value}}}`).
fn first_primitive_input(body: &Value) -> Option<&Value> {
    body.get("nodeOutputs")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|outputs| outputs.values())
        .find(|v| {
            v.get("type").and_then(Value::as_str) == Some("primitive") && v.get("value").is_some_and(Value::is_string)
        })
        .and_then(|v| v.get("value"))
}

impl RunwayClient {
    /// Journals what a GET of a task showed (a no-op for tasks the journal does not hold), within
    /// `WRITE_BEHIND`.
    pub(crate) async fn journal_seen(&self, task: &Task) {
        let Some(a) = self.journal() else { return };
        if !a.already_written(task) {
            a.defer(Observed { task_id: task.id.clone(), look: Some(task.clone()), files: None });
        }
    }

    /// Journals where a task's outputs were saved, within `WRITE_BEHIND`.
    pub(crate) async fn journal_files(&self, task_id: &str, files: Value) {
        if let Some(a) = self.journal() {
            a.defer(Observed { task_id: task_id.to_string(), look: None, files: Some(files) });
        }
    }

    /// The journal, with what this client observed written: for reads.
    async fn journal_now(&self) -> Result<Attached> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        a.flush().await;
        Ok(a)
    }

    /// The task an identical request would reattach to now (still queued or running, looked at),
    /// without claiming or creating anything; None without a journal or without such a task.
    pub async fn in_flight(&self, endpoint: &str, body: &Value) -> Result<Option<Task>> {
        let ep = crate::catalogue::normalize_endpoint(endpoint);
        let Some(fp) = self.request_fp(ep, body).await? else { return Ok(None) };
        let a = self.journal_now().await?;
        let Some(row) = blocking(move || a.journal.find_in_flight(&a.key_fp, &fp)).await? else { return Ok(None) };
        self.reattach(&row).await
    }

    /// Before asking the user: whether `create` of this body would be refused as possibly paid
    /// already (`Error::MayHaveCreated`), and about which earlier request. Read only.
    pub async fn may_have_created(&self, endpoint: &str, body: &Value) -> Result<Option<Entry>> {
        let ep = crate::catalogue::normalize_endpoint(endpoint);
        let Some(fp) = self.request_fp(ep, body).await? else { return Ok(None) };
        let a = self.journal_now().await?;
        let stale_before_ms = crate::util::now_unix_ms().saturating_sub(CLAIM_STALE_MS);
        blocking(move || a.journal.find_ambiguous(&a.key_fp, &fp, stale_before_ms)).await
    }

    /// This key's journal rows, newest first.
    pub async fn journal_list(&self, f: Filter) -> Result<Vec<Entry>> {
        let a = self.journal_now().await?;
        blocking(move || a.journal.list(&a.key_fp, &f)).await
    }

    pub async fn journal_get(&self, task_id: &str) -> Result<Option<Entry>> {
        let a = self.journal_now().await?;
        let id = task_id.to_string();
        blocking(move || a.journal.get(&a.key_fp, &id)).await
    }

    /// Tasks to resume: unfinished, or finished with outputs not saved yet.
    pub async fn journal_unfinished(&self, limit: usize) -> Result<Vec<Entry>> {
        let a = self.journal_now().await?;
        blocking(move || a.journal.unfinished(&a.key_fp, limit)).await
    }

    /// Takes or renews this client's lease on each task for `ttl` (zero releases), in one journal
    /// write: the ids this client holds now. Before resuming a task or saving its outputs, so that
    /// of several processes or replicas sharing the journal only one does; a task this client
    /// created is its own from the create (`CREATOR_LEASE`).
    pub async fn journal_lease(&self, task_ids: Vec<String>, ttl: Duration) -> Result<Vec<String>> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        let ms = ttl.as_millis().min(u64::MAX as u128) as u64;
        blocking(move || a.journal.lease(&a.key_fp, &task_ids, &a.owner, ms)).await
    }

    /// Credits of this key's tasks created since `since_ms` (final cost, else the estimate).
    pub async fn journal_spent_since(&self, since_ms: u64) -> Result<f64> {
        let a = self.journal_now().await?;
        blocking(move || a.journal.spent_since(&a.key_fp, since_ms)).await
    }
}

/// Why sending again might pay twice, for the refusal and for the question put to the user.
pub fn doubt(row: &Entry) -> String {
    let prompt = row.prompt.clone().or_else(|| prompt_of(&row.params)).unwrap_or_default();
    let what: String = prompt.chars().take(80).collect();
    let what = if what.is_empty() { String::new() } else { format!(" (\"{what}\")") };
    let tool = if row.tool.is_empty() { row.endpoint.as_str() } else { row.tool.as_str() };
    format!(
        "an identical request ({tool}{what}) made at {} may already have created a task at Runway, whose id never \
         came back (its server process stopped, or Runway's answer was lost), so sending it again might pay twice. \
         Check the Runway dashboard's task history",
        crate::util::iso8601_millis(row.created_ms)
    )
}

fn no_journal() -> Error {
    Error::Config("this client has no task journal (open one with journal=...)".into())
}

/// A journal row as plain JSON (for Python and the MCP tools): times as ISO 8601 too.
pub fn entry_json(e: &Entry) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("key_fp");
        o.insert("created_at".into(), json!(crate::util::iso8601_millis(e.created_ms)));
        o.insert("updated_at".into(), json!(crate::util::iso8601_millis(e.updated_ms)));
        if let Some(f) = e.finished_ms {
            o.insert("finished_at".into(), json!(crate::util::iso8601_millis(f)));
        }
    }
    v
}
