//! The SQLite backend: one file shared by every server process on the machine (WAL, a busy
//! timeout, write transactions begun IMMEDIATE), its schema, migrations and queries. The row logic
//! both backends share is `rows.rs`.

use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Type, Value as SqlValue};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::*;

pub(super) const SCHEMA_VERSION: i64 = 4;

/// Migrations; the one at index i takes the schema from version i to i + 1. Never edit a released
/// one: add the next.
pub(super) const MIGRATIONS: [&str; 4] = [
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

pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) const TERMINAL_SQL: &str = "('SUCCEEDED', 'FAILED', 'CANCELLED')";
pub(super) const IN_FLIGHT_SQL: &str = "(status IS NULL OR status IN ('PENDING', 'THROTTLED', 'RUNNING'))";
/// Not finished; the expression of the `tasks_live` index.
pub(super) const LIVE_SQL: &str = "(status IS NULL OR status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))";
/// Succeeded, outputs not saved yet; the expression of the `tasks_unsaved` index.
pub(super) const UNSAVED_SQL: &str = "status = 'SUCCEEDED' AND files = '[]'";

pub(super) const STALE_SWEEP_SQL: &str =
    "UPDATE tasks SET key_fp = substr(key_fp, 7), status = NULL, note = ?1, updated_ms = ?2 \
     WHERE status = 'SUBMITTING' AND created_ms < ?3 AND key_fp LIKE 'claim:%'";

pub(super) static INSERT_SQL: LazyLock<String> = LazyLock::new(|| insert_sql("tasks", '?'));
pub(super) static UPDATE_SQL: LazyLock<String> = LazyLock::new(|| update_sql("tasks", '?'));

/// The journal in one SQLite file, shared by every process that opens it.
pub struct SqliteJournal {
    // One connection per handle: SQLite serializes writers anyway, and reads are short.
    conn: Mutex<Connection>,
    path: PathBuf,
    salt: Vec<u8>,
}

pub(super) fn db_err(e: rusqlite::Error) -> Error {
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
    pub(super) fn prepare(conn: &mut Connection) -> std::result::Result<Vec<u8>, String> {
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

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
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
    pub(super) fn write<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
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

    pub(super) fn query(conn: &Connection, sql: &str, args: &[SqlValue]) -> rusqlite::Result<Vec<Entry>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
        rows.collect()
    }
}

#[cfg(unix)]
pub(super) fn restrict_to_owner(path: &Path) {
    // Prompts and spending are the user's business; SQLite gives -wal and -shm the same mode.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
pub(super) fn restrict_to_owner(_path: &Path) {}

/// SQLite integers are signed; Unix milliseconds stay far below the limit.
pub(super) fn ms(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

pub(super) fn json_col(r: &Row, i: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

pub(super) fn from_row(r: &Row) -> rusqlite::Result<Entry> {
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
pub(super) fn store(tx: &Connection, e: &Entry, id: Option<i64>) -> rusqlite::Result<i64> {
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

pub(super) fn get_tx(conn: &Connection, key_fp: &str, task_id: &str) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND task_id = ?2"))?
        .query_row([key_fp, task_id], from_row)
        .optional()
}

/// The SQL and arguments of `list`.
pub(super) fn list_query(key_fp: &str, f: &Filter) -> (String, Vec<SqlValue>) {
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
pub(super) fn record_tx(tx: &Connection, new: &Entry, now: u64) -> rusqlite::Result<i64> {
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
pub(super) static UPDATE_TASK_SQL: LazyLock<String> = LazyLock::new(|| {
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
pub(super) static CLAIM_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp IN (?1, ?3) AND request_fp = ?2 AND \
         ((task_id IS NOT NULL AND {IN_FLIGHT_SQL}) OR (task_id IS NULL AND (status = 'SUBMITTING' OR status IS NULL))) \
         ORDER BY created_ms DESC, id DESC"
    )
});

/// A claim becomes what Runway's answer made of it; the request's description is already there.
pub(super) static SETTLE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET key_fp = ?9, task_id = ?1, status = ?2, estimated_cost = COALESCE(?3, estimated_cost), \
         failure = ?4, failure_code = ?5, note = ?6, updated_ms = ?7, \
         finished_ms = CASE WHEN ?2 IN {TERMINAL_SQL} THEN ?7 END \
         WHERE id = ?8 AND key_fp IN (?9, ?10) AND task_id IS NULL"
    )
});

pub(super) static FIND_IN_FLIGHT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND request_fp = ?2 AND task_id IS NOT NULL AND \
         {IN_FLIGHT_SQL} ORDER BY created_ms DESC, id DESC LIMIT 1"
    )
});

// Two disjoint halves, each on its partial index, merged in order. SQLite prefers tasks_by_status
// (key and status) to tasks_unsaved whatever the statistics say, hence INDEXED BY.
pub(super) static UNFINISHED_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND task_id IS NOT NULL AND {LIVE_SQL} \
         UNION ALL \
         SELECT {COLUMNS} FROM tasks INDEXED BY tasks_unsaved \
         WHERE key_fp = ?1 AND task_id IS NOT NULL AND {UNSAVED_SQL} AND outputs <> '[]' \
         ORDER BY created_ms DESC, id DESC LIMIT ?2"
    )
});

/// `settle`'s writes, in the caller's transaction.
pub(super) fn settle_tx(
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

/// `lease`'s writes, in the caller's transaction: the ids `owner` holds now.
pub(super) fn lease_tx(
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
pub(super) fn observe_tx(tx: &Connection, key_fp: &str, o: &Observed, now: i64) -> rusqlite::Result<bool> {
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
pub(super) enum Ready<'a> {
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

pub(super) const LEASE_SQL: &str = "INSERT INTO leases (key_fp, task_id, owner, expires_ms) VALUES (?1, ?2, ?3, ?5) \
     ON CONFLICT (key_fp, task_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms \
     WHERE leases.owner = excluded.owner OR leases.expires_ms <= ?4";
