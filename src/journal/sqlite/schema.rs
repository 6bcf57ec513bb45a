//! The file's schema: its migrations, and making a new or older file ready on open (pragmas,
//! migrated, stale claims swept, the salt read or made).

use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, TransactionBehavior};

use super::rows::ms;
use super::SqliteJournal;
use crate::journal::{new_salt, CLAIM_STALE_MS, PATH_ENV, STALE_CLAIM_NOTE};
use crate::util::now_unix_ms;

pub(in crate::journal) const SCHEMA_VERSION: i64 = 4;

/// Migrations; the one at index i takes the schema from version i to i + 1. Never edit a released
/// one: add the next.
pub(in crate::journal) const MIGRATIONS: [&str; 4] = [
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

pub(super) const STALE_SWEEP_SQL: &str =
    "UPDATE tasks SET key_fp = substr(key_fp, 7), status = NULL, note = ?1, updated_ms = ?2 \
     WHERE status = 'SUBMITTING' AND created_ms < ?3 AND key_fp LIKE 'claim:%'";

impl SqliteJournal {
    /// Pragmas, the schema and the salt; the error is a message for `open` to put the path on.
    pub(in crate::journal) fn prepare(conn: &mut Connection) -> std::result::Result<Vec<u8>, String> {
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
}
