//! The organization's reports: API credit usage per day and model, built from the account's
//! tasks (`POST /v1/organization/usage`), and the linked web-app workspace's usage rows and audit
//! log, seeded per account (the simulator has no web app to record them).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::dates::{day_of, day_text, parse_day, parse_instant, DAY_MS, MAX_RANGE_DAYS};
use super::{bad_field, not_found, ok, text, Account, Call};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

const ACTIONS: [&str; 5] = ["UserLogin", "PasswordChanged", "WorkspaceCreated", "MemberInvited", "MemberRoleChanged"];
const EMAILS: [&str; 3] = ["ada@example.com", "grace@example.com", "alan@example.com"];
const TOOLS: [&str; 4] = ["Gen-4.5", "Gen-4 Image", "Act-Two", "Aleph"];
/// Seeded rows of each web-app report.
const SEEDED_ROWS: u64 = 120;

/// An audit log entry as the list shows it.
pub(super) fn audit_entry(event_id: &str, i: u64, at_ms: u64) -> Value {
    let email = EMAILS[(i % 3) as usize];
    json!({"eventId": event_id, "action": ACTIONS[(i % 5) as usize], "actorDeleted": false, "actorEmail": email,
           "actorUsername": email.split('@').next(), "timestamp": iso8601_millis(at_ms),
           "workspaceId": 1001, "workspaceName": "Simulated studio"})
}

pub(super) fn seed_reports(acct: &mut Account) {
    let now = now_unix_ms();
    for i in 0..SEEDED_ROWS {
        let at = now - (i + 1) * DAY_MS / 2;
        acct.audit_logs.push(audit_entry(&uuid_v4(), i, at));
        acct.webapp_usage.push(json!({"credits": 5 + (i % 7) * 5, "email": EMAILS[(i % 3) as usize],
            "timestamp": iso8601_millis(at), "tool": TOOLS[(i % 4) as usize],
            "type": if i % 10 == 9 { "refund" } else { "charge" }, "workspaceId": 1001, "workspaceName": "Simulated studio"}));
    }
}

/// The detail fields of an audit log entry.
fn audit_detail(entry: &Value) -> Value {
    let mut j = entry.clone();
    j["clientIpAddress"] = json!("203.0.113.7");
    j["requestId"] = json!(format!("req_{}", entry["eventId"].as_str().unwrap_or_default()));
    j["resourceId"] = json!("1001");
    j["resourceType"] = json!("workspace");
    j["userAgent"] = json!("Mozilla/5.0 (simulated)");
    j["metadata"] = json!({"Workspace ID": 1001, "Workspace name": "Simulated studio", "Login method": "password"});
    j
}

/// Whether a row's `timestamp` is in `[from, to)` of the query (each optional).
fn in_range(row: &Value, query: &Map<String, Value>) -> bool {
    let t = row["timestamp"].as_str().and_then(parse_instant).unwrap_or(0);
    let bound = |k: &str| query.get(k).and_then(Value::as_str).and_then(parse_instant);
    bound("from").is_none_or(|f| t >= f) && bound("to").is_none_or(|e| t < e)
}

fn listed(query: &Map<String, Value>, k: &str, v: &Value) -> bool {
    match query.get(k).and_then(Value::as_array) {
        Some(items) if !items.is_empty() => items.contains(v),
        _ => true,
    }
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let q = &call.query;
    let paged = |name: &str, items: Vec<Value>| {
        let scope = format!("{key}/{name}/{}", serde_json::to_string(&strip_page(q)).unwrap_or_default());
        match st.res.cursors.page(&scope, items, q) {
            Ok(v) => ok(&v),
            Err(r) => r,
        }
    };
    match call.op.name.as_str() {
        "organization.retrieve_usage" => usage(st, key, &call.body_obj()),
        "organization.webapp.list_usage" => {
            let items = st.res.with(key, |a| a.webapp_usage.iter().filter(|r| in_range(r, q)).cloned().collect());
            paged(&call.op.name, items)
        }
        "organization.webapp.audit_logs.list" => {
            let items = st.res.with(key, |a| {
                a.audit_logs
                    .iter()
                    .filter(|r| {
                        in_range(r, q)
                            && listed(q, "actions", &r["action"])
                            && listed(q, "actorEmails", &r["actorEmail"])
                    })
                    .cloned()
                    .collect()
            });
            paged(&call.op.name, items)
        }
        "organization.webapp.audit_logs.retrieve" => {
            st.res.with(key, |a| match a.audit_logs.iter().find(|r| r["eventId"] == call.id()) {
                Some(r) => ok(&audit_detail(r)),
                None => not_found("Audit log entry"),
            })
        }
        _ => error(404, "Not found."),
    }
}

fn strip_page(q: &Map<String, Value>) -> Map<String, Value> {
    q.iter().filter(|(k, _)| *k != "limit" && *k != "cursor").map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `POST /v1/organization/usage`: credits per UTC day and model of the key's tasks in
/// `[startDate, beforeDate)` (defaults: the last 30 days), at most 90 days.
fn usage(st: &SimState, key: &str, body: &Map<String, Value>) -> Resp {
    let today = day_of(now_unix_ms());
    let day = |k: &str| -> Result<Option<i64>, Resp> {
        match text(body, k) {
            None => Ok(None),
            Some(s) => parse_day(s)
                .map(Some)
                .ok_or_else(|| bad_field(vec![json!(k)], "invalid_string", format!("'{s}' is not a YYYY-MM-DD date"))),
        }
    };
    let (start, before) = match (day("startDate"), day("beforeDate")) {
        (Ok(s), Ok(b)) => (s, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let start = start.unwrap_or(today - 30);
    let before = before.unwrap_or(start + 30);
    // beforeDate is exclusive, so equal dates are an empty range: no rows, not an error.
    if before < start {
        return bad_field(vec![json!("beforeDate")], "custom", "beforeDate must not be before startDate".into());
    }
    if before - start > MAX_RANGE_DAYS as i64 {
        return bad_field(
            vec![json!("beforeDate")],
            "custom",
            format!("beforeDate may be at most {MAX_RANGE_DAYS} days after startDate"),
        );
    }
    let mut per_day: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
    for (created, model, credits) in st.task_charges(key) {
        let d = day_of(created);
        if d >= start && d < before {
            *per_day.entry(d).or_default().entry(model).or_default() += credits;
        }
    }
    let mut models: Vec<String> = per_day.values().flat_map(|m| m.keys().cloned()).collect();
    models.sort();
    models.dedup();
    let results: Vec<Value> = per_day
        .iter()
        .map(|(d, m)| {
            let used: Vec<Value> =
                m.iter().map(|(model, c)| json!({"model": model, "amount": c.round() as i64})).collect();
            json!({"date": day_text(*d), "usedCredits": used})
        })
        .collect();
    ok(&json!({"results": results, "models": models, "apiKeys": null, "resultsByApiKey": null}))
}
