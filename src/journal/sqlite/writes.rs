//! The writes that read first, each in the caller's transaction (begun IMMEDIATE, so what they read
//! stays true until they write), and a group commit's writes made ready to run.

use rusqlite::{params, Connection};
use serde_json::Value;

use super::rows::{get_tx, ms, store};
use super::sql::{CLAIM_SQL, LEASE_SQL, SETTLE_SQL, UPDATE_TASK_SQL};
use super::SqliteJournal;
use crate::errors::Result;
use crate::journal::{
    check_array, claim_row, distinct, merge, settled_row, stale_to_ambiguous, Claim, Entry, Observed, Write, Written,
    CLAIM_KEY_PREFIX, STALE_CLAIM_NOTE,
};

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
        claim_key,
        e.model
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
    pub(super) fn of(w: &'a Write) -> Result<Ready<'a>> {
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

    pub(super) fn run(&self, tx: &Connection, now: u64) -> rusqlite::Result<Written> {
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
