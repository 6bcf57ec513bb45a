//! Custom voices (`/v1/voices`) of one account: create from a text description or an audio sample,
//! list, get, rename, delete, and voice-design previews. A new voice is PROCESSING for a quarter of
//! the configured task length, then READY with a signed MP3 `previewUrl` served like task outputs
//! (or FAILED, with `[sim:fail]` in its name or prompt). Requests arrive checked against the
//! catalogue; what is left here is the state. `POST /_sim/voices` adds a ready one to the main key.

use serde_json::{json, Map, Value};

use super::{no_content, not_found, ok, text, Call};
use crate::simulator::state::{Directives, Outcome, SimState};
use crate::simulator::{json_response, Resp, DOC_URL};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

/// Seconds from creating a voice to READY, as a share of `task_seconds`.
pub const VOICE_FACTOR: f64 = 0.25;
/// Length of the MP3 placeholder served as a preview (28 frames of 1152 samples at 32 kHz).
pub const PREVIEW_SECONDS: f64 = 1.008;
const WHAT: &str = "Voice";

#[derive(Debug, Clone)]
pub(super) struct Voice {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_ms: u64,
    /// Simulator clock seconds when processing ends.
    pub ready_at: f64,
    pub failure: Option<String>,
}

impl Voice {
    pub fn ready(id: String, name: String, description: Option<String>, now: f64) -> Voice {
        Voice { id, name, description, created_ms: now_unix_ms(), ready_at: now, failure: None }
    }

    /// Whether it has an MP3 preview to serve.
    pub fn is_ready(&self, now: f64) -> bool {
        now >= self.ready_at && self.failure.is_none()
    }

    pub fn json(&self, st: &SimState) -> Value {
        let mut j = json!({"id": self.id, "name": self.name, "description": self.description,
                           "createdAt": iso8601_millis(self.created_ms)});
        if st.now() < self.ready_at {
            j["status"] = json!("PROCESSING");
        } else if let Some(reason) = &self.failure {
            j["status"] = json!("FAILED");
            j["failureReason"] = json!(reason);
        } else {
            j["status"] = json!("READY");
            j["previewUrl"] = json!(st.output_url(&self.id, 0, "mp3"));
        }
        j
    }
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let body = call.body_obj();
    let id = call.id();
    match call.op.name.as_str() {
        "voices.create" => create(st, key, &body),
        "voices.preview" => {
            let preview = uuid_v4();
            st.res.previews.lock().unwrap().insert(preview.clone());
            ok(&json!({"url": st.output_url(&preview, 0, "mp3"), "durationSecs": PREVIEW_SECONDS}))
        }
        "voices.retrieve" => st.res.with(key, |a| match a.voices.iter().find(|v| v.id == id) {
            Some(v) => ok(&v.json(st)),
            None => not_found(WHAT),
        }),
        "voices.update" => st.res.with(key, |a| {
            let Some(v) = a.voices.iter_mut().find(|v| v.id == id) else { return not_found(WHAT) };
            if let Some(n) = text(&body, "name") {
                v.name = n.to_string();
            }
            if let Some(d) = body.get("description") {
                v.description = d.as_str().map(str::to_string);
            }
            ok(&v.json(st))
        }),
        "voices.delete" => st.res.with(key, |a| {
            let before = a.voices.len();
            a.voices.retain(|v| v.id != id);
            if a.voices.len() == before {
                not_found(WHAT)
            } else {
                no_content()
            }
        }),
        // Newest first, as Runway lists them.
        _ => st.res.with(key, |a| {
            let items = a.voices.iter().rev().map(|v| v.json(st)).collect();
            match st.res.cursors.page(&format!("{key}/voices.list"), items, &call.query) {
                Ok(page) => ok(&page),
                Err(r) => r,
            }
        }),
    }
}

fn create(st: &SimState, key: &str, body: &Map<String, Value>) -> Resp {
    // An audio sample given as a runway:// URI must name a live upload.
    let bad = crate::simulator::uploads::check_runway_uris(st, &Value::Object(body.clone()));
    if let Some(first) = bad.first() {
        let error_text = format!("Invalid asset: {}: {}", first.path_string(), first.message);
        return json_response(400, &json!({"error": error_text, "issues": bad, "docUrl": DOC_URL}));
    }
    let name = text(body, "name").unwrap_or_default();
    let prompt = body.get("from").and_then(|f| f.get("prompt")).and_then(Value::as_str).unwrap_or("");
    let d = Directives::parse(&format!("{name} {prompt}"));
    let failure = match d.outcome {
        Outcome::Fail { .. } => Some("The voice could not be created (simulated failure).".to_string()),
        _ => None,
    };
    let v = Voice {
        id: uuid_v4(),
        name: name.to_string(),
        description: text(body, "description").map(str::to_string),
        created_ms: now_unix_ms(),
        ready_at: st.now() + d.seconds.unwrap_or(st.cfg.task_seconds * VOICE_FACTOR).max(0.0),
        failure,
    };
    let id = v.id.clone();
    st.res.with(key, |a| a.voices.push(v));
    ok(&json!({"id": id}))
}

impl SimState {
    /// Adds a READY custom voice to the main key's account (for tests); returns its id.
    pub fn add_ready_voice(&self, name: &str, description: Option<&str>) -> String {
        let v = Voice::ready(uuid_v4(), name.into(), description.map(str::to_string), self.now());
        let id = v.id.clone();
        self.res.with(&self.cfg.api_key, |a| a.voices.push(v));
        id
    }

    /// A voice of `key` as `GET /v1/voices/{id}` shows it, or None when unknown or deleted.
    pub fn voice_json(&self, key: &str, id: &str) -> Option<Value> {
        self.res.with(key, |a| a.voices.iter().find(|v| v.id == id).map(|v| v.json(self)))
    }
}

/// `POST /_sim/voices` `{name?, description?}`: a READY voice of the main key at once; answers
/// with the voice.
pub fn admin_add(st: &SimState, body: &Value) -> Resp {
    let name = body.get("name").and_then(Value::as_str).unwrap_or("Simulated voice");
    let id = st.add_ready_voice(name, body.get("description").and_then(Value::as_str));
    ok(&st.voice_json(&st.cfg.api_key, &id).unwrap_or(Value::Null))
}
