//! The SQLite backend: one file shared by every server process on the machine (WAL, a busy
//! timeout, write transactions begun IMMEDIATE). This file is the handle and its `Journal` calls;
//! `schema` opens and migrates the file, `sql` holds the statements, `rows` maps an entry to a row
//! and back, `writes` the writes that read first. The row logic both backends share is
//! `journal/rows.rs`.

mod rows;
mod schema;
mod sql;
mod writes;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection};

use super::*;
use rows::{from_row, get_tx, ms};
use sql::CLAIM_SQL;
use writes::{lease_tx, observe_tx, record_tx, Ready};

// What journal/tests.rs reaches through `sqlite::*`.
pub(super) use sql::{list_query, FIND_IN_FLIGHT_SQL, UNFINISHED_SQL};
#[cfg(test)]
pub(super) use {
    rows::store,
    schema::{MIGRATIONS, SCHEMA_VERSION},
    sql::{INSERT_SQL, UPDATE_SQL},
};

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
