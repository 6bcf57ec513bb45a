//! What the client writes to the task journal, and when: a row the moment Runway answers a create
//! (before any waiting), a row for an ambiguous create (Runway may have made a task whose id never
//! came back), every status it sees, and where outputs were saved. Also the reattach check: an
//! identical request (endpoint, body, input media content) whose task is still queued or running
//! returns that task instead of paying again. Storage is `journal::Journal`; this file is policy.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::catalogue::Field;
use crate::client::RunwayClient;
use crate::errors::{Error, Result};
use crate::journal::{request_fingerprint, Claim, Entry, Filter, Journal, Observed, Write, Written, CLAIM_STALE_MS};
use crate::media::{classify, media_slots, open_local, InputRef};
use crate::tasks::Task;

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

/// A journal with the key fingerprint its rows are filed under.
#[derive(Clone)]
pub struct Attached {
    pub journal: Arc<dyn Journal>,
    pub key_fp: String,
    /// What this client last wrote per task, so that a poll that saw nothing new writes nothing.
    written: Arc<Mutex<HashMap<String, u64>>>,
    /// Whose leases this client takes (`Journal::lease`): random, one per client.
    pub owner: String,
    behind: Arc<Behind>,
    /// Claims and settles waiting for the next transaction, and whether one is being written.
    group: Arc<Mutex<Group>>,
}

type Reply = tokio::sync::oneshot::Sender<Result<Written>>;

/// How long the first of a group of claims and settles waits for others to share its commit: a
/// create's request to Runway takes far longer, and calls that come together (a batch, several
/// agents) arrive a millisecond or two apart.
const GROUP_WINDOW: Duration = Duration::from_millis(3);
type Group = (Vec<(Write, Reply)>, bool);

/// How long what a poll saw, or where outputs were saved, waits before it is written: everything
/// observed meanwhile, of every task, goes in one transaction, and a task's finish and its saved
/// files in one row write. A commit's cost is mostly per commit and per page it changes, and the
/// polls of tasks made together come together. Claims and the row of a new task are written at
/// once (they are what keeps a paid task from being lost or paid twice); a look lost with the
/// process is seen again by the next one that polls the task. Other processes see a look this much
/// later; reads through this client write what is pending first.
pub const WRITE_BEHIND: Duration = Duration::from_millis(250);

/// Observations waiting for their write (`WRITE_BEHIND`), one per task, in arrival order.
struct Behind {
    journal: Arc<dyn Journal>,
    key_fp: String,
    /// The pending batch, and whether a write of it is scheduled.
    pending: Mutex<(Vec<Observed>, bool)>,
    /// Held while a batch is taken and written, so that batches land in the order they were taken
    /// (a later look of a task never lands before an earlier one).
    order: tokio::sync::Mutex<()>,
}

impl Behind {
    fn take(&self) -> Vec<Observed> {
        let mut p = self.pending.lock().unwrap();
        p.1 = false;
        std::mem::take(&mut p.0)
    }
}

impl Drop for Behind {
    /// The last client of this journal is gone: what it observed is written now (the server flushes
    /// on close; this covers library callers that just drop their client).
    fn drop(&mut self) {
        // Even after a panic elsewhere held the lock: what was observed is still worth writing.
        let batch = std::mem::take(&mut self.pending.get_mut().unwrap_or_else(|p| p.into_inner()).0);
        if batch.is_empty() {
            return;
        }
        let (journal, key_fp) = (self.journal.clone(), self.key_fp.clone());
        in_background(move || drop(observe_logged(&*journal, &key_fp, &batch)));
    }
}

/// `Journal::observe`, its failure reported (nothing waits for these writes to answer it).
fn observe_logged(journal: &dyn Journal, key_fp: &str, batch: &[Observed]) -> Option<Vec<bool>> {
    journal
        .observe(key_fp, batch)
        .map_err(|e| eprintln!("runway-core: could not journal the status of {} tasks ({e})", batch.len()))
        .ok()
}

/// Runs a blocking journal write from a destructor: on a blocking thread inside the runtime, else
/// here.
fn in_background(f: impl FnOnce() + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => drop(h.spawn_blocking(f)),
        Err(_) => f(),
    }
}

/// Tasks remembered in `Attached::written`; past this the memory starts over (it only saves writes).
const WRITTEN_CAP: usize = 4096;

impl Attached {
    pub fn new(journal: Arc<dyn Journal>, key_fp: String) -> Attached {
        let behind = Arc::new(Behind {
            journal: journal.clone(),
            key_fp: key_fp.clone(),
            pending: Default::default(),
            order: Default::default(),
        });
        let owner = crate::util::uuid_v4();
        Attached { journal, key_fp, written: Default::default(), owner, behind, group: Default::default() }
    }

    /// Writes a claim or a settle and waits for its commit. Those made at the same moment share it
    /// (group commit): the first goes at once, and whatever queues meanwhile goes together in the
    /// next transaction, so 300 creates at once cost a few dozen commits, not 600.
    async fn write_now(&self, w: Write) -> Result<Written> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut g = self.group.lock().unwrap();
            g.0.push((w, tx));
            !std::mem::replace(&mut g.1, true)
        };
        if start {
            let a = self.clone();
            tokio::spawn(async move { a.drain().await });
        }
        rx.await.map_err(|_| Error::Journal("task journal: the write was abandoned".into()))?
    }

    /// Writes the queued claims and settles, a transaction at a time, until none is left.
    async fn drain(&self) {
        tokio::time::sleep(GROUP_WINDOW).await;
        loop {
            let batch = {
                let mut g = self.group.lock().unwrap();
                if g.0.is_empty() {
                    g.1 = false;
                    return;
                }
                std::mem::take(&mut g.0)
            };
            let (writes, replies): (Vec<Write>, Vec<Reply>) = batch.into_iter().unzip();
            let j = self.journal.clone();
            match blocking(move || j.write_all(&writes)).await {
                Ok(done) => {
                    for (r, reply) in done.into_iter().zip(replies) {
                        let _ = reply.send(r);
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(Error::Journal(e.to_string())));
                    }
                }
            }
        }
    }

    /// Queues an observation of a task for the next batch (`WRITE_BEHIND`), merged with what is
    /// already queued for it.
    fn defer(&self, o: Observed) {
        let mut p = self.behind.pending.lock().unwrap();
        match p.0.iter_mut().find(|q| q.task_id == o.task_id) {
            Some(q) => {
                q.look = o.look.or(q.look.take());
                q.files = o.files.or(q.files.take());
            }
            None => p.0.push(o),
        }
        if !std::mem::replace(&mut p.1, true) {
            let a = self.clone();
            let write = async move {
                tokio::time::sleep(WRITE_BEHIND).await;
                a.flush().await;
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => drop(h.spawn(write)),
                // Outside a runtime (not how the client calls it): written when the client goes.
                Err(_) => p.1 = false,
            }
        }
    }

    /// Writes what is pending now, in one transaction.
    pub async fn flush(&self) {
        let _order = self.behind.order.lock().await;
        let batch = self.behind.take();
        if batch.is_empty() {
            return;
        }
        let (j, key_fp) = (self.journal.clone(), self.key_fp.clone());
        let written = blocking(move || Ok(observe_logged(&*j, &key_fp, &batch).map(|found| (batch, found)))).await;
        if let Ok(Some((batch, found))) = written {
            // Only a row that exists: a task journaled later must still get its statuses.
            for (o, _) in batch.iter().zip(found).filter(|(_, f)| *f) {
                if let Some(t) = &o.look {
                    self.remember_written(t);
                }
            }
        }
    }

    /// `flush`, from a thread outside the runtime (closing a client).
    pub fn flush_blocking(&self) {
        let _order = self.behind.order.blocking_lock();
        let batch = self.behind.take();
        if !batch.is_empty() {
            observe_logged(&*self.journal, &self.key_fp, &batch);
        }
    }

    /// True if this client already wrote exactly what `t` shows.
    fn already_written(&self, t: &Task) -> bool {
        self.written.lock().unwrap().get(&t.id) == Some(&observation(t))
    }

    fn remember_written(&self, t: &Task) {
        let mut w = self.written.lock().unwrap();
        if w.len() >= WRITTEN_CAP {
            w.clear();
        }
        w.insert(t.id.clone(), observation(t));
    }
}

/// A digest of what `Journal::update_task` takes from a task.
fn observation(t: &Task) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&t.status, t.progress.map(f64::to_bits), &t.output).hash(&mut h);
    (t.estimated_cost.map(f64::to_bits), t.cost.map(f64::to_bits), &t.failure, &t.failure_code).hash(&mut h);
    h.finish()
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

/// Journal calls in flight on blocking threads at once. The SQLite connection serialises them
/// anyway; without a bound, 300 concurrent tasks would make tokio start hundreds of threads that
/// only wait for it.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs a blocking journal call off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let _slot = SLOTS.acquire().await.map_err(|e| Error::Journal(format!("journal: {e}")))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Journal(format!("journal task failed: {e}")))?
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
                    return Err(Error::Other(format!(
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
    async fn reattach(&self, entry: &Entry) -> Result<Option<Task>> {
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
        let e = Entry {
            task_id: Some(task.id.clone()),
            estimated_cost: task.estimated_cost,
            ..request_entry(&a, endpoint, original, request_fp, meta)
        };
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
        model: original.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        prompt: prompt_of(original),
        params: journal_params(original),
        request_fp,
        ..Default::default()
    }
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
