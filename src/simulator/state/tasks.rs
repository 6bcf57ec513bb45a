//! Tasks: made with their whole timeline up front, their status read off the clock, shown as
//! Runway's GET shows them, cancelled or deleted.

use serde_json::{json, Value};

use super::directives::Directives;
use super::{length_factor, SimState, MAX_OUTPUTS};
use crate::catalogue::Model;
use crate::simulator::placeholders::Format;
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

#[derive(Debug, Clone, PartialEq)]
pub(in crate::simulator) enum Outcome {
    Succeed,
    Fail { code: String, message: String },
    Cancel,
}

#[derive(Debug, Clone)]
pub(super) struct SimTask {
    pub(super) id: String,
    /// The key that created it: only that key sees it.
    pub(super) owner: String,
    pub(super) model: String,
    pub(super) format: Format,
    pub(super) outputs: usize,
    pub(super) created_unix_ms: u64,
    /// THROTTLED until this time (seconds on the simulator clock; creation time when a slot was free).
    pub(super) queued_until: f64,
    pub(super) run_start: f64,
    pub(super) end: f64,
    pub(super) outcome: Outcome,
    pub(super) estimated: f64,
    /// `[sim:output_bytes=N]`: the size of each (video) output.
    pub(super) output_bytes: Option<u64>,
}

impl SimTask {
    pub(super) fn status_at(&self, now: f64) -> &'static str {
        if now >= self.end {
            match self.outcome {
                Outcome::Succeed => "SUCCEEDED",
                Outcome::Fail { .. } => "FAILED",
                Outcome::Cancel => "CANCELLED",
            }
        } else if now >= self.run_start {
            "RUNNING"
        } else if now < self.queued_until {
            "THROTTLED"
        } else {
            "PENDING"
        }
    }
}

impl SimState {
    /// Creates a task for an already validated body; returns its id.
    pub fn create_task(&self, owner: &str, model: &Model, body: &Value, estimated: f64) -> String {
        let prompt = body.get("promptText").and_then(Value::as_str).unwrap_or("");
        let d = Directives::parse(prompt);
        let total = d.seconds.unwrap_or(self.cfg.task_seconds * length_factor(model.output)).max(0.05);
        let now = self.now();
        // Throttling: wait for the earliest free slot of this model.
        let mut start = now;
        if let Some(max) = self.cfg.max_concurrency {
            let mut slots = self.slots.lock().unwrap();
            let s = slots.entry(model.model.clone()).or_default();
            s.retain(|end| *end > now);
            if s.len() >= max as usize {
                s.sort_by(|a, b| a.total_cmp(b));
                start = s.remove(0);
            }
            s.push(start + total);
        }
        let pending = (total * 0.0625).clamp(0.0, 0.5).min(self.cfg.pending_seconds.max(0.0));
        let outputs = d.outputs.unwrap_or_else(|| model.output_count(body)).clamp(1, MAX_OUTPUTS);
        let task = SimTask {
            id: uuid_v4(),
            owner: owner.to_string(),
            model: model.model.clone(),
            format: Format::for_task(model, body),
            outputs,
            created_unix_ms: now_unix_ms(),
            queued_until: start,
            run_start: start + pending,
            end: start + total,
            outcome: d.outcome,
            estimated,
            output_bytes: d.output_bytes,
        };
        let id = task.id.clone();
        self.tasks.lock().unwrap().insert(id.clone(), task);
        *self.created_per_model.lock().unwrap().entry(model.model.clone()).or_default() += 1;
        id
    }

    /// A task with exactly `id` that has already SUCCEEDED (for `POST /_sim/seed`); replaces any
    /// task of that id.
    pub fn seed_task(&self, owner: &str, id: &str, model: &Model) -> String {
        let now = self.now();
        let body = json!({});
        let estimated = model.estimate_cost(&body).unwrap_or(50.0);
        let task = SimTask {
            id: id.to_string(),
            owner: owner.to_string(),
            model: model.model.clone(),
            format: Format::for_task(model, &body),
            outputs: model.output_count(&body).clamp(1, MAX_OUTPUTS),
            created_unix_ms: now_unix_ms(),
            queued_until: now,
            run_start: now,
            end: now,
            outcome: Outcome::Succeed,
            estimated,
            output_bytes: None,
        };
        self.tasks.lock().unwrap().insert(id.to_string(), task);
        id.to_string()
    }

    /// What `key`'s tasks cost, for usage reports: (created, unix ms; model; credits). Failed and
    /// cancelled tasks are refunded, so they count nothing.
    pub fn task_charges(&self, key: &str) -> Vec<(u64, String, f64)> {
        let tasks = self.tasks.lock().unwrap();
        tasks
            .values()
            .filter(|t| t.owner == key && t.outcome == Outcome::Succeed)
            .map(|t| (t.created_unix_ms, t.model.clone(), t.estimated.round()))
            .collect()
    }

    /// The task as `GET /v1/tasks/{id}` shows it to `key`, or None when unknown, deleted or another
    /// key's.
    pub fn task_json(&self, key: &str, id: &str) -> Option<Value> {
        let tasks = self.tasks.lock().unwrap();
        let t = tasks.get(id).filter(|t| t.owner == key)?;
        let now = self.now();
        let status = t.status_at(now);
        let created_at = iso8601_millis(t.created_unix_ms);
        let est = json!({"credits": t.estimated});
        Some(match status {
            "PENDING" | "THROTTLED" => {
                json!({"id": t.id, "status": status, "createdAt": created_at, "estimatedCost": est})
            }
            "RUNNING" => {
                let p = ((now - t.run_start) / (t.end - t.run_start)).clamp(0.0, 0.99);
                json!({"id": t.id, "status": status, "createdAt": created_at, "estimatedCost": est,
                       "progress": (p * 100.0).floor() / 100.0})
            }
            "SUCCEEDED" => {
                // Signed URLs, fresh on every GET (Runway's expire within 24–48 h).
                let output: Vec<String> = (0..t.outputs).map(|i| self.output_url(&t.id, i, t.format.ext())).collect();
                json!({"id": t.id, "status": status, "createdAt": created_at, "output": output,
                       "cost": {"credits": t.estimated.round() as i64}})
            }
            "FAILED" => {
                let Outcome::Fail { code, message } = &t.outcome else { unreachable!() };
                json!({"id": t.id, "status": status, "createdAt": created_at, "failure": message,
                       "failureCode": code, "cost": {"credits": 0}})
            }
            _ => json!({"id": t.id, "status": status, "createdAt": created_at, "cost": {"credits": 0}}),
        })
    }

    /// DELETE by `key`: cancels or deletes; false when there was nothing of this key's to delete.
    pub fn delete_task(&self, key: &str, id: &str) -> bool {
        let removed = {
            let mut tasks = self.tasks.lock().unwrap();
            if tasks.get(id).is_some_and(|t| t.owner == key) {
                tasks.remove(id)
            } else {
                None
            }
        };
        if let Some(t) = &removed {
            // A cancelled task frees its concurrency slot.
            if let Some(s) = self.slots.lock().unwrap().get_mut(&t.model) {
                if let Some(i) = s.iter().position(|e| (*e - t.end).abs() < 1e-9) {
                    s.remove(i);
                }
            }
            *self.deleted.lock().unwrap() += 1;
        }
        removed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::default_key;
    use super::*;

    fn task(_created: f64, queued_until: f64, run_start: f64, end: f64) -> SimTask {
        SimTask {
            id: "t".into(),
            owner: default_key(),
            model: "m".into(),
            format: Format::Mp4,
            outputs: 1,
            created_unix_ms: 0,
            queued_until,
            run_start,
            end,
            outcome: Outcome::Succeed,
            estimated: 10.0,
            output_bytes: None,
        }
    }

    #[test]
    fn lifecycle_from_the_clock() {
        let t = task(0.0, 0.0, 0.5, 8.0);
        assert_eq!(t.status_at(0.1), "PENDING");
        assert_eq!(t.status_at(1.0), "RUNNING");
        assert_eq!(t.status_at(8.0), "SUCCEEDED");
        // Queued behind another task for 8 s: THROTTLED, then PENDING, then RUNNING.
        let q = task(0.0, 8.0, 8.5, 16.0);
        assert_eq!(q.status_at(1.0), "THROTTLED");
        assert_eq!(q.status_at(8.2), "PENDING");
        assert_eq!(q.status_at(9.0), "RUNNING");
    }
}
