//! Realtime avatar sessions (`/v1/realtime_sessions`), read off the clock like tasks: NOT_READY
//! for the first quarter of the configured task time, READY (with `sessionKey` and `expiresAt`)
//! until half of it, RUNNING until its end, then COMPLETED with the conversation's `duration`.
//! `[sim:fail]` in the personality ends it FAILED instead; DELETE cancels a live one (CANCELLED).
//!
//! The simulated conversation lasts `maxDuration` seconds, at most [`CONVERSATION_SECONDS`]:
//! the simulator does not stretch a session over real minutes, so it reports a plausible length.

use serde_json::{json, Value};

use super::{bad_field, no_content, not_found, ok, Call};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

const WHAT: &str = "Realtime session";
/// The longest conversation a completed session reports, in seconds.
pub const CONVERSATION_SECONDS: u64 = 60;
const DEFAULT_MAX_DURATION: u64 = 300;

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub id: String,
    /// The request form: `{type: runway-preset, presetId}` or `{type: custom, avatarId}`.
    pub avatar: Value,
    pub max_duration: u64,
    pub tools: Vec<Value>,
    pub start_script: Option<String>,
    pub created_ms: u64,
    /// Simulator clock seconds at creation, and the task time the timeline scales by.
    pub t0: f64,
    pub span: f64,
    pub fails: bool,
    pub cancelled_at: Option<f64>,
    pub session_key: String,
    /// The conversation view was deleted (the session stays).
    pub conversation_deleted: bool,
}

impl Session {
    pub fn new(id: String, avatar: Value, t0: f64, span: f64) -> Session {
        Session {
            id,
            avatar,
            max_duration: DEFAULT_MAX_DURATION,
            tools: Vec::new(),
            start_script: None,
            created_ms: now_unix_ms(),
            t0,
            span: span.max(0.01),
            fails: false,
            cancelled_at: None,
            session_key: format!("sk_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
            conversation_deleted: false,
        }
    }

    pub fn status(&self, now: f64) -> &'static str {
        let end = self.t0 + self.span;
        match self.cancelled_at {
            Some(c) if c < end => return "CANCELLED",
            _ => {}
        }
        if now >= end {
            if self.fails {
                "FAILED"
            } else {
                "COMPLETED"
            }
        } else if now >= self.t0 + self.span * 0.5 {
            "RUNNING"
        } else if now >= self.t0 + self.span * 0.25 {
            "READY"
        } else {
            "NOT_READY"
        }
    }

    /// Seconds the conversation lasted, once the session completed.
    pub fn duration(&self, now: f64) -> Option<u64> {
        (self.status(now) == "COMPLETED").then(|| self.max_duration.min(CONVERSATION_SECONDS))
    }

    /// Unix ms of a point of the timeline (a share of its span).
    pub fn at_ms(&self, share: f64) -> u64 {
        self.created_ms + (self.span * share * 1000.0) as u64
    }

    pub fn json(&self, now: f64) -> Value {
        let status = self.status(now);
        let mut j = json!({"id": self.id, "status": status, "createdAt": iso8601_millis(self.created_ms)});
        match status {
            "NOT_READY" => j["queued"] = json!(false),
            "READY" => {
                j["sessionKey"] = json!(self.session_key);
                j["expiresAt"] = json!(iso8601_millis(self.at_ms(0.5) + 300_000));
            }
            "COMPLETED" => j["duration"] = json!(self.duration(now)),
            "FAILED" => {
                j["failure"] = json!("The session failed (simulated failure).");
                j["failureCode"] = json!("INTERNAL.SESSION_FAILED");
            }
            _ => {}
        }
        j
    }
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let id = call.id();
    let now = st.now();
    match call.op.name.as_str() {
        "realtime_sessions.create" => {
            let body = call.body_obj();
            let avatar = body.get("avatar").cloned().unwrap_or(Value::Null);
            st.res.with(key, |a| {
                if avatar["type"] == "custom" {
                    let aid = avatar["avatarId"].as_str().unwrap_or_default();
                    if !a.avatars.iter().any(|v| v.id == aid) {
                        return bad_field(
                            vec![json!("avatar"), json!("avatarId")],
                            "custom",
                            format!("Avatar '{aid}' not found."),
                        );
                    }
                }
                let mut s = Session::new(uuid_v4(), avatar.clone(), now, st.cfg.task_seconds);
                s.max_duration = body.get("maxDuration").and_then(Value::as_u64).unwrap_or(DEFAULT_MAX_DURATION);
                s.tools = body.get("tools").and_then(Value::as_array).cloned().unwrap_or_default();
                s.start_script = body.get("startScript").and_then(Value::as_str).map(str::to_string);
                s.fails = body.get("personality").and_then(Value::as_str).is_some_and(|p| p.contains("[sim:fail"));
                let sid = s.id.clone();
                a.sessions.push(s);
                ok(&json!({"id": sid}))
            })
        }
        "realtime_sessions.retrieve" => st.res.with(key, |a| match a.sessions.iter().find(|s| s.id == id) {
            Some(s) => ok(&s.json(now)),
            None => not_found(WHAT),
        }),
        "realtime_sessions.delete" => st.res.with(key, |a| match a.sessions.iter_mut().find(|s| s.id == id) {
            Some(s) => {
                if !["COMPLETED", "FAILED", "CANCELLED"].contains(&s.status(now)) {
                    s.cancelled_at = Some(now);
                }
                no_content()
            }
            None => not_found(WHAT),
        }),
        _ => error(404, "Not found."),
    }
}
