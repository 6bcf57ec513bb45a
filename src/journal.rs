//! The task journal: every task this server started, kept on disk, so that a crash, a restart or a
//! client that gave up never loses a paid task, and an identical request can reattach instead of
//! paying twice.
//!
//! Storage sits behind the small `Journal` trait so that a PostgreSQL backend can be added for
//! multi-machine deployments without touching callers. `SqliteJournal` is the local backend: one
//! file shared by every server process on the machine (WAL, a busy timeout, and short write
//! transactions begun IMMEDIATE, so a read-modify-write never loses another process's update).
//! WAL needs a local file system; do not point the journal at a network share.
//!
//! Rows are scoped by a salted fingerprint of the API key, never the key: one key never sees another
//! key's rows. Every call blocks; async callers use `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Type, Value as SqlValue};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::errors::{Error, Result};
use crate::tasks::Task;
use crate::util::now_unix_ms;

/// Statuses after which a task never changes again.
pub const TERMINAL: [&str; 3] = ["SUCCEEDED", "FAILED", "CANCELLED"];

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

fn is_terminal_status(s: &str) -> bool {
    TERMINAL.contains(&s)
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
        self.status.as_deref().is_some_and(is_terminal_status)
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
    if crate::journal_pg::is_pg_url(spec) {
        Ok(Arc::new(crate::journal_pg::PgJournal::open(spec)?))
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
    let name = if crate::journal_pg::is_pg_url(spec) {
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

const SCHEMA_VERSION: i64 = 4;

/// Migrations; the one at index i takes the schema from version i to i + 1. Never edit a released
/// one: add the next.
const MIGRATIONS: [&str; 4] = [
    r#"
CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    task_id TEXT,
    key_fp TEXT NOT NULL,
    tool TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT,
    params TEXT NOT NULL,
    request_fp TEXT,
    estimated_cost REAL,
    status TEXT,
    progress REAL,
    outputs TEXT NOT NULL,
    files TEXT NOT NULL,
    cost REAL,
    failure TEXT,
    failure_code TEXT,
    note TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    finished_ms INTEGER
);
-- NULL task ids (ambiguous creates) are distinct, so only real task ids are unique per key.
CREATE UNIQUE INDEX tasks_by_task ON tasks (key_fp, task_id);
-- Every list is newest first within one key; created_ms ends each index so no query sorts.
CREATE INDEX tasks_by_created ON tasks (key_fp, created_ms);
CREATE INDEX tasks_by_request ON tasks (key_fp, request_fp, created_ms);
CREATE INDEX tasks_by_status ON tasks (key_fp, status, created_ms);
-- Partial indexes hold only the few rows still to resume, however many have finished. Queries
-- must repeat these WHERE expressions exactly (LIVE_SQL, UNSAVED_SQL) for SQLite to use them.
CREATE INDEX tasks_live ON tasks (key_fp, created_ms)
    WHERE status IS NULL OR status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED');
CREATE INDEX tasks_unsaved ON tasks (key_fp, created_ms) WHERE status = 'SUCCEEDED' AND files = '[]';
-- Substring search of prompts: a trigram index answers in milliseconds where scanning 100,000
-- prompts takes tens. It mirrors tasks.prompt through the triggers.
CREATE VIRTUAL TABLE tasks_fts USING fts5 (prompt, content = 'tasks', content_rowid = 'id', tokenize = 'trigram');
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks WHEN new.prompt IS NOT NULL BEGIN
    INSERT INTO tasks_fts (rowid, prompt) VALUES (new.id, new.prompt);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks WHEN old.prompt IS NOT NULL BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
END;
-- Every rewrite of a row sets prompt; only a real change touches the index.
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF prompt ON tasks WHEN old.prompt IS NOT new.prompt BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, prompt) SELECT 'delete', old.id, old.prompt WHERE old.prompt IS NOT NULL;
    INSERT INTO tasks_fts (rowid, prompt) SELECT new.id, new.prompt WHERE new.prompt IS NOT NULL;
END;
"#,
    // 2: claims (status 'SUBMITTING', no task id, filed under 'claim:' + key). A version 1 process
    // would ignore them and create past them, hence the new version. Only the few live claims are in
    // this index, for the sweep at open.
    r#"
CREATE INDEX tasks_claims ON tasks (created_ms) WHERE status = 'SUBMITTING';
"#,
    // 3: leases, so that one process resumes or downloads a task while others leave it alone.
    r#"
CREATE TABLE leases (
    key_fp TEXT NOT NULL,
    task_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (key_fp, task_id)
) WITHOUT ROWID;
"#,
    // 4: prompt search reads only the caller's rows, as on PostgreSQL. The trigram index answered
    // across every key's rows, so its time told one key whether others' prompts held a phrase.
    // prompt_lc is the prompt lower-cased by the writer (Rust's Unicode rules).
    r#"
DROP TRIGGER tasks_fts_insert;
DROP TRIGGER tasks_fts_delete;
DROP TRIGGER tasks_fts_update;
DROP TABLE tasks_fts;
ALTER TABLE tasks ADD COLUMN prompt_lc TEXT;
UPDATE tasks SET prompt_lc = journal_lower(prompt) WHERE prompt IS NOT NULL;
"#,
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) const COLUMNS: &str =
    "id, task_id, key_fp, tool, endpoint, model, prompt, params, request_fp, estimated_cost, \
     status, progress, outputs, files, cost, failure, failure_code, note, created_ms, updated_ms, finished_ms";

const TERMINAL_SQL: &str = "('SUCCEEDED', 'FAILED', 'CANCELLED')";
const IN_FLIGHT_SQL: &str = "(status IS NULL OR status IN ('PENDING', 'THROTTLED', 'RUNNING'))";
/// Not finished; the expression of the `tasks_live` index.
const LIVE_SQL: &str = "(status IS NULL OR status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))";
/// Succeeded, outputs not saved yet; the expression of the `tasks_unsaved` index.
const UNSAVED_SQL: &str = "status = 'SUCCEEDED' AND files = '[]'";

/// A claim is filed under this prefix and its key fingerprint, so that every read scoped to a key
/// misses it without a word of its SQL changing (nor its query plan).
pub(crate) const CLAIM_KEY_PREFIX: &str = "claim:";
const STALE_SWEEP_SQL: &str = "UPDATE tasks SET key_fp = substr(key_fp, 7), status = NULL, note = ?1, updated_ms = ?2 \
     WHERE status = 'SUBMITTING' AND created_ms < ?3 AND key_fp LIKE 'claim:%'";

static INSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let cols = &COLUMNS["id, ".len()..];
    let marks: Vec<String> = (1..=21).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO tasks ({cols}, prompt_lc) VALUES ({})", marks.join(", "))
});
static UPDATE_SQL: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = COLUMNS["id, ".len()..]
        .split(", ")
        .chain(["prompt_lc"])
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    format!("UPDATE tasks SET {} WHERE id = ?22", sets.join(", "))
});

/// The journal in one SQLite file, shared by every process that opens it.
pub struct SqliteJournal {
    // One connection per handle: SQLite serializes writers anyway, and reads are short.
    conn: Mutex<Connection>,
    path: PathBuf,
    salt: Vec<u8>,
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::Journal(format!("task journal: {e}"))
}

impl SqliteJournal {
    /// Opens (creating it and its directories if needed) the journal at `path`, migrating an older
    /// schema. Refuses a file written by a newer version.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteJournal> {
        let path = path.as_ref().to_path_buf();
        let fail = |e: &dyn std::fmt::Display| Error::Journal(format!("task journal {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let existed = path.exists();
        let mut conn = Connection::open(&path).map_err(|e| fail(&e))?;
        if !existed {
            restrict_to_owner(&path);
        }
        let salt = Self::prepare(&mut conn).map_err(|m| fail(&m))?;
        Ok(SqliteJournal { conn: Mutex::new(conn), path, salt })
    }

    /// Pragmas, the schema and the salt; the error is a message for `open` to put the path on.
    fn prepare(conn: &mut Connection) -> std::result::Result<Vec<u8>, String> {
        let sql = |e: rusqlite::Error| e.to_string();
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // Room for every statement the journal runs (rusqlite keeps 16): none is parsed twice.
        conn.set_prepared_statement_cache_capacity(48);
        // journal_mode answers with the mode in force; a file system without WAL support keeps the
        // rollback journal, which is slower but just as safe. Switching needs the file to itself
        // and SQLite does not wait for that (no busy handler): when processes open a new file at
        // once, the others are told "database is locked", so wait for the turn here.
        let started = std::time::Instant::now();
        let _mode: String = loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other.map_err(sql)?,
            }
        };
        // NORMAL in WAL mode: a power cut may lose the last commits, never corrupts the file.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        // For migration 4, which lower-cases the prompts already there as the writer does.
        conn.create_scalar_function(
            "journal_lower",
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|h| h.to_lowercase())),
        )
        .map_err(sql)?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").map_err(sql)?;
        let version: i64 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0)).map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "schema version {version} is newer than this runway-core knows ({SCHEMA_VERSION}): a newer \
                 runway-mcp-server wrote it. Upgrade, or set {PATH_ENV} to another file"
            ));
        }
        for migration in &MIGRATIONS[version as usize..] {
            tx.execute_batch(migration).map_err(sql)?;
        }
        if version < SCHEMA_VERSION {
            tx.execute("DELETE FROM schema_version", []).map_err(sql)?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [SCHEMA_VERSION]).map_err(sql)?;
        }
        // Claims of processes that died while creating: what they may have paid for becomes visible.
        let now = now_unix_ms();
        tx.execute(STALE_SWEEP_SQL, params![STALE_CLAIM_NOTE, ms(now), ms(now.saturating_sub(CLAIM_STALE_MS))])
            .map_err(sql)?;
        // First opener wins; everyone else reads its salt.
        tx.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('key_salt', ?1)", [new_salt()]).map_err(sql)?;
        let salt: Vec<u8> =
            tx.query_row("SELECT value FROM meta WHERE name = 'key_salt'", [], |r| r.get(0)).map_err(sql)?;
        tx.commit().map_err(sql)?;
        // No PRAGMA optimize: statistics taken while the tables are small mislead the planner on
        // the full-text index's own tables later (inserts ran 5 to 20 times slower after 10,000 rows). The plans
        // need none; `journal_queries_use_their_indexes` checks them.
        Ok(salt)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `key_fingerprint` with this journal's salt.
    pub fn key_fingerprint(&self, key: &str) -> String {
        key_fingerprint(&self.salt, key)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if !conn.is_autocommit() {
            // A panic inside `write` left its transaction open: nothing of it was committed.
            conn.execute_batch("ROLLBACK").map_err(db_err)?;
        }
        f(&mut conn).map_err(db_err)
    }

    /// A write transaction, taken IMMEDIATE: it waits for the write lock up front (under the busy
    /// timeout), so what it read cannot be changed by another process before it writes. BEGIN and
    /// COMMIT are cached statements: a profile put 11 % of the journal's CPU in parsing statements.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.with(|c| {
            c.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            match f(c).and_then(|out| c.prepare_cached("COMMIT")?.execute([]).map(|_| out)) {
                Ok(out) => Ok(out),
                Err(e) => {
                    let _ = c.prepare_cached("ROLLBACK").and_then(|mut r| r.execute([]));
                    Err(e)
                }
            }
        })
    }

    fn query(conn: &Connection, sql: &str, args: &[SqlValue]) -> rusqlite::Result<Vec<Entry>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
        rows.collect()
    }
}

pub(crate) fn new_salt() -> Vec<u8> {
    // fastrand seeds from std's RandomState, which the OS seeds; the salt only has to differ between
    // journal files, it guards nothing secret by itself.
    (0..32).map(|_| fastrand::u8(..)).collect()
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) {
    // Prompts and spending are the user's business; SQLite gives -wal and -shm the same mode.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) {}

/// SQLite integers are signed; Unix milliseconds stay far below the limit.
fn ms(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

fn json_col(r: &Row, i: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn from_row(r: &Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        task_id: r.get(1)?,
        key_fp: r.get(2)?,
        tool: r.get(3)?,
        endpoint: r.get(4)?,
        model: r.get(5)?,
        prompt: r.get(6)?,
        params: json_col(r, 7)?,
        request_fp: r.get(8)?,
        estimated_cost: r.get(9)?,
        status: r.get(10)?,
        progress: r.get(11)?,
        outputs: json_col(r, 12)?,
        files: json_col(r, 13)?,
        cost: r.get(14)?,
        failure: r.get(15)?,
        failure_code: r.get(16)?,
        note: r.get(17)?,
        created_ms: r.get::<_, i64>(18)?.max(0) as u64,
        updated_ms: r.get::<_, i64>(19)?.max(0) as u64,
        finished_ms: r.get::<_, Option<i64>>(20)?.map(|t| t.max(0) as u64),
    })
}

/// Inserts `e` (id None) or rewrites row `id` with it; returns the row id.
fn store(tx: &Connection, e: &Entry, id: Option<i64>) -> rusqlite::Result<i64> {
    let (params_json, outputs, files) = (e.params.to_string(), e.outputs.to_string(), e.files.to_string());
    let prompt_lc = e.prompt.as_deref().map(str::to_lowercase);
    let values = params![
        e.task_id,
        e.key_fp,
        e.tool,
        e.endpoint,
        e.model,
        e.prompt,
        params_json,
        e.request_fp,
        e.estimated_cost,
        e.status,
        e.progress,
        outputs,
        files,
        e.cost,
        e.failure,
        e.failure_code,
        e.note,
        ms(e.created_ms),
        ms(e.updated_ms),
        e.finished_ms.map(ms),
        prompt_lc,
    ];
    match id {
        None => {
            tx.prepare_cached(&INSERT_SQL)?.execute(values)?;
            Ok(tx.last_insert_rowid())
        }
        Some(id) => {
            let mut all = values.to_vec();
            all.push(&id);
            tx.prepare_cached(&UPDATE_SQL)?.execute(all.as_slice())?;
            Ok(id)
        }
    }
}

fn get_tx(conn: &Connection, key_fp: &str, task_id: &str) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND task_id = ?2"))?
        .query_row([key_fp, task_id], from_row)
        .optional()
}

/// A later look at a task's lifecycle, from a GET or from a second `record`.
struct Seen<'a> {
    status: Option<&'a str>,
    progress: Option<f64>,
    outputs: Option<&'a Value>,
    estimated_cost: Option<f64>,
    cost: Option<f64>,
    failure: Option<&'a str>,
    failure_code: Option<&'a str>,
}

fn is_empty_array(v: &Value) -> bool {
    v.as_array().is_none_or(Vec::is_empty)
}

/// Applies `s` to `e`; false (and `e` untouched) if it would move a finished task back.
fn advance(e: &mut Entry, s: &Seen, now: u64) -> bool {
    if e.is_terminal() && !s.status.is_some_and(is_terminal_status) {
        return false;
    }
    if let Some(st) = s.status {
        e.status = Some(st.to_string());
    }
    e.progress = s.progress.or(e.progress);
    if let Some(o) = s.outputs.filter(|o| !is_empty_array(o)) {
        e.outputs = o.clone();
    }
    e.estimated_cost = s.estimated_cost.or(e.estimated_cost);
    e.cost = s.cost.or(e.cost);
    e.failure = s.failure.map(str::to_string).or(e.failure.take());
    e.failure_code = s.failure_code.map(str::to_string).or(e.failure_code.take());
    if e.is_terminal() && e.finished_ms.is_none() {
        e.finished_ms = Some(now);
    }
    e.updated_ms = now;
    true
}

/// A second `record` of a known task: the first description stands, gaps are filled.
pub(crate) fn merge(old: &mut Entry, new: &Entry, now: u64) {
    for (o, n) in [(&mut old.tool, &new.tool), (&mut old.endpoint, &new.endpoint), (&mut old.model, &new.model)] {
        if o.is_empty() {
            o.clone_from(n);
        }
    }
    if old.prompt.is_none() {
        old.prompt.clone_from(&new.prompt);
    }
    if old.params.as_object().is_none_or(|m| m.is_empty()) {
        old.params = new.params.clone();
    }
    if old.request_fp.is_none() {
        old.request_fp.clone_from(&new.request_fp);
    }
    if new.note.is_some() {
        old.note.clone_from(&new.note);
    }
    if is_empty_array(&old.files) {
        old.files = new.files.clone();
    }
    old.created_ms = old.created_ms.min(new.created_ms);
    advance(
        old,
        &Seen {
            status: new.status.as_deref(),
            progress: new.progress,
            outputs: Some(&new.outputs),
            estimated_cost: new.estimated_cost,
            cost: new.cost,
            failure: new.failure.as_deref(),
            failure_code: new.failure_code.as_deref(),
        },
        now,
    );
}

pub(crate) fn check_array(what: &str, v: &Value) -> Result<()> {
    if v.is_array() {
        Ok(())
    } else {
        Err(Error::Journal(format!("task journal: {what} must be a JSON array, got {v}")))
    }
}

/// The SQL and arguments of `list`.
fn list_query(key_fp: &str, f: &Filter) -> (String, Vec<SqlValue>) {
    let mut sql = format!("SELECT {COLUMNS} FROM tasks WHERE key_fp = ?");
    let mut args: Vec<SqlValue> = vec![key_fp.to_string().into()];
    let given = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(status) = given(&f.status) {
        match status.to_ascii_lowercase().as_str() {
            "running" => sql.push_str(&format!(" AND task_id IS NOT NULL AND {LIVE_SQL}")),
            "finished" => sql.push_str(&format!(" AND status IN {TERMINAL_SQL}")),
            "ambiguous" => sql.push_str(" AND task_id IS NULL"),
            _ => {
                sql.push_str(" AND status = ?");
                args.push(status.to_ascii_uppercase().into());
            }
        }
    }
    if let Some(tool) = given(&f.tool) {
        sql.push_str(" AND tool = ?");
        args.push(tool.into());
    }
    if let Some(model) = given(&f.model) {
        sql.push_str(" AND model = ?");
        args.push(model.into());
    }
    if let Some(since) = f.since_ms {
        sql.push_str(" AND created_ms >= ?");
        args.push(SqlValue::Integer(ms(since)));
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        // Within this key's rows only (the index on key_fp), so the time a search takes depends
        // on the caller's own journal, never on what other keys' prompts hold.
        sql.push_str(" AND instr(prompt_lc, ?) > 0");
        args.push(text.to_lowercase().into());
    }
    sql.push_str(" ORDER BY created_ms DESC, id DESC LIMIT ?");
    args.push(SqlValue::Integer(f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as i64));
    (sql, args)
}

/// `record` of a checked entry with its times filled.
fn record_tx(tx: &Connection, new: &Entry, now: u64) -> rusqlite::Result<i64> {
    if let Some(task_id) = &new.task_id {
        if let Some(mut old) = get_tx(tx, &new.key_fp, task_id)? {
            merge(&mut old, new, now);
            return store(tx, &old, Some(old.id));
        }
    }
    store(tx, new, None)
}

/// `advance` in one statement: what a GET said, applied to the row unless it would move a finished
/// task back or changes nothing (an unchanged poll is not rewritten). Arguments: status, progress,
/// outputs (JSON, NULL when none), estimated cost, cost, failure, failure code, now, key, task id.
static UPDATE_TASK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET status = COALESCE(?1, status), progress = COALESCE(?2, progress), \
         outputs = COALESCE(?3, outputs), estimated_cost = COALESCE(?4, estimated_cost), cost = COALESCE(?5, cost), \
         failure = COALESCE(?6, failure), failure_code = COALESCE(?7, failure_code), updated_ms = ?8, \
         finished_ms = CASE WHEN COALESCE(?1, status) IN {TERMINAL_SQL} THEN COALESCE(finished_ms, ?8) ELSE finished_ms END \
         WHERE key_fp = ?9 AND task_id = ?10 \
         AND (status IS NULL OR status NOT IN {TERMINAL_SQL} OR ?1 IN {TERMINAL_SQL}) \
         AND (status IS NOT COALESCE(?1, status) OR progress IS NOT COALESCE(?2, progress) \
              OR outputs IS NOT COALESCE(?3, outputs) OR estimated_cost IS NOT COALESCE(?4, estimated_cost) \
              OR cost IS NOT COALESCE(?5, cost) OR failure IS NOT COALESCE(?6, failure) \
              OR failure_code IS NOT COALESCE(?7, failure_code))"
    )
});

/// In-flight tasks (key ?1) and claims (key ?3) of one request, newest first.
static CLAIM_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp IN (?1, ?3) AND request_fp = ?2 AND \
         ((task_id IS NOT NULL AND {IN_FLIGHT_SQL}) OR (task_id IS NULL AND (status = 'SUBMITTING' OR status IS NULL))) \
         ORDER BY created_ms DESC, id DESC"
    )
});

/// This request's ambiguous creates no longer answer a claim (the user paid again knowingly).
pub(crate) const FORGET_AMBIGUOUS_SQL: &str =
    "UPDATE tasks SET request_fp = NULL WHERE key_fp = ?1 AND request_fp = ?2 AND task_id IS NULL AND status IS NULL";

/// Of `CLAIM_SQL`'s rows (newest first), the ambiguous create `claim` would answer with, if that is
/// what it would meet first (both backends).
pub(crate) fn first_ambiguous(rows: Vec<Entry>, key_fp: &str, stale_before_ms: u64) -> Option<Entry> {
    let row = rows.into_iter().next()?;
    match (&row.task_id, &row.status) {
        (None, None) => Some(row),
        (None, Some(_)) if row.created_ms < stale_before_ms => Some(stale_to_ambiguous(row, key_fp, now_unix_ms())),
        _ => None,
    }
}

/// A stale claim's row as it reads once it is an ambiguous create (both backends).
pub(crate) fn stale_to_ambiguous(row: Entry, key_fp: &str, now: u64) -> Entry {
    Entry { key_fp: key_fp.to_string(), status: None, note: Some(STALE_CLAIM_NOTE.into()), updated_ms: now, ..row }
}

/// A claim becomes what Runway's answer made of it; the request's description is already there.
static SETTLE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET key_fp = ?9, task_id = ?1, status = ?2, estimated_cost = COALESCE(?3, estimated_cost), \
         failure = ?4, failure_code = ?5, note = ?6, updated_ms = ?7, \
         finished_ms = CASE WHEN ?2 IN {TERMINAL_SQL} THEN ?7 END \
         WHERE id = ?8 AND key_fp IN (?9, ?10) AND task_id IS NULL"
    )
});

static FIND_IN_FLIGHT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND request_fp = ?2 AND task_id IS NOT NULL AND \
         {IN_FLIGHT_SQL} ORDER BY created_ms DESC, id DESC LIMIT 1"
    )
});

// Two disjoint halves, each on its partial index, merged in order. SQLite prefers tasks_by_status
// (key and status) to tasks_unsaved whatever the statistics say, hence INDEXED BY.
static UNFINISHED_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND task_id IS NOT NULL AND {LIVE_SQL} \
         UNION ALL \
         SELECT {COLUMNS} FROM tasks INDEXED BY tasks_unsaved \
         WHERE key_fp = ?1 AND task_id IS NOT NULL AND {UNSAVED_SQL} AND outputs <> '[]' \
         ORDER BY created_ms DESC, id DESC LIMIT ?2"
    )
});

/// An entry as `record` stores it: checked, with its times filled in; and the time now.
/// Shared by the backends so that both store the same row.
pub(crate) fn entry_to_record(e: &Entry) -> Result<(Entry, u64)> {
    if e.key_fp.is_empty() {
        return Err(Error::Journal("task journal: an entry needs a key fingerprint".into()));
    }
    check_array("outputs", &e.outputs)?;
    check_array("files", &e.files)?;
    let now = now_unix_ms();
    let mut new = e.clone();
    if new.created_ms == 0 {
        new.created_ms = now;
    }
    if new.updated_ms == 0 {
        new.updated_ms = now.max(new.created_ms);
    }
    if new.is_terminal() && new.finished_ms.is_none() {
        new.finished_ms = Some(new.updated_ms);
    }
    Ok((new, now))
}

/// A settle's outcome as a row of its own (when the claim row is gone, or another row holds the
/// task). Shared by the backends.
pub(crate) fn settled_row(key_fp: &str, e: &Entry, now: u64) -> Entry {
    Entry {
        key_fp: key_fp.to_string(),
        created_ms: if e.created_ms == 0 { now } else { e.created_ms },
        updated_ms: now,
        ..e.clone()
    }
}

/// The claim row for a request (filed under the claim key, no task id yet), its request
/// fingerprint, and the time now. Shared by the backends.
pub(crate) fn claim_row(e: &Entry) -> Result<(Entry, String, u64)> {
    let Some(request_fp) = e.request_fp.clone().filter(|_| !e.key_fp.is_empty()) else {
        return Err(Error::Journal("task journal: a claim needs a key and a request fingerprint".into()));
    };
    let now = now_unix_ms();
    let created_ms = if e.created_ms == 0 { now } else { e.created_ms };
    let claim = Entry {
        key_fp: format!("{CLAIM_KEY_PREFIX}{}", e.key_fp),
        task_id: None,
        status: Some(SUBMITTING.into()),
        created_ms,
        updated_ms: now.max(created_ms),
        finished_ms: None,
        ..e.clone()
    };
    Ok((claim, request_fp, now))
}

/// `settle`'s writes, in the caller's transaction.
fn settle_tx(
    tx: &Connection,
    key_fp: &str,
    claim_key: &str,
    id: i64,
    outcome: Option<&Entry>,
    now: u64,
) -> rusqlite::Result<()> {
    // Its own key if a stale claim became an ambiguous create meanwhile.
    let delete = |tx: &Connection| {
        tx.prepare_cached("DELETE FROM tasks WHERE id = ?1 AND key_fp IN (?2, ?3) AND task_id IS NULL")?
            .execute(params![id, key_fp, claim_key])
    };
    let Some(e) = outcome else { return delete(tx).map(drop) };
    let full = settled_row(key_fp, e, now);
    // Another row already holds this task (a second record of it): that row stands.
    let known = match &e.task_id {
        Some(t) => {
            tx.prepare_cached("SELECT 1 FROM tasks WHERE key_fp = ?1 AND task_id = ?2")?.exists(params![key_fp, t])?
        }
        None => false,
    };
    if known {
        delete(tx)?;
        return record_tx(tx, &full, now).map(drop);
    }
    let n = tx.prepare_cached(&SETTLE_SQL)?.execute(params![
        e.task_id,
        e.status,
        e.estimated_cost,
        e.failure,
        e.failure_code,
        e.note,
        ms(now),
        id,
        key_fp,
        claim_key
    ])?;
    if n == 0 {
        // The claim row is gone: the outcome still gets its row.
        record_tx(tx, &full, now)?;
    }
    Ok(())
}

/// Each id once, in the order given (what `lease` answers in).
pub(crate) fn distinct(ids: &[String]) -> Vec<&String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).collect()
}

/// `lease`'s writes, in the caller's transaction: the ids `owner` holds now.
fn lease_tx(
    tx: &Connection,
    key_fp: &str,
    task_ids: &[String],
    owner: &str,
    now: u64,
    ttl_ms: u64,
) -> rusqlite::Result<Vec<String>> {
    // One statement each: a free or expired lease (or the owner's own) is taken, another's stays.
    let mut stmt = tx.prepare_cached(LEASE_SQL)?;
    let mut held = Vec::new();
    for task_id in distinct(task_ids) {
        if stmt.execute(params![key_fp, task_id, owner, ms(now), ms(now.saturating_add(ttl_ms))])? > 0 {
            held.push(task_id.clone());
        }
    }
    Ok(held)
}

/// One task's `observe`, in the caller's transaction: whether its row exists.
fn observe_tx(tx: &Connection, key_fp: &str, o: &Observed, now: i64) -> rusqlite::Result<bool> {
    let mut found = false;
    if let Some(t) = &o.look {
        // One statement, no read of the row first: a poll is the journal's most frequent write.
        let outputs = (!t.output.is_empty()).then(|| Value::from(t.output.clone()).to_string());
        found = tx.prepare_cached(&UPDATE_TASK_SQL)?.execute(params![
            t.status,
            t.progress,
            outputs,
            t.estimated_cost,
            t.cost,
            t.failure,
            t.failure_code,
            now,
            key_fp,
            o.task_id,
        ])? > 0;
    }
    if let Some(files) = &o.files {
        found |= tx
            .prepare_cached("UPDATE tasks SET files = ?1, updated_ms = ?2 WHERE key_fp = ?3 AND task_id = ?4")?
            .execute(params![files.to_string(), now, key_fp, o.task_id])?
            > 0;
    }
    // Nothing written: no such row, or nothing new (or a stale look at a finished task).
    if !found {
        found = tx
            .prepare_cached("SELECT 1 FROM tasks WHERE key_fp = ?1 AND task_id = ?2")?
            .exists(params![key_fp, o.task_id])?;
    }
    Ok(found)
}

/// A `Write` checked and ready to run in a transaction.
enum Ready<'a> {
    Claim { claim: Box<Entry>, request_fp: String, e: &'a Entry, stale_before_ms: u64, skip: &'a [String] },
    Settle { key_fp: &'a str, claim_key: String, id: i64, outcome: Option<&'a Entry>, lease: Option<&'a (String, u64)> },
}

impl<'a> Ready<'a> {
    fn of(w: &'a Write) -> Result<Ready<'a>> {
        Ok(match w {
            Write::Claim { entry, stale_before_ms, skip } => {
                let (claim, request_fp, _) = claim_row(entry)?;
                Ready::Claim { claim: Box::new(claim), request_fp, e: entry, stale_before_ms: *stale_before_ms, skip }
            }
            Write::Settle { key_fp, id, outcome, lease } => {
                if let Some(e) = outcome {
                    check_array("outputs", &e.outputs)?;
                    check_array("files", &e.files)?;
                }
                let claim_key = format!("{CLAIM_KEY_PREFIX}{key_fp}");
                Ready::Settle { key_fp, claim_key, id: *id, outcome: outcome.as_ref(), lease: lease.as_ref() }
            }
        })
    }

    fn run(&self, tx: &Connection, now: u64) -> rusqlite::Result<Written> {
        match self {
            Ready::Claim { claim, request_fp, e, stale_before_ms, skip } => {
                let args = [e.key_fp.clone().into(), request_fp.clone().into(), claim.key_fp.clone().into()];
                for row in SqliteJournal::query(tx, &CLAIM_SQL, &args)? {
                    match &row.task_id {
                        Some(id) if skip.contains(id) => continue,
                        Some(_) => return Ok(Written::Claim(Claim::InFlight(Box::new(row)))),
                        None if row.status.is_none() => return Ok(Written::Claim(Claim::Ambiguous(Box::new(row)))),
                        None if row.created_ms >= *stale_before_ms => return Ok(Written::Claim(Claim::Taken)),
                        None => {
                            tx.prepare_cached(
                                "UPDATE tasks SET key_fp = ?1, status = NULL, note = ?2, updated_ms = ?3 WHERE id = ?4",
                            )?
                            .execute(params![
                                e.key_fp,
                                STALE_CLAIM_NOTE,
                                ms(now),
                                row.id
                            ])?;
                            return Ok(Written::Claim(Claim::Ambiguous(Box::new(stale_to_ambiguous(
                                row, &e.key_fp, now,
                            )))));
                        }
                    }
                }
                let claim = Entry { updated_ms: now.max(claim.created_ms), ..(**claim).clone() };
                store(tx, &claim, None).map(|id| Written::Claim(Claim::Won(id)))
            }
            Ready::Settle { key_fp, claim_key, id, outcome, lease } => {
                settle_tx(tx, key_fp, claim_key, *id, *outcome, now)?;
                if let (Some(task_id), Some((owner, ttl_ms))) = (outcome.and_then(|e| e.task_id.as_ref()), lease) {
                    lease_tx(tx, key_fp, std::slice::from_ref(task_id), owner, now, *ttl_ms)?;
                }
                Ok(Written::Settled)
            }
        }
    }
}

impl Journal for SqliteJournal {
    fn record(&self, e: &Entry) -> Result<i64> {
        let (new, now) = entry_to_record(e)?;
        self.write(|tx| record_tx(tx, &new, now))
    }

    fn observe(&self, key_fp: &str, batch: &[Observed]) -> Result<Vec<bool>> {
        for f in batch.iter().filter_map(|o| o.files.as_ref()) {
            check_array("files", f)?;
        }
        let now = ms(now_unix_ms());
        self.write(|tx| batch.iter().map(|o| observe_tx(tx, key_fp, o, now)).collect())
    }

    fn get(&self, key_fp: &str, task_id: &str) -> Result<Option<Entry>> {
        self.with(|c| get_tx(c, key_fp, task_id))
    }

    fn list(&self, key_fp: &str, f: &Filter) -> Result<Vec<Entry>> {
        let (sql, args) = list_query(key_fp, f);
        self.with(|c| Self::query(c, &sql, &args))
    }

    fn find_in_flight(&self, key_fp: &str, request_fp: &str) -> Result<Option<Entry>> {
        let args = [key_fp.to_string().into(), request_fp.to_string().into()];
        Ok(self.with(|c| Self::query(c, &FIND_IN_FLIGHT_SQL, &args))?.pop())
    }

    fn find_ambiguous(&self, key_fp: &str, request_fp: &str, stale_before_ms: u64) -> Result<Option<Entry>> {
        let claim_key = format!("{CLAIM_KEY_PREFIX}{key_fp}");
        let args = [key_fp.to_string().into(), request_fp.to_string().into(), claim_key.into()];
        let rows = self.with(|c| Self::query(c, &CLAIM_SQL, &args))?;
        Ok(first_ambiguous(rows, key_fp, stale_before_ms))
    }

    fn claim(&self, e: &Entry, stale_before_ms: u64, skip: &[String]) -> Result<Claim> {
        let w = Write::Claim { entry: e.clone(), stale_before_ms, skip: skip.to_vec() };
        match self.write_all(std::slice::from_ref(&w))?.pop() {
            Some(Ok(Written::Claim(c))) => Ok(c),
            Some(Err(e)) => Err(e),
            other => Err(Error::Journal(format!("task journal: a claim answered {other:?}"))),
        }
    }

    fn forget_ambiguous(&self, key_fp: &str, request_fp: &str) -> Result<usize> {
        self.with(|c| c.prepare_cached(FORGET_AMBIGUOUS_SQL)?.execute(params![key_fp, request_fp]))
    }

    fn settle(&self, key_fp: &str, id: i64, outcome: Option<&Entry>, lease: Option<LeaseTo>) -> Result<()> {
        let lease = lease.map(|l| (l.owner.to_string(), l.ttl_ms));
        let w = Write::Settle { key_fp: key_fp.to_string(), id, outcome: outcome.cloned(), lease };
        self.write_all(std::slice::from_ref(&w))?.pop().unwrap_or(Ok(Written::Settled)).map(drop)
    }

    /// Group commit: one transaction, each write in a savepoint so that one that fails is undone
    /// alone. SQLite has one writer at a time anyway, so this costs no concurrency.
    fn write_all(&self, writes: &[Write]) -> Result<Vec<Result<Written>>> {
        let ready: Vec<Result<Ready>> = writes.iter().map(Ready::of).collect();
        let now = now_unix_ms();
        self.write(|tx| {
            let mut out = Vec::with_capacity(ready.len());
            for r in ready {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        out.push(Err(e));
                        continue;
                    }
                };
                tx.prepare_cached("SAVEPOINT one_write")?.execute([])?;
                match r.run(tx, now) {
                    Ok(w) => out.push(Ok(w)),
                    Err(e) => {
                        tx.prepare_cached("ROLLBACK TO one_write")?.execute([])?;
                        out.push(Err(db_err(e)));
                    }
                }
                tx.prepare_cached("RELEASE one_write")?.execute([])?;
            }
            Ok(out)
        })
    }

    fn unfinished(&self, key_fp: &str, limit: usize) -> Result<Vec<Entry>> {
        let args = [key_fp.to_string().into(), SqlValue::Integer(limit.min(i64::MAX as usize) as i64)];
        self.with(|c| Self::query(c, &UNFINISHED_SQL, &args))
    }

    fn spent_since(&self, key_fp: &str, since_ms: u64) -> Result<f64> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT COALESCE(SUM(COALESCE(cost, estimated_cost, 0.0)), 0.0) FROM tasks \
                 WHERE key_fp = ?1 AND created_ms >= ?2",
            )?
            .query_row(params![key_fp, ms(since_ms)], |r| r.get(0))
        })
    }

    fn lease(&self, key_fp: &str, task_ids: &[String], owner: &str, ttl_ms: u64) -> Result<Vec<String>> {
        let now = now_unix_ms();
        self.write(|tx| lease_tx(tx, key_fp, task_ids, owner, now, ttl_ms))
    }

    fn salt(&self) -> &[u8] {
        &self.salt
    }
}

const LEASE_SQL: &str = "INSERT INTO leases (key_fp, task_id, owner, expires_ms) VALUES (?1, ?2, ?3, ?5) \
     ON CONFLICT (key_fp, task_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms \
     WHERE leases.owner = excluded.owner OR leases.expires_ms <= ?4";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "runway-journal-{name}-{}-{}-{}",
                std::process::id(),
                now_unix_ms(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        fn file(&self) -> PathBuf {
            self.0.join("sub/journal.sqlite3")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn entry(key: &str, task_id: &str) -> Entry {
        Entry {
            task_id: Some(task_id.into()),
            key_fp: key.into(),
            tool: "generate_video".into(),
            endpoint: "/v1/text_to_video".into(),
            model: "gen4.5".into(),
            prompt: Some("a cat on a skateboard".into()),
            params: json!({"model": "gen4.5", "promptText": "a cat on a skateboard", "ratio": "1280:720"}),
            request_fp: Some("rfp".into()),
            estimated_cost: Some(25.0),
            ..Default::default()
        }
    }

    fn task(v: Value) -> Task {
        Task::from_json(v).unwrap()
    }

    fn ids(rows: &[Entry]) -> Vec<&str> {
        rows.iter().map(|e| e.task_id.as_deref().unwrap_or("-")).collect()
    }

    /// The storage a test runs on: every test of the shared suite runs on both (`on_both!`).
    #[derive(Clone, Copy, Debug)]
    enum Backend {
        Sqlite,
        Postgres,
    }

    /// A fresh journal of one backend, with direct SQL for the few tests that need it.
    struct TestJournal {
        j: Arc<dyn Journal>,
        /// What `open_journal` takes: the file's path or the database's URL.
        spec: String,
        backend: Backend,
        _dir: Option<TempDir>,
    }

    impl std::ops::Deref for TestJournal {
        type Target = dyn Journal;
        fn deref(&self) -> &(dyn Journal + 'static) {
            &*self.j
        }
    }

    impl TestJournal {
        fn new(backend: Backend, name: &str) -> TestJournal {
            let (spec, dir) = match backend {
                Backend::Sqlite => {
                    let dir = TempDir::new(name);
                    (dir.file().display().to_string(), Some(dir))
                }
                Backend::Postgres => (crate::test_pg::database(name), None),
            };
            TestJournal { j: open_journal(&spec).unwrap(), spec, backend, _dir: dir }
        }

        /// Another handle on the same journal, as another process would open it.
        fn reopen(&self) -> Arc<dyn Journal> {
            open_journal(&self.spec).unwrap()
        }

        /// This journal through a new handle, the old one closed.
        fn reopened(self) -> TestJournal {
            let j = self.reopen();
            TestJournal { j, ..self }
        }

        /// Runs `sql` on the storage directly (tables unqualified); the first column of the first
        /// row as an integer, 0 if none.
        fn sql(&self, sql: &str) -> i64 {
            match self.backend {
                Backend::Sqlite => {
                    let c = Connection::open(&self.spec).unwrap();
                    c.busy_timeout(BUSY_TIMEOUT).unwrap();
                    let mut st = c.prepare(sql).unwrap();
                    let mut rows = st.query([]).unwrap();
                    rows.next().unwrap().map(|r| r.get::<_, i64>(0).unwrap_or(0)).unwrap_or(0)
                }
                Backend::Postgres => {
                    crate::journal_pg::PgJournal::open(&self.spec).unwrap().exec_for_tests(sql).unwrap()
                }
            }
        }

        fn count(&self) -> i64 {
            self.sql("SELECT COUNT(*) FROM tasks")
        }
    }

    /// Each `fn name(b: Backend)` as two tests, `name::sqlite` and `name::postgres`.
    macro_rules! on_both {
        ($($name:ident),* $(,)?) => {$(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(super::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name(super::Backend::Postgres)
                }
            }
        )*};
    }

    on_both!(
        journal_record_get_update_and_files,
        journal_list_filters,
        journal_text_search_agrees_with_a_plain_scan,
        journal_list_limits,
        journal_keys_never_see_each_other,
        journal_find_in_flight_only_running_same_key_same_request,
        journal_unfinished_lists_what_to_resume,
        journal_spent_since_prefers_final_cost,
        journal_ambiguous_rows_are_listed_with_their_note,
        journal_salt_is_stable_per_journal_and_differs_between_journals,
        journal_refuses_a_newer_schema_any,
        journal_two_handles_many_threads_lose_nothing,
        journal_update_task_rewrites_only_what_changed,
        journal_claim_settles_into_the_task_row_and_is_hidden_until_then,
        journal_stale_claims_become_ambiguous,
        journal_claim_race_has_one_winner,
        journal_leases_have_one_holder_until_they_run_out,
        journal_lease_race_has_one_winner,
        journal_processes_share_one_journal,
        journal_observe_writes_many_tasks_at_once,
        journal_write_all_answers_each_write_on_its_own,
    );

    fn journal_write_all_answers_each_write_on_its_own(b: Backend) {
        let j = TestJournal::new(b, "write_all");
        let req = Entry { task_id: None, ..entry("k", "") };
        let earlier = won(j.claim(&Entry { request_fp: Some("earlier".into()), ..req.clone() }, 0, &[]).unwrap());
        let claim = |fp: Option<&str>| Write::Claim {
            entry: Entry { request_fp: fp.map(String::from), ..req.clone() },
            stale_before_ms: 0,
            skip: vec![],
        };
        let done = Entry { task_id: Some("t9".into()), ..entry("k", "") };
        let lease = Some(("me".to_string(), 60_000));
        let writes = [
            claim(Some("rfp")),
            claim(Some("rfp")),
            claim(None),
            Write::Settle { key_fp: "k".into(), id: earlier, outcome: Some(done), lease },
        ];
        let out = j.write_all(&writes).unwrap();
        assert!(matches!(out[0], Ok(Written::Claim(Claim::Won(_)))), "{out:?}");
        assert_eq!(out[1].as_ref().unwrap(), &Written::Claim(Claim::Taken), "the first claim, in the same batch");
        assert!(out[2].as_ref().unwrap_err().to_string().contains("request fingerprint"), "{out:?}");
        assert_eq!(out[3].as_ref().unwrap(), &Written::Settled);
        // The failing write took nothing with it.
        assert_eq!(j.get("k", "t9").unwrap().unwrap().id, earlier);
        assert!(!leased(&*j, "k", "t9", "other", 60_000), "leased with its row");
        assert_eq!(j.count(), 2, "the earlier claim (now t9) and the new claim");
    }

    fn journal_observe_writes_many_tasks_at_once(b: Backend) {
        let j = TestJournal::new(b, "observe");
        for id in ["t1", "t2", "t3"] {
            j.record(&entry("k", id)).unwrap();
        }
        let done = |id: &str| task(json!({"id": id, "status": "SUCCEEDED", "output": ["https://x/o.mp4"]}));
        let files = json!([{"path": "/tmp/o.mp4"}]);
        let batch = [
            Observed { task_id: "t1".into(), look: Some(done("t1")), files: Some(files.clone()) },
            Observed {
                task_id: "t2".into(),
                look: Some(task(json!({"id": "t2", "status": "RUNNING", "progress": 0.5}))),
                files: None,
            },
            Observed { task_id: "t3".into(), look: None, files: Some(files.clone()) },
            Observed { task_id: "nope".into(), look: Some(done("nope")), files: None },
        ];
        assert_eq!(j.observe("k", &batch).unwrap(), [true, true, true, false]);
        let t1 = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((t1.status.as_deref(), &t1.files, t1.finished_ms.is_some()), (Some("SUCCEEDED"), &files, true));
        assert_eq!(j.get("k", "t2").unwrap().unwrap().progress, Some(0.5));
        assert_eq!(j.get("k", "t3").unwrap().unwrap().files, files);
        // Nothing new is still a row that exists; another key's rows are not touched.
        assert_eq!(j.observe("k", &batch[..1]).unwrap(), [true]);
        assert_eq!(j.observe("other", &batch[..1]).unwrap(), [false]);
        // A bad files value refuses the whole batch before anything is written.
        let bad = [
            Observed { task_id: "t2".into(), look: Some(done("t2")), files: None },
            Observed { task_id: "t3".into(), look: None, files: Some(json!({"path": "/x"})) },
        ];
        assert!(j.observe("k", &bad).is_err());
        assert_eq!(j.get("k", "t2").unwrap().unwrap().status.as_deref(), Some("RUNNING"));
    }

    fn journal_leases_have_one_holder_until_they_run_out(b: Backend) {
        let j = TestJournal::new(b, "lease");
        assert!(leased(&*j, "k", "t1", "a", 60_000), "free: taken");
        assert!(!leased(&*j, "k", "t1", "b", 60_000), "another's: refused");
        assert!(leased(&*j, "k", "t1", "a", 60_000), "its own: renewed");
        assert!(leased(&*j, "k", "t2", "b", 60_000), "per task");
        assert!(leased(&*j, "other", "t1", "b", 60_000), "per key");
        // Released (a ttl of 0): the next owner takes it.
        assert!(leased(&*j, "k", "t1", "a", 0));
        assert!(leased(&*j, "k", "t1", "b", 200));
        assert!(!leased(&*j, "k", "t1", "a", 60_000));
        // Run out: taken over.
        std::thread::sleep(Duration::from_millis(300));
        assert!(leased(&*j, "k", "t1", "a", 60_000), "expired: taken over");
        assert!(!leased(&*j, "k", "t1", "b", 60_000));
        // Another handle sees the same leases.
        let other = j.reopen();
        assert!(!leased(&*other, "k", "t1", "b", 60_000));
        assert!(leased(&*other, "k", "t1", "a", 60_000));
        // Several in one call: the ids held now, another's left.
        let ids: Vec<String> = ["t1", "t2", "t3", "t1"].map(String::from).to_vec();
        assert_eq!(j.lease("k", &ids, "a", 60_000).unwrap(), ["t1", "t3"]);
        assert_eq!(j.lease("k", &ids, "b", 0).unwrap(), ["t2"], "released, the others left alone");
        assert!(leased(&*j, "k", "t2", "a", 60_000));
    }

    /// `lease` of one task: true if `owner` holds it now.
    fn leased(j: &dyn Journal, key_fp: &str, task_id: &str, owner: &str, ttl_ms: u64) -> bool {
        !j.lease(key_fp, &[task_id.to_string()], owner, ttl_ms).unwrap().is_empty()
    }

    fn journal_lease_race_has_one_winner(b: Backend) {
        const THREADS: usize = 6;
        let t = TestJournal::new(b, "lease-race");
        for round in 0..10 {
            let barrier = Arc::new(Barrier::new(THREADS));
            let workers: Vec<_> = (0..THREADS)
                .map(|n| {
                    let (barrier, spec) = (barrier.clone(), t.spec.clone());
                    std::thread::spawn(move || {
                        let j = open_journal(&spec).unwrap();
                        barrier.wait();
                        leased(&*j, "k", &format!("task{round}"), &format!("owner{n}"), 60_000)
                    })
                })
                .collect();
            let got: Vec<bool> = workers.into_iter().map(|w| w.join().unwrap()).collect();
            assert_eq!(got.iter().filter(|w| **w).count(), 1, "round {round}: {got:?}");
        }
    }

    fn journal_refuses_a_newer_schema_any(b: Backend) {
        let j = TestJournal::new(b, "newer");
        j.sql("UPDATE schema_version SET version = 99");
        let err = open_journal(&j.spec).err().unwrap().to_string();
        assert!(err.contains("schema version 99 is newer") && err.contains(PATH_ENV), "{err}");
    }

    fn journal_record_get_update_and_files(b: Backend) {
        let j = TestJournal::new(b, "basic");
        let id = j.record(&entry("k", "t1")).unwrap();
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!(e.id, id);
        assert_eq!(e.params["ratio"], "1280:720");
        assert_eq!((e.status.as_deref(), e.estimated_cost, e.finished_ms), (None, Some(25.0), None));
        assert!(e.created_ms > 0 && e.updated_ms >= e.created_ms);

        assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.4}))).unwrap());
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((e.status.as_deref(), e.progress), (Some("RUNNING"), Some(0.4)));
        assert_eq!(e.estimated_cost, Some(25.0), "a GET without estimatedCost keeps the estimate");

        let done = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/1.mp4"],
                               "cost": {"credits": 20}}));
        assert!(j.update_task("k", &done).unwrap());
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!(e.status.as_deref(), Some("SUCCEEDED"));
        assert_eq!(e.outputs, json!(["https://x/1.mp4"]));
        assert_eq!((e.cost, e.progress), (Some(20.0), Some(0.4)));
        assert!(e.finished_ms.is_some());

        // A stale observation (another process polled before the finish) does not undo it.
        assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.9}))).unwrap());
        assert_eq!(j.get("k", "t1").unwrap().unwrap().status.as_deref(), Some("SUCCEEDED"));

        assert!(!j.update_task("k", &task(json!({"id": "nope", "status": "RUNNING"}))).unwrap());
        assert!(j.set_files("k", "t1", &json!(["/tmp/out/1.mp4"])).unwrap());
        assert!(!j.set_files("k", "nope", &json!([])).unwrap());
        assert_eq!(j.get("k", "t1").unwrap().unwrap().files, json!(["/tmp/out/1.mp4"]));
        assert!(j.set_files("k", "t1", &json!("not an array")).is_err());
        assert!(j.get("k", "nope").unwrap().is_none());

        // Recording the same task again keeps the row, its lifecycle and its files.
        let again = j.record(&Entry { note: Some("seen again".into()), ..entry("k", "t1") }).unwrap();
        assert_eq!(again, id);
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((e.status.as_deref(), e.files.clone()), (Some("SUCCEEDED"), json!(["/tmp/out/1.mp4"])));
        assert_eq!(e.note.as_deref(), Some("seen again"));
        assert_eq!(j.count(), 1);

        assert!(j.record(&Entry { key_fp: String::new(), ..entry("k", "t2") }).is_err());
    }

    fn journal_list_filters(b: Backend) {
        let j = TestJournal::new(b, "list");
        let rows = [
            ("a", "generate_video", "gen4.5", Some("SUCCEEDED"), "A Cat on a boat", 1_000),
            ("b", "generate_video", "veo3.1", Some("RUNNING"), "a dog in the snow", 2_000),
            ("c", "generate_image", "gen4_image", Some("FAILED"), "L'ÉTÉ à Paris", 3_000),
            ("d", "generate_image", "gen4_image", None, "cat portrait", 4_000),
            ("e", "generate_video", "gen4.5", Some("THROTTLED"), "ocean waves", 5_000),
        ];
        for (id, tool, model, status, prompt, at) in rows {
            j.record(&Entry {
                tool: tool.into(),
                model: model.into(),
                status: status.map(str::to_string),
                prompt: Some(prompt.into()),
                created_ms: at,
                ..entry("k", id)
            })
            .unwrap();
        }
        let amb = Entry { task_id: None, prompt: Some("sunset".into()), created_ms: 6_000, ..entry("k", "") };
        j.record(&amb).unwrap();
        let list = |f: Filter| ids(&j.list("k", &f).unwrap()).join(",");

        assert_eq!(list(Filter::default()), "-,e,d,c,b,a", "newest first");
        assert_eq!(list(Filter { status: Some("succeeded".into()), ..Default::default() }), "a");
        assert_eq!(list(Filter { status: Some("running".into()), ..Default::default() }), "e,d,b");
        assert_eq!(list(Filter { status: Some("finished".into()), ..Default::default() }), "c,a");
        assert_eq!(list(Filter { status: Some("ambiguous".into()), ..Default::default() }), "-");
        assert_eq!(list(Filter { tool: Some("generate_image".into()), ..Default::default() }), "d,c");
        assert_eq!(list(Filter { model: Some("gen4.5".into()), ..Default::default() }), "-,e,a");
        assert_eq!(list(Filter { since_ms: Some(4_000), ..Default::default() }), "-,e,d");
        assert_eq!(list(Filter { text: Some("CAT".into()), ..Default::default() }), "d,a");
        assert_eq!(list(Filter { text: Some("l'été".into()), ..Default::default() }), "c", "Unicode case folding");
        assert_eq!(list(Filter { text: Some("100%".into()), ..Default::default() }), "");
        assert_eq!(list(Filter { limit: Some(2), ..Default::default() }), "-,e");
        let both = Filter { tool: Some("generate_video".into()), text: Some("a".into()), ..Default::default() };
        assert_eq!(list(both), "e,b,a");
        let all = Filter {
            status: Some("RUNNING".into()),
            tool: Some("generate_video".into()),
            model: Some("veo3.1".into()),
            since_ms: Some(2_000),
            text: Some("snow".into()),
            limit: Some(10),
        };
        assert_eq!(list(all), "b");

        // Same time: the later row first.
        j.record(&Entry { created_ms: 5_000, ..entry("k", "e2") }).unwrap();
        assert_eq!(list(Filter { since_ms: Some(5_000), ..Default::default() }), "-,e2,e");
    }

    fn journal_text_search_agrees_with_a_plain_scan(b: Backend) {
        let j = TestJournal::new(b, "text");
        let prompts = [
            Some("A Cat on a boat"),
            Some("L'ÉTÉ à Paris"),
            Some(r#"she says "hi" twice"#),
            Some("cat OR dog NEAR(x)"),
            Some("Straße"),
            None,
        ];
        for (i, p) in prompts.iter().enumerate() {
            j.record(&Entry {
                prompt: p.map(str::to_string),
                created_ms: 1 + i as u64,
                ..entry("k", &format!("t{i}"))
            })
            .unwrap();
        }
        // A prompt first recorded without one, then filled in by a second record, is searchable.
        j.record(&Entry { prompt: None, created_ms: 10, ..entry("k", "late") }).unwrap();
        j.record(&Entry { prompt: Some("late prompt".into()), ..entry("k", "late") }).unwrap();
        let all = j.list("k", &Filter::default()).unwrap();
        for needle in [
            "cat", "CAT", "ca", "été", "ÉT", "é", r#""hi""#, r#"s "h"#, "OR dog", "NEAR(", "*", "straße", "late pr",
            "zebra",
        ] {
            let got = j.list("k", &Filter { text: Some(needle.into()), ..Default::default() }).unwrap();
            let want: Vec<&str> = all
                .iter()
                .filter(|e| e.prompt.as_deref().is_some_and(|p| p.to_lowercase().contains(&needle.to_lowercase())))
                .map(|e| e.task_id.as_deref().unwrap())
                .collect();
            assert_eq!(ids(&got), want, "needle {needle:?}");
        }
    }

    /// The plan SQLite picks for `sql`, one line per step.
    fn plan(j: &SqliteJournal, sql: &str, args: &[SqlValue]) -> String {
        j.with(|c| {
            let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .join("\n")
    }

    /// A prompt search by one key must not tell it what other keys' prompts hold, by how long it
    /// takes: the work SQLite does for it (virtual machine steps, a count, not a clock) is the same
    /// whether another key has no rows or thousands that contain the phrase.
    #[test]
    fn a_prompt_search_does_the_same_work_whatever_other_keys_hold() {
        let dir = TempDir::new("search-work");
        let j = SqliteJournal::open(dir.file()).unwrap();
        for i in 0..20 {
            let prompt = format!("my own prompt {i}");
            j.record(&Entry { prompt: Some(prompt), created_ms: 1 + i, ..entry("me", &format!("m{i}")) }).unwrap();
        }
        let steps = |text: &str| {
            let (sql, args) = list_query("me", &Filter { text: Some(text.into()), ..Default::default() });
            j.with(|c| {
                let mut st = c.prepare(&sql)?;
                let n = st.query(rusqlite::params_from_iter(&args))?.mapped(|_| Ok(())).count();
                Ok((n, st.get_status(rusqlite::StatementStatus::VmStep)))
            })
            .unwrap()
        };
        let before = [steps("secret phrase"), steps("own prompt 1")];
        for i in 0..2000 {
            let prompt = Some(format!("the secret phrase, take {i}"));
            j.record(&Entry { prompt, created_ms: 100 + i, ..entry("other", &format!("o{i}")) }).unwrap();
        }
        assert_eq!([steps("secret phrase"), steps("own prompt 1")], before);
        assert_eq!(before[0].0, 0);
        assert_eq!(before[1].0, 11, "'own prompt 1' is in prompts 1 and 10 to 19");
    }

    #[test]
    fn journal_queries_use_their_indexes() {
        let dir = TempDir::new("plans");
        let j = SqliteJournal::open(dir.file()).unwrap();
        for i in 0..300 {
            let status = if i % 100 == 0 { "RUNNING" } else { "SUCCEEDED" };
            let files = if i % 100 == 1 { json!([]) } else { json!(["/f"]) };
            j.record(&Entry { status: Some(status.into()), files, ..entry("k", &format!("t{i}")) }).unwrap();
        }
        let key = || SqlValue::Text("k".into());
        let list = |f: Filter| {
            let (sql, args) = list_query("k", &f);
            plan(&j, &sql, &args)
        };
        // Without statistics (as the journal keeps it) and with them (should anyone run ANALYZE).
        for analyzed in [false, true] {
            if analyzed {
                j.with(|c| c.execute_batch("ANALYZE")).unwrap();
            }
            let cases = [
                (list(Filter::default()), "tasks_by_created"),
                (list(Filter { status: Some("running".into()), ..Default::default() }), "tasks_live"),
                (list(Filter { status: Some("FAILED".into()), ..Default::default() }), "tasks_by_status"),
                (list(Filter { text: Some("cat".into()), ..Default::default() }), "tasks_by_created"),
                (plan(&j, &FIND_IN_FLIGHT_SQL, &[key(), SqlValue::Text("r".into())]), "tasks_by_request"),
                (plan(&j, &UNFINISHED_SQL, &[key(), SqlValue::Integer(10)]), "tasks_live"),
                (plan(&j, &UNFINISHED_SQL, &[key(), SqlValue::Integer(10)]), "tasks_unsaved"),
            ];
            for (plan, index) in cases {
                assert!(plan.contains(index), "analyzed {analyzed}: expected {index} in:\n{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "sorts instead of reading in order:\n{plan}");
            }
        }
    }

    fn journal_list_limits(b: Backend) {
        let j = TestJournal::new(b, "limits");
        for i in 0..1005 {
            j.record(&Entry { created_ms: 1 + i, ..entry("k", &format!("t{i}")) }).unwrap();
        }
        assert_eq!(j.list("k", &Filter::default()).unwrap().len(), DEFAULT_LIMIT);
        let many = j.list("k", &Filter { limit: Some(5000), ..Default::default() }).unwrap();
        assert_eq!(many.len(), MAX_LIMIT);
        assert_eq!(many[0].task_id.as_deref(), Some("t1004"));
        assert!(j.list("k", &Filter { limit: Some(0), ..Default::default() }).unwrap().is_empty());
    }

    fn journal_keys_never_see_each_other(b: Backend) {
        let j = TestJournal::new(b, "keys");
        let (a, b) = (key_fingerprint(j.salt(), "key_a"), key_fingerprint(j.salt(), "key_b"));
        assert_ne!(a, b);
        j.record(&entry(&a, "t1")).unwrap();
        j.record(&Entry { task_id: None, ..entry(&a, "") }).unwrap();

        assert!(j.get(&b, "t1").unwrap().is_none());
        assert!(j.list(&b, &Filter::default()).unwrap().is_empty());
        assert!(j.find_in_flight(&b, "rfp").unwrap().is_none());
        assert!(j.unfinished(&b, 10).unwrap().is_empty());
        assert_eq!(j.spent_since(&b, 0).unwrap(), 0.0);
        assert!(!j.update_task(&b, &task(json!({"id": "t1", "status": "FAILED"}))).unwrap());
        assert!(!j.set_files(&b, "t1", &json!(["/x"])).unwrap());
        let e = j.get(&a, "t1").unwrap().unwrap();
        assert_eq!((e.status, e.files), (None, json!([])), "b's calls changed nothing of a's");

        // The same task id under another key is another row, and recording it leaves a's alone.
        j.record(&Entry { tool: "other".into(), ..entry(&b, "t1") }).unwrap();
        assert_eq!(j.get(&a, "t1").unwrap().unwrap().tool, "generate_video");
        assert_eq!(j.get(&b, "t1").unwrap().unwrap().tool, "other");
        assert_eq!(j.list(&a, &Filter::default()).unwrap().len(), 2);
    }

    fn journal_find_in_flight_only_running_same_key_same_request(b: Backend) {
        let j = TestJournal::new(b, "inflight");
        let rfp = request_fingerprint("/v1/text_to_video", &json!({"promptText": "x"}), &[]);
        let with = |id: &str, status: Option<&str>, at: u64| Entry {
            request_fp: Some(rfp.clone()),
            status: status.map(str::to_string),
            created_ms: at,
            ..entry("k", id)
        };
        assert!(j.find_in_flight("k", &rfp).unwrap().is_none());
        j.record(&with("done", Some("SUCCEEDED"), 1)).unwrap();
        j.record(&with("failed", Some("FAILED"), 2)).unwrap();
        j.record(&with("cancelled", Some("CANCELLED"), 3)).unwrap();
        j.record(&Entry { task_id: None, ..with("", None, 4) }).unwrap();
        j.record(&Entry { key_fp: "other".into(), ..with("theirs", Some("RUNNING"), 5) }).unwrap();
        j.record(&Entry { request_fp: Some("different".into()), ..with("diff", Some("RUNNING"), 6) }).unwrap();
        assert!(j.find_in_flight("k", &rfp).unwrap().is_none(), "finished, ambiguous, other key or request");

        for (i, status) in [None, Some("PENDING"), Some("THROTTLED"), Some("RUNNING")].into_iter().enumerate() {
            let id = format!("live{i}");
            j.record(&with(&id, status, 10 + i as u64)).unwrap();
            assert_eq!(j.find_in_flight("k", &rfp).unwrap().unwrap().task_id.as_deref(), Some(id.as_str()));
        }
        // Once it finishes it is never found again; the next newest live one is.
        j.update_task("k", &task(json!({"id": "live3", "status": "SUCCEEDED"}))).unwrap();
        assert_eq!(j.find_in_flight("k", &rfp).unwrap().unwrap().task_id.as_deref(), Some("live2"));
        for id in ["live0", "live1", "live2"] {
            j.update_task("k", &task(json!({"id": id, "status": "FAILED"}))).unwrap();
        }
        assert!(j.find_in_flight("k", &rfp).unwrap().is_none());
    }

    fn journal_unfinished_lists_what_to_resume(b: Backend) {
        let j = TestJournal::new(b, "unfinished");
        let add = |id: &str, status: Option<&str>, outputs: Value, files: Value, at: u64| {
            j.record(&Entry { status: status.map(str::to_string), outputs, files, created_ms: at, ..entry("k", id) })
                .unwrap()
        };
        add("new", None, json!([]), json!([]), 1);
        add("running", Some("RUNNING"), json!([]), json!([]), 2);
        add("throttled", Some("THROTTLED"), json!([]), json!([]), 3);
        add("undownloaded", Some("SUCCEEDED"), json!(["https://x/a.mp4"]), json!([]), 4);
        add("saved", Some("SUCCEEDED"), json!(["https://x/b.mp4"]), json!(["/out/b.mp4"]), 5);
        add("gave_up", Some("SUCCEEDED"), json!(["https://x/c.mp4"]), json!([{"error": "link expired"}]), 6);
        add("failed", Some("FAILED"), json!([]), json!([]), 7);
        add("cancelled", Some("CANCELLED"), json!([]), json!([]), 8);
        j.record(&Entry { task_id: None, created_ms: 9, ..entry("k", "") }).unwrap();
        j.record(&Entry { key_fp: "other".into(), ..entry("k", "theirs") }).unwrap();

        assert_eq!(ids(&j.unfinished("k", 100).unwrap()), ["undownloaded", "throttled", "running", "new"]);
        assert_eq!(ids(&j.unfinished("k", 2).unwrap()), ["undownloaded", "throttled"]);
        j.set_files("k", "undownloaded", &json!(["/out/a.mp4"])).unwrap();
        j.update_task("k", &task(json!({"id": "running", "status": "SUCCEEDED", "output": ["https://x/d"]}))).unwrap();
        assert_eq!(ids(&j.unfinished("k", 100).unwrap()), ["throttled", "running", "new"]);
    }

    fn journal_spent_since_prefers_final_cost(b: Backend) {
        let j = TestJournal::new(b, "spent");
        j.record(&Entry { estimated_cost: Some(40.0), created_ms: 500, ..entry("k", "old") }).unwrap();
        j.record(&Entry { estimated_cost: Some(25.0), created_ms: 1_000, ..entry("k", "a") }).unwrap();
        j.record(&Entry { estimated_cost: Some(10.0), created_ms: 2_000, ..entry("k", "b") }).unwrap();
        j.record(&Entry { estimated_cost: None, created_ms: 3_000, ..entry("k", "c") }).unwrap();
        j.record(&Entry { task_id: None, estimated_cost: Some(5.0), created_ms: 4_000, ..entry("k", "") }).unwrap();
        j.record(&Entry { estimated_cost: Some(99.0), created_ms: 4_000, ..entry("other", "x") }).unwrap();
        assert_eq!(j.spent_since("k", 1_000).unwrap(), 40.0);
        j.update_task("k", &task(json!({"id": "a", "status": "SUCCEEDED", "cost": {"credits": 20}}))).unwrap();
        j.update_task("k", &task(json!({"id": "b", "status": "FAILED", "cost": {"credits": 0}}))).unwrap();
        assert_eq!(j.spent_since("k", 1_000).unwrap(), 25.0);
        assert_eq!(j.get("k", "a").unwrap().unwrap().credits(), 20.0);
        assert_eq!(j.get("k", "c").unwrap().unwrap().credits(), 0.0);
        assert_eq!(j.spent_since("k", 0).unwrap(), 65.0);
        assert_eq!(j.spent_since("k", 10_000).unwrap(), 0.0);
    }

    fn journal_ambiguous_rows_are_listed_with_their_note(b: Backend) {
        let j = TestJournal::new(b, "ambiguous");
        let note = "Runway may have created a task: check the dashboard before retrying";
        let amb = Entry { task_id: None, note: Some(note.into()), ..entry("k", "") };
        let (r1, r2) = (j.record(&amb).unwrap(), j.record(&amb).unwrap());
        assert_ne!(r1, r2, "ambiguous creates never merge");
        let rows = j.list("k", &Filter::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|e| e.is_ambiguous() && e.note.as_deref() == Some(note)));
        assert_eq!(rows[0].params["promptText"], "a cat on a skateboard");
    }

    fn journal_salt_is_stable_per_journal_and_differs_between_journals(b: Backend) {
        let (j1, j2) = (TestJournal::new(b, "salt1"), TestJournal::new(b, "salt2"));
        let s1 = j1.salt().to_vec();
        let reopened = j1.reopen();
        assert_eq!(reopened.salt(), s1.as_slice());
        assert_eq!(s1.len(), 32);
        assert_ne!(j2.salt(), s1.as_slice());
        let key = "key_0123456789abcdef";
        let fp = key_fingerprint(reopened.salt(), key);
        assert_eq!(fp, key_fingerprint(&s1, key));
        assert_ne!(fp, key_fingerprint(j2.salt(), key));
        assert_eq!(fp.len(), 32);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()) && !fp.contains("0123456789abcdef"));
    }

    #[test]
    fn journal_request_fingerprint_is_canonical() {
        let fp = |e: &str, b: Value, d: &[&str]| {
            request_fingerprint(e, &b, &d.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let a = fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d1"]);
        assert_eq!(a.len(), 64);
        assert_eq!(a, fp("/v1/image_to_video", json!({"b": {"x": "s", "y": [1, 2]}, "a": 1}), &["d1"]));
        assert_ne!(a, fp("/v1/text_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d1"]));
        assert_ne!(a, fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [2, 1], "x": "s"}}), &["d1"]));
        assert_ne!(a, fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d2"]));
        assert_ne!(fp("/e", json!({}), &["d1", "d2"]), fp("/e", json!({}), &["d2", "d1"]));
        assert_ne!(fp("/e", json!({}), &["d1d2"]), fp("/e", json!({}), &["d1", "d2"]));
    }

    #[test]
    fn journal_refuses_a_newer_schema() {
        let dir = TempDir::new("schema");
        drop(SqliteJournal::open(dir.file()).unwrap());
        let raw = Connection::open(dir.file()).unwrap();
        assert_eq!(
            raw.query_row("SELECT version FROM schema_version", [], |r| r.get::<_, i64>(0)).unwrap(),
            SCHEMA_VERSION
        );
        raw.execute("UPDATE schema_version SET version = 99", []).unwrap();
        drop(raw);
        let err = SqliteJournal::open(dir.file()).err().unwrap().to_string();
        assert!(err.contains("schema version 99 is newer") && err.contains(PATH_ENV), "{err}");
        assert!(err.contains("journal.sqlite3"), "names the file: {err}");
    }

    #[test]
    fn journal_default_path_follows_env_and_platform() {
        let env = |pairs: &'static [(&str, &str)]| move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.into());
        assert_eq!(default_path_from(env(&[(PATH_ENV, "/x/j.db"), ("HOME", "/h")])), PathBuf::from("/x/j.db"));
        let tail = Path::new("runway-mcp-server").join("journal.sqlite3");
        if cfg!(windows) {
            let p = default_path_from(env(&[("LOCALAPPDATA", r"C:\Users\u\AppData\Local")]));
            assert_eq!(p, Path::new(r"C:\Users\u\AppData\Local").join(&tail));
        } else if cfg!(target_os = "macos") {
            assert_eq!(
                default_path_from(env(&[("HOME", "/h")])),
                Path::new("/h/Library/Application Support").join(&tail)
            );
        } else {
            assert_eq!(
                default_path_from(env(&[("HOME", "/h"), (PATH_ENV, "")])),
                Path::new("/h/.local/share").join(&tail)
            );
            let xdg = env(&[("HOME", "/h"), ("XDG_DATA_HOME", "/data")]);
            assert_eq!(default_path_from(xdg), Path::new("/data").join(&tail));
            let relative = env(&[("HOME", "/h"), ("XDG_DATA_HOME", "rel")]);
            assert_eq!(default_path_from(relative), Path::new("/h/.local/share").join(&tail));
        }
        assert!(default_path_from(env(&[])).ends_with(&tail));
    }

    /// Writes `n` rows for thread or process `tag`: record, RUNNING, then files; finishing them is
    /// left to another writer so two writers touch every row.
    fn write_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
        for i in 0..n {
            let id = format!("{tag}-{i}");
            j.record(&Entry { request_fp: Some(id.clone()), ..entry(key, &id) }).unwrap();
            let running = task(json!({"id": id, "status": "RUNNING", "progress": 0.5}));
            assert!(j.update_task(key, &running).unwrap());
        }
    }

    fn finish_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
        for i in 0..n {
            let id = format!("{tag}-{i}");
            let done = task(json!({"id": id, "status": "SUCCEEDED", "output": [format!("https://x/{id}")],
                                   "cost": {"credits": i}}));
            assert!(j.update_task(key, &done).unwrap());
        }
    }

    fn save_files(j: &dyn Journal, key: &str, tag: &str, n: usize) {
        for i in 0..n {
            let id = format!("{tag}-{i}");
            assert!(j.set_files(key, &id, &json!([format!("/out/{id}.mp4")])).unwrap());
        }
    }

    fn check_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
        for i in 0..n {
            let id = format!("{tag}-{i}");
            let e = j.get(key, &id).unwrap().unwrap_or_else(|| panic!("row {id} lost"));
            assert_eq!(e.status.as_deref(), Some("SUCCEEDED"), "{id}");
            assert_eq!((e.progress, e.cost), (Some(0.5), Some(i as f64)), "{id}");
            assert_eq!(e.outputs, json!([format!("https://x/{id}")]), "{id}");
            assert_eq!(e.files, json!([format!("/out/{id}.mp4")]), "{id}");
        }
    }

    fn journal_two_handles_many_threads_lose_nothing(b: Backend) {
        const THREADS: usize = 8;
        const ROWS: usize = 300;
        let tj = TestJournal::new(b, "threads");
        let handles = [tj.reopen(), tj.reopen()];
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (j, barrier) = (handles[t % 2].clone(), barrier.clone());
                std::thread::spawn(move || {
                    write_rows(&*j, "k", &format!("t{t}"), ROWS);
                    barrier.wait();
                    // Each row is finished by its writer and given files by the next thread, which
                    // uses the other handle, at the same time.
                    finish_rows(&*j, "k", &format!("t{t}"), ROWS);
                    save_files(&*j, "k", &format!("t{}", (t + 1) % THREADS), ROWS);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let j = &*handles[0];
        assert_eq!(tj.count(), (THREADS * ROWS) as i64);
        for t in 0..THREADS {
            check_rows(j, "k", &format!("t{t}"), ROWS);
        }
        let expected: usize = THREADS * (0..ROWS).sum::<usize>();
        assert_eq!(j.spent_since("k", 0).unwrap(), expected as f64);
    }

    fn won(c: Claim) -> i64 {
        match c {
            Claim::Won(id) => id,
            other => panic!("expected a won claim, got {other:?}"),
        }
    }

    #[test]
    fn journal_a_panic_mid_write_commits_nothing() {
        let dir = TempDir::new("panic");
        let j = SqliteJournal::open(dir.file()).unwrap();
        let hit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = j.write(|tx| -> rusqlite::Result<()> {
                store(tx, &Entry { created_ms: 1, updated_ms: 1, ..entry("k", "half") }, None)?;
                panic!("mid-write")
            });
        }));
        assert!(hit.is_err());
        j.record(&entry("k", "next")).unwrap();
        assert!(j.get("k", "half").unwrap().is_none());
        assert_eq!(j.with(|c| c.query_row("SELECT COUNT(*) FROM tasks", [], |r| r.get::<_, i64>(0))).unwrap(), 1);
    }

    fn journal_update_task_rewrites_only_what_changed(b: Backend) {
        let j = TestJournal::new(b, "unchanged");
        j.record(&entry("k", "t1")).unwrap();
        let updated = || j.get("k", "t1").unwrap().unwrap().updated_ms;
        let mark = || j.sql("UPDATE tasks SET updated_ms = 1");
        let running = task(json!({"id": "t1", "status": "RUNNING", "progress": 0.4}));
        assert!(j.update_task("k", &running).unwrap());
        mark();
        assert!(j.update_task("k", &running).unwrap(), "the row is there");
        assert_eq!(updated(), 1, "an unchanged status is not rewritten");
        assert!(j.update_task("k", &task(json!({"id": "t1"}))).unwrap());
        assert_eq!(updated(), 1, "a look that says nothing rewrites nothing");
        assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.5}))).unwrap());
        assert!(updated() > 1, "a changed progress is written");
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((e.status.as_deref(), e.progress, e.finished_ms), (Some("RUNNING"), Some(0.5), None));
        mark();
        let done = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/1"], "cost": {"credits": 5}}));
        assert!(j.update_task("k", &done).unwrap());
        let e = j.get("k", "t1").unwrap().unwrap();
        let finished = e.finished_ms.unwrap();
        assert!(e.updated_ms > 1 && finished > 1);
        assert_eq!((e.outputs, e.cost, e.progress), (json!(["https://x/1"]), Some(5.0), Some(0.5)));
        // Fresh output links for a finished task are kept; the finish time stays.
        let relinked = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/2"]}));
        assert!(j.update_task("k", &relinked).unwrap());
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((e.outputs, e.finished_ms), (json!(["https://x/2"]), Some(finished)));
        mark();
        assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.9}))).unwrap());
        assert_eq!((updated(), j.get("k", "t1").unwrap().unwrap().progress), (1, Some(0.5)), "never moved back");
        assert!(!j.update_task("other", &running).unwrap());
    }

    fn journal_claim_settles_into_the_task_row_and_is_hidden_until_then(b: Backend) {
        let j = TestJournal::new(b, "claim");
        let req = Entry { task_id: None, estimated_cost: None, ..entry("k", "") };
        let id = won(j.claim(&req, 0, &[]).unwrap());
        assert_eq!(j.claim(&req, 0, &[]).unwrap(), Claim::Taken);
        assert_eq!(j.claim(&Entry { key_fp: "other".into(), ..req.clone() }, 0, &[]).unwrap(), Claim::Won(id + 1));
        assert_eq!(
            j.claim(&Entry { request_fp: Some("rfp2".into()), ..req.clone() }, 0, &[]).unwrap(),
            Claim::Won(id + 2)
        );
        // Invisible to every read.
        assert!(j.list("k", &Filter::default()).unwrap().is_empty());
        for status in ["ambiguous", "running", "SUBMITTING"] {
            assert!(j.list("k", &Filter { status: Some(status.into()), ..Default::default() }).unwrap().is_empty());
        }
        assert!(j.unfinished("k", 10).unwrap().is_empty());
        assert!(j.find_in_flight("k", "rfp").unwrap().is_none());
        assert_eq!(j.spent_since("k", 0).unwrap(), 0.0);
        assert!(j.claim(&Entry { request_fp: None, ..req.clone() }, 0, &[]).is_err());

        // Runway's answer: the same row becomes the task.
        let answer = Entry { task_id: Some("t1".into()), estimated_cost: Some(25.0), ..entry("k", "") };
        j.settle("k", id, Some(&answer), Some(LeaseTo { owner: "creator", ttl_ms: 60_000 })).unwrap();
        assert!(!leased(&*j, "k", "t1", "other", 60_000), "leased to its creator with its row");
        assert!(leased(&*j, "k", "t1", "creator", 60_000));
        let e = j.get("k", "t1").unwrap().unwrap();
        assert_eq!((e.id, e.status.clone(), e.estimated_cost, e.note.clone()), (id, None, Some(25.0), None));
        assert_eq!(e.prompt.as_deref(), Some("a cat on a skateboard"));
        assert_eq!(ids(&j.list("k", &Filter::default()).unwrap()), ["t1"]);
        assert_eq!(j.spent_since("k", 0).unwrap(), 25.0);
        match j.claim(&req, 0, &[]).unwrap() {
            Claim::InFlight(e) => assert_eq!(e.task_id.as_deref(), Some("t1")),
            other => panic!("{other:?}"),
        }
        // The caller found t1 finished at Runway: it may claim, and a definite failure removes it.
        let again = won(j.claim(&req, 0, &["t1".into()]).unwrap());
        j.settle("k", again, None, None).unwrap();
        assert_eq!(j.count(), 3);
        // An ambiguous create becomes visible as one.
        let again = won(j.claim(&req, 0, &["t1".into()]).unwrap());
        let amb = Entry { task_id: None, note: Some("check".into()), failure: Some("lost".into()), ..entry("k", "") };
        j.settle("k", again, Some(&amb), Some(LeaseTo { owner: "creator", ttl_ms: 60_000 })).unwrap();
        let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
        assert_eq!((rows.len(), rows[0].id, rows[0].note.as_deref()), (1, again, Some("check")));
        assert_eq!(rows[0].status, None);
        assert_eq!(j.sql("SELECT COUNT(*) FROM leases"), 1, "no task id, no lease");
        // It stands in the way of the identical request (which might pay twice) until the user chooses.
        match j.claim(&req, 0, &["t1".into()]).unwrap() {
            Claim::Ambiguous(e) => assert_eq!((e.id, e.failure.as_deref()), (again, Some("lost"))),
            other => panic!("{other:?}"),
        }
        assert_eq!(j.forget_ambiguous("k", "rfp").unwrap(), 1);
        // A task already journaled by someone else keeps its row; the claim goes.
        let c = won(j.claim(&req, 0, &["t1".into()]).unwrap());
        j.settle("k", c, Some(&Entry { task_id: Some("t1".into()), ..entry("k", "") }), None).unwrap();
        assert_eq!(j.get("k", "t1").unwrap().unwrap().id, id);
        assert_eq!(j.count(), 4);
    }

    fn journal_stale_claims_become_ambiguous(b: Backend) {
        let j = TestJournal::new(b, "stale-claim");
        let now = now_unix_ms();
        let req = Entry { task_id: None, estimated_cost: None, ..entry("k", "") };
        let old = Entry { created_ms: now - CLAIM_STALE_MS - 1_000, ..req.clone() };
        let dead = won(j.claim(&old, 0, &[]).unwrap());
        assert_eq!(j.claim(&req, now - CLAIM_STALE_MS - 5_000, &[]).unwrap(), Claim::Taken, "not stale by this bound");
        // Stale: it becomes an ambiguous create, and the identical request is told, not let through
        // (its process may have paid); again and again, until the user pays again knowingly.
        for _ in 0..2 {
            match j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap() {
                Claim::Ambiguous(e) => {
                    assert_eq!((e.id, e.created_ms, e.note.as_deref()), (dead, old.created_ms, Some(STALE_CLAIM_NOTE)))
                }
                other => panic!("{other:?}"),
            }
        }
        let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
        assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead]);
        assert_eq!(rows[0].note.as_deref(), Some(STALE_CLAIM_NOTE));
        assert_eq!(j.forget_ambiguous("other-key", req.request_fp.as_deref().unwrap()).unwrap(), 0, "another key's");
        assert_eq!(j.forget_ambiguous("k", req.request_fp.as_deref().unwrap()).unwrap(), 1);
        let mine = won(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap());
        assert_ne!(mine, dead);
        j.settle("k", mine, None, None).unwrap();
        let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
        assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead], "still listed after the user chose");
        // A process that died is found at the next open too.
        let other = Entry { request_fp: Some("rfp2".into()), ..old.clone() };
        let dead2 = won(j.claim(&other, 0, &[]).unwrap());
        // `mine` settled without a task is gone, so the identical request wins a fresh, live claim.
        won(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap());
        let j = j.reopened();
        let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
        assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead2, dead]);
        assert_eq!(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap(), Claim::Taken, "a live claim survives the open");
        // A slow process whose claim was taken for dead still settles it with its task.
        j.settle("k", dead, Some(&Entry { task_id: Some("late".into()), ..entry("k", "") }), None).unwrap();
        let e = j.get("k", "late").unwrap().unwrap();
        assert_eq!((e.id, e.note), (dead, None));
    }

    #[test]
    fn one_handle_per_journal_while_it_is_used() {
        let dir = TempDir::new("shared");
        let path = dir.file();
        let a = open_shared(&path.display().to_string()).unwrap();
        let other = format!("{}/../sub/journal.sqlite3", path.parent().unwrap().display());
        let b = open_shared(&other).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same file, named two ways");
        let elsewhere = TempDir::new("shared-other");
        assert!(!Arc::ptr_eq(&a, &open_shared(&elsewhere.file().display().to_string()).unwrap()));
        let (weak, salt) = (Arc::downgrade(&a), a.salt().to_vec());
        drop((a, b));
        assert!(weak.upgrade().is_none(), "the registry does not keep it open");
        let again = open_shared(&path.display().to_string()).unwrap();
        assert_eq!(again.salt(), salt, "opened again: the same file");
    }

    #[test]
    fn journal_first_opens_at_once_all_succeed() {
        // Processes starting together on a file none has made yet (replicas on one volume, a test
        // run's children): each open waits its turn, none answers "database is locked".
        const THREADS: usize = 8;
        for round in 0..20 {
            let dir = TempDir::new("first-opens");
            let path = dir.file();
            let barrier = Arc::new(Barrier::new(THREADS));
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (barrier, path) = (barrier.clone(), path.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        SqliteJournal::open(&path).map(|j| j.salt().to_vec())
                    })
                })
                .collect();
            let salts: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
            for s in &salts {
                assert_eq!(s.as_ref().unwrap(), salts[0].as_ref().unwrap(), "round {round}: {s:?}");
            }
        }
    }

    fn journal_claim_race_has_one_winner(b: Backend) {
        const THREADS: usize = 6;
        let t = TestJournal::new(b, "claim-race");
        for round in 0..10 {
            let barrier = Arc::new(Barrier::new(THREADS));
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (barrier, spec) = (barrier.clone(), t.spec.clone());
                    std::thread::spawn(move || {
                        // Each thread its own handle: as separate processes would.
                        let j = open_journal(&spec).unwrap();
                        let req = Entry { task_id: None, request_fp: Some(format!("r{round}")), ..entry("k", "") };
                        barrier.wait();
                        j.claim(&req, 0, &[]).unwrap()
                    })
                })
                .collect();
            let got: Vec<Claim> = workers.into_iter().map(|w| w.join().unwrap()).collect();
            assert_eq!(got.iter().filter(|c| matches!(c, Claim::Won(_))).count(), 1, "round {round}: {got:?}");
            assert_eq!(got.iter().filter(|c| **c == Claim::Taken).count(), THREADS - 1);
        }
    }

    #[test]
    fn journal_migrates_a_version_1_file() {
        let dir = TempDir::new("migrate");
        std::fs::create_dir_all(dir.file().parent().unwrap()).unwrap();
        {
            // A file as version 1 left it, with a row.
            let raw = Connection::open(dir.file()).unwrap();
            raw.execute_batch(MIGRATIONS[0]).unwrap();
            raw.execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1); \
                 INSERT INTO meta (name, value) VALUES ('key_salt', x'0102');",
            )
            .unwrap();
            // Version 1's columns (no prompt_lc), with a prompt whose case the search must fold.
            raw.execute(
                "INSERT INTO tasks (task_id, key_fp, tool, endpoint, model, prompt, params, outputs, files, \
                 created_ms, updated_ms) VALUES ('old', 'k', 'generate_video', '/v1/text_to_video', 'gen4.5', \
                 'A Cat on a SKATEBOARD', '{}', '[]', '[]', 5, 5)",
                [],
            )
            .unwrap();
        }
        let j = SqliteJournal::open(dir.file()).unwrap();
        assert_eq!(j.salt(), [1, 2]);
        let version: i64 = j.with(|c| c.query_row("SELECT version FROM schema_version", [], |r| r.get(0))).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let index: i64 = j
            .with(|c| c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_claims'", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(index, 1);
        assert_eq!(j.get("k", "old").unwrap().unwrap().prompt.as_deref(), Some("A Cat on a SKATEBOARD"));
        let fts: i64 = j
            .with(|c| c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'tasks_fts%'", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(fts, 0, "version 4 drops the trigram index and its triggers");
        assert_eq!(
            ids(&j.list("k", &Filter { text: Some("skateboard".into()), ..Default::default() }).unwrap()),
            ["old"]
        );
        assert!(matches!(
            j.claim(&Entry { request_fp: Some("new".into()), ..entry("k", "") }, 0, &[]).unwrap(),
            Claim::Won(_)
        ));
        drop(j);
        assert!(SqliteJournal::open(dir.file()).is_ok(), "opens again at the new version");
    }

    const CHILD_ENV: &str = "RUNWAY_JOURNAL_TEST_CHILD";

    /// Run by `journal_processes_share_one_journal` in child processes; does nothing on its own.
    #[test]
    #[ignore = "helper of journal_processes_share_one_journal"]
    fn journal_child_writer() {
        let Ok(spec) = std::env::var(CHILD_ENV) else { return };
        let (spec, tag) = spec.split_once('|').unwrap();
        let j = open_journal(spec).unwrap();
        let key = key_fingerprint(j.salt(), "shared key");
        write_rows(&*j, &key, tag, 300);
        finish_rows(&*j, &key, tag, 300);
        save_files(&*j, &key, tag, 300);
    }

    fn journal_processes_share_one_journal(b: Backend) {
        let (spec, _dir) = match b {
            // A file nobody opened yet: the children create it while this process does.
            Backend::Sqlite => {
                let dir = TempDir::new("processes");
                (dir.file().display().to_string(), Some(dir))
            }
            Backend::Postgres => (crate::test_pg::database("processes"), None),
        };
        let children: Vec<_> = ["p0", "p1", "p2"]
            .iter()
            .map(|tag| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "journal::tests::journal_child_writer", "--ignored", "--test-threads=1"])
                    .env(CHILD_ENV, format!("{spec}|{tag}"))
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let j = open_journal(&spec).unwrap();
        // Every process fingerprints the key with the salt it found: only if all found the same
        // salt are the children's rows visible here.
        let key = key_fingerprint(j.salt(), "shared key");
        write_rows(&*j, &key, "parent", 300);
        finish_rows(&*j, &key, "parent", 300);
        save_files(&*j, &key, "parent", 300);
        for mut c in children {
            assert!(c.wait().unwrap().success(), "a child writer failed");
        }
        assert_eq!(j.list(&key, &Filter { limit: Some(MAX_LIMIT), ..Default::default() }).unwrap().len(), MAX_LIMIT);
        assert_eq!(j.spent_since(&key, 0).unwrap(), 4.0 * (0..300).sum::<usize>() as f64);
        for tag in ["parent", "p0", "p1", "p2"] {
            check_rows(&*j, &key, tag, 300);
        }
    }
}
