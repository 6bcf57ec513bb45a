//! `POST /_sim/seed {"resource", "id", "key"?}`: an object of that resource with exactly that id,
//! with plausible content, for the key (default: the simulator's main key). Answers the object as
//! its retrieve would. Lets tests (and the SDK's own test suite) read ids they did not create.

use serde_json::{json, Value};

use super::avatars::Avatar;
use super::documents::Document;
use super::organization::audit_entry;
use super::routers::Router;
use super::sessions::Session;
use super::voices::Voice;
use super::workflows::{Invocation, Workflow};
use crate::catalogue::{catalogue, MediaKind};
use crate::simulator::placeholders::Format;
use crate::simulator::state::SimState;
use crate::simulator::{error, json_response, Resp};
use crate::util::now_unix_ms;

pub const RESOURCES: [&str; 10] = [
    "router",
    "avatar",
    "document",
    "voice",
    "realtime_session",
    "avatar_conversation",
    "workflow",
    "workflow_invocation",
    "audit_log",
    "task",
];

pub fn seed(st: &SimState, v: &Value) -> Resp {
    let (Some(resource), Some(id)) = (v["resource"].as_str(), v["id"].as_str().filter(|s| !s.is_empty())) else {
        return error(400, "seed needs \"resource\" and \"id\"");
    };
    let key = v["key"].as_str().map_or_else(|| st.cfg.api_key.clone(), str::to_string);
    let id = id.to_string();
    let now = st.now();
    // Made already finished (or ready), so reads see a settled object.
    let past = now - st.cfg.task_seconds.max(0.05) - 1.0;
    let answer = match resource {
        "task" => {
            let model =
                catalogue().models.iter().find(|m| m.output == MediaKind::Video && !m.fixed).expect("a video model");
            st.seed_task(&key, &id, model);
            st.task_json(&key, &id).unwrap_or(Value::Null)
        }
        _ => st.res.with(&key, |a| match resource {
            "router" => {
                a.routers.retain(|r| r.id != id && r.slug != id);
                let r = Router::new(id.clone(), format!("seeded-{}", &id[..id.len().min(8)]));
                let j = r.json();
                a.routers.push(r);
                j
            }
            "avatar" => {
                a.avatars.retain(|x| x.id != id);
                let av = Avatar::new(id.clone(), "Seeded avatar".into(), past);
                let j = av.json(st, &a.voices);
                a.avatars.push(av);
                j
            }
            "voice" => {
                a.voices.retain(|x| x.id != id);
                let v = Voice::ready(id.clone(), "Seeded voice".into(), None, now);
                let j = v.json(st);
                a.voices.push(v);
                j
            }
            "document" => {
                a.documents.retain(|x| x.id != id);
                let d = Document::new(id.clone(), "Seeded document".into(), "# Notes\nSeeded content.".into());
                let j = d.json(a, true);
                a.documents.push(d);
                j
            }
            "realtime_session" | "avatar_conversation" => {
                a.sessions.retain(|x| x.id != id);
                let mut s = Session::new(
                    id.clone(),
                    json!({"type": "runway-preset", "presetId": "game-character"}),
                    past,
                    st.cfg.task_seconds,
                );
                s.created_ms = now_unix_ms().saturating_sub(((st.cfg.task_seconds + 1.0) * 1000.0) as u64);
                let j = s.json(now);
                a.sessions.push(s);
                j
            }
            "workflow" => {
                a.workflows.retain(|x| x.id != id);
                let w = Workflow::new(
                    id.clone(),
                    "Seeded workflow",
                    &[("prompt", "primitive")],
                    &[("result", MediaKind::Image)],
                );
                let j = w.json();
                a.workflows.push(w);
                j
            }
            "workflow_invocation" => {
                a.invocations.retain(|x| x.id != id);
                let inv = Invocation {
                    id: id.clone(),
                    created_ms: now_unix_ms(),
                    t0: past,
                    span: st.cfg.task_seconds.max(0.05),
                    nodes: vec![("result".into(), Format::default_for(MediaKind::Image), false)],
                };
                let j = inv.json(st, now);
                a.invocations.push(inv);
                j
            }
            "audit_log" => {
                a.audit_logs.retain(|x| x["eventId"] != id.as_str());
                let e = audit_entry(&id, 0, now_unix_ms());
                a.audit_logs.insert(0, e.clone());
                e
            }
            _ => Value::Null,
        }),
    };
    if answer.is_null() {
        return error(400, &format!("unknown resource {resource:?}; use one of {}", RESOURCES.join(", ")));
    }
    json_response(200, &answer)
}
