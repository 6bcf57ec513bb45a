//! Tasks: the Task model (a task, or a workflow invocation read as one), and the polling schedule
//! that decides when to look at a task again. The loop that waits (create, poll, cancel over HTTP)
//! lives in `client/`; the timing decisions live here as a pure state machine so they are testable
//! without a clock or a network.

use std::time::Duration;

use serde_json::Value;

/// Runway's task states, in the order a task goes through them: the one list the core, both
/// journals' SQL (checked against it by their tests) and the Python side (`runway_core.TASK_STATES`)
/// take them from.
pub const STATES: [&str; 6] = ["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];

/// The states after which a task never changes again: the last three of `STATES`.
pub const FINAL_STATES: [&str; 3] = ["SUCCEEDED", "FAILED", "CANCELLED"];

/// Whether a task in `status` never changes again.
pub fn is_final(status: &str) -> bool {
    FINAL_STATES.contains(&status)
}

/// What Runway made: a task (`/v1/tasks/{id}`) or a workflow invocation
/// (`/v1/workflow_invocations/{id}`). Both go through the same states and are journaled alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskKind {
    #[default]
    Task,
    Invocation,
}

/// The journal's endpoint of a workflow run starts with this, then the workflow's id
/// (`workflows/<id>`, the run's path under /v1/).
pub const WORKFLOW_ENDPOINT_PREFIX: &str = "workflows/";

impl TaskKind {
    /// What a create at `endpoint` (as journaled: `text_to_video`, `workflows/<id>`) makes.
    pub fn of_endpoint(endpoint: &str) -> TaskKind {
        if endpoint.starts_with(WORKFLOW_ENDPOINT_PREFIX) {
            TaskKind::Invocation
        } else {
            TaskKind::Task
        }
    }

    /// Where one of this kind is read (and a task cancelled); `id` must be checked first.
    pub fn path(self, id: &str) -> String {
        match self {
            TaskKind::Task => format!("/v1/tasks/{id}"),
            TaskKind::Invocation => format!("/v1/workflow_invocations/{id}"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Task => "task",
            TaskKind::Invocation => "workflow_invocation",
        }
    }
}

/// A Runway task as last seen. Fields follow the API (snake_case here); `raw` keeps Runway's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    /// One of `STATES`, or None for a task just created (the create response carries no status).
    pub status: Option<String>,
    pub progress: Option<f64>,
    pub output: Vec<String>,
    pub failure: Option<String>,
    pub failure_code: Option<String>,
    pub estimated_cost: Option<f64>,
    pub cost: Option<f64>,
    pub created_at: Option<String>,
    pub raw: Value,
    /// Returned for an identical request whose task was still running, instead of a new task.
    pub reattached: bool,
    /// A task, or a workflow invocation (`output` then lists every node's URLs, `raw` keeps the map).
    pub kind: TaskKind,
}

impl Task {
    /// Reads a task (GET /v1/tasks/{id}) or a create response (`{id, estimatedCost}`).
    pub fn from_json(v: Value) -> Option<Task> {
        let id = v.get("id")?.as_str()?.to_string();
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let credits = |k: &str| v.get(k).and_then(|c| c.get("credits")).and_then(Value::as_f64);
        Some(Task {
            id,
            status: s("status"),
            progress: v.get("progress").and_then(Value::as_f64),
            output: v
                .get("output")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            failure: s("failure"),
            failure_code: s("failureCode"),
            // A model router's answer carries it under `routing`.
            estimated_cost: credits("estimatedCost")
                .or_else(|| v.pointer("/routing/estimatedCost/credits").and_then(Value::as_f64)),
            cost: credits("cost"),
            created_at: s("createdAt"),
            raw: v,
            reattached: false,
            kind: TaskKind::Task,
        })
    }

    /// Reads a workflow invocation (GET /v1/workflow_invocations/{id}) or a run's answer (`{id}`).
    /// `output` is every output node's URLs, nodes in id order (the order is the same on every
    /// look, so an output keeps its index); `raw` keeps Runway's map. Failed nodes (`nodeErrors`,
    /// which a SUCCEEDED invocation can have too) are named in `failure`, after Runway's own.
    pub fn from_invocation_json(v: Value) -> Option<Task> {
        let mut t = Task::from_json(v)?;
        t.kind = TaskKind::Invocation;
        t.output = t
            .raw
            .get("output")
            .and_then(Value::as_object)
            .map(|nodes| {
                let mut ids: Vec<&String> = nodes.keys().collect();
                ids.sort();
                ids.into_iter()
                    .flat_map(|id| nodes[id].as_array().into_iter().flatten())
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(nodes) = node_errors_text(&t.raw) {
            t.failure = Some(match t.failure.take() {
                Some(f) => format!("{f} ({nodes})"),
                None => nodes,
            });
        }
        Some(t)
    }

    /// The ids of the output nodes that failed (an invocation's `nodeErrors`), in id order.
    pub fn failed_nodes(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .raw
            .get("nodeErrors")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    pub fn is_terminal(&self) -> bool {
        self.status.as_deref().is_some_and(is_final)
    }

    pub fn succeeded(&self) -> bool {
        self.status.as_deref() == Some("SUCCEEDED")
    }
}

/// `nodeErrors` as one line: `2 output nodes failed: cut (CODE: message); …`; None when none did.
fn node_errors_text(raw: &Value) -> Option<String> {
    let errors = raw.get("nodeErrors")?.as_object().filter(|m| !m.is_empty())?;
    let mut ids: Vec<&String> = errors.keys().collect();
    ids.sort();
    let each: Vec<String> = ids
        .iter()
        .map(|id| {
            let e = &errors[*id];
            let name = e.get("nodeName").and_then(Value::as_str).filter(|n| n != id);
            let what = [e.get("failureCode"), e.get("message")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(": ");
            let who = match name {
                Some(n) => format!("{id} ({n})"),
                None => id.to_string(),
            };
            if what.is_empty() {
                who
            } else {
                format!("{who}: {what}")
            }
        })
        .collect();
    let n = each.len();
    Some(format!("{n} output node{} failed: {}", if n == 1 { "" } else { "s" }, each.join("; ")))
}

/// Tuning of the polling schedule; the defaults are documented in the README.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// Delay from creation to the first look, for a task this client created.
    pub first_delay: f64,
    /// Never poll one task more often than this.
    pub min_interval: f64,
    /// Interval while a task waits (PENDING, THROTTLED) or shows no progress yet.
    pub idle_interval: f64,
    /// Longest interval while queued for a long time.
    pub max_idle_interval: f64,
    /// Longest single jump towards a predicted finish (predictions far ahead are uncertain).
    pub max_predict_interval: f64,
    /// Added after the predicted finish so the poll lands just after it.
    pub margin: f64,
    /// Queue time assumed before a task starts running, when its rate must be estimated from a
    /// single observation (Runway queues every task briefly; assuming none makes that estimate
    /// late by this much times the remaining fraction).
    pub assumed_queue: f64,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            first_delay: 5.0,
            min_interval: 1.0,
            idle_interval: 5.0,
            max_idle_interval: 15.0,
            max_predict_interval: 30.0,
            margin: 0.25,
            assumed_queue: 0.5,
        }
    }
}

/// Decides when to poll next. Times are seconds on the caller's monotonic clock.
///
/// The schedule: a task this client created is first looked at `first_delay` after creation (a
/// task of unknown age at once). While it is PENDING or THROTTLED, or RUNNING without progress, it
/// is polled every `idle_interval`, stretching by half each time up to `max_idle_interval`. Once
/// it reports progress, the finish is predicted from the progress rate (two observations when we
/// have them, else progress since creation less `assumed_queue`) and the next poll is set just after that prediction
/// (`margin`), at most `max_predict_interval` ahead and never sooner than `min_interval`. A poll
/// that finds the task still running re-predicts from the fresher rate.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    cfg: PollConfig,
    /// When the task was created, if known (same clock as `now`).
    created: Option<f64>,
    /// (time, progress) of RUNNING observations with progress.
    samples: Vec<(f64, f64)>,
    idle_polls: u32,
    polls: u32,
}

impl PollSchedule {
    pub fn new(cfg: PollConfig, created: Option<f64>) -> Self {
        PollSchedule { cfg, created, samples: Vec::new(), idle_polls: 0, polls: 0 }
    }

    /// Records a snapshot seen at `now`.
    pub fn observe(&mut self, now: f64, task: &Task) {
        self.polls += 1;
        match (task.status.as_deref(), task.progress) {
            (Some("RUNNING"), Some(p)) if p > 0.0 => {
                // Keep the first and latest points: the longest baseline gives the steadiest rate.
                if self.samples.len() == 2 {
                    self.samples[1] = (now, p);
                } else {
                    self.samples.push((now, p));
                }
            }
            _ => self.idle_polls += 1,
        }
    }

    /// Records a failed poll (network trouble); the next delay backs off like an idle poll.
    pub fn observe_error(&mut self) {
        self.polls += 1;
        self.idle_polls += 1;
    }

    /// Seconds to wait, from `now`, before the next poll.
    pub fn next_delay(&self, now: f64) -> f64 {
        let c = &self.cfg;
        if self.polls == 0 {
            return match self.created {
                Some(t0) => (t0 + c.first_delay - now).max(0.0),
                None => 0.0,
            };
        }
        if let Some(remaining) = self.predicted_remaining(now) {
            return (remaining + c.margin).clamp(c.min_interval, c.max_predict_interval);
        }
        let stretch = 1.5f64.powi(self.idle_polls.saturating_sub(2).min(8) as i32);
        (c.idle_interval * stretch).min(c.max_idle_interval)
    }

    /// Seconds until the task should finish, from the progress rate.
    pub fn predicted_remaining(&self, now: f64) -> Option<f64> {
        let &(t_last, p_last) = self.samples.last()?;
        let rate = match self.samples.as_slice() {
            [(t1, p1), (t2, p2)] if t2 > t1 && p2 > p1 => (p2 - p1) / (t2 - t1),
            _ => {
                let t0 = self.created?;
                if t_last <= t0 {
                    return None;
                }
                let queued = self.cfg.assumed_queue.min((t_last - t0) / 2.0);
                p_last / (t_last - t0 - queued)
            }
        };
        if rate <= 0.0 {
            return None;
        }
        let finish = t_last + (1.0 - p_last).max(0.0) / rate;
        Some((finish - now).max(0.0))
    }
}

/// Exponential backoff with jitter for retries: `base * 2^attempt`, capped, then stretched by up to
/// +50% at random (Runway's advice). `unit` is a uniform random number in [0, 1).
pub fn backoff_delay(attempt: u32, base: f64, cap: f64, unit: f64) -> Duration {
    let raw = (base * 2f64.powi(attempt.min(30) as i32)).min(cap);
    Duration::from_secs_f64(raw * (1.0 + 0.5 * unit.clamp(0.0, 1.0)))
}

/// Whether `id` has the shape of a Runway task id (a UUID). Checking it also keeps anything else out
/// of a URL path.
pub fn is_task_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn running(p: f64) -> Task {
        Task::from_json(json!({"id": "t", "status": "RUNNING", "progress": p, "createdAt": "x",
                               "estimatedCost": {"credits": 10}}))
        .unwrap()
    }
    fn status(s: &str) -> Task {
        Task::from_json(json!({"id": "t", "status": s})).unwrap()
    }

    #[test]
    fn parses_every_status_shape() {
        let t = Task::from_json(json!({"id": "a", "status": "SUCCEEDED", "createdAt": "2024-06-27T19:49:32.334Z",
            "output": ["https://x/1.mp4", "https://x/2.mp4"], "cost": {"credits": 25}}))
        .unwrap();
        assert_eq!(t.output.len(), 2);
        assert_eq!(t.cost, Some(25.0));
        assert!(t.is_terminal() && t.succeeded());
        let f = Task::from_json(json!({"id": "b", "status": "FAILED", "failure": "flagged",
            "failureCode": "SAFETY.INPUT.IMAGE", "cost": {"credits": 0}}))
        .unwrap();
        assert_eq!(f.failure_code.as_deref(), Some("SAFETY.INPUT.IMAGE"));
        assert!(f.is_terminal() && !f.succeeded());
        let c = Task::from_json(json!({"id": "c", "estimatedCost": {"credits": 40}})).unwrap();
        assert_eq!(c.status, None);
        assert_eq!(c.estimated_cost, Some(40.0));
        assert!(!c.is_terminal());
        assert!(Task::from_json(json!({"status": "RUNNING"})).is_none());
    }

    #[test]
    fn an_invocation_reads_as_a_task_with_its_nodes_outputs_and_failures() {
        let run = Task::from_invocation_json(json!({"id": "i"})).unwrap();
        assert_eq!((run.kind, run.status.as_deref(), run.output.len()), (TaskKind::Invocation, None, 0));
        // Nodes in id order on every look, whatever order Runway lists them in.
        let ok = Task::from_invocation_json(json!({"id": "i", "status": "SUCCEEDED", "createdAt": "x",
            "output": {"zeta": ["https://x/z.mp4"], "alpha": ["https://x/a1.png", "https://x/a2.png"]},
            "cost": {"credits": 20}}))
        .unwrap();
        assert_eq!(ok.output, ["https://x/a1.png", "https://x/a2.png", "https://x/z.mp4"]);
        assert_eq!((ok.cost, ok.failure.as_deref()), (Some(20.0), None));
        assert!(ok.succeeded() && ok.failed_nodes().is_empty());
        assert_eq!(ok.raw["output"]["zeta"][0], "https://x/z.mp4");
        // SUCCEEDED with a failed node: said in `failure`, the node's details kept in `raw`.
        let partial = Task::from_invocation_json(json!({"id": "i", "status": "SUCCEEDED",
            "output": {"cut": ["https://x/c.mp4"]},
            "nodeErrors": {"music": {"message": "bad", "failureCode": "INTERNAL.BAD_OUTPUT.01", "nodeName": "Music"}}}))
        .unwrap();
        assert!(partial.succeeded());
        assert_eq!(
            partial.failure.as_deref(),
            Some("1 output node failed: music (Music): INTERNAL.BAD_OUTPUT.01: bad")
        );
        assert_eq!(partial.failure_code, None);
        assert_eq!(partial.failed_nodes(), ["music"]);
        let failed =
            Task::from_invocation_json(json!({"id": "i", "status": "FAILED", "failure": "Every output node failed.",
            "failureCode": "INTERNAL.BAD_OUTPUT.01",
            "nodeErrors": {"b": {"message": "no"}, "a": {"message": "no", "nodeName": "a"}}}))
            .unwrap();
        assert!(failed.is_terminal() && !failed.succeeded());
        assert_eq!(failed.failure.as_deref(), Some("Every output node failed. (2 output nodes failed: a: no; b: no)"));
        assert_eq!(failed.failure_code.as_deref(), Some("INTERNAL.BAD_OUTPUT.01"));
        assert_eq!(TaskKind::of_endpoint("workflows/abc"), TaskKind::Invocation);
        assert_eq!(TaskKind::of_endpoint("text_to_video"), TaskKind::Task);
        assert_eq!(TaskKind::Invocation.path("i"), "/v1/workflow_invocations/i");
    }

    #[test]
    fn first_poll_waits_for_own_tasks_only() {
        let s = PollSchedule::new(PollConfig::default(), Some(100.0));
        assert!((s.next_delay(100.0) - 5.0).abs() < 1e-9);
        assert!((s.next_delay(103.0) - 2.0).abs() < 1e-9);
        assert_eq!(s.next_delay(200.0), 0.0); // old task: look at once
        let unknown = PollSchedule::new(PollConfig::default(), None);
        assert_eq!(unknown.next_delay(100.0), 0.0);
    }

    #[test]
    fn predicts_finish_of_an_8_second_task_in_two_polls() {
        // Created at 0, queued 0.5 s, runs linearly until 8 s. First poll at 5 s sees 0.6.
        let mut s = PollSchedule::new(PollConfig::default(), Some(0.0));
        let t1 = s.next_delay(0.0);
        assert_eq!(t1, 5.0);
        s.observe(5.0, &running(0.6));
        let next = 5.0 + s.next_delay(5.0);
        // 0.6 in the 4.5 s since it began running: finish at 8.0, polled 0.25 s after.
        assert!((next - 8.25).abs() < 1e-9, "{next}");
    }

    #[test]
    fn two_samples_give_the_rate() {
        let mut s = PollSchedule::new(PollConfig::default(), Some(0.0));
        s.observe(10.0, &running(0.1)); // slow start (queued for a while)
        s.observe(20.0, &running(0.3)); // then 2% per second
        let r = s.predicted_remaining(20.0).unwrap();
        assert!((r - 35.0).abs() < 1e-6, "{r}");
        // A long prediction is capped.
        assert_eq!(s.next_delay(20.0), 30.0);
    }

    #[test]
    fn idle_polls_stretch_to_a_cap() {
        let mut s = PollSchedule::new(PollConfig::default(), Some(0.0));
        let mut delays = vec![];
        for i in 0..8 {
            s.observe(i as f64, &status("THROTTLED"));
            delays.push(s.next_delay(i as f64));
        }
        assert_eq!(delays[0], 5.0);
        assert_eq!(delays[1], 5.0);
        assert!(delays[2] > 5.0 && delays[3] > delays[2]);
        assert_eq!(*delays.last().unwrap(), 15.0);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn never_polls_faster_than_min_interval() {
        let mut s = PollSchedule::new(PollConfig::default(), Some(0.0));
        s.observe(5.0, &running(0.99));
        assert_eq!(s.next_delay(5.0), 1.0);
        s.observe(9.0, &running(0.999)); // prediction passed, still running
        assert!(s.next_delay(30.0) >= 1.0);
    }

    #[test]
    fn backoff_grows_caps_and_jitters_upwards() {
        let d = |a, u| backoff_delay(a, 0.5, 8.0, u).as_secs_f64();
        assert_eq!(d(0, 0.0), 0.5);
        assert_eq!(d(1, 0.0), 1.0);
        assert_eq!(d(2, 0.0), 2.0);
        assert_eq!(d(10, 0.0), 8.0);
        assert!((d(0, 0.999) - 0.74975).abs() < 1e-9);
        assert!(d(10, 0.999) <= 12.0);
    }
}
