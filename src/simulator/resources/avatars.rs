//! Custom avatars (`/v1/avatars`): PROCESSING for the configured task time after they are made
//! (or their reference image changes), then READY. `documentIds` must name documents of the same
//! account; an update replaces the list, and `startScript: null` clears the script.

use serde_json::{json, Map, Value};

use super::voices::Voice;
use super::{bad_field, no_content, not_found, ok, text, Account, Call};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

const WHAT: &str = "Avatar";

#[derive(Debug, Clone)]
pub(super) struct Avatar {
    pub id: String,
    pub name: String,
    pub personality: String,
    pub reference_image: Option<String>,
    /// The request form: `{type: runway-live-preset, presetId}` or `{type: custom, id}`.
    pub voice: Value,
    pub document_ids: Vec<String>,
    pub start_script: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
    /// Simulator clock seconds when processing ends.
    pub ready_at: f64,
}

impl Avatar {
    pub fn new(id: String, name: String, ready_at: f64) -> Avatar {
        let now = now_unix_ms();
        Avatar {
            id,
            name,
            personality: "A friendly guide.".into(),
            reference_image: Some("https://example.com/avatar.png".into()),
            voice: json!({"type": "runway-live-preset", "presetId": "victoria"}),
            document_ids: Vec::new(),
            start_script: None,
            created_ms: now,
            updated_ms: now,
            ready_at,
        }
    }

    /// The avatar as Runway shows it; a custom voice is described from the account's `voices`.
    pub fn json(&self, st: &SimState, voices: &[Voice]) -> Value {
        let ready = st.now() >= self.ready_at;
        let voice = match self.voice["type"].as_str() {
            Some("custom") => {
                let id = self.voice["id"].as_str().unwrap_or_default();
                match voices.iter().find(|v| v.id == id).map(|v| v.json(st)) {
                    Some(v) => {
                        json!({"type": "custom", "id": id, "deleted": false, "name": v["name"], "description": v["description"]})
                    }
                    None => json!({"type": "custom", "id": id, "deleted": true, "name": null, "description": null}),
                }
            }
            _ => {
                let preset = self.voice["presetId"].as_str().unwrap_or("victoria");
                let mut name = preset.to_string();
                name[..1].make_ascii_uppercase();
                json!({"type": "runway-live-preset", "presetId": preset, "name": name,
                       "description": format!("{name}, a Runway live voice.")})
            }
        };
        json!({"id": self.id, "name": self.name, "personality": self.personality, "startScript": self.start_script,
               "voice": voice, "referenceImageUri": self.reference_image,
               "processedImageUri": if ready { json!(self.reference_image) } else { Value::Null },
               "documentIds": self.document_ids, "status": if ready { "READY" } else { "PROCESSING" },
               "createdAt": iso8601_millis(self.created_ms), "updatedAt": iso8601_millis(self.updated_ms)})
    }
}

/// The 400 when `documentIds` names a document the account does not have.
fn check_documents(acct: &Account, body: &Map<String, Value>) -> Result<(), Resp> {
    let ids = body.get("documentIds").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, id) in ids.iter().enumerate() {
        let id = id.as_str().unwrap_or_default();
        if !acct.documents.iter().any(|d| d.id == id) {
            return Err(bad_field(
                vec![json!("documentIds"), json!(i)],
                "custom",
                format!("Document '{id}' not found."),
            ));
        }
    }
    Ok(())
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let body = call.body_obj();
    let id = call.id();
    let processing = st.cfg.task_seconds.max(0.0);
    match call.op.name.as_str() {
        "avatars.create" => st.res.with(key, |a| {
            if let Err(r) = check_documents(a, &body) {
                return r;
            }
            let mut av = Avatar::new(uuid_v4(), text(&body, "name").unwrap_or_default().into(), st.now() + processing);
            apply(&mut av, &body, st.now() + processing);
            let j = av.json(st, &a.voices);
            a.avatars.push(av);
            ok(&j)
        }),
        "avatars.retrieve" => st.res.with(key, |a| match a.avatars.iter().find(|v| v.id == id) {
            Some(v) => ok(&v.json(st, &a.voices)),
            None => not_found(WHAT),
        }),
        "avatars.update" => st.res.with(key, |a| {
            if body.is_empty() {
                return bad_field(vec![], "custom", "At least one field must be given.".into());
            }
            if let Err(r) = check_documents(a, &body) {
                return r;
            }
            let Some(av) = a.avatars.iter_mut().find(|v| v.id == id) else { return not_found(WHAT) };
            apply(av, &body, st.now() + processing);
            ok(&av.json(st, &a.voices))
        }),
        "avatars.delete" => st.res.with(key, |a| {
            let before = a.avatars.len();
            a.avatars.retain(|v| v.id != id);
            if a.avatars.len() < before {
                no_content()
            } else {
                not_found(WHAT)
            }
        }),
        "avatars.list" => {
            let items: Vec<Value> =
                st.res.with(key, |a| a.avatars.iter().rev().map(|v| v.json(st, &a.voices)).collect());
            match st.res.cursors.page(&format!("{key}/avatars.list"), items, &call.query) {
                Ok(v) => ok(&v),
                Err(r) => r,
            }
        }
        "avatars.get_usage" => super::conversations::usage(st, key, &call.query),
        _ => error(404, "Not found."),
    }
}

/// Applies create/update fields; a new reference image is processed again (until `ready_at`).
fn apply(av: &mut Avatar, body: &Map<String, Value>, ready_at: f64) {
    if let Some(n) = text(body, "name") {
        av.name = n.into();
    }
    if let Some(p) = text(body, "personality") {
        av.personality = p.into();
    }
    if let Some(r) = text(body, "referenceImage") {
        av.reference_image = Some(r.into());
        av.ready_at = ready_at;
    }
    if let Some(v) = body.get("voice").filter(|v| v.is_object()) {
        av.voice = v.clone();
    }
    if let Some(ids) = body.get("documentIds").and_then(Value::as_array) {
        av.document_ids = ids.iter().filter_map(Value::as_str).map(str::to_string).collect();
    }
    match body.get("startScript") {
        Some(Value::Null) => av.start_script = None,
        Some(Value::String(s)) => av.start_script = Some(s.clone()),
        _ => {}
    }
    av.updated_ms = now_unix_ms();
}
