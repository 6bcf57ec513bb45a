//! The task journal in PostgreSQL, for several server replicas (on one or more machines) sharing one
//! journal: a task created through one replica is listed, awaited, reattached and saved through any
//! other. Same behaviour as `SqliteJournal`, method for method; the tests run one suite against both.
//!
//! Everything lives in the schema `runway_journal` (created and migrated on open, under an advisory
//! lock so that replicas starting together migrate once). The key-fingerprint salt is stored there
//! too, so every replica files a key's rows under the same fingerprint. Writes that read first run in
//! a transaction holding a transaction-level advisory lock on what they decide about (a request
//! fingerprint for `claim`, a task id for `record` and `settle`): two replicas racing on the same
//! request get exactly one winner. Leases are one `INSERT … ON CONFLICT DO UPDATE … WHERE`, timed by
//! the database server's clock, so replicas with skewed clocks still agree on expiry.
//!
//! Connection: `postgresql://user[:password]@host[:port]/db`, a pool of at most `POOL_SIZE`
//! connections per handle (one handle per process), each reconnected when lost. TLS as the URL's `sslmode` and `sslrootcert` say
//! (journal_pg_tls). The password never appears in errors.
//!
//! The `Journal` trait is synchronous; each handle owns a one-thread tokio runtime that drives its
//! connections, and every call waits for its future on a channel, so it may be called from any
//! thread (blocking threads in the client, plain threads and async tests alike).
//!
//! This file is the handle (runtime, pool) and its `Journal` calls; `url` the connection URL and
//! password, `conn` one connection, `schema` the migrations, `sql` the statements, `rows` an entry
//! to and from a row, `writes` the writes that read first. TLS is `journal/tls.rs`.

mod channel;
mod conn;
mod rows;
mod schema;
mod sql;
mod url;
mod writes;

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio_postgres::types::ToSql;
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::errors::{Error, Result};
use crate::journal::{
    check_array, claim_row, entry_to_record, Claim, Entry, Filter, Journal, LeaseTo, Observed, CLAIM_KEY_PREFIX,
    STALE_CLAIM_NOTE,
};
use crate::util::now_unix_ms;
pub use channel::{Listener, PgChannel, MAX_PAYLOAD};
use conn::{pg_err, Conn};
use rows::{get_row, ms, store};
use schema::prepare;
use sql::{list_query, Arg, CLAIM_SQL, FIND_IN_FLIGHT_SQL, UNFINISHED_SQL};
use url::configure;
pub use url::is_pg_url;
use writes::{lease_tx, observe_tx, record_tx, settle_tx};

/// Connections one journal handle (one process: see `journal::open_shared`) holds at most.
pub const POOL_SIZE: usize = 4;

/// The journal in a PostgreSQL database, shared by every replica that opens it.
pub struct PgJournal {
    /// Some until dropped (taken out to shut it down without blocking).
    rt: Option<tokio::runtime::Runtime>,
    config: Config,
    tls: MakeRustlsConnect,
    /// The pool: up to `POOL_SIZE` connections, each made when first needed and remade when lost.
    conns: Vec<Mutex<Option<Arc<Conn>>>>,
    next: std::sync::atomic::AtomicUsize,
    target: String,
    salt: Vec<u8>,
}

impl std::fmt::Debug for PgJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgJournal").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Drop for PgJournal {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed on an async thread: let it go in the background.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PgJournal {
    /// Connects to the database at `url`, creates or migrates the journal's schema, and reads (or
    /// makes) the shared salt. Refuses a schema written by a newer version.
    pub fn open(url: &str) -> Result<PgJournal> {
        let (config, tls, target) = configure(url)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("runway-journal-pg")
            .enable_all()
            .build()
            .map_err(|e| Error::Journal(format!("task journal {target}: {e}")))?;
        let mut j = PgJournal {
            rt: Some(rt),
            config,
            tls,
            conns: (0..POOL_SIZE).map(|_| Mutex::new(None)).collect(),
            next: Default::default(),
            target,
            salt: Vec::new(),
        };
        j.salt = j.run(|c| async move { c.in_tx(prepare(&c)).await }).map_err(|e| j.context(e))?;
        Ok(j)
    }

    /// Where this journal lives, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn context(&self, e: Error) -> Error {
        let message = e.to_string();
        if message.contains(&format!("({})", self.target)) {
            return e; // already named (a failed connect inside a failed open)
        }
        Error::Journal(format!("{message} ({})", self.target))
    }

    /// Waits for `fut` on this journal's runtime.
    fn block<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let rt = self.rt.as_ref().expect("runtime present until drop");
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| Error::Journal("task journal: the PostgreSQL worker stopped".into()))
    }

    /// Runs `f` on one of the pool's connections (connecting first if it has none or it was lost).
    fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        // A free connection if there is one, else wait for one (round robin): a call holds its
        // connection to the end, so that a transaction never interleaves with another's statements.
        let n = self.conns.len();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| match self.conns[(start + i) % n].try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        let mut slot = free.unwrap_or_else(|| self.conns[start].lock().unwrap_or_else(|p| p.into_inner()));
        let conn = match slot.as_ref() {
            Some(c) if !c.client.is_closed() => c.clone(),
            _ => {
                let c = Arc::new(
                    self.block(Conn::connect(self.config.clone(), self.tls.clone()))?
                        .map_err(|e| self.context(pg_err(e)))?,
                );
                *slot = Some(c.clone());
                c
            }
        };
        self.block(f(conn))?
    }

    /// Runs SQL as the tests need (`search_path` set to the journal's schema).
    #[doc(hidden)]
    pub fn exec_for_tests(&self, sql: &str) -> Result<i64> {
        let sql = sql.to_string();
        self.run(move |c| async move {
            c.in_tx(async {
                c.client.batch_execute("SET LOCAL search_path TO runway_journal").await.map_err(pg_err)?;
                let rows = c.client.query(&sql, &[]).await.map_err(pg_err)?;
                Ok(rows.first().and_then(|r| r.try_get::<_, i64>(0).ok()).unwrap_or(0))
            })
            .await
        })
    }
}

impl Journal for PgJournal {
    fn record(&self, e: &Entry) -> Result<i64> {
        let (new, now) = entry_to_record(e)?;
        self.run(move |c| async move { c.in_tx(record_tx(&c, &new, now)).await })
    }

    fn observe(&self, key_fp: &str, batch: &[Observed]) -> Result<Vec<bool>> {
        for f in batch.iter().filter_map(|o| o.files.as_ref()) {
            check_array("files", f)?;
        }
        let (key_fp, batch, now) = (key_fp.to_string(), batch.to_vec(), ms(now_unix_ms()));
        self.run(move |c| async move {
            c.in_tx(async {
                let mut found = Vec::with_capacity(batch.len());
                for o in &batch {
                    found.push(observe_tx(&c, &key_fp, o, now).await?);
                }
                Ok(found)
            })
            .await
        })
    }

    fn get(&self, key_fp: &str, task_id: &str) -> Result<Option<Entry>> {
        let (key_fp, task_id) = (key_fp.to_string(), task_id.to_string());
        self.run(move |c| async move { get_row(&c, &key_fp, &task_id).await })
    }

    fn list(&self, key_fp: &str, f: &Filter) -> Result<Vec<Entry>> {
        let (sql, args) = list_query(key_fp, f);
        self.run(move |c| async move {
            let params: Vec<&(dyn ToSql + Sync)> = args
                .iter()
                .map(|a| match a {
                    Arg::Text(s) => s as &(dyn ToSql + Sync),
                    Arg::Int(i) => i as &(dyn ToSql + Sync),
                })
                .collect();
            c.entries(&sql, &params).await
        })
    }

    fn find_in_flight(&self, key_fp: &str, request_fp: &str) -> Result<Option<Entry>> {
        let (key_fp, request_fp) = (key_fp.to_string(), request_fp.to_string());
        self.run(move |c| async move { Ok(c.entries(&FIND_IN_FLIGHT_SQL, &[&key_fp, &request_fp]).await?.pop()) })
    }

    fn find_ambiguous(&self, key_fp: &str, request_fp: &str, stale_before_ms: u64) -> Result<Option<Entry>> {
        let claim_key = format!("{CLAIM_KEY_PREFIX}{key_fp}");
        let (key_fp, request_fp) = (key_fp.to_string(), request_fp.to_string());
        self.run(move |c| async move {
            let rows = c.entries(&CLAIM_SQL, &[&key_fp, &request_fp, &claim_key]).await?;
            Ok(crate::journal::first_ambiguous(rows, &key_fp, stale_before_ms))
        })
    }

    fn claim(&self, e: &Entry, stale_before_ms: u64, skip: &[String]) -> Result<Claim> {
        let (claim, request_fp, now) = claim_row(e)?;
        let claim_key = claim.key_fp.clone();
        let (key_fp, skip) = (e.key_fp.clone(), skip.to_vec());
        self.run(move |c| async move {
            c.in_tx(async {
                // Replicas claiming the same request take turns: the second sees the first's claim.
                c.lock(&["claim", &key_fp, &request_fp]).await?;
                for row in c.entries(&CLAIM_SQL, &[&key_fp, &request_fp, &claim_key]).await? {
                    match &row.task_id {
                        Some(id) if skip.contains(id) => continue,
                        Some(_) => return Ok(Claim::InFlight(Box::new(row))),
                        None if row.status.is_none() => return Ok(Claim::Ambiguous(Box::new(row))),
                        None if row.created_ms >= stale_before_ms => return Ok(Claim::Taken),
                        None => {
                            c.execute(
                                "UPDATE runway_journal.tasks SET key_fp = $1, status = NULL, note = $2, \
                                 updated_ms = $3 WHERE id = $4",
                                &[&key_fp, &STALE_CLAIM_NOTE, &ms(now), &row.id],
                            )
                            .await
                            .map_err(pg_err)?;
                            let row = crate::journal::stale_to_ambiguous(row, &key_fp, now);
                            return Ok(Claim::Ambiguous(Box::new(row)));
                        }
                    }
                }
                store(&c, &claim, None).await.map(Claim::Won)
            })
            .await
        })
    }

    fn forget_ambiguous(&self, key_fp: &str, request_fp: &str) -> Result<usize> {
        let (key_fp, request_fp) = (key_fp.to_string(), request_fp.to_string());
        let sql = crate::journal::FORGET_AMBIGUOUS_SQL
            .replace("?1", "$1")
            .replace("?2", "$2")
            .replace("UPDATE tasks", "UPDATE runway_journal.tasks");
        self.run(move |c| async move { Ok(c.execute(&sql, &[&key_fp, &request_fp]).await.map_err(pg_err)? as usize) })
    }

    fn settle(&self, key_fp: &str, id: i64, outcome: Option<&Entry>, lease: Option<LeaseTo>) -> Result<()> {
        if let Some(e) = outcome {
            check_array("outputs", &e.outputs)?;
            check_array("files", &e.files)?;
        }
        let now = now_unix_ms();
        let claim_key = format!("{CLAIM_KEY_PREFIX}{key_fp}");
        let (key_fp, outcome) = (key_fp.to_string(), outcome.cloned());
        let leased =
            outcome.as_ref().and_then(|e| e.task_id.clone()).zip(lease.map(|l| (l.owner.to_string(), l.ttl_ms)));
        self.run(move |c| async move {
            c.in_tx(async {
                settle_tx(&c, &key_fp, &claim_key, id, outcome, now).await?;
                if let Some((task_id, (owner, ttl))) = &leased {
                    lease_tx(&c, &key_fp, std::slice::from_ref(task_id), owner, *ttl).await?;
                }
                Ok(())
            })
            .await
        })
    }

    fn unfinished(&self, key_fp: &str, limit: usize) -> Result<Vec<Entry>> {
        let (key_fp, limit) = (key_fp.to_string(), limit.min(i64::MAX as usize) as i64);
        self.run(move |c| async move { c.entries(&UNFINISHED_SQL, &[&key_fp, &limit]).await })
    }

    fn spent_since(&self, key_fp: &str, since_ms: u64) -> Result<f64> {
        let (key_fp, since) = (key_fp.to_string(), ms(since_ms));
        self.run(move |c| async move {
            let rows = c
                .query(
                    "SELECT COALESCE(SUM(COALESCE(cost, estimated_cost, 0.0)), 0.0)::float8 FROM runway_journal.tasks \
                     WHERE key_fp = $1 AND created_ms >= $2",
                    &[&key_fp, &since],
                )
                .await
                .map_err(pg_err)?;
            rows[0].try_get(0).map_err(pg_err)
        })
    }

    fn lease(&self, key_fp: &str, task_ids: &[String], owner: &str, ttl_ms: u64) -> Result<Vec<String>> {
        let (key_fp, task_ids, owner) = (key_fp.to_string(), task_ids.to_vec(), owner.to_string());
        self.run(move |c| async move { lease_tx(&c, &key_fp, &task_ids, &owner, ttl_ms).await })
    }

    fn salt(&self) -> &[u8] {
        &self.salt
    }
}
