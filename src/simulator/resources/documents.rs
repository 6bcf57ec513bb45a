//! Knowledge documents (`/v1/documents`): text an avatar draws on. `usedBy` lists the avatars
//! whose `documentIds` name the document; deleting a document detaches it from them.

use serde_json::{json, Map, Value};

use super::{no_content, not_found, ok, text, Account, Call};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

const WHAT: &str = "Document";

#[derive(Debug, Clone)]
pub(super) struct Document {
    pub id: String,
    pub name: String,
    pub content: String,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Document {
    pub fn new(id: String, name: String, content: String) -> Document {
        let now = now_unix_ms();
        Document { id, name, content, created_ms: now, updated_ms: now }
    }

    /// The document as retrieve shows it (list items leave out `content`).
    pub fn json(&self, acct: &Account, with_content: bool) -> Value {
        let used_by: Vec<Value> = acct
            .avatars
            .iter()
            .filter(|a| a.document_ids.contains(&self.id))
            .map(|a| json!({"id": a.id, "name": a.name, "imageUrl": a.reference_image}))
            .collect();
        let mut j = json!({"id": self.id, "name": self.name, "type": "text", "usedBy": used_by,
                           "createdAt": iso8601_millis(self.created_ms), "updatedAt": iso8601_millis(self.updated_ms)});
        if with_content {
            j["content"] = json!(self.content);
        }
        j
    }
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let body = call.body_obj();
    let id = call.id();
    match call.op.name.as_str() {
        "documents.create" => st.res.with(key, |a| {
            let d = Document::new(
                uuid_v4(),
                text(&body, "name").unwrap_or_default().into(),
                text(&body, "content").unwrap_or_default().into(),
            );
            a.documents.push(d.clone());
            ok(&d.json(a, true))
        }),
        "documents.retrieve" => st.res.with(key, |a| match a.documents.iter().find(|d| d.id == id) {
            Some(d) => ok(&d.json(a, true)),
            None => not_found(WHAT),
        }),
        "documents.update" => st.res.with(key, |a| {
            let Some(d) = a.documents.iter_mut().find(|d| d.id == id) else { return not_found(WHAT) };
            apply(d, &body);
            no_content()
        }),
        "documents.delete" => st.res.with(key, |a| {
            let before = a.documents.len();
            a.documents.retain(|d| d.id != id);
            if a.documents.len() == before {
                return not_found(WHAT);
            }
            for av in &mut a.avatars {
                av.document_ids.retain(|d| d != id);
            }
            no_content()
        }),
        "documents.list" => {
            let desc = call.query.get("order").and_then(Value::as_str) != Some("asc");
            let by_updated = call.query.get("sort").and_then(Value::as_str) == Some("updatedAt");
            let items = st.res.with(key, |a| {
                let mut docs: Vec<&Document> = a.documents.iter().collect();
                docs.sort_by_key(|d| if by_updated { d.updated_ms } else { d.created_ms });
                if desc {
                    docs.reverse();
                }
                docs.iter().map(|d| d.json(a, false)).collect::<Vec<_>>()
            });
            let scope = format!("{key}/documents.list/{desc}/{by_updated}");
            match st.res.cursors.page(&scope, items, &call.query) {
                Ok(v) => ok(&v),
                Err(r) => r,
            }
        }
        _ => error(404, "Not found."),
    }
}

fn apply(d: &mut Document, body: &Map<String, Value>) {
    if let Some(n) = text(body, "name") {
        d.name = n.to_string();
    }
    if let Some(c) = text(body, "content") {
        d.content = c.to_string();
    }
    d.updated_ms = now_unix_ms();
}
