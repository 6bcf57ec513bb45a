//! The statements the backend runs, in PostgreSQL's words, and the query `list` builds from its
//! filter.

use super::rows::ms;
use crate::journal::{Filter, COLUMNS, DEFAULT_LIMIT, MAX_LIMIT};

pub(super) const TERMINAL_SQL: &str = "('SUCCEEDED', 'FAILED', 'CANCELLED')";
pub(super) const IN_FLIGHT_SQL: &str = "(status IS NULL OR status IN ('PENDING', 'THROTTLED', 'RUNNING'))";
pub(super) const LIVE_SQL: &str = "(status IS NULL OR status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))";
/// The database server's clock in Unix milliseconds.
pub(super) const NOW_MS_SQL: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

pub(super) static INSERT_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::journal::insert_sql("runway_journal.tasks", '$') + " RETURNING id");
pub(super) static UPDATE_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::journal::update_sql("runway_journal.tasks", '$'));

pub(super) static GET_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp = $1 AND task_id = $2")
});

pub(super) const EXISTS_SQL: &str = "SELECT 1 FROM runway_journal.tasks WHERE key_fp = $1 AND task_id = $2";

/// See `UPDATE_TASK_SQL` in sqlite/sql.rs: the same statement in PostgreSQL's words.
pub(super) static UPDATE_TASK_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE runway_journal.tasks SET status = COALESCE($1::text, status), \
         progress = COALESCE($2::float8, progress), outputs = COALESCE($3::text, outputs), \
         estimated_cost = COALESCE($4::float8, estimated_cost), cost = COALESCE($5::float8, cost), \
         failure = COALESCE($6::text, failure), failure_code = COALESCE($7::text, failure_code), updated_ms = $8::bigint, \
         finished_ms = CASE WHEN COALESCE($1::text, status) IN {TERMINAL_SQL} THEN COALESCE(finished_ms, $8::bigint) \
                       ELSE finished_ms END \
         WHERE key_fp = $9::text AND task_id = $10::text \
         AND (status IS NULL OR status NOT IN {TERMINAL_SQL} OR $1::text IN {TERMINAL_SQL}) \
         AND (status IS DISTINCT FROM COALESCE($1::text, status) OR progress IS DISTINCT FROM COALESCE($2::float8, progress) \
              OR outputs IS DISTINCT FROM COALESCE($3::text, outputs) \
              OR estimated_cost IS DISTINCT FROM COALESCE($4::float8, estimated_cost) \
              OR cost IS DISTINCT FROM COALESCE($5::float8, cost) OR failure IS DISTINCT FROM COALESCE($6::text, failure) \
              OR failure_code IS DISTINCT FROM COALESCE($7::text, failure_code))"
    )
});

pub(super) static CLAIM_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp IN ($1, $3) AND request_fp = $2 AND \
         ((task_id IS NOT NULL AND {IN_FLIGHT_SQL}) OR (task_id IS NULL AND (status = 'SUBMITTING' OR status IS NULL))) \
         ORDER BY created_ms DESC, id DESC"
    )
});

pub(super) static SETTLE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE runway_journal.tasks SET key_fp = $9::text, task_id = $1::text, status = $2::text, \
         estimated_cost = COALESCE($3::float8, estimated_cost), failure = $4::text, failure_code = $5::text, \
         model = COALESCE(NULLIF($11::text, ''), model), \
         note = $6::text, updated_ms = $7::bigint, \
         finished_ms = CASE WHEN $2::text IN {TERMINAL_SQL} THEN $7::bigint END \
         WHERE id = $8::bigint AND key_fp IN ($9::text, $10::text) AND task_id IS NULL"
    )
});

pub(super) static FIND_IN_FLIGHT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp = $1 AND request_fp = $2 AND task_id IS NOT NULL \
         AND {IN_FLIGHT_SQL} ORDER BY created_ms DESC, id DESC LIMIT 1"
    )
});

pub(super) static UNFINISHED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT * FROM (\
         (SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp = $1 AND task_id IS NOT NULL AND {LIVE_SQL} \
          ORDER BY created_ms DESC, id DESC LIMIT $2) \
         UNION ALL \
         (SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp = $1 AND task_id IS NOT NULL \
          AND status = 'SUCCEEDED' AND files = '[]' AND outputs <> '[]' ORDER BY created_ms DESC, id DESC LIMIT $2)\
         ) AS u ORDER BY created_ms DESC, id DESC LIMIT $2"
    )
});

/// Free, expired or the owner's own: taken; another's: left alone (no row). Timed by the server's clock.
pub(super) static LEASE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO runway_journal.leases AS l (key_fp, task_id, owner, expires_ms) \
         SELECT $1, t, $3, {NOW_MS_SQL} + $4::bigint FROM unnest($2::text[]) AS t \
         ON CONFLICT (key_fp, task_id) DO UPDATE SET owner = EXCLUDED.owner, expires_ms = EXCLUDED.expires_ms \
         WHERE l.owner = EXCLUDED.owner OR l.expires_ms <= {NOW_MS_SQL} \
         RETURNING l.task_id"
    )
});

/// Escapes `%`, `_` and the escape character itself for a LIKE pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A `list` argument.
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

/// The SQL and arguments of `list` (the same filters as SQLite's `list_query`).
pub(super) fn list_query(key_fp: &str, f: &Filter) -> (String, Vec<Arg>) {
    let mut sql = format!("SELECT {COLUMNS} FROM runway_journal.tasks WHERE key_fp = $1");
    let mut args = vec![Arg::Text(key_fp.to_string())];
    let mut push = |sql: &mut String, clause: &str, a: Arg| {
        args.push(a);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    let given = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(status) = given(&f.status) {
        match status.to_ascii_lowercase().as_str() {
            "running" => sql.push_str(&format!(" AND task_id IS NOT NULL AND {LIVE_SQL}")),
            "finished" => sql.push_str(&format!(" AND status IN {TERMINAL_SQL}")),
            "ambiguous" => sql.push_str(" AND task_id IS NULL"),
            _ => push(&mut sql, " AND status = ?", Arg::Text(status.to_ascii_uppercase())),
        }
    }
    if let Some(tool) = given(&f.tool) {
        push(&mut sql, " AND tool = ?", Arg::Text(tool));
    }
    if let Some(model) = given(&f.model) {
        push(&mut sql, " AND model = ?", Arg::Text(model));
    }
    if let Some(since) = f.since_ms {
        push(&mut sql, " AND created_ms >= ?", Arg::Int(ms(since)));
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        // Case folded by the writer (prompt_lc) and here, both with Rust's Unicode rules.
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        push(&mut sql, " AND prompt_lc LIKE ? ESCAPE '\\'", Arg::Text(pattern));
    }
    let limit = f.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as i64;
    push(&mut sql, " ORDER BY created_ms DESC, id DESC LIMIT ?", Arg::Int(limit));
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like_escape(r"100%_a\b"), r"100\%\_a\\b");
    }

    #[test]
    fn status_sql_names_the_task_states() {
        crate::journal::rows::assert_state_sql(TERMINAL_SQL, IN_FLIGHT_SQL, LIVE_SQL);
    }
}
