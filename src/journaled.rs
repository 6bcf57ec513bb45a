//! What the client writes to the task journal, and when: a row the moment Runway answers a create
//! (before any waiting), a row for an ambiguous create (Runway may have made a task whose id never
//! came back), every status it sees, and where outputs were saved. Also the reattach check: an
//! identical request (endpoint, body, input media content) whose task is still queued or running
//! returns that task instead of paying again. Storage is `journal::Journal`; this file is policy.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::catalogue::Field;
use crate::client::RunwayClient;
use crate::errors::{Error, Result};
use crate::journal::{request_fingerprint, Entry, Filter, Journal};
use crate::media::{classify, media_slots, open_local, InputRef};
use crate::tasks::Task;

/// Who asked for a task, for its journal row; and whether an identical in-flight task may be reused.
#[derive(Debug, Clone, Default)]
pub struct CreateMeta {
    /// The tool (or library caller) that made the request, e.g. `generate_video_text_to_video`.
    pub tool: Option<String>,
    /// Create a new task even when an identical one is still running.
    pub force_new: bool,
}

/// A journal with the key fingerprint its rows are filed under.
#[derive(Clone)]
pub struct Attached {
    pub journal: Arc<dyn Journal>,
    pub key_fp: String,
}

/// Journal calls in flight on blocking threads at once. The SQLite connection serialises them
/// anyway; without a bound, 300 concurrent tasks would make tokio start hundreds of threads that
/// only wait for it.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs a blocking journal call off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let _slot = SLOTS.acquire().await.map_err(|e| Error::Other(format!("journal: {e}")))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Other(format!("journal task failed: {e}")))?
}

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

/// The prompt a person would search for: `promptText`, else a speech text.
fn prompt_of(body: &Value) -> Option<String> {
    body.get("promptText")
        .or_else(|| body.pointer("/speech/text"))
        .and_then(Value::as_str)
        .map(|s| s.chars().take(4000).collect())
}

async fn sha256_file(path: PathBuf) -> Result<String> {
    let mut f = tokio::fs::File::open(&path).await.map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).await.map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl RunwayClient {
    /// Digests of the local files `body` names (in slot order), so that the same path holding
    /// other content is another request. Each file passes the input policy first.
    async fn local_digests(
        &self,
        fields: &std::collections::BTreeMap<String, Field>,
        body: &Value,
    ) -> Result<Vec<String>> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut out = Vec::new();
        for slot in media_slots(fields, body) {
            if let Ok(InputRef::Local(p)) = classify(&slot.value, home.as_deref()) {
                let m = open_local(&p, Some(slot.kind), &self.options().input_policy)?;
                out.push(format!("{}={}", slot.pointer, sha256_file(m.path).await?));
            }
        }
        Ok(out)
    }

    /// The request's fingerprint when a journal is attached (None otherwise).
    pub(crate) async fn request_fp(&self, endpoint: &str, body: &Value) -> Result<Option<String>> {
        if self.journal().is_none() {
            return Ok(None);
        }
        let model =
            body.get("model").and_then(Value::as_str).and_then(|m| crate::catalogue::catalogue().model(endpoint, m));
        let digests = match model {
            Some(m) => self.local_digests(&m.fields, body).await?,
            None => Vec::new(),
        };
        Ok(Some(request_fingerprint(endpoint, body, &digests)))
    }

    /// An identical request's task that is still queued or running, looked at now. A row whose task
    /// has since finished (or is gone) is brought up to date and not reused.
    pub(crate) async fn reattach(&self, request_fp: &str) -> Result<Option<Task>> {
        let Some(a) = self.journal().cloned() else { return Ok(None) };
        let fp = request_fp.to_string();
        let key = a.key_fp.clone();
        let j = a.journal.clone();
        let Some(entry) = blocking(move || j.find_in_flight(&key, &fp)).await? else { return Ok(None) };
        let Some(id) = entry.task_id.clone() else { return Ok(None) };
        match self.get_task(&id).await {
            Ok(mut t) if !t.is_terminal() => {
                t.reattached = true;
                t.estimated_cost = t.estimated_cost.or(entry.estimated_cost);
                Ok(Some(t))
            }
            // get_task journals what it saw; a finished task is never reused.
            Ok(_) | Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(Error::Other(format!(
                "an identical request made task {id}, which may still be running, but it could not be checked ({e}); \
                 call again to retry, or ask for a new task explicitly (force_new) to pay for another"
            ))),
        }
    }

    /// Journals a task Runway just created (before any waiting).
    pub(crate) async fn journal_created(
        &self,
        endpoint: &str,
        original: &Value,
        request_fp: Option<String>,
        meta: &CreateMeta,
        task: &Task,
    ) {
        let Some(a) = self.journal().cloned() else { return };
        let e = Entry {
            task_id: Some(task.id.clone()),
            estimated_cost: task.estimated_cost,
            ..request_entry(&a, endpoint, original, request_fp, meta)
        };
        if let Err(err) = blocking(move || a.journal.record(&e)).await {
            eprintln!("runway-core: could not journal task {} ({err}); it exists at Runway", task.id);
        }
    }

    /// Journals a create that failed in a way that may still have made a task.
    pub(crate) async fn journal_ambiguous(
        &self,
        endpoint: &str,
        original: &Value,
        request_fp: Option<String>,
        meta: &CreateMeta,
        err: &Error,
    ) {
        let Some(a) = self.journal().cloned() else { return };
        let e = Entry {
            failure: Some(err.to_string()),
            note: Some(
                "Runway may have created this task, but its id never came back. Check the Runway dashboard's task \
                 history (or GET /v1/organization usage) before submitting again."
                    .into(),
            ),
            ..request_entry(&a, endpoint, original, request_fp, meta)
        };
        if let Err(e) = blocking(move || a.journal.record(&e)).await {
            eprintln!("runway-core: could not journal an ambiguous create ({e})");
        }
    }

    /// Journals what a GET of a task showed (a no-op for tasks the journal does not hold).
    pub(crate) async fn journal_seen(&self, task: &Task) {
        let Some(a) = self.journal().cloned() else { return };
        let t = task.clone();
        if let Err(e) = blocking(move || a.journal.update_task(&a.key_fp, &t)).await {
            eprintln!("runway-core: could not journal the status of task {} ({e})", task.id);
        }
    }

    /// Journals where a task's outputs were saved.
    pub(crate) async fn journal_files(&self, task_id: &str, files: Value) {
        let Some(a) = self.journal().cloned() else { return };
        let id = task_id.to_string();
        if let Err(e) = blocking(move || a.journal.set_files(&a.key_fp, &id, &files)).await {
            eprintln!("runway-core: could not journal the files of task {task_id} ({e})");
        }
    }

    /// This key's journal rows, newest first.
    pub async fn journal_list(&self, f: Filter) -> Result<Vec<Entry>> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        blocking(move || a.journal.list(&a.key_fp, &f)).await
    }

    pub async fn journal_get(&self, task_id: &str) -> Result<Option<Entry>> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        let id = task_id.to_string();
        blocking(move || a.journal.get(&a.key_fp, &id)).await
    }

    /// Tasks to resume: unfinished, or finished with outputs not saved yet.
    pub async fn journal_unfinished(&self, limit: usize) -> Result<Vec<Entry>> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        blocking(move || a.journal.unfinished(&a.key_fp, limit)).await
    }

    /// Credits of this key's tasks created since `since_ms` (final cost, else the estimate).
    pub async fn journal_spent_since(&self, since_ms: u64) -> Result<f64> {
        let a = self.journal().cloned().ok_or_else(no_journal)?;
        blocking(move || a.journal.spent_since(&a.key_fp, since_ms)).await
    }
}

/// A row for a request, before Runway's answer is known.
fn request_entry(
    a: &Attached,
    endpoint: &str,
    original: &Value,
    request_fp: Option<String>,
    meta: &CreateMeta,
) -> Entry {
    Entry {
        key_fp: a.key_fp.clone(),
        tool: meta.tool.clone().unwrap_or_else(|| "library".into()),
        endpoint: endpoint.to_string(),
        model: original.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        prompt: prompt_of(original),
        params: journal_params(original),
        request_fp,
        ..Default::default()
    }
}

fn no_journal() -> Error {
    Error::Other("this client has no task journal (open one with journal=...)".into())
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
