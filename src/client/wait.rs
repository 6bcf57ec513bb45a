//! Waiting for a task: polls timed by `tasks::PollSchedule` until it finishes, fails, or the
//! deadline passes.

use std::future::Future;
use std::time::Duration;

use super::endpoints::check_task_id;
use super::RunwayClient;
use crate::errors::{Error, Result};
use crate::tasks::{PollSchedule, Task};

impl RunwayClient {
    /// Polls until the task finishes, `timeout` passes, or an error that waiting cannot fix.
    /// `on_progress` sees each snapshot that differs from the previous one.
    pub async fn wait_for_task<F, Fut>(&self, id: &str, timeout: Option<Duration>, mut on_progress: F) -> Result<Task>
    where
        F: FnMut(Task) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        check_task_id(id)?;
        let start = self.now();
        let deadline = timeout.map(|t| start + t.as_secs_f64());
        let created = self.created.lock().unwrap().get(id).copied();
        let mut sched = PollSchedule::new(self.opts.poll.clone(), created);
        let mut last: Option<Task> = None;
        let mut last_err: Option<String>;
        loop {
            let now = self.now();
            let mut delay = sched.next_delay(now);
            if let Some(d) = deadline {
                delay = delay.min((d - now).max(0.0));
            }
            if delay > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(delay)).await;
            }
            // A poll may not overrun the deadline by more than a little, however slow Runway is.
            let poll = self.get_task(id);
            let result = match deadline {
                Some(d) => {
                    let budget = (d - self.now()).max(0.0) + 2.0;
                    tokio::time::timeout(Duration::from_secs_f64(budget), poll).await.ok()
                }
                None => Some(poll.await),
            };
            match result {
                Some(Ok(task)) => {
                    sched.observe(self.now(), &task);
                    let changed = last.as_ref().is_none_or(|l| {
                        l.status != task.status || l.progress != task.progress || l.output != task.output
                    });
                    if changed {
                        on_progress(task.clone()).await?;
                    }
                    if task.succeeded() {
                        return Ok(task);
                    }
                    if task.is_terminal() {
                        return Err(Error::TaskFailed { task: Box::new(task) });
                    }
                    last = Some(task);
                    last_err = None;
                }
                Some(Err(e)) if e.is_transient() => {
                    sched.observe_error();
                    last_err = Some(e.to_string());
                }
                Some(Err(e)) => return Err(e.with_task_id(id)),
                None => last_err = Some("a status request did not answer before the deadline".into()),
            }
            if let Some(d) = deadline {
                if self.now() >= d {
                    return Err(Error::TaskTimeout {
                        task_id: id.to_string(),
                        task: last.map(Box::new),
                        waited_secs: self.now() - start,
                        last_error: last_err,
                    });
                }
            }
        }
    }
}
