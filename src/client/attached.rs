//! A journal attached to a client, and how writes reach it: claims and settles in group commits,
//! what polls saw written behind (`WRITE_BEHIND`), every call off the async threads.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::errors::{Error, Result};
use crate::journal::{Journal, Observed, Write, Written};
use crate::tasks::Task;

/// A journal with the key fingerprint its rows are filed under.
#[derive(Clone)]
pub struct Attached {
    pub journal: Arc<dyn Journal>,
    pub key_fp: String,
    /// What this client last wrote per task, so that a poll that saw nothing new writes nothing.
    written: Arc<Mutex<HashMap<String, u64>>>,
    /// Whose leases this client takes (`Journal::lease`): random, one per client.
    pub owner: String,
    behind: Arc<Behind>,
    /// Claims and settles waiting for the next transaction, and whether one is being written.
    group: Arc<Mutex<Group>>,
}

type Reply = tokio::sync::oneshot::Sender<Result<Written>>;

/// How long the first of a group of claims and settles waits for others to share its commit: a
/// create's request to Runway takes far longer, and calls that come together (a batch, several
/// agents) arrive a millisecond or two apart.
const GROUP_WINDOW: Duration = Duration::from_millis(3);
type Group = (Vec<(Write, Reply)>, bool);

/// How long what a poll saw, or where outputs were saved, waits before it is written: everything
/// observed meanwhile, of every task, goes in one transaction, and a task's finish and its saved
/// files in one row write. A commit's cost is mostly per commit and per page it changes, and the
/// polls of tasks made together come together. Claims and the row of a new task are written at
/// once (they are what keeps a paid task from being lost or paid twice); a look lost with the
/// process is seen again by the next one that polls the task. Other processes see a look this much
/// later; reads through this client write what is pending first.
pub const WRITE_BEHIND: Duration = Duration::from_millis(250);

/// Observations waiting for their write (`WRITE_BEHIND`), one per task, in arrival order.
struct Behind {
    journal: Arc<dyn Journal>,
    key_fp: String,
    /// The pending batch, and whether a write of it is scheduled.
    pending: Mutex<(Vec<Observed>, bool)>,
    /// Held while a batch is taken and written, so that batches land in the order they were taken
    /// (a later look of a task never lands before an earlier one).
    order: tokio::sync::Mutex<()>,
}

impl Behind {
    fn take(&self) -> Vec<Observed> {
        let mut p = self.pending.lock().unwrap();
        p.1 = false;
        std::mem::take(&mut p.0)
    }
}

impl Drop for Behind {
    /// The last client of this journal is gone: what it observed is written now (the server flushes
    /// on close; this covers library callers that just drop their client).
    fn drop(&mut self) {
        // Even after a panic elsewhere held the lock: what was observed is still worth writing.
        let batch = std::mem::take(&mut self.pending.get_mut().unwrap_or_else(|p| p.into_inner()).0);
        if batch.is_empty() {
            return;
        }
        let (journal, key_fp) = (self.journal.clone(), self.key_fp.clone());
        in_background(move || drop(observe_logged(&*journal, &key_fp, &batch)));
    }
}

/// `Journal::observe`, its failure reported (nothing waits for these writes to answer it).
fn observe_logged(journal: &dyn Journal, key_fp: &str, batch: &[Observed]) -> Option<Vec<bool>> {
    journal
        .observe(key_fp, batch)
        .map_err(|e| eprintln!("runway-core: could not journal the status of {} tasks ({e})", batch.len()))
        .ok()
}

/// Runs a blocking journal write from a destructor: on a blocking thread inside the runtime, else
/// here.
pub(super) fn in_background(f: impl FnOnce() + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => drop(h.spawn_blocking(f)),
        Err(_) => f(),
    }
}

/// Tasks remembered in `Attached::written`; past this the memory starts over (it only saves writes).
const WRITTEN_CAP: usize = 4096;

impl Attached {
    pub fn new(journal: Arc<dyn Journal>, key_fp: String) -> Attached {
        let behind = Arc::new(Behind {
            journal: journal.clone(),
            key_fp: key_fp.clone(),
            pending: Default::default(),
            order: Default::default(),
        });
        let owner = crate::util::uuid_v4();
        Attached { journal, key_fp, written: Default::default(), owner, behind, group: Default::default() }
    }

    /// Writes a claim or a settle and waits for its commit. Those made at the same moment share it
    /// (group commit): the first goes at once, and whatever queues meanwhile goes together in the
    /// next transaction, so 300 creates at once cost a few dozen commits, not 600.
    pub(super) async fn write_now(&self, w: Write) -> Result<Written> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = {
            let mut g = self.group.lock().unwrap();
            g.0.push((w, tx));
            !std::mem::replace(&mut g.1, true)
        };
        if start {
            let a = self.clone();
            tokio::spawn(async move { a.drain().await });
        }
        rx.await.map_err(|_| Error::Journal("task journal: the write was abandoned".into()))?
    }

    /// Writes the queued claims and settles, a transaction at a time, until none is left.
    async fn drain(&self) {
        tokio::time::sleep(GROUP_WINDOW).await;
        loop {
            let batch = {
                let mut g = self.group.lock().unwrap();
                if g.0.is_empty() {
                    g.1 = false;
                    return;
                }
                std::mem::take(&mut g.0)
            };
            let (writes, replies): (Vec<Write>, Vec<Reply>) = batch.into_iter().unzip();
            let j = self.journal.clone();
            match blocking(move || j.write_all(&writes)).await {
                Ok(done) => {
                    for (r, reply) in done.into_iter().zip(replies) {
                        let _ = reply.send(r);
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(Error::Journal(e.to_string())));
                    }
                }
            }
        }
    }

    /// Queues an observation of a task for the next batch (`WRITE_BEHIND`), merged with what is
    /// already queued for it.
    pub(super) fn defer(&self, o: Observed) {
        let mut p = self.behind.pending.lock().unwrap();
        match p.0.iter_mut().find(|q| q.task_id == o.task_id) {
            Some(q) => {
                q.look = o.look.or(q.look.take());
                q.files = o.files.or(q.files.take());
            }
            None => p.0.push(o),
        }
        if !std::mem::replace(&mut p.1, true) {
            let a = self.clone();
            let write = async move {
                tokio::time::sleep(WRITE_BEHIND).await;
                a.flush().await;
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => drop(h.spawn(write)),
                // Outside a runtime (not how the client calls it): written when the client goes.
                Err(_) => p.1 = false,
            }
        }
    }

    /// Writes what is pending now, in one transaction.
    pub async fn flush(&self) {
        let _order = self.behind.order.lock().await;
        let batch = self.behind.take();
        if batch.is_empty() {
            return;
        }
        let (j, key_fp) = (self.journal.clone(), self.key_fp.clone());
        let written = blocking(move || Ok(observe_logged(&*j, &key_fp, &batch).map(|found| (batch, found)))).await;
        if let Ok(Some((batch, found))) = written {
            // Only a row that exists: a task journaled later must still get its statuses.
            for (o, _) in batch.iter().zip(found).filter(|(_, f)| *f) {
                if let Some(t) = &o.look {
                    self.remember_written(t);
                }
            }
        }
    }

    /// `flush`, from a thread outside the runtime (closing a client).
    pub fn flush_blocking(&self) {
        let _order = self.behind.order.blocking_lock();
        let batch = self.behind.take();
        if !batch.is_empty() {
            observe_logged(&*self.journal, &self.key_fp, &batch);
        }
    }

    /// True if this client already wrote exactly what `t` shows.
    pub(super) fn already_written(&self, t: &Task) -> bool {
        self.written.lock().unwrap().get(&t.id) == Some(&observation(t))
    }

    fn remember_written(&self, t: &Task) {
        let mut w = self.written.lock().unwrap();
        if w.len() >= WRITTEN_CAP {
            w.clear();
        }
        w.insert(t.id.clone(), observation(t));
    }
}

/// A digest of what `Journal::update_task` takes from a task.
fn observation(t: &Task) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&t.status, t.progress.map(f64::to_bits), &t.output).hash(&mut h);
    (t.estimated_cost.map(f64::to_bits), t.cost.map(f64::to_bits), &t.failure, &t.failure_code).hash(&mut h);
    h.finish()
}

/// Journal calls in flight on blocking threads at once. The SQLite connection serialises them
/// anyway; without a bound, 300 concurrent tasks would make tokio start hundreds of threads that
/// only wait for it.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs a blocking journal call off the async threads.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let _slot = SLOTS.acquire().await.map_err(|e| Error::Journal(format!("journal: {e}")))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::Journal(format!("journal task failed: {e}")))?
}
