//! Helpers shared by the simulator's HTTP tests (each `tests/sim_*.rs` is its own crate).
#![allow(dead_code)]

use runway_core::simulator::{SimConfig, Simulator};
use serde_json::Value;

pub const VERSION: &str = "2024-11-06";

pub fn sim(cfg: SimConfig) -> Simulator {
    Simulator::start(&tokio::runtime::Handle::current(), cfg, 0).unwrap()
}

pub fn fast() -> SimConfig {
    SimConfig { task_seconds: 0.2, pending_seconds: 0.0, ..Default::default() }
}

pub async fn api(s: &Simulator, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    api_as(s, s.api_key(), method, path, body).await
}

/// A request with another key (the simulator's `extra_keys`, or a wrong one).
pub async fn api_as(
    s: &Simulator,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base_url()))
        .bearer_auth(key)
        .header("X-Runway-Version", VERSION);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
