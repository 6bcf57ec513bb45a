//! Custom voices (`/v1/voices`): create from a text description or an audio sample, list with
//! cursor pagination, get, rename, delete, and voice-design previews. A new voice is PROCESSING
//! for a quarter of the configured task length, then READY with a signed MP3 `previewUrl` served
//! like task outputs (or FAILED, with `[sim:fail]` in its name or prompt). The simulator starts
//! with no voices; `POST /_sim/voices` (or [`SimState::add_ready_voice`]) adds a ready one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use hyper::body::Incoming;
use hyper::{Method, Request};
use serde_json::{json, Map, Value};

use super::state::{Directives, Outcome, SimState};
use super::{empty, error, invalid, json_response, query_param, read_json, Resp};
use crate::catalogue::{check_media, MediaKind};
use crate::errors::Issue;
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

/// Seconds from creating a voice to READY, as a share of `task_seconds`.
pub const VOICE_FACTOR: f64 = 0.25;
/// The voice-design models of `from.type: "text"` and of previews.
pub const DESIGN_MODELS: [&str; 2] = ["eleven_ttv_v3", "eleven_multilingual_ttv_v2"];
/// Length of the MP3 placeholder served as a preview (28 frames of 1152 samples at 32 kHz).
pub const PREVIEW_SECONDS: f64 = 1.008;
const NOT_FOUND: &str = "Voice not found.";

#[derive(Debug, Clone)]
struct Voice {
    id: String,
    name: String,
    description: Option<String>,
    created_unix_ms: u64,
    /// Creation order; list pages go newest first and cursors name a position in this order.
    seq: u64,
    /// Seconds on the simulator clock when processing ends.
    ready_at: f64,
    failure: Option<String>,
}

#[derive(Default)]
pub struct Voices {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    voices: HashMap<String, Voice>,
    next_seq: u64,
    /// Ids of `POST /v1/voices/preview` results, whose MP3 is served as an output.
    previews: HashSet<String>,
}

impl Voices {
    /// Whether `id` is a ready voice or a preview, i.e. has an MP3 to serve.
    pub fn has_preview(&self, id: &str, now: f64) -> bool {
        let inner = self.inner.lock().unwrap();
        inner.previews.contains(id) || inner.voices.get(id).is_some_and(|v| now >= v.ready_at && v.failure.is_none())
    }

    fn insert(&self, name: String, description: Option<String>, ready_at: f64, failure: Option<String>) -> String {
        let mut inner = self.inner.lock().unwrap();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let id = uuid_v4();
        let v = Voice { id: id.clone(), name, description, created_unix_ms: now_unix_ms(), seq, ready_at, failure };
        inner.voices.insert(id.clone(), v);
        id
    }

    fn get(&self, id: &str) -> Option<Voice> {
        self.inner.lock().unwrap().voices.get(id).cloned()
    }
}

impl SimState {
    /// Adds a READY custom voice (for tests); returns its id.
    pub fn add_ready_voice(&self, name: &str, description: Option<&str>) -> String {
        self.voices.insert(name.to_string(), description.map(str::to_string), self.now(), None)
    }

    /// Adds (or replaces) a READY custom voice with exactly `id` (for `POST /_sim/seed`).
    pub fn add_voice_with_id(&self, id: &str, name: &str) {
        let mut inner = self.voices.inner.lock().unwrap();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let v = Voice {
            id: id.into(),
            name: name.into(),
            description: None,
            created_unix_ms: now_unix_ms(),
            seq,
            ready_at: self.now(),
            failure: None,
        };
        inner.voices.insert(id.into(), v);
    }

    /// The voice as `GET /v1/voices/{id}` shows it, or None when unknown or deleted.
    pub fn voice_json(&self, id: &str) -> Option<Value> {
        self.voices.get(id).map(|v| self.render(&v))
    }

    fn render(&self, v: &Voice) -> Value {
        let mut j = json!({"id": v.id, "name": v.name, "description": v.description,
                           "createdAt": iso8601_millis(v.created_unix_ms)});
        if self.now() < v.ready_at {
            j["status"] = json!("PROCESSING");
        } else if let Some(reason) = &v.failure {
            j["status"] = json!("FAILED");
            j["failureReason"] = json!(reason);
        } else {
            j["status"] = json!("READY");
            j["previewUrl"] = json!(self.output_url(&v.id, 0, "mp3"));
        }
        j
    }
}

/// `/v1/voices…`; `rest` is the path after `/v1/voices` (empty, `/preview` or `/<id>`).
pub async fn handle(st: &SimState, method: &Method, rest: &str, req: Request<Incoming>) -> Resp {
    let query = req.uri().query().unwrap_or("").to_string();
    match (rest, method) {
        ("" | "/", &Method::GET) => list(st, &query),
        ("" | "/", &Method::POST) => match read_json(req).await {
            Ok(b) => create(st, &b),
            Err(r) => r,
        },
        ("" | "/", _) => error(405, "Method not allowed."),
        ("/preview", &Method::POST) => match read_json(req).await {
            Ok(b) => preview(st, &b),
            Err(r) => r,
        },
        ("/preview", _) => error(405, "Method not allowed."),
        (r, m) => {
            let id = r.trim_start_matches('/');
            if id.is_empty() || id.contains('/') {
                return error(404, "Not found.");
            }
            match *m {
                Method::GET => match st.voice_json(id) {
                    Some(v) => json_response(200, &v),
                    None => error(404, NOT_FOUND),
                },
                Method::PATCH => match read_json(req).await {
                    Ok(b) => update(st, id, &b),
                    Err(r) => r,
                },
                Method::DELETE => {
                    if st.voices.inner.lock().unwrap().voices.remove(id).is_some() {
                        empty(204)
                    } else {
                        error(404, NOT_FOUND)
                    }
                }
                _ => error(405, "Method not allowed."),
            }
        }
    }
}

/// `GET /v1/voices?limit=&cursor=`: newest first, `{data, hasMore, nextCursor}`.
fn list(st: &SimState, query: &str) -> Resp {
    let mut issues = Vec::new();
    let limit = match query_param(query, "limit") {
        None => 50,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as usize,
            Ok(n) => {
                let code = if n < 1 { "too_small" } else { "too_big" };
                issues.push(issue(code, &["limit"], format!("{n} is out of range; allowed from 1 to 100")));
                0
            }
            Err(_) => {
                issues.push(issue("invalid_type", &["limit"], format!("expected an integer from 1 to 100, got '{s}'")));
                0
            }
        },
    };
    let before = match query_param(query, "cursor") {
        None => u64::MAX,
        Some(c) => match parse_cursor(c) {
            Some(seq) => seq,
            None => {
                issues.push(issue("custom", &["cursor"], "not a cursor from a previous page".into()));
                0
            }
        },
    };
    if !issues.is_empty() {
        return invalid(&issues);
    }
    let mut page: Vec<Voice> =
        st.voices.inner.lock().unwrap().voices.values().filter(|v| v.seq < before).cloned().collect();
    page.sort_by_key(|v| std::cmp::Reverse(v.seq));
    let has_more = page.len() > limit;
    page.truncate(limit);
    let next = if has_more { page.last().map(|v| json!(cursor_for(v.seq))) } else { None };
    let data: Vec<Value> = page.iter().map(|v| st.render(v)).collect();
    json_response(200, &json!({"data": data, "hasMore": has_more, "nextCursor": next.unwrap_or(Value::Null)}))
}

fn cursor_for(seq: u64) -> String {
    format!("vc_{seq:012x}")
}

fn parse_cursor(c: &str) -> Option<u64> {
    let hex = c.strip_prefix("vc_").filter(|h| h.len() == 12)?;
    u64::from_str_radix(hex, 16).ok()
}

/// `POST /v1/voices` `{name, description?, from}` → `{id}`.
fn create(st: &SimState, body: &Value) -> Resp {
    let Some(obj) = body.as_object() else {
        return invalid(&[issue("invalid_type", &[], format!("expected a JSON object, got {}", kind_of(body)))]);
    };
    let mut issues = Vec::new();
    text_field(obj, "name", &["name"], 1, 100, Presence::Required, &mut issues);
    text_field(obj, "description", &["description"], 0, 1024, Presence::Nullable, &mut issues);
    let mut prompt = "";
    match obj.get("from") {
        None => issues.push(issue("invalid_type", &["from"], "required; an object with type 'text' or 'audio'".into())),
        Some(Value::Object(from)) => match from.get("type").and_then(Value::as_str) {
            Some("text") => {
                text_field(from, "prompt", &["from", "prompt"], 20, 1000, Presence::Required, &mut issues);
                enum_field(from, "model", &["from", "model"], &DESIGN_MODELS, &mut issues);
                prompt = from.get("prompt").and_then(Value::as_str).unwrap_or("");
            }
            Some("audio") => match from.get("audio") {
                None => issues.push(issue("invalid_type", &["from", "audio"], "required; an audio URI".into())),
                Some(v) => {
                    if let Some(msg) = check_media(MediaKind::Audio, v) {
                        let code = if v.is_string() { "invalid_string" } else { "invalid_type" };
                        issues.push(issue(code, &["from", "audio"], msg));
                    }
                }
            },
            _ => issues.push(issue(
                "invalid_union_discriminator",
                &["from", "type"],
                format!("expected 'text' or 'audio', got {}", show(from.get("type"))),
            )),
        },
        Some(other) => {
            issues.push(issue("invalid_type", &["from"], format!("expected an object, got {}", kind_of(other))))
        }
    }
    if !issues.is_empty() {
        return invalid(&issues);
    }
    // An audio sample given as a runway:// URI must name a live upload.
    let bad = super::uploads::check_runway_uris(st, body);
    if let Some(first) = bad.first() {
        let error_text = format!("Invalid asset: {}: {}", first.path_string(), first.message);
        return json_response(400, &json!({"error": error_text, "issues": bad, "docUrl": super::DOC_URL}));
    }
    let name = obj["name"].as_str().unwrap_or_default();
    let d = Directives::parse(&format!("{name} {prompt}"));
    let ready_at = st.now() + d.seconds.unwrap_or(st.cfg.task_seconds * VOICE_FACTOR).max(0.0);
    let failure = match d.outcome {
        Outcome::Fail { .. } => Some("The voice could not be created (simulated failure).".to_string()),
        _ => None,
    };
    let description = obj.get("description").and_then(Value::as_str).map(str::to_string);
    let id = st.voices.insert(name.to_string(), description, ready_at, failure);
    json_response(200, &json!({"id": id}))
}

/// `PATCH /v1/voices/{id}` `{name?, description?}` → the voice.
fn update(st: &SimState, id: &str, body: &Value) -> Resp {
    if st.voices.get(id).is_none() {
        return error(404, NOT_FOUND);
    }
    let Some(obj) = body.as_object() else {
        return invalid(&[issue("invalid_type", &[], format!("expected a JSON object, got {}", kind_of(body)))]);
    };
    let mut issues = Vec::new();
    text_field(obj, "name", &["name"], 1, 100, Presence::Optional, &mut issues);
    text_field(obj, "description", &["description"], 0, 1024, Presence::Nullable, &mut issues);
    if !issues.is_empty() {
        return invalid(&issues);
    }
    {
        let mut inner = st.voices.inner.lock().unwrap();
        let Some(v) = inner.voices.get_mut(id) else { return error(404, NOT_FOUND) };
        if let Some(n) = obj.get("name").and_then(Value::as_str) {
            v.name = n.to_string();
        }
        if let Some(d) = obj.get("description") {
            v.description = d.as_str().map(str::to_string);
        }
    }
    match st.voice_json(id) {
        Some(v) => json_response(200, &v),
        None => error(404, NOT_FOUND),
    }
}

/// `POST /v1/voices/preview` `{model, prompt}` → `{url, durationSecs}`.
fn preview(st: &SimState, body: &Value) -> Resp {
    let Some(obj) = body.as_object() else {
        return invalid(&[issue("invalid_type", &[], format!("expected a JSON object, got {}", kind_of(body)))]);
    };
    let mut issues = Vec::new();
    enum_field(obj, "model", &["model"], &DESIGN_MODELS, &mut issues);
    text_field(obj, "prompt", &["prompt"], 20, 1000, Presence::Required, &mut issues);
    if !issues.is_empty() {
        return invalid(&issues);
    }
    let id = uuid_v4();
    st.voices.inner.lock().unwrap().previews.insert(id.clone());
    json_response(200, &json!({"url": st.output_url(&id, 0, "mp3"), "durationSecs": PREVIEW_SECONDS}))
}

/// `POST /_sim/voices` `{name?, description?}`: a READY voice at once; answers with the voice.
pub fn admin_add(st: &SimState, body: &Value) -> Resp {
    let name = body.get("name").and_then(Value::as_str).unwrap_or("Simulated voice");
    let id = st.add_ready_voice(name, body.get("description").and_then(Value::as_str));
    match st.voice_json(&id) {
        Some(v) => json_response(200, &v),
        None => error(500, "voice vanished"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Presence {
    Required,
    Optional,
    /// Optional, and `null` is accepted.
    Nullable,
}

/// A string of `min..=max` UTF-16 code units (as Runway counts), with the catalogue's messages.
fn text_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &[&str],
    min: usize,
    max: usize,
    presence: Presence,
    issues: &mut Vec<Issue>,
) {
    match obj.get(key) {
        None if presence == Presence::Required => {
            issues.push(issue("invalid_type", path, format!("required; text of at most {max} UTF-16 code units")))
        }
        None => {}
        Some(Value::Null) if presence == Presence::Nullable => {}
        Some(Value::String(s)) => {
            let n = s.encode_utf16().count();
            if n > max {
                issues.push(issue("too_big", path, format!("{n} UTF-16 code units; at most {max} allowed")));
            } else if n < min {
                let what = if min == 1 {
                    "must not be empty".to_string()
                } else {
                    format!("{n} UTF-16 code units; at least {min} required")
                };
                issues.push(issue("too_small", path, what));
            }
        }
        Some(v) => issues.push(issue("invalid_type", path, format!("expected text, got {}", kind_of(v)))),
    }
}

fn enum_field(obj: &Map<String, Value>, key: &str, path: &[&str], allowed: &[&str], issues: &mut Vec<Issue>) {
    let list = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    match obj.get(key) {
        None => issues.push(issue("invalid_type", path, format!("required; one of: {list}"))),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => {}
        Some(v) => {
            issues.push(issue("invalid_enum_value", path, format!("{} is not allowed; one of: {list}", show(Some(v)))))
        }
    }
}

fn issue(code: &str, path: &[&str], message: String) -> Issue {
    Issue { code: code.into(), path: path.iter().map(|p| json!(p)).collect(), message }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(Value::String(s)) => format!("'{s}'"),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        for seq in [0, 1, 4095, 1 << 40] {
            assert_eq!(parse_cursor(&cursor_for(seq)), Some(seq));
        }
        for bad in ["", "vc_", "vc_12", "xx_000000000001", "vc_00000000000g", "vc_0000000000001"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_limits_count_utf16() {
        let mut issues = Vec::new();
        let obj = json!({"a": "", "b": "x".repeat(101), "c": null, "d": 3, "e": "😀".repeat(50)});
        let o = obj.as_object().unwrap();
        text_field(o, "a", &["a"], 1, 100, Presence::Required, &mut issues);
        text_field(o, "b", &["b"], 1, 100, Presence::Required, &mut issues);
        text_field(o, "c", &["c"], 0, 100, Presence::Nullable, &mut issues);
        text_field(o, "d", &["d"], 0, 100, Presence::Optional, &mut issues);
        text_field(o, "e", &["e"], 1, 99, Presence::Optional, &mut issues);
        text_field(o, "z", &["z"], 1, 100, Presence::Optional, &mut issues);
        let codes: Vec<(&str, &str)> = issues.iter().map(|i| (i.code.as_str(), i.path[0].as_str().unwrap())).collect();
        assert_eq!(codes, [("too_small", "a"), ("too_big", "b"), ("invalid_type", "d"), ("too_big", "e")]);
    }
}
