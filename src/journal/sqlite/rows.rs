//! A journal entry to and from a row of `tasks`.

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::sql::{INSERT_SQL, UPDATE_SQL};
use crate::journal::{Entry, COLUMNS};

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
pub(in crate::journal) fn store(tx: &Connection, e: &Entry, id: Option<i64>) -> rusqlite::Result<i64> {
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
