//! The row logic and SQL both backends share, so that they store the same rows: the column list
//! and the INSERT and UPDATE made from it, an entry made ready to record, a claim's row, a settled
//! row, a second record merged into the first, and what a stale claim becomes.

use serde_json::Value;

use super::{Entry, STALE_CLAIM_NOTE, SUBMITTING};
use crate::errors::{Error, Result};
use crate::tasks::is_final;
use crate::util::now_unix_ms;

pub(crate) const COLUMNS: &str =
    "id, task_id, key_fp, tool, endpoint, model, prompt, params, request_fp, estimated_cost, \
     status, progress, outputs, files, cost, failure, failure_code, note, created_ms, updated_ms, finished_ms";

/// A claim is filed under this prefix and its key fingerprint, so that every read scoped to a key
/// misses it without a word of its SQL changing (nor its query plan).
pub(crate) const CLAIM_KEY_PREFIX: &str = "claim:";

/// A row's INSERT and UPDATE by id, for both backends: every column of COLUMNS but `id`, then
/// `prompt_lc`, as numbered parameters with the backend's mark (`?` SQLite, `$` PostgreSQL); the
/// UPDATE's last parameter is the id. One list, so the two backends cannot drift apart.
pub(crate) fn insert_sql(table: &str, mark: char) -> String {
    let cols: Vec<&str> = row_columns().collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("{mark}{i}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", cols.join(", "), marks.join(", "))
}

pub(crate) fn update_sql(table: &str, mark: char) -> String {
    let sets: Vec<String> = row_columns().enumerate().map(|(i, c)| format!("{c} = {mark}{}", i + 1)).collect();
    format!("UPDATE {table} SET {} WHERE id = {mark}{}", sets.join(", "), sets.len() + 1)
}

fn row_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS["id, ".len()..].split(", ").chain(["prompt_lc"])
}

pub(crate) fn new_salt() -> Vec<u8> {
    // fastrand seeds from std's RandomState, which the OS seeds; the salt only has to differ between
    // journal files, it guards nothing secret by itself.
    (0..32).map(|_| fastrand::u8(..)).collect()
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
    if e.is_terminal() && !s.status.is_some_and(is_final) {
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

/// Each id once, in the order given (what `lease` answers in).
pub(crate) fn distinct(ids: &[String]) -> Vec<&String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).collect()
}

/// Holds a backend's status SQL to the one list of states (`crate::tasks`): the SQL stays
/// literal text, since the live-tasks expression must read exactly as the index it uses.
#[cfg(test)]
pub(crate) fn assert_state_sql(terminal: &str, in_flight: &str, live: &str) {
    use crate::tasks::{FINAL_STATES, STATES};
    let list =
        |states: &[&str]| format!("({})", states.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "));
    let running: Vec<&str> = STATES.iter().copied().filter(|s| !FINAL_STATES.contains(s)).collect();
    assert_eq!(terminal, list(&FINAL_STATES));
    assert_eq!(in_flight, format!("(status IS NULL OR status IN {})", list(&running)));
    assert_eq!(live, format!("(status IS NULL OR status NOT IN {})", list(&FINAL_STATES)));
}
