//! Avatar conversations (`/v1/avatar_conversations`): the view of each realtime session (same
//! id) with its transcript, and the avatar usage report (`/v1/avatar_usage`) summed from them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::dates::{day_of, day_text, parse_instant, DAY_MS, MAX_RANGE_DAYS};
use super::sessions::Session;
use super::{bad_field, no_content, not_found, ok, Account, Call};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::iso8601_millis;

const WHAT: &str = "Conversation";

fn state_of(s: &Session, now: f64) -> &'static str {
    match s.status(now) {
        "COMPLETED" | "CANCELLED" => "ended",
        "FAILED" => "failed",
        _ => "in_progress",
    }
}

/// The avatar as conversations show it: list items carry a name, the detail an image.
fn avatar_json(acct: &Account, s: &Session, detail: bool) -> Value {
    match s.avatar["type"].as_str() {
        Some("custom") => {
            let id = s.avatar["avatarId"].as_str().unwrap_or_default();
            let av = acct.avatars.iter().find(|a| a.id == id);
            let mut j = json!({"type": "custom", "id": id, "name": av.map(|a| a.name.clone())});
            if detail {
                j["imageUrl"] = json!(av.and_then(|a| a.reference_image.clone()));
            }
            j
        }
        Some("runway-preset") => {
            let preset = s.avatar["presetId"].as_str().unwrap_or_default();
            let mut j = json!({"type": "runway-preset", "presetId": preset});
            if !detail {
                j["name"] = json!(preset);
            }
            j
        }
        _ => Value::Null,
    }
}

fn name_of(acct: &Account, s: &Session) -> String {
    let who = match avatar_json(acct, s, false) {
        Value::Object(m) => m.get("name").and_then(Value::as_str).unwrap_or("avatar").to_string(),
        _ => "avatar".into(),
    };
    format!("Conversation with {who}")
}

fn item(acct: &Account, s: &Session, now: f64) -> Value {
    json!({"id": s.id, "avatar": avatar_json(acct, s, false), "createdAt": iso8601_millis(s.created_ms),
           "duration": s.duration(now), "hasTools": !s.tools.is_empty(), "name": name_of(acct, s),
           "status": state_of(s, now)})
}

fn detail(acct: &Account, s: &Session, now: f64) -> Value {
    let status = state_of(s, now);
    let running = !["NOT_READY", "READY"].contains(&s.status(now));
    let started = s.at_ms(0.5);
    let transcript = if running {
        let hello = s.start_script.clone().unwrap_or_else(|| "Hello! How can I help you today?".into());
        vec![
            json!({"role": "assistant", "content": hello, "timestamp": iso8601_millis(started)}),
            json!({"role": "user", "content": "Tell me what you can do.", "timestamp": iso8601_millis(started + 2000)}),
        ]
    } else {
        Vec::new()
    };
    let tools: Vec<Value> = s
        .tools
        .iter()
        .map(|t| {
            json!({"name": t["name"].as_str().unwrap_or("tool"), "description": t["description"].as_str().unwrap_or(""),
                        "type": if t["type"] == "backend_rpc" { "backend_rpc" } else { "client_event" }})
        })
        .collect();
    let ended = status != "in_progress";
    let mut j = json!({"id": s.id, "avatar": avatar_json(acct, s, true), "createdAt": iso8601_millis(s.created_ms),
                       "duration": s.duration(now), "maxDuration": s.max_duration, "name": name_of(acct, s),
                       "status": status, "tools": tools, "transcript": transcript,
                       "startedAt": if running { json!(iso8601_millis(started)) } else { Value::Null },
                       "recordingUrl": null});
    if ended {
        j["endedAt"] = json!(iso8601_millis(s.at_ms(1.0)));
    }
    if status == "failed" {
        j["failure"] = json!("The session failed (simulated failure).");
        j["failureCode"] = json!("INTERNAL.SESSION_FAILED");
    }
    j
}

/// `startDate`/`endDate` of a query as Unix ms (absent: unbounded); a 400 when unreadable.
fn range(query: &Map<String, Value>) -> Result<(Option<u64>, Option<u64>), Resp> {
    let mut out = [None, None];
    for (i, k) in ["startDate", "endDate"].iter().enumerate() {
        if let Some(v) = query.get(*k).and_then(Value::as_str) {
            out[i] = Some(parse_instant(v).ok_or_else(|| {
                bad_field(vec![json!(k)], "invalid_string", format!("'{v}' is not an ISO-8601 date or datetime"))
            })?);
        }
    }
    Ok((out[0], out[1]))
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let id = call.id();
    let now = st.now();
    let visible = |s: &&Session| !s.conversation_deleted;
    match call.op.name.as_str() {
        "avatar_conversations.retrieve" => {
            st.res.with(key, |a| match a.sessions.iter().filter(visible).find(|s| s.id == id) {
                Some(s) => ok(&detail(a, s, now)),
                None => not_found(WHAT),
            })
        }
        "avatar_conversations.delete" => {
            st.res.with(key, |a| match a.sessions.iter_mut().find(|s| s.id == id && !s.conversation_deleted) {
                Some(s) => {
                    s.conversation_deleted = true;
                    no_content()
                }
                None => not_found(WHAT),
            })
        }
        "avatar_conversations.list" => {
            let (from, to) = match range(&call.query) {
                Ok(r) => r,
                Err(r) => return r,
            };
            let avatar = call.query.get("avatar").and_then(Value::as_str);
            let items: Vec<Value> = st.res.with(key, |a| {
                a.sessions
                    .iter()
                    .rev()
                    .filter(visible)
                    .filter(|s| from.is_none_or(|f| s.created_ms >= f) && to.is_none_or(|t| s.created_ms < t))
                    .filter(|s| avatar.is_none_or(|av| s.avatar["avatarId"] == av))
                    .map(|s| item(a, s, now))
                    .collect()
            });
            let scope = format!("{key}/avatar_conversations.list/{:?}/{from:?}/{to:?}", avatar);
            match st.res.cursors.page(&scope, items, &call.query) {
                Ok(v) => ok(&v),
                Err(r) => r,
            }
        }
        _ => error(404, "Not found."),
    }
}

/// `GET /v1/avatar_usage`: completed sessions created in `[startDate, endDate)`, at most 90 days.
pub(super) fn usage(st: &SimState, key: &str, query: &Map<String, Value>) -> Resp {
    let (Some(from), Some(to)) = (match range(query) {
        Ok(r) => r,
        Err(r) => return r,
    }) else {
        return bad_field(vec![json!("startDate")], "invalid_type", "startDate and endDate are required".into());
    };
    // An empty range (equal ends) is answered with zeros; the reference only bounds its length.
    if to < from {
        return bad_field(vec![json!("endDate")], "custom", "endDate must not be before startDate".into());
    }
    if to - from > MAX_RANGE_DAYS * DAY_MS {
        return bad_field(
            vec![json!("endDate")],
            "custom",
            format!("The range may span at most {MAX_RANGE_DAYS} days"),
        );
    }
    let now = st.now();
    let mut by_day: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    st.res.with(key, |a| {
        for s in a.sessions.iter().filter(|s| s.created_ms >= from && s.created_ms < to) {
            if let Some(d) = s.duration(now) {
                let e = by_day.entry(day_of(s.created_ms)).or_default();
                e.0 += d;
                e.1 += 1;
            }
        }
    });
    let total: u64 = by_day.values().map(|v| v.0).sum();
    let sessions: u64 = by_day.values().map(|v| v.1).sum();
    let days: Vec<Value> =
        by_day.iter().map(|(d, (secs, n))| json!({"date": day_text(*d), "seconds": secs, "sessions": n})).collect();
    ok(&json!({"totalSeconds": total, "totalSessions": sessions,
               "avgDurationSeconds": total.checked_div(sessions).unwrap_or(0), "byDay": days}))
}
