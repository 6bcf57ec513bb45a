//! The statements the backend runs, each written to use its index, and the query `list` builds from
//! its filter.

use std::sync::LazyLock;

use rusqlite::types::Value as SqlValue;

use super::rows::ms;
use crate::journal::{insert_sql, update_sql, Filter, COLUMNS, DEFAULT_LIMIT, MAX_LIMIT};

pub(super) const TERMINAL_SQL: &str = "('SUCCEEDED', 'FAILED', 'CANCELLED')";
pub(super) const IN_FLIGHT_SQL: &str = "(status IS NULL OR status IN ('PENDING', 'THROTTLED', 'RUNNING'))";
/// Not finished; the expression of the `tasks_live` index.
pub(super) const LIVE_SQL: &str = "(status IS NULL OR status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))";
/// Succeeded, outputs not saved yet; the expression of the `tasks_unsaved` index.
pub(super) const UNSAVED_SQL: &str = "status = 'SUCCEEDED' AND files = '[]'";

pub(in crate::journal) static INSERT_SQL: LazyLock<String> = LazyLock::new(|| insert_sql("tasks", '?'));
pub(in crate::journal) static UPDATE_SQL: LazyLock<String> = LazyLock::new(|| update_sql("tasks", '?'));

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

/// A claim becomes what Runway's answer made of it; the request's description is already there,
/// but for the model a router chose (?11; empty keeps the row's).
pub(super) static SETTLE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET key_fp = ?9, task_id = ?1, status = ?2, estimated_cost = COALESCE(?3, estimated_cost), \
         model = COALESCE(NULLIF(?11, ''), model), \
         failure = ?4, failure_code = ?5, note = ?6, updated_ms = ?7, \
         finished_ms = CASE WHEN ?2 IN {TERMINAL_SQL} THEN ?7 END \
         WHERE id = ?8 AND key_fp IN (?9, ?10) AND task_id IS NULL"
    )
});

pub(in crate::journal) static FIND_IN_FLIGHT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND request_fp = ?2 AND task_id IS NOT NULL AND \
         {IN_FLIGHT_SQL} ORDER BY created_ms DESC, id DESC LIMIT 1"
    )
});

// Two disjoint halves, each on its partial index, merged in order. SQLite prefers tasks_by_status
// (key and status) to tasks_unsaved whatever the statistics say, hence INDEXED BY.
pub(in crate::journal) static UNFINISHED_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM tasks WHERE key_fp = ?1 AND task_id IS NOT NULL AND {LIVE_SQL} \
         UNION ALL \
         SELECT {COLUMNS} FROM tasks INDEXED BY tasks_unsaved \
         WHERE key_fp = ?1 AND task_id IS NOT NULL AND {UNSAVED_SQL} AND outputs <> '[]' \
         ORDER BY created_ms DESC, id DESC LIMIT ?2"
    )
});

pub(super) const LEASE_SQL: &str = "INSERT INTO leases (key_fp, task_id, owner, expires_ms) VALUES (?1, ?2, ?3, ?5) \
     ON CONFLICT (key_fp, task_id) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms \
     WHERE leases.owner = excluded.owner OR leases.expires_ms <= ?4";

/// The SQL and arguments of `list`.
pub(in crate::journal) fn list_query(key_fp: &str, f: &Filter) -> (String, Vec<SqlValue>) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn status_sql_names_the_task_states() {
        crate::journal::rows::assert_state_sql(super::TERMINAL_SQL, super::IN_FLIGHT_SQL, super::LIVE_SQL);
    }
}
