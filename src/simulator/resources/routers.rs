//! Model routers (`/v1/routers`): a slug (unique per account, immutable), a name and settings
//! that `generate` routes by. PATCH merges settings (a null cap removes it) and bumps `version`
//! when they change. `routers.list_requests` pages through the routing history `generate` writes.

use serde_json::{json, Map, Value};

use super::{bad_field, no_content, not_found, ok, text, Account, Call};
use crate::catalogue::catalogue;
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

const WHAT: &str = "Router";

#[derive(Debug, Clone)]
pub(super) struct Router {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub settings: Value,
    pub version: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Router {
    pub fn new(id: String, slug: String) -> Router {
        let now = now_unix_ms();
        Router {
            id,
            name: slug.clone(),
            slug,
            description: None,
            settings: default_settings(),
            version: 1,
            created_ms: now,
            updated_ms: now,
        }
    }

    pub fn json(&self) -> Value {
        json!({"id": self.id, "slug": self.slug, "name": self.name, "description": self.description,
               "settings": self.settings, "version": self.version,
               "createdAt": iso8601_millis(self.created_ms), "updatedAt": iso8601_millis(self.updated_ms)})
    }
}

/// What a router without settings does: cheapest first, every model allowed, no caps.
pub fn default_settings() -> Value {
    json!({"schemaVersion": 1, "optimizeFor": "cost", "models": {"mode": "allow_new_except", "ids": []},
           "maxCreditsPerGeneration": {}, "fallback": {"onCapacity": false}})
}

/// The router of `acct` with this id or slug.
pub(super) fn find<'a>(acct: &'a mut Account, id_or_slug: &str) -> Option<&'a mut Router> {
    acct.routers.iter_mut().find(|r| r.id == id_or_slug || r.slug == id_or_slug)
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let body = call.body_obj();
    match call.op.name.as_str() {
        "routers.create" => create(st, key, &body),
        "routers.retrieve" => st.res.with(key, |a| match find(a, call.id()) {
            Some(r) => ok(&r.json()),
            None => not_found(WHAT),
        }),
        "routers.update" => update(st, key, call.id(), &body),
        "routers.delete" => st.res.with(key, |a| {
            let before = a.routers.len();
            a.routers.retain(|r| r.id != call.id() && r.slug != call.id());
            if a.routers.len() < before {
                no_content()
            } else {
                not_found(WHAT)
            }
        }),
        "routers.list" => {
            let items: Vec<Value> = st.res.with(key, |a| a.routers.iter().rev().map(Router::json).collect());
            page(st, key, call, items)
        }
        "routers.list_requests" => {
            let rows = st.res.with(key, |a| {
                let id = find(a, call.id())?.id.clone();
                Some(a.requests.iter().rev().filter(|(r, _)| *r == id).map(|(_, v)| v.clone()).collect::<Vec<_>>())
            });
            match rows {
                Some(items) => page(st, key, call, items),
                None => not_found(WHAT),
            }
        }
        _ => error(404, "Not found."),
    }
}

fn page(st: &SimState, key: &str, call: &Call, items: Vec<Value>) -> Resp {
    let scope = format!("{key}/{}/{}", call.op.name, call.id());
    match st.res.cursors.page(&scope, items, &call.query) {
        Ok(v) => ok(&v),
        Err(r) => r,
    }
}

fn create(st: &SimState, key: &str, body: &Map<String, Value>) -> Resp {
    let slug = text(body, "slug").unwrap_or_default().to_string();
    let mut settings = default_settings();
    if let Some(s) = body.get("settings") {
        if let Err(r) = merge_settings(&mut settings, s) {
            return r;
        }
    }
    st.res.with(key, |a| {
        if a.routers.iter().any(|r| r.slug == slug) {
            return error(409, &format!("A router with slug '{slug}' already exists in this project."));
        }
        let mut r = Router::new(uuid_v4(), slug.clone());
        if let Some(n) = text(body, "name") {
            r.name = n.to_string();
        }
        r.description = text(body, "description").map(str::to_string);
        r.settings = settings;
        let j = r.json();
        a.routers.push(r);
        ok(&j)
    })
}

fn update(st: &SimState, key: &str, id: &str, body: &Map<String, Value>) -> Resp {
    st.res.with(key, |a| {
        let Some(r) = find(a, id) else { return not_found(WHAT) };
        let mut settings = r.settings.clone();
        if let Some(s) = body.get("settings") {
            if let Err(resp) = merge_settings(&mut settings, s) {
                return resp;
            }
        }
        if settings != r.settings {
            r.settings = settings;
            r.version += 1;
        }
        if let Some(n) = text(body, "name") {
            r.name = n.to_string();
        }
        match body.get("description") {
            Some(Value::Null) => r.description = None,
            Some(Value::String(d)) => r.description = Some(d.clone()),
            _ => {}
        }
        r.updated_ms = now_unix_ms();
        ok(&r.json())
    })
}

/// Merges a (checked) `settings` object into `into`: keys replace, `models` and `fallback` merge,
/// a cap set to null (or the whole `maxCreditsPerGeneration`) is removed. Model ids must be known.
fn merge_settings(into: &mut Value, given: &Value) -> Result<(), Resp> {
    let Some(given) = given.as_object() else { return Ok(()) };
    for (k, v) in given {
        match (k.as_str(), v) {
            ("maxCreditsPerGeneration", Value::Null) => into[k] = json!({}),
            ("maxCreditsPerGeneration", Value::Object(caps)) => {
                for (kind, cap) in caps {
                    let slot = into[k].as_object_mut().expect("settings hold an object here");
                    if cap.is_null() {
                        slot.remove(kind);
                    } else {
                        slot.insert(kind.clone(), cap.clone());
                    }
                }
            }
            ("models" | "fallback", Value::Object(m)) => {
                for (mk, mv) in m {
                    into[k][mk] = mv.clone();
                }
            }
            ("schemaVersion", _) => {}
            _ => into[k] = v.clone(),
        }
    }
    let ids = into["models"]["ids"].as_array().cloned().unwrap_or_default();
    for (i, id) in ids.iter().enumerate() {
        let name = id.as_str().unwrap_or_default();
        if !catalogue().models.iter().any(|m| !m.fixed && m.model == name) {
            return Err(bad_field(
                vec![json!("settings"), json!("models"), json!("ids"), json!(i)],
                "custom",
                format!("'{name}' is not a known model"),
            ));
        }
    }
    Ok(())
}
