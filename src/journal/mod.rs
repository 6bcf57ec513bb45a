//! The task journal: every task this server started, kept on disk, so that a crash, a restart or a
//! client that gave up never loses a paid task, and an identical request can reattach instead of
//! paying twice.
//!
//! Storage sits behind the small `Journal` trait (this file, with the entry types, fingerprints and
//! opening a journal from a path or URL). `sqlite`: the local backend, one file shared by every
//! server process on the machine (WAL, a busy timeout, and short write transactions begun
//! IMMEDIATE, so a read-modify-write never loses another process's update; WAL needs a local file
//! system, not a network share), with the row logic PostgreSQL shares. `postgres`: the backend
//! replicas share, over `tls` when the URL asks. `tests`: both backends' suites.
//!
//! Rows are scoped by a salted fingerprint of the API key, never the key: one key never sees another
//! key's rows. Every call blocks; async callers use `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[cfg(test)]
mod fixtures;
mod postgres;
mod rows;
mod sqlite;
#[cfg(test)]
mod tests;
mod tls;

pub use postgres::{is_pg_url, Listener, PgChannel, PgJournal, MAX_PAYLOAD, POOL_SIZE};
pub use sqlite::SqliteJournal;
// The SQL and row logic both backends share.
pub(crate) use rows::{
    check_array, claim_row, distinct, entry_to_record, first_ambiguous, insert_sql, merge, new_salt, settled_row,
    stale_to_ambiguous, update_sql, CLAIM_KEY_PREFIX, COLUMNS, FORGET_AMBIGUOUS_SQL,
};

use crate::errors::{Error, Result};
use crate::tasks::Task;
use crate::util::now_unix_ms;

/// `Filter::limit` when none is given.
pub const DEFAULT_LIMIT: usize = 50;
/// The most rows one `list` returns.
pub const MAX_LIMIT: usize = 1000;

/// Environment variable naming the journal file.
pub const PATH_ENV: &str = "RUNWAY_MCP_JOURNAL";

/// The status of a claim row: a request whose task is being created right now, its id not back yet.
/// Never one of Runway's; filed apart from the key's rows (`CLAIM_KEY_PREFIX`), so only `claim` sees them.
pub const SUBMITTING: &str = "SUBMITTING";

/// A claim older than this belongs to a process that died while creating (a create takes seconds).
pub const CLAIM_STALE_MS: u64 = 120_000;

/// The note on a stale claim, which becomes an ambiguous create: its process may have paid.
pub const STALE_CLAIM_NOTE: &str = "A server process was creating this task and stopped (it may have crashed) \
     before Runway's answer was journaled. Runway may have created the task: check the Runway dashboard's task \
     history before submitting again.";

/// What a client learnt of a task since it last wrote: its newest look, where its outputs were saved.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub task_id: String,
    pub look: Option<Task>,
    pub files: Option<Value>,
}

/// A write whose caller waits for its commit (`Journal::write_all`): callers' writes made at the
/// same moment can share one transaction.
#[derive(Debug, Clone)]
pub enum Write {
    Claim { entry: Entry, stale_before_ms: u64, skip: Vec<String> },
    Settle { key_fp: String, id: i64, outcome: Option<Entry>, lease: Option<(String, u64)> },
}

/// What a `Write` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Claim(Claim),
    Settled,
}

/// What `Journal::claim` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The caller holds the claim (this row id): it creates the task, then `settle`s the claim.
    Won(i64),
    /// The newest task of this request still queued or running: look at it before reattaching.
    InFlight(Box<Entry>),
    /// Another caller is creating this request now: wait for its task.
    Taken,
    /// An earlier create of this request may have made a task whose id never came back (a stale
    /// claim, now this row, or an ambiguous answer): creating again might pay twice.
    Ambiguous(Box<Entry>),
}

/// One task, or one ambiguous create, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Row id in this journal; `record` ignores it and returns the row's id.
    pub id: i64,
    /// None for an ambiguous create: Runway may have created a task, but its id never came back.
    pub task_id: Option<String>,
    pub key_fp: String,
    pub tool: String,
    pub endpoint: String,
    pub model: String,
    pub prompt: Option<String>,
    /// The request body with media as the user gave them (references, never file contents).
    pub params: Value,
    pub request_fp: Option<String>,
    pub estimated_cost: Option<f64>,
    /// Runway's status; None for a task just created (the create response carries none).
    pub status: Option<String>,
    pub progress: Option<f64>,
    /// Output URLs as Runway gave them (a JSON array).
    pub outputs: Value,
    /// Where the outputs were saved (a JSON array in the caller's shape; an entry may record a failed
    /// download). Non-empty means the outputs were dealt with.
    pub files: Value,
    pub cost: Option<f64>,
    pub failure: Option<String>,
    pub failure_code: Option<String>,
    /// Advice for the user, e.g. how to find out whether an ambiguous create made a task.
    pub note: Option<String>,
    /// Unix milliseconds; `record` fills 0 with the current time.
    pub created_ms: u64,
    pub updated_ms: u64,
    pub finished_ms: Option<u64>,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            id: 0,
            task_id: None,
            key_fp: String::new(),
            tool: String::new(),
            endpoint: String::new(),
            model: String::new(),
            prompt: None,
            params: Value::Object(Default::default()),
            request_fp: None,
            estimated_cost: None,
            status: None,
            progress: None,
            outputs: Value::Array(vec![]),
            files: Value::Array(vec![]),
            cost: None,
            failure: None,
            failure_code: None,
            note: None,
            created_ms: 0,
            updated_ms: 0,
            finished_ms: None,
        }
    }
}

impl Entry {
    pub fn is_terminal(&self) -> bool {
        self.status.as_deref().is_some_and(crate::tasks::is_final)
    }

    /// Runway may have created a task for this row, but its id is unknown.
    pub fn is_ambiguous(&self) -> bool {
        self.task_id.is_none()
    }

    /// Credits this row stands for: the final cost once known, else the estimate.
    pub fn credits(&self) -> f64 {
        self.cost.or(self.estimated_cost).unwrap_or(0.0)
    }
}

/// What `list` returns; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A Runway status (any case), or `running` (has a task id, not finished), `finished`, or
    /// `ambiguous` (a create whose task id never came back).
    pub status: Option<String>,
    pub tool: Option<String>,
    pub model: Option<String>,
    /// Rows created at or after this Unix millisecond.
    pub since_ms: Option<u64>,
    /// Substring of the prompt, case-insensitive (Unicode).
    pub text: Option<String>,
    /// At most this many rows (default `DEFAULT_LIMIT`, capped at `MAX_LIMIT`).
    pub limit: Option<usize>,
}

/// A lease to take along with a write (see `Journal::lease`).
#[derive(Debug, Clone, Copy)]
pub struct LeaseTo<'a> {
    pub owner: &'a str,
    pub ttl_ms: u64,
}

/// Storage of the journal. Every method is scoped to one key fingerprint.
pub trait Journal: Send + Sync {
    /// Writes a new row and returns its id. A row with the same key and task id already there
    /// (recorded by another process, or a retry) is kept: its gaps are filled and its status
    /// advances as `update_task` would.
    fn record(&self, e: &Entry) -> Result<i64>;
    /// Applies what GET /v1/tasks/{id} said. False if no row has this task id. An observation that
    /// would move a finished row back to running is ignored: another process saw the finish later.
    fn update_task(&self, key_fp: &str, t: &Task) -> Result<bool> {
        let look = Observed { task_id: t.id.clone(), look: Some(t.clone()), files: None };
        Ok(self.observe(key_fp, std::slice::from_ref(&look))?[0])
    }
    /// Sets where the outputs were saved (a JSON array). False if no row has this task id.
    fn set_files(&self, key_fp: &str, task_id: &str, files: &Value) -> Result<bool> {
        let saved = Observed { task_id: task_id.to_string(), look: None, files: Some(files.clone()) };
        Ok(self.observe(key_fp, std::slice::from_ref(&saved))?[0])
    }
    /// `update_task` and `set_files` of many tasks in one transaction: for each, whether its row
    /// exists. Nothing is written if a `files` is not a JSON array.
    fn observe(&self, key_fp: &str, batch: &[Observed]) -> Result<Vec<bool>>;
    fn get(&self, key_fp: &str, task_id: &str) -> Result<Option<Entry>>;
    /// Newest first.
    fn list(&self, key_fp: &str, f: &Filter) -> Result<Vec<Entry>>;
    /// The newest row of this request still PENDING, THROTTLED, RUNNING or just created, with a task
    /// id. The journal may lag behind Runway: look at the task before reporting a reattach.
    fn find_in_flight(&self, key_fp: &str, request_fp: &str) -> Result<Option<Entry>>;
    /// Before creating a task for `e` (request fingerprint set), in one transaction: the newest task of
    /// this request still in flight (task ids in `skip` aside), else `Taken` while another caller's
    /// claim made at or after `stale_before_ms` stands, else a new claim row, hidden from every read
    /// but this one. Older claims become ambiguous creates (`STALE_CLAIM_NOTE`): their process died
    /// before journaling Runway's answer and may have paid. An ambiguous create of this request
    /// (such a claim, or a lost answer) is `Ambiguous` and claims nothing: never silently replaced.
    fn claim(&self, e: &Entry, stale_before_ms: u64, skip: &[String]) -> Result<Claim>;
    /// What `claim` would find first for this request, read only, when it is an ambiguous create (or
    /// a claim older than `stale_before_ms`, which would become one): the row to tell the user about
    /// before asking whether to pay again. None when a task, a live claim, or nothing comes first.
    fn find_ambiguous(&self, key_fp: &str, request_fp: &str, stale_before_ms: u64) -> Result<Option<Entry>>;
    /// The user chose to pay again (`force_new`): this request's ambiguous creates stop answering
    /// `claim` (they stay listed). How many there were.
    fn forget_ambiguous(&self, key_fp: &str, request_fp: &str) -> Result<usize>;
    /// Ends claim `id`: it becomes `outcome` (the task Runway created, or an ambiguous create), or goes
    /// (None: no task was created). With `lease`, its owner also takes the new task's lease in the
    /// same transaction (the creator follows its task; one commit, not two).
    fn settle(&self, key_fp: &str, id: i64, outcome: Option<&Entry>, lease: Option<LeaseTo>) -> Result<()>;
    /// Several claims and settles, each as its own method would make it, each answered on its own.
    /// Here one after another; a backend may commit them in one transaction (group commit), each
    /// undone alone if it fails.
    fn write_all(&self, writes: &[Write]) -> Result<Vec<Result<Written>>> {
        Ok(writes
            .iter()
            .map(|w| match w {
                Write::Claim { entry, stale_before_ms, skip } => {
                    self.claim(entry, *stale_before_ms, skip).map(Written::Claim)
                }
                Write::Settle { key_fp, id, outcome, lease } => {
                    let lease = lease.as_ref().map(|(owner, ttl_ms)| LeaseTo { owner, ttl_ms: *ttl_ms });
                    self.settle(key_fp, *id, outcome.as_ref(), lease).map(|()| Written::Settled)
                }
            })
            .collect())
    }
    /// Rows to resume, newest first: not finished and with a task id, or SUCCEEDED with outputs but
    /// no saved files yet.
    fn unfinished(&self, key_fp: &str, limit: usize) -> Result<Vec<Entry>>;
    /// Credits of the rows created at or after `since_ms`: final cost when known, else the estimate.
    /// Ambiguous creates count too (they may have been charged).
    fn spent_since(&self, key_fp: &str, since_ms: u64) -> Result<f64>;
    /// Takes or renews the lease of `owner` on each of `task_ids` for `ttl_ms`, in one transaction, so
    /// that of several processes (or replicas) only one resumes a task or downloads its outputs: the
    /// ids `owner` holds now (nobody held it, the last holder's lease ran out, or it was already
    /// `owner`'s); another owner's lease that still runs is left. A ttl of 0 releases (it runs out at
    /// once). One call renews every task a process follows: one commit, however many tasks.
    fn lease(&self, key_fp: &str, task_ids: &[String], owner: &str, ttl_ms: u64) -> Result<Vec<String>>;
    /// The random salt of this journal's key fingerprints: stored in the journal, so every process
    /// and replica that opens it files a key's rows under the same fingerprint.
    fn salt(&self) -> &[u8];
}

/// Hex SHA-256 of salt + key, shortened: stable for one journal, and reveals nothing of the key.
pub fn key_fingerprint(salt: &[u8], key: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(key.as_bytes());
    hex(&h.finalize()[..16])
}

/// Hex SHA-256 of a request: the endpoint, the body with object keys sorted, and digests of the
/// input media content (computed by the caller, in the order the body refers to them).
pub fn request_fingerprint(endpoint: &str, body: &Value, media_digests: &[String]) -> String {
    // One JSON array of the three parts: unambiguous where the parts meet.
    let mut s = String::from("[");
    write_canonical(&Value::String(endpoint.to_string()), &mut s);
    s.push(',');
    write_canonical(body, &mut s);
    s.push(',');
    write_canonical(&Value::Array(media_digests.iter().map(|d| Value::String(d.clone())).collect()), &mut s);
    s.push(']');
    hex(&Sha256::digest(s.as_bytes()))
}

/// JSON with object keys sorted at every level, whatever map type serde_json was built with.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens the journal `spec` names: a `postgresql://` (or `postgres://`) URL for a journal shared by
/// several replicas, else the path of a SQLite file (created if missing).
pub fn open_journal(spec: &str) -> Result<Arc<dyn Journal>> {
    if is_pg_url(spec) {
        Ok(Arc::new(PgJournal::open(spec)?))
    } else {
        Ok(Arc::new(SqliteJournal::open(spec)?))
    }
}

/// `open_journal`, once per process for each journal: every client that names the same file or
/// database (a team server's clients, one per user key) shares one handle, so the process holds
/// one SQLite connection, or one bounded PostgreSQL pool, however many keys it serves. Opened
/// again after the last client let it go.
pub fn open_shared(spec: &str) -> Result<Arc<dyn Journal>> {
    static OPEN: LazyLock<Mutex<std::collections::HashMap<String, std::sync::Weak<dyn Journal>>>> =
        LazyLock::new(Default::default);
    let name = if is_pg_url(spec) {
        spec.trim().to_string()
    } else {
        // One file, however it is named ("j.sqlite3", "./j.sqlite3", through a link or "..").
        let p = Path::new(spec);
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        match (dir.canonicalize(), p.file_name()) {
            (Ok(d), Some(f)) => d.join(f).display().to_string(),
            _ => spec.to_string(), // a folder not made yet: open_journal makes it
        }
    };
    // Held while opening, so that two clients starting at once do not open it twice.
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    open.retain(|_, j| j.strong_count() > 0);
    if let Some(j) = open.get(&name).and_then(std::sync::Weak::upgrade) {
        return Ok(j);
    }
    let j = open_journal(spec)?;
    open.insert(name, Arc::downgrade(&j));
    Ok(j)
}

/// `RUNWAY_MCP_JOURNAL` if set, else `runway-mcp-server/journal.sqlite3` in the user's data directory.
pub fn default_path() -> PathBuf {
    default_path_from(|k| std::env::var(k).ok())
}

fn default_path_from(env: impl Fn(&str) -> Option<String>) -> PathBuf {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(p) = var(PATH_ENV) {
        return PathBuf::from(p);
    }
    let data_dir = if cfg!(windows) {
        var("LOCALAPPDATA")
            .map(PathBuf::from)
            .or_else(|| var("USERPROFILE").map(|h| Path::new(&h).join("AppData").join("Local")))
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|h| Path::new(&h).join("Library/Application Support"))
    } else {
        // The XDG spec says to ignore a relative XDG_DATA_HOME.
        var("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|h| Path::new(&h).join(".local/share")))
    };
    // No home at all (a bare service account): the temp dir beats refusing to run.
    data_dir.unwrap_or_else(std::env::temp_dir).join("runway-mcp-server").join("journal.sqlite3")
}
