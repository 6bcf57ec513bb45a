//! The API's objects other than tasks and uploads: routers and their routing, custom voices,
//! avatars, documents, realtime sessions and their conversations, workflows and invocations, and
//! the organization's usage and audit reports. Each key (account) has its own; one file per resource.
//!
//! Requests reach `handle` already routed and checked against the catalogue's operation (path
//! parameters, query, body), so the handlers here only apply the rules the spec language cannot
//! say (a slug taken, a document that does not exist) and keep the state.

// Handlers answer early with a ready response (`Err(Resp)`), as the rest of the simulator does.
#![allow(clippy::result_large_err)]

mod avatars;
mod conversations;
mod dates;
mod documents;
pub mod generate;
mod organization;
pub mod page;
mod routers;
pub mod seed;
mod sessions;
pub mod voices;
mod workflows;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::placeholders::Format;
use super::state::SimState;
use super::{empty, error, invalid, json_response, Resp};
use crate::catalogue::Operation;
use crate::errors::Issue;

/// Everything of one account (API key) besides tasks.
#[derive(Default)]
pub(super) struct Account {
    routers: Vec<routers::Router>,
    /// Custom voices, oldest first.
    voices: Vec<voices::Voice>,
    /// Routing history rows, oldest first, each with the id of its router.
    requests: Vec<(String, Value)>,
    avatars: Vec<avatars::Avatar>,
    documents: Vec<documents::Document>,
    sessions: Vec<sessions::Session>,
    workflows: Vec<workflows::Workflow>,
    invocations: Vec<workflows::Invocation>,
    audit_logs: Vec<Value>,
    webapp_usage: Vec<Value>,
    /// Whether the seeded workflows and web-app rows were made.
    seeded: bool,
}

#[derive(Default)]
pub struct Resources {
    accounts: Mutex<HashMap<String, Account>>,
    pub(super) cursors: page::Cursors,
    /// Ids of voice-design previews (`POST /v1/voices/preview`), whose MP3 is served as an output.
    previews: Mutex<HashSet<String>>,
}

impl Resources {
    /// Runs `f` on `key`'s account, made (with its seeded workflows and reports) on first use.
    pub(super) fn with<R>(&self, key: &str, f: impl FnOnce(&mut Account) -> R) -> R {
        let mut accounts = self.accounts.lock().unwrap();
        let acct = accounts.entry(key.to_string()).or_default();
        if !acct.seeded {
            acct.seeded = true;
            workflows::seed_workflows(acct);
            organization::seed_reports(acct);
        }
        f(acct)
    }

    /// Whether `id` is a voice preview or a ready voice of any account: an MP3 to serve.
    pub(super) fn has_preview(&self, id: &str, now: f64) -> bool {
        self.previews.lock().unwrap().contains(id)
            || self.accounts.lock().unwrap().values().any(|a| a.voices.iter().any(|v| v.id == id && v.is_ready(now)))
    }

    /// The file type of output `index` of a workflow node's output id (`<invocation>~<node>`), when
    /// that node has finished.
    pub(super) fn workflow_output(&self, id: &str, index: usize, now: f64) -> Option<Format> {
        let (inv, node) = id.split_once('~')?;
        let accounts = self.accounts.lock().unwrap();
        accounts
            .values()
            .find_map(|a| a.invocations.iter().find(|i| i.id == inv))
            .and_then(|i| i.output_format(node, index, now))
    }
}

/// An operation's request, routed and checked.
pub(super) struct Call<'a> {
    pub op: &'a Operation,
    pub params: BTreeMap<String, String>,
    pub query: Map<String, Value>,
    pub body: Value,
}

impl Call<'_> {
    fn id(&self) -> &str {
        self.params.values().next().map(String::as_str).unwrap_or("")
    }

    fn body_obj(&self) -> Map<String, Value> {
        self.body.as_object().cloned().unwrap_or_default()
    }
}

/// Answers a checked request for one of the operations this module keeps.
pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let name = call.op.name.as_str();
    let group = name.rsplit_once('.').map_or(name, |(g, _)| g);
    match group {
        "routers" => routers::handle(st, key, call),
        "voices" => voices::handle(st, key, call),
        "avatars" => avatars::handle(st, key, call),
        "documents" => documents::handle(st, key, call),
        "realtime_sessions" => sessions::handle(st, key, call),
        "avatar_conversations" => conversations::handle(st, key, call),
        "workflows" | "workflow_invocations" => workflows::handle(st, key, call),
        "organization" | "organization.webapp" | "organization.webapp.audit_logs" => {
            organization::handle(st, key, call)
        }
        _ => error(404, "Not found."),
    }
}

/// Runway's 404 for an object that does not exist (or is another account's).
fn not_found(what: &str) -> Resp {
    error(404, &format!("{what} not found."))
}

fn bad_field(path: Vec<Value>, code: &str, message: String) -> Resp {
    invalid(&[Issue { code: code.into(), path, message }])
}

fn ok(v: &Value) -> Resp {
    json_response(200, v)
}

fn no_content() -> Resp {
    empty(204)
}

fn text<'a>(obj: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    obj.get(k).and_then(Value::as_str)
}
