//! A journal entry to and from a row of `runway_journal.tasks`.

use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::conn::{pg_err, Conn};
use super::sql::{GET_SQL, INSERT_SQL, UPDATE_SQL};
use crate::errors::{Error, Result};
use crate::journal::Entry;

pub(super) fn ms(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

fn json_col(r: &Row, i: usize) -> Result<Value> {
    let s: String = r.try_get(i).map_err(pg_err)?;
    serde_json::from_str(&s).map_err(|e| Error::Journal(format!("task journal: column {i} is not JSON: {e}")))
}

pub(super) fn from_row(r: &Row) -> Result<Entry> {
    let g = |e| pg_err(e);
    let when = |i: usize| -> Result<u64> { Ok(r.try_get::<_, i64>(i).map_err(g)?.max(0) as u64) };
    Ok(Entry {
        id: r.try_get(0).map_err(g)?,
        task_id: r.try_get(1).map_err(g)?,
        key_fp: r.try_get(2).map_err(g)?,
        tool: r.try_get(3).map_err(g)?,
        endpoint: r.try_get(4).map_err(g)?,
        model: r.try_get(5).map_err(g)?,
        prompt: r.try_get(6).map_err(g)?,
        params: json_col(r, 7)?,
        request_fp: r.try_get(8).map_err(g)?,
        estimated_cost: r.try_get(9).map_err(g)?,
        status: r.try_get(10).map_err(g)?,
        progress: r.try_get(11).map_err(g)?,
        outputs: json_col(r, 12)?,
        files: json_col(r, 13)?,
        cost: r.try_get(14).map_err(g)?,
        failure: r.try_get(15).map_err(g)?,
        failure_code: r.try_get(16).map_err(g)?,
        note: r.try_get(17).map_err(g)?,
        created_ms: when(18)?,
        updated_ms: when(19)?,
        finished_ms: r.try_get::<_, Option<i64>>(20).map_err(g)?.map(|t| t.max(0) as u64),
    })
}

/// Inserts `e` (id None) or rewrites row `id` with it; returns the row id.
pub(super) async fn store(c: &Conn, e: &Entry, id: Option<i64>) -> Result<i64> {
    let (params_json, outputs, files) = (e.params.to_string(), e.outputs.to_string(), e.files.to_string());
    let prompt_lc = e.prompt.as_deref().map(str::to_lowercase);
    let (created, updated, finished) = (ms(e.created_ms), ms(e.updated_ms), e.finished_ms.map(ms));
    let mut values: Vec<&(dyn ToSql + Sync)> = vec![
        &e.task_id,
        &e.key_fp,
        &e.tool,
        &e.endpoint,
        &e.model,
        &e.prompt,
        &params_json,
        &e.request_fp,
        &e.estimated_cost,
        &e.status,
        &e.progress,
        &outputs,
        &files,
        &e.cost,
        &e.failure,
        &e.failure_code,
        &e.note,
        &created,
        &updated,
        &finished,
        &prompt_lc,
    ];
    match id {
        None => {
            let rows = c.query(&INSERT_SQL, &values).await.map_err(pg_err)?;
            rows[0].try_get(0).map_err(pg_err)
        }
        Some(id) => {
            values.push(&id);
            c.execute(&UPDATE_SQL, &values).await.map_err(pg_err)?;
            Ok(id)
        }
    }
}

pub(super) async fn get_row(c: &Conn, key_fp: &str, task_id: &str) -> Result<Option<Entry>> {
    Ok(c.entries(&GET_SQL, &[&key_fp, &task_id]).await?.pop())
}
