//! The journal around a create: the request's fingerprint (with its local files' content), the
//! claim that keeps two processes from creating it at once, reattaching to an identical request's
//! running task, and the row written for the outcome (created, ambiguous, or no task).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::attached::{blocking, in_background, Attached};
use super::journaled::{doubt, journal_params, prompt_of};
use super::RunwayClient;
use crate::catalogue::Field;
use crate::errors::{Error, Result};
use crate::journal::{request_fingerprint, Claim, Entry, Write, Written, CLAIM_STALE_MS};
use crate::media::{classify, media_slots, open_local, InputRef};
use crate::tasks::{Task, TaskKind, WORKFLOW_ENDPOINT_PREFIX};

/// Who asked for a task, for its journal row; and whether an identical in-flight task may be reused.
#[derive(Debug, Clone, Default)]
pub struct CreateMeta {
    /// The tool (or library caller) that made the request, e.g. `generate_video_text_to_video`.
    pub tool: Option<String>,
    /// Create a new task even when an identical one is still running.
    pub force_new: bool,
    /// Only reattach to an identical request's running task; never create one (an error instead).
    /// For a call let through only because it would reattach (the budget guard): if that task
    /// finished in between, nothing is spent without asking.
    pub reattach_only: bool,
}

/// The lease a task's creator takes on it with its row (one commit): its waiter follows it, and
/// another process resuming the key's tasks leaves it alone. As long as the MCP server's leases;
/// a process that dies holds the task at most this long.
pub const CREATOR_LEASE: Duration = Duration::from_secs(30);

/// How long a create waits for another process's claim on the same request to get its task id.
const CLAIM_WAIT: Duration = Duration::from_secs(60);
/// How often the journal is looked at meanwhile (a create takes a fraction of a second to seconds).
const CLAIM_POLL: Duration = Duration::from_millis(100);

const AMBIGUOUS_NOTE: &str = "Runway may have created this task, but its id never came back. Check the Runway \
     dashboard's task history (or GET /v1/organization usage) before submitting again.";

/// What to do before a create.
pub(crate) enum Admit {
    /// An identical request's task, still queued or running.
    Reattach(Task),
    /// Create the task, holding this claim on the request (None: no journal, or `force_new`).
    Create(Option<ClaimHold>),
}

/// A claim this client holds while it creates a task. Settled by `journal_created`,
/// `journal_ambiguous` or `journal_no_task`; dropped unsettled (the call was abandoned) it is settled
/// in the background: removed if the request was never sent, else left as an ambiguous create.
pub(crate) struct ClaimHold {
    a: Attached,
    id: i64,
    sent: bool,
    settled: bool,
}

impl ClaimHold {
    /// From here on Runway may create the task.
    pub(crate) fn mark_sent(&mut self) {
        self.sent = true;
    }
}

impl Drop for ClaimHold {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (a, id) = (self.a.clone(), self.id);
        let outcome = self.sent.then(|| Entry {
            key_fp: a.key_fp.clone(),
            failure: Some("the call was abandoned while Runway was creating the task".into()),
            note: Some(AMBIGUOUS_NOTE.into()),
            ..Default::default()
        });
        in_background(move || {
            if let Err(e) = a.journal.settle(&a.key_fp, id, outcome.as_ref(), None) {
                eprintln!("runway-core: could not settle a journal claim ({e})");
            }
        });
    }
}

async fn sha256_file(path: PathBuf) -> Result<String> {
    let mut f = tokio::fs::File::open(&path).await.map_err(|e| Error::LocalFile(format!("{}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).await.map_err(|e| Error::LocalFile(format!("{}: {e}", path.display())))?;
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
    async fn local_digests(&self, fields: &BTreeMap<String, Field>, body: &Value) -> Result<Vec<String>> {
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
        let model = crate::catalogue::catalogue().model_for(endpoint, body);
        let digests = match model {
            Some(m) => self.local_digests(&m.fields, body).await?,
            None => Vec::new(),
        };
        Ok(Some(request_fingerprint(endpoint, body, &digests)))
    }

    /// Before a create: an identical request's task still queued or running (to reattach to), or a
    /// claim on the request, so that no other process creates it at the same time. A claim another
    /// process holds is waited for (up to `CLAIM_WAIT`) until its task is known or its create failed.
    /// Nothing without a journal or with `force_new`.
    pub(crate) async fn admit(
        &self,
        endpoint: &str,
        original: &Value,
        request_fp: &Option<String>,
        meta: &CreateMeta,
    ) -> Result<Admit> {
        let (Some(a), Some(fp)) = (self.journal().cloned(), request_fp) else {
            return Ok(Admit::Create(None));
        };
        if meta.force_new {
            // The user chose to pay again: earlier ambiguous creates of this request stop asking.
            let (j, key_fp, fp) = (a.journal.clone(), a.key_fp.clone(), fp.clone());
            blocking(move || j.forget_ambiguous(&key_fp, &fp)).await?;
            return Ok(Admit::Create(None));
        }
        let entry = request_entry(&a, endpoint, original, Some(fp.clone()), meta);
        let deadline = tokio::time::Instant::now() + CLAIM_WAIT;
        // Tasks of this request looked at and found finished or gone.
        let mut skip: Vec<String> = Vec::new();
        loop {
            let stale_before_ms = crate::util::now_unix_ms().saturating_sub(CLAIM_STALE_MS);
            let w = Write::Claim { entry: entry.clone(), stale_before_ms, skip: skip.clone() };
            let claim = match a.write_now(w).await? {
                Written::Claim(c) => c,
                other => return Err(Error::Journal(format!("task journal: a claim answered {other:?}"))),
            };
            match claim {
                Claim::Won(id) => return Ok(Admit::Create(Some(ClaimHold { a, id, sent: false, settled: false }))),
                Claim::InFlight(row) => match self.reattach(&row).await? {
                    Some(t) => return Ok(Admit::Reattach(t)),
                    None => skip.push(row.task_id.unwrap_or_default()),
                },
                Claim::Ambiguous(row) => return Err(may_have_created(&row)),
                Claim::Taken if tokio::time::Instant::now() >= deadline => {
                    return Err(Error::InFlight(format!(
                        "another server process has been creating an identical task for {} s and its id has not \
                         come back; call again to reattach to it once it has one, or ask for a new task explicitly \
                         (force_new) to pay for another",
                        CLAIM_WAIT.as_secs()
                    )))
                }
                Claim::Taken => tokio::time::sleep(CLAIM_POLL).await,
            }
        }
    }

    /// The journaled in-flight task of an identical request, looked at now: it if still queued or
    /// running; None if it has since finished or is gone (the row is brought up to date).
    pub(super) async fn reattach(&self, entry: &Entry) -> Result<Option<Task>> {
        let Some(id) = entry.task_id.clone() else { return Ok(None) };
        self.remember_kind(&id, TaskKind::of_endpoint(&entry.endpoint));
        match self.get_task(&id).await {
            Ok(mut t) if !t.is_terminal() => {
                t.reattached = true;
                t.estimated_cost = t.estimated_cost.or(entry.estimated_cost);
                Ok(Some(t))
            }
            // get_task journals what it saw; a finished task is never reused.
            Ok(_) | Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(Error::InFlight(format!(
                "an identical request made task {id}, which may still be running, but it could not be checked ({e}); \
                 call again to retry, or ask for a new task explicitly (force_new) to pay for another"
            ))),
        }
    }

    /// Journals a task Runway just created (before any waiting): the claim becomes its row.
    pub(crate) async fn journal_created(
        &self,
        endpoint: &str,
        original: &Value,
        request_fp: Option<String>,
        meta: &CreateMeta,
        task: &Task,
        claim: Option<ClaimHold>,
    ) {
        let Some(a) = self.journal().cloned() else { return };
        let mut e = Entry {
            task_id: Some(task.id.clone()),
            estimated_cost: task.estimated_cost,
            ..request_entry(&a, endpoint, original, request_fp, meta)
        };
        // A model router names the model it chose in its answer.
        if let Some(chosen) = task.raw.pointer("/routing/model").and_then(Value::as_str) {
            e.model = chosen.to_string();
        }
        if let Err(err) = write_outcome(a, claim, e).await {
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
        claim: Option<ClaimHold>,
    ) {
        let Some(a) = self.journal().cloned() else { return };
        let e = Entry {
            failure: Some(err.to_string()),
            note: Some(AMBIGUOUS_NOTE.into()),
            ..request_entry(&a, endpoint, original, request_fp, meta)
        };
        if let Err(e) = write_outcome(a, claim, e).await {
            eprintln!("runway-core: could not journal an ambiguous create ({e})");
        }
    }

    /// A create that made no task: its claim goes.
    pub(crate) async fn journal_no_task(&self, claim: Option<ClaimHold>) {
        let Some(mut c) = claim else { return };
        c.settled = true;
        let w = Write::Settle { key_fp: c.a.key_fp.clone(), id: c.id, outcome: None, lease: None };
        if let Err(e) = c.a.write_now(w).await {
            eprintln!("runway-core: could not remove a journal claim ({e})");
        }
    }
}

/// The refusal of a create whose identical request may already have made a task (`row`).
fn may_have_created(row: &Entry) -> Error {
    Error::MayHaveCreated {
        message: format!(
            "Not sent, nothing spent: {}. To make a new task anyway, call again with force_new (that pays again)",
            doubt(row)
        ),
        claimed_ms: row.created_ms,
    }
}

/// `e` as the row of a settled claim, or as a new row; a task it names is leased to this client.
async fn write_outcome(a: Attached, claim: Option<ClaimHold>, e: Entry) -> Result<()> {
    let ttl_ms = CREATOR_LEASE.as_millis() as u64;
    match claim {
        Some(mut c) => {
            c.settled = true;
            let lease = Some((a.owner.clone(), ttl_ms));
            a.write_now(Write::Settle { key_fp: a.key_fp.clone(), id: c.id, outcome: Some(e), lease }).await.map(drop)
        }
        None => {
            blocking(move || {
                a.journal.record(&e)?;
                if let Some(id) = e.task_id {
                    a.journal.lease(&a.key_fp, &[id], &a.owner, ttl_ms)?;
                }
                Ok(())
            })
            .await
        }
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
        // The body's model, or the endpoint's one model (a recipe's name is its model at Runway),
        // or the workflow a run is of.
        model: crate::catalogue::catalogue()
            .model_for(endpoint, original)
            .map(|m| m.model.clone())
            .or_else(|| original.get("model").and_then(Value::as_str).map(str::to_string))
            .or_else(|| endpoint.strip_prefix(WORKFLOW_ENDPOINT_PREFIX).map(str::to_string))
            .unwrap_or_default(),
        prompt: prompt_of(original),
        params: journal_params(original),
        request_fp,
        ..Default::default()
    }
}
