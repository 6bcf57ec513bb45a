//! The simulator's memory: tasks, faults to inject, the request log, the organization.
//! A task's status is computed from the clock when asked (no timers), so thousands of tasks cost
//! nothing while they "run".

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

use crate::catalogue::{MediaKind, Model};
use crate::simulator::placeholders::Format;
use crate::simulator::voices::Voices;
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The key the simulator accepts (Runway's form: `key_` + 128 hex digits).
    pub api_key: String,
    /// More accepted keys, each its own account: a task is seen (GET, DELETE) only with the key that
    /// made it, as Runway answers 404 for another organisation's task. For multi-user tests.
    pub extra_keys: Vec<String>,
    /// Accept any key, each its own account (a multi-user server run with --simulate).
    pub open_accounts: bool,
    /// Seconds from creation to the end of a video task (PENDING + RUNNING), unless a prompt says
    /// otherwise. Image and audio tasks take a share of it ([`length_factor`]).
    pub task_seconds: f64,
    /// Seconds a task stays PENDING before it runs.
    pub pending_seconds: f64,
    /// Tasks per model per day before creates get 429.
    pub daily_limit: Option<u32>,
    /// Tasks of one model running at once; more wait as THROTTLED.
    pub max_concurrency: Option<u32>,
    pub credit_balance: f64,
    /// Seconds an output URL stays valid after the GET that issued it.
    pub output_url_ttl: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: default_key(),
            extra_keys: Vec::new(),
            open_accounts: false,
            task_seconds: 8.0,
            pending_seconds: 0.5,
            daily_limit: None,
            max_concurrency: None,
            credit_balance: 100_000.0,
            output_url_ttl: DEFAULT_OUTPUT_URL_TTL,
        }
    }
}

/// A fixed, well-formed key: the simulator is local and this is no secret.
pub fn default_key() -> String {
    format!("key_{}", "5e".repeat(64))
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this status (and optional Retry-After and body) instead of handling the request.
    Status { status: u16, retry_after: Option<String>, body: Option<Value> },
    /// Close the connection without answering, before handling the request.
    Reset,
    /// Handle the request (a create makes its task), then close without answering.
    LostResponse,
    /// Wait this long, then handle the request normally.
    Slow { seconds: f64 },
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    pub method: Option<String>,
    /// Applies to paths starting with this (e.g. `/v1/tasks/`); all API paths when None.
    pub path_prefix: Option<String>,
    pub remaining: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub authorized: bool,
    pub version: Option<String>,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// Numbers the requests, so a handler can attach what it read to its own record.
    pub seq: u64,
    /// The Host header: clients given differently spelled base URLs (127.0.0.1, localhost) can be
    /// told apart in the log (benchmarks of several replicas).
    pub host: Option<String>,
    /// The JSON body of a task-creating POST, as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The share of `task_seconds` a task takes, by what it makes: an image about a quarter of a
/// video's time, audio about a third. A `[sim:seconds=N]` directive sets the length outright.
pub fn length_factor(kind: MediaKind) -> f64 {
    match kind {
        MediaKind::Video => 1.0,
        MediaKind::Image => 0.25,
        MediaKind::Audio => 1.0 / 3.0,
    }
}

/// Output URLs stay valid this long unless changed with [`SimState::set_output_url_ttl`].
pub const DEFAULT_OUTPUT_URL_TTL: f64 = 86_400.0;
/// The most outputs one task makes (a guard against absurd counts).
pub const MAX_OUTPUTS: usize = 16;
/// A `runway://` URI can be used for 24 hours after its upload.
pub const UPLOAD_TTL_SECS: f64 = 86_400.0;
/// How many leading bytes of an uploaded file are kept (for content sniffing).
pub const UPLOAD_HEAD_BYTES: usize = 64;

/// A completed ephemeral upload, as `GET /_sim/uploads` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UploadRecord {
    pub token: String,
    pub filename: String,
    pub size: u64,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// The first bytes of the file (up to 64), for sniffing; not serialized.
    #[serde(skip)]
    pub head: Vec<u8>,
}

/// An upload slot made by `POST /v1/uploads`: the presigned fields the form POST must repeat.
#[derive(Debug, Clone)]
pub struct UploadSlot {
    pub token: String,
    pub filename: String,
    /// `key`, `policy`, `x-amz-signature`, in that order.
    pub fields: Vec<(String, String)>,
    pub runway_uri: String,
    /// Seconds on the simulator clock.
    pub created: f64,
    pub completed: Option<UploadRecord>,
}

/// What `SimState::output` finds for an output URL (whose signature was already checked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputLookup {
    /// The task exists and succeeded (or the voice is ready): the file type and, with
    /// `[sim:output_bytes=N]`, the size asked for.
    Ready { format: Format, bytes: Option<u64> },
    /// Unknown or deleted task or voice, output index out of range, or not (yet) succeeded.
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Succeed,
    Fail { code: String, message: String },
    Cancel,
}

#[derive(Debug, Clone)]
struct SimTask {
    id: String,
    /// The key that created it: only that key sees it.
    owner: String,
    model: String,
    format: Format,
    outputs: usize,
    created_unix_ms: u64,
    /// THROTTLED until this time (seconds on the simulator clock; creation time when a slot was free).
    queued_until: f64,
    run_start: f64,
    end: f64,
    outcome: Outcome,
    estimated: f64,
    /// `[sim:output_bytes=N]`: the size of each (video) output.
    output_bytes: Option<u64>,
}

impl SimTask {
    fn status_at(&self, now: f64) -> &'static str {
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

pub struct SimState {
    pub cfg: SimConfig,
    epoch: Instant,
    base_url: Mutex<String>,
    tasks: Mutex<HashMap<String, SimTask>>,
    /// Per model: end times of the tasks occupying its concurrency slots.
    slots: Mutex<HashMap<String, Vec<f64>>>,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<RequestRecord>>,
    created_per_model: Mutex<HashMap<String, u32>>,
    deleted: Mutex<u64>,
    uploads: Mutex<HashMap<String, UploadSlot>>,
    upload_posts: AtomicU64,
    /// f64 bits of the output URL lifetime in seconds.
    output_url_ttl: AtomicU64,
    /// Per-simulator key for output URL signatures.
    secret: [u64; 2],
    /// Custom voices (`/v1/voices`) and voice previews.
    pub(super) voices: Voices,
}

impl SimState {
    pub fn new(cfg: SimConfig) -> Self {
        let ttl = cfg.output_url_ttl.max(0.0);
        SimState {
            cfg,
            epoch: Instant::now(),
            base_url: Mutex::new(String::new()),
            tasks: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            created_per_model: Mutex::new(HashMap::new()),
            deleted: Mutex::new(0),
            uploads: Mutex::new(HashMap::new()),
            upload_posts: AtomicU64::new(0),
            output_url_ttl: AtomicU64::new(ttl.to_bits()),
            secret: [fastrand::u64(..), fastrand::u64(..)],
            voices: Voices::default(),
        }
    }

    /// Seconds an output URL stays valid after the task GET that issued it.
    pub fn output_url_ttl(&self) -> f64 {
        f64::from_bits(self.output_url_ttl.load(Ordering::Relaxed))
    }

    pub fn set_output_url_ttl(&self, seconds: f64) {
        self.output_url_ttl.store(seconds.max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// The signature of output `index` of task `id` valid until `exp` (unix ms): a keyed hash, hex.
    pub fn output_signature(&self, id: &str, index: usize, exp: u64) -> String {
        let mut out = String::with_capacity(32);
        for (i, k) in self.secret.iter().enumerate() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (k, i as u8, id, index as u64, exp).hash(&mut h);
            out.push_str(&format!("{:016x}", h.finish()));
        }
        out
    }

    /// A freshly signed output URL, valid for the configured lifetime from now.
    pub fn output_url(&self, id: &str, index: usize, ext: &str) -> String {
        let exp = now_unix_ms().saturating_add((self.output_url_ttl() * 1000.0).round() as u64);
        let sig = self.output_signature(id, index, exp);
        format!("{}/_sim/outputs/{id}/{index}.{ext}?exp={exp}&sig={sig}", self.base_url())
    }

    // ---- Ephemeral uploads ----

    /// Makes an upload slot for `filename` (`POST /v1/uploads`).
    pub fn create_upload(&self, filename: &str) -> UploadSlot {
        let hex = |n: usize| -> String { (0..n).map(|_| format!("{:02x}", fastrand::u8(..))).collect() };
        let token = hex(16);
        let slot = UploadSlot {
            token: token.clone(),
            filename: filename.to_string(),
            fields: vec![
                ("key".into(), format!("{token}/{filename}")),
                ("policy".into(), hex(48)),
                ("x-amz-signature".into(), hex(32)),
            ],
            runway_uri: format!("runway://{token}/{filename}"),
            created: self.now(),
            completed: None,
        };
        self.uploads.lock().unwrap().insert(token, slot.clone());
        slot
    }

    /// The slot of `token` while it still awaits its file (None when unknown or already used).
    pub fn open_upload(&self, token: &str) -> Option<UploadSlot> {
        self.uploads.lock().unwrap().get(token).filter(|u| u.completed.is_none()).cloned()
    }

    /// Records the file of an upload; false when the token is unknown or was used meanwhile.
    pub fn complete_upload(&self, token: &str, size: u64, head: &[u8]) -> bool {
        let at_ms = (self.now() * 1000.0) as u64;
        let mut uploads = self.uploads.lock().unwrap();
        match uploads.get_mut(token) {
            Some(u) if u.completed.is_none() => {
                u.completed = Some(UploadRecord {
                    token: token.to_string(),
                    filename: u.filename.clone(),
                    size,
                    at_ms,
                    head: head[..head.len().min(UPLOAD_HEAD_BYTES)].to_vec(),
                });
                true
            }
            _ => false,
        }
    }

    pub(crate) fn count_upload_post(&self) {
        self.upload_posts.fetch_add(1, Ordering::Relaxed);
    }

    /// Form POSTs received on upload URLs, successful or not.
    pub fn upload_posts(&self) -> u64 {
        self.upload_posts.load(Ordering::Relaxed)
    }

    /// Completed uploads, oldest first.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        let mut v: Vec<UploadRecord> =
            self.uploads.lock().unwrap().values().filter_map(|u| u.completed.clone()).collect();
        v.sort_by_key(|u| u.at_ms);
        v
    }

    /// Whether `uri` names a completed upload made less than 24 hours ago.
    pub fn runway_uri_valid(&self, uri: &str) -> bool {
        let Some(token) = uri.strip_prefix("runway://").and_then(|r| r.split('/').next()) else { return false };
        let now_ms = self.now() * 1000.0;
        self.uploads.lock().unwrap().get(token).is_some_and(|u| {
            u.runway_uri == uri
                && u.completed.as_ref().is_some_and(|c| now_ms - (c.at_ms as f64) < UPLOAD_TTL_SECS * 1000.0)
        })
    }

    pub fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    pub fn set_base_url(&self, url: String) {
        *self.base_url.lock().unwrap() = url;
    }

    pub fn base_url(&self) -> String {
        self.base_url.lock().unwrap().clone()
    }

    /// Logs a request; returns its sequence number.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        authorized: bool,
        version: Option<String>,
        host: Option<String>,
    ) -> u64 {
        let mut log = self.log.lock().unwrap();
        if log.len() >= 200_000 {
            log.drain(..100_000);
        }
        let seq = log.last().map_or(0, |r| r.seq + 1);
        log.push(RequestRecord {
            method: method.into(),
            path: path.into(),
            authorized,
            version,
            at_ms: (self.now() * 1000.0) as u64,
            seq,
            host,
            body: None,
        });
        seq
    }

    /// Attaches a parsed request body to the request's log record.
    pub fn record_body(&self, seq: u64, body: &Value) {
        let mut log = self.log.lock().unwrap();
        if let Some(r) = log.iter_mut().rev().find(|r| r.seq == seq) {
            r.body = Some(body.clone());
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }

    pub fn add_fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// The first queued fault matching this request, used up by one.
    pub fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap();
        let idx = faults.iter().position(|f| {
            f.remaining > 0
                && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let f = &mut faults[idx];
        f.remaining -= 1;
        let kind = f.kind.clone();
        if f.remaining == 0 {
            faults.remove(idx);
        }
        Some(kind)
    }

    pub fn daily_count(&self, model: &str) -> u32 {
        self.created_per_model.lock().unwrap().get(model).copied().unwrap_or(0)
    }

    pub fn tasks_created(&self) -> u32 {
        self.created_per_model.lock().unwrap().values().sum()
    }

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

    /// Whether output `index` of task `id` exists now (its task succeeded).
    pub fn output_kind(&self, id: &str, index: usize) -> Option<MediaKind> {
        let tasks = self.tasks.lock().unwrap();
        let t = tasks.get(id)?;
        (t.status_at(self.now()) == "SUCCEEDED" && index < t.outputs).then_some(t.format.kind())
    }

    /// Output `index` of task `id`, with the size a `[sim:output_bytes=N]` directive asked for;
    /// or the preview (index 0) of a ready voice or of a voice preview.
    pub fn output(&self, id: &str, index: usize) -> OutputLookup {
        let tasks = self.tasks.lock().unwrap();
        match tasks.get(id) {
            Some(t) if t.status_at(self.now()) == "SUCCEEDED" && index < t.outputs => {
                OutputLookup::Ready { format: t.format, bytes: t.output_bytes }
            }
            Some(_) => OutputLookup::Missing,
            None if index == 0 && self.voices.has_preview(id, self.now()) => {
                OutputLookup::Ready { format: Format::Mp3, bytes: None }
            }
            None => OutputLookup::Missing,
        }
    }

    pub fn organization_json(&self) -> Value {
        let now = self.now();
        let spent: f64 = self
            .tasks
            .lock()
            .unwrap()
            .values()
            .filter(|t| t.outcome == Outcome::Succeed && now >= t.end)
            .map(|t| t.estimated.round())
            .sum();
        let counts = self.created_per_model.lock().unwrap();
        let mut tier_models = serde_json::Map::new();
        let mut usage_models = serde_json::Map::new();
        for m in &crate::catalogue::catalogue().models {
            tier_models.insert(
                m.model.clone(),
                json!({"maxConcurrentGenerations": self.cfg.max_concurrency, "maxDailyGenerations": self.cfg.daily_limit}),
            );
        }
        for (model, n) in counts.iter() {
            usage_models.insert(model.clone(), json!({"dailyGenerations": n}));
        }
        json!({
            "creditBalance": (self.cfg.credit_balance - spent).max(0.0).round() as i64,
            "tier": {"maxMonthlyCreditSpend": 10_000, "models": tier_models},
            "usage": {"models": usage_models},
        })
    }

    pub fn credits_left(&self) -> f64 {
        self.organization_json()["creditBalance"].as_f64().unwrap_or(0.0)
    }
}

/// Test hooks written into a prompt, e.g. `a cat [sim:seconds=2] [sim:fail=SAFETY.INPUT.TEXT]`.
/// They let a test (or a person trying the server) choose a task's fate through any client.
#[derive(Debug, PartialEq)]
pub(super) struct Directives {
    pub seconds: Option<f64>,
    pub outputs: Option<usize>,
    pub outcome: Outcome,
    pub output_bytes: Option<u64>,
}

impl Directives {
    pub fn parse(prompt: &str) -> Self {
        let mut d = Directives { seconds: None, outputs: None, outcome: Outcome::Succeed, output_bytes: None };
        let mut rest = prompt;
        while let Some(i) = rest.find("[sim:") {
            let after = &rest[i + 5..];
            let Some(j) = after.find(']') else { break };
            let (key, val) = match after[..j].split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (after[..j].trim(), None),
            };
            match key {
                "seconds" => d.seconds = val.and_then(|v| v.parse().ok()),
                "outputs" => d.outputs = val.and_then(|v| v.parse().ok()),
                "output_bytes" => d.output_bytes = val.and_then(|v| v.parse().ok()),
                "cancelled" => d.outcome = Outcome::Cancel,
                "fail" => {
                    let code = val.unwrap_or("INTERNAL.BAD_OUTPUT.01").to_string();
                    let message = if code.starts_with("SAFETY") {
                        "The input or output was flagged by content moderation.".to_string()
                    } else {
                        "The generation failed (simulated failure).".to_string()
                    };
                    d.outcome = Outcome::Fail { code, message };
                }
                _ => {}
            }
            rest = &after[j + 1..];
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let d = Directives::parse("cat [sim:seconds=2.5] [sim:fail=SAFETY.INPUT.TEXT] [sim:outputs=3]");
        assert_eq!(d.seconds, Some(2.5));
        assert_eq!(d.outputs, Some(3));
        assert_eq!(d.output_bytes, None);
        assert_eq!(Directives::parse("big [sim:output_bytes=5000000]").output_bytes, Some(5_000_000));
        assert!(matches!(d.outcome, Outcome::Fail { ref code, .. } if code == "SAFETY.INPUT.TEXT"));
        assert_eq!(Directives::parse("plain").outcome, Outcome::Succeed);
        assert_eq!(Directives::parse("x [sim:cancelled]").outcome, Outcome::Cancel);
    }

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

    #[test]
    fn faults_are_consumed_in_order_and_matched() {
        let s = SimState::new(SimConfig::default());
        s.add_fault(Fault { kind: FaultKind::Reset, method: Some("POST".into()), path_prefix: None, remaining: 1 });
        s.add_fault(Fault {
            kind: FaultKind::Status { status: 503, retry_after: None, body: None },
            method: None,
            path_prefix: Some("/v1/tasks/".into()),
            remaining: 2,
        });
        assert_eq!(s.take_fault("GET", "/v1/organization"), None);
        assert!(matches!(s.take_fault("GET", "/v1/tasks/x"), Some(FaultKind::Status { status: 503, .. })));
        assert_eq!(s.take_fault("POST", "/v1/text_to_video"), Some(FaultKind::Reset));
        assert!(s.take_fault("GET", "/v1/tasks/x").is_some());
        assert_eq!(s.take_fault("GET", "/v1/tasks/x"), None);
    }
}
