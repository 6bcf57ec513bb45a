//! Published workflows (`/v1/workflows`), a few seeded per account, and their invocations
//! (`/v1/workflow_invocations/{id}`): PENDING, RUNNING (with `progress` and the outputs of the
//! nodes done so far), then SUCCEEDED with `output` (node id → URLs, served like task outputs).
//!
//! Failing on purpose: a primitive input whose value is the text `fail` makes every output node
//! fail (the invocation ends FAILED); `fail:<output node id>` fails just that node (SUCCEEDED
//! with `nodeErrors`).

use serde_json::{json, Map, Value};

use super::{bad_field, not_found, ok, Account, Call};
use crate::catalogue::MediaKind;
use crate::simulator::placeholders::Format;
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

#[derive(Debug, Clone)]
pub(super) struct Workflow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub version: u64,
    pub created_ms: u64,
    /// (node id, kind: primitive, image, video or audio) of each input node.
    pub inputs: Vec<(String, String)>,
    /// (node id, output kind) of each output node.
    pub outputs: Vec<(String, MediaKind)>,
}

impl Workflow {
    pub fn new(id: String, name: &str, inputs: &[(&str, &str)], outputs: &[(&str, MediaKind)]) -> Workflow {
        Workflow {
            id,
            name: name.into(),
            description: Some(format!("{name} (a simulated published workflow).")),
            version: 1,
            created_ms: now_unix_ms(),
            inputs: inputs.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect(),
            outputs: outputs.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        }
    }

    pub fn json(&self) -> Value {
        let mut nodes: Vec<Value> = self
            .inputs
            .iter()
            .map(|(id, kind)| {
                let key = if kind == "primitive" { "value" } else { "uri" };
                json!({"id": id, "type": "input", "kind": kind, "name": id, "outputs": [key]})
            })
            .collect();
        nodes.extend(
            self.outputs.iter().map(|(id, k)| json!({"id": id, "type": "output", "kind": k.as_str(), "name": id})),
        );
        let edges: Vec<Value> = self
            .inputs
            .iter()
            .flat_map(|(i, _)| self.outputs.iter().map(move |(o, _)| json!({"source": i, "target": o})))
            .collect();
        json!({"id": self.id, "name": self.name, "description": self.description, "version": self.version,
               "createdAt": iso8601_millis(self.created_ms), "updatedAt": iso8601_millis(self.created_ms),
               "graph": {"version": 1, "nodes": nodes, "edges": edges}})
    }
}

pub(super) fn seed_workflows(acct: &mut Account) {
    acct.workflows.push(Workflow::new(
        uuid_v4(),
        "Product shots",
        &[("prompt", "primitive"), ("product", "image")],
        &[("shots", MediaKind::Image)],
    ));
    acct.workflows.push(Workflow::new(
        uuid_v4(),
        "Trailer",
        &[("script", "primitive"), ("footage", "video"), ("music", "audio")],
        &[("cut", MediaKind::Video), ("soundtrack", MediaKind::Audio)],
    ));
}

#[derive(Debug, Clone)]
pub(super) struct Invocation {
    pub id: String,
    pub created_ms: u64,
    pub t0: f64,
    pub span: f64,
    /// (output node id, its format, whether it fails).
    pub nodes: Vec<(String, Format, bool)>,
}

impl Invocation {
    /// When output node `i` is done, on the simulator clock.
    fn done_at(&self, i: usize) -> f64 {
        self.t0 + self.span * (0.1 + 0.9 * (i + 1) as f64 / self.nodes.len() as f64)
    }

    pub fn output_format(&self, node: &str, index: usize, now: f64) -> Option<Format> {
        let i = self.nodes.iter().position(|n| n.0 == node)?;
        let (_, format, fails) = &self.nodes[i];
        (index == 0 && !fails && now >= self.done_at(i)).then_some(*format)
    }

    pub fn json(&self, st: &SimState, now: f64) -> Value {
        let created = iso8601_millis(self.created_ms);
        if now < self.t0 + self.span * 0.1 {
            return json!({"id": self.id, "status": "PENDING", "createdAt": created});
        }
        let mut output = Map::new();
        let mut errors = Map::new();
        for (i, (node, format, fails)) in self.nodes.iter().enumerate() {
            if now < self.done_at(i) {
                continue;
            }
            if *fails {
                errors.insert(
                    node.clone(),
                    json!({"message": "The node failed (simulated failure).",
                                                   "failureCode": "INTERNAL.BAD_OUTPUT.01", "nodeName": node}),
                );
            } else {
                output.insert(node.clone(), json!([st.output_url(&format!("{}~{node}", self.id), 0, format.ext())]));
            }
        }
        let mut j = json!({"id": self.id, "createdAt": created, "output": output});
        if !errors.is_empty() {
            j["nodeErrors"] = Value::Object(errors);
        }
        let finished = now >= self.t0 + self.span;
        if !finished {
            let p = ((now - self.t0) / self.span).clamp(0.0, 0.99);
            j["status"] = json!("RUNNING");
            j["progress"] = json!((p * 100.0).floor() / 100.0);
        } else if self.nodes.iter().all(|n| n.2) {
            j = json!({"id": self.id, "createdAt": created, "status": "FAILED", "nodeErrors": j["nodeErrors"],
                       "failure": "Every output node failed.", "failureCode": "INTERNAL.BAD_OUTPUT.01", "cost": {"credits": 0}});
        } else {
            let done = self.nodes.iter().filter(|n| !n.2).count() as i64;
            j["status"] = json!("SUCCEEDED");
            j["cost"] = json!({"credits": 10 * done});
        }
        j
    }
}

/// Checks `nodeOutputs` against the workflow's input nodes; returns the output nodes made to fail.
fn check_inputs(w: &Workflow, node_outputs: Option<&Value>) -> Result<Vec<String>, Resp> {
    let mut failing = Vec::new();
    let Some(given) = node_outputs else { return Ok(failing) };
    let Some(given) = given.as_object() else {
        return Err(bad_field(vec![json!("nodeOutputs")], "invalid_type", "expected an object".into()));
    };
    for (node, values) in given {
        let Some((_, kind)) = w.inputs.iter().find(|(id, _)| id == node) else {
            let known: Vec<&str> = w.inputs.iter().map(|(id, _)| id.as_str()).collect();
            return Err(bad_field(
                vec![json!("nodeOutputs"), json!(node)],
                "custom",
                format!("'{node}' is not an input node of this workflow (input nodes: {})", known.join(", ")),
            ));
        };
        for (k, v) in values.as_object().into_iter().flatten() {
            let path = vec![json!("nodeOutputs"), json!(node), json!(k)];
            if v["type"].as_str() != Some(kind) {
                return Err(bad_field(path, "invalid_type", format!("node '{node}' takes a {kind} value")));
            }
            match v.get("value").and_then(Value::as_str) {
                Some("fail") => failing.extend(w.outputs.iter().map(|o| o.0.clone())),
                Some(t) if t.starts_with("fail:") => failing.push(t["fail:".len()..].to_string()),
                _ => {}
            }
        }
    }
    Ok(failing)
}

pub(super) fn handle(st: &SimState, key: &str, call: &Call) -> Resp {
    let id = call.id();
    let now = st.now();
    match call.op.name.as_str() {
        "workflows.list" => st.res.with(key, |a| {
            let data: Vec<Value> = a
                .workflows
                .iter()
                .map(|w| json!({"name": w.name, "versions": [{"id": w.id, "version": w.version, "createdAt": iso8601_millis(w.created_ms)}]}))
                .collect();
            ok(&json!({"data": data}))
        }),
        "workflows.retrieve" => st.res.with(key, |a| match a.workflows.iter().find(|w| w.id == id) {
            Some(w) => ok(&w.json()),
            None => not_found("Workflow"),
        }),
        "workflows.run" => st.res.with(key, |a| {
            let Some(w) = a.workflows.iter().find(|w| w.id == id) else { return not_found("Workflow") };
            let failing = match check_inputs(w, call.body.get("nodeOutputs")) {
                Ok(f) => f,
                Err(r) => return r,
            };
            let nodes =
                w.outputs.iter().map(|(n, k)| (n.clone(), Format::default_for(*k), failing.contains(n))).collect();
            let inv = Invocation { id: uuid_v4(), created_ms: now_unix_ms(), t0: now, span: st.cfg.task_seconds.max(0.05), nodes };
            let j = json!({"id": inv.id});
            a.invocations.push(inv);
            ok(&j)
        }),
        "workflow_invocations.retrieve" => st.res.with(key, |a| match a.invocations.iter().find(|i| i.id == id) {
            Some(i) => ok(&i.json(st, now)),
            None => not_found("Workflow invocation"),
        }),
        _ => error(404, "Not found."),
    }
}
