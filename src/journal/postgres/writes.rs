//! The writes that read first, each in the caller's transaction under the advisory lock of what it
//! decides about, so that replicas racing on one task or request agree.

use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::conn::{pg_err, Conn, PgResult};
use super::rows::{get_row, ms, store};
use super::sql::{EXISTS_SQL, LEASE_SQL, SETTLE_SQL, UPDATE_TASK_SQL};
use crate::errors::Result;
use crate::journal::{distinct, merge, settled_row, Entry, Observed};

/// `settle`'s writes, in the caller's transaction.
pub(super) async fn settle_tx(
    c: &Conn,
    key_fp: &str,
    claim_key: &str,
    id: i64,
    outcome: Option<Entry>,
    now: u64,
) -> Result<()> {
    let delete = || async {
        c.execute(
            "DELETE FROM runway_journal.tasks WHERE id = $1 AND key_fp IN ($2, $3) AND task_id IS NULL",
            &[&id, &key_fp, &claim_key],
        )
        .await
        .map_err(pg_err)
    };
    let Some(e) = outcome else { return delete().await.map(drop) };
    let full = settled_row(key_fp, &e, now);
    let known = match &e.task_id {
        Some(t) => {
            c.lock(&["task", key_fp, t]).await?;
            c.exists(EXISTS_SQL, &[&key_fp, t]).await.map_err(pg_err)?
        }
        None => false,
    };
    if known {
        delete().await?;
        return record_tx(c, &full, now).await.map(drop);
    }
    let n = c
        .execute(
            &SETTLE_SQL,
            &[
                &e.task_id,
                &e.status,
                &e.estimated_cost,
                &e.failure,
                &e.failure_code,
                &e.note,
                &ms(now),
                &id,
                &key_fp,
                &claim_key,
                &e.model,
            ],
        )
        .await
        .map_err(pg_err)?;
    if n == 0 {
        record_tx(c, &full, now).await?;
    }
    Ok(())
}

/// `lease`'s writes, in the caller's transaction (or on their own): the ids `owner` holds now.
pub(super) async fn lease_tx(
    c: &Conn,
    key_fp: &str,
    task_ids: &[String],
    owner: &str,
    ttl_ms: u64,
) -> Result<Vec<String>> {
    // One statement for all; an upsert may not touch a row twice, hence distinct ids.
    let ids = distinct(task_ids);
    let rows = c.query(&LEASE_SQL, &[&key_fp, &ids, &owner, &ms(ttl_ms)]).await.map_err(pg_err)?;
    let held: std::collections::HashSet<String> =
        rows.iter().map(|r| r.try_get(0)).collect::<PgResult<_>>().map_err(pg_err)?;
    Ok(ids.into_iter().filter(|id| held.contains(*id)).cloned().collect())
}

/// One task's `observe`, in the caller's transaction: whether its row exists.
pub(super) async fn observe_tx(c: &Conn, key_fp: &str, o: &Observed, now: i64) -> Result<bool> {
    let mut found = false;
    if let Some(t) = &o.look {
        let outputs = (!t.output.is_empty()).then(|| Value::from(t.output.clone()).to_string());
        let args: [&(dyn ToSql + Sync); 10] = [
            &t.status,
            &t.progress,
            &outputs,
            &t.estimated_cost,
            &t.cost,
            &t.failure,
            &t.failure_code,
            &now,
            &key_fp,
            &o.task_id,
        ];
        found = c.execute(&UPDATE_TASK_SQL, &args).await.map_err(pg_err)? > 0;
    }
    if let Some(files) = &o.files {
        let sql = "UPDATE runway_journal.tasks SET files = $1, updated_ms = $2 WHERE key_fp = $3 AND task_id = $4";
        found |= c.execute(sql, &[&files.to_string(), &now, &key_fp, &o.task_id]).await.map_err(pg_err)? > 0;
    }
    if !found {
        found = c.exists(EXISTS_SQL, &[&key_fp, &o.task_id]).await.map_err(pg_err)?;
    }
    Ok(found)
}

/// `record` of a checked entry with its times filled, in a transaction.
pub(super) async fn record_tx(c: &Conn, new: &Entry, now: u64) -> Result<i64> {
    if let Some(task_id) = &new.task_id {
        // Two replicas recording the same task: the second waits, then merges into the first's row.
        c.lock(&["task", &new.key_fp, task_id]).await?;
        if let Some(mut old) = get_row(c, &new.key_fp, task_id).await? {
            merge(&mut old, new, now);
            return store(c, &old, Some(old.id)).await;
        }
    }
    store(c, new, None).await
}
